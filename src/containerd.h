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
 * What one discovery pass resolved, so that the containers of one image
 * (the same name and layers) read the image's manifest and config, or
 * look through the namespace's images, once.  Zeroed: empty.
 */
#define CONTAINERD_CACHE_MAX 1024
struct containerd_cache {
	struct containerd_seen {
		char *key;	/* root, namespace, image name, parent */
		size_t len;
		char digest[UW_DIGEST_MAX];	/* "": none */
	} *v;
	size_t n;
};

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
int containerd_image(struct containerd_cache *cache, const char *root,
    const char *ns, const char *id, char *name, size_t name_size,
    char out[UW_DIGEST_MAX]);
void containerd_cache_free(struct containerd_cache *cache);

#endif /* UW_CONTAINERD_H */
