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
#include "fanotify.h"
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
/* Programs that write a package database, by the name a fanotify event
 * gives their process.  A name is the process's own choice: it only
 * starts holding paths back (a delay of PACKAGE_TXN_MAX_NS at most),
 * never makes a file acceptable; the database's digests do that. */
static const char *const managers[] = {
	"dpkg", "dpkg-deb", "dpkg-divert", "dpkg-trigger", "apt", "apt-get",
	"aptitude", "unattended-upgr", "apk", "rpm", "dnf", "yum",
	"microdnf", "tdnf", "zypper",
};

/* Who wrote the path being looked at: 1 a package manager by its name,
 * 0 another process, -1 not named (inotify alone, a rescan). */
static int
manager_writing(const struct watcher *w)
{
	const struct uw_process *p = fan_process(w, w->cur_writer);
	size_t i;

	if (p == NULL || p->comm == NULL)
		return -1;
	for (i = 0; i < sizeof(managers) / sizeof(*managers); i++)
		if (strcmp(p->comm, managers[i]) == 0)
			return 1;
	return 0;
}

/* A held path that is looked at again (it was handed out before the
 * transaction began), with the check it was handed out with; and one
 * that also had an event of its own in the transaction. */
#define HOLD_RECHECK 0x100u
#define HOLD_CHANGED 0x200u
#define HOLD_CHECK_MASK 0xffu

/* Hold `path` back till the transaction ends: for a change (recheck <
 * 0), or to look at it again (the check it was handed out with). */
static int
hold(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, uint64_t writer, int recheck)
{
	struct pathset_entry *e;
	size_t before = c->pkg.deferred.count;

	if (before >= PACKAGE_HOLD_MAX)
		c->pkg.txn_start_ns = 1;	/* ends at the next turn */
	e = pathset_get(&c->pkg.deferred, path, len, 1);
	if (e == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	if (recheck < 0)	/* a change of its own now */
		e->flags = (e->flags & HOLD_RECHECK) ? e->flags | HOLD_CHANGED :
		    0;
	else if (c->pkg.deferred.count > before)
		e->flags = HOLD_RECHECK | ((unsigned)recheck & HOLD_CHECK_MASK);
	if (writer != 0)
		e->proc = writer;
	return 0;
}

int
incident_recheck(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, int *changed)
{
	struct pathset_entry *e;

	*changed = 0;
	if (!w->pkg_flushing)
		return -1;
	e = pathset_get(&c->pkg.deferred, path, len, 0);
	if (e == NULL || !(e->flags & HOLD_RECHECK))
		return -1;
	*changed = (e->flags & HOLD_CHANGED) != 0;
	return (int)(e->flags & HOLD_CHECK_MASK);
}

/*
 * A transaction begins.  A package manager may have unpacked files
 * before its first write of the database, and they may have been handed
 * out already, as unowned or as a mismatch: those of the last few
 * seconds are looked at again with the transaction, and handed out again
 * only when the database then says otherwise (incident_recheck); they
 * count as changes of the transaction.
 */
static int
txn_begin(struct watcher *w, struct wctr *c, int64_t now)
{
	struct pkg_recent *r;
	size_t i;
	int rc;

	c->pkg.txn_start_ns = now;
	for (i = 0; i < PKG_RECENT; i++) {
		r = &c->pkg.recent[i];
		if (r->path == NULL || now - r->ns > PACKAGE_RECENT_NS)
			continue;
		rc = hold(w, c, r->path, r->len, 0, (int)r->check);
		if (rc < 0)
			return rc;
		c->pkg.rechecked++;
	}
	pkgview_recent_clear(&c->pkg);
	return 0;
}

int
incident_hold(struct watcher *w, struct wctr *c, const struct uw_event *ev)
{
	int64_t now;
	int rc;

	int db, writer;

	if (ev->op == UW_OP_EXEC || ev->lower)
		return 0;
	now = now_mono_ns();
	db = pkgdb_db_path(ev->path, ev->path_len) != NULL;
	writer = manager_writing(w);
	if (db || writer == 1) {
		if (c->pkg.txn_start_ns == 0 &&
		    (rc = txn_begin(w, c, now)) < 0)
			return rc;
		c->pkg.txn_last_ns = now;
	}
	/* a file some other named process wrote is handed out now: a
	 * dropper cannot hide in a transaction it set off itself */
	if (c->pkg.txn_start_ns == 0 || (!db && writer == 0))
		return 0;
	rc = hold(w, c, ev->path, ev->path_len, w->cur_writer, -1);
	if (rc == 0 && !db && ev->op == UW_OP_ADDED &&
	    ev->type == UW_TYPE_FILE && ev->current != NULL) {
		struct pathset_entry *e = pathset_get(&c->pkg.deferred,
		    ev->path, ev->path_len, 0);

		rc = e != NULL ? pkgview_held_add(&c->pkg, ev, &e->last_ns) :
		    0;
		if (rc == 0)	/* as many copies as kept: end it soon */
			c->pkg.txn_start_ns = 1;
		else if (rc > 0)
			rc = 0;
		else
			return seterr(w->err, rc, "out of memory");
	}
	return rc < 0 ? rc : 1;
}

/* A held path that is gone at the transaction's end, and was a file
 * added: handed out as it was seen, so that what was made and removed
 * under cover of the transaction is still reported. */
static int
hand_out_gone(struct watcher *w, struct wctr *c, const struct pkg_held *h)
{
	struct uw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.op = UW_OP_ADDED;
	ev.path = h->path;
	ev.path_len = h->len;
	ev.type = UW_TYPE_FILE;
	ev.current = &h->rec;
	w->cur = c;
	return w->report(&ev, w);
}

void
incident_noted(struct watcher *w, struct wctr *c, const struct uw_event *ev)
{
	if (w->pkg_flushing || (ev->package_check != UW_PKG_UNOWNED &&
	    ev->package_check != UW_PKG_MISMATCH &&
	    ev->package_check != UW_PKG_UNKNOWN))
		return;
	pkgview_recent_add(&c->pkg, ev->path, ev->path_len,
	    ev->package_check, now_mono_ns());
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
	int rc, changed, pass, retry;

	buf_init(&changes, 900);
	changed = pkgview_refresh(&c->pkg, c->root_fd, &changes);
	if (changed < 0) {
		buf_free(&changes);
		return seterr(w->err, changed, "out of memory");
	}
	/* The changes first, then the database's own files, which are
	 * judged by how many changes came with them: the held paths, and
	 * those handed out just before the transaction began whose check
	 * it changed (a package manager unpacks before it writes the
	 * database); a path handed out before that the new database leaves
	 * as it was is no change of this transaction's. */
	for (i = 0; (e = pathset_next(&c->pkg.deferred, &i)) != NULL; )
		if ((!(e->flags & HOLD_RECHECK) || (e->flags & HOLD_CHANGED)) &&
		    pkgdb_db_path(e->key, e->len) == NULL)
			files++;
	c->pkg.txn_start_ns = c->pkg.txn_last_ns = 0;
	w->pkg_flushing = 1;
	w->txn_files = files;
	w->txn_changed = changed;
	w->txn_rechanged = 0;
	w->cur_incident = changed > 0 || files > 0 ? w->next_id : 0;
	memset(w->txn_checks, 0, sizeof(w->txn_checks));
	rc = 0;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; rc == 0 && (e = pathset_next(&c->pkg.deferred,
		    &i)) != NULL; ) {
			if ((pkgdb_db_path(e->key, e->len) != NULL) != pass)
				continue;
			w->cur_writer = e->proc;
			w->leaf_reported = 0;
			rc = scan_path(w, c, e->key, e->len, 0);
			retry = rc == PROCESS_RETRY;
			if (retry)
				rc = 0;
			if (rc == 0 && !retry && !w->leaf_reported &&
			    e->last_ns > 0 && (size_t)e->last_ns <= c->pkg.nheld)
				rc = hand_out_gone(w, c,
				    &c->pkg.held[e->last_ns - 1]);
		}
		files += (int64_t)w->txn_rechanged;
		w->txn_files = files;
		w->txn_rechanged = 0;
	}
	w->cur_writer = 0;
	w->pkg_flushing = 0;
	pathset_free(&c->pkg.deferred);
	pkgview_held_clear(&c->pkg);
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
		/* package names are the container's bytes */
		notice_info(w, "container %s: %s", notice_escs(w, c->info->id),
		    notice_escs(w, what));
		if (w->alerter != NULL)
			alert_incident(w->alerter, c->info->id,
			    w->cur_incident, what);
	}
	w->cur_incident = 0;
	buf_free(&changes);
	return rc;
}

int
incident_end(struct watcher *w, struct wctr *c)
{
	return c->pkg.txn_start_ns != 0 ? txn_end(w, c) : 0;
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
