/*
 * watch.h - inotify for the runtime watcher (see watcher.h).
 */
#ifndef UW_WATCH_H
#define UW_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "watcher.h"

int watch_open(struct watcher *w) UW_WARN_UNUSED;
void watch_close(struct watcher *w);
int watch_system_limit(void);
int watch_add(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, int fd) UW_WARN_UNUSED;
void watch_drop(struct watcher *w, struct wctr *c);
int watch_queue(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, unsigned flags, int64_t now) UW_WARN_UNUSED;
/* The same, naming the writer (a fanotify serial; 0: none). */
int watch_queue_by(struct watcher *w, struct wctr *c,
    const unsigned char *path, size_t len, unsigned flags, int64_t now,
    uint64_t proc) UW_WARN_UNUSED;
int watch_read(struct watcher *w, int64_t now) UW_WARN_UNUSED;
/*
 * Called for each path a drain or a scan looks at: every PUMP_LOOKS
 * looks, read what the kernel queued meanwhile.  A drain or a scan of a
 * burst takes longer than the kernel's queues take to fill, and an
 * overflow costs a rescan of every container; what is read waits (aside
 * during a drain of its container) for its turn.  0, or a negative error.
 */
int watch_pump(struct watcher *w) UW_WARN_UNUSED;
int watch_drain(struct watcher *w, int64_t now, int64_t *next_due)
    UW_WARN_UNUSED;

#endif /* UW_WATCH_H */
