/*
 * test_store.c - the database: creation, the kept secret, refusing files
 * that are not ours or too new, a baseline replaced all or nothing, and
 * walks that come back into the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "hash.h"
#include "store.h"
#include "upperwatch.h"

static char dir[] = "/tmp/uw-test-store.XXXXXX";
static char path[512];

static const char *
at(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void
write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static int
count_rows(const struct uw_record *rec, void *arg)
{
	(void)rec;
	(*(int *)arg)++;
	return 0;
}

/* A walk whose callback walks the same image again and looks its row
 * up: the store must not lose the outer walk's place. */
struct nested {
	struct uw_db *db;
	int outer, inner, found;
};

static int
same_path(const struct uw_record *rec, void *arg)
{
	const struct uw_record *want = arg;

	return rec->path_len == want->path_len &&
	    memcmp(rec->path, want->path, rec->path_len) == 0 ? 1 : -1;
}

static int
walk_again(const struct uw_record *rec, void *arg)
{
	struct nested *n = arg;
	struct uw_error err;

	if (uw_baseline_foreach(n->db, "img", count_rows, &n->inner,
	    &err) != 0)
		return -1;
	if (uw_baseline_lookup(n->db, "img", rec->path, rec->path_len,
	    same_path, (void *)rec, &err) == 1)
		n->found++;
	return ++n->outer == 5 ? 7 : 0;
}

static volatile sig_atomic_t cancel_now;

static void
cancel_on_progress(const struct uw_progress *p, void *arg)
{
	(void)p;
	(void)arg;
	cancel_now = 1;
}

int
main(void)
{
	unsigned char secret[HASH_SECRET_LEN];
	struct uw_error err;
	struct store *store;
	struct uw_db *db;
	struct uw_baseline_opts opts;
	struct uw_baseline_stats stats;
	const char *layers[1];
	sqlite3 *raw;
	char cmd[1024], dbpath[512];
	int rows, rc, i;

	if (mkdtemp(dir) == NULL)
		return 2;

	/* Created fresh, with a secret that survives a reopen. */
	snprintf(dbpath, sizeof(dbpath), "%s/uw.db", dir);
	store = store_open(dbpath, 0, &err);
	CHECK(store != NULL, "a new database is created");
	if (store == NULL)
		return check_done();
	memcpy(secret, store_secret(store), HASH_SECRET_LEN);
	store_close(store);
	store = store_open(dbpath, STORE_READONLY, &err);
	CHECK(store != NULL && memcmp(secret, store_secret(store),
	    HASH_SECRET_LEN) == 0, "the secret is kept across opens");
	store_close(store);

	/* Not a SQLite file at all. */
	write_file(at("junk.db"), "this is not a database, just text\n"
	    "padding padding padding padding padding padding padding\n");
	store = store_open(at("junk.db"), 0, &err);
	CHECK(store == NULL, "a text file is refused");
	snprintf(cmd, sizeof(cmd),
	    "%s/junk.db: not an upperwatch database (not a SQLite file)",
	    dir);
	CHECK_STR(err.msg, cmd, "with the reason");

	/* Another program's SQLite database. */
	CHECK(sqlite3_open(at("other.db"), &raw) == SQLITE_OK &&
	    sqlite3_exec(raw, "CREATE TABLE t (x)", NULL, NULL, NULL) ==
	    SQLITE_OK, "a foreign SQLite file made");
	sqlite3_close(raw);
	store = store_open(at("other.db"), 0, &err);
	CHECK(store == NULL, "a foreign SQLite file is refused");
	snprintf(cmd, sizeof(cmd), "%s/other.db: not an upperwatch database "
	    "(a SQLite file of another program)", dir);
	CHECK_STR(err.msg, cmd, "with the reason");

	/* A schema from the future. */
	CHECK(sqlite3_open(dbpath, &raw) == SQLITE_OK &&
	    sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL) ==
	    SQLITE_OK, "schema version bumped to 99");
	sqlite3_close(raw);
	store = store_open(dbpath, 0, &err);
	CHECK(store == NULL, "a newer schema is refused");
	snprintf(cmd, sizeof(cmd), "%s: database schema version 99 is newer "
	    "than this upperwatch supports (9); upgrade upperwatch", dbpath);
	CHECK_STR(err.msg, cmd, "with the reason");
	/* A version 1 database (no path_state yet) is migrated on open. */
	CHECK(sqlite3_open(dbpath, &raw) == SQLITE_OK &&
	    sqlite3_exec(raw, "DROP TABLE path_state; DROP INDEX events_time; "
	    "DROP TABLE image_refs; DROP TABLE packages; "
	    "DROP TABLE package_files; "
	    "ALTER TABLE images DROP COLUMN pkg_manager; "
	    "ALTER TABLE images DROP COLUMN pkg_broken; "
	    "DROP INDEX files_link_group; DROP TABLE responses; "
	    "ALTER TABLE files DROP COLUMN link_group; "
	    "ALTER TABLE events DROP COLUMN severity; "
	    "ALTER TABLE events DROP COLUMN action; "
	    "ALTER TABLE events DROP COLUMN policy_set; "
	    "ALTER TABLE images DROP COLUMN incomplete; "
	    "ALTER TABLE images DROP COLUMN secret; "
	    "CREATE TABLE containers (id TEXT PRIMARY KEY, name TEXT, "
	    "runtime TEXT, image_id INTEGER, upper BLOB, "
	    "first_seen_ns INTEGER, last_seen_ns INTEGER); "
	    "PRAGMA user_version = 1", NULL, NULL, NULL) == SQLITE_OK,
	    "made a version 1 database");
	sqlite3_close(raw);
	store = store_open(dbpath, STORE_READONLY, &err);
	CHECK(store == NULL && strstr(err.msg, "is older than this") != NULL,
	    "read-only, an old schema is refused, not changed");
	store = store_open(dbpath, 0, &err);
	CHECK(store != NULL, "read-write, it is migrated (%s)",
	    store == NULL ? err.msg : "");
	CHECK(store != NULL && memcmp(secret, store_secret(store),
	    HASH_SECRET_LEN) == 0, "keeping its secret");
	store_close(store);
	CHECK(sqlite3_open(dbpath, &raw) == SQLITE_OK &&
	    sqlite3_exec(raw, "SELECT count(*) FROM path_state", NULL, NULL,
	    NULL) == SQLITE_OK, "the new table is there");
	CHECK(sqlite3_exec(raw, "SELECT count(*) FROM containers", NULL, NULL,
	    NULL) != SQLITE_OK, "the unused containers table is gone");
	sqlite3_close(raw);

	/* A missing directory. */
	store = store_open(at("missing/dir/uw.db"), 0, &err);
	CHECK(store == NULL, "a missing directory is refused");
	CHECK_INT(err.code, -ENOENT, "as ENOENT");
	snprintf(cmd, sizeof(cmd), "%s/missing/dir/uw.db: directory "
	    "%s/missing/dir: No such file or directory", dir, dir);
	CHECK_STR(err.msg, cmd, "with the reason");

	/* Read-only open of a database that is not there. */
	store = store_open(at("none.db"), STORE_READONLY, &err);
	CHECK(store == NULL, "reading a missing database fails");
	CHECK(access(at("none.db"), F_OK) != 0, "and does not create it");

	/* A baseline is replaced whole or not at all. */
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/root/a/b && "
	    "for i in $(seq 300); do echo $i > %s/root/a/f$i; done && "
	    "echo x > %s/root/a/b/g", dir, dir, dir);
	CHECK(system(cmd) == 0, "a tree made");
	snprintf(cmd, sizeof(cmd), "%s/root", dir);
	layers[0] = cmd;
	db = uw_db_open(dbpath, 0, &err);
	CHECK(db != NULL, "opened through the API");
	memset(&opts, 0, sizeof(opts));
	opts.image = "img";
	opts.layers = layers;
	opts.layer_count = 1;
	opts.jobs = 2;
	rc = uw_baseline_build(db, &opts, &stats, &err);
	CHECK(rc == 0, "first baseline built");
	CHECK_INT(stats.entries, 304, "root, a, a/b, 300 files and a/b/g");
	CHECK_INT(stats.files, 301, "301 regular files");
	rows = 0;
	CHECK(uw_baseline_foreach(db, "img", count_rows, &rows, &err) == 0 &&
	    rows == 304, "304 rows stored");
	{
		struct nested n = { db, 0, 0, 0 };

		rc = uw_baseline_foreach(db, "img", walk_again, &n, &err);
		CHECK_INT(rc, 7, "a walk inside a walk: the outer one stops "
		    "where its callback says");
		CHECK_INT(n.inner, 5 * 304, "each inner walk sees every row");
		CHECK_INT(n.found, 5, "and a lookup finds each outer row");
	}

	snprintf(path, sizeof(path), "for i in $(seq 301 2000); do "
	    "echo $i > %s/root/a/f$i; done", dir);
	CHECK(system(path) == 0, "the tree grown");
	opts.progress = cancel_on_progress;
	opts.cancel = &cancel_now;
	rc = uw_baseline_build(db, &opts, &stats, &err);
	CHECK_INT(rc, -ECANCELED, "a cancelled build fails");
	rows = 0;
	CHECK(uw_baseline_foreach(db, "img", count_rows, &rows, &err) == 0,
	    "the image is still there");
	CHECK_INT(rows, 304, "with its old rows, whole");

	opts.progress = NULL;
	opts.cancel = NULL;
	rc = uw_baseline_build(db, &opts, &stats, &err);
	CHECK(rc == 0 && stats.entries == 2004, "a full rebuild replaces it");
	rows = 0;
	CHECK(uw_baseline_foreach(db, "img", count_rows, &rows, &err) == 0 &&
	    rows == 2004, "2004 rows now");

	layers[0] = at("no-such-layer");
	rc = uw_baseline_build(db, &opts, &stats, &err);
	CHECK(rc == -ENOENT, "a missing layer is an error");
	rows = 0;
	CHECK(uw_baseline_foreach(db, "img", count_rows, &rows, &err) == 0 &&
	    rows == 2004, "and leaves the baseline alone");

	CHECK(uw_image_remove(db, "img", &err) == 0, "an image is removed");
	CHECK(uw_baseline_foreach(db, "img", count_rows, &rows, &err) ==
	    -ENOENT, "and is gone");
	CHECK(uw_image_remove(db, "img", &err) == -ENOENT,
	    "removing it again says so");
	uw_db_close(db);

	/* Deferred checkpoints: commits let the WAL grow past SQLite's
	 * 1000 pages, store_checkpoint copies it into the database file. */
	{
		struct stat before, after;
		char detail[4000];
		uint64_t id;
		int ok = 1;

		store = store_open(at("ckpt.db"), 0, &err);
		CHECK(store != NULL, "a journal database");
		store_defer_checkpoints(store);
		memset(detail, 'x', sizeof(detail));
		for (id = 1; id <= 2000 && ok; id++) {
			ok = store_begin(store, &err) == 0 &&
			    store_event_add(store, id, (int64_t)id, "c", "added",
			    (const unsigned char *)"/p", 2, "file", detail,
			    sizeof(detail), NULL, NULL, NULL, &err) == 0 &&
			    store_commit(store, &err) == 0;
		}
		CHECK(ok, "2000 events committed one by one");
		CHECK(store_wal_pages(store) > 1000,
		    "no checkpoint on the way: %d pages in the WAL",
		    store_wal_pages(store));
		CHECK(stat(at("ckpt.db"), &before) == 0, "the file is there");
		CHECK(store_checkpoint(store, &err) == 0 &&
		    store_wal_pages(store) == 0, "a checkpoint when asked");
		CHECK(stat(at("ckpt.db"), &after) == 0 &&
		    after.st_size > before.st_size + (4 << 20),
		    "and the events are in the database file (%lld -> %lld)",
		    (long long)before.st_size, (long long)after.st_size);
		store_close(store);
	}

	for (i = 0; i < 1; i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
	return check_done();
}
