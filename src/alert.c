/*
 * alert.c - alerts where security teams look: syslog, and an HTTP POST
 * of each alert in Falco's output format (so Falcosidekick routes it to
 * Slack, Loki, Elasticsearch...).  A sink that is down never blocks
 * detection: HTTP alerts go through a bounded queue to a thread that
 * retries, and what does not fit is dropped and counted.  Below high,
 * the same (container, path, verdict) alerts once per window, and a
 * burst from one container (a package install) is held back and
 * summarized when its window ends (alert_tick), so cheap alerts can
 * never hide an expensive one: high and critical always go out.
 *
 * The human `output` line (syslog, and Falco's "output") carries
 * container-controlled strings: every one is escaped C-style
 * (escape_to_buf), so no name can forge a line or a terminal escape.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "alert.h"
#include "jsonw.h"
#include "names.h"
#include "ocsf.h"
#include "util.h"

#define QUEUE_MAX 1024
#define RETRIES 3
#define DEDUPE_SLOTS 4096
#define BURST_SLOTS 256

struct msg {
	struct msg *next;
	char *body;
};

struct dedupe_slot {
	uint64_t key;
	int64_t last_ns;
};

/* One container's burst window. */
struct burst_slot {
	char *container;	/* its id; NULL: a free slot */
	char *name;
	int64_t window_ns;	/* when the window began */
	unsigned count;		/* alerts in the window, sent or not */
	unsigned suppressed;	/* held back in the window */
	enum uw_severity worst;	/* the highest held back */
};

struct alerter {
	struct alert_opts opts;
	char hostname[256];
	/* the HTTP queue */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct msg *head, *tail;
	size_t queued;
	int stop;
	pthread_t thread;
	int thread_up;
	int stopped;		/* alert_stop ran: no more HTTP */
	/* counters (mu) */
	uint64_t sent, dropped, failed_attempts;
	uint64_t suppressed;
	struct dedupe_slot dedupe[DEDUPE_SLOTS];
	struct burst_slot burst[BURST_SLOTS];
};

static int
syslog_priority(enum uw_severity s)
{
	switch (s) {
	case UW_SEV_CRITICAL:
		return LOG_CRIT;
	case UW_SEV_HIGH:
		return LOG_ERR;
	case UW_SEV_MEDIUM:
		return LOG_WARNING;
	case UW_SEV_LOW:
		return LOG_NOTICE;
	default:
		return LOG_INFO;
	}
}

/* Falco's priority names for our severities. */
static const char *
falco_priority(enum uw_severity s)
{
	switch (s) {
	case UW_SEV_CRITICAL:
		return "Critical";
	case UW_SEV_HIGH:
		return "Error";
	case UW_SEV_MEDIUM:
		return "Warning";
	case UW_SEV_LOW:
		return "Notice";
	default:
		return "Informational";
	}
}

static size_t
discard(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

/* Abort a transfer in flight once we are told to stop: a sink that
 * hangs must not hold up the daemon's exit. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct alerter *a = arg;
	int stop;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&a->mu);
	stop = a->stop;
	pthread_mutex_unlock(&a->mu);
	return stop;
}

static int
post(struct alerter *a, CURL *curl, const char *url, const char *body)
{
	struct curl_slist *headers;
	long code = 0;
	CURLcode rc;

	headers = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "upperwatch");
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, a);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(headers);
	return rc == CURLE_OK && code >= 200 && code < 300 ? 0 : -EIO;
}

static void *
sender(void *arg)
{
	struct alerter *a = arg;
	struct msg *m;
	CURL *curl;
	int attempt, ok;

	curl = curl_easy_init();
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (a->head == NULL && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->head == NULL)
			break;
		m = a->head;
		a->head = m->next;
		if (a->head == NULL)
			a->tail = NULL;
		a->queued--;
		pthread_mutex_unlock(&a->mu);
		ok = 0;
		for (attempt = 0; curl != NULL && attempt < RETRIES && !ok;
		    attempt++) {
			if (post(a, curl, a->opts.url, m->body) == 0) {
				ok = 1;
				break;
			}
			pthread_mutex_lock(&a->mu);
			a->failed_attempts++;
			if (a->stop) {
				pthread_mutex_unlock(&a->mu);
				break;
			}
			pthread_mutex_unlock(&a->mu);
			usleep((useconds_t)(250000u << attempt));
		}
		free(m->body);
		free(m);
		pthread_mutex_lock(&a->mu);
		if (ok)
			a->sent++;
		else
			a->dropped++;
	}
	pthread_mutex_unlock(&a->mu);
	if (curl != NULL)
		curl_easy_cleanup(curl);
	return NULL;
}

struct alerter *
alert_new(const struct alert_opts *opts, struct uw_error *err)
{
	struct alerter *a;

	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		seterr(err, -ENOMEM, "out of memory");
		return NULL;
	}
	a->opts = *opts;
	if (a->opts.dedupe_seconds == 0)
		a->opts.dedupe_seconds = 60;
	if (a->opts.burst_max == 0)
		a->opts.burst_max = 50;
	if (gethostname(a->hostname, sizeof(a->hostname) - 1) != 0)
		strcpy(a->hostname, "localhost");
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (a->opts.syslog)
		openlog("upperwatch", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (a->opts.url != NULL) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		if (pthread_create(&a->thread, NULL, sender, a) != 0) {
			seterr(err, -EAGAIN, "cannot start the alert thread");
			alert_free(a);
			return NULL;
		}
		a->thread_up = 1;
	}
	return a;
}


static void burst_flush_all(struct alerter *a, int64_t now);

void
alert_stop(struct alerter *a)
{
	struct msg *m;
	int64_t deadline;

	if (a == NULL)
		return;
	/* Held back and not yet summarized: say so now, or never. */
	if (!a->stopped)
		burst_flush_all(a, now_mono_ns());
	if (a->thread_up) {
		/* Give the queue a moment to drain (while the sink answers),
		 * then stop; a transfer in flight is aborted. */
		deadline = now_mono_ns() + 1000000000LL;
		pthread_mutex_lock(&a->mu);
		while (a->queued > 0 && now_mono_ns() < deadline) {
			pthread_mutex_unlock(&a->mu);
			usleep(10000);
			pthread_mutex_lock(&a->mu);
		}
		a->stop = 1;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
		curl_global_cleanup();
		a->thread_up = 0;
	}
	pthread_mutex_lock(&a->mu);
	a->stopped = 1;
	while (a->head != NULL) {
		m = a->head;
		a->head = m->next;
		a->queued--;
		a->dropped++;
		free(m->body);
		free(m);
	}
	a->tail = NULL;
	pthread_mutex_unlock(&a->mu);
}

void
alert_free(struct alerter *a)
{
	size_t i;

	if (a == NULL)
		return;
	alert_stop(a);
	for (i = 0; i < BURST_SLOTS; i++) {
		free(a->burst[i].container);
		free(a->burst[i].name);
	}
	if (a->opts.syslog)
		closelog();
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void
alert_stats(struct alerter *a, uint64_t *sent, uint64_t *dropped,
    uint64_t *suppressed, uint64_t *queued)
{
	pthread_mutex_lock(&a->mu);
	*sent = a->sent;
	*dropped = a->dropped;
	*suppressed = a->suppressed;
	*queued = a->queued;
	pthread_mutex_unlock(&a->mu);
}

static void
count_suppressed(struct alerter *a)
{
	pthread_mutex_lock(&a->mu);
	a->suppressed++;
	pthread_mutex_unlock(&a->mu);
}

static void
count_dropped(struct alerter *a)
{
	pthread_mutex_lock(&a->mu);
	a->dropped++;
	pthread_mutex_unlock(&a->mu);
}

static int64_t
window_ns(const struct alerter *a)
{
	return (int64_t)a->opts.dedupe_seconds * 1000000000;
}

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* The NUL-terminated string s, escaped and cut (escape_cut). */
static const char *
esc(char *buf, size_t size, const char *s)
{
	return escape_cut(buf, size, s, strlen(s));
}

/* Once per window for the same container, path and verdict. */
static int
duplicate(struct alerter *a, const struct uw_event *ev, int64_t now)
{
	XXH3_state_t st;
	struct dedupe_slot *slot;
	uint64_t key;
	int v[2];

	v[0] = (int)ev->verdict->severity;
	v[1] = (int)ev->verdict->action;
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, ev->container->id,
	    strlen(ev->container->id) + 1);
	XXH3_64bits_update(&st, ev->path, ev->path_len);
	XXH3_64bits_update(&st, v, sizeof(v));
	key = XXH3_64bits_digest(&st);
	slot = &a->dedupe[key % DEDUPE_SLOTS];
	if (slot->key == key && now - slot->last_ns < window_ns(a))
		return 1;
	slot->key = key;
	slot->last_ns = now;
	return 0;
}

/* ---- Falco's format ---- */

/* A JSON body being written. */
struct falco {
	FILE *out;
	char *buf;
	size_t len;
	int first, inner;
};

/*
 * Begin an alert as Falco writes it: output, priority, rule, time (ns
 * since the epoch, as RFC 3339 in UTC), source, hostname, and the "tags"
 * array left open for the caller.  -ENOMEM if no stream.
 */
static int
falco_begin(struct falco *f, struct alerter *a, const char *output,
    const char *priority, const char *rule, int64_t time_ns)
{
	char when[64];
	struct tm tm;
	time_t secs = (time_t)(time_ns / 1000000000);

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when),
	    ".%09lldZ", (long long)(time_ns % 1000000000));
	f->buf = NULL;
	f->len = 0;
	f->first = 1;
	f->inner = 1;
	f->out = open_memstream(&f->buf, &f->len);
	if (f->out == NULL)
		return -ENOMEM;
	__fsetlocking(f->out, FSETLOCKING_BYCALLER);
	fputc('{', f->out);
	jsonw_str(f->out, &f->first, "output", output);
	jsonw_str(f->out, &f->first, "priority", priority);
	jsonw_str(f->out, &f->first, "rule", rule);
	jsonw_str(f->out, &f->first, "time", when);
	jsonw_str(f->out, &f->first, "source", "upperwatch");
	jsonw_str(f->out, &f->first, "hostname", a->hostname);
	jsonw_key(f->out, &f->first, "tags");
	fputc('[', f->out);
	return 0;
}

/* Close the tags, open output_fields (written with &f->inner). */
static void
falco_fields(struct falco *f)
{
	fputc(']', f->out);
	jsonw_key(f->out, &f->first, "output_fields");
	fputc('{', f->out);
}

/* Close it all; the body, or NULL when the stream failed. */
static char *
falco_end(struct falco *f)
{
	int bad;

	fputs("}}", f->out);
	bad = ferror(f->out);
	if (fclose(f->out) != 0)
		bad = 1;
	if (bad) {
		free(f->buf);
		return NULL;
	}
	return f->buf;
}

static char *
event_json(struct alerter *a, const struct uw_event *ev, const char *output,
    const char *rule)
{
	const struct uw_verdict *v = ev->verdict;
	const struct uw_container *c = ev->container;
	struct falco f;
	size_t i, t;
	int tagged = 0;

	if (falco_begin(&f, a, output, falco_priority(v->severity), rule,
	    ev->time_ns) < 0)
		return NULL;
	for (i = 0; i < v->reason_count; i++) {
		for (t = 0; t < v->reasons[i].tag_count; t++) {
			if (tagged++)
				fputc(',', f.out);
			jsonw_string(f.out,
			    (const unsigned char *)v->reasons[i].tags[t],
			    strlen(v->reasons[i].tags[t]));
		}
	}
	falco_fields(&f);
	jsonw_str(f.out, &f.inner, "container.id", c->id);
	jsonw_str(f.out, &f.inner, "container.name", or_empty(c->name));
	jsonw_str(f.out, &f.inner, "container.image.repository",
	    or_empty(c->image));
	jsonw_str(f.out, &f.inner, "k8s.pod.name", or_empty(c->pod));
	jsonw_str(f.out, &f.inner, "k8s.ns.name", or_empty(c->pod_namespace));
	jsonw_bytes(f.out, &f.inner, "fd.name", ev->path, ev->path_len);
	if (ev->process != NULL) {
		const struct uw_process *p = ev->process;

		jsonw_int(f.out, &f.inner, "proc.pid", p->pid);
		jsonw_str(f.out, &f.inner, "proc.name", or_empty(p->comm));
		jsonw_str(f.out, &f.inner, "proc.exepath", or_empty(p->exe));
		jsonw_str(f.out, &f.inner, "proc.cmdline",
		    or_empty(p->cmdline));
		if (p->uid >= 0)
			jsonw_int(f.out, &f.inner, "user.uid", p->uid);
	}
	jsonw_str(f.out, &f.inner, "evt.type", op_name(ev->op));
	if (ev->package_check != UW_PKG_NONE) {
		jsonw_str(f.out, &f.inner, "upperwatch.package_check",
		    package_check_name(ev->package_check));
		if (ev->package != NULL && !ev->package->database) {
			jsonw_str(f.out, &f.inner, "upperwatch.package",
			    or_empty(ev->package->name));
			jsonw_str(f.out, &f.inner, "upperwatch.package_version",
			    or_empty(ev->package->version));
		}
		if (ev->package != NULL)
			jsonw_str(f.out, &f.inner, "upperwatch.package_manager",
			    or_empty(ev->package->manager));
	}
	if (ev->incident != 0)
		jsonw_uint(f.out, &f.inner, "upperwatch.incident", ev->incident);
	if (ev->sha256 != NULL)
		jsonw_str(f.out, &f.inner, "upperwatch.sha256", ev->sha256);
	jsonw_str(f.out, &f.inner, "upperwatch.severity",
	    severity_name(v->severity));
	jsonw_str(f.out, &f.inner, "upperwatch.action",
	    action_name(v->action));
	jsonw_str(f.out, &f.inner, "upperwatch.policy_set",
	    or_empty(v->policy_set));
	jsonw_uint(f.out, &f.inner, "upperwatch.event_id", ev->id);
	return falco_end(&f);
}

/* ---- delivery ---- */

static void
enqueue(struct alerter *a, char *body)
{
	struct msg *m;

	pthread_mutex_lock(&a->mu);
	if (a->queued >= QUEUE_MAX || a->stopped || !a->thread_up) {
		a->dropped++;
		pthread_mutex_unlock(&a->mu);
		free(body);
		return;
	}
	m = malloc(sizeof(*m));
	if (m == NULL) {
		a->dropped++;
		pthread_mutex_unlock(&a->mu);
		free(body);
		return;
	}
	m->body = body;
	m->next = NULL;
	if (a->tail != NULL)
		a->tail->next = m;
	else
		a->head = m;
	a->tail = m;
	a->queued++;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* Does anyone want the JSON body? */
static int
wants_json(const struct alerter *a)
{
	return a->opts.url != NULL || a->opts.sink != NULL;
}

/* Send one alert everywhere; takes `body` (may be NULL: it could not be
 * built, which counts as a drop for HTTP). */
static void
deliver(struct alerter *a, int priority, const char *output, char *body)
{
	if (a->opts.syslog)
		syslog(priority, "%s", output);
	if (a->opts.sink != NULL)
		a->opts.sink(a->opts.sink_arg, priority, output, body);
	if (a->opts.url != NULL) {
		if (body != NULL)
			enqueue(a, body);
		else
			count_dropped(a);
		return;
	}
	free(body);
}

/* ---- bursts ---- */

/* Say what slot b held back, if anything, and empty its count. */
static void
burst_summarize(struct alerter *a, struct burst_slot *b, int64_t now)
{
	char output[1024], id[160], name[160];
	unsigned secs;
	struct falco f;
	char *body = NULL;
	int64_t held = now - b->window_ns;

	if (b->suppressed == 0)
		return;
	if (held > window_ns(a))
		held = window_ns(a);
	secs = (unsigned)((held + 999999999) / 1000000000);
	esc(id, sizeof(id), b->container);
	esc(name, sizeof(name), b->name);
	snprintf(output, sizeof(output), "upperwatch: %u more alert%s from "
	    "container %s (%s) held back in the last %u s (a burst, e.g. a "
	    "package install): see 'upperwatch events --container %s'",
	    b->suppressed, b->suppressed == 1 ? "" : "s", id, name, secs, id);
	if (wants_json(a) && falco_begin(&f, a, output,
	    falco_priority(b->worst), "upperwatch burst summary",
	    now_real_ns()) == 0) {
		jsonw_string(f.out, (const unsigned char *)"burst", 5);
		falco_fields(&f);
		jsonw_str(f.out, &f.inner, "container.id", b->container);
		jsonw_str(f.out, &f.inner, "container.name", b->name);
		jsonw_str(f.out, &f.inner, "upperwatch.severity",
		    severity_name(b->worst));
		jsonw_uint(f.out, &f.inner, "upperwatch.held_back",
		    b->suppressed);
		jsonw_uint(f.out, &f.inner, "upperwatch.window_seconds", secs);
		body = falco_end(&f);
	}
	deliver(a, syslog_priority(b->worst), output, body);
	b->suppressed = 0;
	b->worst = UW_SEV_INFO;
}

static void
burst_release(struct burst_slot *b)
{
	free(b->container);
	free(b->name);
	memset(b, 0, sizeof(*b));
}

/*
 * The container's burst slot, its window current at `now`: a window that
 * ended is summarized and a new one begins; another container in the slot
 * is summarized and evicted.  NULL when out of memory (no limit then).
 */
static struct burst_slot *
burst_slot(struct alerter *a, const char *container, const char *name,
    int64_t now)
{
	struct burst_slot *b;

	b = &a->burst[XXH3_64bits(container, strlen(container)) %
	    BURST_SLOTS];
	if (b->container != NULL && strcmp(b->container, container) != 0) {
		burst_summarize(a, b, now);
		burst_release(b);
	}
	if (b->container == NULL) {
		b->container = strdup(container);
		b->name = strdup(name);
		if (b->container == NULL || b->name == NULL) {
			burst_release(b);
			return NULL;
		}
		b->window_ns = now;
	}
	if (now - b->window_ns >= window_ns(a)) {
		burst_summarize(a, b, now);
		b->window_ns = now;
		b->count = 0;
	}
	return b;
}

/* Summarize every slot with something held back (at stop). */
static void
burst_flush_all(struct alerter *a, int64_t now)
{
	size_t i;

	for (i = 0; i < BURST_SLOTS; i++)
		if (a->burst[i].container != NULL)
			burst_summarize(a, &a->burst[i], now);
}

int64_t
alert_tick(struct alerter *a, int64_t now_ns)
{
	struct burst_slot *b;
	int64_t next = INT64_MAX, end;
	size_t i;

	if (a == NULL)
		return INT64_MAX;
	for (i = 0; i < BURST_SLOTS; i++) {
		b = &a->burst[i];
		if (b->container == NULL || b->suppressed == 0)
			continue;
		end = b->window_ns + window_ns(a);
		if (now_ns >= end) {
			/* The window is over: the next alert begins one. */
			burst_summarize(a, b, now_ns);
			burst_release(b);
		} else if (end < next) {
			next = end;
		}
	}
	return next;
}

/* ---- the entry points ---- */

int
alert_event_at(struct alerter *a, const struct uw_event *ev, int64_t now)
{
	const struct uw_verdict *v = ev->verdict;
	const struct uw_container *c = ev->container;
	char output[2560], id[160], name[160], image[288], path[1024];
	char reason[512];
	struct burst_slot *b;
	const char *rule;
	char *body = NULL;
	int urgent;

	if (v == NULL || v->action < UW_ACT_ALERT)
		return 0;
	urgent = v->severity >= UW_SEV_HIGH;
	b = burst_slot(a, c->id, or_empty(c->name), now);
	if (b != NULL) {
		b->count++;
		if (!urgent && b->count > a->opts.burst_max) {
			b->suppressed++;
			if (v->severity > b->worst)
				b->worst = v->severity;
			count_suppressed(a);
			return 0;
		}
	}
	if (!urgent && duplicate(a, ev, now)) {
		count_suppressed(a);
		return 0;
	}
	rule = v->reason_count > 0 ? or_empty(v->reasons[0].policy) :
	    "upperwatch";
	snprintf(output, sizeof(output), "%s %s in container %s (%s, image "
	    "%s): %s %s: %s", severity_name(v->severity),
	    action_name(v->action), esc(id, sizeof(id), c->id),
	    esc(name, sizeof(name), or_empty(c->name)),
	    esc(image, sizeof(image), or_empty(c->image)), op_name(ev->op),
	    escape_cut(path, sizeof(path), ev->path, ev->path_len),
	    esc(reason, sizeof(reason), v->reason_count > 0 ?
	    or_empty(v->reasons[0].reason) : "drift"));
	if (wants_json(a))
		body = a->opts.ocsf ? ocsf_finding_text(ev) :
		    event_json(a, ev, output, rule);
	deliver(a, syslog_priority(v->severity), output, body);
	return 0;
}

int
alert_event(struct alerter *a, const struct uw_event *ev)
{
	return alert_event_at(a, ev, now_mono_ns());
}

/*
 * An alert of the watcher's own about a container (or the host, for
 * container ""), never deduped nor held back: `output` is the line,
 * `tag` its one Falco tag, and the output fields are the container's id
 * and `key`, true (incident 0) or the incident's id.
 */
static void
own_alert(struct alerter *a, const char *container, const char *output,
    int prio, const char *rule, const char *tag, const char *key,
    uint64_t incident)
{
	struct falco f;
	char *body = NULL;

	if (wants_json(a) && falco_begin(&f, a, output, prio == LOG_ERR ?
	    "Error" : "Notice", rule, now_real_ns()) == 0) {
		jsonw_string(f.out, (const unsigned char *)tag, strlen(tag));
		falco_fields(&f);
		jsonw_str(f.out, &f.inner, "container.id", container);
		if (incident != 0)
			jsonw_uint(f.out, &f.inner, key, incident);
		else
			jsonw_bool(f.out, &f.inner, key, 1);
		body = falco_end(&f);
	}
	deliver(a, prio, output, body);
}

void
alert_incident(struct alerter *a, const char *container, uint64_t incident,
    const char *text)
{
	char output[2048], id[160], what[1536];

	if (a == NULL)
		return;
	container = or_empty(container);
	esc(what, sizeof(what), or_empty(text));
	snprintf(output, sizeof(output), "upperwatch: container %s: %s",
	    esc(id, sizeof(id), container), what);
	own_alert(a, container, output, LOG_NOTICE, "upperwatch package "
	    "transaction", "package", "upperwatch.incident", incident);
}

void
alert_coverage(struct alerter *a, const char *container, const char *text)
{
	char output[2048], id[160], what[1536];

	if (a == NULL)
		return;
	container = or_empty(container);
	esc(what, sizeof(what), or_empty(text));
	if (container[0] != '\0')
		snprintf(output, sizeof(output), "upperwatch coverage lost in "
		    "container %s: %s", esc(id, sizeof(id), container), what);
	else
		snprintf(output, sizeof(output), "upperwatch coverage lost: %s",
		    what);
	own_alert(a, container, output, LOG_ERR, "upperwatch coverage",
	    "coverage", "upperwatch.coverage", 0);
}
