/*
 * oci.c - an image's baseline from its image file, as CI built it.
 *
 * The image file is an OCI image layout dir, a tar of one (oci-archive),
 * or a docker-archive tar (manifest.json, <id>.json, layer tars).  Nothing
 * is extracted: each layer blob is read as a stream through three stacked
 * readers,
 *
 *     blob bytes  -> sha256: the descriptor's digest (OCI)
 *     libarchive "raw" + every filter (gzip, zstd, ...)
 *                 -> sha256: the config's diff_id for this layer
 *     libarchive tar
 *                 -> members: metadata, and content into hash_stream
 *
 * and both digests must match before anything of the image is kept.  The
 * layers are applied bottom up to a tree in memory the way a runtime
 * extracts them (OCI image spec, "Applying changesets"): a whiteout
 * ".wh.NAME" removes NAME and what lies below it in the layers under its
 * own, an opaque marker ".wh..wh..opq" removes what the layers under its
 * own hold in its dir, an entry replaces what was there (a dir merges), a
 * hard link shares its target's inode.  The tree is then recorded, in path
 * order, with the same rows a baseline of the extracted layers gives.
 *
 * The file is input from outside: names with "..", absolute names, hard
 * links to what the image does not hold, digests that do not match, a
 * layer that expands past OCI_MAX_RATIO times, JSON past OCI_MAX_JSON, a
 * truncated stream: each fails the build with a one-line reason, and
 * nothing is written but the baseline, in one transaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "hash.h"
#include "oci.h"
#include "util.h"
#include "walk.h"

#define READ_BLOCK (256u << 10)
#define PROGRESS_NS 200000000
#define BOMB_ALLOWANCE (1ull << 30)

/* ---- the tree ---- */

struct node {
	unsigned char *path;	/* "/a/b"; "/" for the root */
	size_t len;
	struct uw_record rec;	/* its path, link and caps point below */
	unsigned char *link;
	size_t link_len;
	unsigned char caps[WALK_CAPS_MAX];
	size_t caps_len;
	unsigned layer;		/* the layer it comes from (0: bottom) */
	int dead;		/* removed (kept for the map) */
	uint64_t data;		/* a file's data bytes hashed */
};

struct tree {
	struct node **v;	/* by insertion */
	size_t count, cap;
	size_t *slots;		/* open addressing: index + 1, 0 empty */
	size_t nslots;
	uint64_t seed;		/* random: names cannot be made to collide */
};

static uint64_t
path_hash(const struct tree *t, const unsigned char *p, size_t len)
{
	return XXH3_64bits_withSeed(p, len, t->seed);
}

static struct node *
tree_get(const struct tree *t, const unsigned char *p, size_t len)
{
	size_t i, s;
	struct node *n;

	if (t->nslots == 0)
		return NULL;
	for (i = (size_t)path_hash(t, p, len) & (t->nslots - 1);
	    (s = t->slots[i]) != 0; i = (i + 1) & (t->nslots - 1)) {
		n = t->v[s - 1];
		if (n->len == len && memcmp(n->path, p, len) == 0)
			return n;
	}
	return NULL;
}

static int
tree_grow(struct tree *t)
{
	size_t i, j, n = t->nslots ? t->nslots * 2 : 1024;
	size_t *slots = calloc(n, sizeof(*slots));

	if (slots == NULL)
		return -ENOMEM;
	for (i = 0; i < t->count; i++) {
		for (j = (size_t)path_hash(t, t->v[i]->path, t->v[i]->len) &
		    (n - 1); slots[j] != 0; j = (j + 1) & (n - 1))
			;
		slots[j] = i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	return 0;
}

/* The node of `p`, made (dead, to be filled) when there is none. */
static struct node *
tree_put(struct tree *t, const unsigned char *p, size_t len)
{
	struct node *n = tree_get(t, p, len), **v;
	size_t j;

	if (n != NULL)
		return n;
	if ((t->count + 1) * 2 > t->nslots && tree_grow(t) < 0)
		return NULL;
	if (t->count == t->cap) {
		v = realloc(t->v, (t->cap ? t->cap * 2 : 1024) * sizeof(*v));
		if (v == NULL)
			return NULL;
		t->v = v;
		t->cap = t->cap ? t->cap * 2 : 1024;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL || (n->path = malloc(len + 1)) == NULL) {
		free(n);
		return NULL;
	}
	memcpy(n->path, p, len);
	n->path[len] = '\0';
	n->len = len;
	n->dead = 1;
	t->v[t->count++] = n;
	for (j = (size_t)path_hash(t, p, len) & (t->nslots - 1); t->slots[j];
	    j = (j + 1) & (t->nslots - 1))
		;
	t->slots[j] = t->count;
	return n;
}

static void
tree_free(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->count; i++) {
		free(t->v[i]->path);
		free(t->v[i]->link);
		free(t->v[i]);
	}
	free(t->v);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/*
 * Remove what the layers below `layer` hold under the dir `p` ("/" for
 * all): a dir whiteout, an opaque marker, a dir replaced.  Recorded in
 * `cuts` (the highest layer cut at each dir), and applied once, when all
 * layers are read (tree_apply_cuts): a walk of the tree for each would
 * cost an image of many whiteouts its square.
 */
static int
tree_cut_below(struct tree *cuts, const unsigned char *p, size_t len,
    unsigned layer)
{
	struct node *c = tree_put(cuts, p, len);

	if (c == NULL)
		return -ENOMEM;
	if (c->dead || layer > c->layer)
		c->layer = layer;
	c->dead = 0;
	return 0;
}

/* A node lies in a cut dir, cut from a layer above its own. */
static void
tree_apply_cuts(struct tree *t, const struct tree *cuts)
{
	const struct node *c;
	struct node *n;
	size_t i, p;

	if (cuts->count == 0)
		return;
	for (i = 0; i < t->count; i++) {
		n = t->v[i];
		if (n->dead || n->len == 1)
			continue;
		for (p = 0; p < n->len && !n->dead; p++) {
			if (n->path[p] != '/')
				continue;
			c = tree_get(cuts, n->path, p == 0 ? 1 : p);
			if (c != NULL && !c->dead && c->layer > n->layer)
				n->dead = 1;
		}
	}
}

/* ---- reading the image file ---- */

struct oci {
	const struct uw_oci_opts *opts;
	struct uw_error *err;
	int dirfd;		/* an OCI layout dir; -1: a tar */
	const unsigned char *secret;
	struct tree tree;
	struct tree cuts;	/* see tree_cut_below */
	size_t members;		/* read so far, of every layer */
	struct uw_baseline_stats *stats;
	struct uw_progress progress;
	int64_t start_ns, last_progress_ns;
	unsigned layer;		/* the one being applied */
	const char *layer_name;	/* its digest, for messages */
	struct buf name;	/* scratch: a member's normalized path */
	unsigned char *rbuf;	/* READ_BLOCK bytes */
	char escs[3][256];	/* names quoted in messages */
	unsigned esc_next;
};

/* A name from the image file, fit for a one-line message: escaped C-style
 * and cut (three can be in use at once). */
static const char *
esc(struct oci *o, const void *s)
{
	char *out = o->escs[o->esc_next++ % 3];

	return escape_cut(out, sizeof(o->escs[0]), s, strlen(s));
}

/* A member name of the image file ("./blobs/x", "blobs/x") as "blobs/x". */
static const char *
member_name(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	return name;
}

/* The compressions libarchive decodes itself.  Not "all": for the
 * others (lrzip, lzop, grzip...) it would run an external program on
 * bytes from the image file. */
static void
filters(struct archive *a)
{
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_lz4(a);
}

/* A tar of the image file, open at its start. */
static struct archive *
outer_open(struct oci *o)
{
	struct archive *a = archive_read_new();

	if (a == NULL) {
		seterr(o->err, -ENOMEM, "out of memory");
		return NULL;
	}
	filters(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, o->opts->path, READ_BLOCK) !=
	    ARCHIVE_OK) {
		seterr(o->err, -EINVAL, "%s: %s", o->opts->path,
		    archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/*
 * Find the member `want` of the tar: 0 with `a` at its data, 1 when it
 * has none, <0 on error (said).
 */
static int
outer_find(struct oci *o, struct archive *a, const char *want)
{
	struct archive_entry *e;
	const char *name;
	int rc;

	for (;;) {
		rc = archive_read_next_header(a, &e);
		if (rc == ARCHIVE_EOF)
			return 1;
		if (rc < ARCHIVE_WARN)
			return seterr(o->err, -EINVAL, "%s: %s", o->opts->path,
			    archive_error_string(a));
		name = archive_entry_pathname(e);
		if (name == NULL || strcmp(member_name(name), want) != 0)
			continue;
		if (archive_entry_filetype(e) != AE_IFREG ||
		    archive_entry_hardlink(e) != NULL ||
		    archive_entry_sparse_count(e) > 0)
			return seterr(o->err, -EINVAL, "%s: %s is not a "
			    "plain regular file", o->opts->path, want);
		return 0;
	}
}

/* Open `rel` of the layout dir: beneath it, through no symlink, a
 * regular file only (never opened for reading otherwise). */
static int
dir_open(struct oci *o, const char *rel)
{
	struct stat st;
	int fd, rfd;

	fd = walk_open_beneath(o->dirfd, rel, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	rfd = walk_reopen_file(fd, &st);
	close(fd);
	return rfd;
}

/* Read the whole (small) file `rel` of the image file into `out`. */
static int
read_small(struct oci *o, const char *rel, struct buf *out)
{
	struct archive *a = NULL;
	ssize_t n;
	int fd = -1, rc;

	buf_reset(out);
	if (o->dirfd >= 0) {
		fd = dir_open(o, rel);
		if (fd < 0)
			return fd == -ENOENT ? 1 : seterr(o->err, fd,
			    "%s/%s: %s", o->opts->path, rel,
			    fd == -EINVAL ? "not a regular file" :
			    strerror(-fd));
	} else {
		a = outer_open(o);
		if (a == NULL)
			return -EINVAL;
		rc = outer_find(o, a, rel);
		if (rc != 0) {
			archive_read_free(a);
			return rc;
		}
	}
	for (;;) {
		n = fd >= 0 ? read(fd, o->rbuf, READ_BLOCK) :
		    archive_read_data(a, o->rbuf, READ_BLOCK);
		if (n <= 0)
			break;
		if (out->len + (size_t)n > OCI_MAX_JSON) {
			n = -2;
			break;
		}
		if (buf_add(out, o->rbuf, (size_t)n) < 0) {
			n = -3;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	if (a != NULL && n < 0 && n != -2 && n != -3)
		seterr(o->err, -EIO, "%s: %s: %s", o->opts->path, rel,
		    archive_error_string(a));
	if (a != NULL)
		archive_read_free(a);
	if (n == -2)
		return seterr(o->err, -E2BIG, "%s: %s is over %u bytes",
		    o->opts->path, rel, OCI_MAX_JSON);
	if (n == -3)
		return seterr(o->err, -ENOMEM, "out of memory");
	if (n < 0)
		return fd >= 0 ? seterr(o->err, -errno, "%s/%s: %s",
		    o->opts->path, rel, strerror(errno)) : -EIO;
	return 0;
}

/* "sha256:<64 hex>" only: a digest names a blob's path. */
static int
digest_ok(const char *d)
{
	size_t i;

	if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return 0;
	for (i = 7; i < 71; i++)
		if (!((d[i] >= '0' && d[i] <= '9') ||
		    (d[i] >= 'a' && d[i] <= 'f')))
			return 0;
	return 1;
}

static void
sha256_hex(EVP_MD_CTX *ctx, char out[UW_DIGEST_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0, i;

	EVP_DigestFinal_ex(ctx, md, &len);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < len && i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* Parse JSON read from `rel`, checking its sha256 when `digest` is given. */
static json_t *
read_json(struct oci *o, const char *rel, const char *digest, struct buf *b)
{
	char got[UW_DIGEST_MAX];
	EVP_MD_CTX *ctx;
	json_error_t je;
	json_t *j;
	int rc;

	rc = read_small(o, rel, b);
	if (rc == 1)
		seterr(o->err, -ENOENT, "%s: no %s in it", o->opts->path, rel);
	if (rc != 0)
		return NULL;
	if (digest != NULL) {
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
		    !EVP_DigestUpdate(ctx, b->data, b->len)) {
			EVP_MD_CTX_free(ctx);
			seterr(o->err, -ENOMEM, "sha256: out of memory");
			return NULL;
		}
		sha256_hex(ctx, got);
		EVP_MD_CTX_free(ctx);
		if (strcmp(got, digest) != 0) {
			seterr(o->err, -EBADMSG, "%s: %s does not match its "
			    "digest (it is %s)", o->opts->path, rel, got);
			return NULL;
		}
	}
	j = json_loadb((const char *)b->data, b->len, JSON_REJECT_DUPLICATES,
	    &je);
	if (j == NULL)
		seterr(o->err, -EINVAL, "%s: %s: bad JSON: %s (line %d)",
		    o->opts->path, rel, je.text, je.line);
	return j;
}

/* The path of the blob `digest` in an OCI layout. */
static void
blob_path(const char *digest, char *out, size_t size)
{
	snprintf(out, size, "blobs/sha256/%s", digest + 7);
}

/* ---- the image's descriptors ---- */

struct image {
	char config[UW_DIGEST_MAX];	/* its digest */
	char config_path[300];		/* where it is in the file */
	char **layers;			/* paths in the file, bottom first */
	char **layer_digests;		/* blob digests (OCI), or NULL */
	char **diff_ids;		/* from the config */
	size_t nlayers;
	char **tags;
	size_t ntags;
	char platform[64];
};

static void
image_free(struct image *im)
{
	size_t i;

	for (i = 0; i < im->nlayers; i++) {
		free(im->layers[i]);
		if (im->layer_digests != NULL)
			free(im->layer_digests[i]);
		if (im->diff_ids != NULL)
			free(im->diff_ids[i]);
	}
	for (i = 0; i < im->ntags; i++)
		free(im->tags[i]);
	free(im->layers);
	free(im->layer_digests);
	free(im->diff_ids);
	free(im->tags);
	memset(im, 0, sizeof(*im));
}

static int
add_tag(struct image *im, const char *tag)
{
	char **v;

	if (tag == NULL || tag[0] == '\0' || strlen(tag) > 255 ||
	    im->ntags >= OCI_MAX_TAGS)
		return 0;	/* not a name to record */
	v = realloc(im->tags, (im->ntags + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	im->tags = v;
	if ((im->tags[im->ntags] = strdup(tag)) == NULL)
		return -ENOMEM;
	im->ntags++;
	return 0;
}

/* This host's platform, as OCI names it. */
static void
host_platform(char *out, size_t size)
{
	struct utsname u;
	const char *arch = "amd64";

	if (uname(&u) == 0) {
		if (strcmp(u.machine, "aarch64") == 0)
			arch = "arm64";
		else if (strcmp(u.machine, "x86_64") != 0)
			arch = u.machine;
	}
	/* (a machine name is short; the cut only quiets the compiler) */
	snprintf(out, size, "linux/%.40s", arch);
}

static void
platform_of(json_t *desc, char *out, size_t size)
{
	json_t *p = json_object_get(desc, "platform");
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p,
	    "architecture"));
	const char *var = json_string_value(json_object_get(p, "variant"));

	if (os == NULL || arch == NULL)
		snprintf(out, size, "?");
	else if (var != NULL)
		snprintf(out, size, "%s/%s/%s", os, arch, var);
	else
		snprintf(out, size, "%s/%s", os, arch);
}

static int
is_index(const char *media)
{
	return media != NULL &&
	    (strcmp(media, "application/vnd.oci.image.index.v1+json") == 0 ||
	    strcmp(media, "application/vnd.docker.distribution.manifest."
	    "list.v2+json") == 0);
}

/*
 * From an index, the manifest descriptor to read: the one for the wanted
 * platform (opts, else this host's when there are several), through
 * nested indexes.  Tags (org.opencontainers.image.ref.name) are collected.
 */
static int
pick_manifest(struct oci *o, struct image *im, json_t *index, int depth,
    char *digest_out)
{
	char want[64], plat[64], path[300], listed[512];
	json_t *ms = json_object_get(index, "manifests"), *d, *chosen = NULL;
	json_t *nested;
	struct buf b;
	size_t i, n = 0, len = 0;
	const char *media, *dg, *ref;
	int rc;

	if (depth > 4)
		return seterr(o->err, -ELOOP, "%s: indexes nested too deep",
		    o->opts->path);
	if (!json_is_array(ms) || json_array_size(ms) == 0)
		return seterr(o->err, -EINVAL, "%s: its index lists no "
		    "manifest", o->opts->path);
	if (o->opts->platform != NULL)
		snprintf(want, sizeof(want), "%s", o->opts->platform);
	else
		host_platform(want, sizeof(want));
	listed[0] = '\0';
	json_array_foreach(ms, i, d) {
		platform_of(d, plat, sizeof(plat));
		if (len < sizeof(listed) - 1)
			len += (size_t)snprintf(listed + len,
			    sizeof(listed) - len, "%s%s", len ? ", " : "",
			    plat);
		if (len >= sizeof(listed))
			len = sizeof(listed) - 1;
		/* a platform matches when given whole, or without the
		 * variant */
		if (strcmp(plat, "?") == 0 || strcmp(plat, want) == 0 ||
		    (strncmp(plat, want, strlen(want)) == 0 &&
		    plat[strlen(want)] == '/')) {
			if (chosen == NULL)
				chosen = d;
			n++;
		}
	}
	if (json_array_size(ms) == 1 && o->opts->platform == NULL)
		chosen = json_array_get(ms, 0), n = 1;
	if (chosen == NULL)
		return seterr(o->err, -ENOENT, "%s: no manifest for %s (it "
		    "has %s)%s", o->opts->path, want, listed,
		    o->opts->platform ? "" : "; pick one with --platform");
	if (n > 1 && o->opts->image != NULL) {
		/* several images: the one whose name --image gives */
		json_t *hit = NULL;
		size_t hits = 0;

		json_array_foreach(ms, i, d) {
			const char *rn = json_string_value(json_object_get(
			    json_object_get(d, "annotations"),
			    "org.opencontainers.image.ref.name"));

			if (rn != NULL && strcmp(rn, o->opts->image) == 0) {
				hit = d;
				hits++;
			}
		}
		if (hits == 1) {
			chosen = hit;
			n = 1;
		}
	}
	if (n > 1 && !is_index(json_string_value(json_object_get(chosen,
	    "mediaType"))))
		return seterr(o->err, -EINVAL, "%s: %zu manifests for %s: "
		    "the image file holds more than one image; name one with "
		    "--image", o->opts->path, n, want);
	platform_of(chosen, im->platform, sizeof(im->platform));
	if (strcmp(im->platform, "?") == 0)
		im->platform[0] = '\0';	/* the config says */
	ref = json_string_value(json_object_get(json_object_get(chosen,
	    "annotations"), "org.opencontainers.image.ref.name"));
	if (ref != NULL && add_tag(im, ref) < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	media = json_string_value(json_object_get(chosen, "mediaType"));
	dg = json_string_value(json_object_get(chosen, "digest"));
	if (!digest_ok(dg))
		return seterr(o->err, -EINVAL, "%s: a manifest digest is not "
		    "sha256:<hex>", o->opts->path);
	if (!is_index(media)) {
		snprintf(digest_out, UW_DIGEST_MAX, "%s", dg);
		return 0;
	}
	blob_path(dg, path, sizeof(path));
	buf_init(&b, OCI_MAX_JSON);
	nested = read_json(o, path, dg, &b);
	buf_free(&b);
	if (nested == NULL)
		return -EINVAL;
	rc = pick_manifest(o, im, nested, depth + 1, digest_out);
	json_decref(nested);
	return rc;
}

static int
alloc_layers(struct oci *o, struct image *im, size_t n)
{
	if (n == 0 || n > OCI_MAX_LAYERS)
		return seterr(o->err, -EINVAL, "%s: %zu layers (1 to %d are "
		    "allowed)", o->opts->path, n, OCI_MAX_LAYERS);
	im->layers = calloc(n, sizeof(char *));
	im->layer_digests = calloc(n, sizeof(char *));
	im->diff_ids = calloc(n, sizeof(char *));
	if (im->layers == NULL || im->layer_digests == NULL ||
	    im->diff_ids == NULL)
		return seterr(o->err, -ENOMEM, "out of memory");
	im->nlayers = n;
	return 0;
}

/* The config: its diff_ids, one per layer. */
static int
read_config(struct oci *o, struct image *im, const char *checked)
{
	json_t *cfg, *ids, *d;
	struct buf b;
	size_t i;
	int rc = 0;

	buf_init(&b, OCI_MAX_JSON);
	cfg = read_json(o, im->config_path, checked, &b);
	if (cfg != NULL && checked == NULL) {
		/* docker-archive names the config, not its digest */
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(),
		    NULL) || !EVP_DigestUpdate(ctx, b.data, b.len))
			rc = seterr(o->err, -ENOMEM, "sha256: out of memory");
		else
			sha256_hex(ctx, im->config);
		EVP_MD_CTX_free(ctx);
	}
	buf_free(&b);
	if (cfg == NULL)
		return -EINVAL;
	ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (rc == 0 && (!json_is_array(ids) ||
	    json_array_size(ids) != im->nlayers))
		rc = seterr(o->err, -EINVAL, "%s: the config lists %zu "
		    "diff_ids for %zu layers", o->opts->path,
		    json_array_size(ids), im->nlayers);
	if (rc == 0 && im->platform[0] == '\0') {
		/* the index did not say: the config does */
		const char *os = json_string_value(json_object_get(cfg, "os"));
		const char *ar = json_string_value(json_object_get(cfg,
		    "architecture"));
		const char *var = json_string_value(json_object_get(cfg,
		    "variant"));
		const char *want = o->opts->platform;

		snprintf(im->platform, sizeof(im->platform), "%.20s/%.20s%s%.20s",
		    os ? os : "?", ar ? ar : "?", var ? "/" : "",
		    var ? var : "");
		if (want != NULL && strcmp(want, im->platform) != 0 &&
		    (strncmp(im->platform, want, strlen(want)) != 0 ||
		    im->platform[strlen(want)] != '/'))
			rc = seterr(o->err, -ENOENT, "%s: no manifest for %s "
			    "(the image is %s)", o->opts->path, want,
			    im->platform);
	}
	for (i = 0; rc == 0 && i < im->nlayers; i++) {
		d = json_array_get(ids, i);
		if (!digest_ok(json_string_value(d)))
			rc = seterr(o->err, -EINVAL, "%s: diff_id %zu is not "
			    "sha256:<hex>", o->opts->path, i);
		else if ((im->diff_ids[i] = strdup(json_string_value(d))) ==
		    NULL)
			rc = seterr(o->err, -ENOMEM, "out of memory");
	}
	json_decref(cfg);
	return rc;
}

/* An OCI layout (dir or tar): index.json -> manifest -> config, layers. */
static int
read_oci(struct oci *o, struct image *im, json_t *index)
{
	char mdigest[UW_DIGEST_MAX], path[300];
	json_t *man, *cfg, *layers, *d;
	const char *dg;
	struct buf b;
	size_t i;
	int rc;

	rc = pick_manifest(o, im, index, 0, mdigest);
	if (rc < 0)
		return rc;
	blob_path(mdigest, path, sizeof(path));
	buf_init(&b, OCI_MAX_JSON);
	man = read_json(o, path, mdigest, &b);
	buf_free(&b);
	if (man == NULL)
		return -EINVAL;
	cfg = json_object_get(man, "config");
	dg = json_string_value(json_object_get(cfg, "digest"));
	layers = json_object_get(man, "layers");
	if (!digest_ok(dg) || !json_is_array(layers)) {
		json_decref(man);
		return seterr(o->err, -EINVAL, "%s: manifest %s has no config "
		    "digest or no layers", o->opts->path, mdigest);
	}
	snprintf(im->config, sizeof(im->config), "%s", dg);
	blob_path(dg, im->config_path, sizeof(im->config_path));
	rc = alloc_layers(o, im, json_array_size(layers));
	json_array_foreach(layers, i, d) {
		if (rc < 0)
			break;
		dg = json_string_value(json_object_get(d, "digest"));
		if (!digest_ok(dg)) {
			rc = seterr(o->err, -EINVAL, "%s: layer %zu: its "
			    "digest is not sha256:<hex>", o->opts->path, i);
			break;
		}
		blob_path(dg, path, sizeof(path));
		if ((im->layers[i] = strdup(path)) == NULL ||
		    (im->layer_digests[i] = strdup(dg)) == NULL)
			rc = seterr(o->err, -ENOMEM, "out of memory");
	}
	json_decref(man);
	if (rc == 0)
		rc = read_config(o, im, im->config);
	return rc;
}

/* A docker-archive: manifest.json names the config and layer files. */
static int
read_docker(struct oci *o, struct image *im, json_t *manifest)
{
	json_t *m, *layers, *tags, *d;
	const char *cfg, *p;
	size_t i;
	int rc;

	if (!json_is_array(manifest) || json_array_size(manifest) == 0)
		return seterr(o->err, -EINVAL, "%s: manifest.json lists no "
		    "image", o->opts->path);
	m = json_array_get(manifest, 0);
	if (json_array_size(manifest) > 1) {
		/* several images (podman save -m): the one --image names */
		json_t *e, *t;
		size_t k, n = 0;

		json_array_foreach(manifest, i, e)
			json_array_foreach(json_object_get(e, "RepoTags"), k, t)
				if (o->opts->image != NULL &&
				    json_string_value(t) != NULL &&
				    strcmp(json_string_value(t),
				    o->opts->image) == 0 && n++ == 0)
					m = e;
		if (n != 1)
			return seterr(o->err, -EINVAL, "%s: manifest.json "
			    "lists %zu images: name one of their tags with "
			    "--image", o->opts->path,
			    json_array_size(manifest));
	}
	cfg = json_string_value(json_object_get(m, "Config"));
	layers = json_object_get(m, "Layers");
	if (cfg == NULL || !json_is_array(layers))
		return seterr(o->err, -EINVAL, "%s: manifest.json has no "
		    "Config or no Layers", o->opts->path);
	snprintf(im->config_path, sizeof(im->config_path), "%s",
	    member_name(cfg));
	tags = json_object_get(m, "RepoTags");
	json_array_foreach(tags, i, d)
		if (add_tag(im, json_string_value(d)) < 0)
			return seterr(o->err, -ENOMEM, "out of memory");
	rc = alloc_layers(o, im, json_array_size(layers));
	json_array_foreach(layers, i, d) {
		if (rc < 0)
			break;
		p = json_string_value(d);
		if (p == NULL)
			rc = seterr(o->err, -EINVAL, "%s: layer %zu has no "
			    "name", o->opts->path, i);
		else if ((im->layers[i] = strdup(member_name(p))) == NULL)
			rc = seterr(o->err, -ENOMEM, "out of memory");
	}
	free(im->layer_digests);	/* none: the diff_ids check them */
	im->layer_digests = NULL;
	if (rc == 0)
		rc = read_config(o, im, NULL);
	return rc;
}

static int
read_image(struct oci *o, struct image *im)
{
	struct buf b;
	json_t *j;
	int rc;

	buf_init(&b, OCI_MAX_JSON);
	rc = read_small(o, "index.json", &b);
	if (rc == 0) {
		j = read_json(o, "index.json", NULL, &b);
		buf_free(&b);
		if (j == NULL)
			return -EINVAL;
		rc = read_oci(o, im, j);
		json_decref(j);
		return rc;
	}
	if (rc < 0) {
		buf_free(&b);
		return rc;
	}
	rc = read_small(o, "manifest.json", &b);
	if (rc == 1) {
		buf_free(&b);
		return seterr(o->err, -EINVAL, "%s: neither an OCI layout "
		    "(index.json) nor a docker-archive (manifest.json)",
		    o->opts->path);
	}
	j = rc == 0 ? read_json(o, "manifest.json", NULL, &b) : NULL;
	buf_free(&b);
	if (j == NULL)
		return -EINVAL;
	rc = read_docker(o, im, j);
	json_decref(j);
	return rc;
}

/* ---- one layer, streamed ---- */

struct blob {
	struct oci *o;
	int fd;			/* from the layout dir, or */
	struct archive *outer;	/* from the tar, at the member */
	EVP_MD_CTX *compressed, *uncompressed;
	struct archive *raw;	/* the decompressing reader */
	uint64_t in_bytes, out_bytes;
	int bomb;
	unsigned char *inbuf, *outbuf;
};

/* The raw reader's source: the blob's bytes, hashed as they pass. */
static la_ssize_t
blob_read(struct archive *a, void *arg, const void **data)
{
	struct blob *bl = arg;
	ssize_t n;

	(void)a;
	n = bl->fd >= 0 ? read(bl->fd, bl->inbuf, READ_BLOCK) :
	    archive_read_data(bl->outer, bl->inbuf, READ_BLOCK);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", bl->fd >= 0 ? strerror(errno) :
		    archive_error_string(bl->outer));
		return -1;
	}
	EVP_DigestUpdate(bl->compressed, bl->inbuf, (size_t)n);
	bl->in_bytes += (uint64_t)n;
	*data = bl->inbuf;
	return n;
}

/* The tar reader's source: the blob decompressed, hashed as it passes. */
static la_ssize_t
tar_read(struct archive *a, void *arg, const void **data)
{
	struct blob *bl = arg;
	la_ssize_t n;

	n = archive_read_data(bl->raw, bl->outbuf, READ_BLOCK);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(bl->raw));
		return -1;
	}
	EVP_DigestUpdate(bl->uncompressed, bl->outbuf, (size_t)n);
	bl->out_bytes += (uint64_t)n;
	if (bl->out_bytes > BOMB_ALLOWANCE &&
	    bl->out_bytes / OCI_MAX_RATIO > bl->in_bytes) {
		bl->bomb = 1;
		archive_set_error(a, EFBIG, "it expands more than %d times",
		    OCI_MAX_RATIO);
		return -1;
	}
	*data = bl->outbuf;
	return n;
}

static void
progress_tick(struct oci *o, int force)
{
	int64_t now;

	if (o->opts->progress == NULL)
		return;
	now = now_mono_ns();
	if (!force && now - o->last_progress_ns < PROGRESS_NS)
		return;
	o->last_progress_ns = now;
	o->progress.entries = o->tree.count;
	o->progress.seconds = (double)(now - o->start_ns) / 1e9;
	o->opts->progress(&o->progress, o->opts->progress_arg);
}

/*
 * A member's name as a path of the image, "/a/b", into o->name: refused
 * when absolute or climbing with "..".  "." (the root) is "/".
 */
static int
norm_path(struct oci *o, const char *name, const char *what)
{
	const char *p = name, *s;
	size_t n;

	if (name[0] == '/')
		return seterr(o->err, -EINVAL, "layer %s: %s '%s' is "
		    "absolute", o->layer_name, what, esc(o, name));
	buf_reset(&o->name);
	while (*p != '\0') {
		while (*p == '/')
			p++;
		s = p;
		while (*p != '\0' && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return seterr(o->err, -EINVAL, "layer %s: %s '%s' "
			    "climbs out of the image", o->layer_name, what,
			    esc(o, name));
		if (buf_addc(&o->name, '/') < 0 || buf_add(&o->name, s, n) < 0)
			return seterr(o->err, -ENAMETOOLONG, "layer %s: %s "
			    "'%s...' is too long", o->layer_name, what,
			    esc(o, name));
	}
	if (o->name.len > OCI_MAX_PATH)
		return seterr(o->err, -ENAMETOOLONG, "layer %s: %s '%s...' is "
		    "longer than %u bytes", o->layer_name, what, esc(o, name),
		    OCI_MAX_PATH);
	if (o->name.len == 0 && buf_addc(&o->name, '/') < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	if (buf_addc(&o->name, '\0') < 0)
		return seterr(o->err, -ENAMETOOLONG, "layer %s: %s too long",
		    o->layer_name, what);
	o->name.len--;
	return 0;
}

/* Node n is this layer's now (its record set by the caller): no link
 * target, no capabilities unless the caller sets them. */
static void
node_take(struct oci *o, struct node *n)
{
	free(n->link);
	n->link = NULL;
	n->link_len = 0;
	n->caps_len = 0;
	n->layer = o->layer;
	n->dead = 0;
}

/* Make sure the dirs above o->name exist (a tar may leave them out):
 * made 0755 root, as an extractor makes them. */
static int
parents(struct oci *o)
{
	struct node *n;
	size_t p;

	/* each '/' ends an ancestor: "" (the root) at 0, then "/a", ... */
	for (p = 0; p < o->name.len; p++) {
		if (o->name.data[p] != '/' || (p == 0 && o->name.len == 1))
			continue;
		n = tree_put(&o->tree, o->name.data, p == 0 ? 1 : p);
		if (n == NULL)
			return seterr(o->err, -ENOMEM, "out of memory");
		if (!n->dead && n->rec.type == UW_TYPE_DIR) {
			/* in this layer too (what an opaque marker or a
			 * whiteout of it in this layer leaves), with the
			 * metadata it had */
			n->layer = o->layer;
			continue;
		}
		/* none yet, or a file where a dir must be: a dir */
		memset(&n->rec, 0, sizeof(n->rec));
		n->rec.type = UW_TYPE_DIR;
		n->rec.mode = 0755;
		node_take(o, n);
	}
	return 0;
}

/* A whiteout in the dir of o->name (its last name starts ".wh."). */
static int
whiteout(struct oci *o, size_t base)
{
	const unsigned char *name = o->name.data + base + 4;
	size_t nlen = o->name.len - base - 4, dlen = base ? base - 1 : 0;
	struct node *n;

	if (nlen == 8 && memcmp(name, ".wh..opq", 8) == 0) {
		/* ".wh..wh..opq": the dir hides what lies below it */
		if (tree_cut_below(&o->cuts, o->name.data, dlen ? dlen : 1,
		    o->layer) < 0)
			return seterr(o->err, -ENOMEM, "out of memory");
		return 0;
	}
	if (nlen == 0)
		return seterr(o->err, -EINVAL, "layer %s: a whiteout with no "
		    "name in %s", o->layer_name, esc(o, o->name.data));
	/* "/dir/.wh.NAME" -> "/dir/NAME" */
	memmove(o->name.data + base, name, nlen);
	o->name.len = base + nlen;
	o->name.data[o->name.len] = '\0';
	/* the name, if a lower layer has it, and what lies below it */
	n = tree_get(&o->tree, o->name.data, o->name.len);
	if (n != NULL && !n->dead && n->layer < o->layer)
		n->dead = 1;
	if (tree_cut_below(&o->cuts, o->name.data, o->name.len,
	    o->layer) < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	return 0;
}

/* A regular file's content into n->rec.hash. */
static int
content(struct oci *o, struct archive *tar, struct node *n, uint64_t size)
{
	struct hash_stream hs;
	const void *data;
	size_t len;
	la_int64_t off;
	int rc;

	if (hash_stream_begin(&hs, o->secret, size) < 0)
		return seterr(o->err, -EINVAL, "cannot hash");
	for (;;) {
		rc = archive_read_data_block(tar, &data, &len, &off);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc < ARCHIVE_WARN)
			return seterr(o->err, -EIO, "layer %s: %s: %s",
			    o->layer_name, esc(o, n->path),
			    archive_error_string(tar));
		if (len > 0 && (off < 0 || hash_stream_write(&hs,
		    (uint64_t)off, data, len) < 0))
			return seterr(o->err, -EINVAL, "layer %s: %s: its data "
			    "lies past its size or out of order",
			    o->layer_name, esc(o, n->path));
	}
	hash_stream_end(&hs, n->rec.hash);
	n->rec.flags |= UW_REC_HASHED;
	n->data = hs.bytes;
	o->progress.files++;
	o->progress.bytes += hs.bytes;
	return 0;
}

/* n is a name of the file `hl` of this layer (a tar hard link). */
static int
hard_link(struct oci *o, struct node *n, const char *hl)
{
	struct node *t;
	int rc;

	buf_reset(&o->name);
	rc = norm_path(o, hl, "hard link to");
	if (rc < 0)
		return rc;
	t = tree_get(&o->tree, o->name.data, o->name.len);
	if (t == NULL || t->dead || t->layer != o->layer ||
	    t->rec.type != UW_TYPE_FILE)
		return seterr(o->err, -EINVAL, "layer %s: %s is a hard link "
		    "to '%s', which is no file of that layer",
		    o->layer_name, esc(o, n->path), esc(o, hl));
	if (t == n)
		return 0;
	if (!n->dead && n->rec.type == UW_TYPE_DIR &&
	    tree_cut_below(&o->cuts, n->path, n->len, o->layer + 1) < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	if (t->rec.link_group == 0) {
		uint64_t id[2] = { o->layer, XXH3_64bits(t->path, t->len) };

		t->rec.link_group = (XXH3_64bits(id, sizeof(id)) >> 1) | 1;
	}
	node_take(o, n);
	n->rec = t->rec;
	n->data = t->data;
	memcpy(n->caps, t->caps, t->caps_len);
	n->caps_len = t->caps_len;
	return 0;
}

/* One member of a layer. */
static int
member(struct oci *o, struct archive *tar, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e), *hl, *xn, *target;
	const void *xv;
	struct node *n;
	size_t base, xs;
	unsigned type = archive_entry_filetype(e);
	int rc;

	if (name == NULL)
		return seterr(o->err, -EINVAL, "layer %s: a member has no "
		    "name", o->layer_name);
	rc = norm_path(o, name, "member");
	if (rc < 0)
		return rc;
	for (base = o->name.len; base > 0 && o->name.data[base - 1] != '/';
	    base--)
		;
	if (o->name.len - base >= 4 &&
	    memcmp(o->name.data + base, ".wh.", 4) == 0) {
		rc = parents(o);
		return rc < 0 ? rc : whiteout(o, base);
	}
	rc = parents(o);
	if (rc < 0)
		return rc;
	n = tree_put(&o->tree, o->name.data, o->name.len);
	if (n == NULL)
		return seterr(o->err, -ENOMEM, "out of memory");
	hl = archive_entry_hardlink(e);
	if (hl != NULL)
		return hard_link(o, n, hl);
	/* a dir replaced by what is not one: nothing below it stays, of
	 * this layer either (o->layer + 1) */
	if (!n->dead && n->rec.type == UW_TYPE_DIR && type != AE_IFDIR &&
	    tree_cut_below(&o->cuts, n->path, n->len, o->layer + 1) < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	if (n->dead || type != AE_IFDIR || n->rec.type != UW_TYPE_DIR)
		memset(&n->rec, 0, sizeof(n->rec));
	node_take(o, n);
	n->rec.type = walk_type_of((mode_t)type);
	n->rec.mode = archive_entry_perm(e) & 07777;
	if (archive_entry_uid(e) < 0 || archive_entry_uid(e) > UINT32_MAX ||
	    archive_entry_gid(e) < 0 || archive_entry_gid(e) > UINT32_MAX)
		return seterr(o->err, -EINVAL, "layer %s: %s has an owner "
		    "out of range", o->layer_name, esc(o, n->path));
	n->rec.uid = (uint32_t)archive_entry_uid(e);
	n->rec.gid = (uint32_t)archive_entry_gid(e);
	/* a time no file system holds: clamped, not overflowed */
	n->rec.mtime_ns = archive_entry_mtime(e) > INT64_MAX / 1000000000 - 1 ?
	    INT64_MAX : archive_entry_mtime(e) < INT64_MIN / 1000000000 + 1 ?
	    INT64_MIN : (int64_t)archive_entry_mtime(e) * 1000000000 +
	    archive_entry_mtime_nsec(e);
	n->rec.link_group = 0;
	n->rec.flags = 0;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK)
		if (strcmp(xn, "security.capability") == 0 && xs > 0 &&
		    xs <= WALK_CAPS_MAX) {
			memcpy(n->caps, xv, xs);
			n->caps_len = xs;
		}
	switch (type) {
	case AE_IFREG:
		n->rec.size = (uint64_t)archive_entry_size(e);
		return content(o, tar, n, n->rec.size);
	case AE_IFLNK:
		target = archive_entry_symlink(e);
		if (target == NULL)
			target = "";
		n->link_len = strlen(target);
		n->link = (unsigned char *)strdup(target);
		if (n->link == NULL)
			return seterr(o->err, -ENOMEM, "out of memory");
		n->rec.size = n->link_len;
		return 0;
	case AE_IFDIR:
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
	case AE_IFSOCK:
		return 0;
	default:
		return seterr(o->err, -EINVAL, "layer %s: %s has an unknown "
		    "type", o->layer_name, esc(o, n->path));
	}
}

static int
blob_open(struct oci *o, struct blob *bl, const char *path)
{
	int rc;

	if (o->dirfd >= 0) {
		bl->fd = dir_open(o, path);
		if (bl->fd < 0)
			return seterr(o->err, bl->fd, "%s/%s: %s",
			    o->opts->path, path, bl->fd == -EINVAL ?
			    "not a regular file" : strerror(-bl->fd));
		return 0;
	}
	bl->outer = outer_open(o);
	if (bl->outer == NULL)
		return -EINVAL;
	rc = outer_find(o, bl->outer, path);
	if (rc == 1)
		return seterr(o->err, -ENOENT, "%s: no %s in it",
		    o->opts->path, path);
	return rc;
}

static void
blob_close(struct blob *bl)
{
	if (bl->raw != NULL)
		archive_read_free(bl->raw);
	if (bl->outer != NULL)
		archive_read_free(bl->outer);
	if (bl->fd >= 0)
		close(bl->fd);
	EVP_MD_CTX_free(bl->compressed);
	EVP_MD_CTX_free(bl->uncompressed);
	free(bl->inbuf);
	free(bl->outbuf);
}

/* Read the rest of a stream, so that its digest covers it whole. */
static int
drain(struct blob *bl)
{
	const void *data;
	la_ssize_t n;

	while ((n = tar_read(bl->raw, bl, &data)) > 0)
		;
	if (n < 0)
		return -1;
	while ((n = blob_read(bl->raw, bl, &data)) > 0)
		;
	return n < 0 ? -1 : 0;
}

static int
apply_layer(struct oci *o, const struct image *im, unsigned i)
{
	struct blob bl;
	struct archive *tar = NULL;
	struct archive_entry *e;
	char got[UW_DIGEST_MAX];
	int rc;

	memset(&bl, 0, sizeof(bl));
	bl.fd = -1;
	bl.o = o;
	o->layer = i;
	o->layer_name = im->layer_digests ? im->layer_digests[i] :
	    im->layers[i];
	bl.compressed = EVP_MD_CTX_new();
	bl.uncompressed = EVP_MD_CTX_new();
	bl.inbuf = malloc(READ_BLOCK);
	bl.outbuf = malloc(READ_BLOCK);
	if (bl.compressed == NULL || bl.uncompressed == NULL ||
	    bl.inbuf == NULL || bl.outbuf == NULL ||
	    !EVP_DigestInit_ex(bl.compressed, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(bl.uncompressed, EVP_sha256(), NULL)) {
		rc = seterr(o->err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = blob_open(o, &bl, im->layers[i]);
	if (rc < 0)
		goto out;
	bl.raw = archive_read_new();
	tar = archive_read_new();
	if (bl.raw == NULL || tar == NULL) {
		rc = seterr(o->err, -ENOMEM, "out of memory");
		goto out;
	}
	filters(bl.raw);
	archive_read_support_format_raw(bl.raw);
	archive_read_support_format_tar(tar);
	if (archive_read_open(bl.raw, &bl, NULL, blob_read, NULL) !=
	    ARCHIVE_OK || archive_read_next_header(bl.raw, &e) !=
	    ARCHIVE_OK) {
		rc = seterr(o->err, -EINVAL, "layer %s: %s", o->layer_name,
		    archive_error_string(bl.raw));
		goto out;
	}
	if (archive_read_open(tar, &bl, NULL, tar_read, NULL) != ARCHIVE_OK) {
		rc = seterr(o->err, -EINVAL, "layer %s: %s", o->layer_name,
		    archive_error_string(tar));
		goto out;
	}
	for (;;) {
		if (o->opts->cancel != NULL && *o->opts->cancel) {
			rc = seterr(o->err, -ECANCELED, "interrupted; the "
			    "previous baseline is kept");
			goto out;
		}
		rc = archive_read_next_header(tar, &e);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc < ARCHIVE_WARN) {
			rc = seterr(o->err, bl.bomb ? -EFBIG : -EINVAL,
			    "layer %s: %s%s", o->layer_name,
			    archive_error_string(tar), bl.bomb ?
			    " (a decompression bomb?)" : "");
			goto out;
		}
		if (++o->members > 4 * (size_t)OCI_MAX_ENTRIES ||
		    o->tree.count > OCI_MAX_ENTRIES) {
			rc = seterr(o->err, -E2BIG, "layer %s: more than %u "
			    "entries in the image", o->layer_name,
			    OCI_MAX_ENTRIES);
			goto out;
		}
		rc = member(o, tar, e);
		if (rc < 0)
			goto out;
		progress_tick(o, 0);
	}
	if (drain(&bl) < 0) {
		rc = seterr(o->err, bl.bomb ? -EFBIG : -EIO, "layer %s: %s",
		    o->layer_name, archive_error_string(bl.raw));
		goto out;
	}
	sha256_hex(bl.uncompressed, got);
	if (strcmp(got, im->diff_ids[i]) != 0) {
		rc = seterr(o->err, -EBADMSG, "layer %s: its content does "
		    "not match the config's diff_id %s (it is %s)",
		    o->layer_name, im->diff_ids[i], got);
		goto out;
	}
	if (im->layer_digests != NULL) {
		sha256_hex(bl.compressed, got);
		if (strcmp(got, im->layer_digests[i]) != 0) {
			rc = seterr(o->err, -EBADMSG, "layer %s: the blob does "
			    "not match its digest (it is %s)", o->layer_name,
			    got);
			goto out;
		}
	}
	rc = 0;
out:
	if (tar != NULL)
		archive_read_free(tar);
	blob_close(&bl);
	return rc;
}

/* ---- recording ---- */

static int
cmp_node(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a;
	const struct node *y = *(struct node *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->path, y->path, n);

	return c != 0 ? c : x->len < y->len ? -1 : x->len > y->len;
}

static int
record(struct oci *o, struct store *store, const struct image *im,
    struct uw_oci_result *res)
{
	const char **refs = NULL;
	struct node *n;
	int64_t image_id;
	size_t i;
	int rc, in_txn = 0;

	qsort(o->tree.v, o->tree.count, sizeof(*o->tree.v), cmp_node);
	refs = calloc(im->nlayers, sizeof(*refs));
	if (refs == NULL)
		return seterr(o->err, -ENOMEM, "out of memory");
	/* the layers, top first, as a layer stack is recorded */
	for (i = 0; i < im->nlayers; i++)
		refs[i] = im->diff_ids[im->nlayers - 1 - i];
	rc = store_baseline_begin(store, im->config, refs, im->nlayers,
	    &image_id, o->err);
	free(refs);
	if (rc < 0)
		return rc;
	in_txn = 1;
	for (i = 0; rc == 0 && i < o->tree.count; i++) {
		n = o->tree.v[i];
		if (n->dead)
			continue;
		n->rec.path = n->path;
		n->rec.path_len = n->len;
		n->rec.link = n->link;
		n->rec.link_len = n->link_len;
		n->rec.caps = n->caps_len ? n->caps : NULL;
		n->rec.caps_len = n->caps_len;
		rc = store_baseline_put(store, image_id, &n->rec, o->err);
		if (rc == 0)
			o->stats->entries++;
		if (n->rec.flags & UW_REC_HASHED) {
			o->stats->files++;
			o->stats->bytes += n->data;
		}
	}
	for (i = 0; rc == 0 && i < im->ntags; i++)
		if ((rc = store_alias_set(store, im->tags[i], image_id,
		    o->err)) == 0)
			res->aliases++;
	if (rc == 0 && o->opts->image != NULL &&
	    (rc = store_alias_set(store, o->opts->image, image_id,
	    o->err)) == 0)
		res->aliases++;
	if (rc == 0) {
		o->stats->seconds = (double)(now_mono_ns() - o->start_ns) /
		    1e9;
		rc = store_baseline_commit(store, image_id, o->stats, o->err);
		in_txn = 0;
	}
	if (in_txn)
		store_baseline_abort(store);
	return rc;
}

int
oci_build(struct store *store, const struct uw_oci_opts *opts,
    struct uw_oci_result *res, struct uw_baseline_stats *stats,
    struct uw_error *err)
{
	struct uw_baseline_stats local;
	struct uw_oci_result rlocal;
	struct image im;
	struct oci o;
	struct stat st;
	unsigned i;
	int rc;

	if (stats == NULL)
		stats = &local;
	if (res == NULL)
		res = &rlocal;
	memset(stats, 0, sizeof(*stats));
	memset(res, 0, sizeof(*res));
	memset(&im, 0, sizeof(im));
	memset(&o, 0, sizeof(o));
	if (opts->path == NULL || opts->path[0] == '\0')
		return seterr(err, -EINVAL, "an image file is needed");
	o.opts = opts;
	o.err = err;
	o.dirfd = -1;
	o.stats = stats;
	o.secret = store_secret(store);
	o.start_ns = now_mono_ns();
	if (getrandom(&o.tree.seed, sizeof(o.tree.seed), 0) !=
	    (ssize_t)sizeof(o.tree.seed))
		o.tree.seed = (uint64_t)o.start_ns;
	o.cuts.seed = o.tree.seed;
	buf_init(&o.name, WALK_MAX_PATH);
	o.rbuf = malloc(READ_BLOCK);
	if (o.rbuf == NULL) {
		rc = seterr(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (stat(opts->path, &st) != 0) {
		rc = seterr(err, -errno, "%s: %s", opts->path,
		    strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		o.dirfd = walk_open_root(opts->path);
		if (o.dirfd < 0) {
			rc = seterr(err, o.dirfd, "%s: %s", opts->path,
			    strerror(-o.dirfd));
			goto out;
		}
	} else if (!S_ISREG(st.st_mode)) {
		rc = seterr(err, -EINVAL, "%s: neither a dir nor a file",
		    opts->path);
		goto out;
	}
	rc = read_image(&o, &im);
	for (i = 0; rc == 0 && i < im.nlayers; i++)
		rc = apply_layer(&o, &im, i);
	if (rc == 0)
		tree_apply_cuts(&o.tree, &o.cuts);
	if (rc == 0 && tree_get(&o.tree, (const unsigned char *)"/", 1) ==
	    NULL) {
		/* no layer had a "./": the root an extractor makes */
		struct node *root = tree_put(&o.tree,
		    (const unsigned char *)"/", 1);

		if (root == NULL) {
			rc = seterr(err, -ENOMEM, "out of memory");
			goto out;
		}
		root->rec.type = UW_TYPE_DIR;
		root->rec.mode = 0755;
		root->dead = 0;
	}
	if (rc == 0)
		rc = record(&o, store, &im, res);
	if (rc == 0) {
		snprintf(res->digest, sizeof(res->digest), "%s", im.config);
		snprintf(res->platform, sizeof(res->platform), "%s",
		    im.platform);
		res->layers = im.nlayers;
		progress_tick(&o, 1);
	}
out:
	image_free(&im);
	tree_free(&o.tree);
	tree_free(&o.cuts);
	buf_free(&o.name);
	free(o.rbuf);
	if (o.dirfd >= 0)
		close(o.dirfd);
	return rc < 0 ? rc : 0;
}
