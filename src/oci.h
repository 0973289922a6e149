/*
 * oci.h - an image's baseline from its image file (OCI image layout dir,
 * oci-archive or docker-archive tar), read as a stream, never extracted.
 */
#ifndef UW_OCI_H
#define UW_OCI_H

#include "store.h"
#include "upperwatch.h"

/* Most layers an image may have (as for a layer stack). */
#define OCI_MAX_LAYERS 500
/* JSON documents (index, manifests, configs) bigger than this are
 * refused: no honest one comes near. */
#define OCI_MAX_JSON (4u << 20)
/* A member path longer than this is refused (PATH_MAX: no runtime
 * extracts it), and so is an image of more entries (about 1.5 GiB of
 * memory for the tree). */
#define OCI_MAX_PATH 4096
#define OCI_MAX_ENTRIES 8000000
/* Tags of an image file recorded as names of its baseline, at most. */
#define OCI_MAX_TAGS 64
/* A layer that expands more than this many times, past the first GiB,
 * is refused as a decompression bomb (gzip cannot go past 1032). */
#define OCI_MAX_RATIO 1024

/* See uw_baseline_build_oci in upperwatch.h. */
int oci_build(struct store *store, const struct uw_oci_opts *opts,
    struct uw_oci_result *result, struct uw_baseline_stats *stats,
    struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_OCI_H */
