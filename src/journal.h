/*
 * journal.h - the watcher's journal: transactions, failure and recovery,
 * the path-state cache (see watcher.h).
 */
#ifndef UW_JOURNAL_H
#define UW_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "watcher.h"

int journal_fail(struct watcher *w, int rc) UW_WARN_UNUSED;
int journal_begin(struct watcher *w) UW_WARN_UNUSED;
/* Take a failure of the writer thread, if any (journal_fail). */
int journal_check(struct watcher *w) UW_WARN_UNUSED;
int journal_commit(struct watcher *w) UW_WARN_UNUSED;
/* Commit and wait for the writer thread to have committed too. */
int journal_settle(struct watcher *w) UW_WARN_UNUSED;
int journal_sig(struct buf *sig, const struct uw_event *ev,
    uint64_t *value) UW_WARN_UNUSED;
/* The event as one JSON line (no newline, NUL-terminated) in *json,
 * the watcher's buffer, valid until the next call; journal_json_free
 * lets the buffer go. */
int journal_json(struct watcher *w, const struct uw_event *ev,
    const char **json, size_t *json_len) UW_WARN_UNUSED;
void journal_json_free(struct watcher *w);
int journal_event(struct watcher *w, struct wctr *c,
    const struct uw_event *ev, const char *json, size_t json_len)
    UW_WARN_UNUSED;
/* An event printed while the journal was down, unchanged since (known
 * is its path's entry): journaled now, as it is, and not handed out
 * again.  0, or a negative error (w->err says it). */
int journal_quietly(struct watcher *w, struct wctr *c, struct uw_event *out,
    struct pathset_entry *known) UW_WARN_UNUSED;
int journal_response(struct watcher *w, uint64_t event_id,
    const char *ctr_id, const char *action, const char *method,
    const char *outcome, const char *detail, int64_t latency_ns,
    const char *evidence) UW_WARN_UNUSED;
int journal_load_state(struct watcher *w, struct wctr *c) UW_WARN_UNUSED;
int journal_forget(struct watcher *w, struct wctr *c,
    const unsigned char *path, size_t len) UW_WARN_UNUSED;
int journal_recover(struct watcher *w) UW_WARN_UNUSED;

#endif /* UW_JOURNAL_H */
