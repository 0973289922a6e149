/*
 * watch.h - the runtime watcher (uw_watch).  Its rooms, and the state
 * they share, are in daemon.h.
 */
#ifndef UW_WATCH_H
#define UW_WATCH_H

#include "store.h"
#include "upperwatch.h"

/* See uw_watch in upperwatch.h.  One at a time per process. */
int daemon_run(struct store *store, const struct uw_watch_opts *opts,
    struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_WATCH_H */
