/*
 * layers.h - where the runtimes of this node keep the layers of an image
 * known by its diff_ids.
 */
#ifndef UW_LAYERS_H
#define UW_LAYERS_H

#include <stddef.h>

#include "upperwatch.h"

#define PODMAN_STORE "/var/lib/containers/storage"
#define DOCKER_STORE "/var/lib/docker"
#define CONTAINERD_STORE "/var/lib/containerd"

/*
 * The layer dirs holding the layers with diff_ids `ids` (bottom first),
 * into out[0..n-1] top first (each malloc'd), as a stack for a baseline:
 * Podman's and CRI-O's (containers/storage), Docker's (overlay2 and its
 * layerdb) or containerd's (overlayfs snapshots, any namespace), read
 * under `host_root` ("" for "/").  *store gets which one ("podman",
 * "docker", "containerd").  0, or -ENOENT when no store has the whole
 * chain (err says where it looked).
 */
int node_layers(const char *host_root, const char *const *ids, size_t n,
    char **out, const char **store, struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_LAYERS_H */
