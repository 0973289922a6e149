/*
 * watch.h - the runtime watcher (uw_watch).
 */
#ifndef UW_WATCH_H
#define UW_WATCH_H

#include "store.h"
#include "upperwatch.h"

/* See uw_watch in upperwatch.h.  One at a time per process. */
int watch_run(struct store *store, const struct uw_watch_opts *opts,
    struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_WATCH_H */
