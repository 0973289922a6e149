/*
 * daemon.c - the runtime watcher (uw_watch): its setup, its event loop,
 * its policies (loaded at start, reloaded on request between events),
 * its notices, and the pipeline every drift event goes through: judged,
 * journaled, handed out, alerted and responded to.  The other rooms of
 * the daemon are listed in daemon.h.
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
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert.h"
#include "daemon.h"
#include "event.h"
#include "evidence.h"
#include "fanotify.h"
#include "glob.h"
#include "hash.h"
#include "incident.h"
#include "journal.h"
#include "mapped.h"
#include "journal_writer.h"
#include "names.h"
#include "notice.h"
#include "overlay.h"
#include "policy.h"
#include "prevent.h"
#include "respond.h"
#include "scan.h"
#include "status.h"
#include "store.h"
#include "sync.h"
#include "verify.h"
#include "util.h"
#include "walk.h"
#include "watch.h"
#include "watcher.h"

/* The respond sink's journal: journal_response. */
static int
sink_journal(void *arg, uint64_t event_id, const char *ctr_id,
    const char *action, const char *method, const char *outcome,
    const char *detail, int64_t latency_ns, const char *evidence)
{
	return journal_response(arg, event_id, ctr_id, action, method,
	    outcome, detail, latency_ns, evidence);
}

static void
sink_say(void *arg, enum uw_notice_level level, const char *msg)
{
	notice_say(arg, level, msg);
}

/*
 * Carry out a pause or kill verdict on `c` (respond_verdict journals
 * it), with what the runtime says of the container now when its cgroups
 * were not known yet (it may write them after we first saw its mount).
 * Nothing here fails the watcher but running out of memory.
 */
static int
daemon_respond(struct watcher *w, struct wctr *c, const struct uw_event *ev,
    const struct uw_verdict *v)
{
	struct respond_sink sink = {
		.evidence_dir = w->evidence_dir, .journal = sink_journal,
		.say = sink_say, .arg = w
	};
	struct respond_ctr r;
	enum respond_outcome outcome;
	int rc;

	if (v->action >= UW_ACT_PAUSE && c->info->cgroup_v2[0] == '\0' &&
	    c->info->cgroup_v1_freezer[0] == '\0')
		(void)sync_refresh(w, c);
	memset(&r, 0, sizeof(r));
	respond_target_of(c->info, &r.target);
	r.upper_fd = c->root_fd;
	r.paused = c->paused;
	r.killed = c->killed;
	rc = respond_verdict(&sink, &r, ev, v, &outcome);
	c->paused = r.paused;
	c->killed = r.killed;
	if (outcome == RESPOND_DONE)
		w->responses_done++;
	else if (outcome == RESPOND_FAILED)
		w->responses_failed++;
	return rc;
}

/*
 * Judge, journal and hand out `out` (its container, process, time and id
 * set): on_event, alert, respond.  With `track`, it is what is now
 * reported of its path (signature `sigval`); an exec event is not.
 */
static int
hand_out(struct watcher *w, struct wctr *c, struct uw_event *out, int track,
    uint64_t sigval)
{
	struct uw_verdict verdict;
	struct pathset_entry *known;
	char sha[2 * HASH_DIGEST_MAX + 1];
	const char *json = NULL;
	size_t json_len = 0;
	int rc, cb;

	w->events_total++;
	if (out->op == UW_OP_ERROR)
		w->error_events++;
	if (w->policies != NULL) {
		policy_set_packages(w->policies, pkgview_active(&c->pkg) ?
		    pkgview_owner : NULL, &c->pkg);
		rc = policy_evaluate(w->policies, out,
		    w->opts->policy.max_action, &verdict, w->err);
		if (rc < 0)
			return rc;
		out->verdict = &verdict;
		if (verdict.action >= UW_ACT_ALERT)
			out->sha256 = evidence_sha256(c->root_fd, out, sha);
	}
	rc = journal_json(w, out, &json, &json_len);
	if (rc < 0)
		return seterr(w->err, rc, "out of memory");
	rc = journal_event(w, c, out, json, json_len);
	if (rc < 0)
		goto out;
	if (track) {
		known = pathset_get(&c->reported, out->path, out->path_len, 1);
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
		known->at_ns = now_mono_ns();
	}
	rc = 0;
	out->json = json;
	out->json_len = json_len;
	if (w->opts->on_event != NULL) {
		/* Non-zero: stop after this event, which is journaled. */
		cb = w->opts->on_event(out, w->opts->arg);
		if (cb != 0 && w->stop_rc == 0) {
			w->stop_requested = 1;
			w->stop_rc = cb;
		}
	}
	if (out->verdict != NULL) {
		if (w->alerter != NULL)
			alert_event(w->alerter, out);
		if (verdict.wanted >= UW_ACT_PAUSE)
			rc = daemon_respond(w, c, out, &verdict);
	}
out:
	out->json = NULL;
	out->verdict = NULL;
	out->sha256 = NULL;
	return rc;
}

/* An image file that ran may be drift now: its execs are seen again. */
static void
daemon_touched(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len)
{
	char tmp[PATH_MAX];
	const char *name;
	int dirfd;

	if (!c->fan_marked)
		return;
	dirfd = fan_parent_of(c, path, len, tmp, sizeof(tmp), &name);
	if (dirfd < 0)
		return;
	fan_unignore(w, dirfd, name);
	close(dirfd);
}

/* A drift event of a path that was opened for exec: an exec event too,
 * each time, with the process that ran it.  (An exec event already: of
 * a file that was unlinked, fan_report_gone_exec.) */
static int
report_exec(struct watcher *w, struct wctr *c, const struct uw_event *ev)
{
	struct uw_event out;

	if (ev->type != UW_TYPE_FILE || (ev->op != UW_OP_ADDED &&
	    ev->op != UW_OP_MODIFIED && ev->op != UW_OP_METADATA &&
	    ev->op != UW_OP_EXEC))
		return 0;	/* not drift: an image file runs */
	out = *ev;
	out.op = UW_OP_EXEC;
	out.prevented = (w->cur_flags & PENT_DENIED) != 0;
	out.container = c->info;
	out.process = fan_process(w, w->cur_writer);
	out.time_ns = now_real_ns();
	out.id = w->next_id++;
	w->exec_events++;
	return hand_out(w, c, &out, 0, 0);
}

/*
 * The classifier's callback: judge, journal, hand out, alert and respond
 * to what is new.  What was reported already is not again; what was
 * reported while the journal was down is journaled now, quietly, when a
 * catch-up scan meets it unchanged.  A path opened for exec gives an exec
 * event whenever it is drift, reported before or not.
 */
static int
daemon_report(const struct uw_event *ev, void *arg)
{
	struct watcher *w = arg;
	struct wctr *c = w->cur;
	struct uw_event out;
	struct pathset_entry *known;
	uint64_t sigval;
	int rc, recheck, changed, same;

	w->leaf_reported = 1;
	if (scan_excluded(w, ev->path, ev->path_len))
		return 0;
	if (ev->op == UW_OP_EXEC)
		return report_exec(w, c, ev);
	if (journal_sig(&w->sig, ev, &sigval) < 0)
		return seterr(w->err, -ENOMEM, "out of memory");
	known = pathset_get(&c->reported, ev->path, ev->path_len, 0);
	if (known != NULL && w->scanning)
		known->gen = w->scan_gen;	/* (held or not: still there) */
	if (pkgview_active(&c->pkg) && !w->pkg_flushing) {
		rc = incident_hold(w, c, ev);
		if (rc != 0)	/* held back till the transaction ends */
			goto exec;
	}
	rc = 0;
	recheck = incident_recheck(w, c, ev->path, ev->path_len, &changed);
	if (known != NULL && (uint64_t)known->first_ns == sigval &&
	    recheck < 0 &&
	    (!(known->flags & PENT_UNJOURNALED) || w->journal_down))
		goto exec;	/* reported already */
	out = *ev;
	out.container = c->info;
	out.process = fan_process(w, w->cur_writer);
	out.time_ns = now_real_ns();
	out.id = w->next_id++;
	if (recheck < 0 && known != NULL &&
	    (uint64_t)known->first_ns == sigval) {
		rc = journal_quietly(w, c, &out, known);
		goto exec;
	}
	/* Drift found by a tree scan may be an image file that ran,
	 * renamed into a dir not watched yet or changed while events were
	 * lost: its execs are seen again.  (For one path an event named,
	 * the event did it: watch's touched callback, or the write.  A
	 * rename's is done again now: inotify reports it from the upper
	 * dir, and the callback may have run before the overlay's own
	 * rename was done, when the name led elsewhere or nowhere.)  So is
	 * an image file's: a change through a shared mapping is no write
	 * to the kernel, and its copy-up comes as a create. */
	if ((w->in_tree || (w->cur_flags & PENT_UNIGNORE) ||
	    ev->baseline != NULL) &&
	    ev->type == UW_TYPE_FILE && (ev->op == UW_OP_ADDED ||
	    ev->op == UW_OP_MODIFIED || ev->op == UW_OP_METADATA))
		daemon_touched(w, c, ev->path, ev->path_len);
	pkgview_annotate(&c->pkg, c->root_fd, &out, w->pkg_flushing ?
	    w->txn_files : -1, w->txn_changed);
	if (recheck >= 0) {
		same = known != NULL && (uint64_t)known->first_ns == sigval;
		if (changed) {
			/* and an event in the transaction: handed out if it
			 * changed, or if what the database says did */
			if (same && out.package_check ==
			    (enum uw_package_check)recheck) {
				if ((known->flags & PENT_UNJOURNALED) &&
				    !w->journal_down)
					rc = journal_quietly(w, c, &out, known);
				goto exec;
			}
		} else if (!same || out.package_check ==
		    (enum uw_package_check)recheck) {
			goto exec;	/* what it was, or a change since */
		} else {
			w->txn_rechanged++;	/* the transaction's after all */
		}
	}
	if (w->pkg_flushing) {
		out.incident = w->cur_incident;
		if (out.package == NULL || !out.package->database)
			w->txn_checks[out.package_check]++;
	} else
		incident_noted(w, c, &out);
	rc = hand_out(w, c, &out, 1, sigval);
exec:
	if (rc == 1)
		rc = 0;		/* held back */
	if (rc == 0 && (w->cur_flags & PENT_EXEC))
		rc = report_exec(w, c, ev);
	return rc;
}

/* ---- the image's layers on the node (--verify-lower) ---- */

/* A difference of the node's layers from the baseline: an event, handed
 * out once for each path and state. */
static int
lower_event(const struct uw_event *ev, void *arg)
{
	struct watcher *w = arg;
	struct wctr *c = w->cur;
	struct pathset_entry *e;
	struct uw_event out;
	uint64_t sigval;

	if (journal_sig(&w->sig, ev, &sigval) < 0)
		return seterr(w->err, -ENOMEM, "out of memory");
	e = pathset_get(&c->lower_reported, ev->path, ev->path_len, 1);
	if (e == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	if (e->gen != 0 && (uint64_t)e->first_ns == sigval)
		return 0;	/* reported already */
	e->first_ns = (int64_t)sigval;
	e->gen = 1;
	out = *ev;
	out.container = c->info;
	out.time_ns = now_real_ns();
	out.id = w->next_id++;
	w->lower_events++;
	return hand_out(w, c, &out, 0, 0);
}

static int
verify_lower(struct watcher *w, struct wctr *c)
{
	struct uw_verify_opts o;
	struct uw_error err;
	uint64_t n = 0;
	int rc;

	c->verify_due = 0;
	if (!w->opts->verify_lower || c->info->lower_count == 0)
		return 0;
	memset(&o, 0, sizeof(o));
	o.image = c->info->image_key;
	o.layers = c->info->lower;
	o.layer_count = c->info->lower_count;
	o.overlay_flags = c->info->overlay_follow;
	w->cur = c;
	rc = journal_settle(w);		/* a baseline may be written */
	if (rc < 0)
		return rc;
	w->err->code = 0;	/* set by the events' pipeline only */
	rc = verify_image(w->store, &o, lower_event, w, &n, &err);
	if (rc < 0 && w->err->code != 0)
		return rc;	/* the pipeline failed, not the reading */
	if (rc == -ENOMEM)
		return seterr(w->err, rc, "out of memory");
	if (rc < 0)
		notice_coverage(w, c, "container %s: its image's layers on "
		    "this node could not be verified: %s",
		    notice_escs(w, c->info->id), err.msg);
	return 0;
}

/* ---- policies ---- */

static void
policy_log(const char *policy, const char *line, void *arg)
{
	struct watcher *w = arg;

	notice_info(w, "policy %s: %s", policy, line);
}

static void
policy_notice(const char *msg, void *arg)
{
	/* a policy quarantined: it judges nothing until a reload */
	notice_coverage((struct watcher *)arg, NULL, "%s", msg);
}

/* Load the policy set; at start a failure is fatal, on reload the old
 * set stays. */
static int
load_policies(struct watcher *w, int reload)
{
	struct uw_policy_set *set;
	struct uw_error err;

	set = policy_load(w->opts->policy.paths,
	    w->opts->policy.path_count, &w->opts->policy.limits, policy_log,
	    w, &err);
	if (set == NULL) {
		if (!reload)
			return seterr(w->err, err.code, "policies: %s",
			    err.msg);
		notice_warn(w, "policy reload failed, the previous set "
		    "stays: %s", err.msg);
		return 0;
	}
	policy_set_notice(set, policy_notice, w);
	policy_free(w->policies);
	w->policies = set;
	notice_info(w, "policies %s: %zu policies, set %s", reload ?
	    "reloaded" : "loaded", policy_count(set), policy_digest(set));
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

/* The evidence dir: --evidence-dir, or "evidence" beside the database. */
static char *
evidence_dir(const struct watcher *w)
{
	if (w->opts->respond.evidence_dir != NULL)
		return strdup(w->opts->respond.evidence_dir);
	return sibling(store_path(w->store), "evidence");
}

/* The alert sinks, when any is asked for; 0 or a negative error. */
static int
start_alerts(struct watcher *w)
{
	struct alert_opts ao;

	if (w->opts->respond.alert_url == NULL &&
	    !w->opts->respond.alert_syslog)
		return 0;
	memset(&ao, 0, sizeof(ao));
	ao.url = w->opts->respond.alert_url;
	ao.syslog = w->opts->respond.alert_syslog;
	ao.ocsf = w->opts->respond.alert_ocsf;
	ao.dedupe_seconds = w->opts->respond.dedupe_seconds;
	w->alerter = alert_new(&ao, w->err);
	return w->alerter == NULL ? w->err->code : 0;
}

/*
 * Everything but the containers: timings, excludes, the journal's
 * settings, policies, alerts, the evidence and status files, inotify.
 * 0, or a negative error in w->err (daemon_cleanup frees what was made).
 */
static int
daemon_init(struct watcher *w)
{
	const struct uw_watch_opts *opts = w->opts;
	size_t i;
	int rc;

	w->quiet_ns = (int64_t)(opts->quiet_ms ? opts->quiet_ms :
	    DEFAULT_QUIET_MS) * 1000000;
	w->quiet_short_ns = w->quiet_ns / QUIET_SHORT_DIV;
	w->max_hold_ns = 10 * w->quiet_ns;
	w->rescan_ns = (int64_t)(opts->rescan_seconds ?
	    opts->rescan_seconds : DEFAULT_RESCAN_S) * 1000000000;
	w->limited_rescan_ns = (int64_t)LIMITED_RESCAN_S * 1000000000;
	if (w->limited_rescan_ns > w->rescan_ns)
		w->limited_rescan_ns = w->rescan_ns;
	if (opts->upper != NULL && opts->image == NULL)
		return seterr(w->err, -EINVAL, "--upper needs --image");
	w->excludes = calloc(opts->exclude_count + 1, sizeof(*w->excludes));
	if (w->excludes == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	for (i = 0; i < opts->exclude_count; i++) {
		w->excludes[i] = glob_compile(opts->excludes[i],
		    strlen(opts->excludes[i]));
		if (w->excludes[i] == NULL)
			return seterr(w->err, -EINVAL, "bad exclude pattern: "
			    "%s", opts->excludes[i]);
		w->exclude_count++;
	}
	w->exclude_set = glob_set_new(w->excludes, w->exclude_count);
	if (w->exclude_set == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	rc = store_next_event_id(w->store, &w->next_id, w->err);
	/* A burst journals thousands of rows per transaction: SQLite's
	 * default 2 MiB page cache would spill them, writing pages twice. */
	if (rc == 0)
		rc = store_set_cache(w->store, 16384, w->err);
	if (rc < 0)
		return rc;
	/* Not at the commit that passes 1000 pages, in the middle of a
	 * burst: when the watcher is about to wait. */
	store_defer_checkpoints(w->store);
	/* A burst's inserts, a third of the watcher's time, overlap with
	 * the next events on a thread of their own (journal_writer.h). */
	rc = jw_start(&w->jw, store_path(w->store), w->err);
	if (rc < 0)
		return rc;
	jw_limit(w->jw, opts->journal_max_events ? opts->journal_max_events :
	    DEFAULT_JOURNAL_MAX_EVENTS);
	if (opts->policy.path_count > 0) {
		rc = load_policies(w, 0);
		if (rc < 0)
			return rc;
	}
	rc = start_alerts(w);
	if (rc < 0)
		return rc;
	if (!overlay_trusted_xattrs_readable())
		notice_coverage(w, NULL, "%s", UW_TRUSTED_XATTRS_TEXT);
	w->evidence_dir = evidence_dir(w);
	w->status_path = sibling(store_path(w->store), "status.json");
	w->metrics_path = sibling(store_path(w->store), "upperwatch.prom");
	if (w->evidence_dir == NULL || w->status_path == NULL ||
	    w->metrics_path == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	w->started_ns = now_real_ns();
	w->status_ns = now_mono_ns();
	rc = watch_open(w);
	if (rc == 0)
		rc = fan_open(w);
	return rc < 0 ? rc : prevent_start(w);
}

/*
 * The containers to watch at start: every one on the host (following the
 * mount table from now on), the one --container names, or the sidecar's
 * upper dir.  0, or a negative error (none found is one).
 */
static int
daemon_start(struct watcher *w)
{
	const struct uw_watch_opts *opts = w->opts;
	struct uw_container sidecar;
	int rc;

	if (opts->upper == NULL) {
		w->mounts.fd = open("/proc/self/mountinfo", O_RDONLY |
		    O_CLOEXEC);
		if (w->mounts.fd < 0)
			return seterr(w->err, -errno, "/proc/self/mountinfo: "
			    "%s", strerror(errno));
		rc = sync_containers(w);
		if (rc == 0 && opts->container != NULL && w->ctr_count == 0)
			rc = seterr(w->err, -ENOENT, "no container %s on this "
			    "host", opts->container);
		return rc;
	}
	memset(&sidecar, 0, sizeof(sidecar));
	sidecar.id = opts->upper;
	sidecar.name = sidecar.runtime = sidecar.image_id = "";
	sidecar.pod = sidecar.pod_namespace = sidecar.cgroup_v2 = "";
	sidecar.cgroup_v1_freezer = "";
	sidecar.image = opts->image;
	sidecar.image_key = opts->image;
	sidecar.upper = opts->upper;
	sidecar.mount_point = opts->upper;
	rc = sync_start(w, &sidecar);
	if (rc == 0 && w->ctr_count == 0)
		rc = seterr(w->err, -ENOENT, "%s: %s", opts->upper,
		    w->err->msg);
	return rc;
}

/* The chores of each turn: a dropped-alerts warning (a sink that is down
 * must not go unnoticed), the status files, the journal's retry, a
 * policy reload.  0, or a negative error. */
static int
chores(struct watcher *w)
{
	uint64_t sent, dropped, suppressed, queued;

	if (w->alerter != NULL && now_mono_ns() >= w->alert_check_ns) {
		w->alert_check_ns = now_mono_ns() + 60000000000LL;
		alert_stats(w->alerter, &sent, &dropped, &suppressed,
		    &queued);
		if (dropped > w->alert_dropped)
			notice_warn(w, "%llu alerts dropped so far (the alert "
			    "sink is down or slow; %llu queued, %llu sent)",
			    (unsigned long long)dropped,
			    (unsigned long long)queued,
			    (unsigned long long)sent);
		w->alert_dropped = dropped;
	}
	if (now_mono_ns() - w->status_ns >= STATUS_NS)
		status_write(w, 0);
	if (w->journal_down || w->jw != NULL) {
		int rc = journal_check(w);

		if (rc == 0 && w->journal_down &&
		    now_mono_ns() >= w->journal_retry_ns)
			rc = journal_recover(w);
		if (rc < 0)
			return rc;
	}
	if (w->opts->policy.reload != NULL && *w->opts->policy.reload) {
		*w->opts->policy.reload = 0;
		if (w->opts->policy.path_count > 0) {
			prevent_reload(w);
			return load_policies(w, 1);
		}
	}
	return 0;
}

/*
 * The work that is due: quiet paths, rescans, the journal's commit.
 * *next_due gets when something is due next.  0, or a negative error.
 */
static int
due_work(struct watcher *w, int64_t *next_due)
{
	int64_t now = now_mono_ns();
	size_t i;
	int rc;

	*next_due = now + 1000000000;
	rc = watch_drain(w, now, next_due);
	if (rc == 0)
		rc = incident_due(w, now_mono_ns(), next_due);
	if (rc == 0)
		rc = mapped_due(w, now_mono_ns(), next_due);
	for (i = 0; i < w->ctr_count && rc == 0; i++) {
		struct wctr *c = w->ctrs[i];

		if (c->needs_rescan || now >= c->next_rescan_ns) {
			rc = scan_container(w, c);
			c->verify_due = 1;
		}
		if (rc == 0 && c->verify_due)
			rc = verify_lower(w, c);
		if (c->next_rescan_ns < *next_due)
			*next_due = c->next_rescan_ns;
	}
	if (rc < 0)
		return rc;
	if (w->in_txn && *next_due - now > COMMIT_NS) {
		/* about to wait: committed before anyone is told it is idle
		 * (on_idle), as when the watcher wrote the rows itself */
		rc = journal_settle(w);
		if (rc < 0)
			return rc;
	} else if (w->in_txn &&
	    now_mono_ns() - w->txn_start_ns >= COMMIT_NS) {
		rc = journal_commit(w);
		if (rc < 0)
			return rc;
	}
	if (w->in_txn && w->txn_start_ns + COMMIT_NS < *next_due)
		*next_due = w->txn_start_ns + COMMIT_NS;
	if (w->resync_ns != 0 && w->resync_ns < *next_due)
		*next_due = w->resync_ns;
	if (w->journal_down && w->journal_retry_ns < *next_due)
		*next_due = w->journal_retry_ns;
	if (w->alerter != NULL) {
		int64_t due = alert_tick(w->alerter, now_mono_ns());

		if (due < *next_due)
			*next_due = due;
	}
	/* Events read in the middle of a drain or a scan (watch_pump) may
	 * be in no wait planned above, and no longer wake the poll: a turn
	 * by the time they are due plans for them. */
	if (w->pumped_due != 0 && w->pumped_due < *next_due)
		*next_due = w->pumped_due;
	w->pumped_due = 0;
	return 0;
}

/*
 * One turn of the event loop: chores, due work, then a wait (on inotify,
 * the mount table, or the next due time) and what it brought.  Returns
 * 0 to go on, 1 to stop (on_idle asked), or a negative error.
 */
static int
daemon_turn(struct watcher *w)
{
	struct pollfd pfd[4];
	int64_t next_due, now;
	int rc, n, timeout;

	rc = chores(w);
	if (rc == 0)
		rc = due_work(w, &next_due);
	if (rc < 0)
		return rc;
	timeout = (int)((next_due - now_mono_ns() + 999999) / 1000000);
	if (timeout < 0)
		timeout = 0;
	pfd[0].fd = w->inotify_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = w->mounts.fd;
	pfd[1].events = POLLPRI;
	pfd[2].fd = w->fan_fd;
	pfd[2].events = POLLIN;
	pfd[3].fd = prevent_fd(w);
	pfd[3].events = POLLIN;
	pfd[0].revents = pfd[1].revents = pfd[2].revents = pfd[3].revents = 0;
	if (timeout > 0 && idle(w) != 0)
		return 1;
	if (timeout > 0 && !w->in_txn && !w->journal_down && w->jw != NULL)
		jw_idle(w->jw);		/* its checkpoint, if the WAL is long */
	else if (timeout > 0 && !w->in_txn && !w->journal_down &&
	    store_wal_pages(w->store) >= CKPT_IDLE_PAGES) {
		if (store_checkpoint(w->store, w->err) < 0)
			return journal_fail(w, -EIO);
		return 0;	/* time has passed: look again */
	}
	n = poll(pfd, 4, timeout);	/* fds < 0 are left out */
	if (n < 0)
		return errno == EINTR ? 0 : seterr(w->err, -errno,
		    "poll: %s", strerror(errno));
	now = now_mono_ns();
	if (pfd[0].revents & POLLIN)
		rc = watch_read(w, now);
	if (rc == 0 && (pfd[2].revents & POLLIN))
		rc = fan_read(w, now);
	if (rc == 0 && (pfd[3].revents & POLLIN))
		rc = prevent_read(w, now);
	if (rc == 0 && ((pfd[1].revents & (POLLPRI | POLLERR)) ||
	    (w->resync_ns != 0 && now_mono_ns() >= w->resync_ns))) {
		rc = journal_commit(w);
		if (rc == 0)
			rc = sync_containers(w);
	}
	return rc;
}

/* Alert figures at the end: a warning when some were lost. */
static void
stop_alerts(struct watcher *w)
{
	uint64_t sent, dropped, suppressed, queued;

	if (w->alerter == NULL)
		return;
	alert_stop(w->alerter);
	alert_stats(w->alerter, &sent, &dropped, &suppressed, &queued);
	alert_free(w->alerter);
	w->alerter = NULL;
	if (dropped + queued > 0)
		notice_warn(w, "alerts: %llu sent, %llu dropped (sink down or "
		    "queue full), %llu held back (dedupe, bursts)",
		    (unsigned long long)sent,
		    (unsigned long long)(dropped + queued),
		    (unsigned long long)suppressed);
	else if (suppressed > 0 || sent > 0)
		notice_info(w, "alerts: %llu sent, %llu dropped (sink down "
		    "or queue full), %llu held back (dedupe, bursts)",
		    (unsigned long long)sent,
		    (unsigned long long)(dropped + queued),
		    (unsigned long long)suppressed);
}

/* Free what daemon_init and the loop made, writing the last status while
 * everything it reports still exists. */
static void
daemon_cleanup(struct watcher *w)
{
	size_t i;

	if (w->jw != NULL) {
		/* journal_settle took any failure before; one at the
		 * last commit is said here */
		struct uw_error e;

		memset(&e, 0, sizeof(e));
		if (jw_stop(w->jw, &e) < 0)
			notice_warn(w, "the journal's last writes failed: %s",
			    e.msg);
		w->jw = NULL;
	}
	store_resume_checkpoints(w->store);	/* the handle outlives us */
	if (w->status_path != NULL && w->metrics_path != NULL)
		status_write(w, 1);
	for (i = 0; i < w->ctr_count; i++)
		sync_ctr_free(w->ctrs[i]);
	free(w->ctrs);
	buf_free(&w->moved_from);
	if (w->mounts.fd >= 0)
		close(w->mounts.fd);
	prevent_stop(w);	/* the kernel allows what it held */
	watch_close(w);
	fan_close(w);
	policy_free(w->policies);
	stop_alerts(w);
	free(w->status_path);
	free(w->metrics_path);
	free(w->evidence_dir);
	glob_set_free(w->exclude_set);
	for (i = 0; i < w->exclude_count; i++)
		glob_free(w->excludes[i]);
	free(w->excludes);
	pathset_free(&w->unclaimed);
	buf_free(&w->sig);
	buf_free(&w->path);
	journal_json_free(w);
	scan_ctx_free(w);
}

int
daemon_run(struct store *store, const struct uw_watch_opts *opts,
    struct uw_error *err)
{
	struct watcher w;
	int rc, crc;

	memset(&w, 0, sizeof(w));
	w.store = store;
	w.opts = opts;
	w.err = err;
	w.mounts.fd = -1;
	w.fan_fd = -1;
	w.look = scan_path;
	w.report = daemon_report;
	w.touched = daemon_touched;
	buf_init(&w.sig, 1 << 16);
	buf_init(&w.path, WALK_MAX_PATH);
	buf_init(&w.moved_from, WALK_MAX_PATH);
	scan_ctx_init(&w);
	rc = daemon_init(&w);
	if (rc == 0) {
		rc = daemon_start(&w);
		if (rc == 0)
			rc = journal_commit(&w);
		while (rc == 0 && !w.stop_requested &&
		    !(opts->stop != NULL && *opts->stop))
			rc = daemon_turn(&w);
		if (rc > 0)
			rc = 0;
		if (rc == 0 && !w.stop_requested) {
			/* held paths of package transactions still going
			 * on: handed out now rather than at the next start */
			int64_t never = INT64_MAX;

			rc = incident_due(&w, INT64_MAX, &never);
		}
		crc = journal_settle(&w);
		if (rc == 0)
			rc = crc;
		idle(&w);
	}
	daemon_cleanup(&w);
	if (rc == 0 && w.stop_rc < 0)
		rc = seterr(err, w.stop_rc, "handing events out failed: %s",
		    strerror(-w.stop_rc));
	return rc == -ECANCELED ? 0 : rc;
}
