/*
 * baseline.h - building an image's baseline from its layer stack.
 */
#ifndef UW_BASELINE_H
#define UW_BASELINE_H

#include "store.h"
#include "upperwatch.h"

/* Most layers in a stack (overlayfs itself allows 500). */
#define BASELINE_MAX_LAYERS 500

/* See uw_baseline_build in upperwatch.h. */
int baseline_build(struct store *store, const struct uw_baseline_opts *opts,
    struct uw_baseline_stats *stats, struct uw_error *err) UW_WARN_UNUSED;

/* The same, hashing with `secret` rather than the database's (to compare
 * with a baseline imported with its own). */
int baseline_build_keyed(struct store *store,
    const struct uw_baseline_opts *opts, const unsigned char *secret,
    struct uw_baseline_stats *stats, struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_BASELINE_H */
