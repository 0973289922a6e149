/*
 * store.h - the SQLite database: schema and migrations, the per-database
 * hash secret, image baselines and their file rows.  The only part that
 * includes sqlite3.h.
 */
#ifndef UW_STORE_H
#define UW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "upperwatch.h"
#include "util.h"

struct store;

#define STORE_READONLY UW_DB_READONLY
#define STORE_CREATE_DIR UW_DB_CREATE_DIR

struct store *store_open(const char *path, unsigned flags,
    struct uw_error *err);
void store_close(struct store *store);
const char *store_path(const struct store *store);

/* The HASH_SECRET_LEN-byte secret that keys every content hash. */
const unsigned char *store_secret(const struct store *store);

/*
 * Replacing a baseline: store_baseline_begin opens the write transaction,
 * creates the image row if needed and drops its old file rows;
 * store_baseline_put adds one row; store_baseline_commit records the stats
 * and commits.  store_baseline_abort rolls everything back, leaving the old
 * baseline as it was.  `layers` are NUL-separated layer paths.
 */
int store_baseline_begin(struct store *store, const char *image,
    const char *const *layers, size_t layer_count, int64_t *image_id,
    struct uw_error *err) UW_WARN_UNUSED;
int store_baseline_put(struct store *store, int64_t image_id,
    const struct uw_record *rec, struct uw_error *err) UW_WARN_UNUSED;
int store_baseline_commit(struct store *store, int64_t image_id,
    const struct uw_baseline_stats *stats, struct uw_error *err)
    UW_WARN_UNUSED;
void store_baseline_abort(struct store *store);
/*
 * An image's record by any of its names, with the secret its rows were
 * hashed with (its own when it was imported, else the database's), to
 * `cb`, whose return is returned; -ENOENT when there is none.
 */
int store_image_get(struct store *store, const char *image,
    int (*cb)(const struct uw_image_info *info, const unsigned char *secret,
    void *arg), void *arg, struct uw_error *err) UW_WARN_UNUSED;
/* The secret of image `image_id`'s rows into out (HASH_SECRET_LEN). */
int store_image_secret(struct store *store, int64_t image_id,
    unsigned char *out, struct uw_error *err) UW_WARN_UNUSED;
/* Within a baseline's transaction: its rows were hashed with `secret`
 * (NULL: the database's). */
int store_image_set_secret(struct store *store, int64_t image_id,
    const unsigned char *secret, struct uw_error *err) UW_WARN_UNUSED;
/* Within a baseline's transaction: `ref` is another name of image
 * `image_id` (lookups by it find that baseline); a baseline recorded
 * under `ref` itself before is removed. */
int store_alias_set(struct store *store, const char *ref, int64_t image_id,
    struct uw_error *err) UW_WARN_UNUSED;

int store_images_foreach(struct store *store,
    int (*cb)(const struct uw_image_info *info, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;
int store_image_remove(struct store *store, const char *image,
    struct uw_error *err) UW_WARN_UNUSED;
int store_lookup(struct store *store, const char *image,
    const unsigned char *path, size_t path_len,
    int (*cb)(const struct uw_record *rec, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;
int store_foreach(struct store *store, const char *image,
    int (*cb)(const struct uw_record *rec, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* 1 (with the reason in `why`) when the image's baseline could not
 * record every entry, 0 when it is whole or absent, <0 on error. */
int store_image_incomplete(struct store *store, const char *image, char *why,
    size_t why_len, struct uw_error *err) UW_WARN_UNUSED;

struct pkgdb;

/* The image's package database (pkgdb.h), in the open baseline
 * transaction of image_id; or read back whole into an initialised db. */
int store_packages_put(struct store *store, int64_t image_id,
    const struct pkgdb *db, struct uw_error *err) UW_WARN_UNUSED;
int store_packages_load(struct store *store, const char *image,
    struct pkgdb *db, struct uw_error *err) UW_WARN_UNUSED;

/* The id of an image's baseline; -ENOENT (with a message) if none. */
int store_image_id(struct store *store, const char *image,
    int64_t *image_id, struct uw_error *err) UW_WARN_UNUSED;

/* One baseline row with storage of its own (reused across lookups). */
struct store_row {
	struct uw_record rec;
	struct buf path, link, caps;
};

void store_row_init(struct store_row *row);
void store_row_free(struct store_row *row);

/* Fetch the row of `path`: 0 found, 1 not in the baseline, <0 error. */
int store_get_row(struct store *store, int64_t image_id,
    const unsigned char *path, size_t path_len, struct store_row *row,
    struct uw_error *err) UW_WARN_UNUSED;

/* Call `cb` with each path of the hard-link group `group` but `except`.
 * The callback must not use the store. */
int store_link_group(struct store *store, int64_t image_id, uint64_t group,
    const unsigned char *except, size_t except_len,
    int (*cb)(const unsigned char *path, size_t len, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* How many baseline rows lie below the dir `path` (by index range). */
int store_count_below(struct store *store, int64_t image_id,
    const unsigned char *path, size_t path_len, uint64_t *count,
    struct uw_error *err) UW_WARN_UNUSED;

/* The store behind a public handle (api.c). */
struct store *api_db_store(struct uw_db *db);

/* ---- the journal ---- */

/* Group writes: begin is a no-op inside a transaction, commit outside. */
int store_begin(struct store *store, struct uw_error *err) UW_WARN_UNUSED;
int store_commit(struct store *store, struct uw_error *err) UW_WARN_UNUSED;
/* Write one small row, in the open transaction: whether the journal
 * can write at all (an empty transaction commits on a full disk). */
int store_probe(struct store *store, struct uw_error *err) UW_WARN_UNUSED;
/* Drop the open transaction, if any (after a failed write). */
void store_rollback(struct store *store);
/* Writes fail with -ENOSPC when the disk or quota is full (a caller may
 * wait for space and retry), with -EIO otherwise. */

/*
 * Checkpoints: by default SQLite copies the WAL into the database file
 * at the commit that takes it past 1000 pages.  After
 * store_defer_checkpoints the caller does it, when it suits it, with
 * store_checkpoint (passive: never waits for readers);
 * store_wal_pages says how far the WAL has grown.
 */
void store_defer_checkpoints(struct store *store);
void store_resume_checkpoints(struct store *store);	/* SQLite's again */
int store_wal_pages(const struct store *store);
int store_checkpoint(struct store *store, struct uw_error *err)
    UW_WARN_UNUSED;

/* SQLite's page cache for this connection, in KiB (default 2 MiB). */
int store_set_cache(struct store *store, unsigned kib, struct uw_error *err)
    UW_WARN_UNUSED;

/* What was last reported of a container's path (a signature string). */
int store_state_put(struct store *store, const char *container,
    const unsigned char *path, size_t path_len, const char *sig,
    struct uw_error *err) UW_WARN_UNUSED;
int store_state_del(struct store *store, const char *container,
    const unsigned char *path, size_t path_len, struct uw_error *err)
    UW_WARN_UNUSED;
/* Each path of a container's state, with its signature. */
int store_state_foreach(struct store *store, const char *container,
    int (*cb)(const unsigned char *path, size_t len, const char *sig,
    void *arg), void *arg, struct uw_error *err) UW_WARN_UNUSED;

/* Events: ids are given by the (single) writer, from next_event_id on. */
int store_next_event_id(struct store *store, uint64_t *id,
    struct uw_error *err) UW_WARN_UNUSED;
/* severity, action and policy_set may be NULL (not judged). */
int store_event_add(struct store *store, uint64_t id, int64_t time_ns,
    const char *container, const char *op, const unsigned char *path,
    size_t path_len, const char *type, const char *detail, size_t detail_len,
    const char *severity, const char *action, const char *policy_set,
    struct uw_error *err) UW_WARN_UNUSED;
/* How many events the journal holds. */
int store_events_count(struct store *store, uint64_t *count,
    struct uw_error *err) UW_WARN_UNUSED;
/* Delete up to `max` of the oldest events of the lowest severity that
 * has any (not judged, then info, low, medium, high, critical); each
 * deletion in a statement of its own.  *deleted gets how many: 0 when
 * there are none left. */
int store_events_prune(struct store *store, unsigned max, uint64_t *deleted,
    struct uw_error *err) UW_WARN_UNUSED;
/* Events in id order; NULL filters match everything; `container`
 * matches an id or an id prefix. */
int store_events_foreach(struct store *store, const char *container,
    int64_t since_ns, const char *op,
    int (*cb)(uint64_t id, int64_t time_ns, const char *container,
    const char *op, const unsigned char *path, size_t path_len,
    const char *detail, void *arg), void *arg, struct uw_error *err)
    UW_WARN_UNUSED;

/* ---- responses ---- */

/* Journal a response (outcome "done", "failed" or "skipped") made at
 * time_ns (0: now). */
int store_response_add(struct store *store, int64_t time_ns,
    uint64_t event_id, const char *container, const char *action,
    const char *method, const char *outcome, const char *detail,
    int64_t latency_ns, const char *evidence, struct uw_error *err)
    UW_WARN_UNUSED;

/* The responses journaled since since_ns, of a container (an id or id
 * prefix; NULL: all), in order. */
int store_responses_foreach(struct store *store, const char *container,
    int64_t since_ns, int (*cb)(const struct uw_response *r, void *arg),
    void *arg, struct uw_error *err) UW_WARN_UNUSED;

/* How the container was last paused by us: 0 with the method when its
 * last done pause/resume/kill was a pause, 1 when it is not paused. */
int store_last_pause(struct store *store, const char *container,
    char *method, size_t method_len, struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_STORE_H */
