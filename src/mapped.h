/*
 * mapped.h - writes through shared mappings, which raise no file event:
 * the daemon reads its containers' shared file mappings every few
 * seconds and looks at each mapped file again (mapped.c).
 */
#ifndef UW_MAPPED_H
#define UW_MAPPED_H

#include <stdint.h>
#include <sys/types.h>

struct watcher;

/* One line of /proc/PID/maps that maps a file. */
struct map_entry {
	char range[48];		/* "start-end", as map_files names it */
	int shared, writable;
	dev_t dev;
	unsigned long long ino;
	const char *name;	/* into the line: as the kernel prints it */
};

/* Parse `line` (no newline): 0, or -1 when it maps no file or is not a
 * maps line. */
int mapped_parse(const char *line, struct map_entry *e);

/* A name as maps prints it, back to its bytes ("\012" is a newline),
 * NUL-terminated in out: its length, or (size_t)-1 when it does not fit
 * in `size`. */
size_t mapped_unescape(const char *name, char *out, size_t size);

/* Sweep when due; *next_due gets the next sweep's time when sooner.
 * 0, or a negative error of our own (out of memory). */
int mapped_due(struct watcher *w, int64_t now, int64_t *next_due);

#endif /* UW_MAPPED_H */
