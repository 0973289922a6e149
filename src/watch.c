/*
 * watch.c - drift as it happens: inotify on every watched upper dir, each
 * event a trigger to re-read one entry and classify it, the result
 * journaled once.
 *
 * The inotify instance is libinotifytools' (process-wide, in its globals:
 * this file is the only one that talks to it, and only one watcher may
 * run in a process).  Its watches, though, are added here, through the
 * fd of the directory, opened beneath the upper root without following
 * any symlink (inotify_add_watch on /proc/self/fd/N): a container swaps
 * dirs for symlinks at will, and a watch added by path could land on a
 * host dir.  So the table from watch descriptor to container path is
 * ours too; libinotifytools' own table, keyed by the path a watch was
 * added by, would hold /proc/self/fd names.  The events are read here
 * from its fd, because its next_event() blocks whatever the timeout
 * says, and the loop must also wait on the mount table, on timers and on
 * signals.
 *
 * Nothing is lost on purpose: a new directory is scanned right after its
 * watch is added (a plain recursive watch misses what is created in it
 * before the watch lands); an IN_Q_OVERFLOW, the start, and a timer
 * trigger full rescans; a container over its watch budget, or over the
 * system's watch limit, is rescanned periodically instead, and a dir that
 * cannot be watched gets its container rescanned soon.  A change is
 * reported once: path_state keeps what was last reported of each path,
 * and a rescan reports only what differs.
 *
 * The container is the attacker.  Whatever it does to its files is
 * contained to that entry (reported as an error event) or that container
 * (marked degraded and rescanned); a full disk stops the journal, never
 * detection: events still go out, and the journal catches up from the
 * upper dirs' state when it can write again.  The watcher fails only for
 * its own faults (out of memory, a broken database).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <inotifytools/inotifytools.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "alert.h"
#include "baseline.h"
#include "discover.h"
#include "drift.h"
#include "event.h"
#include "glob.h"
#include "hash.h"
#include "jsonw.h"
#include "names.h"
#include "overlay.h"
#include "pathset.h"
#include "policy.h"
#include "respond.h"
#include "store.h"
#include "util.h"
#include "walk.h"
#include "watch.h"

/* No IN_DONT_FOLLOW: watches are added through /proc/self/fd/N, a link
 * that must be followed (to our own fd, never to a container's link). */
#define WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | \
	IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR | \
	IN_EXCL_UNLINK)
#define DEFAULT_RESCAN_S 300
#define LIMITED_RESCAN_S 30	/* containers over a watch limit */
#define UNWATCHED_RESCAN_NS 5000000000LL	/* a dir could not be watched */
#define DEGRADED_RESCAN_NS 10000000000LL	/* a container could not be
						 * scanned */
#define JOURNAL_RETRY_NS 5000000000LL	/* the journal could not write */
#define SYSTEM_LIMIT_RETRY_NS 300000000000LL	/* fs.inotify limit hit */
#define RETRY_TRIES 3		/* a path whose dir kept changing */
#define DEFAULT_QUIET_MS 20
#define MAX_PENDING (1u << 20)
#define COMMIT_NS 100000000	/* group journal writes: 100 ms */
#define EVENTS_PER_TURN 8192
/* The journal's WAL is copied into the database file when the watcher
 * is about to wait and the WAL holds this many pages (4 KiB each)... */
#define CKPT_IDLE_PAGES 1000
/* ...or at once at this many, however busy it is. */
#define CKPT_BUSY_PAGES 16384

/* Path set flags: */
#define PENT_SCAN_DIR 0x1	/* pending: look for whiteouts in this dir */
#define PENT_UNJOURNALED 0x2	/* reported: printed, not yet journaled */

/* ---- watched containers ---- */

/* Why a container is rescanned instead of watched. */
enum limit_cause {
	LIMIT_NONE = 0,
	LIMIT_BUDGET,		/* more dirs than --max-watches-per-container */
	LIMIT_SYSTEM,		/* fs.inotify.max_user_watches reached */
};

struct wctr {
	struct uw_container info;	/* strings below are owned */
	char *strs[11];
	char **lower;
	struct uw_label *labels;
	size_t label_count;
	char *mount_point;	/* the discovery key */
	struct drift *drift;
	int root_fd;
	int *wds;
	size_t wd_count, wd_alloc;
	int root_xwhiteouts;	/* the upper root is overlay.opaque=x */
	unsigned dialect;	/* WALK_OV_*: the mount's overlay xattrs */
	enum limit_cause limited;	/* rescans only */
	int64_t limited_since_ns;
	uint64_t dirs_seen;	/* by the last full scan */
	uint64_t unwatched;	/* dirs that could not be watched */
	char degraded[256];	/* why it could not be scanned; "" if fine */
	char incomplete[256];	/* its baseline is incomplete: why */
	int paused, killed;	/* by us */
	int needs_rescan;
	int alive;
	int64_t next_rescan_ns;
	struct pathset pending;	/* container paths waiting for quiet */
	struct pathset aside;	/* queued while `pending` is drained */
	struct pathset reported;	/* path -> signature (first_ns) last
				 * reported: all of path_state, in memory */
};

/* What a watch descriptor watches: a dir of a container. */
struct wdir {
	struct wctr *c;		/* NULL: not ours */
	unsigned char *path;	/* its container path; "" for the root */
	size_t len;
};

struct watcher {
	struct store *store;
	const struct uw_watch_opts *opts;
	struct uw_error *err;
	int inotify_fd;
	struct uw_mounts_fd {
		int fd;
	} mounts;
	struct wctr **ctrs;
	size_t ctr_count;
	struct wdir *by_wd;	/* indexed by watch descriptor */
	size_t by_wd_size;
	size_t max_watches;	/* per container */
	uint64_t next_id;
	int in_txn;
	int64_t txn_start_ns;
	int64_t quiet_ns, max_hold_ns, rescan_ns, limited_rescan_ns;
	int stop_requested;		/* on_event said stop */
	int stop_rc;
	int idle_failed;		/* on_idle said stop: not called again */
	int exact_only;			/* --container named one exactly */
	/* a dir's old path, until its MOVED_TO */
	struct buf moved_from;
	struct wctr *moved_ctr;
	uint32_t moved_cookie;
	struct uw_policy_set *policies;
	struct alerter *alerter;
	/* The journal cannot write (a full disk): events still go out,
	 * marked unjournaled, and it is tried again now and then. */
	int journal_down;
	int journal_retrying;	/* journal_recover is trying it */
	char journal_why[256];
	int64_t journal_retry_ns;
	uint64_t unjournaled;		/* events out while it was down */
	int catching_up;		/* a rescan journals what was missed */
	/* for status.json and the metrics */
	char *status_path, *metrics_path;
	int64_t status_ns, started_ns, last_rescan_real_ns;
	uint64_t events_total, events_at_status;
	uint64_t responses_done, responses_failed, responses_skipped;
	uint64_t coverage_total;	/* coverage warnings given */
	uint64_t error_events;		/* entries that could not be read */
	int64_t alert_check_ns;
	uint64_t alert_dropped;
	char *evidence_dir;
	/* The context of the dir the last path was in: bursts of events
	 * come from few dirs.  Anything that happens to a dir (dir_gen)
	 * makes it stale. */
	struct drift_child ctx;
	struct buf ctx_path;
	struct wctr *ctx_ctr;
	uint64_t ctx_gen, dir_gen;
	int ctx_valid;
	struct glob **excludes;		/* compiled opts->excludes */
	size_t exclude_count;
	/* Mounts no runtime has claimed yet, and when first seen: a runtime
	 * mounts the rootfs a moment before it writes its state. */
	struct pathset unclaimed;
	int64_t resync_ns;		/* look at the host again then */
	/* scratch */
	struct buf sig, path;
	char esc[4][512];		/* escaped names for notices */
	int esc_next;
	int scanning;		/* in a full scan: it marks what it sees */
	unsigned scan_gen;	/* the mark of the current full scan */
	int leaf_reported;
	struct wctr *cur;
	struct wctr *draining;	/* its pending queue is being drained */
};

static void
vnotice(struct watcher *w, enum uw_notice_level level, const char *fmt,
    va_list ap)
{
	char msg[1024];

	if (w->opts->on_notice == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	w->opts->on_notice(level, msg, w->opts->arg);
}

static void
notice(struct watcher *w, const char *fmt, ...) UW_PRINTF(2, 3);
static void
warn(struct watcher *w, const char *fmt, ...) UW_PRINTF(2, 3);

/* For the operator's information. */
static void
notice(struct watcher *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnotice(w, UW_NOTICE_INFO, fmt, ap);
	va_end(ap);
}

/* Something failed, and the watcher goes on. */
static void
warn(struct watcher *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnotice(w, UW_NOTICE_WARNING, fmt, ap);
	va_end(ap);
}

/*
 * Less is watched than should be: said under --quiet, counted, and sent
 * as an alert.  Callers say it once per cause, when it starts.
 */
static void
coverage(struct watcher *w, const struct wctr *c, const char *fmt, ...)
    UW_PRINTF(3, 4);

static void
coverage(struct watcher *w, const struct wctr *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	w->coverage_total++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->opts->on_notice != NULL)
		w->opts->on_notice(UW_NOTICE_COVERAGE, msg, w->opts->arg);
	if (w->alerter != NULL)
		alert_coverage(w->alerter, c != NULL ? c->info.id : "", msg);
}

/*
 * `len` bytes a container chose (a path, a name) made safe for a notice:
 * escaped C-style (escape_to_buf), cut with "..." past about 500
 * bytes.  Four buffers serve in turn, so one notice may hold four.
 */
static const char *
esc(struct watcher *w, const void *bytes, size_t len)
{
	char *out = w->esc[w->esc_next];
	size_t used, n;

	w->esc_next = (w->esc_next + 1) % 4;
	n = escape_to_buf(out, sizeof(w->esc[0]) - 4, bytes, len, &used);
	if (used < len)
		memcpy(out + n, "...", 4);
	return out;
}

/* The same for a NUL-terminated string. */
static const char *
escs(struct watcher *w, const char *s)
{
	return esc(w, s, strlen(s));
}

static char *
xstrdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static void
ctr_free(struct wctr *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < sizeof(c->strs) / sizeof(c->strs[0]); i++)
		free(c->strs[i]);
	for (i = 0; c->lower != NULL && i < c->info.lower_count; i++)
		free(c->lower[i]);
	free(c->lower);
	for (i = 0; i < c->label_count; i++) {
		free((char *)c->labels[i].key);
		free((char *)c->labels[i].value);
	}
	free(c->labels);
	free(c->mount_point);
	drift_free(c->drift);
	if (c->root_fd >= 0)
		close(c->root_fd);
	free(c->wds);
	pathset_free(&c->pending);
	pathset_free(&c->aside);
	pathset_free(&c->reported);
	free(c);
}

/* Copy what discovery said of a container. */
static struct wctr *
ctr_new(const struct uw_container *src)
{
	struct wctr *c;
	const char *fields[11] = {
		src->id, src->name, src->runtime, src->image, src->image_id,
		src->image_key, src->pod, src->pod_namespace, src->upper,
		src->cgroup_v2, src->cgroup_v1_freezer
	};
	size_t i;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->root_fd = -1;
	for (i = 0; i < 11; i++) {
		c->strs[i] = xstrdup(fields[i]);
		if (c->strs[i] == NULL)
			goto fail;
	}
	c->info = *src;
	c->info.id = c->strs[0];
	c->info.name = c->strs[1];
	c->info.runtime = c->strs[2];
	c->info.image = c->strs[3];
	c->info.image_id = c->strs[4];
	c->info.image_key = c->strs[5];
	c->info.pod = c->strs[6];
	c->info.pod_namespace = c->strs[7];
	c->info.upper = c->strs[8];
	c->info.cgroup_v2 = c->strs[9];
	c->info.cgroup_v1_freezer = c->strs[10];
	c->info.mount_point = "";
	c->mount_point = xstrdup(src->mount_point);
	c->lower = calloc(src->lower_count + 1, sizeof(*c->lower));
	c->labels = calloc(src->label_count + 1, sizeof(*c->labels));
	if (c->mount_point == NULL || c->lower == NULL || c->labels == NULL)
		goto fail;
	for (i = 0; i < src->lower_count; i++) {
		c->lower[i] = xstrdup(src->lower[i]);
		if (c->lower[i] == NULL)
			goto fail;
	}
	c->info.lower = (const char *const *)c->lower;
	for (i = 0; i < src->label_count; i++) {
		c->labels[i].key = xstrdup(src->labels[i].key);
		c->labels[i].value = xstrdup(src->labels[i].value);
		c->label_count++;
		if (c->labels[i].key == NULL || c->labels[i].value == NULL)
			goto fail;
	}
	c->info.labels = c->labels;
	c->info.label_count = c->label_count;
	return c;
fail:
	ctr_free(c);
	return NULL;
}

/* ---- the journal ---- */

/*
 * The journal could not write (`rc`, the reason in w->err).  Out of memory
 * is our fault and ends the watcher (the negative code is returned).
 * Anything else (a full disk first) stops the journal, not detection:
 * the transaction is dropped, events keep going out marked unjournaled,
 * and journal_recover tries again every JOURNAL_RETRY_NS.  Returns 0.
 */
static int
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
	coverage(w, NULL, "the journal cannot write (%s): events still go "
	    "out, alerts and responses still happen; it catches up from the "
	    "upper dirs when it can write again (tried every %lld s)",
	    w->journal_why, JOURNAL_RETRY_NS / 1000000000);
	return 0;
}

/* Begin the journal's transaction, if it writes; 0 or -ENOMEM. */
static int
txn_begin(struct watcher *w)
{
	int rc;

	if (w->in_txn || w->journal_down)
		return 0;
	rc = store_begin(w->store, w->err);
	if (rc < 0)
		return journal_fail(w, rc);
	w->in_txn = 1;
	w->txn_start_ns = now_mono_ns();
	return 0;
}

static int
txn_commit(struct watcher *w)
{
	int rc;

	if (!w->in_txn)
		return 0;
	w->in_txn = 0;
	rc = store_commit(w->store, w->err);
	if (rc < 0)
		return journal_fail(w, rc);
	/* Checkpoints wait for a quiet moment (see watch_run), but the WAL
	 * must not grow without bound under a long burst. */
	if (store_wal_pages(w->store) >= CKPT_BUSY_PAGES &&
	    store_checkpoint(w->store, w->err) < 0)
		return journal_fail(w, -EIO);
	return 0;
}

/*
 * A signature of what an event says, to tell a change from a repeat: a
 * hash of its op and the current record (a dir's size follows its
 * entries and is left out), as 16 hex digits.
 */
static int
event_sig(struct buf *sig, const struct uw_event *ev, uint64_t *value)
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
 * Identity of a file's state for the rescan shortcut (never 0), or 0
 * when it cannot be trusted: a ctime younger than two ticks of the
 * clock the kernel stamps it from (the coarse clock: 4 ms at HZ=250,
 * 10 ms at HZ=100).  A same-size rewrite in the tick after this stat
 * could leave inode, ctime and size as they were (git's "racily clean"
 * files).
 */
static int64_t
racy_ns(void)
{
	static int64_t v;
	struct timespec res;

	if (v == 0) {
		v = 20000000;	/* unknown: 20 ms */
		if (clock_getres(CLOCK_REALTIME_COARSE, &res) == 0 &&
		    res.tv_sec == 0 && res.tv_nsec > 0 &&
		    res.tv_nsec <= 10000000)
			v = 2 * (int64_t)res.tv_nsec;
	}
	return v;
}

static int64_t
stat_key(const struct stat *st)
{
	uint64_t v[5];
	int64_t ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
	    st->st_ctim.tv_nsec;

	if (now_real_ns() - ctime_ns < racy_ns())
		return 0;

	v[0] = (uint64_t)st->st_ino;
	v[1] = (uint64_t)st->st_dev;
	v[2] = (uint64_t)st->st_ctim.tv_sec;
	v[3] = (uint64_t)st->st_ctim.tv_nsec;
	v[4] = (uint64_t)st->st_size;
	return (int64_t)(XXH3_64bits(v, sizeof(v)) | 1);
}

static int
excluded(const struct watcher *w, const unsigned char *path, size_t len)
{
	size_t i;

	for (i = 0; i < w->exclude_count; i++)
		if (glob_exec(w->excludes[i], path, len) == 1)
			return 1;
	return 0;
}

static int respond(struct watcher *w, struct wctr *c,
    const struct uw_event *ev, const struct uw_verdict *v);

/*
 * Journal an event and its path's state (in the open transaction).  A
 * failure other than out of memory stops the journal (journal_fail):
 * returns 1 then, 0 when journaled, or -ENOMEM.
 */
static int
journal_event(struct watcher *w, struct wctr *c, const struct uw_event *ev,
    const char *json, size_t json_len)
{
	const struct uw_verdict *v = ev->verdict;
	int rc;

	rc = txn_begin(w);
	if (rc < 0)
		return rc;
	if (w->journal_down)
		return 1;
	rc = store_event_add(w->store, ev->id, ev->time_ns, c->info.id,
	    op_name(ev->op), ev->path, ev->path_len,
	    file_type_name(ev->type), json, json_len,
	    v ? severity_name(v->severity) : NULL,
	    v ? action_name(v->action) : NULL, v ? v->policy_set : NULL,
	    w->err);
	if (rc == 0)
		rc = store_state_put(w->store, c->info.id, ev->path,
		    ev->path_len, (const char *)w->sig.data, w->err);
	if (rc < 0) {
		rc = journal_fail(w, rc);
		return rc < 0 ? rc : 1;
	}
	return 0;
}

/* The event as one JSON line (no newline), malloc'ed into *json. */
static int
event_json(const struct uw_event *ev, char **json, size_t *json_len)
{
	FILE *mem;
	int rc;

	*json = NULL;
	*json_len = 0;
	mem = open_memstream(json, json_len);
	if (mem == NULL)
		return -ENOMEM;
	/* one thread writes it: no stdio locking per character */
	__fsetlocking(mem, FSETLOCKING_BYCALLER);
	rc = event_write_json(mem, ev);
	if (fclose(mem) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0 && *json_len > 0)
		(*json_len)--;	/* the newline */
	if (rc < 0) {
		free(*json);
		*json = NULL;
	}
	return rc < 0 ? -ENOMEM : 0;
}

/*
 * The classifier's callback: judge, journal, hand out, alert and respond
 * to what is new.  What was reported already is not again; what was
 * reported while the journal was down is journaled now, quietly, when a
 * catch-up scan meets it unchanged.
 */
static int
report(const struct uw_event *ev, void *arg)
{
	struct watcher *w = arg;
	struct wctr *c = w->cur;
	struct uw_event out;
	struct uw_verdict verdict;
	struct pathset_entry *known;
	uint64_t sigval;
	char *json = NULL;
	size_t json_len = 0;
	int rc, cb;

	w->leaf_reported = 1;
	if (excluded(w, ev->path, ev->path_len))
		return 0;
	if (event_sig(&w->sig, ev, &sigval) < 0)
		return seterr(w->err, -ENOMEM, "out of memory");
	known = pathset_get(&c->reported, ev->path, ev->path_len, 0);
	if (known != NULL && w->scanning)
		known->gen = w->scan_gen;
	if (known != NULL && (uint64_t)known->first_ns == sigval &&
	    (!(known->flags & PENT_UNJOURNALED) || w->journal_down))
		return 0;	/* reported already */
	out = *ev;
	out.container = &c->info;
	out.time_ns = now_real_ns();
	out.id = w->next_id++;
	if (known != NULL && (uint64_t)known->first_ns == sigval) {
		/* Printed while the journal was down, and unchanged since:
		 * journaled now, as it is, and not handed out again. */
		rc = event_json(&out, &json, &json_len);
		if (rc == 0)
			rc = journal_event(w, c, &out, json, json_len);
		free(json);
		if (rc == 0) {
			known->flags &= ~(unsigned)PENT_UNJOURNALED;
			w->unjournaled--;
		}
		return rc < 0 ? seterr(w->err, rc, "out of memory") : 0;
	}
	w->events_total++;
	if (ev->op == UW_OP_ERROR)
		w->error_events++;
	if (w->policies != NULL) {
		rc = policy_evaluate(w->policies, &out, w->opts->max_action,
		    &verdict, w->err);
		if (rc < 0)
			return rc;
		out.verdict = &verdict;
	}
	rc = event_json(&out, &json, &json_len);
	if (rc < 0)
		return seterr(w->err, rc, "out of memory");
	rc = journal_event(w, c, &out, json, json_len);
	if (rc < 0)
		goto out;
	known = pathset_get(&c->reported, ev->path, ev->path_len, 1);
	if (known == NULL) {
		rc = seterr(w->err, -ENOMEM, "out of memory");
		goto out;
	}
	if (rc == 1 && !(known->flags & PENT_UNJOURNALED))
		w->unjournaled++;
	if (rc == 0 && (known->flags & PENT_UNJOURNALED))
		w->unjournaled--;
	known->flags = rc == 1 ? PENT_UNJOURNALED : 0;
	known->first_ns = (int64_t)sigval;
	known->last_ns = 0;	/* stat key: set by scans */
	known->gen = w->scan_gen;
	rc = 0;
	out.json = json;
	out.json_len = json_len;
	if (w->opts->on_event != NULL) {
		/* Non-zero: stop after this event, which is journaled. */
		cb = w->opts->on_event(&out, w->opts->arg);
		if (cb != 0 && w->stop_rc == 0) {
			w->stop_requested = 1;
			w->stop_rc = cb;
		}
	}
	if (out.verdict != NULL) {
		if (w->alerter != NULL)
			alert_event(w->alerter, &out);
		if (verdict.wanted >= UW_ACT_PAUSE)
			rc = respond(w, c, &out, &verdict);
	}
out:
	free(json);
	return rc;
}

/* Journal a response, unless the journal is down; 0 or -ENOMEM. */
static int
journal_response(struct watcher *w, const struct wctr *c, uint64_t event_id,
    const char *action, const char *method, const char *outcome,
    const char *detail, int64_t latency_ns, const char *evidence)
{
	int rc;

	rc = txn_begin(w);
	if (rc < 0 || w->journal_down)
		return rc;
	rc = store_response_add(w->store, event_id, c->info.id, action, method,
	    outcome, detail, latency_ns, evidence, w->err);
	return rc < 0 ? journal_fail(w, rc) : 0;
}

static int refresh_container(struct watcher *w, struct wctr *c);

/*
 * Carry out a pause or kill verdict: evidence first (a kill may take the
 * upper dir with it), then the action, then the journal, with the time
 * from detection.  A verdict capped below pause is journaled as skipped.
 * Nothing here fails the watcher but running out of memory.
 */
static int
respond(struct watcher *w, struct wctr *c, const struct uw_event *ev,
    const struct uw_verdict *v)
{
	struct respond_target t;
	struct uw_error rerr, everr;
	char evidence[PATH_MAX] = "", detail[UW_ERRLEN + 64];
	const char *method = NULL, *what = action_name(v->wanted);
	int64_t latency;
	size_t k;
	int rc;

	if (v->action < UW_ACT_PAUSE) {
		snprintf(detail, sizeof(detail), "capped at %s by the "
		    "operator (--max-action or --dry-run)",
		    action_name(v->action));
		notice(w, "container %s: %s on %s not done: %s",
		    escs(w, c->info.id), what, esc(w, ev->path, ev->path_len),
		    detail);
		return journal_response(w, c, ev->id, what, NULL, "skipped",
		    detail, 0, NULL);
	}
	what = action_name(v->action);
	/* The runtime may have written the container's state (its pid and
	 * cgroups) only after we first saw its mount. */
	if (c->info.cgroup_v2[0] == '\0' &&
	    c->info.cgroup_v1_freezer[0] == '\0')
		(void)refresh_container(w, c);
	t.id = c->info.id;
	t.runtime = c->info.runtime;
	t.v1_freezer = c->info.cgroup_v1_freezer;
	t.v2 = c->info.cgroup_v2;
	t.ns = NULL;
	for (k = 0; k < c->info.label_count; k++)
		if (strcmp(c->info.labels[k].key, "containerd.namespace") == 0)
			t.ns = c->info.labels[k].value;
	/* Paused by us, and still frozen?  (upperwatch resume, or the
	 * runtime, may have thawed it since.) */
	if (c->paused && v->action == UW_ACT_PAUSE && !respond_is_frozen(&t))
		c->paused = 0;
	if (c->killed || (c->paused && v->action == UW_ACT_PAUSE))
		return journal_response(w, c, ev->id, what, NULL, "skipped",
		    c->killed ? "already killed" : "already paused", 0, NULL);
	everr.msg[0] = '\0';
	if (ev->type == UW_TYPE_FILE && ev->current != NULL &&
	    respond_evidence(c->root_fd, ev->path, ev->path_len,
	    w->evidence_dir, ev->id, ev->json, evidence, sizeof(evidence),
	    &everr) < 0) {
		warn(w, "container %s: %s", escs(w, c->info.id), everr.msg);
		evidence[0] = '\0';
	}
	if (v->action == UW_ACT_KILL)
		rc = respond_kill(&t, &method, &rerr);
	else
		rc = respond_pause(&t, &method, &rerr);
	latency = now_real_ns() - ev->time_ns;
	if (rc == 0) {
		if (v->action == UW_ACT_KILL)
			c->killed = 1;
		else
			c->paused = 1;
		notice(w, "container %s %s (%s) %.1f ms after detecting %s %s",
		    escs(w, c->info.id), v->action == UW_ACT_KILL ? "killed" :
		    "paused", method, (double)latency / 1e6,
		    op_name(ev->op), esc(w, ev->path, ev->path_len));
		w->responses_done++;
	} else {
		warn(w, "container %s: %s failed: %s", escs(w, c->info.id),
		    what, rerr.msg);
		w->responses_failed++;
	}
	return journal_response(w, c, ev->id, what, method, rc == 0 ?
	    "done" : "failed", rc != 0 ? rerr.msg : everr.msg[0] ?
	    everr.msg : NULL, latency, evidence[0] ? evidence : NULL);
}

/* ---- status and metrics ---- */

/*
 * Write `len` bytes of `text` as the whole of `path`, padded with `pad`
 * (blank to JSON and Prometheus readers) to a multiple of STATUS_BLOCK,
 * so that the file keeps room for what comes next.  Normally through a
 * temporary file renamed over it (a reader never sees half).  When that
 * cannot be done (the disk is full: the usual way a monitor is blinded)
 * the old file is overwritten in place, within the blocks it already
 * has, which needs no free space.  Returns 0 or -errno.
 */
#define STATUS_BLOCK 16384

static int
write_padded(int fd, const char *text, size_t len, size_t size, char pad)
{
	char block[4096];
	size_t off = 0, n;
	ssize_t wr;

	memset(block, pad, sizeof(block));
	while (off < size) {
		if (off < len) {
			n = len - off;
			wr = pwrite(fd, text + off, n, (off_t)off);
		} else {
			n = size - off < sizeof(block) ? size - off :
			    sizeof(block);
			wr = pwrite(fd, block, n, (off_t)off);
		}
		if (wr <= 0)
			return wr < 0 ? -errno : -EIO;
		off += (size_t)wr;
	}
	return 0;
}

static int
write_status_file(const char *path, const char *text, size_t len, char pad)
{
	char tmp[PATH_MAX];
	struct stat st;
	size_t size = (len / STATUS_BLOCK + 1) * STATUS_BLOCK;
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd >= 0) {
		rc = fchmod(fd, 0644) < 0 ? -errno : 0;
		if (rc == 0)
			rc = write_padded(fd, text, len, size, pad);
		if (close(fd) < 0 && rc == 0)
			rc = -errno;
		if (rc == 0 && rename(tmp, path) < 0)
			rc = -errno;
		if (rc == 0)
			return 0;
		unlink(tmp);
	}
	/* In place, within the file's own blocks. */
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	rc = fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0 && (size_t)st.st_size < len)
		rc = -ENOSPC;
	if (rc == 0)
		rc = write_padded(fd, text, len, (size_t)st.st_size, pad);
	close(fd);
	return rc;
}

/* The coverage losses of the moment, one reason each, into the status
 * (JSON array items, after "first"). */
static void
degraded_reasons(struct watcher *w, FILE *f, int *count)
{
	char line[512];
	size_t i;

	if (w->journal_down) {
		snprintf(line, sizeof(line), "journal: %s (%llu events not "
		    "journaled yet)", w->journal_why,
		    (unsigned long long)w->unjournaled);
		if ((*count)++ > 0)
			fputc(',', f);
		jsonw_string(f, (const unsigned char *)line, strlen(line));
	}
	for (i = 0; i < w->ctr_count; i++) {
		struct wctr *c = w->ctrs[i];
		const char *what = NULL;
		char buf[400];

		if (c->degraded[0] != '\0')
			what = c->degraded;
		else if (c->limited == LIMIT_BUDGET)
			what = "more dirs than its watch budget: rescanned "
			    "instead of watched";
		else if (c->limited == LIMIT_SYSTEM)
			what = "the system's inotify watch limit is reached: "
			    "rescanned instead of watched";
		else if (c->unwatched > 0) {
			snprintf(buf, sizeof(buf), "%llu dirs cannot be "
			    "watched: rescanned often",
			    (unsigned long long)c->unwatched);
			what = buf;
		} else if (c->incomplete[0] != '\0') {
			snprintf(buf, sizeof(buf), "baseline incomplete: %s",
			    c->incomplete);
			what = buf;
		}
		if (what == NULL)
			continue;
		snprintf(line, sizeof(line), "container %s: %s",
		    escs(w, c->info.id), what);
		if ((*count)++ > 0)
			fputc(',', f);
		jsonw_string(f, (const unsigned char *)line, strlen(line));
	}
}

/*
 * status.json for `upperwatch status`, and the same figures in the
 * Prometheus text format for node_exporter's textfile collector (a file,
 * not a port: the daemon needs no network).  Both are written even when
 * the disk is full (write_status_file).
 */
static void
write_status(struct watcher *w, int final)
{
	uint64_t sent = 0, dropped = 0, suppressed = 0, queued = 0;
	uint64_t watches = 0, degraded = 0, limited = 0, unwatched = 0;
	uint64_t incomplete = 0;
	int64_t now = now_mono_ns();
	double interval, rate;
	char *text = NULL;
	size_t i, len = 0;
	int first = 1, inner, reasons = 0;
	FILE *f;

	interval = (double)(now - w->status_ns) / 1e9;
	rate = interval > 0 ? (double)(w->events_total -
	    w->events_at_status) / interval : 0;
	w->status_ns = now;
	w->events_at_status = w->events_total;
	if (w->alerter != NULL)
		alert_stats(w->alerter, &sent, &dropped, &suppressed, &queued);
	for (i = 0; i < w->ctr_count; i++) {
		watches += w->ctrs[i]->wd_count;
		degraded += w->ctrs[i]->degraded[0] != '\0';
		limited += w->ctrs[i]->limited != LIMIT_NONE;
		unwatched += w->ctrs[i]->unwatched;
		incomplete += w->ctrs[i]->incomplete[0] != '\0';
	}
	f = open_memstream(&text, &len);
	if (f == NULL)
		return;
	fputc('{', f);
	jsonw_int(f, &first, "pid", final ? 0 : (int64_t)getpid());
	jsonw_int(f, &first, "updated", now_real_ns());
	jsonw_int(f, &first, "started", w->started_ns);
	jsonw_uint(f, &first, "events_total", w->events_total);
	jsonw_double(f, &first, "events_per_second", rate);
	jsonw_uint(f, &first, "error_events", w->error_events);
	jsonw_uint(f, &first, "watches", watches);
	jsonw_int(f, &first, "watch_limit",
	    inotifytools_get_max_user_watches());
	jsonw_uint(f, &first, "max_watches_per_container", w->max_watches);
	jsonw_uint(f, &first, "unwatched_dirs", unwatched);
	jsonw_uint(f, &first, "alerts_sent", sent);
	jsonw_uint(f, &first, "alerts_dropped", dropped);
	jsonw_uint(f, &first, "alerts_suppressed", suppressed);
	jsonw_uint(f, &first, "alerts_queued", queued);
	jsonw_uint(f, &first, "responses_done", w->responses_done);
	jsonw_uint(f, &first, "responses_failed", w->responses_failed);
	jsonw_str(f, &first, "policy_set", w->policies ?
	    policy_digest(w->policies) : "");
	jsonw_int(f, &first, "last_rescan", w->last_rescan_real_ns);
	jsonw_bool(f, &first, "journal_ok", !w->journal_down);
	jsonw_uint(f, &first, "unjournaled_events", w->unjournaled);
	jsonw_uint(f, &first, "coverage_warnings", w->coverage_total);
	jsonw_key(f, &first, "degraded");
	fputc('[', f);
	degraded_reasons(w, f, &reasons);
	fputc(']', f);
	jsonw_key(f, &first, "containers");
	fputc('[', f);
	for (i = 0; i < w->ctr_count; i++) {
		struct wctr *c = w->ctrs[i];

		if (i > 0)
			fputc(',', f);
		inner = 1;
		fputc('{', f);
		jsonw_str(f, &inner, "id", c->info.id);
		jsonw_str(f, &inner, "name", c->info.name);
		jsonw_str(f, &inner, "runtime", c->info.runtime);
		jsonw_uint(f, &inner, "watches", c->wd_count);
		jsonw_bool(f, &inner, "rescan_only", c->limited != LIMIT_NONE);
		jsonw_uint(f, &inner, "unwatched_dirs", c->unwatched);
		if (c->degraded[0] != '\0')
			jsonw_str(f, &inner, "degraded", c->degraded);
		if (c->incomplete[0] != '\0')
			jsonw_str(f, &inner, "baseline_incomplete",
			    c->incomplete);
		jsonw_bool(f, &inner, "paused", c->paused);
		fputc('}', f);
	}
	fputs("]}\n", f);
	if (fclose(f) == 0)
		(void)write_status_file(w->status_path, text, len, ' ');
	free(text);
	text = NULL;
	len = 0;

	f = open_memstream(&text, &len);
	if (f == NULL)
		return;
#define METRIC(name, type, help, value) \
	fprintf(f, "# HELP upperwatch_" name " " help "\n# TYPE upperwatch_" \
	    name " " type "\nupperwatch_" name " %llu\n", \
	    (unsigned long long)(value))
	METRIC("events_total", "counter", "Drift events reported.",
	    w->events_total);
	METRIC("error_events_total", "counter",
	    "Entries that could not be classified (reported as errors).",
	    w->error_events);
	METRIC("containers_watched", "gauge", "Containers watched.",
	    w->ctr_count);
	METRIC("containers_degraded", "gauge",
	    "Containers that could not be scanned.", degraded);
	METRIC("containers_rescan_only", "gauge",
	    "Containers rescanned instead of watched (over a watch limit).",
	    limited);
	METRIC("baselines_incomplete", "gauge",
	    "Watched containers whose baseline is incomplete.", incomplete);
	METRIC("unwatched_dirs", "gauge",
	    "Dirs that could not be watched (their container is rescanned).",
	    unwatched);
	METRIC("journal_ok", "gauge",
	    "1 when the journal writes, 0 when it cannot (disk full).",
	    !w->journal_down);
	METRIC("unjournaled_events", "gauge",
	    "Events handed out but not journaled yet.", w->unjournaled);
	METRIC("coverage_warnings_total", "counter",
	    "Warnings that coverage was lowered.", w->coverage_total);
	METRIC("inotify_watches", "gauge", "inotify watches held.", watches);
	METRIC("inotify_watch_limit", "gauge",
	    "fs.inotify.max_user_watches.",
	    inotifytools_get_max_user_watches());
	METRIC("alerts_sent_total", "counter", "Alerts delivered.", sent);
	METRIC("alerts_dropped_total", "counter",
	    "Alerts dropped (sink down or queue full).", dropped);
	METRIC("alerts_suppressed_total", "counter",
	    "Alerts held back by dedupe or burst summaries.", suppressed);
	METRIC("responses_done_total", "counter",
	    "Pauses and kills carried out.", w->responses_done);
	METRIC("responses_failed_total", "counter",
	    "Pauses and kills that failed.", w->responses_failed);
	METRIC("last_rescan_timestamp_seconds", "gauge",
	    "When a container was last rescanned.",
	    w->last_rescan_real_ns / 1000000000);
#undef METRIC
	fprintf(f, "# HELP upperwatch_events_per_second Drift events per "
	    "second since the last update.\n# TYPE "
	    "upperwatch_events_per_second gauge\n"
	    "upperwatch_events_per_second %.3f\n", rate);
	fprintf(f, "# HELP upperwatch_policy_set_info The policy set in "
	    "use.\n# TYPE upperwatch_policy_set_info gauge\n"
	    "upperwatch_policy_set_info{digest=\"%s\"} 1\n",
	    w->policies ? policy_digest(w->policies) : "");
	if (fclose(f) == 0)
		(void)write_status_file(w->metrics_path, text, len, '\n');
	free(text);
}


/* ---- inotify (libinotifytools) ---- */

/* libinotifytools hides its fd: find the inotify instance it opened. */
static int
find_inotify_fd(void)
{
	char link[64], target[64];
	struct dirent *de;
	DIR *dh;
	ssize_t n;
	int fd, best = -1;

	dh = opendir("/proc/self/fd");
	if (dh == NULL)
		return -errno;
	while ((de = readdir(dh)) != NULL) {
		fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == dirfd(dh))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:inotify") == 0 && fd > best)
			best = fd;
	}
	closedir(dh);
	return best >= 0 ? best : -ENOENT;
}

/* Forget watch descriptor `wd` (the kernel dropped it, or we did). */
static void
forget_wd(struct watcher *w, int wd)
{
	struct wdir *d = &w->by_wd[wd];
	struct wctr *c = d->c;
	size_t k;

	for (k = 0; c != NULL && k < c->wd_count; k++) {
		if (c->wds[k] == wd) {
			c->wds[k] = c->wds[--c->wd_count];
			break;
		}
	}
	free(d->path);
	memset(d, 0, sizeof(*d));
}

/* Record that `wd` watches the dir at container path `path` of `c`. */
static int
remember_wd(struct watcher *w, struct wctr *c, int wd,
    const unsigned char *path, size_t len)
{
	struct wdir *v, *d;
	unsigned char *copy;
	int *wds;
	size_t size;

	if ((size_t)wd >= w->by_wd_size) {
		size = w->by_wd_size ? w->by_wd_size : 1024;
		while (size <= (size_t)wd)
			size *= 2;
		v = realloc(w->by_wd, size * sizeof(*v));
		if (v == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		memset(v + w->by_wd_size, 0, (size - w->by_wd_size) *
		    sizeof(*v));
		w->by_wd = v;
		w->by_wd_size = size;
	}
	d = &w->by_wd[wd];
	if (d->c != NULL && d->c != c)
		return 0;	/* another container's dir: never ours */
	if (d->c == c && d->len == len && memcmp(d->path, path, len) == 0)
		return 0;	/* watched already */
	copy = malloc(len + 1);
	if (copy == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	memcpy(copy, path, len);
	copy[len] = '\0';
	if (d->c == c) {
		/* the same dir under another name: moved */
		free(d->path);
		d->path = copy;
		d->len = len;
		return 0;
	}
	if (c->wd_count == c->wd_alloc) {
		size = c->wd_alloc ? c->wd_alloc * 2 : 64;
		wds = realloc(c->wds, size * sizeof(*wds));
		if (wds == NULL) {
			free(copy);
			return seterr(w->err, -ENOMEM, "out of memory");
		}
		c->wds = wds;
		c->wd_alloc = size;
	}
	c->wds[c->wd_count++] = wd;
	d->c = c;
	d->path = copy;
	d->len = len;
	return 0;
}

static void
drop_watches(struct watcher *w, struct wctr *c)
{
	int wd;

	while (c->wd_count > 0) {
		wd = c->wds[c->wd_count - 1];
		inotify_rm_watch(w->inotify_fd, wd);
		forget_wd(w, wd);
	}
}

/*
 * Stop watching `c`: it is rescanned every limited_rescan_ns instead,
 * until it has few enough dirs again (LIMIT_BUDGET) or a while has passed
 * (LIMIT_SYSTEM: other watchers may have let go of theirs).  Its
 * watches are released for the other containers.
 */
static void
limit(struct watcher *w, struct wctr *c, enum limit_cause cause)
{
	if (c->limited != LIMIT_NONE)
		return;
	c->limited = cause;
	c->limited_since_ns = now_mono_ns();
	drop_watches(w, c);
	w->ctx_valid = 0;
	c->next_rescan_ns = now_mono_ns() + w->limited_rescan_ns;
	if (cause == LIMIT_BUDGET)
		coverage(w, c, "container %s has more than %zu dirs to watch "
		    "(--max-watches-per-container): it is rescanned every "
		    "%lld s instead of watched until it has fewer",
		    escs(w, c->info.id), w->max_watches,
		    (long long)(w->limited_rescan_ns / 1000000000));
	else
		coverage(w, c, "the inotify watch limit "
		    "(fs.inotify.max_user_watches = %d) is reached: container "
		    "%s is rescanned every %lld s instead of watched; raise "
		    "the limit", inotifytools_get_max_user_watches(),
		    escs(w, c->info.id),
		    (long long)(w->limited_rescan_ns / 1000000000));
}

/*
 * Watch the dir open at `fd`, at container path `path` of `c`, through
 * the fd: whatever the container has made of that path since, the watch
 * is on the dir that was opened beneath its upper root.  Over a limit
 * the container falls back to rescans, loudly; a dir that cannot be
 * watched for another reason is counted, and the container rescanned
 * soon.  Fails only when out of memory.
 */
static int
add_watch(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, int fd)
{
	char proc[40];
	int wd, e;

	if (c->limited != LIMIT_NONE)
		return 0;
	while (len > 0 && path[len - 1] == '/')
		len--;		/* the root is "" */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (c->wd_count >= w->max_watches) {
		/* unless it is one of ours already (a rescan) */
		wd = inotify_add_watch(w->inotify_fd, proc, WATCH_MASK |
		    IN_MASK_CREATE);
		if (wd < 0 && errno == EEXIST)
			return 0;
		if (wd >= 0)
			inotify_rm_watch(w->inotify_fd, wd);
		limit(w, c, LIMIT_BUDGET);
		return 0;
	}
	wd = inotify_add_watch(w->inotify_fd, proc, WATCH_MASK);
	if (wd < 0) {
		e = errno;
		if (e == ENOSPC) {
			limit(w, c, LIMIT_SYSTEM);
			return 0;
		}
		if (c->unwatched++ == 0)
			coverage(w, c, "container %s: %s cannot be watched "
			    "(%s): the container is rescanned every %lld s "
			    "while it is so",
			    escs(w, c->info.id), esc(w, path, len),
			    strerror(e), UNWATCHED_RESCAN_NS / 1000000000);
		if (c->next_rescan_ns > now_mono_ns() + UNWATCHED_RESCAN_NS)
			c->next_rescan_ns = now_mono_ns() +
			    UNWATCHED_RESCAN_NS;
		return 0;
	}
	return remember_wd(w, c, wd, path, len);
}

/*
 * A dir of `c` was renamed from `from` to `to` (container paths): so were
 * the paths of the watches at and below it.
 */
static int
rename_watches(struct watcher *w, struct wctr *c, const unsigned char *from,
    size_t from_len, const unsigned char *to, size_t to_len)
{
	struct wdir *d;
	unsigned char *p;
	size_t k;

	for (k = 0; k < c->wd_count; k++) {
		d = &w->by_wd[c->wds[k]];
		if (d->len < from_len || memcmp(d->path, from, from_len) != 0 ||
		    (d->len > from_len && d->path[from_len] != '/'))
			continue;
		p = malloc(to_len + d->len - from_len + 1);
		if (p == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		memcpy(p, to, to_len);
		memcpy(p + to_len, d->path + from_len, d->len - from_len);
		p[to_len + d->len - from_len] = '\0';
		free(d->path);
		d->path = p;
		d->len = to_len + d->len - from_len;
	}
	return 0;
}

/* ---- classification ---- */

#define ANCESTOR_GONE 1		/* a dir on the way is gone */
#define ANCESTOR_UNREAD 2	/* a dir on the way could not be read */
#define PROCESS_RETRY 3		/* look at the path again in a moment */

#define DEEP_REASON "more than " WALK_MAX_DEPTH_TEXT " directories deep: " \
	"not read below"

/* How many components container path `path` has ("" and "/" have 0). */
static size_t
path_depth(const unsigned char *path, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (path[i] == '/' && i + 1 < len && path[i + 1] != '/')
			n++;
	return n;
}

/* The callback for a path's ancestors: they are classified for their
 * context only, but one that could not be read is remembered. */
static int
ancestor_event(const struct uw_event *ev, void *arg)
{
	struct watcher *w = arg;

	if (ev->op == UW_OP_ERROR)
		w->leaf_reported = 1;
	return 0;
}

/* The drift_dir of the cached context w->ctx, for entries of the dir at
 * container path path[0..plen). */
static void
ctx_dir(struct watcher *w, const unsigned char *path, size_t plen,
    struct drift_dir *dir)
{
	drift_dir_init(dir);
	dir->fd = w->ctx.fd;
	dir->xwhiteouts = w->ctx.xwhiteouts;
	dir->opaque = w->ctx.opaque;
	dir->new_tree = w->ctx.new_tree;
	dir->path = path;
	dir->path_len = plen;
	dir->bpath = w->ctx.bpath.data ? w->ctx.bpath.data :
	    (const unsigned char *)"";
	dir->bpath_len = w->ctx.bpath.len;
}

/*
 * The context of the dir at container path path[0..plen) of `c` (its fd,
 * overlay flags and baseline path), left in w->ctx: from the cache when
 * nothing about dirs changed since it was filled, else by classifying
 * each ancestor from the upper root (silently: only what they mean for
 * their children counts).  Returns 0, ANCESTOR_GONE, ANCESTOR_UNREAD, or
 * a negative error of our own.
 */
static int
parent_context(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t plen)
{
	struct drift_child ctx[2], *parent, *next;
	struct drift_dir dir;
	char comp[NAME_MAX + 1];
	size_t start, end;
	int rc = 0, depth = 0, i;

	if (w->ctx_valid && w->ctx_ctr == c && w->ctx_gen == w->dir_gen &&
	    w->ctx_path.len == plen &&
	    memcmp(w->ctx_path.data, path, plen) == 0)
		return 0;
	w->ctx_valid = 0;
	if (path_depth(path, plen) >= WALK_MAX_DEPTH)
		return ANCESTOR_UNREAD;	/* a rescan reports it */
	for (i = 0; i < 2; i++)
		drift_child_init(&ctx[i]);
	parent = &ctx[0];
	parent->fd = fcntl(c->root_fd, F_DUPFD_CLOEXEC, 0);
	if (parent->fd < 0) {
		rc = ANCESTOR_UNREAD;	/* out of fds: later */
		goto out;
	}
	parent->xwhiteouts = c->root_xwhiteouts;
	buf_reset(&w->ctx_path);
	if (buf_add(&w->ctx_path, "", 0) < 0) {
		rc = seterr(w->err, -ENOMEM, "out of memory");
		goto out;
	}
	w->cur = c;
	for (start = 1; start < plen; start = end + 1) {
		for (end = start; end < plen && path[end] != '/'; end++)
			;
		if (end - start > NAME_MAX || end == start) {
			rc = ANCESTOR_GONE;	/* no such name can exist */
			goto out;
		}
		memcpy(comp, path + start, end - start);
		comp[end - start] = '\0';
		drift_dir_init(&dir);
		dir.fd = parent->fd;
		dir.xwhiteouts = parent->xwhiteouts;
		dir.opaque = parent->opaque;
		dir.new_tree = parent->new_tree;
		dir.path = w->ctx_path.data;
		dir.path_len = w->ctx_path.len;
		dir.bpath = parent->bpath.data ? parent->bpath.data :
		    (const unsigned char *)"";
		dir.bpath_len = parent->bpath.len;
		next = &ctx[!depth];
		w->leaf_reported = 0;
		rc = drift_entry(c->drift, &dir, comp, end - start, next,
		    ancestor_event, w, w->err);
		if (rc < 0)
			goto out;
		if (next->fd < 0) {
			rc = w->leaf_reported ? ANCESTOR_UNREAD : ANCESTOR_GONE;
			goto out;
		}
		buf_reset(&w->ctx_path);
		if (buf_add(&w->ctx_path, path, end) < 0) {
			rc = seterr(w->err, -ENOMEM, "out of memory");
			goto out;
		}
		close(parent->fd);
		parent->fd = -1;
		parent = next;
		depth = !depth;
	}
	/* The cache takes the parent's context over. */
	drift_child_free(&w->ctx);
	w->ctx = *parent;
	drift_child_init(parent);
	w->ctx_ctr = c;
	w->ctx_gen = w->dir_gen;
	w->ctx_valid = 1;
out:
	for (i = 0; i < 2; i++)
		drift_child_free(&ctx[i]);
	return rc;
}

/*
 * Classify the entry at container path `path` of `c` and report it.
 * A directory entry is left open in `leaf` for the caller to watch and
 * scan.  Returns 0, ANCESTOR_GONE or ANCESTOR_UNREAD, or a negative
 * error of our own.
 */
static int
classify_path(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, struct drift_child *leaf)
{
	struct drift_dir dir;
	struct pathset_entry *known;
	struct stat st;
	char comp[NAME_MAX + 1];
	size_t plen;
	int64_t skey;
	int rc;

	if (len <= 1)
		return 0;	/* the root itself */
	for (plen = len; plen > 0 && path[plen - 1] != '/'; plen--)
		;
	if (plen == 0 || len - plen > NAME_MAX)
		return ANCESTOR_GONE;
	plen--;			/* the parent, without the slash */
	rc = parent_context(w, c, path, plen);
	if (rc != 0)
		return rc;
	memcpy(comp, path + plen + 1, len - plen - 1);
	comp[len - plen - 1] = '\0';
	ctx_dir(w, path, plen, &dir);
	w->cur = c;
	w->leaf_reported = 0;
	/* Its state before it is read: what a rescan may skip it by.  The
	 * entry is opened O_PATH for it, and a file is read through that. */
	skey = 0;
	dir.path_fd = walk_open_path(w->ctx.fd, comp, &st);
	if (dir.path_fd >= 0) {
		dir.st = &st;
		if (S_ISDIR(st.st_mode)) {
			close(dir.path_fd);
			dir.path_fd = -1;
		} else {
			skey = stat_key(&st);
		}
	}
	rc = drift_entry(c->drift, &dir, comp, len - plen - 1, leaf, report,
	    w, w->err);
	if (dir.path_fd >= 0)
		close(dir.path_fd);
	if (rc == 0 && w->leaf_reported && skey != 0) {
		known = pathset_get(&c->reported, path, len, 0);
		if (known != NULL)
			known->last_ns = skey;
	}
	return rc < 0 ? rc : 0;
}

/* The entry is not drift (any more): forget what was reported.  The
 * journal's row goes too, when the journal writes (else a catch-up
 * reconciles it). */
static int
forget_path(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len)
{
	struct pathset_entry *known;
	int rc;

	known = pathset_get(&c->reported, path, len, 0);
	if (known == NULL)
		return 0;	/* never reported */
	/* (`path` may be the entry's own key: the row goes first) */
	rc = txn_begin(w);
	if (rc == 0 && !w->journal_down) {
		rc = store_state_del(w->store, c->info.id, path, len, w->err);
		if (rc < 0)
			rc = journal_fail(w, rc);
	}
	if (known->flags & PENT_UNJOURNALED)
		w->unjournaled--;
	pathset_del(&c->reported, known);
	return rc;
}

/*
 * Watch the dir open in `child` (container path `path` of `c`), then list
 * it: what is made in it after the watch lands is in the queue, what came
 * before is in the listing.  Returns 0, a positive errno when it cannot
 * be listed (a million entries, an I/O error), or -ENOMEM.
 */
static int
watch_and_list(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, struct drift_child *child)
{
	int rc;

	rc = add_watch(w, c, path, len, child->fd);
	if (rc < 0)
		return rc;
	if (w->scanning)
		c->dirs_seen++;
	rc = walk_list(child->fd, &child->names);
	if (rc == -ENOMEM)
		return seterr(w->err, rc, "out of memory");
	if (rc < 0) {
		child->names.count = 0;
		return -rc;
	}
	return 0;
}

static int scan_tree(struct watcher *w, struct wctr *c,
    const unsigned char *path, size_t len, struct drift_child *top);
static int queue_path(struct watcher *w, struct wctr *c,
    const unsigned char *path, size_t len, unsigned flags, int64_t now);

/* Process one quiet path: 0, PROCESS_RETRY, or a negative error. */
static int
process_path(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, unsigned flags)
{
	struct drift_child leaf;
	struct drift_dir dir;
	char reason[128];
	size_t plen;
	int rc;

	drift_child_init(&leaf);
	rc = classify_path(w, c, path, len, &leaf);
	if (rc < 0)
		goto out;
	if (rc == ANCESTOR_UNREAD) {
		rc = PROCESS_RETRY;
		goto out;
	}
	if (!w->leaf_reported || rc == ANCESTOR_GONE) {
		rc = forget_path(w, c, path, len);
		if (rc < 0)
			goto out;
	}
	if (leaf.fd >= 0 && (flags & PENT_SCAN_DIR)) {
		/* A dir that appeared: watch it, then read what is already
		 * in it, so nothing made before the watch landed is lost. */
		rc = watch_and_list(w, c, path, len, &leaf);
		if (rc > 0) {
			/* the parent's context is still in w->ctx */
			for (plen = len; plen > 0 && path[plen - 1] != '/';
			    plen--)
				;
			snprintf(reason, sizeof(reason), "cannot list: %s",
			    strerror(rc));
			ctx_dir(w, path, plen - 1, &dir);
			rc = drift_error_entry(c->drift, &dir,
			    (const char *)path + plen, len - plen, reason,
			    report, w, w->err);
		} else if (rc == 0) {
			rc = scan_tree(w, c, path, len, &leaf);
		}
	}
	rc = rc < 0 ? rc : 0;
out:
	drift_child_free(&leaf);
	return rc;
}

/* Was this entry changed within the quiet period?  Then it may be in the
 * middle of being written (created empty, filled a moment later): a scan
 * leaves it to the queue, as an event would, rather than report it
 * twice. */
static int
still_settling(const struct watcher *w, const struct stat *st)
{
	int64_t ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
	    st->st_ctim.tv_nsec;

	return now_real_ns() - ctime_ns < w->quiet_ns;
}

/*
 * Scan the subtree at container path `path` (open in `top`, watched and
 * listed): classify every entry, watch and list each dir before reading
 * it.  An entry deeper than WALK_MAX_DEPTH is reported as such, and not
 * read.  Returns 0 or a negative error of our own.
 */
struct scan_frame {
	struct drift_child dir;
	size_t path_len, next;
};

static int
scan_tree(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, struct drift_child *top)
{
	struct scan_frame *frames;
	struct pathset_entry *known, *pe;
	struct stat st;
	int64_t skey;
	struct drift_dir dir;
	struct buf p;
	const char *name;
	char reason[128];
	size_t depth, nlen, i, base;
	int rc = 0, lrc;

	frames = calloc(WALK_MAX_DEPTH + 1, sizeof(*frames));
	if (frames == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	buf_init(&p, WALK_MAX_PATH);
	if (buf_add(&p, path, len) < 0) {
		free(frames);
		return seterr(w->err, -ENOMEM, "out of memory");
	}
	if (len == 1 && path[0] == '/')
		p.len = 0;	/* the root: children are "/name" */
	base = path_depth(p.data, p.len);
	frames[0].dir = *top;
	drift_child_init(top);
	frames[0].path_len = p.len;
	depth = 1;
	w->cur = c;
	while (depth > 0 && rc >= 0) {
		struct scan_frame *f = &frames[depth - 1], *ch;

		if (f->next == f->dir.names.count) {
			drift_child_free(&f->dir);
			depth--;
			continue;
		}
		i = f->next++;
		name = walk_name_str(&f->dir.names, i);
		nlen = f->dir.names.v[i].len;
		p.len = f->path_len;
		if (buf_addc(&p, '/') < 0 || buf_add(&p, name, nlen) < 0)
			continue;	/* longer than depth allows: not here */
		if (excluded(w, p.data, p.len))
			continue;
		drift_dir_init(&dir);
		dir.fd = f->dir.fd;
		dir.xwhiteouts = f->dir.xwhiteouts;
		dir.opaque = f->dir.opaque;
		dir.new_tree = f->dir.new_tree;
		dir.path = p.data;
		dir.path_len = f->path_len;
		dir.bpath = f->dir.bpath.data ? f->dir.bpath.data :
		    (const unsigned char *)"";
		dir.bpath_len = f->dir.bpath.len;
		/* An event waits for this path: this read covers it (the
		 * event came before), so it is taken off the queue; and the
		 * path is read whole, never skipped below. */
		pe = pathset_get(&c->pending, p.data, p.len, 0);
		if (pe != NULL)
			pathset_del(&c->pending, pe);
		if (base + depth > WALK_MAX_DEPTH) {
			/* Reported, never skipped silently. */
			w->leaf_reported = 0;
			rc = drift_error_entry(c->drift, &dir, name, nlen,
			    DEEP_REASON, report, w, w->err);
			continue;
		}
		skey = 0;
		known = f->dir.names.v[i].d_type == DT_DIR ? NULL :
		    pathset_get(&c->reported, p.data, p.len, 0);
		/* A path not reported yet is read whatever its state: open it
		 * O_PATH at once and read through that.  One reported is
		 * first looked at (an lstat), to skip it when unchanged. */
		if (known == NULL && f->dir.names.v[i].d_type != DT_DIR) {
			dir.path_fd = walk_open_path(f->dir.fd, name, &st);
			if (dir.path_fd >= 0)
				dir.st = &st;
		} else if (f->dir.names.v[i].d_type != DT_DIR &&
		    walk_stat(f->dir.fd, name, &st) == 0) {
			dir.st = &st;
		}
		if (dir.st != NULL) {
			if (S_ISDIR(st.st_mode)) {
				if (dir.path_fd >= 0)
					close(dir.path_fd);
				dir.path_fd = -1;
				goto classify;
			}
			if (known != NULL && w->scanning)
				known->gen = w->scan_gen;
			if (still_settling(w, &st)) {
				if (dir.path_fd >= 0)
					close(dir.path_fd);
				rc = queue_path(w, c, p.data, p.len, 0,
				    now_mono_ns());
				continue;
			}
			/* A file already reported and not touched since
			 * (same inode, ctime and size: any write moves
			 * ctime) needs no second look: overflow and periodic
			 * rescans stay cheap. */
			skey = stat_key(&st);
			if (pe == NULL && known != NULL && skey != 0 &&
			    known->last_ns == skey &&
			    !(known->flags & PENT_UNJOURNALED))
				continue;
		}
classify:
		ch = &frames[depth];
		drift_child_init(&ch->dir);
		w->leaf_reported = 0;
		rc = drift_entry(c->drift, &dir, name, nlen, &ch->dir, report,
		    w, w->err);
		if (dir.path_fd >= 0)
			close(dir.path_fd);
		if (rc == 0 && !w->leaf_reported && !w->scanning)
			rc = forget_path(w, c, p.data, p.len);
		if (rc == 0 && w->leaf_reported && skey != 0) {
			known = pathset_get(&c->reported, p.data, p.len, 0);
			if (known != NULL)
				known->last_ns = skey;
		}
		if (rc < 0 || ch->dir.fd < 0) {
			drift_child_free(&ch->dir);
			continue;
		}
		lrc = watch_and_list(w, c, p.data, p.len, &ch->dir);
		if (lrc != 0) {
			drift_child_free(&ch->dir);
			if (lrc < 0) {
				rc = lrc;
				continue;
			}
			snprintf(reason, sizeof(reason), "cannot list: %s",
			    strerror(lrc));
			rc = drift_error_entry(c->drift, &dir, name, nlen,
			    reason, report, w, w->err);
			continue;
		}
		ch->path_len = p.len;
		ch->next = 0;
		depth++;
	}
	while (depth > 0)
		drift_child_free(&frames[--depth].dir);
	free(frames);
	buf_free(&p);
	return rc < 0 ? rc : 0;
}

/* A path_state row into the container's cache of it. */
static int
load_state_row(const unsigned char *path, size_t len, const char *sig,
    void *arg)
{
	struct wctr *c = arg;
	struct pathset_entry *e;
	uint64_t v = 0;
	int i, d;

	for (i = 0; i < 16; i++) {
		d = sig[i] >= '0' && sig[i] <= '9' ? sig[i] - '0' :
		    sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 'a' + 10 : -1;
		if (d < 0)
			break;	/* not ours: matches no event */
		v = v << 4 | (uint64_t)d;
	}
	e = pathset_get(&c->reported, path, len, 1);
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
static int
load_state(struct watcher *w, struct wctr *c)
{
	int rc;

	rc = store_state_foreach(w->store, c->info.id, load_state_row, c,
	    w->err);
	if (rc == -ENOMEM)
		rc = seterr(w->err, rc, "out of memory");
	return rc;
}

/*
 * A container could not be scanned (`why`): said once per cause (and
 * alerted), rescanned every DEGRADED_RESCAN_NS until it can be; the
 * others are untouched.
 */
static void
degrade(struct watcher *w, struct wctr *c, const char *why)
{
	c->next_rescan_ns = now_mono_ns() + DEGRADED_RESCAN_NS;
	if (strcmp(c->degraded, why) == 0)
		return;
	snprintf(c->degraded, sizeof(c->degraded), "%s", why);
	coverage(w, c, "container %s is degraded: %s; rescanned every %lld s "
	    "until it can be read", escs(w, c->info.id), why,
	    DEGRADED_RESCAN_NS / 1000000000);
}

/* A path_state row into a set of the journal's state, to compare. */
static int
journal_state_row(const unsigned char *path, size_t len, const char *sig,
    void *arg)
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
	return 0;
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
	rc = store_state_foreach(w->store, c->info.id, journal_state_row,
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
		rc = store_state_del(w->store, c->info.id, j->key, j->len,
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
static int
journal_recover(struct watcher *w)
{
	size_t i;
	int rc = 0;

	w->journal_down = 0;
	w->journal_retrying = 1;
	rc = txn_begin(w);
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
		rc = txn_commit(w);
	w->journal_retrying = 0;
	if (rc < 0 || w->journal_down) {
		/* still down: journal_fail set the next try */
		w->journal_down = 1;
		return rc == -ENOMEM ? rc : 0;
	}
	notice(w, "the journal writes again (%s is over): catching up with "
	    "%llu events from the upper dirs", w->journal_why,
	    (unsigned long long)w->unjournaled);
	w->journal_why[0] = '\0';
	for (i = 0; i < w->ctr_count; i++)
		w->ctrs[i]->needs_rescan = 1;
	return 0;
}

/* A full rescan of a container: report what differs from the journal. */
static int
rescan(struct watcher *w, struct wctr *c)
{
	struct drift_child top;
	struct pathset_entry *known;
	char why[256];
	size_t i;
	int rc;

	w->dir_gen++;
	c->needs_rescan = 0;
	w->last_rescan_real_ns = now_real_ns();
	c->next_rescan_ns = now_mono_ns() + (c->limited != LIMIT_NONE ?
	    w->limited_rescan_ns : w->rescan_ns);
	/* Every event read so far happened before this scan reads the
	 * tree: scan_tree takes each path it reads off the pending queue
	 * (after an overflow, thousands), so they need no second look. */
	drift_child_init(&top);
	top.fd = fcntl(c->root_fd, F_DUPFD_CLOEXEC, 0);
	if (top.fd < 0) {
		snprintf(why, sizeof(why), "cannot open its upper dir: %s",
		    strerror(errno));
		degrade(w, c, why);
		drift_child_free(&top);
		return 0;
	}
	top.xwhiteouts = c->root_xwhiteouts;
	c->unwatched = 0;
	c->dirs_seen = 0;
	w->scanning = 1;
	rc = watch_and_list(w, c, (const unsigned char *)"", 0, &top);
	if (rc > 0) {
		w->scanning = 0;
		snprintf(why, sizeof(why), "cannot list its upper dir: %s",
		    strerror(rc));
		degrade(w, c, why);
		drift_child_free(&top);
		return 0;
	}
	/* Each reported path the scan meets, with drift or unchanged
	 * since, gets this scan's mark; the unmarked ones are gone (or are
	 * drift no more): forget them. */
	w->scan_gen++;
	if (rc == 0)
		rc = scan_tree(w, c, (const unsigned char *)"/", 1, &top);
	w->scanning = 0;
	drift_child_free(&top);
	for (i = 0; rc == 0 &&
	    (known = pathset_next(&c->reported, &i)) != NULL;) {
		if (known->gen == w->scan_gen)
			continue;
		rc = forget_path(w, c, known->key, known->len);
	}
	if (rc < 0)
		return rc;
	if (c->degraded[0] != '\0') {
		notice(w, "container %s is scanned again", escs(w, c->info.id));
		c->degraded[0] = '\0';
	}
	/* Rescanned instead of watched: watched again once it is small
	 * enough (with room to grow), or, after the system's limit, once
	 * others may have let go of their watches. */
	if ((c->limited == LIMIT_BUDGET &&
	    c->dirs_seen <= w->max_watches * 3 / 4) ||
	    (c->limited == LIMIT_SYSTEM && now_mono_ns() -
	    c->limited_since_ns >= SYSTEM_LIMIT_RETRY_NS)) {
		notice(w, "container %s is watched again (%llu dirs)",
		    escs(w, c->info.id), (unsigned long long)c->dirs_seen);
		c->limited = LIMIT_NONE;
		c->needs_rescan = 1;
	}
	if (c->unwatched > 0 &&
	    c->next_rescan_ns > now_mono_ns() + UNWATCHED_RESCAN_NS)
		c->next_rescan_ns = now_mono_ns() + UNWATCHED_RESCAN_NS;
	return 0;
}

/* ---- containers coming and going ---- */

#define START_RETRY_NS 30000000000LL	/* a container that failed to start */

/*
 * Start watching a container: its baseline (built from its image's layers
 * on first sight, recording what can be recorded), its upper root, its
 * journal state, and the start-up scan.  A container that cannot be
 * watched is said loudly and tried again later; only our own faults fail.
 */
static int
start_container(struct watcher *w, const struct uw_container *info)
{
	struct uw_baseline_opts bopts;
	struct uw_baseline_stats stats;
	struct walk_xattrs x;
	struct wctr *c, **v;
	int64_t image_id;
	int rc;

	c = ctr_new(info);
	if (c == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	c->alive = 1;
	if (w->opts->image != NULL) {
		free(c->strs[5]);
		c->strs[5] = xstrdup(w->opts->image);
		c->info.image_key = c->strs[5];
		if (c->info.image[0] == '\0')
			c->info.image = c->strs[5];
	}
	rc = store_image_id(w->store, c->info.image_key, &image_id, w->err);
	if (rc == -ENOENT && !w->opts->no_auto_baseline &&
	    c->info.lower_count > 0 && w->opts->image == NULL) {
		/* First sight of this image: its baseline comes from its
		 * layers, never from the running container.  A layer that
		 * cannot be read whole (too deep, unreadable files) leaves
		 * an incomplete baseline: the container is watched against
		 * it anyway, and that is said. */
		rc = txn_commit(w);
		memset(&bopts, 0, sizeof(bopts));
		bopts.image = c->info.image_key;
		bopts.layers = c->info.lower;
		bopts.layer_count = c->info.lower_count;
		bopts.overlay_flags = c->info.overlay_follow;
		bopts.allow_incomplete = 1;
		bopts.cancel = w->opts->stop;
		if (rc == 0)
			rc = baseline_build(w->store, &bopts, &stats, w->err);
		if (rc == 0)
			notice(w, "baseline of %s (%s) built from %zu layers: "
			    "%llu entries in %.2f s", escs(w,
			    c->info.image_key), escs(w, c->info.image[0] ?
			    c->info.image : c->info.id), c->info.lower_count,
			    (unsigned long long)stats.entries, stats.seconds);
	}
	if (rc == 0)
		rc = store_image_incomplete(w->store, c->info.image_key,
		    c->incomplete, sizeof(c->incomplete), w->err);
	if (rc == -ENOMEM || rc == -ECANCELED)
		goto fail;
	if (rc < 0) {
		coverage(w, c, "container %s is not watched: %s; tried again "
		    "in %lld s", escs(w, c->info.id), w->err->msg,
		    START_RETRY_NS / 1000000000);
		w->resync_ns = now_mono_ns() + START_RETRY_NS;
		ctr_free(c);
		return 0;
	}
	if (rc == 1)
		coverage(w, c, "the baseline of %s is incomplete (%s): "
		    "container %s is watched against what it holds",
		    escs(w, c->info.image_key), c->incomplete,
		    escs(w, c->info.id));
	c->dialect = overlay_dialect(c->info.overlay_follow, 0);
	c->drift = drift_new(w->store, c->info.image_key, w->err);
	c->root_fd = walk_open_root(c->info.upper);
	if (c->drift == NULL || c->root_fd < 0) {
		coverage(w, c, "container %s is not watched: %s; tried again "
		    "in %lld s", escs(w, c->info.id), c->drift == NULL ?
		    w->err->msg : strerror(-c->root_fd),
		    START_RETRY_NS / 1000000000);
		w->resync_ns = now_mono_ns() + START_RETRY_NS;
		ctr_free(c);
		return 0;
	}
	drift_set_root(c->drift, c->root_fd);
	drift_set_dialect(c->drift, c->dialect);
	if (walk_read_xattrs(c->root_fd, c->dialect, &x) == 0)
		c->root_xwhiteouts = (x.flags & WALK_X_XWHITEOUTS) != 0;
	v = realloc(w->ctrs, (w->ctr_count + 1) * sizeof(*v));
	if (v == NULL) {
		rc = seterr(w->err, -ENOMEM, "out of memory");
		goto fail;
	}
	w->ctrs = v;
	w->ctrs[w->ctr_count++] = c;
	notice(w, "watching container %s (%s, %s) upper %s",
	    escs(w, c->info.id), escs(w, c->info.name), c->info.runtime,
	    escs(w, c->info.upper));
	/* The start-up scan: drift made while nobody watched. */
	rc = load_state(w, c);
	return rc < 0 ? rc : rescan(w, c);
fail:
	ctr_free(c);
	return rc;
}

static void
stop_container(struct watcher *w, size_t i)
{
	struct wctr *c = w->ctrs[i];

	notice(w, "container %s is gone; %zu watches released",
	    escs(w, c->info.id), c->wd_count);
	if (w->ctx_ctr == c)
		w->ctx_valid = 0;
	drop_watches(w, c);
	ctr_free(c);
	w->ctrs[i] = w->ctrs[--w->ctr_count];
}

struct sync_ctx {
	struct watcher *w;
	int rc;
};

/* Does --container name this one?  An exact id or name wins over an id
 * prefix ("web-1" must not also watch "web-10"). */
static int
want_container(const struct watcher *w, const struct uw_container *info)
{
	const char *want = w->opts->container;

	if (want == NULL)
		return 1;
	if (strcmp(info->id, want) == 0 || strcmp(info->name, want) == 0)
		return 1;
	return !w->exact_only && strlen(want) >= 4 &&
	    strncmp(info->id, want, strlen(want)) == 0;
}

static int
count_exact(const struct uw_container *info, void *arg)
{
	struct watcher *w = arg;

	if (strcmp(info->id, w->opts->container) == 0 ||
	    strcmp(info->name, w->opts->container) == 0)
		w->exact_only = 1;
	return 0;
}

/*
 * What the runtime wrote after we first saw the mount: its pid and
 * cgroups (a pause or kill needs them).  Strings are replaced only when
 * they were empty, so pointers handed out before stay valid until the
 * container goes.
 */
static int
update_container(struct watcher *w, struct wctr *c,
    const struct uw_container *info)
{
	char *v2 = NULL, *v1 = NULL;

	if (c->info.pid == 0)
		c->info.pid = info->pid;
	if (c->info.cgroup_v2[0] == '\0' && info->cgroup_v2[0] != '\0') {
		v2 = strdup(info->cgroup_v2);
		if (v2 == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		free(c->strs[9]);
		c->strs[9] = v2;
		c->info.cgroup_v2 = v2;
	}
	if (c->info.cgroup_v1_freezer[0] == '\0' &&
	    info->cgroup_v1_freezer[0] != '\0') {
		v1 = strdup(info->cgroup_v1_freezer);
		if (v1 == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		free(c->strs[10]);
		c->strs[10] = v1;
		c->info.cgroup_v1_freezer = v1;
	}
	return 0;
}

struct refresh_ctx {
	struct watcher *w;
	struct wctr *c;
	int rc;
};

static int
refresh_one(const struct uw_container *info, void *arg)
{
	struct refresh_ctx *r = arg;

	if (strcmp(r->c->mount_point, info->mount_point) != 0)
		return 0;
	r->rc = update_container(r->w, r->c, info);
	return 1;
}

/* Read what the runtime says of `c` now (before a pause or kill, when
 * its cgroups were not known yet).  0, or -ENOMEM. */
static int
refresh_container(struct watcher *w, struct wctr *c)
{
	struct refresh_ctx r = { w, c, 0 };
	struct uw_error err;

	if (discover_foreach(NULL, refresh_one, &r, NULL, &err) < 0)
		return 0;	/* nothing better to go on: the caller says */
	return r.rc;
}

#define UNCLAIMED_WAIT_NS 2000000000	/* then watch it as "unknown" */
#define RESYNC_NS 300000000

static int
sync_one(const struct uw_container *info, void *arg)
{
	struct sync_ctx *s = arg;
	struct watcher *w = s->w;
	struct pathset_entry *e;
	int64_t now;
	size_t i;

	for (i = 0; i < w->ctr_count; i++) {
		if (strcmp(w->ctrs[i]->mount_point, info->mount_point) != 0)
			continue;
		if (strcmp(w->ctrs[i]->info.runtime, "unknown") == 0 &&
		    strcmp(info->runtime, "unknown") != 0 &&
		    want_container(w, info)) {
			/* A runtime claimed it late: it is that container
			 * now, with its own id, name and cgroups. */
			notice(w, "container %s is %s's %s", escs(w,
			    w->ctrs[i]->info.id), info->runtime,
			    escs(w, info->id));
			stop_container(w, i);
			s->rc = start_container(w, info);
			return s->rc == -ECANCELED ? 1 : 0;
		}
		w->ctrs[i]->alive = 1;
		return update_container(w, w->ctrs[i], info);
	}
	if (strcmp(info->runtime, "unknown") == 0) {
		now = now_mono_ns();
		e = pathset_get(&w->unclaimed, (const unsigned char *)
		    info->mount_point, strlen(info->mount_point), 1);
		if (e == NULL)
			return -ENOMEM;
		if (e->first_ns == 0)
			e->first_ns = now;
		if (now - e->first_ns < UNCLAIMED_WAIT_NS) {
			w->resync_ns = now + RESYNC_NS;
			return 0;
		}
	}
	if (!want_container(w, info))
		return 0;
	s->rc = start_container(w, info);
	return s->rc == -ECANCELED ? 1 : 0;
}

/* Follow the host: start new containers, drop the gone ones. */
static int
sync_containers(struct watcher *w)
{
	struct sync_ctx s = { w, 0 };
	size_t i;
	int rc;

	for (i = 0; i < w->ctr_count; i++)
		w->ctrs[i]->alive = 0;
	w->resync_ns = 0;
	if (w->opts->container != NULL && !w->exact_only) {
		rc = discover_foreach(NULL, count_exact, w, NULL, w->err);
		if (rc < 0)
			return rc;
	}
	rc = discover_foreach(NULL, sync_one, &s, NULL, w->err);
	if (rc < 0)
		return rc;
	if (s.rc < 0)
		return s.rc;
	for (i = w->ctr_count; i > 0; i--)
		if (!w->ctrs[i - 1]->alive)
			stop_container(w, i - 1);
	return 0;
}

/* ---- policies ---- */

static void
policy_log(const char *policy, const char *line, void *arg)
{
	struct watcher *w = arg;

	notice(w, "policy %s: %s", policy, line);
}

static void
policy_notice(const char *msg, void *arg)
{
	/* a policy quarantined: it judges nothing until a reload */
	coverage((struct watcher *)arg, NULL, "%s", msg);
}

/* Load the policy set; at start a failure is fatal, on reload the old
 * set stays. */
static int
load_policies(struct watcher *w, int reload)
{
	struct uw_policy_set *set;
	struct uw_error err;

	set = policy_load(w->opts->policy_paths,
	    w->opts->policy_path_count, &w->opts->policy_limits, policy_log,
	    w, &err);
	if (set == NULL) {
		if (!reload)
			return seterr(w->err, err.code, "policies: %s",
			    err.msg);
		warn(w, "policy reload failed, the previous set "
		    "stays: %s", err.msg);
		return 0;
	}
	policy_set_notice(set, policy_notice, w);
	policy_free(w->policies);
	w->policies = set;
	notice(w, "policies %s: %zu policies, set %s", reload ? "reloaded" :
	    "loaded", policy_count(set), policy_digest(set));
	return 0;
}

/* ---- the event loop ---- */

static int
queue_path(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, unsigned flags, int64_t now)
{
	struct pathset_entry *e;

	if (c->pending.count >= MAX_PENDING) {
		c->needs_rescan = 1;	/* too much at once: rescan */
		return 0;
	}
	/* While the queue is drained it must not grow under the drain:
	 * what comes meanwhile waits aside. */
	e = pathset_get(w->draining == c ? &c->aside : &c->pending, path, len,
	    1);
	if (e == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	if (e->first_ns == 0)
		e->first_ns = now;
	e->last_ns = now;
	e->flags |= flags;
	return 0;
}

/* Move what waited aside during a drain into the queue. */
static int
merge_aside(struct watcher *w, struct wctr *c)
{
	struct pathset_entry *a, *e;
	size_t i;

	for (i = 0; (a = pathset_next(&c->aside, &i)) != NULL;) {
		e = pathset_get(&c->pending, a->key, a->len, 1);
		if (e == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		if (e->first_ns == 0 || a->first_ns < e->first_ns)
			e->first_ns = a->first_ns;
		if (a->last_ns > e->last_ns)
			e->last_ns = a->last_ns;
		e->flags |= a->flags;
	}
	pathset_free(&c->aside);
	return 0;
}

static int
handle_event(struct watcher *w, struct inotify_event *ev, int64_t now)
{
	struct wdir *d;
	struct wctr *c;
	size_t nlen;
	unsigned flags = 0;
	int rc;

	if (ev->mask & IN_Q_OVERFLOW) {
		size_t i;

		notice(w, "inotify queue overflow: rescanning every "
		    "container");
		for (i = 0; i < w->ctr_count; i++)
			w->ctrs[i]->needs_rescan = 1;
		return 0;
	}
	if (ev->wd < 0 || (size_t)ev->wd >= w->by_wd_size ||
	    w->by_wd[ev->wd].c == NULL)
		return 0;
	d = &w->by_wd[ev->wd];
	c = d->c;
	if (ev->mask & IN_IGNORED) {
		/* The kernel dropped it (the dir is gone): so do we. */
		forget_wd(w, ev->wd);
		return 0;
	}
	buf_reset(&w->path);
	rc = buf_add(&w->path, d->path, d->len);
	nlen = ev->len ? strlen(ev->name) : 0;
	if (rc == 0 && nlen > 0) {
		rc = buf_addc(&w->path, '/');
		if (rc == 0)
			rc = buf_add(&w->path, ev->name, nlen);
	}
	if (rc < 0 || w->path.len == 0)
		return 0;	/* the upper root itself, or too long */
	if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
		flags |= PENT_SCAN_DIR;
	/* A dir came, went, was renamed or had its xattrs (opaque,
	 * redirect) changed: cached dir contexts may be wrong now. */
	if ((ev->mask & IN_ISDIR) || nlen == 0)
		w->dir_gen++;
	if ((ev->mask & IN_ISDIR) && (ev->mask & IN_MOVED_FROM)) {
		/* Remember the old name, for its MOVED_TO twin. */
		buf_reset(&w->moved_from);
		if (buf_add(&w->moved_from, w->path.data, w->path.len) < 0)
			w->moved_ctr = NULL;
		else
			w->moved_ctr = c;
		w->moved_cookie = ev->cookie;
	} else if ((ev->mask & IN_ISDIR) && (ev->mask & IN_MOVED_TO) &&
	    w->moved_ctr == c && ev->cookie == w->moved_cookie) {
		/* Keep the paths of the moved subtree's watches true. */
		rc = rename_watches(w, c, w->moved_from.data,
		    w->moved_from.len, w->path.data, w->path.len);
		w->moved_ctr = NULL;
		if (rc < 0)
			return rc;
	}
	rc = queue_path(w, c, w->path.data, w->path.len, flags, now);
	if (rc == 0 && (ev->mask & (IN_MOVED_FROM | IN_MOVED_TO))) {
		/* A rename in the upper can leave a whiteout at the old name
		 * that inotify never reports: look at the dir again. */
		while (w->path.len > 0 &&
		    w->path.data[w->path.len - 1] != '/')
			w->path.len--;
		if (w->path.len > 1) {
			w->path.len--;
			rc = queue_path(w, c, w->path.data, w->path.len,
			    PENT_SCAN_DIR, now);
		}
	}
	return rc;
}

/* Read what the kernel queued (never blocking) and handle each event. */
static int
read_events(struct watcher *w, int64_t now)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct
	    inotify_event))));
	struct inotify_event *ev;
	ssize_t n, pos;
	int turns, rc;

	for (turns = 0; turns < EVENTS_PER_TURN / 64; turns++) {
		n = read(w->inotify_fd, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 :
			    seterr(w->err, -errno, "inotify: %s",
			    strerror(errno));
		for (pos = 0; pos + (ssize_t)sizeof(*ev) <= n;
		    pos += (ssize_t)(sizeof(*ev) + ev->len)) {
			ev = (struct inotify_event *)(buf + pos);
			rc = handle_event(w, ev, now);
			if (rc < 0)
				return rc;
		}
		if (n < (ssize_t)sizeof(buf) / 2)
			break;
	}
	return 0;
}

/* Classify the paths that have been quiet long enough. */
static int
drain_pending(struct watcher *w, int64_t now, int64_t *next_due)
{
	struct pathset_entry *e;
	size_t i, k;
	int64_t due;
	int rc = 0;

	for (k = 0; k < w->ctr_count; k++) {
		struct wctr *c = w->ctrs[k];

		/* A rescan is due: it reads every path, pending or not. */
		if (c->pending.count == 0 || c->needs_rescan)
			continue;
		w->draining = c;
		for (i = 0; (e = pathset_next(&c->pending, &i)) != NULL;) {
			due = e->last_ns + w->quiet_ns;
			if (due > e->first_ns + w->max_hold_ns)
				due = e->first_ns + w->max_hold_ns;
			if (due > now) {
				if (due < *next_due)
					*next_due = due;
				continue;
			}
			rc = txn_begin(w);
			if (rc == 0)
				rc = process_path(w, c, e->key, e->len,
				    e->flags);
			if (rc == PROCESS_RETRY && pathset_live(e) &&
			    ++e->gen < RETRY_TRIES) {
				/* A dir on its way kept changing: again in
				 * a moment; after that, a rescan reports
				 * whatever is there. */
				e->last_ns = now + (int64_t)e->gen *
				    w->quiet_ns;
				e->first_ns = e->last_ns;
				if (e->last_ns + w->quiet_ns < *next_due)
					*next_due = e->last_ns + w->quiet_ns;
				rc = 0;
				continue;
			}
			if (rc == PROCESS_RETRY) {
				c->needs_rescan = 1;
				rc = 0;
			}
			if (pathset_live(e))
				pathset_del(&c->pending, e);
			if (rc < 0)
				break;
		}
		w->draining = NULL;
		if (rc == 0)
			rc = merge_aside(w, c);
		if (rc < 0)
			return rc;
		if (c->pending.count > 0 && *next_due > now + w->quiet_ns)
			*next_due = now + w->quiet_ns;
	}
	return 0;
}

/* The caller's on_idle; non-zero (and the watcher stops) if it asks. */
static int
idle(struct watcher *w)
{
	int cb;

	if (w->opts->on_idle == NULL || w->idle_failed)
		return 0;
	cb = w->opts->on_idle(w->opts->arg);
	if (cb != 0) {
		w->idle_failed = 1;
		if (w->stop_rc == 0) {
			w->stop_requested = 1;
			w->stop_rc = cb;
		}
	}
	return cb;
}

#define STATUS_NS 5000000000LL	/* status.json and metrics: every 5 s */

/* A file beside `path` (the database). */
static char *
sibling(const char *path, const char *name)
{
	const char *slash = strrchr(path, '/');
	size_t dir = slash != NULL ? (size_t)(slash - path + 1) : 0;
	char *out = malloc(dir + strlen(name) + 1);

	if (out != NULL) {
		memcpy(out, path, dir);
		strcpy(out + dir, name);
	}
	return out;
}

int
watch_run(struct store *store, const struct uw_watch_opts *opts,
    struct uw_error *err)
{
	struct watcher w;
	struct pollfd pfd[2];
	struct uw_container sidecar;
	int64_t now, next_due;
	size_t i;
	int rc, n, host = opts->upper == NULL, timeout;

	memset(&w, 0, sizeof(w));
	w.store = store;
	w.opts = opts;
	w.err = err;
	w.mounts.fd = -1;
	w.quiet_ns = (int64_t)(opts->quiet_ms ? opts->quiet_ms :
	    DEFAULT_QUIET_MS) * 1000000;
	w.max_hold_ns = 10 * w.quiet_ns;
	w.rescan_ns = (int64_t)(opts->rescan_seconds ? opts->rescan_seconds :
	    DEFAULT_RESCAN_S) * 1000000000;
	w.limited_rescan_ns = (int64_t)LIMITED_RESCAN_S * 1000000000;
	if (w.limited_rescan_ns > w.rescan_ns)
		w.limited_rescan_ns = w.rescan_ns;
	buf_init(&w.sig, 1 << 16);
	buf_init(&w.path, WALK_MAX_PATH);
	buf_init(&w.ctx_path, WALK_MAX_PATH);
	buf_init(&w.moved_from, WALK_MAX_PATH);
	drift_child_init(&w.ctx);
	if (opts->upper != NULL && opts->image == NULL)
		return seterr(err, -EINVAL, "--upper needs --image");
	w.excludes = calloc(opts->exclude_count + 1, sizeof(*w.excludes));
	if (w.excludes == NULL)
		return seterr(err, -ENOMEM, "out of memory");
	for (i = 0; i < opts->exclude_count; i++) {
		w.excludes[i] = glob_compile(opts->excludes[i],
		    strlen(opts->excludes[i]));
		if (w.excludes[i] == NULL) {
			rc = seterr(err, -EINVAL, "bad exclude pattern: %s",
			    opts->excludes[i]);
			goto out;
		}
		w.exclude_count++;
	}
	rc = store_next_event_id(store, &w.next_id, err);
	/* A burst journals thousands of rows per transaction: SQLite's
	 * default 2 MiB page cache would spill them, writing pages twice. */
	if (rc == 0)
		rc = store_set_cache(store, 16384, err);
	if (rc < 0)
		goto out;
	/* Not at the commit that passes 1000 pages, in the middle of a
	 * burst: when the watcher is about to wait. */
	store_defer_checkpoints(store);
	if (opts->policy_path_count > 0) {
		rc = load_policies(&w, 0);
		if (rc < 0)
			goto out;
	}
	if (opts->alert_url != NULL || opts->alert_syslog) {
		struct alert_opts ao;

		memset(&ao, 0, sizeof(ao));
		ao.url = opts->alert_url;
		ao.syslog = opts->alert_syslog;
		ao.dedupe_seconds = opts->dedupe_seconds;
		w.alerter = alert_new(&ao, err);
		if (w.alerter == NULL) {
			rc = err->code;
			goto out;
		}
	}
	if (!overlay_trusted_xattrs_readable())
		coverage(&w, NULL, "%s", UW_TRUSTED_XATTRS_TEXT);
	if (opts->evidence_dir != NULL) {
		w.evidence_dir = strdup(opts->evidence_dir);
	} else {
		char *slash;

		w.evidence_dir = malloc(strlen(store_path(store)) + 16);
		if (w.evidence_dir != NULL) {
			strcpy(w.evidence_dir, store_path(store));
			slash = strrchr(w.evidence_dir, '/');
			strcpy(slash != NULL ? slash + 1 : w.evidence_dir,
			    "evidence");
		}
	}
	if (w.evidence_dir == NULL) {
		rc = seterr(err, -ENOMEM, "out of memory");
		goto out;
	}
	w.status_path = sibling(store_path(store), "status.json");
	w.metrics_path = sibling(store_path(store), "upperwatch.prom");
	if (w.status_path == NULL || w.metrics_path == NULL) {
		rc = seterr(err, -ENOMEM, "out of memory");
		goto out;
	}
	w.started_ns = now_real_ns();
	w.status_ns = now_mono_ns();
	if (!inotifytools_initialize()) {
		rc = seterr(err, -inotifytools_error(), "inotify: %s",
		    strerror(inotifytools_error()));
		goto out;
	}
	w.inotify_fd = find_inotify_fd();
	if (w.inotify_fd < 0) {
		rc = seterr(err, w.inotify_fd, "cannot find the inotify fd");
		goto out;
	}
	fcntl(w.inotify_fd, F_SETFL, fcntl(w.inotify_fd, F_GETFL) |
	    O_NONBLOCK);
	fcntl(w.inotify_fd, F_SETFD, FD_CLOEXEC);
	w.max_watches = opts->max_watches_per_container;
	if (w.max_watches == 0) {
		/* A quarter of the user's watches (kubelet and systemd use
		 * them too), at most 16,384 dirs of one upper. */
		n = inotifytools_get_max_user_watches();
		w.max_watches = n > 0 ? (size_t)n / 4 : 8192;
		if (w.max_watches > 16384)
			w.max_watches = 16384;
		if (w.max_watches < 256)
			w.max_watches = 256;
	}
	if (host) {
		w.mounts.fd = open("/proc/self/mountinfo", O_RDONLY |
		    O_CLOEXEC);
		if (w.mounts.fd < 0) {
			rc = seterr(err, -errno, "/proc/self/mountinfo: %s",
			    strerror(errno));
			goto out;
		}
		rc = sync_containers(&w);
		if (rc == 0 && opts->container != NULL && w.ctr_count == 0)
			rc = seterr(err, -ENOENT, "no container %s on this "
			    "host", opts->container);
	} else {
		memset(&sidecar, 0, sizeof(sidecar));
		sidecar.id = opts->upper;
		sidecar.name = sidecar.runtime = sidecar.image_id = "";
		sidecar.pod = sidecar.pod_namespace = sidecar.cgroup_v2 = "";
		sidecar.cgroup_v1_freezer = "";
		sidecar.image = opts->image;
		sidecar.image_key = opts->image;
		sidecar.upper = opts->upper;
		sidecar.mount_point = opts->upper;
		rc = start_container(&w, &sidecar);
		if (rc == 0 && w.ctr_count == 0)
			rc = seterr(err, -ENOENT, "%s: %s", opts->upper,
			    err->msg);
	}
	if (rc == 0)
		rc = txn_commit(&w);

	while (rc == 0 && !w.stop_requested &&
	    !(opts->stop != NULL && *opts->stop)) {
		if (w.alerter != NULL && now_mono_ns() >= w.alert_check_ns) {
			uint64_t sent, dropped, suppressed, queued;

			/* A sink that is down must not go unnoticed. */
			w.alert_check_ns = now_mono_ns() + 60000000000LL;
			alert_stats(w.alerter, &sent, &dropped, &suppressed,
			    &queued);
			if (dropped > w.alert_dropped)
				warn(&w, "%llu alerts dropped so far "
				    "(the alert sink is down or slow; %llu "
				    "queued, %llu sent)",
				    (unsigned long long)dropped,
				    (unsigned long long)queued,
				    (unsigned long long)sent);
			w.alert_dropped = dropped;
		}
		if (now_mono_ns() - w.status_ns >= STATUS_NS)
			write_status(&w, 0);
		if (w.journal_down && now_mono_ns() >= w.journal_retry_ns) {
			rc = journal_recover(&w);
			if (rc < 0)
				break;
		}
		if (opts->reload != NULL && *opts->reload) {
			*opts->reload = 0;
			if (opts->policy_path_count > 0) {
				rc = load_policies(&w, 1);
				if (rc < 0)
					break;
			}
		}
		now = now_mono_ns();
		next_due = now + 1000000000;
		rc = drain_pending(&w, now, &next_due);
		if (rc < 0)
			break;
		for (i = 0; i < w.ctr_count && rc == 0; i++) {
			struct wctr *c = w.ctrs[i];

			if (c->needs_rescan || now >= c->next_rescan_ns)
				rc = rescan(&w, c);
			if (c->next_rescan_ns < next_due)
				next_due = c->next_rescan_ns;
		}
		if (rc < 0)
			break;
		if (w.in_txn && (now_mono_ns() - w.txn_start_ns >=
		    COMMIT_NS || next_due - now > COMMIT_NS)) {
			rc = txn_commit(&w);
			if (rc < 0)
				break;
		}
		if (w.in_txn && w.txn_start_ns + COMMIT_NS < next_due)
			next_due = w.txn_start_ns + COMMIT_NS;
		if (w.resync_ns != 0 && w.resync_ns < next_due)
			next_due = w.resync_ns;
		if (w.journal_down && w.journal_retry_ns < next_due)
			next_due = w.journal_retry_ns;
		if (w.alerter != NULL) {
			int64_t due = alert_tick(w.alerter, now_mono_ns());

			if (due < next_due)
				next_due = due;
		}
		timeout = (int)((next_due - now_mono_ns() + 999999) /
		    1000000);
		if (timeout < 0)
			timeout = 0;
		pfd[0].fd = w.inotify_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = w.mounts.fd;
		pfd[1].events = POLLPRI;
		pfd[0].revents = pfd[1].revents = 0;
		if (timeout > 0 && idle(&w) != 0)
			break;
		if (timeout > 0 && !w.in_txn && !w.journal_down &&
		    store_wal_pages(store) >= CKPT_IDLE_PAGES) {
			if (store_checkpoint(store, err) < 0) {
				rc = journal_fail(&w, -EIO);
				if (rc < 0)
					break;
			}
			continue;	/* time has passed: look again */
		}
		n = poll(pfd, w.mounts.fd >= 0 ? 2 : 1, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = seterr(err, -errno, "poll: %s", strerror(errno));
			break;
		}
		now = now_mono_ns();
		if (pfd[0].revents & POLLIN)
			rc = read_events(&w, now);
		if (rc == 0 && ((pfd[1].revents & (POLLPRI | POLLERR)) ||
		    (w.resync_ns != 0 && now_mono_ns() >= w.resync_ns))) {
			rc = txn_commit(&w);
			if (rc == 0)
				rc = sync_containers(&w);
		}
	}
	if (w.in_txn) {
		int crc = txn_commit(&w);

		if (rc == 0)
			rc = crc;
	}
	idle(&w);
out:
	store_resume_checkpoints(store);	/* the handle outlives us */
	/* the last status, while everything it reports still exists */
	if (w.status_path != NULL && w.metrics_path != NULL)
		write_status(&w, 1);
	for (i = 0; i < w.ctr_count; i++)
		ctr_free(w.ctrs[i]);
	free(w.ctrs);
	for (i = 0; i < w.by_wd_size; i++)
		free(w.by_wd[i].path);
	free(w.by_wd);
	buf_free(&w.moved_from);
	if (w.mounts.fd >= 0)
		close(w.mounts.fd);
	inotifytools_cleanup();
	policy_free(w.policies);
	if (w.alerter != NULL) {
		uint64_t sent, dropped, suppressed, queued;

		alert_stop(w.alerter);
		alert_stats(w.alerter, &sent, &dropped, &suppressed, &queued);
		alert_free(w.alerter);
		if (dropped + queued > 0)
			warn(&w, "alerts: %llu sent, %llu dropped "
			    "(sink down or queue full), %llu held back (dedupe, "
			    "bursts)", (unsigned long long)sent,
			    (unsigned long long)(dropped + queued),
			    (unsigned long long)suppressed);
		else if (suppressed > 0 || sent > 0)
			notice(&w, "alerts: %llu sent, %llu dropped (sink down "
			    "or queue full), %llu held back (dedupe, bursts)",
			    (unsigned long long)sent,
			    (unsigned long long)(dropped + queued),
			    (unsigned long long)suppressed);
	}
	free(w.status_path);
	free(w.metrics_path);
	free(w.evidence_dir);
	for (i = 0; i < w.exclude_count; i++)
		glob_free(w.excludes[i]);
	free(w.excludes);
	pathset_free(&w.unclaimed);
	buf_free(&w.sig);
	buf_free(&w.path);
	buf_free(&w.ctx_path);
	drift_child_free(&w.ctx);
	if (rc == 0 && w.stop_rc < 0)
		rc = seterr(err, w.stop_rc, "handing events out failed: %s",
		    strerror(-w.stop_rc));
	return rc == -ECANCELED ? 0 : rc;
}
