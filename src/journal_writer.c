/*
 * journal_writer.c - the journal's writes on a thread of their own (see
 * journal_writer.h).
 *
 * Writes are kept as one allocation each, in a list, under one mutex:
 * the watcher gathers a batch and appends it, the writer takes the
 * whole list at once and applies it on its own connection, outside the
 * lock.  The writer opens a transaction at the first write after a
 * commit and commits after a write marked so (jw_commit marks the last
 * one handed out, or asks for a commit at once when there is none: a
 * commit never needs memory); after a commit it copies the WAL into the
 * database file once it passes CKPT_BUSY_PAGES, and, when the watcher
 * is about to wait (jw_idle), once it passes CKPT_IDLE_PAGES.
 *
 * With a limit (jw_limit) it counts the journal's events (once, then as
 * it adds and deletes them); past the limit, after a commit, it deletes
 * the oldest events of the lowest severity, a batch at a time, down to
 * nine tenths of the limit: a container that rewrites files in a loop
 * cannot fill the disk with its own events, nor push a critical event
 * out before every lesser one.  Events only: the other tables (the
 * baselines, each path's last state) neither count nor make an event go.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "journal_writer.h"
#include "store.h"
#include "watcher.h"

/* Writes handed out and not applied yet, at most, in count and in bytes
 * (a container's paths and their JSON may be long): the watcher waits. */
#define JW_QUEUE_MAX 4096
#define JW_QUEUE_BYTES (8u << 20)
/* Writes the watcher gathers before it hands them over (a commit mark
 * hands them over at once): one lock and one wake-up per batch, not per
 * event. */
#define JW_BATCH 64
/* The events one deletion takes; the deletions one prune makes at most
 * (the next commit goes on). */
#define JW_PRUNE_BATCH 5000
#define JW_PRUNE_ROUNDS 64

enum jw_kind { JW_EVENT, JW_RESPONSE, JW_STATE_DEL };

struct jw_op {
	struct jw_op *next;
	enum jw_kind kind;
	int commit;			/* commit after it */
	size_t size;			/* of the allocation */
	uint64_t id;			/* event id */
	int64_t time_ns;		/* event or response time */
	int64_t latency_ns;		/* response */
	size_t path_len, json_len;
	/* into data; NULL when not given */
	const char *str[7];
	const unsigned char *path;	/* never NULL */
	const char *json;
	char data[];
};

/* str[] of an event: container, op, type, severity, action,
 * policy_set, sig; of a response: container, action, method, outcome,
 * detail, evidence; of a state_del: container. */
enum { S_CTR, S_OP, S_TYPE, S_SEV, S_ACT, S_SET, S_SIG, S_COUNT };
enum { R_CTR, R_ACTION, R_METHOD, R_OUTCOME, R_DETAIL, R_EVIDENCE };

struct jw {
	struct store *store;		/* the writer's own connection */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;		/* the writer waits for writes */
	pthread_cond_t done;		/* the watcher waits for the writer */
	struct jw_op *head, *tail;
	size_t queued, queued_bytes;
	/* the watcher's batch, not handed over yet (its thread only) */
	struct jw_op *batch_head, *batch_tail;
	size_t batch, batch_bytes;
	int waiting;			/* the writer waits for work */
	uint64_t handed, applied;	/* writes, by count */
	int stop;
	int commit_now;			/* commit, with nothing to write */
	int idle;			/* the watcher is about to wait */
	/* the first write that failed: writes are dropped from then on,
	 * until jw_resume; `taken` once jw_failure has said it */
	int failed, taken;
	struct uw_error fail;
	uint64_t pruned;		/* events deleted over the limit */
	/* the writer's side, outside the lock */
	int in_txn;
	uint64_t max_events;		/* 0: no limit */
	uint64_t events;		/* in the journal, once counted */
	int counted;
};

/* Hand the batch over to the writer. */
static void
jw_flush(struct jw *jw)
{
	if (jw->batch_head == NULL)
		return;
	pthread_mutex_lock(&jw->mu);
	while (jw->queued >= JW_QUEUE_MAX || (jw->queued_bytes > 0 &&
	    jw->queued_bytes + jw->batch_bytes > JW_QUEUE_BYTES))
		pthread_cond_wait(&jw->done, &jw->mu);
	if (jw->tail != NULL)
		jw->tail->next = jw->batch_head;
	else
		jw->head = jw->batch_head;
	jw->tail = jw->batch_tail;
	jw->queued += jw->batch;
	jw->queued_bytes += jw->batch_bytes;
	jw->handed += jw->batch;
	if (jw->waiting)
		pthread_cond_signal(&jw->work);
	pthread_mutex_unlock(&jw->mu);
	jw->batch_head = jw->batch_tail = NULL;
	jw->batch = jw->batch_bytes = 0;
}

/* Append op to the batch, handed over when full (or at jw_commit). */
static void
jw_put(struct jw *jw, struct jw_op *op)
{
	op->next = NULL;
	if (jw->batch_tail != NULL)
		jw->batch_tail->next = op;
	else
		jw->batch_head = op;
	jw->batch_tail = op;
	jw->batch_bytes += op->size;
	if (++jw->batch >= JW_BATCH)
		jw_flush(jw);
}

/* A new op with copies of the strings `s` (n of them, NULL kept NULL),
 * of path_len bytes at `path` and of json_len at `json`. */
static struct jw_op *
jw_op_new(enum jw_kind kind, const char *const *s, size_t n,
    const void *path, size_t path_len, const char *json, size_t json_len)
{
	struct jw_op *op;
	size_t len[7], total = path_len + json_len, i;
	char *p;

	for (i = 0; i < n; i++) {
		len[i] = s[i] != NULL ? strlen(s[i]) + 1 : 0;
		total += len[i];
	}
	op = malloc(sizeof(*op) + total);
	if (op == NULL)
		return NULL;
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->size = sizeof(*op) + total;
	p = op->data;
	for (i = 0; i < n; i++) {
		if (s[i] == NULL)
			continue;
		memcpy(p, s[i], len[i]);
		op->str[i] = p;
		p += len[i];
	}
	/* never NULL: an empty path is bound as an empty blob */
	if (path_len > 0)
		memcpy(p, path, path_len);
	op->path = (const unsigned char *)p;
	op->path_len = path_len;
	p += path_len;
	if (json != NULL) {
		memcpy(p, json, json_len);
		op->json = p;
		op->json_len = json_len;
	}
	return op;
}

int
jw_event(struct jw *jw, uint64_t id, int64_t time_ns, const char *container,
    const char *op_name, const unsigned char *path, size_t path_len,
    const char *type, const char *json, size_t json_len,
    const char *severity, const char *action, const char *policy_set,
    const char *sig)
{
	const char *s[S_COUNT] = { container, op_name, type, severity,
	    action, policy_set, sig };
	struct jw_op *op;

	op = jw_op_new(JW_EVENT, s, S_COUNT, path, path_len, json, json_len);
	if (op == NULL)
		return -ENOMEM;
	op->id = id;
	op->time_ns = time_ns;
	jw_put(jw, op);
	return 0;
}

int
jw_response(struct jw *jw, uint64_t event_id, const char *container,
    const char *action, const char *method, const char *outcome,
    const char *detail, int64_t latency_ns, const char *evidence)
{
	const char *s[6] = { container, action, method, outcome, detail,
	    evidence };
	struct jw_op *op;

	op = jw_op_new(JW_RESPONSE, s, 6, NULL, 0, NULL, 0);
	if (op == NULL)
		return -ENOMEM;
	op->id = event_id;
	op->time_ns = now_real_ns();	/* when it was done, not written */
	op->latency_ns = latency_ns;
	jw_put(jw, op);
	return 0;
}

int
jw_state_del(struct jw *jw, const char *container, const unsigned char *path,
    size_t len)
{
	const char *s[1] = { container };
	struct jw_op *op;

	op = jw_op_new(JW_STATE_DEL, s, 1, path, len, NULL, 0);
	if (op == NULL)
		return -ENOMEM;
	jw_put(jw, op);
	return 0;
}

void
jw_commit(struct jw *jw)
{
	if (jw->batch_tail != NULL) {
		jw->batch_tail->commit = 1;
		jw_flush(jw);
		return;
	}
	pthread_mutex_lock(&jw->mu);
	if (jw->tail != NULL) {
		jw->tail->commit = 1;	/* not taken by the writer yet */
	} else {
		jw->commit_now = 1;
		if (jw->waiting)
			pthread_cond_signal(&jw->work);
	}
	pthread_mutex_unlock(&jw->mu);
}

void
jw_idle(struct jw *jw)
{
	pthread_mutex_lock(&jw->mu);
	jw->idle = 1;
	if (jw->waiting)
		pthread_cond_signal(&jw->work);
	pthread_mutex_unlock(&jw->mu);
}

/* Over the limit: delete the oldest events of the lowest severity, a
 * batch per transaction, down to nine tenths of it (or until no event is
 * left, or JW_PRUNE_ROUNDS were made: the next commit goes on).  Outside
 * a transaction; 0 or <0 (err). */
static int
jw_prune(struct jw *jw, struct uw_error *err)
{
	uint64_t keep = jw->max_events - jw->max_events / 10, n, total = 0;
	int i, rc = 0;

	if (!jw->counted) {
		rc = store_events_count(jw->store, &jw->events, err);
		if (rc < 0)
			return rc;
		jw->counted = 1;
	}
	for (i = 0; i < JW_PRUNE_ROUNDS && jw->events > jw->max_events; i++) {
		n = jw->events - keep;
		rc = store_begin(jw->store, err);
		if (rc < 0)
			break;
		rc = store_events_prune(jw->store, n < JW_PRUNE_BATCH ?
		    (unsigned)n : JW_PRUNE_BATCH, &n, err);
		if (rc < 0) {
			store_rollback(jw->store);
			break;
		}
		rc = store_commit(jw->store, err);
		if (rc < 0 || n == 0)
			break;
		total += n;
		jw->events -= n;
		if (jw->events <= keep)
			break;
	}
	pthread_mutex_lock(&jw->mu);
	jw->pruned += total;
	pthread_mutex_unlock(&jw->mu);
	return rc;
}

/* Commit the writer's transaction, if open (and prune, when due); then
 * copy the WAL back once it has grown past `pages`.  0 or <0 (err). */
static int
jw_end_txn(struct jw *jw, int pages, struct uw_error *err)
{
	int rc = 0;

	if (jw->in_txn) {
		jw->in_txn = 0;
		rc = store_commit(jw->store, err);
	}
	if (rc == 0 && jw->max_events != 0 &&
	    (!jw->counted || jw->events > jw->max_events))
		rc = jw_prune(jw, err);
	if (rc == 0 && store_wal_pages(jw->store) >= pages &&
	    store_checkpoint(jw->store, err) < 0)
		rc = -EIO;
	return rc;
}

/* Apply one write on the writer's connection, and the commit after it
 * when it is marked so; 0 or <0 (err). */
static int
jw_apply(struct jw *jw, const struct jw_op *op, struct uw_error *err)
{
	int rc = 0;

	if (!jw->in_txn) {
		rc = store_begin(jw->store, err);
		if (rc < 0)
			return rc;
		jw->in_txn = 1;
	}
	switch (op->kind) {
	case JW_EVENT:
		jw->events++;
		rc = store_event_add(jw->store, op->id, op->time_ns,
		    op->str[S_CTR], op->str[S_OP], op->path, op->path_len,
		    op->str[S_TYPE], op->json, op->json_len,
		    op->str[S_SEV], op->str[S_ACT], op->str[S_SET], err);
		if (rc == 0)
			rc = store_state_put(jw->store, op->str[S_CTR],
			    op->path, op->path_len, op->str[S_SIG], err);
		break;
	case JW_RESPONSE:
		rc = store_response_add(jw->store, op->time_ns, op->id,
		    op->str[R_CTR], op->str[R_ACTION], op->str[R_METHOD],
		    op->str[R_OUTCOME], op->str[R_DETAIL], op->latency_ns,
		    op->str[R_EVIDENCE], err);
		break;
	case JW_STATE_DEL:
		rc = store_state_del(jw->store, op->str[S_CTR], op->path,
		    op->path_len, err);
		break;
	}
	if (rc == 0 && op->commit)
		rc = jw_end_txn(jw, CKPT_BUSY_PAGES, err);
	return rc;
}

/* A write failed (rc, err): its transaction is rolled back, and what
 * comes is dropped until jw_resume. */
static void
jw_failed(struct jw *jw, int rc, struct uw_error *err)
{
	store_rollback(jw->store);
	jw->in_txn = 0;
	if (err->code == 0)
		seterr(err, rc, "the journal's writer failed");
	pthread_mutex_lock(&jw->mu);
	if (!jw->failed) {
		jw->failed = 1;
		jw->fail = *err;
	}
	pthread_mutex_unlock(&jw->mu);
}

/* Apply a list of writes (dropping them from a failure on, until
 * jw_resume), freeing each; then say how many were done. */
static void
jw_run_list(struct jw *jw, struct jw_op *list)
{
	struct uw_error err;
	struct jw_op *op;
	uint64_t n = 0;
	int failed, rc;

	pthread_mutex_lock(&jw->mu);
	failed = jw->failed;
	pthread_mutex_unlock(&jw->mu);
	for (; list != NULL; list = op) {
		op = list->next;
		n++;
		if (!failed) {
			memset(&err, 0, sizeof(err));
			rc = jw_apply(jw, list, &err);
			if (rc < 0) {
				jw_failed(jw, rc, &err);
				failed = 1;
			}
		}
		free(list);
	}
	pthread_mutex_lock(&jw->mu);
	jw->applied += n;
	pthread_cond_broadcast(&jw->done);
	pthread_mutex_unlock(&jw->mu);
}

/* What the watcher asked for besides writes: a commit with nothing to
 * write (commit_now), a checkpoint while it waits (idle).  Called and
 * returns with the lock held; a request is cleared once it is done (so
 * that jw_sync cannot see it done early), and one made meanwhile is
 * covered by it: nothing was handed out in between (else the write
 * would carry the commit). */
static void
jw_asked(struct jw *jw)
{
	struct uw_error err;
	int commit = jw->commit_now, idle = jw->idle, rc = 0;

	if (!jw->failed && (commit || idle)) {
		pthread_mutex_unlock(&jw->mu);
		memset(&err, 0, sizeof(err));
		if (commit)
			rc = jw_end_txn(jw, CKPT_BUSY_PAGES, &err);
		if (rc == 0 && idle && !jw->in_txn)
			rc = jw_end_txn(jw, CKPT_IDLE_PAGES, &err);
		if (rc < 0)
			jw_failed(jw, rc, &err);
		pthread_mutex_lock(&jw->mu);
	}
	if (commit)
		jw->commit_now = 0;
	if (idle)
		jw->idle = 0;
}

static void *
jw_main(void *arg)
{
	struct jw *jw = arg;
	struct jw_op *list;

	pthread_mutex_lock(&jw->mu);
	for (;;) {
		while (jw->head == NULL && !jw->commit_now && !jw->idle &&
		    !jw->stop) {
			jw->waiting = 1;
			pthread_cond_wait(&jw->work, &jw->mu);
			jw->waiting = 0;
		}
		if (jw->head != NULL) {
			list = jw->head;
			jw->head = jw->tail = NULL;
			jw->queued = jw->queued_bytes = 0;
			pthread_cond_broadcast(&jw->done);	/* room */
			pthread_mutex_unlock(&jw->mu);
			jw_run_list(jw, list);
			pthread_mutex_lock(&jw->mu);
			continue;	/* (what was asked comes after) */
		}
		jw_asked(jw);
		pthread_cond_broadcast(&jw->done);
		if (jw->stop && jw->head == NULL)
			break;
	}
	pthread_mutex_unlock(&jw->mu);
	return NULL;
}

int
jw_start(struct jw **out, const char *path, struct uw_error *err)
{
	sigset_t all, old;
	struct jw *jw;
	int rc;

	*out = NULL;
	jw = calloc(1, sizeof(*jw));
	if (jw == NULL)
		return seterr(err, -ENOMEM, "out of memory");
	jw->store = store_open(path, 0, err);
	if (jw->store == NULL) {
		free(jw);
		return err->code < 0 ? err->code : -EIO;
	}
	/* as the watcher's connection: rows by the thousand per
	 * transaction, and the WAL copied back when it suits */
	rc = store_set_cache(jw->store, 16384, err);
	if (rc < 0) {
		store_close(jw->store);
		free(jw);
		return rc;
	}
	store_defer_checkpoints(jw->store);
	pthread_mutex_init(&jw->mu, NULL);
	pthread_cond_init(&jw->work, NULL);
	pthread_cond_init(&jw->done, NULL);
	/* signals are the watcher's: its poll must be the one they wake */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&jw->thread, NULL, jw_main, jw);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&jw->done);
		pthread_cond_destroy(&jw->work);
		pthread_mutex_destroy(&jw->mu);
		store_close(jw->store);
		free(jw);
		return seterr(err, -rc, "cannot start the journal's writer: "
		    "%s", strerror(rc));
	}
	*out = jw;
	return 0;
}

void
jw_sync(struct jw *jw)
{
	uint64_t want;

	jw_commit(jw);
	pthread_mutex_lock(&jw->mu);
	want = jw->handed;
	while (jw->applied < want || jw->commit_now)
		pthread_cond_wait(&jw->done, &jw->mu);
	pthread_mutex_unlock(&jw->mu);
}

int
jw_failure(struct jw *jw, struct uw_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&jw->mu);
	if (jw->failed && !jw->taken) {
		*err = jw->fail;
		rc = jw->fail.code < 0 ? jw->fail.code : -EIO;
		jw->taken = 1;
	}
	pthread_mutex_unlock(&jw->mu);
	return rc;
}

void
jw_resume(struct jw *jw)
{
	pthread_mutex_lock(&jw->mu);
	jw->failed = jw->taken = 0;
	pthread_mutex_unlock(&jw->mu);
}

int
jw_stop(struct jw *jw, struct uw_error *err)
{
	int rc;

	if (jw == NULL)
		return 0;
	jw_sync(jw);
	pthread_mutex_lock(&jw->mu);
	jw->stop = 1;
	pthread_cond_signal(&jw->work);
	pthread_mutex_unlock(&jw->mu);
	pthread_join(jw->thread, NULL);
	rc = jw_failure(jw, err);
	if (jw->in_txn)
		store_rollback(jw->store);
	store_close(jw->store);
	pthread_cond_destroy(&jw->done);
	pthread_cond_destroy(&jw->work);
	pthread_mutex_destroy(&jw->mu);
	free(jw);
	return rc;
}

void
jw_limit(struct jw *jw, uint64_t max_events)
{
	pthread_mutex_lock(&jw->mu);
	jw->max_events = max_events;
	pthread_mutex_unlock(&jw->mu);
}

uint64_t
jw_pruned(struct jw *jw)
{
	uint64_t n;

	pthread_mutex_lock(&jw->mu);
	n = jw->pruned;
	pthread_mutex_unlock(&jw->mu);
	return n;
}
