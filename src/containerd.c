/*
 * containerd.c - a containerd container's image digest (containerd.h),
 * from files alone, no socket:
 *
 *   meta.db  v1/<ns>/containers/<id>/image           the image's name
 *            v1/<ns>/containers/<id>/snapshotter, snapshotKey
 *            v1/<ns>/snapshots/<snapshotter>/<key>/parent
 *                                                    the image's chain id
 *            v1/<ns>/images/<name>/target/digest     manifest or index
 *   blobs/sha256/<hex>                               manifest, config
 *
 * Each blob read must have the sha256 its name says, an index is read for
 * this host's platform, and the config's diff_ids must chain to the
 * snapshot's parent.  When the named image does not (a tag moved), or no
 * image is named, the namespace's images are looked through for the one
 * whose layers do: CRI keeps an image under its id as well as its tags.  Anything missing, damaged or not agreeing gives no
 * digest: the container is then judged against a baseline of its node
 * layers, as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "bolt.h"
#include "containerd.h"
#include "oci.h"
#include "util.h"

#define NAME_MAX_LEN 4096
/* Images of a namespace looked at for a container's layers, at most. */
#define CONTAINERD_MAX_IMAGES 4096

/* The blob `digest` of the content store as JSON, its sha256 checked. */
static json_t *
blob_json(const char *root, const char *digest)
{
	char path[PATH_MAX], hex[UW_DIGEST_MAX];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	struct stat st;
	json_t *j = NULL;
	char *buf;
	int fd;

	if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 ||
	    !image_digest(digest, hex) ||
	    (size_t)snprintf(path, sizeof(path), "%s%s%s", root,
	    CONTAINERD_BLOBS, hex + 7) >= sizeof(path))
		return NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)OCI_MAX_JSON ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	if (read(fd, buf, (size_t)st.st_size + 1) == (ssize_t)st.st_size &&
	    EVP_Digest(buf, (size_t)st.st_size, md, &mdlen, EVP_sha256(),
	    NULL) && mdlen == 32) {
		hex_encode(path, md, 32);
		if (memcmp(path, hex + 7, 64) == 0)
			j = json_loadb(buf, (size_t)st.st_size, 0, NULL);
	}
	free(buf);
	close(fd);
	return j;
}

/* From a manifest or index, the image config for this host's platform,
 * its digest into cfg_digest. */
static json_t *
config_of(const char *root, const char *digest, int depth,
    char cfg_digest[UW_DIGEST_MAX])
{
	char want[64], plat[64];
	json_t *doc, *d, *chosen = NULL, *cfg = NULL;
	size_t i;

	if (depth > 4 || (doc = blob_json(root, digest)) == NULL)
		return NULL;
	if (oci_is_index(json_string_value(json_object_get(doc,
	    "mediaType"))) || json_is_array(json_object_get(doc,
	    "manifests"))) {
		oci_host_platform(want, sizeof(want));
		json_array_foreach(json_object_get(doc, "manifests"), i, d) {
			oci_platform_of(d, plat, sizeof(plat));
			if (oci_platform_match(plat, want)) {
				chosen = d;
				break;
			}
		}
		if (chosen != NULL)
			cfg = config_of(root, json_string_value(
			    json_object_get(chosen, "digest")), depth + 1,
			    cfg_digest);
	} else {
		digest = json_string_value(json_object_get(json_object_get(
		    doc, "config"), "digest"));
		cfg = blob_json(root, digest);
		if (cfg != NULL)
			image_digest(digest, cfg_digest);	/* checked */
	}
	json_decref(doc);
	return cfg;
}

/* Whether the config's diff_ids chain to `parent`. */
static int
chains_to(json_t *cfg, const char *parent)
{
	json_t *ids = json_object_get(json_object_get(cfg, "rootfs"),
	    "diff_ids");
	const char **v;
	char chain[UW_DIGEST_MAX];
	size_t i, n = json_array_size(ids);
	int ok = 0;

	if (n == 0 || n > OCI_MAX_LAYERS || (v = calloc(n, sizeof(*v))) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(ids, i));
	for (i = 0; i < n && v[i] != NULL; i++)
		;
	if (i == n && oci_chain_id(v, n, chain) == 0)
		ok = strcmp(chain, parent) == 0;
	free(v);
	return ok;
}

/* The config digest of image `image` if its layers chain to `parent`:
 * 1, else 0. */
static int
image_matches(struct bolt *b, const char *root, const char *ns,
    const char *image, const char *parent, char dg[UW_DIGEST_MAX])
{
	const char *k_target[] = { "v1", ns, "images", image, "target",
	    "digest" };
	char target[UW_DIGEST_MAX + 1];
	json_t *cfg;
	size_t len;
	int ok;

	if (bolt_get(b, k_target, 6, target, sizeof(target), &len) < 0 ||
	    strlen(target) != len ||
	    (cfg = config_of(root, target, 0, dg)) == NULL)
		return 0;
	ok = chains_to(cfg, parent);
	json_decref(cfg);
	return ok;
}

struct scan {
	struct bolt *b;
	const char *root, *ns, *parent;
	char found[UW_DIGEST_MAX];
	int matches;		/* distinct configs whose layers chain */
	unsigned left;		/* images still to look at */
};

static int
scan_image(const char *key, size_t len, int bucket, void *arg)
{
	struct scan *sc = arg;
	char dg[UW_DIGEST_MAX];

	if (!bucket || strlen(key) != len)
		return 0;
	if (sc->left-- == 0)
		return -E2BIG;
	if (image_matches(sc->b, sc->root, sc->ns, key, sc->parent, dg) &&
	    (sc->matches == 0 || strcmp(sc->found, dg) != 0)) {
		memcpy(sc->found, dg, UW_DIGEST_MAX);
		sc->matches++;
	}
	return sc->matches > 1;	/* two images of those layers: neither */
}

void
containerd_cache_free(struct containerd_cache *cache)
{
	size_t i;

	for (i = 0; i < cache->n; i++)
		free(cache->v[i].key);
	free(cache->v);
	cache->v = NULL;
	cache->n = 0;
}

/*
 * The cache's entry for these four strings: *hit says whether it was
 * there; else one is made for them.  NULL when the cache is full or out
 * of memory: then nothing is kept.
 */
static struct containerd_seen *
cache_slot(struct containerd_cache *cache, const char *const parts[4],
    int *hit)
{
	struct containerd_seen *v;
	size_t i, len = 0, at = 0;
	char *key;

	*hit = 0;
	for (i = 0; i < 4; i++)
		len += strlen(parts[i]) + 1;
	key = malloc(len);
	if (key == NULL)
		return NULL;
	for (i = 0; i < 4; i++) {
		memcpy(key + at, parts[i], strlen(parts[i]) + 1);
		at += strlen(parts[i]) + 1;
	}
	for (i = 0; i < cache->n; i++) {
		if (cache->v[i].len == len &&
		    memcmp(cache->v[i].key, key, len) == 0) {
			free(key);
			*hit = 1;
			return &cache->v[i];
		}
	}
	if (cache->n >= CONTAINERD_CACHE_MAX || (v = realloc(cache->v,
	    (cache->n + 1) * sizeof(*v))) == NULL) {
		free(key);
		return NULL;
	}
	cache->v = v;
	v = &cache->v[cache->n++];
	v->key = key;
	v->len = len;
	v->digest[0] = '\0';
	return v;
}

int
containerd_image(struct containerd_cache *cache, const char *root,
    const char *ns, const char *id, char *name, size_t name_size,
    char out[UW_DIGEST_MAX])
{
	char path[PATH_MAX], image[NAME_MAX_LEN], snapper[256];
	char key[NAME_MAX_LEN], parent[UW_DIGEST_MAX + 1], dg[UW_DIGEST_MAX];
	const char *k_image[] = { "v1", ns, "containers", id, "image" };
	const char *k_snapper[] = { "v1", ns, "containers", id, "snapshotter" };
	const char *k_key[] = { "v1", ns, "containers", id, "snapshotKey" };
	const char *k_parent[] = { "v1", ns, "snapshots", snapper, key,
	    "parent" };
	const char *k_images[] = { "v1", ns, "images" };
	const char *parts[4];
	struct containerd_seen *seen;
	struct scan sc;
	struct bolt b;
	size_t len;
	int ok = 0, hit;

	if ((size_t)snprintf(path, sizeof(path), "%s%s", root,
	    CONTAINERD_META) >= sizeof(path) || bolt_open(&b, path) < 0)
		return 0;
	image[0] = '\0';
	if (bolt_get(&b, k_image, 5, image, sizeof(image), &len) == 0 &&
	    len > 0 && strlen(image) == len)
		snprintf(name, name_size, "%s", image);
	else
		image[0] = '\0';
	if (bolt_get(&b, k_snapper, 5, snapper, sizeof(snapper), &len) < 0 ||
	    strlen(snapper) != len ||
	    bolt_get(&b, k_key, 5, key, sizeof(key), &len) < 0 ||
	    strlen(key) != len ||
	    bolt_get(&b, k_parent, 6, parent, sizeof(parent), &len) < 0 ||
	    strlen(parent) != len) {
		bolt_close(&b);
		return 0;
	}
	parts[0] = root;
	parts[1] = ns;
	parts[2] = image;
	parts[3] = parent;
	seen = cache_slot(cache, parts, &hit);
	if (hit) {
		bolt_close(&b);
		memcpy(out, seen->digest, UW_DIGEST_MAX);
		return out[0] != '\0';
	}
	/* The image it names, if that still has its layers; else the one
	 * image of the namespace that has them (CRI names the container's
	 * image by id too, and a moved tag may leave it another name). */
	if (image[0] != '\0' &&
	    (ok = image_matches(&b, root, ns, image, parent, dg)))
		memcpy(out, dg, UW_DIGEST_MAX);
	if (!ok) {
		memset(&sc, 0, sizeof(sc));
		sc.b = &b;
		sc.root = root;
		sc.ns = ns;
		sc.parent = parent;
		sc.left = CONTAINERD_MAX_IMAGES;
		if (bolt_foreach(&b, k_images, 3, scan_image, &sc) == 0 &&
		    sc.matches == 1) {
			memcpy(out, sc.found, UW_DIGEST_MAX);
			ok = 1;
		}
	}
	bolt_close(&b);
	if (seen != NULL && ok)
		memcpy(seen->digest, out, UW_DIGEST_MAX);
	return ok;
}
