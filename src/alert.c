/*
 * alert.c - alerts where security teams look: syslog, and an HTTP POST
 * of each alert in Falco's output format (so Falcosidekick routes it to
 * Slack, Loki, Elasticsearch...).  A sink that is down never blocks
 * detection: HTTP alerts go through a bounded queue to a thread that
 * retries, and what does not fit is dropped and counted.  The same
 * (container, path, verdict) alerts once per window, and a burst from
 * one container (a package install) is summarized.
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

struct burst_slot {
	char *container;
	int64_t window_ns;
	unsigned count;
	unsigned suppressed;
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
		uw_fail(err, -ENOMEM, "out of memory");
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
			uw_fail(err, -EAGAIN, "cannot start the alert thread");
			alert_free(a);
			return NULL;
		}
		a->thread_up = 1;
	}
	return a;
}

void
alert_stop(struct alerter *a)
{
	struct msg *m;
	int64_t deadline;

	if (a == NULL)
		return;
	if (a->thread_up) {
		/* Give the queue a moment to drain (while the sink answers),
		 * then stop; a transfer in flight is aborted. */
		deadline = uw_now_mono_ns() + 1000000000LL;
		pthread_mutex_lock(&a->mu);
		while (a->queued > 0 && uw_now_mono_ns() < deadline) {
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
	while (a->head != NULL) {
		m = a->head;
		a->head = m->next;
		a->queued--;
		a->dropped++;
		free(m->body);
		free(m);
	}
	a->tail = NULL;
}

void
alert_free(struct alerter *a)
{
	size_t i;

	if (a == NULL)
		return;
	alert_stop(a);
	for (i = 0; i < BURST_SLOTS; i++)
		free(a->burst[i].container);
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
	if (slot->key == key && now - slot->last_ns <
	    (int64_t)a->opts.dedupe_seconds * 1000000000)
		return 1;
	slot->key = key;
	slot->last_ns = now;
	return 0;
}

/* Count the container's alerts in this window; 1 when over the burst
 * limit.  *summary gets what was held back in the window that ended. */
static int
burst(struct alerter *a, const char *container, int64_t now,
    unsigned *summary)
{
	struct burst_slot *b;
	int64_t window = (int64_t)a->opts.dedupe_seconds * 1000000000;

	b = &a->burst[XXH3_64bits(container, strlen(container)) %
	    BURST_SLOTS];
	*summary = 0;
	if (b->container == NULL || strcmp(b->container, container) != 0) {
		free(b->container);
		b->container = strdup(container);
		b->window_ns = now;
		b->count = 0;
		b->suppressed = 0;
	}
	if (now - b->window_ns >= window) {
		*summary = b->suppressed;
		b->window_ns = now;
		b->count = 0;
		b->suppressed = 0;
	}
	if (++b->count > a->opts.burst_max) {
		b->suppressed++;
		return 1;
	}
	return 0;
}

/* The alert as Falco writes it. */
static char *
falco_json(struct alerter *a, const struct uw_event *ev, const char *output,
    const char *rule)
{
	const struct uw_verdict *v = ev->verdict;
	const struct uw_container *c = ev->container;
	char when[64], *buf = NULL;
	size_t len = 0, i, t;
	struct tm tm;
	time_t secs = (time_t)(ev->time_ns / 1000000000);
	int first = 1, inner = 1, tagged = 0;
	FILE *out;

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when),
	    ".%09lldZ", (long long)(ev->time_ns % 1000000000));
	out = open_memstream(&buf, &len);
	if (out == NULL)
		return NULL;
	__fsetlocking(out, FSETLOCKING_BYCALLER);
	fputc('{', out);
	jsonw_str(out, &first, "output", output);
	jsonw_str(out, &first, "priority", falco_priority(v->severity));
	jsonw_str(out, &first, "rule", rule);
	jsonw_str(out, &first, "time", when);
	jsonw_str(out, &first, "source", "upperwatch");
	jsonw_str(out, &first, "hostname", a->hostname);
	jsonw_key(out, &first, "tags");
	fputc('[', out);
	for (i = 0; i < v->reason_count; i++) {
		for (t = 0; t < v->reasons[i].tag_count; t++) {
			if (tagged++)
				fputc(',', out);
			jsonw_string(out,
			    (const unsigned char *)v->reasons[i].tags[t],
			    strlen(v->reasons[i].tags[t]));
		}
	}
	fputc(']', out);
	jsonw_key(out, &first, "output_fields");
	fputc('{', out);
	jsonw_str(out, &inner, "container.id", c->id);
	jsonw_str(out, &inner, "container.name", c->name);
	jsonw_str(out, &inner, "container.image.repository", c->image);
	jsonw_str(out, &inner, "k8s.pod.name", c->pod);
	jsonw_str(out, &inner, "k8s.ns.name", c->pod_namespace);
	jsonw_bytes(out, &inner, "fd.name", ev->path, ev->path_len);
	jsonw_str(out, &inner, "evt.type", uw_op_name(ev->op));
	jsonw_str(out, &inner, "upperwatch.severity",
	    uw_severity_name(v->severity));
	jsonw_str(out, &inner, "upperwatch.action", uw_action_name(v->action));
	jsonw_str(out, &inner, "upperwatch.policy_set", v->policy_set);
	jsonw_uint(out, &inner, "upperwatch.event_id", ev->id);
	fputs("}}", out);
	fclose(out);
	return buf;
}

static void
enqueue(struct alerter *a, char *body)
{
	struct msg *m;

	pthread_mutex_lock(&a->mu);
	if (a->queued >= QUEUE_MAX) {
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

static void
deliver(struct alerter *a, const struct uw_event *ev, const char *output,
    const char *rule)
{
	char *body;

	if (a->opts.syslog)
		syslog(syslog_priority(ev->verdict->severity), "%s", output);
	if (a->opts.url != NULL) {
		body = falco_json(a, ev, output, rule);
		if (body != NULL)
			enqueue(a, body);
		else
			a->dropped++;
	}
}

int
alert_event(struct alerter *a, const struct uw_event *ev)
{
	const struct uw_verdict *v = ev->verdict;
	char output[2048], path[1024];
	const char *rule;
	unsigned summary;
	int64_t now = uw_now_mono_ns();
	size_t n;

	if (v == NULL || v->action < UW_ACT_ALERT)
		return 0;
	if (burst(a, ev->container->id, now, &summary)) {
		pthread_mutex_lock(&a->mu);
		a->suppressed++;
		pthread_mutex_unlock(&a->mu);
		return 0;
	}
	if (summary > 0) {
		snprintf(output, sizeof(output), "upperwatch: %u more alerts "
		    "from container %s (%s) were held back in the last %u s "
		    "(a burst, e.g. a package install): see 'upperwatch "
		    "events --container %s'", summary, ev->container->id,
		    ev->container->name, a->opts.dedupe_seconds,
		    ev->container->id);
		deliver(a, ev, output, "upperwatch burst summary");
	}
	if (duplicate(a, ev, now)) {
		pthread_mutex_lock(&a->mu);
		a->suppressed++;
		pthread_mutex_unlock(&a->mu);
		return 0;
	}
	n = ev->path_len < sizeof(path) - 1 ? ev->path_len : sizeof(path) - 1;
	memcpy(path, ev->path, n);
	path[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20)
			path[i] = '?';	/* one line, whatever the name */
	rule = v->reason_count > 0 ? v->reasons[0].policy : "upperwatch";
	snprintf(output, sizeof(output), "%s %s in container %s (%s, image "
	    "%s): %s %s: %s", uw_severity_name(v->severity),
	    uw_action_name(v->action), ev->container->id, ev->container->name,
	    ev->container->image, uw_op_name(ev->op), path,
	    v->reason_count > 0 ? v->reasons[0].reason : "drift");
	deliver(a, ev, output, rule);
	return 0;
}
