/*
 * package.c - a container's package view (see package.h).
 *
 * The image's database is the baseline's, read once.  A package manager
 * that runs in the container writes the database's files (status, the
 * new packages' info files) into the upper dir; the container's database
 * is then those files read over the image's: a package whose file lists
 * the upper dir lacks keeps the image's, at the same version.  What the
 * upper holds is the container's own writing, hence hostile: the reads
 * are bounded (pkgdb.h) and a database that cannot be believed makes
 * every check "unknown".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "package.h"
#include "walk.h"

/* The upper's database files whose change means a new read. */
static const char *const db_files[] = {
	"/var/lib/dpkg/status", "/var/lib/dpkg/info", "/lib/apk/db/installed",
};

void
pkgview_init(struct pkgview *v)
{
	memset(v, 0, sizeof(*v));
	pkgdb_init(&v->base);
	pkgdb_init(&v->cur);
}

void
pkgview_recent_add(struct pkgview *v, const unsigned char *path, size_t len,
    enum uw_package_check check, int64_t now)
{
	struct pkg_recent *r = &v->recent[v->recent_next++ % PKG_RECENT];

	free(r->path);
	r->path = malloc(len ? len : 1);
	if (r->path == NULL)
		return;		/* only a second look lost */
	memcpy(r->path, path, len);
	r->len = len;
	r->check = check;
	r->ns = now;
}

void
pkgview_recent_clear(struct pkgview *v)
{
	size_t i;

	for (i = 0; i < PKG_RECENT; i++) {
		free(v->recent[i].path);
		v->recent[i].path = NULL;
	}
}

int
pkgview_held_add(struct pkgview *v, const struct uw_event *ev, int64_t *slot)
{
	struct pkg_held *h;

	if (*slot > 0 && (size_t)*slot <= v->nheld)
		h = &v->held[*slot - 1];	/* the same path again */
	else if (v->nheld == PKG_HELD_MAX)
		return 0;
	else {
		if (v->held == NULL &&
		    (v->held = calloc(PKG_HELD_MAX, sizeof(*v->held))) == NULL)
			return -ENOMEM;
		h = &v->held[v->nheld];
		h->path = malloc(ev->path_len ? ev->path_len : 1);
		if (h->path == NULL)
			return -ENOMEM;
		memcpy(h->path, ev->path, ev->path_len);
		h->len = ev->path_len;
		*slot = (int64_t)++v->nheld;
	}
	h->rec = *ev->current;
	h->rec.path = h->path;
	h->rec.path_len = h->len;
	h->rec.link = NULL;
	h->rec.link_len = 0;
	if (h->rec.caps != NULL && h->rec.caps_len <= sizeof(h->caps)) {
		memcpy(h->caps, h->rec.caps, h->rec.caps_len);
		h->rec.caps = h->caps;
	} else {
		h->rec.caps = NULL;
		h->rec.caps_len = 0;
	}
	return 1;
}

void
pkgview_held_clear(struct pkgview *v)
{
	size_t i;

	for (i = 0; i < v->nheld; i++)
		free(v->held[i].path);
	free(v->held);
	v->held = NULL;
	v->nheld = 0;
}

void
pkgview_free(struct pkgview *v)
{
	pkgview_held_clear(v);
	pkgview_recent_clear(v);
	free(v->base_idx);
	pkgdb_free(&v->base);
	pkgdb_free(&v->cur);
	pathset_free(&v->deferred);
	memset(v, 0, sizeof(*v));
}

/* The state of the upper's database files, as text: "" when it has
 * none. */
static void
upper_sig(int upper_fd, char *out, size_t size)
{
	struct stat st;
	size_t i, n = 0;
	int rc;

	out[0] = '\0';
	for (i = 0; i < sizeof(db_files) / sizeof(*db_files); i++) {
		rc = walk_stat_beneath(upper_fd, db_files[i], &st);
		if (rc <= 0 || n >= size)
			continue;
		n += (size_t)snprintf(out + n, size - n, "%zu:%llu:%lld:%lld."
		    "%ld:%lld.%ld;", i, (unsigned long long)st.st_ino,
		    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
		    st.st_ctim.tv_nsec);
	}
}

/* Read the container's database over the image's, if its upper holds
 * one.  -ENOMEM only. */
static int
read_cur(struct pkgview *v, int upper_fd)
{
	struct pkgdb_dirs dirs;
	struct pkgdb db;
	int rc;

	upper_sig(upper_fd, v->sig, sizeof(v->sig));
	pkgdb_init(&db);
	dirs.fds = &upper_fd;
	dirs.count = 1;
	rc = pkgdb_read(&db, &v->base, pkgdb_read_dirs, &dirs);
	if (rc < 0) {
		pkgdb_free(&db);
		return rc;
	}
	pkgdb_free(&v->cur);
	v->cur = db;
	v->has_cur = db.manager != PKG_NONE;
	return 0;
}

int
pkgview_load(struct pkgview *v, struct store *store, const char *image,
    int upper_fd, struct uw_error *err)
{
	int rc;

	rc = store_packages_load(store, image, &v->base, err);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		/* no packages in this baseline (one imported from an
		 * older upperwatch): none of the image's */
		pkgdb_free(&v->base);
		pkgdb_init(&v->base);
	}
	v->base_idx = pkgdb_index(&v->base);
	if (v->base_idx == NULL)
		return seterr(err, -ENOMEM, "out of memory");
	v->check_tokens = PACKAGE_CHECK_BURST;
	v->check_ns = now_mono_ns();
	rc = read_cur(v, upper_fd);
	return rc < 0 ? seterr(err, rc, "out of memory") : 0;
}

static const struct pkgdb *
current(const struct pkgview *v)
{
	return v->has_cur ? &v->cur : &v->base;
}

int
pkgview_active(const struct pkgview *v)
{
	return current(v)->manager != PKG_NONE;
}

static int
cmp_name(const struct pkg *a, const struct pkg *b)
{
	int c = strcmp(a->name, b->name);

	return c != 0 ? c : strcmp(a->arch, b->arch);
}

static const struct pkgdb *sort_db;

static int
cmp_index(const void *a, const void *b)
{
	return cmp_name(&sort_db->pkgs[*(const size_t *)a],
	    &sort_db->pkgs[*(const size_t *)b]);
}

static size_t *
sorted(const struct pkgdb *db)
{
	size_t *v = malloc((db->npkgs + 1) * sizeof(*v)), i;

	if (v == NULL)
		return NULL;
	for (i = 0; i < db->npkgs; i++)
		v[i] = i;
	sort_db = db;
	qsort(v, db->npkgs, sizeof(*v), cmp_index);
	sort_db = NULL;
	return v;
}

/* One change into out: "installed a 1.0" (cut when out is full). */
static void
say(struct buf *out, size_t *n, const char *what, const struct pkg *p,
    const struct pkg *was)
{
	int rc;

	if (was != NULL)
		rc = buf_printf(out, "%s%s %s %s -> %s", *n ? ", " : "", what,
		    p->name, was->version, p->version);
	else
		rc = buf_printf(out, "%s%s %s %s", *n ? ", " : "", what,
		    p->name, p->version);
	(void)rc;	/* full: the count still says how many */
	(*n)++;
}

/* Merge-walk of two sorted package lists: what `now` has that `was`
 * has not, at another version, or no more. */
static int
diff_sets(const struct pkgdb *was, const struct pkgdb *now, struct buf *out)
{
	size_t *a = sorted(was), *b = sorted(now), i = 0, j = 0, n = 0;
	const struct pkg *p, *q;
	int c;

	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	while (i < was->npkgs || j < now->npkgs) {
		p = i < was->npkgs ? &was->pkgs[a[i]] : NULL;
		q = j < now->npkgs ? &now->pkgs[b[j]] : NULL;
		c = p == NULL ? 1 : q == NULL ? -1 : cmp_name(p, q);
		if (c < 0) {
			say(out, &n, "removed", p, NULL);
			i++;
		} else if (c > 0) {
			say(out, &n, "installed", q, NULL);
			j++;
		} else {
			if (strcmp(p->version, q->version) != 0)
				say(out, &n, "changed", q, p);
			i++;
			j++;
		}
	}
	free(a);
	free(b);
	return (int)(n > 1000000 ? 1000000 : n);
}

int
pkgview_refresh(struct pkgview *v, int upper_fd, struct buf *out)
{
	char sig[sizeof(v->sig)];
	struct pkgdb was;
	int had, rc;

	/* Read again at every transaction's end, changed or not: an edit
	 * in place of an info file already in the upper dir changes no dir
	 * the signature sees.  A view whose upper holds no database, and
	 * never did, has nothing to read. */
	upper_sig(upper_fd, sig, sizeof(sig));
	if (sig[0] == '\0' && v->sig[0] == '\0')
		return 0;
	was = v->cur;
	had = v->has_cur;
	pkgdb_init(&v->cur);
	rc = read_cur(v, upper_fd);
	if (rc == 0)
		rc = diff_sets(had ? &was : &v->base, current(v), out);
	pkgdb_free(&was);
	return rc;
}

/* The content check of the regular file `path` of the upper dir. */
/* May `bytes` more be hashed now?  Takes them from the bucket. */
static int
check_budget(struct pkgview *v, int64_t bytes)
{
	int64_t now = now_mono_ns(), add;

	add = (now - v->check_ns) / 1000 * (PACKAGE_CHECK_RATE / 1000000);
	v->check_ns = now;
	v->check_tokens = v->check_tokens + add > PACKAGE_CHECK_BURST ?
	    PACKAGE_CHECK_BURST : v->check_tokens + add;
	if (bytes > v->check_tokens)
		return 0;
	v->check_tokens -= bytes;
	return 1;
}

static enum uw_package_check
check_file(struct pkgview *v, int upper_fd, const struct uw_event *ev,
    const struct pkg_file *f)
{
	char path[WALK_MAX_PATH + 1];
	enum uw_package_check r;
	struct stat st;
	int fd;

	if (ev->metacopy || ev->path_len > WALK_MAX_PATH ||
	    memchr(ev->path, '\0', ev->path_len) != NULL)
		return UW_PKG_UNKNOWN;	/* its data is the lower's */
	memcpy(path, ev->path, ev->path_len);
	path[ev->path_len] = '\0';
	fd = walk_open_regular_beneath(upper_fd, path, &st);
	if (fd < 0)
		return UW_PKG_UNKNOWN;
	/* too big, mostly holes (no package ships a sparse file; hashing
	 * one costs the container nothing), or past the budget */
	if ((uint64_t)st.st_size > PKGDB_MAX_CHECK || (st.st_size > (1 << 20) &&
	    (int64_t)st.st_blocks * 512 < st.st_size / 2) ||
	    !check_budget(v, st.st_size)) {
		close(fd);
		return UW_PKG_UNKNOWN;
	}
	r = pkgdb_check_fd(f, fd);
	close(fd);
	return r;
}

/*
 * The owner of `path` to believe.  A package the container's database
 * has at the very version the image has keeps the image's lists and
 * digests: a container that rewrites an installed package's md5sums to
 * match a trojan gets no "match" for it, and a path it adds to such a
 * package's list is no package's.  A package installed or upgraded in
 * the container can only be vouched for by the container's database.
 */
static const struct pkg_file *
trusted_find(struct pkgview *v, const unsigned char *path, size_t len,
    const struct pkgdb **dbp)
{
	const struct pkgdb *db = current(v);
	const struct pkg_file *f = pkgdb_find(db, path, len), *b;

	*dbp = db;
	if (f == NULL || !v->has_cur || v->base_idx == NULL ||
	    pkgdb_index_find(&v->base, v->base_idx, &db->pkgs[f->pkg]) < 0)
		return f;
	b = pkgdb_find(&v->base, path, len);
	if (b == NULL || strcmp(v->base.pkgs[b->pkg].name,
	    db->pkgs[f->pkg].name) != 0)
		return NULL;
	*dbp = &v->base;
	return b;
}

/* Does a package of the image lack its file list (so that a path no
 * list names may still be a package's)?  Only the image's count: a
 * package the container's database adds without a list owns nothing,
 * or one forged paragraph would make every unowned file "unknown". */
static int
lists_unknown(struct pkgview *v)
{
	struct pkgdb *db = &v->base;
	size_t i;

	if (db->unknown_lists < 0) {
		for (i = 0; i < db->npkgs && !db->pkgs[i].files_unknown; i++)
			continue;
		db->unknown_lists = i < db->npkgs;
	}
	return db->unknown_lists;
}

int
pkgview_owner(void *arg, const unsigned char *path, size_t len,
    struct uw_package *out)
{
	struct pkgview *v = arg;
	const struct pkgdb *db = current(v);
	const struct pkg_file *f;

	if (db->manager == PKG_NONE || db->broken[0] != '\0')
		return 0;
	f = trusted_find(v, path, len, &db);
	if (f == NULL)
		return 0;
	out->manager = pkgdb_manager_name(db->manager);
	out->name = db->pkgs[f->pkg].name;
	out->version = db->pkgs[f->pkg].version;
	out->database = 0;
	return 1;
}

static void
name_owner(struct pkgview *v, struct uw_event *ev, const struct pkgdb *db,
    const struct pkg_file *f)
{
	const struct pkg *p = &db->pkgs[f->pkg];

	v->pkg.manager = pkgdb_manager_name(db->manager);
	v->pkg.name = p->name;
	v->pkg.version = p->version;
	v->pkg.database = 0;
	ev->package = &v->pkg;
}

void
pkgview_annotate(struct pkgview *v, int upper_fd, struct uw_event *ev,
    int64_t txn_files, int txn_changed)
{
	const struct pkgdb *db = current(v);
	const struct pkg_file *f, *was;
	const char *mgr;

	ev->package = NULL;
	ev->package_check = UW_PKG_NONE;
	if (db->manager == PKG_NONE || ev->lower)
		return;
	mgr = pkgdb_db_path(ev->path, ev->path_len);
	if (mgr != NULL) {
		v->pkg.manager = mgr;
		v->pkg.name = v->pkg.version = NULL;
		v->pkg.database = 1;
		ev->package = &v->pkg;
		/* a database that gained or changed packages while no file
		 * changed with it: forged */
		ev->package_check = txn_files < 0 ? UW_PKG_UNKNOWN :
		    txn_changed > 0 && txn_files == 0 ? UW_PKG_MISMATCH :
		    UW_PKG_MATCH;
		return;
	}
	if (db->broken[0] != '\0' || ev->op == UW_OP_ERROR) {
		ev->package_check = UW_PKG_UNKNOWN;
		return;
	}
	f = trusted_find(v, ev->path, ev->path_len, &db);
	if (ev->op == UW_OP_DELETED) {
		if (f != NULL) {
			/* its package still claims it */
			name_owner(v, ev, db, f);
			ev->package_check = UW_PKG_MISMATCH;
		} else if (v->has_cur && (was = pkgdb_find(&v->base,
		    ev->path, ev->path_len)) != NULL) {
			/* its package went, or dropped it */
			name_owner(v, ev, &v->base, was);
			ev->package_check = UW_PKG_MATCH;
		} else
			ev->package_check = lists_unknown(v) ?
			    UW_PKG_UNKNOWN : UW_PKG_UNOWNED;
		return;
	}
	if (f == NULL) {
		/* unless a package's list could not be read */
		ev->package_check = lists_unknown(v) ? UW_PKG_UNKNOWN :
		    UW_PKG_UNOWNED;
		return;
	}
	name_owner(v, ev, db, f);
	if (ev->type == UW_TYPE_DIR)
		ev->package_check = UW_PKG_MATCH;
	else if (ev->type == UW_TYPE_FILE)
		ev->package_check = check_file(v, upper_fd, ev, f);
	else
		ev->package_check = UW_PKG_UNKNOWN;
}

int
package_record_layers(struct store *store, int64_t image_id,
    const char *const *layers, size_t count, struct uw_error *err)
{
	struct pkgdb_dirs dirs;
	struct pkgdb db;
	int *fds;
	size_t i, n = 0;
	int rc;

	fds = calloc(count + 1, sizeof(*fds));
	if (fds == NULL)
		return seterr(err, -ENOMEM, "out of memory");
	for (i = 0; i < count; i++) {
		fds[n] = walk_open_root(layers[i]);
		if (fds[n] >= 0)
			n++;
	}
	dirs.fds = fds;
	dirs.count = n;
	pkgdb_init(&db);
	rc = pkgdb_read(&db, NULL, pkgdb_read_dirs, &dirs);
	if (rc == 0)
		rc = store_packages_put(store, image_id, &db, err);
	else
		rc = seterr(err, rc, "out of memory");
	pkgdb_free(&db);
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return rc;
}
