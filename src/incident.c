/*
 * incident.c - package transactions in the watcher: while a container's
 * package database is being written, what changes in the container is
 * held back; when the database is quiet again, it is read, and the held
 * paths are looked at and handed out with what it then says, linked by
 * one incident id, which is said and alerted once with the packages that
 * changed.  So an `apt-get install` gives one incident whose files match
 * their packages (and are low in the default policies) instead of
 * hundreds of alerts, while a file no package claims, or one whose
 * content is not its package's, stays what it is.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "incident.h"
#include "notice.h"
#include "package.h"
#include "scan.h"
#include "util.h"
#include "watcher.h"

/* Held paths of one transaction, at most: more, and it ends early. */
#define PACKAGE_HOLD_MAX 200000

/*
 * An event of a container whose package database is being written (a
 * package manager runs, or someone edits the database): its path is held
 * back, to be looked at again once the database is quiet, and judged
 * with what the database then says, as one incident.  1 when held, 0
 * to go on, or -ENOMEM.
 */
int
incident_hold(struct watcher *w, struct wctr *c, const struct uw_event *ev)
{
	struct pathset_entry *e;
	int64_t now;

	if (ev->op == UW_OP_EXEC || ev->lower)
		return 0;
	now = now_mono_ns();
	if (pkgdb_db_path(ev->path, ev->path_len) != NULL) {
		if (c->pkg.txn_start_ns == 0)
			c->pkg.txn_start_ns = now;
		c->pkg.txn_last_ns = now;
	}
	if (c->pkg.txn_start_ns == 0)
		return 0;
	if (c->pkg.deferred.count >= PACKAGE_HOLD_MAX)
		c->pkg.txn_start_ns = 1;	/* ends at the next turn */
	e = pathset_get(&c->pkg.deferred, ev->path, ev->path_len, 1);
	if (e == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	if (w->cur_writer != 0)
		e->proc = w->cur_writer;
	return 1;
}

/* The end of a container's package transaction: the database is read
 * again, and the held paths are looked at and handed out as one
 * incident, which is said (and alerted) once. */
static int
txn_end(struct watcher *w, struct wctr *c)
{
	struct pathset_entry *e;
	struct buf changes;
	char what[1024];
	size_t i;
	int64_t files = 0;
	int rc, changed;

	buf_init(&changes, 900);
	changed = pkgview_refresh(&c->pkg, c->root_fd, &changes);
	if (changed < 0) {
		buf_free(&changes);
		return seterr(w->err, changed, "out of memory");
	}
	for (i = 0; (e = pathset_next(&c->pkg.deferred, &i)) != NULL; )
		if (pkgdb_db_path(e->key, e->len) == NULL)
			files++;
	c->pkg.txn_start_ns = c->pkg.txn_last_ns = 0;
	w->pkg_flushing = 1;
	w->txn_files = files;
	w->txn_changed = changed;
	w->cur_incident = changed > 0 || files > 0 ? w->next_id : 0;
	memset(w->txn_checks, 0, sizeof(w->txn_checks));
	rc = 0;
	for (i = 0; rc == 0 && (e = pathset_next(&c->pkg.deferred, &i)) !=
	    NULL; ) {
		w->cur_writer = e->proc;
		rc = scan_path(w, c, e->key, e->len, 0);
		if (rc == PROCESS_RETRY)
			rc = 0;
	}
	w->cur_writer = 0;
	w->pkg_flushing = 0;
	pathset_free(&c->pkg.deferred);
	if (rc == 0 && w->cur_incident != 0) {
		w->incidents++;
		snprintf(what, sizeof(what), "package transaction (incident "
		    "%llu): %s%s%lld paths changed: %llu match their package, "
		    "%llu mismatch, %llu unowned, %llu unknown",
		    (unsigned long long)w->cur_incident,
		    changes.len ? (const char *)changes.data : "no package "
		    "changed", changes.len ? "; " : "; ", (long long)files,
		    (unsigned long long)w->txn_checks[UW_PKG_MATCH],
		    (unsigned long long)w->txn_checks[UW_PKG_MISMATCH],
		    (unsigned long long)w->txn_checks[UW_PKG_UNOWNED],
		    (unsigned long long)w->txn_checks[UW_PKG_UNKNOWN]);
		notice_info(w, "container %s: %s", notice_escs(w, c->info->id),
		    what);
		if (w->alerter != NULL)
			alert_incident(w->alerter, c->info->id,
			    w->cur_incident, what);
	}
	w->cur_incident = 0;
	buf_free(&changes);
	return rc;
}

/* Transactions whose database has been quiet long enough, or that ran
 * too long, end; *next_due is when the next may. */
int
incident_due(struct watcher *w, int64_t now, int64_t *next_due)
{
	struct wctr *c;
	int64_t end;
	size_t i;
	int rc;

	for (i = 0; i < w->ctr_count; i++) {
		c = w->ctrs[i];
		if (c->pkg.txn_start_ns == 0)
			continue;
		end = c->pkg.txn_last_ns + PACKAGE_TXN_QUIET_NS;
		if (end > c->pkg.txn_start_ns + PACKAGE_TXN_MAX_NS)
			end = c->pkg.txn_start_ns + PACKAGE_TXN_MAX_NS;
		if (now >= end) {
			rc = txn_end(w, c);
			if (rc < 0)
				return rc;
		} else if (end < *next_due)
			*next_due = end;
	}
	return 0;
}
