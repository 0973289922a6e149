/*
 * baseline.h - building an image's baseline from its layer stack.
 */
#ifndef UW_BASELINE_H
#define UW_BASELINE_H

#include "store.h"
#include "upperwatch.h"

/* Deepest directory nesting a build follows before it gives up. */
#define BASELINE_MAX_DEPTH 4096
/* Longest container path (bytes) it records. */
#define BASELINE_MAX_PATH (4u << 20)
/* Most layers in a stack (overlayfs itself allows 500). */
#define BASELINE_MAX_LAYERS 500

/* See uw_baseline_build in upperwatch.h. */
int baseline_build(struct store *store, const struct uw_baseline_opts *opts,
    struct uw_baseline_stats *stats, struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_BASELINE_H */
