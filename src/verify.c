/*
 * verify.c - the node's own copy of an image checked against its
 * baseline.
 *
 * An attacker with access to the host can edit a file of an image layer
 * the runtime extracted: every container of that image changes at once,
 * and no upper dir shows it.  Verifying reads the node's lower layers of
 * the image again, as `baseline` would (hashed with the secret the stored
 * baseline was hashed with, into a scratch baseline of the same database,
 * removed after), and reports each row that differs from the stored
 * baseline as a drift event of the lower layers (uw_event.lower): added,
 * deleted, modified or metadata.  Mtimes are not compared (as for drift),
 * nor "/" (its metadata is the top layer dir's own, not the image's).
 *
 * Which layers: a container's lower dirs; or, for an image, the layer
 * dirs its baseline was built from, or, for a baseline from an image file
 * (its layers are diff_ids), the layers with those diff_ids in the
 * store of Podman, Docker or containerd (layers.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "baseline.h"
#include "hash.h"
#include "layers.h"
#include "store.h"
#include "util.h"
#include "verify.h"


/* ---- the rows ---- */

struct row {
	struct uw_record rec;	/* its pointers into its own copies */
	unsigned char *path, *link, *caps;
};

struct rows {
	struct row *v;
	size_t count, cap;
};

static unsigned char *
dup_bytes(const unsigned char *b, size_t n)
{
	unsigned char *p = malloc(n + 1);

	if (p != NULL) {
		if (n > 0)
			memcpy(p, b, n);
		p[n] = '\0';
	}
	return p;
}

static int
collect(const struct uw_record *rec, void *arg)
{
	struct rows *rs = arg;
	struct row *r, *v;

	if (rs->count == rs->cap) {
		v = realloc(rs->v, (rs->cap ? rs->cap * 2 : 1024) * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		rs->v = v;
		rs->cap = rs->cap ? rs->cap * 2 : 1024;
	}
	r = &rs->v[rs->count];
	memset(r, 0, sizeof(*r));
	r->rec = *rec;
	r->path = dup_bytes(rec->path, rec->path_len);
	r->link = rec->link ? dup_bytes(rec->link, rec->link_len) : NULL;
	r->caps = rec->caps ? dup_bytes(rec->caps, rec->caps_len) : NULL;
	if (r->path == NULL || (rec->link && r->link == NULL) ||
	    (rec->caps && r->caps == NULL)) {
		free(r->path);
		free(r->link);
		free(r->caps);
		return -ENOMEM;
	}
	r->rec.path = r->path;
	r->rec.link = r->link;
	r->rec.caps = r->caps;
	rs->count++;
	return 0;
}

static void
rows_free(struct rows *rs)
{
	size_t i;

	for (i = 0; i < rs->count; i++) {
		free(rs->v[i].path);
		free(rs->v[i].link);
		free(rs->v[i].caps);
	}
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

static int
cmp_path(const struct uw_record *a, const struct uw_record *b)
{
	size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
	int c = memcmp(a->path, b->path, n);

	return c != 0 ? c : a->path_len < b->path_len ? -1 :
	    a->path_len > b->path_len;
}

/* What differs between the node's row `cur` and the baseline's `base`,
 * as drift compares them: UW_CHG_* bits. */
static unsigned
changes_of(const struct uw_record *cur, const struct uw_record *base)
{
	unsigned c = 0;

	if (cur->type != base->type)
		return UW_CHG_TYPE;
	if (cur->mode != base->mode)
		c |= UW_CHG_MODE;
	if (cur->uid != base->uid)
		c |= UW_CHG_UID;
	if (cur->gid != base->gid)
		c |= UW_CHG_GID;
	if (cur->caps_len != base->caps_len || (cur->caps_len > 0 &&
	    memcmp(cur->caps, base->caps, cur->caps_len) != 0))
		c |= UW_CHG_CAPS;
	if (cur->type == UW_TYPE_FILE) {
		if (cur->size != base->size)
			c |= UW_CHG_SIZE;
		if (!(cur->flags & UW_REC_HASHED) ||
		    !(base->flags & UW_REC_HASHED) ||
		    memcmp(cur->hash, base->hash, UW_HASH_LEN) != 0)
			c |= UW_CHG_HASH;
	}
	if (cur->type == UW_TYPE_SYMLINK && (cur->link_len != base->link_len ||
	    (cur->link_len > 0 && memcmp(cur->link, base->link,
	    cur->link_len) != 0)))
		c |= UW_CHG_LINK;
	return c;
}

static int
emit(const struct uw_record *cur, const struct uw_record *base,
    unsigned changes, int (*cb)(const struct uw_event *, void *), void *arg,
    uint64_t *count)
{
	const struct uw_record *r = cur != NULL ? cur : base;
	struct uw_event ev;

	if (r->path_len == 1 && r->path[0] == '/')
		return 0;	/* the top layer dir's own */
	memset(&ev, 0, sizeof(ev));
	ev.path = r->path;
	ev.path_len = r->path_len;
	ev.type = r->type;
	ev.current = cur;
	ev.baseline = base;
	ev.changes = changes;
	ev.lower = 1;
	if (cur == NULL)
		ev.op = UW_OP_DELETED;
	else if (base == NULL)
		ev.op = UW_OP_ADDED;
	else if (changes & (UW_CHG_TYPE | UW_CHG_SIZE | UW_CHG_HASH |
	    UW_CHG_LINK))
		ev.op = (changes & UW_CHG_TYPE) ? UW_OP_REPLACED :
		    UW_OP_MODIFIED;
	else
		ev.op = UW_OP_METADATA;
	(*count)++;
	return cb != NULL ? cb(&ev, arg) : 0;
}

/* Walk both row sets in path order. */
static int
compare(const struct rows *node, const struct rows *base,
    int (*cb)(const struct uw_event *, void *), void *arg, uint64_t *count)
{
	size_t i = 0, j = 0;
	unsigned ch;
	int c, rc = 0;

	while (rc == 0 && (i < node->count || j < base->count)) {
		if (i == node->count)
			c = 1;
		else if (j == base->count)
			c = -1;
		else
			c = cmp_path(&node->v[i].rec, &base->v[j].rec);
		if (c < 0) {
			rc = emit(&node->v[i++].rec, NULL, 0, cb, arg, count);
		} else if (c > 0) {
			rc = emit(NULL, &base->v[j++].rec, 0, cb, arg, count);
		} else {
			ch = changes_of(&node->v[i].rec, &base->v[j].rec);
			if (ch != 0)
				rc = emit(&node->v[i].rec, &base->v[j].rec, ch,
				    cb, arg, count);
			i++;
			j++;
		}
	}
	return rc;
}

/* ---- which layers ---- */

struct found {
	char *image;
	char **layers;
	size_t count;
	int digests;
	struct uw_error *err;
};

static int
found_image(const struct uw_image_info *info, const unsigned char *secret,
    void *arg)
{
	struct found *f = arg;
	size_t i;

	(void)secret;
	f->image = strdup(info->image);
	f->layers = calloc(info->layer_count + 1, sizeof(char *));
	if (f->image == NULL || f->layers == NULL)
		return seterr(f->err, -ENOMEM, "out of memory");
	for (i = 0; i < info->layer_count; i++) {
		if (strncmp(info->layers[i], "sha256:", 7) == 0)
			f->digests = 1;
		if ((f->layers[i] = strdup(info->layers[i])) == NULL)
			return seterr(f->err, -ENOMEM, "out of memory");
		f->count = i + 1;	/* freed up to here on any failure */
	}
	return 0;
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- verifying ---- */

struct stale {
	char **names;
	size_t n;
};

/* A scratch baseline ("verify:<pid>:<ns>") whose process is gone. */
static int
note_stale(const struct uw_image_info *info, void *arg)
{
	struct stale *st = arg;
	char **v;
	long pid;
	char *end;

	if (strncmp(info->image, "verify:", 7) != 0)
		return 0;
	pid = strtol(info->image + 7, &end, 10);
	if (*end != ':' || pid <= 0 || pid > INT32_MAX ||
	    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;
	v = realloc(st->names, (st->n + 1) * sizeof(*v));
	if (v == NULL)
		return 0;
	st->names = v;
	if ((v[st->n] = strdup(info->image)) != NULL)
		st->n++;
	return 0;
}

/* Remove what a verify killed half-way left behind. */
static void
remove_stale(struct store *store)
{
	struct stale st = { NULL, 0 };
	struct uw_error ignored;
	size_t i;

	if (store_images_foreach(store, note_stale, &st, &ignored) == 0)
		for (i = 0; i < st.n; i++)
			(void)!store_image_remove(store, st.names[i],
			    &ignored);
	for (i = 0; i < st.n; i++)
		free(st.names[i]);
	free(st.names);
}

static int
load(struct store *store, const char *image, struct rows *rs,
    struct uw_error *err)
{
	int rc = store_foreach(store, image, collect, rs, err);

	if (rc == -ENOMEM)
		seterr(err, rc, "out of memory");
	return rc;
}

int
verify_image(struct store *store, const struct uw_verify_opts *opts,
    int (*cb)(const struct uw_event *ev, void *arg), void *arg,
    uint64_t *count, struct uw_error *err)
{
	struct uw_baseline_opts bopts;
	struct uw_baseline_stats stats;
	unsigned char secret[HASH_SECRET_LEN];
	struct found f;
	struct rows node = { 0 }, base = { 0 };
	struct uw_error ignored;
	char scratch[64], **dirs = NULL;
	size_t i, ndirs = 0;
	int64_t id;
	const char *store_name = NULL;
	int rc;

	*count = 0;
	remove_stale(store);
	memset(&f, 0, sizeof(f));
	f.err = err;
	rc = store_image_get(store, opts->image, found_image, &f, err);
	if (rc == 0)
		rc = store_image_id(store, f.image, &id, err);
	if (rc == 0)
		rc = store_image_secret(store, id, secret, err);
	if (rc < 0)
		goto out;
	if (opts->layer_count > 0) {
		ndirs = 0;
	} else if (f.digests) {
		/* stored bottom-first? a stack is top first: reverse */
		const char **ids = calloc(f.count, sizeof(*ids));

		dirs = calloc(f.count, sizeof(*dirs));
		if (ids == NULL || dirs == NULL) {
			free(ids);
			rc = seterr(err, -ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < f.count; i++)
			ids[i] = f.layers[f.count - 1 - i];
		rc = node_layers(opts->host_root ? opts->host_root : "", ids,
		    f.count, dirs, &store_name, err);
		free(ids);
		ndirs = f.count;
		if (rc < 0)
			goto out;
	} else {
		dirs = f.layers;
		ndirs = f.count;
		f.layers = NULL;
	}
	memset(&bopts, 0, sizeof(bopts));
	bopts.layers = opts->layer_count > 0 ? opts->layers :
	    (const char *const *)dirs;
	bopts.layer_count = opts->layer_count > 0 ? opts->layer_count : ndirs;
	bopts.overlay_flags = opts->overlay_flags;
	bopts.allow_incomplete = 1;
	bopts.jobs = opts->jobs;
	snprintf(scratch, sizeof(scratch), "verify:%d:%lld", (int)getpid(),
	    (long long)now_real_ns());
	bopts.image = scratch;
	rc = baseline_build_keyed(store, &bopts, secret, &stats, err);
	if (rc == 0) {
		/* both in memory, the scratch removed, before any event: a
		 * caller's journal may open a transaction for each */
		rc = load(store, scratch, &node, err);
		if (rc == 0)
			rc = load(store, f.image, &base, err);
		if (store_image_remove(store, scratch, &ignored) < 0 && rc == 0)
			rc = seterr(err, -EIO, "removing the scratch baseline "
			    "%s: %s", scratch, ignored.msg);
		/* nothing is concluded from half of the layers */
		if (rc == 0 && stats.incomplete[0] != '\0')
			rc = seterr(err, -EIO, "the node's layers could not be "
			    "read whole: %s", stats.incomplete);
		if (rc == 0)
			rc = compare(&node, &base, cb, arg, count);
	}
out:
	rows_free(&node);
	rows_free(&base);
	free_list(f.layers, f.count);
	free_list(dirs, ndirs);
	free(f.image);
	return rc;
}
