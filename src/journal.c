/*
 * journal.c - the daemon's side of the journal: events (made into the
 * JSON lines it keeps) and responses grouped into transactions, a
 * journal that cannot write (a full disk) stopping the journal and never
 * detection, and its recovery; and the path-state cache (what was last
 * reported of each path of a container, in memory and in path_state)
 * that tells a change from a repeat.
 *
 * With a writer thread (w->jw, journal_writer.h) the writes of events,
 * responses and path states are handed to it and a commit is a mark in
 * its queue; its failure is taken here at the next journal call (or
 * daemon turn, journal_check) and stops the journal as a failed write
 * of our own would.  What it dropped meanwhile is found by the recovery's
 * reconcile like the rest of a rolled-back transaction.  The recovery
 * itself, and the reads of path_state, run on the watcher's connection
 * once the writer has drained (jw_sync).
 */
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "event.h"
#include "journal.h"
#include "journal_writer.h"
#include "names.h"
#include "notice.h"
#include "pathset.h"
#include "store.h"
#include "util.h"
#include "watcher.h"

/*
 * The journal could not write (`rc`, the reason in w->err).  Out of memory
 * is our fault and ends the watcher (the negative code is returned).
 * Anything else (a full disk first) stops the journal, not detection:
 * the transaction is dropped, events keep going out marked unjournaled,
 * and journal_recover tries again every JOURNAL_RETRY_NS.  Returns 0.
 */
int
journal_fail(struct watcher *w, int rc)
{
	if (rc == -ENOMEM)
		return rc;
	store_rollback(w->store);
	w->in_txn = 0;
	w->journal_retry_ns = now_mono_ns() + JOURNAL_RETRY_NS;
	if (w->journal_down || w->journal_retrying) {
		w->journal_down = 1;	/* said already */
		return 0;
	}
	w->journal_down = 1;
	snprintf(w->journal_why, sizeof(w->journal_why), "%.200s",
	    w->err->msg);
	notice_coverage(w, NULL, "the journal cannot write (%s): events "
	    "still go out, alerts and responses still happen; it catches up "
	    "from the upper dirs when it can write again (tried every %lld "
	    "s)",
	    w->journal_why, JOURNAL_RETRY_NS / 1000000000);
	return 0;
}

/* Do the journal's writes go to the writer thread (not while the
 * recovery writes on the watcher's own connection)? */
static int
async(const struct watcher *w)
{
	return w->jw != NULL && !w->journal_retrying;
}

/* Take a failure of the writer thread, if any, as journal_fail would
 * take one of ours.  0, or -ENOMEM. */
int
journal_check(struct watcher *w)
{
	struct uw_error e;
	int rc;

	if (w->jw == NULL)
		return 0;
	w->journal_pruned = jw_pruned(w->jw);
	if (w->journal_pruned > w->pruned_said &&
	    now_mono_ns() >= w->pruned_notice_ns) {
		notice_warn(w, "the journal passed --journal-max-events (%u): "
		    "%llu of its oldest events were deleted so far, the "
		    "lowest severities first", w->opts->journal_max_events ?
		    w->opts->journal_max_events : DEFAULT_JOURNAL_MAX_EVENTS,
		    (unsigned long long)w->journal_pruned);
		w->pruned_said = w->journal_pruned;
		w->pruned_notice_ns = now_mono_ns() + 60000000000LL;
	}
	memset(&e, 0, sizeof(e));
	rc = jw_failure(w->jw, &e);
	if (rc == 0)
		return 0;
	seterr(w->err, rc, "%s", e.msg);
	return journal_fail(w, rc);
}

/* Begin the journal's transaction, if it writes; 0 or -ENOMEM. */
int
journal_begin(struct watcher *w)
{
	int rc;

	if (async(w)) {
		rc = journal_check(w);
		if (rc < 0 || w->in_txn || w->journal_down)
			return rc;
		w->in_txn = 1;
		w->txn_start_ns = now_mono_ns();
		return 0;
	}
	if (w->in_txn || w->journal_down)
		return 0;
	rc = store_begin(w->store, w->err);
	if (rc < 0)
		return journal_fail(w, rc);
	w->in_txn = 1;
	w->txn_start_ns = now_mono_ns();
	return 0;
}

int
journal_commit(struct watcher *w)
{
	int rc;

	if (!w->in_txn)
		return 0;
	w->in_txn = 0;
	if (async(w)) {
		jw_commit(w->jw);
		return journal_check(w);
	}
	rc = store_commit(w->store, w->err);
	if (rc < 0)
		return journal_fail(w, rc);
	/* Checkpoints wait for a quiet moment (see daemon_run), but the WAL
	 * must not grow without bound under a long burst. */
	if (store_wal_pages(w->store) >= CKPT_BUSY_PAGES &&
	    store_checkpoint(w->store, w->err) < 0)
		return journal_fail(w, -EIO);
	return 0;
}

/*
 * Commit, and wait until the writer thread has: the watcher's own
 * connection may then write the database (a baseline) without waiting
 * for the writer's transaction.  0, or -ENOMEM.
 */
int
journal_settle(struct watcher *w)
{
	int rc;

	rc = journal_commit(w);
	if (rc == 0 && w->jw != NULL) {
		jw_sync(w->jw);
		rc = journal_check(w);
	}
	return rc;
}

/*
 * A signature of what an event says, to tell a change from a repeat: a
 * hash of its op and the current record (a dir's size follows its
 * entries and is left out), as 16 hex digits.
 */
int
journal_sig(struct buf *sig, const struct uw_event *ev, uint64_t *value)
{
	const struct uw_record *r = ev->current;
	XXH3_state_t st;
	uint64_t fields[8], h;
	unsigned char be[8];
	char hex[17];
	int i;

	memset(fields, 0, sizeof(fields));
	fields[0] = (uint64_t)ev->op;
	fields[1] = (uint64_t)ev->type;
	fields[2] = ev->count;
	if (r != NULL) {
		fields[3] = r->mode;
		fields[4] = r->uid;
		fields[5] = r->gid;
		fields[6] = r->type == UW_TYPE_DIR ? 0 : r->size;
		fields[7] = (r->flags & UW_REC_HASHED) ? 1 : 0;
		/* (0 without one: signatures journaled before stay valid) */
		if (ev->changes & UW_CHG_XATTR)
			fields[7] |= 2;
	}
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, fields, sizeof(fields));
	if (r != NULL && (r->flags & UW_REC_HASHED))
		XXH3_64bits_update(&st, r->hash, UW_HASH_LEN);
	if (r != NULL && r->caps != NULL) {
		XXH3_64bits_update(&st, &r->caps_len, sizeof(r->caps_len));
		XXH3_64bits_update(&st, r->caps, r->caps_len);
	}
	if (r != NULL && r->link != NULL) {
		XXH3_64bits_update(&st, &r->link_len, sizeof(r->link_len));
		XXH3_64bits_update(&st, r->link, r->link_len);
	}
	h = XXH3_64bits_digest(&st);
	*value = h;
	for (i = 0; i < 8; i++)
		be[i] = (unsigned char)(h >> (56 - 8 * i));
	hex_encode(hex, be, 8);
	buf_reset(sig);
	return buf_add(sig, hex, 16);
}


/*
 * The event as one JSON line (no newline, NUL-terminated) in *json, the
 * watcher's buffer: valid until the next call.  One memory stream serves
 * every event, so an event costs no stream and no buffer of its own.
 */
int
journal_json(struct watcher *w, const struct uw_event *ev, const char **json,
    size_t *json_len)
{
	off_t end;
	int rc;

	*json = NULL;
	*json_len = 0;
	if (w->json_mem == NULL) {
		w->json_mem = open_memstream(&w->json_buf, &w->json_size);
		if (w->json_mem == NULL)
			return -ENOMEM;
		/* one thread writes it: no stdio locking per character */
		__fsetlocking(w->json_mem, FSETLOCKING_BYCALLER);
	} else if (fseeko(w->json_mem, 0, SEEK_SET) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = event_write_json(w->json_mem, ev);
	if (rc == 0 && fflush(w->json_mem) != 0)
		rc = -ENOMEM;
	end = rc == 0 ? ftello(w->json_mem) : -1;
	if (end < 1 || w->json_buf == NULL || w->json_buf[end - 1] != '\n') {
		rc = -ENOMEM;
		goto fail;
	}
	w->json_buf[end - 1] = '\0';	/* the newline */
	*json = w->json_buf;
	*json_len = (size_t)end - 1;
	return 0;
fail:
	journal_json_free(w);
	return rc;
}

void
journal_json_free(struct watcher *w)
{
	if (w->json_mem != NULL)
		fclose(w->json_mem);
	free(w->json_buf);
	w->json_mem = NULL;
	w->json_buf = NULL;
	w->json_size = 0;
}

/*
 * Journal an event and its path's state (in the open transaction).  A
 * failure other than out of memory stops the journal (journal_fail):
 * returns 1 then, 0 when journaled, or -ENOMEM.
 */
int
journal_event(struct watcher *w, struct wctr *c, const struct uw_event *ev,
    const char *json, size_t json_len)
{
	const struct uw_verdict *v = ev->verdict;
	int rc;

	rc = journal_begin(w);
	if (rc < 0)
		return rc;
	if (w->journal_down)
		return 1;
	if (async(w)) {
		rc = jw_event(w->jw, ev->id, ev->time_ns, c->info->id,
		    op_name(ev->op), ev->path, ev->path_len,
		    file_type_name(ev->type), json, json_len,
		    v ? severity_name(v->severity) : NULL,
		    v ? action_name(v->action) : NULL,
		    v ? v->policy_set : NULL, (const char *)w->sig.data);
		return rc < 0 ? seterr(w->err, rc, "out of memory") : 0;
	}
	rc = store_event_add(w->store, ev->id, ev->time_ns, c->info->id,
	    op_name(ev->op), ev->path, ev->path_len,
	    file_type_name(ev->type), json, json_len,
	    v ? severity_name(v->severity) : NULL,
	    v ? action_name(v->action) : NULL, v ? v->policy_set : NULL,
	    w->err);
	if (rc == 0)
		rc = store_state_put(w->store, c->info->id, ev->path,
		    ev->path_len, (const char *)w->sig.data, w->err);
	if (rc < 0) {
		rc = journal_fail(w, rc);
		return rc < 0 ? rc : 1;
	}
	return 0;
}

/* An event printed while the journal was down, unchanged since (known
 * is its path's): journaled now, as it is, and not handed out again.
 * 0, or a negative error (w->err says it). */
int
journal_quietly(struct watcher *w, struct wctr *c, struct uw_event *out,
    struct pathset_entry *known)
{
	const char *json = NULL;
	size_t json_len = 0;
	int rc;

	rc = journal_json(w, out, &json, &json_len);
	if (rc == 0)
		rc = journal_event(w, c, out, json, json_len);
	if (rc == 0) {
		known->flags &= ~(unsigned)PENT_UNJOURNALED;
		w->unjournaled--;
	}
	if (rc < 0)
		return seterr(w->err, rc, "out of memory");
	return 0;	/* (1: the journal is down again) */
}

/* Journal a response, unless the journal is down; 0 or -ENOMEM. */
int
journal_response(struct watcher *w, uint64_t event_id, const char *ctr_id,
    const char *action, const char *method, const char *outcome,
    const char *detail, int64_t latency_ns, const char *evidence)
{
	int rc;

	rc = journal_begin(w);
	if (rc < 0 || w->journal_down)
		return rc;
	if (async(w)) {
		rc = jw_response(w->jw, event_id, ctr_id, action, method,
		    outcome, detail, latency_ns, evidence);
		return rc < 0 ? seterr(w->err, rc, "out of memory") : 0;
	}
	rc = store_response_add(w->store, 0, event_id, ctr_id, action,
	    method, outcome, detail, latency_ns, evidence, w->err);
	return rc < 0 ? journal_fail(w, rc) : 0;
}

/* The entry is not drift (any more): forget what was reported.  The
 * journal's row goes too, when the journal writes (else a catch-up
 * reconciles it). */
int
journal_forget(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len)
{
	struct pathset_entry *known;
	int rc;

	known = pathset_get(&c->reported, path, len, 0);
	if (known == NULL)
		return 0;	/* never reported */
	/* (`path` may be the entry's own key: the row goes first) */
	rc = journal_begin(w);
	if (rc == 0 && !w->journal_down && async(w)) {
		rc = jw_state_del(w->jw, c->info->id, path, len);
		if (rc < 0)
			rc = seterr(w->err, rc, "out of memory");
	} else if (rc == 0 && !w->journal_down) {
		rc = store_state_del(w->store, c->info->id, path, len, w->err);
		if (rc < 0)
			rc = journal_fail(w, rc);
	}
	if (known->flags & PENT_UNJOURNALED)
		w->unjournaled--;
	pathset_del(&c->reported, known);
	return rc;
}

/*
 * A path_state row into a path set (a container's cache of it, or a set
 * of the journal's state to compare): the signature's 16 hex digits as
 * first_ns.  A signature not ours reads as a prefix that matches no
 * event.
 */
static int
state_row(const unsigned char *path, size_t len, const char *sig, void *arg)
{
	struct pathset *set = arg;
	struct pathset_entry *e;
	uint64_t v = 0;
	int i, d;

	for (i = 0; i < 16; i++) {
		d = sig[i] >= '0' && sig[i] <= '9' ? sig[i] - '0' :
		    sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 'a' + 10 : -1;
		if (d < 0)
			break;
		v = v << 4 | (uint64_t)d;
	}
	e = pathset_get(set, path, len, 1);
	if (e == NULL)
		return -ENOMEM;
	e->first_ns = (int64_t)v;
	e->last_ns = 0;
	return 0;
}

/*
 * What was reported of a container's paths, read once into memory: new
 * paths then need no journal lookup, and rescans find what vanished
 * without reading path_state again.  Only this watcher writes it.
 */
int
journal_load_state(struct watcher *w, struct wctr *c)
{
	int rc;

	if (w->jw != NULL)
		jw_sync(w->jw);		/* what it wrote, committed */
	rc = store_state_foreach(w->store, c->info->id, state_row,
	    &c->reported, w->err);
	if (rc == -ENOMEM)
		rc = seterr(w->err, rc, "out of memory");
	return rc;
}

/*
 * After the journal was down: make its path_state agree with what was
 * reported (rows of paths forgotten meanwhile go; paths whose row is
 * missing or older are marked unjournaled, for the catch-up scan to
 * journal).  In the open transaction.  0, or a negative error.
 */
static int
reconcile(struct watcher *w, struct wctr *c)
{
	struct pathset journal;
	struct pathset_entry *e, *j;
	size_t i;
	int rc;

	memset(&journal, 0, sizeof(journal));
	rc = store_state_foreach(w->store, c->info->id, state_row,
	    &journal, w->err);
	for (i = 0; rc == 0 && (e = pathset_next(&c->reported, &i)) != NULL;) {
		if (e->flags & PENT_UNJOURNALED)
			continue;
		j = pathset_get(&journal, e->key, e->len, 0);
		if (j == NULL || j->first_ns != e->first_ns) {
			e->flags |= PENT_UNJOURNALED;
			w->unjournaled++;
		}
	}
	for (i = 0; rc == 0 && (j = pathset_next(&journal, &i)) != NULL;) {
		if (pathset_get(&c->reported, j->key, j->len, 0) != NULL)
			continue;
		rc = store_state_del(w->store, c->info->id, j->key, j->len,
		    w->err);
	}
	pathset_free(&journal);
	return rc == -ENOMEM ? seterr(w->err, rc, "out of memory") : rc;
}

/*
 * Try the journal again: reconcile every container's state in one
 * transaction; when it commits, every container is rescanned, and the
 * scans journal (quietly) what was handed out while it was down.
 * Returns 0 (the journal may still be down) or -ENOMEM.
 */
int
journal_recover(struct watcher *w)
{
	struct uw_error dropped;
	size_t i;
	int rc = 0;

	if (w->jw != NULL) {
		/* the writer is idle, and what it dropped after its failure
		 * is found by reconcile below; it writes again after */
		jw_sync(w->jw);
		(void)jw_failure(w->jw, &dropped);
		jw_resume(w->jw);
	}
	w->journal_down = 0;
	w->journal_retrying = 1;
	rc = journal_begin(w);
	if (rc == 0 && !w->journal_down) {
		rc = store_probe(w->store, w->err);
		if (rc < 0)
			rc = journal_fail(w, rc);
	}
	for (i = 0; rc == 0 && !w->journal_down && i < w->ctr_count; i++) {
		rc = reconcile(w, w->ctrs[i]);
		if (rc < 0 && rc != -ENOMEM)
			rc = journal_fail(w, rc);
	}
	if (rc == 0 && !w->journal_down)
		rc = journal_commit(w);
	w->journal_retrying = 0;
	if (rc < 0 || w->journal_down) {
		/* still down: journal_fail set the next try */
		w->journal_down = 1;
		return rc == -ENOMEM ? rc : 0;
	}
	notice_info(w, "the journal writes again (%s is over): catching "
	    "up with %llu events from the upper dirs", w->journal_why,
	    (unsigned long long)w->unjournaled);
	w->journal_why[0] = '\0';
	for (i = 0; i < w->ctr_count; i++)
		w->ctrs[i]->needs_rescan = 1;
	return 0;
}
