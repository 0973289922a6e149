/*
 * store_journal.c - what the watcher writes down as it goes: the last
 * reported state of each container path (so a rescan reports only what
 * changed), the event journal with each event's verdict, and the
 * responses carried out (pause, kill, resume) with their outcome; and
 * the probe that tells whether the journal can write at all.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_sql.h"
#include "util.h"

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
		return seterr(err, store_fail_code(store), "%s: %s",
		    store->path, sqlite3_errmsg(store->db));
	return 0;
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
	return rc == SQLITE_DONE ? 0 : store_sql_fail(store, err,
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
	return rc == SQLITE_DONE ? 0 : store_sql_fail(store, err,
	    "clearing path state");
}

int
store_state_foreach(struct store *store, const char *container,
    int (*cb)(const unsigned char *path, size_t len, const char *sig,
    void *arg), void *arg, struct uw_error *err)
{
	sqlite3_stmt *st;
	const char *sig;
	int rc, ret = 0;

	ret = store_stmt_borrow(store, ST_STATE_ALL, &st,
	    "listing path state", err);
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
		ret = store_sql_fail(store, err, "listing path state");
	store_stmt_return(store, ST_STATE_ALL, st);
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
		return store_sql_fail(store, err, "reading the journal");
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
	return rc == SQLITE_DONE ? 0 : store_sql_fail(store, err,
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

	ret = store_stmt_borrow(store, ST_EVENTS_FIND, &st,
	    "reading the journal", err);
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
		ret = store_sql_fail(store, err, "reading the journal");
	store_stmt_return(store, ST_EVENTS_FIND, st);
	return ret;
}

int
store_response_add(struct store *store, int64_t time_ns, uint64_t event_id,
    const char *container, const char *action, const char *method,
    const char *outcome, const char *detail, int64_t latency_ns,
    const char *evidence, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_RESPONSE_ADD];
	int rc;

	sqlite3_bind_int64(st, 1, time_ns != 0 ? time_ns : now_real_ns());
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
	return rc == SQLITE_DONE ? 0 : store_sql_fail(store, err,
	    "journaling a response");
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL ? s : "";
}

int
store_responses_foreach(struct store *store, const char *container,
    int64_t since_ns, int (*cb)(const struct uw_response *r, void *arg),
    void *arg, struct uw_error *err)
{
	struct uw_response r;
	sqlite3_stmt *st;
	int rc, ret = 0;

	ret = store_stmt_borrow(store, ST_RESPONSES_FIND, &st, "reading "
	    "responses", err);
	if (ret < 0)
		return ret;
	if (container != NULL)
		sqlite3_bind_text(st, 1, container, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since_ns);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.event_id = (uint64_t)sqlite3_column_int64(st, 0);
		r.time_ns = sqlite3_column_int64(st, 1);
		r.container = col_text(st, 2);
		r.action = col_text(st, 3);
		r.method = col_text(st, 4);
		r.outcome = col_text(st, 5);
		r.detail = col_text(st, 6);
		r.latency_ns = sqlite3_column_int64(st, 7);
		r.evidence = col_text(st, 8);
		ret = cb(&r, arg);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_sql_fail(store, err, "reading responses");
	store_stmt_return(store, ST_RESPONSES_FIND, st);
	return ret;
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
		ret = store_sql_fail(store, err, "reading responses");
	}
	sqlite3_reset(st);
	return ret;
}

int
store_events_count(struct store *store, uint64_t *count, struct uw_error *err)
{
	sqlite3_stmt *st = store->stmt[ST_EVENTS_COUNT];
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : store_sql_fail(store, err,
	    "counting the journal's events");
}

int
store_events_prune(struct store *store, unsigned max, uint64_t *deleted,
    struct uw_error *err)
{
	static const char *const order[] = {
		NULL, "info", "low", "medium", "high", "critical",
	};
	sqlite3_stmt *st = store->stmt[ST_EVENTS_PRUNE];
	size_t i;
	int rc;

	*deleted = 0;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (order[i] != NULL)
			sqlite3_bind_text(st, 1, order[i], -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 1);
		sqlite3_bind_int64(st, 2, max);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_sql_fail(store, err,
			    "deleting the oldest events");
		*deleted = (uint64_t)sqlite3_changes(store->db);
		if (*deleted > 0)
			break;
	}
	return 0;
}
