/*
 * drift.c - classifying upper-dir entries against the baseline.
 *
 * inotify (or a scan) only says where to look: the truth is the upper
 * entry as it is now, with its overlay xattrs, read against the baseline
 * row of the path it stands for.  The rules (overlayfs.rst, Linux 6.x):
 *   - a whiteout (char 0/0, an xattr whiteout in an opaque=x dir, or a
 *     ".wh.NAME" file) over a baseline path: deleted;
 *   - an opaque dir over a baseline dir: replaced; what is below it is
 *     compared entry by entry (a new dir marked opaque is just added);
 *   - a dir with overlay.redirect was renamed: its content is the lower
 *     dir it names, so it is added (the old name carries a whiteout) and
 *     what is below it is compared with the old path's rows;
 *   - a metacopy file holds no data: its content is the lower's, so it
 *     is never hashed, only its metadata compared;
 *   - anything else is compared with its row: the hash decides content,
 *     never the mere presence of a copied-up file.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drift.h"
#include "hash.h"
#include "overlay.h"
#include "walk.h"

struct drift {
	struct store *store;
	int64_t image_id;
	/* what the baseline's rows were hashed with: this database's, or
	 * the one an imported baseline brought */
	unsigned char secret[HASH_SECRET_LEN];
	unsigned char *buf;		/* hashing buffer */
	struct store_row row;		/* the entry's baseline row */
	struct store_row src_row;	/* a metacopy file's source row */
	struct buf path;		/* the entry's container path */
	struct buf bpath;		/* its baseline path */
	struct buf redirect;
	struct buf link;
	unsigned dialect;		/* WALK_OV_*: the mount's xattrs */
	/* Why drift_entry failed: the store (our fault) or the callback
	 * (the caller's); anything else the entry caused. */
	int store_failed, cb_failed;
	struct buf error;		/* an error event's reason */
	unsigned char caps[WALK_CAPS_MAX];	/* the current file's */
	int root_fd;			/* the upper root, for hard links */
	nlink_t last_nlink;		/* of the regular file last read */
	struct buf aliases;		/* NUL-terminated paths */
	struct store_row alias_row;
};

void
drift_set_root(struct drift *d, int root_fd)
{
	d->root_fd = root_fd;
}

void
drift_dir_init(struct drift_dir *dir)
{
	memset(dir, 0, sizeof(*dir));
	dir->path_fd = -1;
}

void
drift_set_dialect(struct drift *d, unsigned dialect)
{
	d->dialect = dialect;
}

struct drift *
drift_new(struct store *store, const char *image, struct uw_error *err)
{
	struct drift *d;

	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		seterr(err, -ENOMEM, "out of memory");
		return NULL;
	}
	d->store = store;
	d->root_fd = -1;
	buf_init(&d->aliases, 1u << 20);
	store_row_init(&d->alias_row);
	store_row_init(&d->row);
	store_row_init(&d->src_row);
	buf_init(&d->path, WALK_MAX_PATH);
	buf_init(&d->bpath, WALK_MAX_PATH);
	buf_init(&d->redirect, WALK_REDIRECT_MAX);
	buf_init(&d->link, PATH_MAX);
	buf_init(&d->error, 1024);
	d->buf = malloc(HASH_BUF_LEN);
	if (d->buf == NULL) {
		seterr(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (store_image_id(store, image, &d->image_id, err) < 0 ||
	    store_image_secret(store, d->image_id, d->secret, err) < 0)
		goto fail;
	return d;
fail:
	drift_free(d);
	return NULL;
}

void
drift_free(struct drift *d)
{
	if (d == NULL)
		return;
	store_row_free(&d->row);
	store_row_free(&d->src_row);
	store_row_free(&d->alias_row);
	buf_free(&d->aliases);
	buf_free(&d->path);
	buf_free(&d->bpath);
	buf_free(&d->redirect);
	buf_free(&d->link);
	buf_free(&d->error);
	free(d->buf);
	free(d);
}

void
drift_child_init(struct drift_child *child)
{
	memset(child, 0, sizeof(*child));
	child->fd = -1;
	buf_init(&child->bpath, WALK_MAX_PATH);
	walk_names_init(&child->names);
}

void
drift_child_free(struct drift_child *child)
{
	if (child->fd >= 0)
		close(child->fd);
	child->fd = -1;
	buf_free(&child->bpath);
	walk_names_free(&child->names);
}

void
drift_dir_from_child(struct drift_dir *dir, const struct drift_child *child,
    const unsigned char *path, size_t path_len)
{
	drift_dir_init(dir);
	dir->fd = child->fd;
	dir->xwhiteouts = child->xwhiteouts;
	dir->opaque = child->opaque;
	dir->new_tree = child->new_tree;
	dir->path = path;
	dir->path_len = path_len;
	dir->bpath = child->bpath.data ? child->bpath.data :
	    (const unsigned char *)"";
	dir->bpath_len = child->bpath.len;
}

/* buf = prefix + "/" + name */
static int
join(struct buf *buf, const unsigned char *prefix, size_t prefix_len,
    const char *name, size_t name_len)
{
	int rc;

	buf_reset(buf);
	rc = buf_add(buf, prefix, prefix_len);
	if (rc == 0)
		rc = buf_addc(buf, '/');
	if (rc == 0)
		rc = buf_add(buf, name, name_len);
	return rc;
}

/* Mode, owner and capability differences. */
static unsigned
meta_changes(const struct uw_record *cur, const struct uw_record *base)
{
	unsigned changes = 0;

	if (cur->mode != base->mode)
		changes |= UW_CHG_MODE;
	if (cur->uid != base->uid)
		changes |= UW_CHG_UID;
	if (cur->gid != base->gid)
		changes |= UW_CHG_GID;
	if ((cur->caps == NULL) != (base->caps == NULL) ||
	    (cur->caps != NULL && (cur->caps_len != base->caps_len ||
	    memcmp(cur->caps, base->caps, cur->caps_len) != 0)))
		changes |= UW_CHG_CAPS;
	return changes;
}

/* The store calls, remembering that a failure was the store's. */
static int
get_row(struct drift *d, const unsigned char *path, size_t len,
    struct store_row *row, struct uw_error *err)
{
	int rc = store_get_row(d->store, d->image_id, path, len, row, err);

	if (rc < 0)
		d->store_failed = 1;
	return rc;
}

static int
count_below(struct drift *d, const unsigned char *path, size_t len,
    uint64_t *count, struct uw_error *err)
{
	int rc = store_count_below(d->store, d->image_id, path, len, count,
	    err);

	if (rc < 0)
		d->store_failed = 1;
	return rc;
}

/* Hand an event to the callback, remembering that a failure was its. */
static int
emit(struct drift *d, int (*cb)(const struct uw_event *, void *),
    void *arg, const struct uw_event *ev)
{
	int rc = cb(ev, arg);

	if (rc < 0)
		d->cb_failed = 1;
	return rc;
}

/* Look up `bpath` unless the dir is new: 0 found, 1 absent, <0 error. */
static int
lookup(struct drift *d, const struct drift_dir *dir, struct store_row *row,
    const struct buf *bpath, struct uw_error *err)
{
	if (dir->new_tree)
		return 1;
	return get_row(d, bpath->data, bpath->len, row, err);
}

/* The event for a whiteout at d->path / d->bpath. */
static int
whiteout_event(struct drift *d, const struct drift_dir *dir,
    int (*cb)(const struct uw_event *, void *), void *arg,
    struct uw_error *err)
{
	struct uw_event ev;
	int rc;

	if (dir->opaque || dir->new_tree)
		return 0;	/* nothing below for it to hide */
	rc = lookup(d, dir, &d->row, &d->bpath, err);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	memset(&ev, 0, sizeof(ev));
	ev.op = UW_OP_DELETED;
	ev.path = d->path.data;
	ev.path_len = d->path.len;
	ev.type = d->row.rec.type;
	ev.baseline = &d->row.rec;
	if (ev.type == UW_TYPE_DIR) {
		rc = count_below(d, d->bpath.data,
		    d->bpath.len, &ev.count, err);
		if (rc < 0)
			return rc;
	}
	return emit(d, cb, arg, &ev);
}

/* Resolve an overlay.redirect value against the entry's parent. */
static int
resolve_redirect(struct drift *d, const struct drift_dir *dir,
    const struct walk_xattrs *x)
{
	buf_reset(&d->redirect);
	if (x->redirect_len > 0 && x->redirect[0] == '/')
		return buf_add(&d->redirect, x->redirect, x->redirect_len);
	return join(&d->redirect, dir->bpath, dir->bpath_len, x->redirect,
	    x->redirect_len);
}

/*
 * A directory entry: open it (never through a symlink), read its xattrs
 * and classify it.  Returns 0, DRIFT_GONE when it vanished, DRIFT_SWAPPED
 * when it is not a directory any more (swapped since its lstat), or a
 * negative error.
 */
#define DRIFT_GONE 1
#define DRIFT_SWAPPED 2

static int
dir_entry(struct drift *d, const struct drift_dir *dir, const char *name,
    struct drift_child *child, struct uw_event *ev, struct uw_record *cur,
    struct uw_error *err)
{
	struct walk_xattrs x;
	struct stat st;
	unsigned xattr_chg;
	int fd, rc, opaque;

	fd = walk_open_dir(dir->fd, name);
	if (fd == -ENOENT)
		return DRIFT_GONE;
	if (fd == -ENOTDIR || fd == -ELOOP)
		return DRIFT_SWAPPED;
	if (fd < 0)
		return seterr(err, fd, "cannot open: %s", strerror(-fd));
	child->fd = fd;
	if (fstat(fd, &st) < 0)
		return seterr(err, -errno, "cannot stat: %s", strerror(errno));
	rc = walk_read_xattrs(fd, d->dialect, &x);
	if (rc == 0 && child->want_names)
		rc = walk_list(fd, &child->names);
	if (rc < 0)
		return seterr(err, rc, "cannot read: %s", strerror(-rc));
	opaque = overlay_upper_dir_is_opaque(fd, &x, d->dialect);
	xattr_chg = (x.flags & WALK_X_FOREIGN) ? UW_CHG_XATTR : 0;
	walk_record_from_stat(cur, d->path.data, d->path.len, &st);
	child->xwhiteouts = (x.flags & WALK_X_XWHITEOUTS) != 0;
	child->opaque = opaque;
	buf_reset(&child->bpath);

	if ((x.flags & WALK_X_REDIRECT) && resolve_redirect(d, dir, &x) < 0)
		return seterr(err, -ENAMETOOLONG, "redirect too long");
	if ((x.flags & WALK_X_REDIRECT) && !(d->redirect.len == d->bpath.len &&
	    memcmp(d->redirect.data, d->bpath.data, d->bpath.len) == 0)) {
		/* Renamed: the content is the lower dir it names.  Over a
		 * dir of the image it replaces that dir's content. */
		if (buf_add(&child->bpath, d->redirect.data,
		    d->redirect.len) < 0)
			return seterr(err, -ENAMETOOLONG, "path too long");
		ev->redirect = d->redirect.data;
		ev->redirect_len = d->redirect.len;
		ev->changes = xattr_chg;
		rc = lookup(d, dir, &d->row, &d->bpath, err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			ev->op = UW_OP_REPLACED;
			ev->baseline = &d->row.rec;
			ev->changes |= d->row.rec.type != UW_TYPE_DIR ?
			    UW_CHG_TYPE : UW_CHG_OPAQUE;
			return count_below(d, d->bpath.data, d->bpath.len,
			    &ev->count, err);
		}
		ev->op = UW_OP_ADDED;
		return count_below(d, d->redirect.data, d->redirect.len,
		    &ev->count, err);
	}
	if (buf_add(&child->bpath, d->bpath.data, d->bpath.len) < 0)
		return seterr(err, -ENAMETOOLONG, "path too long");
	rc = lookup(d, dir, &d->row, &d->bpath, err);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		ev->op = UW_OP_ADDED;
		child->new_tree = 1;
		return 0;
	}
	ev->baseline = &d->row.rec;
	if (d->row.rec.type != UW_TYPE_DIR) {
		ev->op = UW_OP_REPLACED;
		ev->changes = UW_CHG_TYPE | xattr_chg;
		child->new_tree = 1;
		return 0;
	}
	ev->changes = (meta_changes(cur, &d->row.rec) & ~UW_CHG_CAPS) |
	    xattr_chg;
	if (opaque) {
		ev->op = UW_OP_REPLACED;
		ev->changes |= UW_CHG_OPAQUE;
		return count_below(d, d->bpath.data, d->bpath.len,
		    &ev->count, err);
	}
	if (ev->changes != 0)
		ev->op = UW_OP_METADATA;
	return 0;
}

/*
 * Read a regular file's current record (hashed unless metacopy).  Returns
 * 0, DRIFT_GONE, DRIFT_SWAPPED when it is not a regular file any more,
 * or a negative error.
 */
static int
file_entry(struct drift *d, const struct drift_dir *dir, const char *name,
    int path_fd, struct uw_event *ev, struct uw_record *cur,
    int *is_whiteout, struct uw_error *err)
{
	struct hash_result h;
	struct walk_xattrs x;
	struct stat st;
	int fd, rc;

	if (path_fd >= 0) {
		/* the caller opened it and took its state: read that one */
		st = *dir->st;
		fd = walk_reopen_file(path_fd, &st);
	} else {
		fd = walk_open_file(dir->fd, name, &st);
	}
	if (fd == -ENOENT)
		return DRIFT_GONE;
	if (fd == -EINVAL)
		return DRIFT_SWAPPED;
	if (fd < 0)
		return seterr(err, fd, "cannot open: %s", strerror(-fd));
	d->last_nlink = st.st_nlink;
	rc = walk_read_xattrs(fd, d->dialect, &x);
	if (rc < 0) {
		rc = seterr(err, rc, "cannot read xattrs: %s", strerror(-rc));
		goto out;
	}
	if (overlay_is_xattr_whiteout(&st, &x, dir->xwhiteouts)) {
		*is_whiteout = 1;
		goto out;
	}
	if (x.flags & WALK_X_METACOPY) {
		/* A data-less copy-up: reading it gives zeros, never its
		 * content, which is the lower file's (at the redirect
		 * target if it was renamed or linked). */
		ev->metacopy = 1;
		walk_record_from_stat(cur, d->path.data, d->path.len, &st);
		if ((x.flags & WALK_X_REDIRECT) &&
		    resolve_redirect(d, dir, &x) == 0) {
			ev->redirect = d->redirect.data;
			ev->redirect_len = d->redirect.len;
		}
	} else {
		rc = hash_fd(fd, d->secret, d->buf, &st, 0, &h);
		if (rc < 0) {
			rc = seterr(err, rc, "cannot read: %s",
			    strerror(-rc));
			goto out;
		}
		walk_record_from_stat(cur, d->path.data, d->path.len, &h.st);
		memcpy(cur->hash, h.digest, UW_HASH_LEN);
		cur->flags |= UW_REC_HASHED;
		if (h.unstable)
			cur->flags |= UW_REC_UNSTABLE;
	}
	if (x.flags & WALK_X_CAPS) {
		/* kept in d: `x` goes out of scope before cur is used */
		memcpy(d->caps, x.caps, x.caps_len);
		cur->caps = d->caps;
		cur->caps_len = x.caps_len;
	}
	if (x.flags & WALK_X_FOREIGN)
		ev->changes |= UW_CHG_XATTR;
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Compare a file's content with its baseline row; sets ev->changes. */
static int
file_content(struct drift *d, struct uw_event *ev, struct uw_record *cur,
    const struct uw_record *base, struct uw_error *err)
{
	const struct uw_record *src = base;
	int rc;

	if (ev->metacopy) {
		if (ev->redirect != NULL) {
			rc = get_row(d, ev->redirect, ev->redirect_len,
			    &d->src_row, err);
			if (rc < 0)
				return rc;
			src = rc == 0 ? &d->src_row.rec : NULL;
		}
		if (src != NULL && (src->flags & UW_REC_HASHED)) {
			memcpy(cur->hash, src->hash, UW_HASH_LEN);
			cur->flags |= UW_REC_HASHED;
		}
	}
	if (cur->size != base->size)
		ev->changes |= UW_CHG_SIZE;
	if (!(cur->flags & UW_REC_HASHED) || !(base->flags & UW_REC_HASHED) ||
	    memcmp(cur->hash, base->hash, UW_HASH_LEN) != 0 ||
	    (cur->flags & UW_REC_UNSTABLE))
		ev->changes |= UW_CHG_HASH;
	return 0;
}

static int
collect_alias(const unsigned char *path, size_t len, void *arg)
{
	struct buf *b = arg;

	if (buf_add(b, path, len) < 0 || buf_addc(b, '\0') < 0)
		return -ENOMEM;
	return 0;
}

/*
 * A file hard-linked in the image, changed through an index=on mount:
 * the upper holds one name (linked into the index dir, hence nlink > 1),
 * yet every name shows the change.  Report the same at the names the
 * upper does not hold.
 */
static int
alias_events(struct drift *d, const struct uw_event *ev,
    const struct uw_record *cur, int (*cb)(const struct uw_event *, void *),
    void *arg, struct uw_error *err)
{
	struct uw_event alias;
	struct uw_record rec;
	const char *p, *end;
	int rc;

	if (d->root_fd < 0)
		return 0;
	buf_reset(&d->aliases);
	rc = store_link_group(d->store, d->image_id, d->row.rec.link_group,
	    d->bpath.data, d->bpath.len, collect_alias, &d->aliases, err);
	if (rc < 0) {
		d->store_failed = rc != -ENOMEM;
		return rc;
	}
	p = (const char *)d->aliases.data;
	end = p + d->aliases.len;
	for (; p != NULL && p < end; p += strlen(p) + 1) {
		if (walk_exists_beneath(d->root_fd, p) != 0)
			continue;	/* classified on its own (or unsure) */
		rc = get_row(d, (const unsigned char *)p, strlen(p),
		    &d->alias_row, err);
		if (rc != 0) {
			if (rc < 0)
				return rc;
			continue;
		}
		alias = *ev;
		rec = *cur;
		rec.path = (const unsigned char *)p;
		rec.path_len = strlen(p);
		alias.path = rec.path;
		alias.path_len = rec.path_len;
		alias.current = &rec;
		alias.baseline = &d->alias_row.rec;
		rc = emit(d, cb, arg, &alias);
		if (rc != 0)
			return rc;
	}
	return 0;
}

#define SWAP_TRIES 3

/* Fill d->path and d->bpath for `name` in `dir`. */
static int
set_paths(struct drift *d, const struct drift_dir *dir, const char *name,
    size_t name_len, struct uw_error *err)
{
	if (join(&d->path, dir->path, dir->path_len, name, name_len) < 0 ||
	    join(&d->bpath, dir->bpath, dir->bpath_len, name, name_len) < 0)
		return seterr(err, -ENAMETOOLONG, "path too long under %.*s",
		    (int)(dir->path_len > 200 ? 200 : dir->path_len),
		    (const char *)dir->path);
	return 0;
}

/*
 * set_paths, or when the entry's paths are too long to build, its dir's
 * own paths with *name set to NULL: an entry too long to name is
 * reported at its dir.  0, or -ENOMEM when not even those fit.
 */
static int
set_paths_or_dir(struct drift *d, const struct drift_dir *dir,
    const char **name, size_t name_len, struct uw_error *err)
{
	if (set_paths(d, dir, *name, name_len, err) == 0)
		return 0;
	buf_reset(&d->path);
	buf_reset(&d->bpath);
	if (buf_add(&d->path, dir->path, dir->path_len) < 0 ||
	    buf_add(&d->bpath, dir->bpath, dir->bpath_len) < 0)
		return seterr(err, -ENOMEM, "out of memory");
	*name = NULL;
	return 0;
}

/* What read_entry found. */
enum entry_state {
	ENTRY_GONE = 1,		/* vanished since it was listed */
	ENTRY_WHITEOUT,		/* a whiteout: the path is deleted */
	ENTRY_DIR,		/* a dir, classified: the event is made */
	ENTRY_OTHER		/* read: to compare with its row */
};

/* *cur for a non-regular entry from its lstat `st` (and a symlink's
 * target).  ENTRY_OTHER, ENTRY_GONE, or a negative error. */
static int
read_special(struct drift *d, const struct drift_dir *dir, const char *name,
    const struct stat *st, struct uw_record *cur, struct uw_error *err)
{
	int rc;

	walk_record_from_stat(cur, d->path.data, d->path.len, st);
	if (!S_ISLNK(st->st_mode))
		return ENTRY_OTHER;
	rc = walk_readlink(dir->fd, name, &d->link);
	if (rc == -ENOENT)
		return ENTRY_GONE;
	if (rc < 0)
		return seterr(err, rc, "cannot read link: %s", strerror(-rc));
	cur->link = d->link.data ? d->link.data : (const unsigned char *)"";
	cur->link_len = d->link.len;
	return ENTRY_OTHER;
}

/*
 * Read the entry `name` of `dir` (its paths already in d->path and
 * d->bpath) as it is now into *cur and *ev (whose current is set to
 * cur).  A dir is classified whole here by dir_entry, `child` filled
 * and *ev its event (op 0 when there is none).  Returns an enum
 * entry_state, or a negative error.
 */
static int
read_entry(struct drift *d, const struct drift_dir *dir, const char *name,
    struct drift_child *child, struct uw_event *ev, struct uw_record *cur,
    struct uw_error *err)
{
	struct stat st;
	int rc, tries, is_whiteout = 0;

	memset(ev, 0, sizeof(*ev));
	/* The container may swap the entry for another type between our
	 * lstat and open: look again, a few times, then say so. */
	for (tries = 0;; tries++) {
		if (tries == SWAP_TRIES)
			return seterr(err, -EAGAIN, "kept changing type while "
			    "read (%d tries)", SWAP_TRIES);
		if (tries == 0 && dir->st != NULL) {
			st = *dir->st;
			rc = 0;
		} else {
			rc = walk_stat(dir->fd, name, &st);
		}
		if (rc == -ENOENT)
			return ENTRY_GONE;
		if (rc < 0)
			return seterr(err, rc, "cannot stat: %s",
			    strerror(-rc));
		if (overlay_is_chardev_whiteout(&st))
			return ENTRY_WHITEOUT;
		memset(ev, 0, sizeof(*ev));
		ev->current = cur;
		if (S_ISDIR(st.st_mode)) {
			rc = dir_entry(d, dir, name, child, ev, cur, err);
			if (rc == DRIFT_SWAPPED)
				continue;
			if (rc == DRIFT_GONE)
				return ENTRY_GONE;
			return rc < 0 ? rc : ENTRY_DIR;
		}
		if (!S_ISREG(st.st_mode))
			return read_special(d, dir, name, &st, cur, err);
		rc = file_entry(d, dir, name, tries == 0 && dir->st != NULL ?
		    dir->path_fd : -1, ev, cur, &is_whiteout, err);
		if (rc == DRIFT_GONE)
			return ENTRY_GONE;
		if (rc != DRIFT_SWAPPED)
			break;
	}
	if (rc < 0)
		return rc;
	return is_whiteout ? ENTRY_WHITEOUT : ENTRY_OTHER;
}

/* An entry not in the baseline: added.  A renamed or linked data-less
 * copy takes the content (hash) of the image file it points at. */
static int
added_event(struct drift *d, struct uw_event *ev, struct uw_record *cur,
    int (*cb)(const struct uw_event *, void *), void *arg,
    struct uw_error *err)
{
	int rc;

	ev->op = UW_OP_ADDED;
	if (ev->metacopy && ev->redirect != NULL) {
		rc = get_row(d, ev->redirect, ev->redirect_len, &d->src_row,
		    err);
		if (rc < 0)
			return rc;
		if (rc == 0 && (d->src_row.rec.flags & UW_REC_HASHED)) {
			memcpy(cur->hash, d->src_row.rec.hash, UW_HASH_LEN);
			cur->flags |= UW_REC_HASHED;
		}
	}
	return emit(d, cb, arg, ev);
}

/*
 * Compare the non-dir entry read into *cur (and *ev) with the baseline
 * row of d->bpath, and report what differs: added, replaced (another
 * type), modified or metadata; nothing when it equals the image.
 * Returns as drift_entry.
 */
static int
compare_entry(struct drift *d, const struct drift_dir *dir,
    struct uw_event *ev, struct uw_record *cur,
    int (*cb)(const struct uw_event *, void *), void *arg,
    struct uw_error *err)
{
	const struct uw_record *base = &d->row.rec;
	int rc;

	ev->path = d->path.data;
	ev->path_len = d->path.len;
	ev->type = cur->type;
	rc = lookup(d, dir, &d->row, &d->bpath, err);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return added_event(d, ev, cur, cb, arg, err);
	ev->baseline = base;
	if (base->type != cur->type) {
		ev->op = UW_OP_REPLACED;
		ev->changes = UW_CHG_TYPE;
		if (base->type == UW_TYPE_DIR) {
			/* What was below the dir went with it. */
			rc = count_below(d, d->bpath.data, d->bpath.len,
			    &ev->count, err);
			if (rc < 0)
				return rc;
		}
		return emit(d, cb, arg, ev);
	}
	ev->changes |= meta_changes(cur, base);
	if (cur->type == UW_TYPE_FILE) {
		rc = file_content(d, ev, cur, base, err);
		if (rc < 0)
			return rc;
	} else if (cur->type == UW_TYPE_SYMLINK) {
		ev->changes &= ~(unsigned)UW_CHG_MODE;	/* always 0777 */
		if (base->link == NULL || cur->link_len != base->link_len ||
		    memcmp(cur->link, base->link, cur->link_len) != 0)
			ev->changes |= UW_CHG_LINK;
	}
	if (ev->changes & (UW_CHG_SIZE | UW_CHG_HASH | UW_CHG_LINK))
		ev->op = UW_OP_MODIFIED;
	else if (ev->changes != 0)
		ev->op = UW_OP_METADATA;
	else
		return 0;	/* copied up, but the same as the image */
	rc = emit(d, cb, arg, ev);
	if (rc == 0 && cur->type == UW_TYPE_FILE && base->link_group != 0 &&
	    d->last_nlink > 1)
		rc = alias_events(d, ev, cur, cb, arg, err);
	return rc;
}

/* drift_entry, but failing on anything that goes wrong. */
static int
classify(struct drift *d, const struct drift_dir *dir, const char *name,
    size_t name_len, struct drift_child *child,
    int (*cb)(const struct uw_event *ev, void *arg), void *arg,
    struct uw_error *err)
{
	struct uw_event ev;
	struct uw_record cur;
	const char *target;
	size_t target_len;
	enum overlay_wh_kind wh;
	int rc;

	if (child->fd >= 0)
		close(child->fd);
	child->fd = -1;
	child->names.count = 0;
	/* In a kernel overlay upper ".wh." names are ordinary files (a
	 * container may create them to hide others); only fuse-overlayfs
	 * writes them as whiteouts. */
	wh = (d->dialect & WALK_OV_FUSE) ? overlay_wh_name(name, name_len,
	    &target, &target_len) : OVERLAY_WH_NONE;
	if (wh == OVERLAY_WH_OPQ || wh == OVERLAY_WH_META)
		return 0;	/* OCI markers are not entries */
	if (wh == OVERLAY_WH_ENTRY) {
		rc = set_paths(d, dir, target, target_len, err);
		return rc < 0 ? rc : whiteout_event(d, dir, cb, arg, err);
	}
	rc = set_paths(d, dir, name, name_len, err);
	if (rc < 0)
		return rc;
	rc = read_entry(d, dir, name, child, &ev, &cur, err);
	switch (rc) {
	case ENTRY_GONE:
		return 0;
	case ENTRY_WHITEOUT:
		return whiteout_event(d, dir, cb, arg, err);
	case ENTRY_DIR:
		if (ev.op == 0)
			return 0;
		ev.path = d->path.data;
		ev.path_len = d->path.len;
		ev.type = UW_TYPE_DIR;
		return emit(d, cb, arg, &ev);
	case ENTRY_OTHER:
		return compare_entry(d, dir, &ev, &cur, cb, arg, err);
	default:
		return rc;	/* an error */
	}
}


/*
 * An error event: the entry at d->path could not be classified, for
 * `reason`.  Its current record is its lstat when one can be taken, its
 * baseline row when the path has one.
 */
static int
error_event(struct drift *d, const struct drift_dir *dir, const char *name,
    const char *reason, int (*cb)(const struct uw_event *, void *),
    void *arg, struct uw_error *err)
{
	struct uw_event ev;
	struct uw_record cur;
	struct stat st;
	int rc;

	buf_reset(&d->error);
	if (buf_add(&d->error, reason, strlen(reason)) < 0)
		return seterr(err, -ENOMEM, "out of memory");
	memset(&ev, 0, sizeof(ev));
	ev.op = UW_OP_ERROR;
	ev.path = d->path.data;
	ev.path_len = d->path.len;
	ev.type = UW_TYPE_FILE;
	ev.error = (const char *)d->error.data;
	if (name != NULL && walk_stat(dir->fd, name, &st) == 0 &&
	    walk_type_of(st.st_mode) != 0) {
		walk_record_from_stat(&cur, d->path.data, d->path.len, &st);
		ev.current = &cur;
		ev.type = cur.type;
	}
	rc = lookup(d, dir, &d->row, &d->bpath, err);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		ev.baseline = &d->row.rec;
		if (ev.current == NULL)
			ev.type = d->row.rec.type;
	}
	return emit(d, cb, arg, &ev);
}

int
drift_entry(struct drift *d, const struct drift_dir *dir, const char *name,
    size_t name_len, struct drift_child *child,
    int (*cb)(const struct uw_event *ev, void *arg), void *arg,
    struct uw_error *err)
{
	char reason[UW_ERRLEN];
	int rc;

	d->store_failed = d->cb_failed = 0;
	rc = classify(d, dir, name, name_len, child, cb, arg, err);
	if (rc >= 0 || d->store_failed || d->cb_failed || rc == -ENOMEM)
		return rc;
	/* The entry caused it (the container wrote it): report the entry,
	 * never skip it, never fail for it. */
	if (child->fd >= 0)
		close(child->fd);
	child->fd = -1;
	child->names.count = 0;
	snprintf(reason, sizeof(reason), "%s", err->msg);
	if (set_paths_or_dir(d, dir, &name, name_len, err) < 0)
		return -ENOMEM;
	return error_event(d, dir, name, reason, cb, arg, err);
}

int
drift_error_entry(struct drift *d, const struct drift_dir *dir,
    const char *name, size_t name_len, const char *reason,
    int (*cb)(const struct uw_event *ev, void *arg), void *arg,
    struct uw_error *err)
{
	int rc;

	d->store_failed = d->cb_failed = 0;
	rc = set_paths_or_dir(d, dir, &name, name_len, err);
	if (rc < 0)
		return rc;
	return error_event(d, dir, name, reason, cb, arg, err);
}
