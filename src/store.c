/*
 * store.c - the SQLite database.
 *
 * One file holds everything: the hash secret, one baseline per image, each
 * container path's last reported state and the event journal.  The schema
 * is versioned with PRAGMA user_version and stamped with our
 * application_id, so a stranger's SQLite file is refused, not altered.
 * Writes go through WAL; a baseline is replaced inside one transaction.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hash.h"
#include "store.h"
#include "util.h"

/* 'UpWa': marks a SQLite file as ours. */
#define STORE_APPLICATION_ID 0x55705761
#define STORE_SCHEMA_VERSION 7

/*
 * Every statement is prepared once, at open, from this table.  Not here:
 * the reads that tell whether the file is ours (they run before its schema
 * is known), the migrations (each runs once), the PRAGMAs that take a
 * value (PRAGMAs cannot bind one) and transaction control (exec()).
 */
enum stmt_id {
	ST_SECRET_GET,
	ST_SECRET_PUT,
	ST_PROBE,
	ST_IMAGE_FIND,
	ST_IMAGE_INSERT,
	ST_IMAGE_UPDATE,
	ST_IMAGE_DELETE,
	ST_IMAGE_INCOMPLETE,
	ST_IMAGES_ALL,
	ST_FILES_CLEAR,
	ST_FILE_INSERT,
	ST_FILE_GET,
	ST_FILES_ALL,
	ST_FILES_BELOW,
	ST_LINK_GROUP,
	ST_STATE_PUT,
	ST_STATE_DEL,
	ST_STATE_ALL,
	ST_EVENT_ADD,
	ST_EVENT_MAX,
	ST_EVENTS_FIND,
	ST_RESPONSE_ADD,
	ST_LAST_PAUSE,
	ST_COUNT
};

/* The columns of a file row, in the order row_to_record reads them. */
#define FILE_COLUMNS "path, type, mode, uid, gid, size, mtime_ns, link, " \
	"caps, hash, flags, link_group"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_SECRET_GET] = "SELECT value FROM meta WHERE key = 'hash_secret'",
	[ST_SECRET_PUT] = "INSERT INTO meta (key, value) VALUES "
	    "('hash_secret', ?1)",
	[ST_PROBE] = "INSERT OR REPLACE INTO meta (key, value) VALUES "
	    "('journal_probe', ?1)",
	[ST_IMAGE_FIND] = "SELECT id FROM images WHERE ref = ?1",
	[ST_IMAGE_INSERT] = "INSERT INTO images (ref, layers) VALUES (?1, ?2)",
	[ST_IMAGE_UPDATE] = "UPDATE images SET layers = ?2, built_ns = ?3, "
	    "entries = ?4, files = ?5, bytes = ?6, seconds = ?7, "
	    "incomplete = ?8 WHERE id = ?1",
	[ST_IMAGE_DELETE] = "DELETE FROM images WHERE id = ?1",
	[ST_IMAGE_INCOMPLETE] = "SELECT incomplete FROM images WHERE ref = ?1",
	[ST_IMAGES_ALL] = "SELECT ref, layers, built_ns, entries, files, "
	    "bytes, seconds, incomplete FROM images ORDER BY ref",
	[ST_FILES_CLEAR] = "DELETE FROM files WHERE image_id = ?1",
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
	[ST_LAST_PAUSE] = "SELECT action, method FROM responses WHERE "
	    "container = ?1 AND outcome = 'done' AND action IN ('pause', "
	    "'resume', 'kill') ORDER BY id DESC LIMIT 1",
};

struct store {
	sqlite3 *db;
	char *path;
	unsigned flags;
	unsigned char secret[HASH_SECRET_LEN];
	sqlite3_stmt *stmt[ST_COUNT];
	int ckpt_deferred;	/* the caller checkpoints (store_checkpoint) */
	int wal_pages;		/* in the WAL, after the last commit */
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
};

/* -ENOSPC when the last failure was a full disk or quota (a caller may
 * wait for space and retry), else -EIO. */
static int
fail_code(struct store *store)
{
	int sys = sqlite3_system_errno(store->db);

	if (sqlite3_errcode(store->db) == SQLITE_FULL || sys == ENOSPC ||
	    sys == EDQUOT)
		return -ENOSPC;
	return -EIO;
}

static int
sql_fail(struct store *store, struct uw_error *err, const char *what)
{
	return seterr(err, fail_code(store), "%s: %s: %s", store->path, what,
	    sqlite3_errmsg(store->db));
}

/*
 * Set *st to the table's statement `id`, to bind and step; or, when that
 * one is in the middle of a walk (the walk's callback came back into the
 * store, even for the same walk), to a fresh copy of it.  <0 (with the
 * reason, `what` failed) when the copy cannot be made.  stmt_return gives
 * either back, unbound.
 */
static int
stmt_borrow(struct store *store, enum stmt_id id, sqlite3_stmt **st,
    const char *what, struct uw_error *err)
{
	*st = store->stmt[id];
	if (!sqlite3_stmt_busy(*st))
		return 0;
	if (sqlite3_prepare_v2(store->db, stmt_sql[id], -1, st, NULL) !=
	    SQLITE_OK)
		return sql_fail(store, err, what);
	return 0;
}

static void
stmt_return(struct store *store, enum stmt_id id, sqlite3_stmt *st)
{
	if (st != store->stmt[id]) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Run SQL text as it comes, prepared on the spot: transaction control,
 * PRAGMAs and migrations. */
static int
exec(struct store *store, const char *sql, struct uw_error *err)
{
	char *msg = NULL;
	int rc, code;

	rc = sqlite3_exec(store->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		code = fail_code(store);
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

static int
migrate(struct store *store, int64_t version, struct uw_error *err)
{
	const int64_t target = STORE_SCHEMA_VERSION;
	char sql[64];
	int rc;

	if (exec(store, "BEGIN IMMEDIATE", err) < 0)
		return -EIO;
	for (; version < target; version++) {
		rc = exec(store, migrations[version], err);
		if (rc < 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld",
	    (long long)target);
	if (exec(store, sql, err) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
	    STORE_APPLICATION_ID);
	if (exec(store, sql, err) < 0)
		goto fail;
	return exec(store, "COMMIT", err);
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
		ret = sql_fail(store, err, "reading the hash secret");
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
		ret = sql_fail(store, err, "storing the hash secret");
		goto out;
	}
	ret = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

struct store *
store_open(const char *path, unsigned flags, struct uw_error *err)
{
	struct store *store;
	struct stat st;
	int64_t app_id = 0, version = 0, objects = 0;
	int rc, sqlrc, i;

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
	if (flags & STORE_READONLY) {
		if (stat(path, &st) != 0) {
			seterr(err, -errno, errno == ENOENT ?
			    "%s: no database here (build a baseline first)" :
			    "%s: %s", path, strerror(errno));
			goto fail;
		}
	} else if (check_parent(store, err) < 0) {
		goto fail;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		seterr(err, -EINVAL, "%s: not a regular file", path);
		goto fail;
	}

	/* NOMUTEX: a handle is used by one thread at a time (the API's
	 * rule), so SQLite need not lock it around every call: a bind, a
	 * step and a reset per row made 15 lock pairs per baseline row. */
	rc = sqlite3_open_v2(path, &store->db, ((flags & STORE_READONLY) ?
	    SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		open_fail(store, rc, err);
		goto fail;
	}
	sqlite3_extended_result_codes(store->db, 0);
	sqlite3_busy_timeout(store->db, 10000);

	/* The first read is where SQLite finds out it is not a database. */
	if (query_int(store, "PRAGMA application_id", &app_id, &sqlrc) < 0 ||
	    query_int(store, "PRAGMA user_version", &version, &sqlrc) < 0 ||
	    query_int(store, "SELECT count(*) FROM sqlite_master", &objects,
	    &sqlrc) < 0) {
		open_fail(store, sqlrc, err);
		goto fail;
	}
	if (app_id != STORE_APPLICATION_ID && (objects > 0 || version > 0)) {
		seterr(err, -EINVAL, "%s: not an upperwatch database "
		    "(a SQLite file of another program)", path);
		goto fail;
	}
	if (version > STORE_SCHEMA_VERSION) {
		seterr(err, -EPROTO, "%s: database schema version %lld is "
		    "newer than this upperwatch supports (%d); upgrade "
		    "upperwatch", path, (long long)version,
		    STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (flags & STORE_READONLY) {
		if (version < STORE_SCHEMA_VERSION) {
			seterr(err, -EPROTO, "%s: database schema version "
			    "%lld is older than this upperwatch (%d); open it "
			    "read-write once to migrate it", path,
			    (long long)version, STORE_SCHEMA_VERSION);
			goto fail;
		}
	} else {
		/* WAL keeps readers going while a baseline is written. */
		rc = sqlite3_exec(store->db, "PRAGMA journal_mode = WAL",
		    NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			open_fail(store, rc, err);
			goto fail;
		}
		/* FULL: a commit is on disk when it returns (the WAL is
		 * synced), so closing need not checkpoint, which would write
		 * every page of a fresh baseline a second time; the next
		 * writer's automatic checkpoints fold the WAL in. */
		if (exec(store, "PRAGMA synchronous = FULL", err) < 0)
			goto fail;
		sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
		    1, NULL);
		if (version < STORE_SCHEMA_VERSION &&
		    migrate(store, version, err) < 0)
			goto fail;
	}
	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(store->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &store->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			sql_fail(store, err, "preparing statements");
			goto fail;
		}
	}
	if (load_secret(store, err) < 0)
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
	sqlite3_stmt *st;
	struct buf joined;
	int rc, ret = -EIO;

	if (writable(store, err) < 0)
		return -EROFS;
	buf_init(&joined, 1 << 20);
	if (join_layers(layers, layer_count, &joined) < 0) {
		buf_free(&joined);
		return seterr(err, -E2BIG, "layer list too long");
	}
	if (exec(store, "BEGIN IMMEDIATE", err) < 0)
		goto out;
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
	st = store->stmt[ST_FILES_CLEAR];
	sqlite3_bind_int64(st, 1, *image_id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto sqlfail;
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
	sql_fail(store, err, "starting the baseline");
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
		return sql_fail(store, err, "recording a file");
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
		sql_fail(store, err, "finishing the baseline");
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
	rc = exec(store, "COMMIT", err);
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

int
store_images_foreach(struct store *store,
    int (*cb)(const struct uw_image_info *info, void *arg), void *arg,
    struct uw_error *err)
{
	sqlite3_stmt *st;
	struct uw_image_info info;
	const char **layers;
	int rc, ret = 0;

	ret = stmt_borrow(store, ST_IMAGES_ALL, &st, "listing images", err);
	if (ret < 0)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&info, 0, sizeof(info));
		info.image = (const char *)sqlite3_column_text(st, 0);
		layers = split_layers(sqlite3_column_blob(st, 1),
		    sqlite3_column_bytes(st, 1), &info.layer_count);
		if (layers == NULL) {
			ret = seterr(err, -ENOMEM, "out of memory");
			break;
		}
		info.layers = layers;
		info.built_ns = sqlite3_column_int64(st, 2);
		info.entries = (uint64_t)sqlite3_column_int64(st, 3);
		info.files = (uint64_t)sqlite3_column_int64(st, 4);
		info.bytes = (uint64_t)sqlite3_column_int64(st, 5);
		info.seconds = sqlite3_column_double(st, 6);
		info.incomplete = (const char *)sqlite3_column_text(st, 7);
		ret = cb(&info, arg);
		free(layers);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_fail(store, err, "listing images");
	stmt_return(store, ST_IMAGES_ALL, st);
	return ret;
}

int
store_image_remove(struct store *store, const char *image,
    struct uw_error *err)
{
	int64_t id;
	sqlite3_stmt *st;
	int rc, ret = -EIO;

	if (writable(store, err) < 0)
		return -EROFS;
	if (exec(store, "BEGIN IMMEDIATE", err) < 0)
		return -EIO;
	st = store->stmt[ST_IMAGE_FIND];
	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		ret = seterr(err, -ENOENT, "no baseline for image %s",
		    image);
		goto rollback;
	}
	if (rc != SQLITE_ROW)
		goto sqlfail;
	st = store->stmt[ST_FILES_CLEAR];
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto sqlfail;
	st = store->stmt[ST_IMAGE_DELETE];
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto sqlfail;
	return exec(store, "COMMIT", err);
sqlfail:
	ret = sql_fail(store, err, "removing the image");
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
	ret = stmt_borrow(store, ST_FILES_ALL, &st, "listing files", err);
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
		ret = sql_fail(store, err, "listing files");
	stmt_return(store, ST_FILES_ALL, st);
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
		ret = sql_fail(store, err, "reading an image");
	}
	sqlite3_reset(st);
	return ret;
}

int
store_image_id(struct store *store, const char *image, int64_t *image_id,
    struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_IMAGE_FIND];
	int rc;

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
	return sql_fail(store, err, "looking up the image");
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
		ret = sql_fail(store, err, "looking up a file");
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
		return sql_fail(store, err, "counting files");
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

int
store_begin(struct store *store, struct uw_error *err)
{
	if (!sqlite3_get_autocommit(store->db))
		return 0;
	return exec(store, "BEGIN IMMEDIATE", err);
}

int
store_commit(struct store *store, struct uw_error *err)
{
	int rc;

	if (sqlite3_get_autocommit(store->db))
		return 0;
	rc = exec(store, "COMMIT", err);
	if (rc < 0)
		store_rollback(store);	/* SQLite may not have */
	return rc;
}

int
store_probe(struct store *store, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_PROBE];
	int rc;

	/* A row that changes each time: a real page to write. */
	sqlite3_bind_int64(st, 1, now_real_ns());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return seterr(err, fail_code(store), "%s: %s", store->path,
		    sqlite3_errmsg(store->db));
	return 0;
}

void
store_rollback(struct store *store)
{
	if (!sqlite3_get_autocommit(store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

int
store_state_put(struct store *store, const char *container,
    const unsigned char *path, size_t path_len, const char *sig,
    struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_STATE_PUT];
	int rc;

	sqlite3_bind_text(st, 1, container, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, path, (int)path_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sig, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(store, err,
	    "recording path state");
}

int
store_state_del(struct store *store, const char *container,
    const unsigned char *path, size_t path_len, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_STATE_DEL];
	int rc;

	sqlite3_bind_text(st, 1, container, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, path, (int)path_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(store, err,
	    "clearing path state");
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
	return rc == SQLITE_DONE ? 0 : sql_fail(store, err, what);
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
		return sql_fail(store, err, "checkpointing the journal");
	store->wal_pages = 0;
	return 0;
}

int
store_set_cache(struct store *store, unsigned kib, struct uw_error *err)
{
	char sql[64];

	/* A PRAGMA's value cannot be bound: the text is made each time. */
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%u", kib);
	return exec(store, sql, err);
}

int
store_state_foreach(struct store *store, const char *container,
    int (*cb)(const unsigned char *path, size_t len, const char *sig,
    void *arg), void *arg, struct uw_error *err)
{
	sqlite3_stmt *st;
	const char *sig;
	int rc, ret = 0;

	ret = stmt_borrow(store, ST_STATE_ALL, &st, "listing path state",
	    err);
	if (ret < 0)
		return ret;
	sqlite3_bind_text(st, 1, container, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sig = (const char *)sqlite3_column_text(st, 1);
		ret = cb(sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), sig ? sig : "", arg);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_fail(store, err, "listing path state");
	stmt_return(store, ST_STATE_ALL, st);
	return ret;
}

int
store_next_event_id(struct store *store, uint64_t *id, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_EVENT_MAX];
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = (uint64_t)sqlite3_column_int64(st, 0) + 1;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return sql_fail(store, err, "reading the journal");
	return 0;
}

int
store_event_add(struct store *store, uint64_t id, int64_t time_ns,
    const char *container, const char *op, const unsigned char *path,
    size_t path_len, const char *type, const char *detail, size_t detail_len,
    const char *severity, const char *action, const char *policy_set,
    struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_EVENT_ADD];
	int rc;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(st, 2, time_ns);
	sqlite3_bind_text(st, 3, container, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, op, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, path, (int)path_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, detail, (int)detail_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, policy_set, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(store, err,
	    "journaling an event");
}

int
store_events_foreach(struct store *store, const char *container,
    int64_t since_ns, const char *op,
    int (*cb)(uint64_t id, int64_t time_ns, const char *container,
    const char *op, const unsigned char *path, size_t path_len,
    const char *detail, void *arg), void *arg, struct uw_error *err)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	ret = stmt_borrow(store, ST_EVENTS_FIND, &st, "reading the journal",
	    err);
	if (ret < 0)
		return ret;
	if (container != NULL)
		sqlite3_bind_text(st, 1, container, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since_ns);
	if (op != NULL)
		sqlite3_bind_text(st, 3, op, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = cb((uint64_t)sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    sqlite3_column_blob(st, 4),
		    (size_t)sqlite3_column_bytes(st, 4),
		    (const char *)sqlite3_column_text(st, 5), arg);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_fail(store, err, "reading the journal");
	stmt_return(store, ST_EVENTS_FIND, st);
	return ret;
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

int
store_response_add(struct store *store, uint64_t event_id,
    const char *container, const char *action, const char *method,
    const char *outcome, const char *detail, int64_t latency_ns,
    const char *evidence, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_RESPONSE_ADD];
	int rc;

	sqlite3_bind_int64(st, 1, now_real_ns());
	if (event_id != 0)
		sqlite3_bind_int64(st, 2, (sqlite3_int64)event_id);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, container, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, method, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, latency_ns);
	sqlite3_bind_text(st, 9, evidence, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(store, err,
	    "journaling a response");
}

int
store_last_pause(struct store *store, const char *container, char *method,
    size_t method_len, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_LAST_PAUSE];
	const char *m, *action;
	int rc, ret = 1;

	sqlite3_bind_text(st, 1, container, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		action = (const char *)sqlite3_column_text(st, 0);
		m = (const char *)sqlite3_column_text(st, 1);
		if (action != NULL && strcmp(action, "pause") == 0 &&
		    m != NULL) {
			snprintf(method, method_len, "%s", m);
			ret = 0;
		}
	} else if (rc != SQLITE_DONE) {
		ret = sql_fail(store, err, "reading responses");
	}
	sqlite3_reset(st);
	return ret;
}
