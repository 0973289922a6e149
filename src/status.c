/*
 * status.c - what the daemon is doing, for `upperwatch status` and for
 * monitoring: status.json, and the same figures in the Prometheus text
 * format for node_exporter's textfile collector.  Both are written even
 * when the disk is full.  And the other side: status_read, what a
 * status.json says, as data (the CLI formats it).
 */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "alert.h"
#include "jsonw.h"
#include "notice.h"
#include "policy.h"
#include "prevent.h"
#include "status.h"
#include "util.h"
#include "watch.h"
#include "watcher.h"

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
		    notice_escs(w, c->info->id), what);
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
/* What the status and the metrics both show, summed once. */
struct totals {
	uint64_t sent, dropped, suppressed, queued;
	uint64_t watches, degraded, limited, unwatched, incomplete;
	double rate;
};

static void
status_json(struct watcher *w, const struct totals *t, int final)
{
	char *text = NULL;
	size_t i, len = 0;
	int first = 1, inner, reasons = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	if (f == NULL)
		return;
	fputc('{', f);
	jsonw_int(f, &first, "pid", final ? 0 : (int64_t)getpid());
	jsonw_int(f, &first, "updated", now_real_ns());
	jsonw_int(f, &first, "started", w->started_ns);
	jsonw_uint(f, &first, "events_total", w->events_total);
	jsonw_double(f, &first, "events_per_second", t->rate);
	jsonw_uint(f, &first, "error_events", w->error_events);
	jsonw_uint(f, &first, "exec_events", w->exec_events);
	jsonw_uint(f, &first, "lower_events", w->lower_events);
	jsonw_uint(f, &first, "package_incidents", w->incidents);
	jsonw_bool(f, &first, "fanotify", w->fan_fd >= 0);
	jsonw_uint(f, &first, "fanotify_events", w->fan_events);
	jsonw_uint(f, &first, "fanotify_unmapped", w->fan_unmapped);
	if (w->prevent != NULL) {
		struct prevent_counts pc;
		int inner = 1;

		prevent_get_counts(w, &pc);
		jsonw_key(f, &first, "prevent");
		fputc('{', f);
		jsonw_uint(f, &inner, "fast", pc.fast);
		jsonw_uint(f, &inner, "judged", pc.judged);
		jsonw_uint(f, &inner, "denied", pc.denied);
		jsonw_uint(f, &inner, "fail_open", pc.fail_open);
		fputc('}', f);
	}
	jsonw_uint(f, &first, "watches", t->watches);
	jsonw_int(f, &first, "watch_limit",
	    watch_system_limit());
	jsonw_uint(f, &first, "max_watches_per_container", w->max_watches);
	jsonw_uint(f, &first, "unwatched_dirs", t->unwatched);
	jsonw_uint(f, &first, "alerts_sent", t->sent);
	jsonw_uint(f, &first, "alerts_dropped", t->dropped);
	jsonw_uint(f, &first, "alerts_suppressed", t->suppressed);
	jsonw_uint(f, &first, "alerts_queued", t->queued);
	jsonw_uint(f, &first, "responses_done", w->responses_done);
	jsonw_uint(f, &first, "responses_failed", w->responses_failed);
	jsonw_str(f, &first, "policy_set", w->policies ?
	    policy_digest(w->policies) : "");
	jsonw_int(f, &first, "last_rescan", w->last_rescan_real_ns);
	jsonw_bool(f, &first, "journal_ok", !w->journal_down);
	jsonw_uint(f, &first, "unjournaled_events", w->unjournaled);
	jsonw_uint(f, &first, "journal_pruned_events", w->journal_pruned);
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
		jsonw_str(f, &inner, "id", c->info->id);
		jsonw_str(f, &inner, "name", c->info->name);
		jsonw_str(f, &inner, "runtime", c->info->runtime);
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
}

static void
status_metrics(struct watcher *w, const struct totals *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

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
	METRIC("exec_events_total", "counter",
	    "Files that are drift opened for exec (fanotify).",
	    w->exec_events);
	METRIC("lower_events_total", "counter",
	    "Differences of the image layers on the node from the baseline "
	    "(--verify-lower).", w->lower_events);
	METRIC("package_incidents_total", "counter",
	    "Package transactions handed out as one incident each.",
	    w->incidents);
	METRIC("fanotify_events_total", "counter",
	    "Content writes and execs fanotify reported on watched overlays.",
	    w->fan_events);
	METRIC("fanotify_unmapped_total", "counter",
	    "fanotify events whose path could not be told (the container "
	    "was rescanned).", w->fan_unmapped);
	if (w->prevent != NULL) {
		struct prevent_counts pc;

		prevent_get_counts(w, &pc);
		METRIC("prevent_fast_total", "counter",
		    "Execs allowed at once: image files, not drift.", pc.fast);
		METRIC("prevent_judged_total", "counter",
		    "Execs of drift judged by the policies.", pc.judged);
		METRIC("prevent_denied_total", "counter",
		    "Execs refused.", pc.denied);
		METRIC("prevent_fail_open_total", "counter",
		    "Execs allowed because of an error or the deadline.",
		    pc.fail_open);
	}
	METRIC("containers_watched", "gauge", "Containers watched.",
	    w->ctr_count);
	METRIC("containers_degraded", "gauge",
	    "Containers that could not be scanned.", t->degraded);
	METRIC("containers_rescan_only", "gauge",
	    "Containers rescanned instead of watched (over a watch limit).",
	    t->limited);
	METRIC("baselines_incomplete", "gauge",
	    "Watched containers whose baseline is incomplete.",
	    t->incomplete);
	METRIC("unwatched_dirs", "gauge",
	    "Dirs that could not be watched (their container is rescanned).",
	    t->unwatched);
	METRIC("journal_ok", "gauge",
	    "1 when the journal writes, 0 when it cannot (disk full).",
	    !w->journal_down);
	METRIC("unjournaled_events", "gauge",
	    "Events handed out but not journaled yet.", w->unjournaled);
	METRIC("journal_pruned_events", "counter",
	    "Events deleted from the journal over --journal-max-events.",
	    w->journal_pruned);
	METRIC("coverage_warnings_total", "counter",
	    "Warnings that coverage was lowered.", w->coverage_total);
	METRIC("inotify_watches", "gauge", "inotify watches held.",
	    t->watches);
	METRIC("inotify_watch_limit", "gauge",
	    "fs.inotify.max_user_watches.",
	    watch_system_limit());
	METRIC("alerts_sent_total", "counter", "Alerts delivered.", t->sent);
	METRIC("alerts_dropped_total", "counter",
	    "Alerts dropped (sink down or queue full).", t->dropped);
	METRIC("alerts_suppressed_total", "counter",
	    "Alerts held back by dedupe or burst summaries.", t->suppressed);
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
	    "upperwatch_events_per_second %.3f\n", t->rate);
	fprintf(f, "# HELP upperwatch_policy_set_info The policy set in "
	    "use.\n# TYPE upperwatch_policy_set_info gauge\n"
	    "upperwatch_policy_set_info{digest=\"%s\"} 1\n",
	    w->policies ? policy_digest(w->policies) : "");
	if (fclose(f) == 0)
		(void)write_status_file(w->metrics_path, text, len, '\n');
	free(text);
}

void
status_write(struct watcher *w, int final)
{
	struct totals t;
	int64_t now = now_mono_ns();
	double interval;
	size_t i;

	memset(&t, 0, sizeof(t));
	interval = (double)(now - w->status_ns) / 1e9;
	t.rate = interval > 0 ? (double)(w->events_total -
	    w->events_at_status) / interval : 0;
	w->status_ns = now;
	w->events_at_status = w->events_total;
	if (w->alerter != NULL)
		alert_stats(w->alerter, &t.sent, &t.dropped, &t.suppressed,
		    &t.queued);
	for (i = 0; i < w->ctr_count; i++) {
		t.watches += w->ctrs[i]->wd_count;
		t.degraded += w->ctrs[i]->degraded[0] != '\0';
		t.limited += w->ctrs[i]->limited != LIMIT_NONE;
		t.unwatched += w->ctrs[i]->unwatched;
		t.incomplete += w->ctrs[i]->incomplete[0] != '\0';
	}
	status_json(w, &t, final);
	status_metrics(w, &t);
}

/* ---- reading it back ---- */

/* The status, and what its pointers point into. */
struct status_read {
	struct uw_status pub;
	json_t *root;
	char *json;
	const char **degraded;
	struct uw_status_container *ctrs;
};

static int64_t
jint(const json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void
fill(struct status_read *r)
{
	struct uw_status *st = &r->pub;
	const json_t *o = r->root, *c;
	size_t i;

	st->pid = jint(o, "pid");
	st->running = st->pid > 0 && kill((pid_t)st->pid, 0) == 0;
	st->updated_ns = jint(o, "updated");
	st->last_rescan_ns = jint(o, "last_rescan");
	st->events_total = (uint64_t)jint(o, "events_total");
	st->events_per_second = json_real_value(json_object_get(o,
	    "events_per_second"));
	st->watches = (uint64_t)jint(o, "watches");
	st->watch_limit = jint(o, "watch_limit");
	st->alerts_sent = (uint64_t)jint(o, "alerts_sent");
	st->alerts_dropped = (uint64_t)jint(o, "alerts_dropped");
	st->alerts_suppressed = (uint64_t)jint(o, "alerts_suppressed");
	st->alerts_queued = (uint64_t)jint(o, "alerts_queued");
	st->responses_done = (uint64_t)jint(o, "responses_done");
	st->responses_failed = (uint64_t)jint(o, "responses_failed");
	st->policy_set = jstr(o, "policy_set");
	st->journal_ok = !json_is_false(json_object_get(o, "journal_ok"));
	for (i = 0; i < st->degraded_count; i++) {
		r->degraded[i] = json_string_value(json_array_get(
		    json_object_get(o, "degraded"), i));
		if (r->degraded[i] == NULL)
			r->degraded[i] = "";
	}
	for (i = 0; i < st->container_count; i++) {
		c = json_array_get(json_object_get(o, "containers"), i);
		r->ctrs[i].id = jstr(c, "id");
		r->ctrs[i].name = jstr(c, "name");
		r->ctrs[i].runtime = jstr(c, "runtime");
		r->ctrs[i].watches = (uint64_t)jint(c, "watches");
		r->ctrs[i].rescan_only = json_is_true(json_object_get(c,
		    "rescan_only"));
		r->ctrs[i].degraded = json_object_get(c, "degraded") != NULL;
		r->ctrs[i].paused = json_is_true(json_object_get(c, "paused"));
	}
}

struct uw_status *
status_read(const char *db_path, struct uw_error *err)
{
	const char *slash = strrchr(db_path, '/');
	struct status_read *r;
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root = NULL;
	size_t i;

	if ((size_t)snprintf(path, sizeof(path), "%.*sstatus.json",
	    slash != NULL ? (int)(slash - db_path + 1) : 0, db_path) >=
	    sizeof(path)) {
		seterr(err, -ENAMETOOLONG, "%s: path too long", db_path);
		return NULL;
	}
	/* Rewritten in place when the disk is full: a read may meet half a
	 * write, so try again a moment later. */
	for (i = 0; i < 5; i++) {
		root = json_load_file(path, 0, &jerr);
		if (json_is_object(root) || access(path, F_OK) != 0)
			break;
		json_decref(root);
		root = NULL;
		usleep(20000);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		seterr(err, -ENOENT, "%s: no status (is the daemon running "
		    "with this database?)", path);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	r->root = root;
	r->pub.degraded_count = json_array_size(json_object_get(root,
	    "degraded"));
	r->pub.container_count = json_array_size(json_object_get(root,
	    "containers"));
	r->degraded = calloc(r->pub.degraded_count + 1, sizeof(*r->degraded));
	r->ctrs = calloc(r->pub.container_count + 1, sizeof(*r->ctrs));
	if (r->degraded == NULL || r->ctrs == NULL)
		goto nomem;
	fill(r);
	json_object_set_new(root, "running", json_boolean(r->pub.running));
	r->json = json_dumps(root, JSON_COMPACT);
	if (r->json == NULL)
		goto nomem;
	r->pub.degraded = r->degraded;
	r->pub.containers = r->ctrs;
	r->pub.json = r->json;
	return &r->pub;
nomem:
	if (r != NULL)
		status_free(&r->pub);
	else
		json_decref(root);
	seterr(err, -ENOMEM, "out of memory");
	return NULL;
}

void
status_free(struct uw_status *status)
{
	struct status_read *r = (struct status_read *)status;

	if (r == NULL)
		return;
	json_decref(r->root);
	free(r->json);
	free(r->degraded);
	free(r->ctrs);
	free(r);
}
