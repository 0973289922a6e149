/*
 * oci.h - an image's baseline from its image file (OCI image layout dir,
 * oci-archive or docker-archive tar), read as a stream, never extracted.
 */
#ifndef UW_OCI_H
#define UW_OCI_H

#include <jansson.h>

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

/* This host's platform as OCI names it ("linux/amd64"); a descriptor's
 * ("os/arch[/variant]", "?" when it has none); whether `plat` is what
 * `want` asks for (whole, or without the variant; "?" matches); whether a
 * media type is an index (OCI, or Docker's manifest list). */
void oci_host_platform(char *out, size_t size);
void oci_platform_of(json_t *desc, char *out, size_t size);
int oci_platform_match(const char *plat, const char *want);
int oci_is_index(const char *media);

/*
 * The chain id of the layers with these diff_ids (bottom first, each
 * "sha256:<hex>") into out: the first diff_id, then for each next one
 * sha256 of "<chain> <diff_id>".  It names a stack of layers where
 * runtimes keep them (Docker's layerdb, containerd's snapshots).
 * 0, or -EINVAL for n == 0 or a bad diff_id.
 */
int oci_chain_id(const char *const *diff_ids, size_t n,
    char out[UW_DIGEST_MAX]) UW_WARN_UNUSED;

#endif /* UW_OCI_H */
