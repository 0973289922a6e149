/*
 * store_sql.h - what the files of the store share and no one else sees:
 * the connection, its table of prepared statements and the helpers that
 * turn SQLite's failures into ours.  Included by store*.c only, the one
 * place SQLite's types may go.
 */
#ifndef UW_STORE_SQL_H
#define UW_STORE_SQL_H

#include <sqlite3.h>

#include "hash.h"
#include "store.h"

/*
 * The statements, each prepared once, at open, from its SQL in store.c.
 * Not among them: the reads that tell whether the file is ours (they run
 * before its schema is known), the migrations (each runs once), the
 * PRAGMAs that take a value (PRAGMAs cannot bind one) and transaction
 * control (store_exec).
 */
enum stmt_id {
	ST_SECRET_GET,
	ST_SECRET_PUT,
	ST_PROBE,
	ST_IMAGE_FIND,
	ST_IMAGE_RESOLVE,
	ST_ALIAS_SET,
	ST_ALIAS_DEL,
	ST_IMAGE_SECRET_SET,
	ST_IMAGE_BY_ID,
	ST_ALIASES_DROP,
	ST_IMAGE_INSERT,
	ST_IMAGE_UPDATE,
	ST_IMAGE_DELETE,
	ST_IMAGE_INCOMPLETE,
	ST_IMAGES_ALL,
	ST_FILES_CLEAR,
	ST_PKGS_CLEAR,
	ST_PKG_FILES_CLEAR,
	ST_PKG_META_SET,
	ST_PKG_META_GET,
	ST_PKG_INSERT,
	ST_PKG_FILE_INSERT,
	ST_PKGS_ALL,
	ST_PKG_FILES_ALL,
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
	ST_RESPONSES_FIND,
	ST_LAST_PAUSE,
	ST_EVENTS_PRUNE,
	ST_EVENTS_COUNT,
	ST_COUNT
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

/* -ENOSPC when the last failure was a full disk or quota (a caller may
 * wait for space and retry), else -EIO. */
int store_fail_code(struct store *store);

/* Set `err` to "`what` failed" with SQLite's reason; returns
 * store_fail_code. */
int store_sql_fail(struct store *store, struct uw_error *err,
    const char *what);

/* Run SQL text as it comes, prepared on the spot: transaction control,
 * PRAGMAs and migrations. */
int store_exec(struct store *store, const char *sql, struct uw_error *err)
    UW_WARN_UNUSED;

/*
 * Set *st to the table's statement `id`, to bind and step; or, when that
 * one is in the middle of a walk (the walk's callback came back into the
 * store, even for the same walk), to a fresh copy of it.  <0 (with the
 * reason, `what` failed) when the copy cannot be made.
 * store_stmt_return gives either back, unbound.
 */
int store_stmt_borrow(struct store *store, enum stmt_id id,
    sqlite3_stmt **st, const char *what, struct uw_error *err)
    UW_WARN_UNUSED;
void store_stmt_return(struct store *store, enum stmt_id id,
    sqlite3_stmt *st);

#endif /* UW_STORE_SQL_H */
