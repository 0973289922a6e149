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
 *
 * This part holds the tree and records it; oci_image.c reads the image
 * file and its descriptors, oci_layer.c applies one layer to the tree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "oci_int.h"
#include "pkgdb.h"
#include "store.h"

/* ---- the tree ---- */

static uint64_t
path_hash(const struct tree *t, const unsigned char *p, size_t len)
{
	return XXH3_64bits_withSeed(p, len, t->seed);
}

struct node *
oci_tree_get(const struct tree *t, const unsigned char *p, size_t len)
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
struct node *
oci_tree_put(struct tree *t, const unsigned char *p, size_t len)
{
	struct node *n = oci_tree_get(t, p, len), **v;
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
		free(t->v[i]->db_data);
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
int
oci_tree_cut_below(struct tree *cuts, const unsigned char *p, size_t len,
    unsigned layer)
{
	struct node *c = oci_tree_put(cuts, p, len);

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
			c = oci_tree_get(cuts, n->path, p == 0 ? 1 : p);
			if (c != NULL && !c->dead && c->layer > n->layer)
				n->dead = 1;
		}
	}
}

/* ---- recording ---- */

/* pkgdb_read_fn over the applied tree: the database files kept. */
static int
read_db(void *arg, const char *path, struct buf *out)
{
	struct oci *o = arg;
	const struct node *n = oci_tree_get(&o->tree,
	    (const unsigned char *)path, strlen(path));

	if (n == NULL || n->dead || n->rec.type != UW_TYPE_FILE)
		return 1;
	if (n->db_big)
		return -EFBIG;
	if (n->db_data == NULL)	/* not kept: a hard link, or no file
				 * pkgdb reads (an rpm database, probed) */
		return n->rec.size > out->cap ? -EFBIG : 1;
	buf_reset(out);
	return buf_add(out, n->db_data, n->db_len) < 0 ? -EFBIG : 0;
}

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
    const struct pkgdb *db, struct uw_oci_result *res)
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
	if (rc == 0)
		rc = store_packages_put(store, image_id, db, o->err);
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
	struct pkgdb db;
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
	pkgdb_init(&db);
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
	rc = oci_read_image(&o, &im);
	for (i = 0; rc == 0 && i < im.nlayers; i++)
		rc = oci_apply_layer(&o, &im, i);
	if (rc == 0)
		tree_apply_cuts(&o.tree, &o.cuts);
	if (rc == 0 && oci_tree_get(&o.tree, (const unsigned char *)"/", 1) ==
	    NULL) {
		/* no layer had a "./": the root an extractor makes */
		struct node *root = oci_tree_put(&o.tree,
		    (const unsigned char *)"/", 1);

		if (root == NULL) {
			rc = seterr(err, -ENOMEM, "out of memory");
			goto out;
		}
		root->rec.type = UW_TYPE_DIR;
		root->rec.mode = 0755;
		root->dead = 0;
	}
	/* the package database, read while the tree is still a map (record
	 * sorts it) */
	if (rc == 0 && pkgdb_read(&db, NULL, read_db, &o) < 0)
		rc = seterr(err, -ENOMEM, "out of memory");
	if (rc == 0)
		rc = record(&o, store, &im, &db, res);
	if (rc == 0) {
		snprintf(res->digest, sizeof(res->digest), "%s", im.config);
		snprintf(res->platform, sizeof(res->platform), "%s",
		    im.platform);
		res->layers = im.nlayers;
		oci_progress_tick(&o, 1);
	}
out:
	pkgdb_free(&db);
	oci_image_free(&im);
	tree_free(&o.tree);
	tree_free(&o.cuts);
	buf_free(&o.name);
	free(o.rbuf);
	if (o.dirfd >= 0)
		close(o.dirfd);
	return rc < 0 ? rc : 0;
}
