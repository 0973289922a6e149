/*
 * store_packages.c - an image's package database in its baseline: the
 * packages, the paths they own and the digests their manifests list,
 * written in the baseline's transaction and read back whole.
 */
#include <errno.h>
#include <string.h>

#include "pkgdb.h"
#include "store_sql.h"

static int
put_rows(struct store *store, int64_t image_id, const struct pkgdb *db)
{
	sqlite3_stmt *st;
	size_t i;
	int rc;

	st = store->stmt[ST_PKG_META_SET];
	sqlite3_bind_int64(st, 1, image_id);
	if (db->manager != PKG_NONE)
		sqlite3_bind_text(st, 2, pkgdb_manager_name(db->manager), -1,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	if (db->broken[0] != '\0')
		sqlite3_bind_text(st, 3, db->broken, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	st = store->stmt[ST_PKG_INSERT];
	for (i = 0; i < db->npkgs; i++) {
		sqlite3_bind_int64(st, 1, image_id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_text(st, 3, db->pkgs[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, db->pkgs[i].version, -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 5, db->pkgs[i].arch, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, db->pkgs[i].files_unknown);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return -1;
	}
	st = store->stmt[ST_PKG_FILE_INSERT];
	for (i = 0; i < db->nfiles; i++) {
		const struct pkg_file *f = &db->files[i];

		sqlite3_bind_int64(st, 1, image_id);
		sqlite3_bind_blob(st, 2, f->path, (int)f->len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, f->pkg);
		if (f->digest_len > 0)
			sqlite3_bind_blob(st, 4, f->digest, f->digest_len,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 4);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

int
store_packages_put(struct store *store, int64_t image_id,
    const struct pkgdb *db, struct uw_error *err)
{
	if (put_rows(store, image_id, db) < 0)
		return store_sql_fail(store, err, "recording the packages");
	return 0;
}

static int
load_rows(struct store *store, int64_t image_id, struct pkgdb *db)
{
	sqlite3_stmt *st;
	const char *s;
	int rc, n;

	st = store->stmt[ST_PKG_META_GET];
	sqlite3_bind_int64(st, 1, image_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db->manager = pkgdb_manager_from_name((const char *)
		    sqlite3_column_text(st, 0));
		s = (const char *)sqlite3_column_text(st, 1);
		snprintf(db->broken, sizeof(db->broken), "%s", s ? s : "");
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	st = store->stmt[ST_PKGS_ALL];
	sqlite3_bind_int64(st, 1, image_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* ids are 0.. in order: the index each gets */
		if (sqlite3_column_int64(st, 0) != (sqlite3_int64)db->npkgs) {
			rc = SQLITE_CORRUPT;
			break;
		}
		n = pkgdb_add_pkg(db, (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3));
		if (n < 0) {
			sqlite3_reset(st);
			return n;
		}
		db->pkgs[n].files_unknown = sqlite3_column_int(st, 4);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	st = store->stmt[ST_PKG_FILES_ALL];
	sqlite3_bind_int64(st, 1, image_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 pkg = sqlite3_column_int64(st, 1);
		int dl = sqlite3_column_bytes(st, 2);

		if (pkg < 0 || (size_t)pkg >= db->npkgs)
			continue;
		n = pkgdb_add_file(db, (uint32_t)pkg,
		    sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0),
		    sqlite3_column_blob(st, 2), dl == 16 || dl == 20 ?
		    (size_t)dl : 0);
		if (n < 0) {
			sqlite3_reset(st);
			return n;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int
store_packages_load(struct store *store, const char *image,
    struct pkgdb *db, struct uw_error *err)
{
	int64_t image_id;
	int rc;

	rc = store_image_id(store, image, &image_id, err);
	if (rc < 0)
		return rc;
	rc = load_rows(store, image_id, db);
	if (rc == -ENOMEM)
		return seterr(err, rc, "out of memory");
	if (rc < 0)
		return store_sql_fail(store, err, "reading the packages");
	return 0;
}
