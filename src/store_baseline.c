/*
 * store_baseline.c - image baselines in the database: one row per image,
 * one per path of its merged layer stack.  A baseline is replaced inside
 * one transaction (begin, put each row, commit), so readers see the old
 * one or the new one, never half; rows are read one by path (drift), by
 * walk (the public API) or by hard-link group and directory range.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_sql.h"
#include "util.h"

/* Layer paths joined with NUL bytes (and one after the last). */
static int
join_layers(const char *const *layers, size_t count, struct buf *out)
{
	size_t i;
	int rc;

	for (i = 0; i < count; i++) {
		rc = buf_add(out, layers[i], strlen(layers[i]) + 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
writable(struct store *store, struct uw_error *err)
{
	if (store->flags & STORE_READONLY)
		return seterr(err, -EROFS, "%s: opened read-only",
		    store->path);
	return 0;
}

int
store_baseline_begin(struct store *store, const char *image,
    const char *const *layers, size_t layer_count, int64_t *image_id,
    struct uw_error *err)
{
	static const enum stmt_id clears[] = {
		ST_FILES_CLEAR, ST_PKGS_CLEAR, ST_PKG_FILES_CLEAR
	};
	sqlite3_stmt *st;
	struct buf joined;
	size_t i;
	int rc, ret = -EIO;

	if (writable(store, err) < 0)
		return -EROFS;
	buf_init(&joined, 1 << 20);
	if (join_layers(layers, layer_count, &joined) < 0) {
		buf_free(&joined);
		return seterr(err, -E2BIG, "layer list too long");
	}
	if (store_exec(store, "BEGIN IMMEDIATE", err) < 0)
		goto out;
	/* A baseline built under REF is REF's, no longer another one's
	 * other name. */
	st = store->stmt[ST_ALIAS_DEL];
	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto sqlfail;
	st = store->stmt[ST_IMAGE_FIND];
	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*image_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	} else {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto sqlfail;
		st = store->stmt[ST_IMAGE_INSERT];
		sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, joined.data, (int)joined.len,
		    SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto sqlfail;
		*image_id = sqlite3_last_insert_rowid(store->db);
	}
	/* rebuilt here, it is hashed with this database's secret */
	if (store_image_set_secret(store, *image_id, NULL, err) < 0) {
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	/* its rows and packages of an earlier build go */
	for (i = 0; i < sizeof(clears) / sizeof(*clears); i++) {
		st = store->stmt[clears[i]];
		sqlite3_bind_int64(st, 1, *image_id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto sqlfail;
	}
	st = store->stmt[ST_IMAGE_UPDATE];
	sqlite3_bind_int64(st, 1, *image_id);
	sqlite3_bind_blob(st, 2, joined.data, (int)joined.len,
	    SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, 0);
	sqlite3_bind_int64(st, 4, 0);
	sqlite3_bind_int64(st, 5, 0);
	sqlite3_bind_int64(st, 6, 0);
	sqlite3_bind_double(st, 7, 0);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto sqlfail;
	ret = 0;
	goto out;
sqlfail:
	store_sql_fail(store, err, "starting the baseline");
	sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
out:
	buf_free(&joined);
	return ret;
}

int
store_baseline_put(struct store *store, int64_t image_id,
    const struct uw_record *rec, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_FILE_INSERT];
	int rc;

	sqlite3_bind_int64(st, 1, image_id);
	sqlite3_bind_blob(st, 2, rec->path, (int)rec->path_len,
	    SQLITE_STATIC);
	sqlite3_bind_int(st, 3, rec->type);
	sqlite3_bind_int(st, 4, (int)rec->mode);
	sqlite3_bind_int64(st, 5, rec->uid);
	sqlite3_bind_int64(st, 6, rec->gid);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)rec->size);
	sqlite3_bind_int64(st, 8, rec->mtime_ns);
	if (rec->link != NULL)
		sqlite3_bind_blob(st, 9, rec->link, (int)rec->link_len,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	if (rec->caps != NULL)
		sqlite3_bind_blob(st, 10, rec->caps, (int)rec->caps_len,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 10);
	if (rec->flags & UW_REC_HASHED)
		sqlite3_bind_blob(st, 11, rec->hash, UW_HASH_LEN,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 11);
	sqlite3_bind_int(st, 12, (int)rec->flags);
	if (rec->link_group != 0)
		sqlite3_bind_int64(st, 13, (sqlite3_int64)rec->link_group);
	else
		sqlite3_bind_null(st, 13);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_sql_fail(store, err, "recording a file");
	return 0;
}

int
store_baseline_commit(struct store *store, int64_t image_id,
    const struct uw_baseline_stats *stats, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_IMAGE_UPDATE];
	int rc;

	/* ?2 (layers) keeps the copy bound by store_baseline_begin. */
	sqlite3_bind_int64(st, 1, image_id);
	sqlite3_bind_int64(st, 3, now_real_ns());
	sqlite3_bind_int64(st, 4, (sqlite3_int64)stats->entries);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)stats->files);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)stats->bytes);
	sqlite3_bind_double(st, 7, stats->seconds);
	if (stats->incomplete[0] != '\0')
		sqlite3_bind_text(st, 8, stats->incomplete, -1,
		    SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 8);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_sql_fail(store, err, "finishing the baseline");
		store_baseline_abort(store);
		return -EIO;
	}
	/* The commit makes the baseline durable in the WAL (synchronous
	 * is FULL).  Copying its pages on into the database file at once
	 * (the automatic checkpoint after 1000 pages) would double the
	 * writes on the critical path of every big baseline; leave them
	 * there until the WAL passes 64 MiB or another commit folds them
	 * in, as the watcher's next one does. */
	if (!store->ckpt_deferred)
		sqlite3_wal_autocheckpoint(store->db, 16384);
	rc = store_exec(store, "COMMIT", err);
	if (!store->ckpt_deferred)
		sqlite3_wal_autocheckpoint(store->db, 1000);
	if (rc < 0) {
		store_baseline_abort(store);
		return -EIO;
	}
	return 0;
}

void
store_baseline_abort(struct store *store)
{
	if (!sqlite3_get_autocommit(store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Split a NUL-separated layer blob into a pointer array. */
static const char **
split_layers(const void *blob, int len, size_t *count)
{
	const char *p = blob, *end = p + len;
	const char **v;
	size_t n = 0, i = 0;

	for (const char *q = p; q < end; q++)
		if (*q == '\0')
			n++;
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	while (p < end && i < n) {
		v[i++] = p;
		p += strlen(p) + 1;
	}
	*count = n;
	return v;
}

/* An image row (ST_IMAGES_ALL's or ST_IMAGE_BY_ID's columns) as info;
 * returns its layers array for the caller to free, NULL when out of
 * memory. */
static const char **
info_of_row(sqlite3_stmt *st, struct uw_image_info *info)
{
	const char **layers;

	memset(info, 0, sizeof(*info));
	info->image = (const char *)sqlite3_column_text(st, 0);
	layers = split_layers(sqlite3_column_blob(st, 1),
	    sqlite3_column_bytes(st, 1), &info->layer_count);
	info->layers = layers;
	info->built_ns = sqlite3_column_int64(st, 2);
	info->entries = (uint64_t)sqlite3_column_int64(st, 3);
	info->files = (uint64_t)sqlite3_column_int64(st, 4);
	info->bytes = (uint64_t)sqlite3_column_int64(st, 5);
	info->seconds = sqlite3_column_double(st, 6);
	info->incomplete = (const char *)sqlite3_column_text(st, 7);
	info->aliases = (const char *)sqlite3_column_text(st, 8);
	return layers;
}

int
store_image_get(struct store *store, const char *image,
    int (*cb)(const struct uw_image_info *info, const unsigned char *secret,
    void *arg), void *arg, struct uw_error *err)
{
	struct uw_image_info info;
	const char **layers;
	const unsigned char *secret;
	sqlite3_stmt *st;
	int64_t id;
	int rc, ret;

	ret = store_image_id(store, image, &id, err);
	if (ret < 0)
		return ret;
	ret = store_stmt_borrow(store, ST_IMAGE_BY_ID, &st, "reading an "
	    "image", err);
	if (ret < 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		layers = info_of_row(st, &info);
		secret = sqlite3_column_bytes(st, 9) == HASH_SECRET_LEN ?
		    sqlite3_column_blob(st, 9) : store->secret;
		ret = layers == NULL ? seterr(err, -ENOMEM, "out of memory") :
		    cb(&info, secret, arg);
		free(layers);
	} else {
		ret = store_sql_fail(store, err, "reading an image");
	}
	store_stmt_return(store, ST_IMAGE_BY_ID, st);
	return ret;
}

int
store_image_secret(struct store *store, int64_t image_id,
    unsigned char *out, struct uw_error *err)
{
	sqlite3_stmt *st;
	int rc, ret;

	ret = store_stmt_borrow(store, ST_IMAGE_BY_ID, &st, "reading an "
	    "image", err);
	if (ret < 0)
		return ret;
	sqlite3_bind_int64(st, 1, image_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 9) ==
	    HASH_SECRET_LEN)
		memcpy(out, sqlite3_column_blob(st, 9), HASH_SECRET_LEN);
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		memcpy(out, store->secret, HASH_SECRET_LEN);
	else
		ret = store_sql_fail(store, err, "reading an image");
	store_stmt_return(store, ST_IMAGE_BY_ID, st);
	return ret;
}

int
store_image_set_secret(struct store *store, int64_t image_id,
    const unsigned char *secret, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_IMAGE_SECRET_SET];
	int rc;

	sqlite3_bind_int64(st, 1, image_id);
	if (secret != NULL)
		sqlite3_bind_blob(st, 2, secret, HASH_SECRET_LEN,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_sql_fail(store, err,
	    "recording an image's secret");
}

int
store_images_foreach(struct store *store,
    int (*cb)(const struct uw_image_info *info, void *arg), void *arg,
    struct uw_error *err)
{
	sqlite3_stmt *st;
	struct uw_image_info info;
	const char **layers;
	int rc, ret = 0;

	ret = store_stmt_borrow(store, ST_IMAGES_ALL, &st,
	    "listing images", err);
	if (ret < 0)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		layers = info_of_row(st, &info);
		if (layers == NULL) {
			ret = seterr(err, -ENOMEM, "out of memory");
			break;
		}
		ret = cb(&info, arg);
		free(layers);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_sql_fail(store, err, "listing images");
	store_stmt_return(store, ST_IMAGES_ALL, st);
	return ret;
}

int
store_image_remove(struct store *store, const char *image,
    struct uw_error *err)
{
	static const enum stmt_id drops[] = {
		ST_ALIASES_DROP, ST_FILES_CLEAR, ST_PKGS_CLEAR,
		ST_PKG_FILES_CLEAR, ST_IMAGE_DELETE
	};
	int64_t id;
	sqlite3_stmt *st;
	size_t i;
	int rc, ret = -EIO;

	if (writable(store, err) < 0)
		return -EROFS;
	if (store_exec(store, "BEGIN IMMEDIATE", err) < 0)
		return -EIO;
	st = store->stmt[ST_IMAGE_FIND];
	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		/* another name of a baseline: only the name goes */
		st = store->stmt[ST_ALIAS_DEL];
		sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto sqlfail;
		if (sqlite3_changes(store->db) > 0)
			return store_exec(store, "COMMIT", err);
		ret = seterr(err, -ENOENT, "no baseline for image %s",
		    image);
		goto rollback;
	}
	if (rc != SQLITE_ROW)
		goto sqlfail;
	/* its names, its rows, its packages, then the image */
	for (i = 0; i < sizeof(drops) / sizeof(*drops); i++) {
		st = store->stmt[drops[i]];
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto sqlfail;
	}
	return store_exec(store, "COMMIT", err);
sqlfail:
	ret = store_sql_fail(store, err, "removing the image");
rollback:
	sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static void
row_to_record(sqlite3_stmt *st, struct uw_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->path = sqlite3_column_blob(st, 0);
	rec->path_len = (size_t)sqlite3_column_bytes(st, 0);
	rec->type = (enum uw_file_type)sqlite3_column_int(st, 1);
	rec->mode = (unsigned)sqlite3_column_int(st, 2);
	rec->uid = (uint32_t)sqlite3_column_int64(st, 3);
	rec->gid = (uint32_t)sqlite3_column_int64(st, 4);
	rec->size = (uint64_t)sqlite3_column_int64(st, 5);
	rec->mtime_ns = sqlite3_column_int64(st, 6);
	if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
		rec->link = sqlite3_column_blob(st, 7);
		rec->link_len = (size_t)sqlite3_column_bytes(st, 7);
		if (rec->link == NULL)
			rec->link = (const unsigned char *)"";
	}
	if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
		rec->caps = sqlite3_column_blob(st, 8);
		rec->caps_len = (size_t)sqlite3_column_bytes(st, 8);
	}
	rec->flags = (unsigned)sqlite3_column_int(st, 10);
	rec->link_group = (uint64_t)sqlite3_column_int64(st, 11);
	if (sqlite3_column_bytes(st, 9) == UW_HASH_LEN)
		memcpy(rec->hash, sqlite3_column_blob(st, 9), UW_HASH_LEN);
	else
		rec->flags &= ~(unsigned)UW_REC_HASHED;
}

int
store_foreach(struct store *store, const char *image,
    int (*cb)(const struct uw_record *rec, void *arg), void *arg,
    struct uw_error *err)
{
	sqlite3_stmt *st;
	struct uw_record rec;
	int64_t image_id;
	int rc, ret;

	ret = store_image_id(store, image, &image_id, err);
	if (ret < 0)
		return ret;
	ret = store_stmt_borrow(store, ST_FILES_ALL, &st, "listing files", err);
	if (ret < 0)
		return ret;
	sqlite3_bind_int64(st, 1, image_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_record(st, &rec);
		ret = cb(&rec, arg);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_sql_fail(store, err, "listing files");
	store_stmt_return(store, ST_FILES_ALL, st);
	return ret;
}

int
store_image_incomplete(struct store *store, const char *image, char *why,
    size_t why_len, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_IMAGE_INCOMPLETE];
	const unsigned char *text;
	int rc, ret = 0;

	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		text = sqlite3_column_text(st, 0);
		if (text != NULL) {
			snprintf(why, why_len, "%s", (const char *)text);
			ret = 1;
		}
	} else if (rc != SQLITE_DONE) {
		ret = store_sql_fail(store, err, "reading an image");
	}
	sqlite3_reset(st);
	return ret;
}

int
store_alias_set(struct store *store, const char *ref, int64_t image_id,
    struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_IMAGE_FIND];
	char quoted[96];
	int64_t old;
	int rc;

	/* The names upperwatch keys baselines by are never another name:
	 * an image file cannot take over another image's digest. */
	if (strncmp(ref, "sha256:", 7) == 0 || strncmp(ref, "stack:", 6) == 0 ||
	    strncmp(ref, "verify:", 7) == 0 || ref[0] == '\0')
		return seterr(err, -EINVAL, "'%s' cannot be another name of a "
		    "baseline (sha256:, stack: and verify: are upperwatch's "
		    "keys)", escape_cut(quoted, sizeof(quoted), ref,
		    strlen(ref)));
	/* A baseline recorded under that name before is superseded: the
	 * name is the image file's now. */
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	old = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto sqlfail;
	if (old == image_id)
		return 0;	/* the name it is recorded under */
	if (old >= 0) {
		enum stmt_id del[] = { ST_FILES_CLEAR, ST_ALIASES_DROP,
		    ST_IMAGE_DELETE };
		size_t i;

		for (i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
			st = store->stmt[del[i]];
			sqlite3_bind_int64(st, 1, old);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			if (rc != SQLITE_DONE)
				goto sqlfail;
		}
	}
	st = store->stmt[ST_ALIAS_SET];
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, image_id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
sqlfail:
	return store_sql_fail(store, err, "recording an image name");
}

int
store_image_id(struct store *store, const char *image, int64_t *image_id,
    struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_IMAGE_RESOLVE];
	int rc;

	*image_id = 0;
	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*image_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return seterr(err, -ENOENT, "no baseline for image %s",
		    image);
	return store_sql_fail(store, err, "looking up the image");
}

/* Copy a blob column into `buf`; NULL columns leave *out NULL. */
static int
copy_blob(sqlite3_stmt *st, int col, struct buf *buf,
    const unsigned char **out, size_t *len)
{
	int rc;

	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	buf_reset(buf);
	rc = buf_add(buf, sqlite3_column_blob(st, col),
	    (size_t)sqlite3_column_bytes(st, col));
	if (rc < 0)
		return rc;
	*out = buf->data ? buf->data : (const unsigned char *)"";
	*len = buf->len;
	return 0;
}

int
store_get_row(struct store *store, int64_t image_id,
    const unsigned char *path, size_t path_len, struct store_row *row,
    struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_FILE_GET];
	struct uw_record *rec = &row->rec;
	int rc, ret = 0;

	sqlite3_bind_int64(st, 1, image_id);
	sqlite3_bind_blob(st, 2, path, (int)path_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = store_sql_fail(store, err, "looking up a file");
		goto out;
	}
	row_to_record(st, rec);
	if (copy_blob(st, 0, &row->path, &rec->path, &rec->path_len) < 0 ||
	    copy_blob(st, 7, &row->link, &rec->link, &rec->link_len) < 0 ||
	    copy_blob(st, 8, &row->caps, &rec->caps, &rec->caps_len) < 0)
		ret = seterr(err, -ENOMEM, "out of memory");
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/*
 * A row by image name, for the public API: store_get_row's row, with
 * -ENOENT (and a message) when the image or the path has none.  `cb` is
 * given a copy, so it may use the store.
 */
int
store_lookup(struct store *store, const char *image,
    const unsigned char *path, size_t path_len,
    int (*cb)(const struct uw_record *rec, void *arg), void *arg,
    struct uw_error *err)
{
	struct store_row row;
	int64_t image_id;
	int ret;

	ret = store_image_id(store, image, &image_id, err);
	if (ret < 0)
		return ret;
	store_row_init(&row);
	ret = store_get_row(store, image_id, path, path_len, &row, err);
	if (ret == 1)
		ret = seterr(err, -ENOENT, "not in the baseline of %s",
		    image);
	else if (ret == 0)
		ret = cb(&row.rec, arg);
	store_row_free(&row);
	return ret;
}

int
store_count_below(struct store *store, int64_t image_id,
    const unsigned char *path, size_t path_len, uint64_t *count,
    struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_FILES_BELOW];
	unsigned char *lo;
	int rc;

	/* "/" is the root: everything but itself is below it. */
	if (path_len == 1 && path[0] == '/')
		path_len = 0;
	lo = malloc(path_len + 1);
	if (lo == NULL)
		return seterr(err, -ENOMEM, "out of memory");
	memcpy(lo, path, path_len);
	lo[path_len] = '/';
	sqlite3_bind_int64(st, 1, image_id);
	sqlite3_bind_blob(st, 2, lo, (int)path_len + 1, SQLITE_TRANSIENT);
	lo[path_len] = '/' + 1;
	sqlite3_bind_blob(st, 3, lo, (int)path_len + 1, SQLITE_TRANSIENT);
	free(lo);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_sql_fail(store, err, "counting files");
	return 0;
}

void
store_row_init(struct store_row *row)
{
	memset(row, 0, sizeof(*row));
	buf_init(&row->path, 1u << 24);
	buf_init(&row->link, 1u << 16);
	buf_init(&row->caps, 1u << 16);
}

void
store_row_free(struct store_row *row)
{
	buf_free(&row->path);
	buf_free(&row->link);
	buf_free(&row->caps);
}

/* Step `st`, passing column 0 of each row (a path) to `cb`; a non-zero
 * return stops and is returned. */
static int
each_path(struct store *store, sqlite3_stmt *st,
    int (*cb)(const unsigned char *path, size_t len, void *arg), void *arg,
    const char *what, struct uw_error *err)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = cb(sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), arg);
		if (ret != 0)
			return ret;
	}
	return rc == SQLITE_DONE ? 0 : store_sql_fail(store, err, what);
}

int
store_link_group(struct store *store, int64_t image_id, uint64_t group,
    const unsigned char *except, size_t except_len,
    int (*cb)(const unsigned char *path, size_t len, void *arg), void *arg,
    struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_LINK_GROUP];
	int ret;

	sqlite3_bind_int64(st, 1, image_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)group);
	sqlite3_bind_blob(st, 3, except, (int)except_len, SQLITE_STATIC);
	ret = each_path(store, st, cb, arg, "reading hard links", err);
	sqlite3_reset(st);
	return ret;
}
