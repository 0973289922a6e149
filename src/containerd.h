/*
 * containerd.h - what containerd's own files say of a container's image.
 */
#ifndef UW_CONTAINERD_H
#define UW_CONTAINERD_H

#include "upperwatch.h"

/* The dirs under containerd's root (/var/lib/containerd) read here. */
#define CONTAINERD_META "/io.containerd.metadata.v1.bolt/meta.db"
#define CONTAINERD_BLOBS "/io.containerd.content.v1.content/blobs/sha256/"
#define CONTAINERD_SNAPSHOTS "/io.containerd.snapshotter.v1.overlayfs/snapshots/"

/*
 * The image of container `id` in namespace `ns`, from the metadata
 * database and content store under containerd's root dir `root`: its
 * name into `name` (left as it is when none is found), and its config
 * digest ("sha256:<hex>") into out: 1, or 0 when no digest can be told.
 * The image is named in the database, and a name may have moved to
 * another image since the container was made: the config's layers (their
 * chain id) must be the parent of the container's snapshot.  When they
 * are not, the image of the namespace whose layers they are is given if
 * there is exactly one, else none.
 */
int containerd_image(const char *root, const char *ns, const char *id,
    char *name, size_t name_size, char out[UW_DIGEST_MAX]);

#endif /* UW_CONTAINERD_H */
