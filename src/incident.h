/*
 * incident.h - package transactions in the watcher (see incident.c).
 */
#ifndef UW_INCIDENT_H
#define UW_INCIDENT_H

#include <stdint.h>

#include "upperwatch.h"
#include "watcher.h"

/* The report path's question for each event of a container with a
 * package database: 1 when its path is held back till the transaction
 * going on ends (an event on the database starts or extends one), 0 to
 * hand it out now, or -ENOMEM. */
int incident_hold(struct watcher *w, struct wctr *c,
    const struct uw_event *ev) UW_WARN_UNUSED;

/* An event handed out outside a transaction whose check may be the
 * package manager's doing before it wrote its database (unowned,
 * mismatch, unknown): kept for a few seconds (txn_begin). */
void incident_noted(struct watcher *w, struct wctr *c,
    const struct uw_event *ev);

/* While a transaction's paths are handed out: the check `path` was
 * handed out with before the transaction, when it is looked at again
 * for that (it is handed out again if its check changed), or -1; and
 * *changed, whether it also had an event in the transaction (it is then
 * handed out as a change too, if it is one). */
int incident_recheck(struct watcher *w, struct wctr *c,
    const unsigned char *path, size_t len, int *changed);

/* End the transactions that are due (their database quiet for
 * PACKAGE_TXN_QUIET_NS, or PACKAGE_TXN_MAX_NS after they began): their
 * held paths are looked at again and handed out as one incident.
 * *next_due is lowered to when the next is due. */
int incident_due(struct watcher *w, int64_t now, int64_t *next_due)
    UW_WARN_UNUSED;

/* End c's transaction now, if one goes on (a container going away:
 * what it held is handed out, not lost). */
int incident_end(struct watcher *w, struct wctr *c) UW_WARN_UNUSED;

#endif /* UW_INCIDENT_H */
