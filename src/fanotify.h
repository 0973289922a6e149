/*
 * fanotify.h - content writes and their writers for the runtime watcher,
 * from a fanotify mark on each container's overlay (see watcher.h).
 */
#ifndef UW_FANOTIFY_H
#define UW_FANOTIFY_H

#include <stdint.h>

#include "watcher.h"

/* Set up the fanotify group the watcher's content_events asks for.  Not
 * being able to (no CAP_SYS_ADMIN, no fanotify) is said, never fatal but
 * with UW_CONTENT_FANOTIFY; the watcher then has no group (fan_fd -1). */
int fan_open(struct watcher *w) UW_WARN_UNUSED;
void fan_close(struct watcher *w);

/* Mark the overlay of `c` (its mount point): its content writes come
 * through fan_read from then on.  Returns 1 marked, 0 not (said once). */
int fan_mark(struct watcher *w, struct wctr *c);

/* Read the queued events: each written file is queued (watch_queue) for
 * a look, with its writer.  Fails only when out of memory. */
int fan_read(struct watcher *w, int64_t now) UW_WARN_UNUSED;

/* The writer a queued path was given (its serial), or NULL when none was
 * or its record has since been reused. */
const struct uw_process *fan_process(const struct watcher *w,
    uint64_t serial);

#endif /* UW_FANOTIFY_H */
