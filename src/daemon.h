/*
 * daemon.h - the runtime watcher (uw_watch): its rooms and their state are
 * listed in watcher.h.
 */
#ifndef UW_DAEMON_H
#define UW_DAEMON_H

#include "store.h"
#include "upperwatch.h"

/* See uw_watch in upperwatch.h.  One at a time per process. */
int daemon_run(struct store *store, const struct uw_watch_opts *opts,
    struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_DAEMON_H */
