/*
 * layers.c - an image's layers on this node, by diff_ids (layers.h).
 *
 *   Podman, CRI-O  overlay-layers/layers.json: "diff-digest" and "parent"
 *                  give the layer id; its dir is overlay/<id>/diff.
 *   Docker         image/overlay2/layerdb/sha256/<chain id>/{diff,
 *                  cache-id}; its dir is overlay2/<cache-id>/diff.
 *   containerd     meta.db v1/<ns>/snapshots/overlayfs/<chain id>/name,
 *                  then the snapshotter's metadata.db
 *                  v1/snapshots/<name>/{id, kind}; its dir is
 *                  snapshots/<id>/fs.
 *
 * The chain id of the layers up to each one names it where runtimes key
 * layers by their stack (oci_chain_id).  Every id read from a store must
 * be a plain name before it becomes a path, and each dir must be there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bolt.h"
#include "containerd.h"
#include "layers.h"
#include "oci.h"
#include "util.h"

#define PODMAN_LAYERS PODMAN_STORE "/overlay-layers/layers.json"
#define DOCKER_LAYERDB DOCKER_STORE "/image/overlay2/layerdb/sha256/"
#define SNAPSHOTTER "/io.containerd.snapshotter.v1.overlayfs"
#define KIND_COMMITTED 3

/* A layer id read from a store, safe as one path component. */
static int
plain_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 200 && strchr(s, '/') == NULL &&
	    strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* out[n - 1 - i] = the dir of layer i (top first), if it is a dir. */
static int
put_dir(char **out, size_t n, size_t i, const char *path)
{
	struct stat st;

	if (path == NULL || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return -ENOENT;
	if ((out[n - 1 - i] = strdup(path)) == NULL)
		return -ENOMEM;
	return 0;
}

static int
podman_layers(const char *root, const char *const *ids, size_t n,
    char **out)
{
	char path[PATH_MAX];
	json_t *all, *l;
	const char *parent = NULL, *id = NULL;
	size_t i, k;
	int rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s%s", root,
	    PODMAN_LAYERS) >= sizeof(path))
		return -ENOENT;
	all = json_load_file(path, 0, NULL);
	if (!json_is_array(all)) {
		json_decref(all);
		return -ENOENT;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		id = NULL;
		json_array_foreach(all, k, l) {
			const char *d = json_string_value(json_object_get(l,
			    "diff-digest"));
			const char *p = json_string_value(json_object_get(l,
			    "parent"));

			if (d == NULL || strcmp(d, ids[i]) != 0)
				continue;
			if ((parent == NULL) != (p == NULL) || (parent &&
			    strcmp(parent, p) != 0))
				continue;
			id = json_string_value(json_object_get(l, "id"));
			break;
		}
		if (id == NULL || !plain_name(id))
			rc = -ENOENT;
		else if ((size_t)snprintf(path, sizeof(path), "%s%s/overlay/%s"
		    "/diff", root, PODMAN_STORE, id) >= sizeof(path))
			rc = -ENOENT;
		else
			rc = put_dir(out, n, i, path);
		parent = id;
	}
	json_decref(all);
	return rc;
}

/* A small file of Docker's layerdb, its trailing newline cut. */
static int
read_line(const char *path, char *out, size_t size)
{
	ssize_t got;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -ENOENT;
	got = read(fd, out, size - 1);
	close(fd);
	if (got <= 0 || (size_t)got >= size - 1)
		return -ENOENT;
	out[got] = '\0';
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = '\0';
	return 0;
}

static int
docker_layers(const char *root, const char *const *ids, size_t n,
    char **out)
{
	char chain[UW_DIGEST_MAX], path[PATH_MAX], diff[128], cache[256];
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		if (oci_chain_id(ids, i + 1, chain) < 0)
			return -ENOENT;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s/diff", root,
		    DOCKER_LAYERDB, chain + 7) >= sizeof(path) ||
		    read_line(path, diff, sizeof(diff)) < 0 ||
		    strcmp(diff, ids[i]) != 0)
			return -ENOENT;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s/cache-id",
		    root, DOCKER_LAYERDB, chain + 7) >= sizeof(path) ||
		    read_line(path, cache, sizeof(cache)) < 0 ||
		    !plain_name(cache) ||
		    (size_t)snprintf(path, sizeof(path), "%s%s/overlay2/%s/diff",
		    root, DOCKER_STORE, cache) >= sizeof(path))
			return -ENOENT;
		rc = put_dir(out, n, i, path);
	}
	return rc;
}

/* Go's unsigned varint. */
static int
uvarint(const unsigned char *p, size_t len, uint64_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < len && i < 10; i++) {
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80))
			return 0;
	}
	return -EINVAL;
}

struct names {
	char **v;
	size_t n;
};

static int
add_ns(const char *key, size_t len, int bucket, void *arg)
{
	struct names *ns = arg;
	char **v;

	if (!bucket || strlen(key) != len || !plain_name(key) || ns->n >= 256)
		return 0;
	v = realloc(ns->v, (ns->n + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	ns->v = v;
	if ((v[ns->n] = strdup(key)) == NULL)
		return -ENOMEM;
	ns->n++;
	return 0;
}

/* The chain in namespace `ns`: each layer's committed snapshot. */
static int
containerd_ns(struct bolt *meta, struct bolt *snap, const char *base,
    const char *ns, const char *const *ids, size_t n, char **out)
{
	char chain[UW_DIGEST_MAX], name[1024], val[32], path[PATH_MAX];
	const char *k_name[] = { "v1", ns, "snapshots", "overlayfs", chain,
	    "name" };
	const char *k_id[] = { "v1", "snapshots", name, "id" };
	const char *k_kind[] = { "v1", "snapshots", name, "kind" };
	uint64_t id, kind;
	size_t i, len;
	int rc = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		if (oci_chain_id(ids, i + 1, chain) < 0 ||
		    bolt_get(meta, k_name, 6, name, sizeof(name), &len) < 0 ||
		    strlen(name) != len ||
		    bolt_get(snap, k_id, 4, val, sizeof(val), &len) < 0 ||
		    uvarint((unsigned char *)val, len, &id) < 0 ||
		    bolt_get(snap, k_kind, 4, val, sizeof(val), &len) < 0 ||
		    uvarint((unsigned char *)val, len, &kind) < 0 ||
		    kind != KIND_COMMITTED)
			return -ENOENT;
		if ((size_t)snprintf(path, sizeof(path), "%s%s/snapshots/%llu"
		    "/fs", base, SNAPSHOTTER, (unsigned long long)id) >=
		    sizeof(path))
			return -ENOENT;
		rc = put_dir(out, n, i, path);
	}
	return rc;
}

static int
containerd_layers(const char *root, const char *const *ids, size_t n,
    char **out)
{
	char base[PATH_MAX - 128], path[PATH_MAX];
	const char *v1[] = { "v1" };
	struct names ns = { NULL, 0 };
	struct bolt meta, snap;
	size_t i, k;
	int rc;

	if ((size_t)snprintf(base, sizeof(base), "%s%s", root,
	    CONTAINERD_STORE) >= sizeof(base))
		return -ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s%s", base,
	    CONTAINERD_META) >= sizeof(path) || bolt_open(&meta, path) < 0)
		return -ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s%s/metadata.db", base,
	    SNAPSHOTTER) >= sizeof(path) || bolt_open(&snap, path) < 0) {
		bolt_close(&meta);
		return -ENOENT;
	}
	rc = bolt_foreach(&meta, v1, 1, add_ns, &ns);
	if (rc == 0)
		rc = -ENOENT;
	for (i = 0; rc == -ENOENT && i < ns.n; i++) {
		rc = containerd_ns(&meta, &snap, base, ns.v[i], ids, n, out);
		if (rc == 0)
			break;
		for (k = 0; k < n; k++) {	/* the next namespace */
			free(out[k]);
			out[k] = NULL;
		}
	}
	for (i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	bolt_close(&meta);
	bolt_close(&snap);
	return rc == -ENOMEM ? rc : rc < 0 ? -ENOENT : 0;
}

int
node_layers(const char *host_root, const char *const *ids, size_t n,
    char **out, const char **store, struct uw_error *err)
{
	static const struct {
		const char *name;
		int (*find)(const char *, const char *const *, size_t,
		    char **);
	} stores[] = {
		{ "podman", podman_layers },
		{ "docker", docker_layers },
		{ "containerd", containerd_layers },
	};
	size_t s, k;
	int rc = -ENOENT;

	for (s = 0; s < sizeof(stores) / sizeof(stores[0]); s++) {
		rc = stores[s].find(host_root, ids, n, out);
		if (rc == 0) {
			*store = stores[s].name;
			return 0;
		}
		for (k = 0; k < n; k++) {
			free(out[k]);
			out[k] = NULL;
		}
		if (rc == -ENOMEM)
			return seterr(err, rc, "out of memory");
	}
	return seterr(err, -ENOENT, "the image's layers are not on this "
	    "node: no store has its %zu layer%s (looked in %s%s, %s%s and "
	    "%s%s)", n, n == 1 ? "" : "s", host_root, PODMAN_STORE,
	    host_root, DOCKER_STORE, host_root, CONTAINERD_STORE);
}
