/*
 * mapped.h - writes through shared mappings, which raise no file event:
 * the daemon reads its containers' shared file mappings every few
 * seconds and looks at each mapped file again (mapped.c).
 */
#ifndef UW_MAPPED_H
#define UW_MAPPED_H

#include <stdint.h>

struct watcher;

/* Sweep when due; *next_due gets the next sweep's time when sooner.
 * 0, or a negative error of our own (out of memory). */
int mapped_due(struct watcher *w, int64_t now, int64_t *next_due);

#endif /* UW_MAPPED_H */
