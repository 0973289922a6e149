/*
 * store.c - the SQLite database: its file, schema and connection.
 *
 * One file holds everything: the hash secret, one baseline per image
 * (store_baseline.c), each container path's last reported state and the
 * event journal (store_journal.c).  This file opens it: the schema is
 * versioned with PRAGMA user_version and stamped with our application_id,
 * so a stranger's SQLite file is refused, not altered, and an older one
 * migrated.  It keeps the hash secret, prepares every statement once, and
 * holds the transactions and the WAL's checkpoints.  Writes go through
 * WAL; a baseline is replaced inside one transaction.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "store.h"
#include "store_sql.h"
#include "util.h"

/* 'UpWa': marks a SQLite file as ours. */
#define STORE_APPLICATION_ID 0x55705761
#define STORE_SCHEMA_VERSION 9

/* The columns of a file row, in the order store_baseline.c's
 * row_to_record reads them. */
#define FILE_COLUMNS "path, type, mode, uid, gid, size, mtime_ns, link, " \
	"caps, hash, flags, link_group"

/* The SQL of each statement of enum stmt_id. */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_SECRET_GET] = "SELECT value FROM meta WHERE key = 'hash_secret'",
	[ST_SECRET_PUT] = "INSERT INTO meta (key, value) VALUES "
	    "('hash_secret', ?1)",
	[ST_PROBE] = "INSERT OR REPLACE INTO meta (key, value) VALUES "
	    "('journal_probe', ?1)",
	[ST_IMAGE_FIND] = "SELECT id FROM images WHERE ref = ?1",
	/* a reference of its own first, else another name of one */
	[ST_IMAGE_RESOLVE] = "SELECT id FROM images WHERE ref = ?1 "
	    "UNION ALL SELECT image_id FROM image_refs WHERE ref = ?1 LIMIT 1",
	[ST_ALIAS_SET] = "INSERT OR REPLACE INTO image_refs (ref, image_id) "
	    "VALUES (?1, ?2)",
	[ST_ALIAS_DEL] = "DELETE FROM image_refs WHERE ref = ?1",
	[ST_IMAGE_SECRET_SET] = "UPDATE images SET secret = ?2 WHERE id = ?1",
	[ST_IMAGE_BY_ID] = "SELECT ref, layers, built_ns, entries, files, "
	    "bytes, seconds, incomplete, (SELECT group_concat(r.ref, ' ') "
	    "FROM (SELECT ref FROM image_refs WHERE image_id = ?1 ORDER BY "
	    "ref) AS r), secret FROM images WHERE id = ?1",
	[ST_ALIASES_DROP] = "DELETE FROM image_refs WHERE image_id = ?1",
	[ST_IMAGE_INSERT] = "INSERT INTO images (ref, layers) VALUES (?1, ?2)",
	[ST_IMAGE_UPDATE] = "UPDATE images SET layers = ?2, built_ns = ?3, "
	    "entries = ?4, files = ?5, bytes = ?6, seconds = ?7, "
	    "incomplete = ?8 WHERE id = ?1",
	[ST_IMAGE_DELETE] = "DELETE FROM images WHERE id = ?1",
	[ST_IMAGE_INCOMPLETE] = "SELECT incomplete FROM images WHERE id = "
	    "coalesce((SELECT id FROM images WHERE ref = ?1), (SELECT "
	    "image_id FROM image_refs WHERE ref = ?1))",
	[ST_IMAGES_ALL] = "SELECT ref, layers, built_ns, entries, files, "
	    "bytes, seconds, incomplete, (SELECT group_concat(r.ref, ' ') "
	    "FROM (SELECT ref FROM image_refs WHERE image_id = images.id "
	    "ORDER BY ref) AS r) FROM images ORDER BY ref",
	[ST_FILES_CLEAR] = "DELETE FROM files WHERE image_id = ?1",
	[ST_PKGS_CLEAR] = "DELETE FROM packages WHERE image_id = ?1",
	[ST_PKG_FILES_CLEAR] = "DELETE FROM package_files WHERE image_id = ?1",
	[ST_PKG_META_SET] = "UPDATE images SET pkg_manager = ?2, pkg_broken = "
	    "?3 WHERE id = ?1",
	[ST_PKG_META_GET] = "SELECT pkg_manager, pkg_broken FROM images WHERE "
	    "id = ?1",
	[ST_PKG_INSERT] = "INSERT INTO packages (image_id, id, name, version, "
	    "arch, files_unknown) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PKG_FILE_INSERT] = "INSERT OR IGNORE INTO package_files (image_id, "
	    "path, package, digest) VALUES (?1, ?2, ?3, ?4)",
	[ST_PKGS_ALL] = "SELECT id, name, version, arch, files_unknown FROM "
	    "packages WHERE image_id = ?1 ORDER BY id",
	[ST_PKG_FILES_ALL] = "SELECT path, package, digest FROM package_files "
	    "WHERE image_id = ?1",
	[ST_FILE_INSERT] = "INSERT INTO files (image_id, path, type, mode, "
	    "uid, gid, size, mtime_ns, link, caps, hash, flags, link_group) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[ST_FILE_GET] = "SELECT " FILE_COLUMNS " FROM files WHERE "
	    "image_id = ?1 AND path = ?2",
	[ST_FILES_ALL] = "SELECT " FILE_COLUMNS " FROM files WHERE "
	    "image_id = ?1 ORDER BY path",
	[ST_LINK_GROUP] = "SELECT path FROM files WHERE image_id = ?1 AND "
	    "link_group = ?2 AND path <> ?3 ORDER BY path",
	/* Paths below P sort between "P/" and "P0" ('0' follows '/'). */
	[ST_FILES_BELOW] = "SELECT count(*) FROM files WHERE image_id = ?1 "
	    "AND path > ?2 AND path < ?3",
	[ST_STATE_PUT] = "INSERT OR REPLACE INTO path_state (container, path, "
	    "sig) VALUES (?1, ?2, ?3)",
	[ST_STATE_DEL] = "DELETE FROM path_state WHERE container = ?1 AND "
	    "path = ?2",
	[ST_STATE_ALL] = "SELECT path, sig FROM path_state WHERE "
	    "container = ?1",
	[ST_EVENT_ADD] = "INSERT INTO events (id, time_ns, container, op, "
	    "path, type, detail, severity, action, policy_set) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_EVENT_MAX] = "SELECT coalesce(max(id), 0) FROM events",
	/* An unbound ?1 or ?3 (NULL) matches every container or op. */
	[ST_EVENTS_FIND] = "SELECT id, time_ns, container, op, path, detail "
	    "FROM events WHERE (?1 IS NULL OR container = ?1 OR container "
	    "LIKE ?1 || '%') AND time_ns >= ?2 AND (?3 IS NULL OR op = ?3) "
	    "ORDER BY id",
	[ST_RESPONSE_ADD] = "INSERT INTO responses (time_ns, event_id, "
	    "container, action, method, outcome, detail, latency_ns, "
	    "evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_RESPONSES_FIND] = "SELECT event_id, time_ns, container, action, "
	    "method, outcome, detail, latency_ns, evidence FROM responses "
	    "WHERE (?1 IS NULL OR container = ?1 OR container LIKE ?1 || '%') "
	    "AND time_ns >= ?2 ORDER BY id",
	[ST_LAST_PAUSE] = "SELECT action, method FROM responses WHERE "
	    "container = ?1 AND outcome = 'done' AND action IN ('pause', "
	    "'resume', 'kill') ORDER BY id DESC LIMIT 1",
	/* The oldest events of one severity (NULL: not judged). */
	[ST_EVENTS_PRUNE] = "DELETE FROM events WHERE id IN (SELECT id FROM "
	    "events WHERE severity IS ?1 ORDER BY id LIMIT ?2)",
	[ST_EVENTS_COUNT] = "SELECT count(*) FROM events",
};

/*
 * Migrations, in order: migrations[i] takes the schema from version i to
 * i + 1.  Never edit one that has shipped; add the next.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL"
	");"
	"CREATE TABLE images ("
	"  id INTEGER PRIMARY KEY,"
	"  ref TEXT NOT NULL UNIQUE,"
	"  layers BLOB NOT NULL,"	/* NUL-separated, top first */
	"  built_ns INTEGER NOT NULL DEFAULT 0,"
	"  entries INTEGER NOT NULL DEFAULT 0,"
	"  files INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  seconds REAL NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE files ("
	"  image_id INTEGER NOT NULL,"
	"  path BLOB NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  gid INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  mtime_ns INTEGER NOT NULL,"
	"  link BLOB,"
	"  caps BLOB,"
	"  hash BLOB,"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (image_id, path)"
	") WITHOUT ROWID;"
	"CREATE TABLE containers ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT,"
	"  runtime TEXT,"
	"  image_id INTEGER,"
	"  upper BLOB,"
	"  first_seen_ns INTEGER,"
	"  last_seen_ns INTEGER"
	");"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  time_ns INTEGER NOT NULL,"
	"  container TEXT NOT NULL,"
	"  op TEXT NOT NULL,"
	"  path BLOB NOT NULL,"
	"  type TEXT,"
	"  detail TEXT"			/* the event as JSON */
	");"
	"CREATE INDEX events_container ON events (container, time_ns);",
	/* 1 -> 2: what the watcher last reported of each path, so that a
	 * rescan reports only what changed since. */
	"CREATE TABLE path_state ("
	"  container TEXT NOT NULL,"
	"  path BLOB NOT NULL,"
	"  sig TEXT NOT NULL,"
	"  PRIMARY KEY (container, path)"
	") WITHOUT ROWID;"
	"CREATE INDEX events_time ON events (time_ns);",
	/* 2 -> 3: each event's verdict, for queries and replay. */
	"ALTER TABLE events ADD COLUMN severity TEXT;"
	"ALTER TABLE events ADD COLUMN action TEXT;"
	"ALTER TABLE events ADD COLUMN policy_set TEXT;",
	/* 3 -> 4: hard links of the image, so a change that overlayfs's
	 * index shows at every name of a file can be reported there. */
	"ALTER TABLE files ADD COLUMN link_group INTEGER;"
	"CREATE INDEX files_link_group ON files (image_id, link_group) "
	"WHERE link_group IS NOT NULL;",
	/* 4 -> 5: what was done about events: pause, kill, resume, with
	 * how, the outcome and the time it took. */
	"CREATE TABLE responses ("
	"  id INTEGER PRIMARY KEY,"
	"  time_ns INTEGER NOT NULL,"
	"  event_id INTEGER,"
	"  container TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  method TEXT,"
	"  outcome TEXT NOT NULL,"	/* done, failed, skipped */
	"  detail TEXT,"
	"  latency_ns INTEGER,"
	"  evidence TEXT"
	");"
	"CREATE INDEX responses_container ON responses (container, id);",
	/* 5 -> 6: a baseline that could not record every entry (a layer
	 * too deep, a file unreadable) says why; NULL when whole. */
	"ALTER TABLE images ADD COLUMN incomplete TEXT;",
	/* 6 -> 7: the containers table was made for a registry of the
	 * containers seen that was never written nor read (the watcher
	 * finds them in the mount table each time). */
	"DROP TABLE containers;",
	/* 7 -> 8: other names of a baseline: an image file's tags, the
	 * reference CI pushed, beside the config digest it is kept under;
	 * and the hash secret of a baseline imported from elsewhere (NULL:
	 * the database's). */
	"CREATE TABLE image_refs ("
	"  ref TEXT PRIMARY KEY,"
	"  image_id INTEGER NOT NULL"
	");"
	"CREATE INDEX image_refs_image ON image_refs (image_id);"
	"ALTER TABLE images ADD COLUMN secret BLOB;",
	/* 8 -> 9: the image's package database: its manager (NULL: none),
	 * why it could not be read, its packages and the paths they own
	 * with the digest their manifest lists (md5: dpkg, sha1: apk). */
	"ALTER TABLE images ADD COLUMN pkg_manager TEXT;"
	"ALTER TABLE images ADD COLUMN pkg_broken TEXT;"
	"CREATE TABLE packages ("
	"  image_id INTEGER NOT NULL,"
	"  id INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  arch TEXT NOT NULL,"
	"  files_unknown INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (image_id, id)"
	") WITHOUT ROWID;"
	"CREATE TABLE package_files ("
	"  image_id INTEGER NOT NULL,"
	"  path BLOB NOT NULL,"
	"  package INTEGER NOT NULL,"
	"  digest BLOB,"
	"  PRIMARY KEY (image_id, path)"
	") WITHOUT ROWID;",
};

int
store_fail_code(struct store *store)
{
	int sys = sqlite3_system_errno(store->db);

	if (sqlite3_errcode(store->db) == SQLITE_FULL || sys == ENOSPC ||
	    sys == EDQUOT)
		return -ENOSPC;
	return -EIO;
}

int
store_sql_fail(struct store *store, struct uw_error *err, const char *what)
{
	return seterr(err, store_fail_code(store), "%s: %s: %s", store->path,
	    what, sqlite3_errmsg(store->db));
}

int
store_stmt_borrow(struct store *store, enum stmt_id id, sqlite3_stmt **st,
    const char *what, struct uw_error *err)
{
	*st = store->stmt[id];
	if (!sqlite3_stmt_busy(*st))
		return 0;
	if (sqlite3_prepare_v2(store->db, stmt_sql[id], -1, st, NULL) !=
	    SQLITE_OK)
		return store_sql_fail(store, err, what);
	return 0;
}

void
store_stmt_return(struct store *store, enum stmt_id id, sqlite3_stmt *st)
{
	if (st != store->stmt[id]) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int
store_exec(struct store *store, const char *sql, struct uw_error *err)
{
	char *msg = NULL;
	int rc, code;

	rc = sqlite3_exec(store->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		code = store_fail_code(store);
		seterr(err, code, "%s: %s", store->path,
		    msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return code;
	}
	return 0;
}

/* Run a query returning one integer, prepared on the spot: it serves
 * only the first reads of store_open, before the schema is known. */
static int
query_int(struct store *store, const char *sql, int64_t *out, int *sqlrc)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	*sqlrc = rc;
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* Explain a failure to open: not SQLite, then what stops a write (the
 * file or its directory), then whatever SQLite saw. */
static int
open_fail(struct store *store, int sqlrc, struct uw_error *err)
{
	char dir[PATH_MAX];
	int sys_errno;

	sys_errno = store->db ? sqlite3_system_errno(store->db) : 0;
	if (sqlrc == SQLITE_NOTADB)
		return seterr(err, -EINVAL,
		    "%s: not an upperwatch database (not a SQLite file)",
		    store->path);
	if (!(store->flags & STORE_READONLY)) {
		snprintf(dir, sizeof(dir), "%s", store->path);
		if (access(store->path, F_OK) == 0 ?
		    access(store->path, W_OK) != 0 :
		    access(dirname(dir), W_OK) != 0)
			return seterr(err, -errno,
			    "%s: cannot write the database: %s", store->path,
			    strerror(errno));
	}
	return seterr(err, -EIO, "%s: cannot open the database: %s",
	    store->path, sys_errno ? strerror(sys_errno) :
	    sqlite3_errstr(sqlrc));
}

/* Check the parent dir exists (creating it when asked). */
static int
check_parent(struct store *store, struct uw_error *err)
{
	char dir[PATH_MAX], *parent;
	struct stat st;

	if (strlen(store->path) >= sizeof(dir))
		return seterr(err, -ENAMETOOLONG, "%s: path too long",
		    store->path);
	snprintf(dir, sizeof(dir), "%s", store->path);
	parent = dirname(dir);
	if (stat(parent, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return seterr(err, -ENOTDIR,
			    "%s: %s is not a directory", store->path, parent);
		return 0;
	}
	if (errno != ENOENT || !(store->flags & STORE_CREATE_DIR))
		return seterr(err, -errno, "%s: directory %s: %s",
		    store->path, parent, strerror(errno));
	if (mkdir(parent, 0700) != 0)
		return seterr(err, -errno, "%s: cannot create %s: %s",
		    store->path, parent, strerror(errno));
	return 0;
}

/* Take the schema from `version` to ours, all in one transaction. */
static int
migrate(struct store *store, int64_t version, struct uw_error *err)
{
	const int64_t target = STORE_SCHEMA_VERSION;
	char sql[64];
	int rc;

	if (store_exec(store, "BEGIN IMMEDIATE", err) < 0)
		return -EIO;
	for (; version < target; version++) {
		rc = store_exec(store, migrations[version], err);
		if (rc < 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld",
	    (long long)target);
	if (store_exec(store, sql, err) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
	    STORE_APPLICATION_ID);
	if (store_exec(store, sql, err) < 0)
		goto fail;
	return store_exec(store, "COMMIT", err);
fail:
	sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

/* Read the hash secret, making it on first use. */
static int
load_secret(struct store *store, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_SECRET_GET];
	int rc, ret = -EIO;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != HASH_SECRET_LEN) {
			ret = seterr(err, -EINVAL,
			    "%s: damaged database: bad hash secret",
			    store->path);
			goto out;
		}
		memcpy(store->secret, sqlite3_column_blob(st, 0),
		    HASH_SECRET_LEN);
		ret = 0;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		ret = store_sql_fail(store, err, "reading the hash secret");
		goto out;
	}
	if (store->flags & STORE_READONLY) {
		ret = seterr(err, -EINVAL,
		    "%s: damaged database: no hash secret", store->path);
		goto out;
	}
	rc = hash_new_secret(store->secret);
	if (rc < 0) {
		ret = seterr(err, rc, "cannot make a hash secret: %s",
		    strerror(-rc));
		goto out;
	}
	sqlite3_reset(st);
	st = store->stmt[ST_SECRET_PUT];
	sqlite3_bind_blob(st, 1, store->secret, HASH_SECRET_LEN,
	    SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		ret = store_sql_fail(store, err, "storing the hash secret");
		goto out;
	}
	ret = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/* Check what is at the path: for reading, a database must be there; for
 * writing, its directory (made when asked).  Either way, a regular file
 * or nothing. */
static int
check_file(struct store *store, struct uw_error *err)
{
	const char *path = store->path;
	struct stat st;
	int rc;

	if (store->flags & STORE_READONLY) {
		if (stat(path, &st) != 0)
			return seterr(err, -errno, errno == ENOENT ?
			    "%s: no database here (build a baseline first)" :
			    "%s: %s", path, strerror(errno));
	} else {
		rc = check_parent(store, err);
		if (rc < 0)
			return rc;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return seterr(err, -EINVAL, "%s: not a regular file", path);
	return 0;
}

static int
connect_db(struct store *store, struct uw_error *err)
{
	int rc;

	/* NOMUTEX: a handle is used by one thread at a time (the API's
	 * rule), so SQLite need not lock it around every call: a bind, a
	 * step and a reset per row made 15 lock pairs per baseline row. */
	rc = sqlite3_open_v2(store->path, &store->db,
	    ((store->flags & STORE_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK)
		return open_fail(store, rc, err);
	sqlite3_extended_result_codes(store->db, 0);
	sqlite3_busy_timeout(store->db, 10000);
	return 0;
}

/*
 * Read the schema version into *version, refusing a SQLite file of
 * another program, a schema newer than ours, and (read-only, where it
 * cannot be migrated) one older.  An empty file is version 0.
 */
static int
check_schema(struct store *store, int64_t *version, struct uw_error *err)
{
	const char *path = store->path;
	int64_t app_id = 0, objects = 0;
	int sqlrc;

	*version = 0;
	/* The first read is where SQLite finds out it is not a database. */
	if (query_int(store, "PRAGMA application_id", &app_id, &sqlrc) < 0 ||
	    query_int(store, "PRAGMA user_version", version, &sqlrc) < 0 ||
	    query_int(store, "SELECT count(*) FROM sqlite_master", &objects,
	    &sqlrc) < 0)
		return open_fail(store, sqlrc, err);
	if (app_id != STORE_APPLICATION_ID && (objects > 0 || *version > 0))
		return seterr(err, -EINVAL, "%s: not an upperwatch database "
		    "(a SQLite file of another program)", path);
	if (*version > STORE_SCHEMA_VERSION)
		return seterr(err, -EPROTO, "%s: database schema version "
		    "%lld is newer than this upperwatch supports (%d); "
		    "upgrade upperwatch", path, (long long)*version,
		    STORE_SCHEMA_VERSION);
	if ((store->flags & STORE_READONLY) &&
	    *version < STORE_SCHEMA_VERSION)
		return seterr(err, -EPROTO, "%s: database schema version "
		    "%lld is older than this upperwatch (%d); open it "
		    "read-write once to migrate it", path,
		    (long long)*version, STORE_SCHEMA_VERSION);
	return 0;
}

/* Make a read-write connection write as we want, and bring the schema
 * from `version` to ours. */
static int
set_up_writes(struct store *store, int64_t version, struct uw_error *err)
{
	int rc;

	/* WAL keeps readers going while a baseline is written. */
	rc = sqlite3_exec(store->db, "PRAGMA journal_mode = WAL", NULL, NULL,
	    NULL);
	if (rc != SQLITE_OK)
		return open_fail(store, rc, err);
	/* FULL: a commit is on disk when it returns (the WAL is synced), so
	 * closing need not checkpoint, which would write every page of a
	 * fresh baseline a second time; the next writer's automatic
	 * checkpoints fold the WAL in. */
	rc = store_exec(store, "PRAGMA synchronous = FULL", err);
	if (rc < 0)
		return rc;
	sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
	    NULL);
	if (version < STORE_SCHEMA_VERSION)
		return migrate(store, version, err);
	return 0;
}

static int
prepare_statements(struct store *store, struct uw_error *err)
{
	int i, rc;

	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(store->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &store->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return store_sql_fail(store, err,
			    "preparing statements");
	}
	return 0;
}

struct store *
store_open(const char *path, unsigned flags, struct uw_error *err)
{
	struct store *store;
	int64_t version;

	store = calloc(1, sizeof(*store));
	if (store == NULL) {
		seterr(err, -ENOMEM, "out of memory");
		return NULL;
	}
	store->flags = flags;
	store->path = strdup(path);
	if (store->path == NULL) {
		seterr(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (check_file(store, err) < 0 || connect_db(store, err) < 0 ||
	    check_schema(store, &version, err) < 0)
		goto fail;
	if (!(flags & STORE_READONLY) &&
	    set_up_writes(store, version, err) < 0)
		goto fail;
	if (prepare_statements(store, err) < 0 || load_secret(store, err) < 0)
		goto fail;
	return store;
fail:
	store_close(store);
	return NULL;
}

void
store_close(struct store *store)
{
	int i;

	if (store == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(store->stmt[i]);
	sqlite3_close(store->db);
	free(store->path);
	free(store);
}

const char *
store_path(const struct store *store)
{
	return store->path;
}

const unsigned char *
store_secret(const struct store *store)
{
	return store->secret;
}

int
store_begin(struct store *store, struct uw_error *err)
{
	if (!sqlite3_get_autocommit(store->db))
		return 0;
	return store_exec(store, "BEGIN IMMEDIATE", err);
}

int
store_commit(struct store *store, struct uw_error *err)
{
	int rc;

	if (sqlite3_get_autocommit(store->db))
		return 0;
	rc = store_exec(store, "COMMIT", err);
	if (rc < 0)
		store_rollback(store);	/* SQLite may not have */
	return rc;
}

void
store_rollback(struct store *store)
{
	if (!sqlite3_get_autocommit(store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *store = arg;

	(void)db;
	(void)name;
	store->wal_pages = pages;
	return SQLITE_OK;
}

void
store_defer_checkpoints(struct store *store)
{
	store->ckpt_deferred = 1;
	sqlite3_wal_hook(store->db, wal_hook, store);
}

void
store_resume_checkpoints(struct store *store)
{
	store->ckpt_deferred = 0;
	sqlite3_wal_autocheckpoint(store->db, 1000);
}

int
store_wal_pages(const struct store *store)
{
	return store->wal_pages;
}

int
store_checkpoint(struct store *store, struct uw_error *err)
{
	int rc;

	rc = sqlite3_wal_checkpoint_v2(store->db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return store_sql_fail(store, err, "checkpointing the journal");
	store->wal_pages = 0;
	return 0;
}

int
store_set_cache(struct store *store, unsigned kib, struct uw_error *err)
{
	char sql[64];

	/* A PRAGMA's value cannot be bound: the text is made each time. */
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%u", kib);
	return store_exec(store, sql, err);
}
