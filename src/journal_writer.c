/*
 * journal_writer.c - the journal's writes on a thread of their own (see
 * journal_writer.h).
 *
 * Writes are kept as one allocation each, in a list, under one mutex:
 * the watcher appends, the writer takes the whole list at once and
 * applies it on its own connection, outside the lock.  The writer opens
 * a transaction at the first write after a commit, commits at each
 * commit mark, and after a commit copies the WAL into the database file
 * once it passes CKPT_BUSY_PAGES, or CKPT_IDLE_PAGES when nothing is
 * waiting.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "journal_writer.h"
#include "store.h"
#include "watcher.h"

/* Writes handed out and not applied yet, at most: the watcher waits. */
#define JW_QUEUE_MAX 4096
/* Writes the watcher gathers before it hands them over (a commit mark
 * hands them over at once): one lock and one wake-up per batch, not per
 * event. */
#define JW_BATCH 64

enum jw_kind { JW_EVENT, JW_RESPONSE, JW_STATE_DEL, JW_COMMIT };

struct jw_op {
	struct jw_op *next;
	enum jw_kind kind;
	uint64_t id;			/* event id */
	int64_t time_ns;		/* event time; response latency */
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
	size_t queued;
	/* the watcher's batch, not handed over yet (its thread only) */
	struct jw_op *batch_head, *batch_tail;
	size_t batch;
	int waiting;			/* the writer waits for work */
	uint64_t handed, applied;	/* writes, by count */
	int stop;
	/* the first write that failed, until taken */
	int failed;
	struct uw_error fail;
	/* the writer's side, outside the lock */
	int in_txn;
};

/* Hand the batch over to the writer. */
static void
jw_flush(struct jw *jw)
{
	if (jw->batch_head == NULL)
		return;
	pthread_mutex_lock(&jw->mu);
	while (jw->queued >= JW_QUEUE_MAX)
		pthread_cond_wait(&jw->done, &jw->mu);
	if (jw->tail != NULL)
		jw->tail->next = jw->batch_head;
	else
		jw->head = jw->batch_head;
	jw->tail = jw->batch_tail;
	jw->queued += jw->batch;
	jw->handed += jw->batch;
	if (jw->waiting)
		pthread_cond_signal(&jw->work);
	pthread_mutex_unlock(&jw->mu);
	jw->batch_head = jw->batch_tail = NULL;
	jw->batch = 0;
}

/* Append op to the batch, handed over when full or at a commit mark;
 * returns 0. */
static int
jw_put(struct jw *jw, struct jw_op *op)
{
	op->next = NULL;
	if (jw->batch_tail != NULL)
		jw->batch_tail->next = op;
	else
		jw->batch_head = op;
	jw->batch_tail = op;
	if (++jw->batch >= JW_BATCH || op->kind == JW_COMMIT)
		jw_flush(jw);
	return 0;
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
	return jw_put(jw, op);
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
	op->time_ns = latency_ns;
	return jw_put(jw, op);
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
	return jw_put(jw, op);
}

int
jw_commit(struct jw *jw)
{
	struct jw_op *op;

	op = jw_op_new(JW_COMMIT, NULL, 0, NULL, 0, NULL, 0);
	if (op == NULL)
		return -ENOMEM;
	return jw_put(jw, op);
}

/* Apply one write on the writer's connection; 0 or <0 (err). */
static int
jw_apply(struct jw *jw, const struct jw_op *op, struct uw_error *err)
{
	int rc = 0;

	if (op->kind == JW_COMMIT) {
		if (!jw->in_txn)
			return 0;
		jw->in_txn = 0;
		rc = store_commit(jw->store, err);
		if (rc == 0 && store_wal_pages(jw->store) >= CKPT_BUSY_PAGES &&
		    store_checkpoint(jw->store, err) < 0)
			rc = -EIO;
		return rc;
	}
	if (!jw->in_txn) {
		rc = store_begin(jw->store, err);
		if (rc < 0)
			return rc;
		jw->in_txn = 1;
	}
	switch (op->kind) {
	case JW_EVENT:
		rc = store_event_add(jw->store, op->id, op->time_ns,
		    op->str[S_CTR], op->str[S_OP], op->path, op->path_len,
		    op->str[S_TYPE], op->json, op->json_len,
		    op->str[S_SEV], op->str[S_ACT], op->str[S_SET], err);
		if (rc == 0)
			rc = store_state_put(jw->store, op->str[S_CTR],
			    op->path, op->path_len, op->str[S_SIG], err);
		break;
	case JW_RESPONSE:
		rc = store_response_add(jw->store, op->id, op->str[R_CTR],
		    op->str[R_ACTION], op->str[R_METHOD], op->str[R_OUTCOME],
		    op->str[R_DETAIL], op->time_ns, op->str[R_EVIDENCE], err);
		break;
	case JW_STATE_DEL:
		rc = store_state_del(jw->store, op->str[S_CTR], op->path,
		    op->path_len, err);
		break;
	case JW_COMMIT:
		break;
	}
	return rc;
}

/* A write failed (rc, err): its transaction is rolled back, and what
 * comes is dropped until the watcher takes the failure. */
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

/* Apply a list of writes (dropping them while a failure is untaken),
 * freeing each; then say how many were done. */
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

static void *
jw_main(void *arg)
{
	struct jw *jw = arg;
	struct jw_op *list;
	struct uw_error err;

	pthread_mutex_lock(&jw->mu);
	for (;;) {
		while (jw->head == NULL && !jw->stop) {
			jw->waiting = 1;
			pthread_cond_wait(&jw->work, &jw->mu);
			jw->waiting = 0;
		}
		if (jw->head == NULL && jw->stop)
			break;
		list = jw->head;
		jw->head = jw->tail = NULL;
		jw->queued = 0;
		pthread_cond_broadcast(&jw->done);	/* room again */
		pthread_mutex_unlock(&jw->mu);
		jw_run_list(jw, list);
		/* nothing waiting: a good time to copy the WAL back */
		pthread_mutex_lock(&jw->mu);
		if (jw->head == NULL && !jw->in_txn && !jw->failed &&
		    store_wal_pages(jw->store) >= CKPT_IDLE_PAGES) {
			pthread_mutex_unlock(&jw->mu);
			memset(&err, 0, sizeof(err));
			if (store_checkpoint(jw->store, &err) < 0)
				jw_failed(jw, -EIO, &err);
			pthread_mutex_lock(&jw->mu);
		}
	}
	pthread_mutex_unlock(&jw->mu);
	return NULL;
}

int
jw_start(struct jw **out, const char *path, struct uw_error *err)
{
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
	rc = pthread_create(&jw->thread, NULL, jw_main, jw);
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

	if (jw_commit(jw) < 0)
		jw_flush(jw);	/* no memory for the mark: the rest drains */
	pthread_mutex_lock(&jw->mu);
	want = jw->handed;
	while (jw->applied < want)
		pthread_cond_wait(&jw->done, &jw->mu);
	pthread_mutex_unlock(&jw->mu);
}

int
jw_failure(struct jw *jw, struct uw_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&jw->mu);
	if (jw->failed) {
		*err = jw->fail;
		rc = jw->fail.code < 0 ? jw->fail.code : -EIO;
		jw->failed = 0;
	}
	pthread_mutex_unlock(&jw->mu);
	return rc;
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
