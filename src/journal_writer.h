/*
 * journal_writer.h - the journal's writes on a thread of their own.
 *
 * The watcher hands each journal write (an event and its path's state, a
 * response, a path's state dropped, the end of a transaction) to a
 * writer thread with its own connection to the database, in order, and
 * goes on classifying: a burst's inserts, a third of the watcher's time,
 * overlap with the next events.  The writer groups writes into the
 * transactions the watcher ends (jw_commit), copies the WAL into the
 * database file when it has grown, and says when a write failed: from
 * then on it drops what it is given, until the journal's recovery has
 * waited for it and lets it write again (jw_resume; journal.c).  jw_sync waits until everything handed out is
 * committed or dropped; the watcher calls it before it reads or writes
 * the journal's tables itself.
 */
#ifndef UW_JOURNAL_WRITER_H
#define UW_JOURNAL_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct jw;

/* Open a second connection to the database at `path` and start the
 * thread.  0, or <0 (err says why). */
int jw_start(struct jw **out, const char *path, struct uw_error *err);

/* Commit what was handed out, stop the thread, close its connection.
 * Returns 0, or the failure not taken yet (its text in err). */
int jw_stop(struct jw *jw, struct uw_error *err);

/* Hand out writes (the strings are copied); 0 or -ENOMEM.  Waits while
 * the writer is JW_QUEUE_MAX writes or JW_QUEUE_BYTES behind. */
int jw_event(struct jw *jw, uint64_t id, int64_t time_ns,
    const char *container, const char *op, const unsigned char *path,
    size_t path_len, const char *type, const char *json, size_t json_len,
    const char *severity, const char *action, const char *policy_set,
    const char *sig);
int jw_response(struct jw *jw, uint64_t event_id, const char *container,
    const char *action, const char *method, const char *outcome,
    const char *detail, int64_t latency_ns, const char *evidence);
int jw_state_del(struct jw *jw, const char *container,
    const unsigned char *path, size_t len);
/* End the transaction: what was handed out before is committed next.
 * Needs no memory. */
void jw_commit(struct jw *jw);

/* The watcher is about to wait: the writer copies the WAL back if it
 * has grown past CKPT_IDLE_PAGES. */
void jw_idle(struct jw *jw);

/* Wait until everything handed out is committed (or dropped). */
void jw_sync(struct jw *jw);

/* A write that failed and was not taken yet: its code (<0; the
 * transaction it was in is rolled back), its text in err; 0 when none
 * failed.  From the failure on, the writer drops what it is given, until
 * jw_resume (after a jw_sync: the journal's recovery). */
int jw_failure(struct jw *jw, struct uw_error *err);
void jw_resume(struct jw *jw);

/* Keep the journal at `max_events` events at most (0: no limit) by
 * deleting the oldest of the lowest severity (journal_writer.c); set
 * before the first write. */
void jw_limit(struct jw *jw, uint64_t max_events);
/* How many events were deleted so far over the limit. */
uint64_t jw_pruned(struct jw *jw);

#endif /* UW_JOURNAL_WRITER_H */
