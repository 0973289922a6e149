/*
 * scan.h - looking at a watched upper dir: one path, or a tree (see
 * watcher.h).
 */
#ifndef UW_SCAN_H
#define UW_SCAN_H

#include <stddef.h>

#include "watcher.h"

int scan_path(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, unsigned flags) UW_WARN_UNUSED;
/* The cache of dir contexts (w->ctx and w->ctx_cache): set up, free,
 * and drop what it holds of container `c` (which is going away). */
void scan_ctx_init(struct watcher *w);
void scan_ctx_free(struct watcher *w);
void scan_ctx_drop(struct watcher *w, const struct wctr *c);
int scan_container(struct watcher *w, struct wctr *c) UW_WARN_UNUSED;
/* Ask for a rescan of c at most once a `period`, or RESCAN_CPU_SHARE
 * times as long as its last rescan took if longer (the limiter's next
 * slot at *not_before): now when the slot has come, else at the slot, as
 * the container's next rescan.  Put off, never dropped. */
void rescan_limited(struct wctr *c, int64_t *not_before, int64_t period);
int scan_excluded(const struct watcher *w, const unsigned char *path,
    size_t len);
void scan_degrade(struct watcher *w, struct wctr *c, const char *why);

#endif /* UW_SCAN_H */
