/*
 * verify.h - the node's own copy of an image checked against its
 * baseline (upperwatch verify, watch --verify-lower).
 */
#ifndef UW_VERIFY_H
#define UW_VERIFY_H

#include "store.h"
#include "upperwatch.h"

/* See uw_verify in upperwatch.h. */
int verify_image(struct store *store, const struct uw_verify_opts *opts,
    int (*cb)(const struct uw_event *ev, void *arg), void *arg,
    uint64_t *count, struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_VERIFY_H */
