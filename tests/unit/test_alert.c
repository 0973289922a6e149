/*
 * test_alert.c - a hostile container cannot hide an alert or forge one:
 * container-controlled strings are escaped in the human output line (no
 * new line, no terminal escape, no invalid UTF-8), cheap alerts never
 * suppress a high or critical one, a burst is summarized when its window
 * ends (by timer, and at stop at the latest), and coverage alerts are
 * never held back.  Alerts are seen through the alerter's sink hook, and
 * once through a real HTTP sink on a loopback socket.
 *
 * And the evidence a pause or kill takes first (evidence_keep): a
 * FIFO swapped in is never opened, symlinks are never followed on either
 * side, nothing is overwritten, an evidence dir others could write is
 * refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "alert.h"
#include "check.h"
#include "evidence.h"
#include "respond.h"
#include "util.h"

#define SEC 1000000000LL
#define MAX_SEEN 256

/* What the sink hook saw. */
struct seen {
	size_t count;
	int priority[MAX_SEEN];
	char *output[MAX_SEEN];
	char *json[MAX_SEEN];
};

static void
record(void *arg, int priority, const char *output, const char *json)
{
	struct seen *s = arg;

	if (s->count == MAX_SEEN)
		return;
	s->priority[s->count] = priority;
	s->output[s->count] = strdup(output);
	s->json[s->count] = json != NULL ? strdup(json) : NULL;
	s->count++;
}

static void
seen_clear(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->count; i++) {
		free(s->output[i]);
		free(s->json[i]);
	}
	s->count = 0;
}

static char buf[4096];

static const char *
escaped(const char *bytes, size_t len)
{
	escape_to_buf(buf, sizeof(buf), (const unsigned char *)bytes, len,
	    NULL);
	return buf;
}

/* Is the line safe for syslog and a terminal: printable ASCII or valid
 * UTF-8 that is not a C1 control, nothing else? */
static int
line_is_clean(const char *line)
{
	const unsigned char *p = (const unsigned char *)line;
	size_t len = strlen(line), i = 0, n;

	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		if (p[i] < 0x80)
			return 0;
		n = utf8_seq_len(p + i, len - i);
		if (n < 2 || (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0))
			return 0;
		i += n;
	}
	return 1;
}

/* The string at `key` (a dotted path through objects, one level of
 * output_fields at most) of a JSON body; "" when absent. */
static const char *
json_get(json_t *root, const char *key, const char *field)
{
	json_t *v = json_object_get(root, key);

	if (field != NULL)
		v = json_object_get(v, field);
	return json_is_string(v) ? json_string_value(v) : "";
}

static void
test_escape(void)
{
	size_t used, n;

	CHECK_STR(escaped("a\x7f" "b", 3), "a\\x7fb", "DEL escaped");
	CHECK_STR(escaped("\xc2\x80|\xc2\x9f", 5), "\\xc2\\x80|\\xc2\\x9f",
	    "C1 controls U+0080 and U+009F (as UTF-8) escaped");
	CHECK_STR(escaped("\xc2\xa0", 2), "\xc2\xa0",
	    "control: U+00A0, just past C1, kept as is");
	CHECK_STR(escaped("\xff\xc3(", 3), "\\xff\\xc3(",
	    "invalid UTF-8 byte by byte");
	CHECK_STR(escaped("\xe2\x82", 2), "\\xe2\\x82",
	    "a truncated sequence escaped");
	CHECK_STR(escaped("\xc0\xaf", 2), "\\xc0\\xaf",
	    "an overlong '/' escaped");
	CHECK_STR(escaped("a\nb\r\tc\\", 7), "a\\nb\\r\\tc\\\\",
	    "newline, CR, tab and backslash");
	CHECK_STR(escaped("\x1b]0;pwned\x07", 10), "\\x1b]0;pwned\\x07",
	    "ESC and BEL escaped");
	CHECK_STR(escaped("caf\xc3\xa9 \xe2\x9c\x93", 9),
	    "caf\xc3\xa9 \xe2\x9c\x93", "control: valid UTF-8 kept");
	CHECK_STR(escaped("a\0b", 3), "a\\x00b", "NUL escaped");

	/* Bounded: nothing is cut in half. */
	n = escape_to_buf(buf, 5, (const unsigned char *)"ab\x1b", 3,
	    &used);
	CHECK(n == 2 && used == 2 && strcmp(buf, "ab") == 0,
	    "an escape that does not fit whole is left out (got \"%s\", %zu)",
	    buf, used);
	n = escape_to_buf(buf, 7, (const unsigned char *)"ab\x1b", 3,
	    &used);
	CHECK(n == 6 && used == 3 && strcmp(buf, "ab\\x1b") == 0,
	    "control: with room for it, it is there");
	n = escape_to_buf(buf, 4, (const unsigned char *)"a\xe2\x9c\x93",
	    4, &used);
	CHECK(n == 1 && used == 1 && strcmp(buf, "a") == 0,
	    "a UTF-8 sequence that does not fit whole is left out");
	buf[0] = 'x';
	n = escape_to_buf(buf, 0, (const unsigned char *)"a", 1, &used);
	CHECK(n == 0 && used == 0 && buf[0] == 'x', "size 0 writes nothing");
}

/* An event the way the watcher hands it over. */
struct fake {
	struct uw_container c;
	struct uw_reason r;
	struct uw_verdict v;
	struct uw_event ev;
	const char *tags[2];
};

static void
fake_init(struct fake *f, const char *id, const char *name,
    const char *path, enum uw_severity sev, const char *reason)
{
	memset(f, 0, sizeof(*f));
	f->c.id = id;
	f->c.name = name;
	f->c.image = "img:1";
	f->c.runtime = "runc";
	f->c.pod = f->c.pod_namespace = "";
	f->tags[0] = "t";
	f->r.policy = "test-policy";
	f->r.severity = sev;
	f->r.action = UW_ACT_ALERT;
	f->r.reason = reason;
	f->r.tags = f->tags;
	f->r.tag_count = 1;
	f->v.severity = sev;
	f->v.action = UW_ACT_ALERT;
	f->v.wanted = UW_ACT_ALERT;
	f->v.reasons = &f->r;
	f->v.reason_count = 1;
	f->v.policy_set = "abc";
	f->ev.op = UW_OP_ADDED;
	f->ev.path = (const unsigned char *)path;
	f->ev.path_len = strlen(path);
	f->ev.type = UW_TYPE_FILE;
	f->ev.container = &f->c;
	f->ev.time_ns = 1700000000LL * SEC;
	f->ev.id = 7;
	f->ev.verdict = &f->v;
}

static struct alerter *
new_alerter(struct seen *s, unsigned dedupe_seconds)
{
	struct alert_opts o;
	struct uw_error err;

	memset(&o, 0, sizeof(o));
	o.dedupe_seconds = dedupe_seconds;
	o.sink = record;
	o.sink_arg = s;
	return alert_new(&o, &err);
}

static void
test_output_sanitized(void)
{
	struct seen s = { 0 };
	struct alerter *a = new_alerter(&s, 60);
	struct fake f;
	json_t *root;
	size_t i;
	int clean = 1;

	fake_init(&f, "c1\n<13>Jan  1 00:00:00 host fake: ok",
	    "name\x1b[31m\x7f\xc2\x9b", "/etc/x\nforged line\r\xff\xc2\x85",
	    UW_SEV_HIGH, "reason \x1b]8;;http://evil\x07");
	alert_event_at(a, &f.ev, 0);
	CHECK_INT(s.count, 1, "one alert");
	if (s.count < 1)
		goto out;
	CHECK(line_is_clean(s.output[0]), "the output line has no control "
	    "byte, no C1, no invalid UTF-8: %s", s.output[0]);
	CHECK(strstr(s.output[0], "c1\\n<13>Jan") != NULL,
	    "container id: the newline is \\n");
	CHECK(strstr(s.output[0], "name\\x1b[31m\\x7f\\xc2\\x9b") != NULL,
	    "container name: ESC, DEL and C1 as \\xNN");
	CHECK(strstr(s.output[0], "/etc/x\\nforged line\\r\\xff\\xc2\\x85") !=
	    NULL, "path: newline, CR, invalid UTF-8 and C1 as escapes");
	CHECK(strstr(s.output[0], "reason \\x1b]8;;http://evil\\x07") != NULL,
	    "policy reason escaped");
	root = json_loads(s.json[0], 0, NULL);
	CHECK(root != NULL, "the JSON body parses");
	CHECK_STR(json_get(root, "output", NULL), s.output[0],
	    "Falco output = the escaped line");
	CHECK_STR(json_get(root, "priority", NULL), "Error", "high: Error");
	CHECK(strcmp(json_get(root, "output_fields", "container.id"),
	    f.c.id) == 0, "output_fields keep the exact id (JSON-escaped "
	    "only)");
	json_decref(root);
	seen_clear(&s);

	/* Control: plain names go through unchanged. */
	fake_init(&f, "c2", "web-1", "/etc/caf\xc3\xa9", UW_SEV_HIGH, "r");
	alert_event_at(a, &f.ev, 0);
	CHECK(s.count == 1 && strstr(s.output[0], "container c2 (web-1, "
	    "image img:1): added /etc/caf\xc3\xa9: r") != NULL,
	    "control: a plain alert reads as before: %s",
	    s.count ? s.output[0] : "(none)");
	seen_clear(&s);

	/* Long names are cut whole, with "...". */
	{
		char long_path[5000];

		memset(long_path, '\n', sizeof(long_path) - 1);
		long_path[0] = '/';
		long_path[sizeof(long_path) - 1] = '\0';
		fake_init(&f, "c3", "n", long_path, UW_SEV_HIGH, "r");
		alert_event_at(a, &f.ev, 0);
		CHECK(s.count == 1 && strstr(s.output[0], "\\n...: r") !=
		    NULL && line_is_clean(s.output[0]),
		    "a long path is cut after a whole escape, marked ...");
	}
	for (i = 0; i < s.count; i++)
		clean &= line_is_clean(s.output[i]);
	CHECK(clean, "every line clean");
out:
	seen_clear(&s);
	alert_free(a);
}

/* How many of what the sink saw have `needle` in their output. */
static size_t
count_with(const struct seen *s, const char *needle)
{
	size_t i, n = 0;

	for (i = 0; i < s->count; i++)
		if (strstr(s->output[i], needle) != NULL)
			n++;
	return n;
}

static void
test_burst(void)
{
	struct seen s = { 0 };
	struct alerter *a = new_alerter(&s, 10);
	uint64_t sent, dropped, suppressed, queued;
	struct fake f;
	char path[64];
	int64_t t0 = 5 * SEC, next;
	json_t *root;
	int i;

	/* 60 cheap alerts: 50 go out, 10 are held back. */
	for (i = 0; i < 60; i++) {
		snprintf(path, sizeof(path), "/tmp/f%d", i);
		fake_init(&f, "evil", "evil", path, UW_SEV_MEDIUM, "new file");
		alert_event_at(a, &f.ev, t0 + i);
	}
	CHECK_INT(s.count, 50, "a burst of 60 medium: 50 delivered");
	alert_stats(a, &sent, &dropped, &suppressed, &queued);
	CHECK_INT(suppressed, 10, "10 held back");
	/* Control: the limit holds for one more cheap alert. */
	fake_init(&f, "evil", "evil", "/tmp/f60", UW_SEV_MEDIUM, "new file");
	alert_event_at(a, &f.ev, t0 + SEC);
	CHECK_INT(s.count, 50, "control: a 61st medium alert is held back");
	/* The attack: the critical one after the flood. */
	fake_init(&f, "evil", "evil", "/etc/shadow", UW_SEV_CRITICAL,
	    "password hashes");
	alert_event_at(a, &f.ev, t0 + SEC);
	CHECK(s.count == 51 && strstr(s.output[50], "/etc/shadow") != NULL &&
	    s.priority[50] == LOG_CRIT,
	    "the critical alert after the burst is delivered (LOG_CRIT)");
	/* Never deduped either: the same critical alert again. */
	alert_event_at(a, &f.ev, t0 + SEC + 1);
	CHECK_INT(count_with(&s, "/etc/shadow"), 2,
	    "the same critical alert again: delivered again");
	fake_init(&f, "evil", "evil", "/etc/passwd", UW_SEV_HIGH, "accounts");
	alert_event_at(a, &f.ev, t0 + SEC + 2);
	CHECK_INT(count_with(&s, "/etc/passwd"), 1, "a high one too");

	/* Control: dedupe still holds below high (another container). */
	fake_init(&f, "calm", "calm", "/tmp/same", UW_SEV_MEDIUM, "r");
	alert_event_at(a, &f.ev, t0 + SEC);
	alert_event_at(a, &f.ev, t0 + 2 * SEC);
	CHECK_INT(count_with(&s, "/tmp/same"), 1,
	    "control: the same medium alert twice in a window: once");
	alert_stats(a, &sent, &dropped, &suppressed, &queued);
	CHECK_INT(suppressed, 12, "held back: 11 of the burst, 1 duplicate");

	/* The summary comes by timer, when the window ends. */
	seen_clear(&s);
	next = alert_tick(a, t0 + 3 * SEC);
	CHECK_INT(s.count, 0, "before the window ends: no summary");
	CHECK_INT(next, t0 + 10 * SEC, "tick asks to be called at its end");
	next = alert_tick(a, t0 + 10 * SEC);
	CHECK_INT(s.count, 1, "at the window's end: one summary, no alert "
	    "needed");
	if (s.count == 1) {
		CHECK(strstr(s.output[0], "11 more alerts from container evil")
		    != NULL, "it counts what was held back: %s", s.output[0]);
		root = json_loads(s.json[0], 0, NULL);
		CHECK_STR(json_get(root, "rule", NULL),
		    "upperwatch burst summary", "summary rule");
		CHECK_STR(json_get(root, "output_fields", "container.id"),
		    "evil", "summary names the container");
		json_decref(root);
	}
	CHECK_INT(next, INT64_MAX, "nothing pending after it");
	CHECK_INT(alert_tick(a, t0 + 11 * SEC), INT64_MAX,
	    "a second tick: still nothing");
	CHECK_INT(s.count, 1, "and no second summary");

	/* A new window after the summary: 50 go out again. */
	seen_clear(&s);
	for (i = 0; i < 51; i++) {
		snprintf(path, sizeof(path), "/tmp/g%d", i);
		fake_init(&f, "evil", "evil", path, UW_SEV_MEDIUM, "new file");
		alert_event_at(a, &f.ev, t0 + 20 * SEC + i);
	}
	CHECK_INT(s.count, 50, "the next window: 50 delivered again");
	seen_clear(&s);
	/* Held back at shutdown: said at stop, not lost. */
	alert_stop(a);
	CHECK(s.count == 1 && strstr(s.output[0], "1 more alert from "
	    "container evil") != NULL, "alert_stop sends the pending summary "
	    "(%s)", s.count ? s.output[0] : "none");
	alert_free(a);
	CHECK_INT(s.count, 1, "alert_free after alert_stop: not twice");
	seen_clear(&s);
}

static void
test_coverage(void)
{
	struct seen s = { 0 };
	struct alerter *a = new_alerter(&s, 60);
	struct fake f;
	json_t *root;
	char path[64];
	int i;

	/* Flood the container's burst window first. */
	for (i = 0; i < 70; i++) {
		snprintf(path, sizeof(path), "/tmp/f%d", i);
		fake_init(&f, "c9", "c9", path, UW_SEV_MEDIUM, "new file");
		alert_event_at(a, &f.ev, 0);
	}
	seen_clear(&s);
	alert_coverage(a, "c9", "baseline incomplete\n\x1b[2J");
	alert_coverage(a, "c9", "baseline incomplete\n\x1b[2J");
	CHECK_INT(s.count, 2, "coverage alerts: never held back nor deduped");
	if (s.count < 1)
		goto out;
	CHECK_INT(s.priority[0], LOG_ERR, "coverage: LOG_ERR");
	CHECK(line_is_clean(s.output[0]) && strstr(s.output[0],
	    "c9: baseline incomplete\\n\\x1b[2J") != NULL,
	    "coverage text escaped: %s", s.output[0]);
	root = json_loads(s.json[0], 0, NULL);
	CHECK(root != NULL, "coverage JSON parses");
	CHECK_STR(json_get(root, "rule", NULL), "upperwatch coverage",
	    "rule upperwatch coverage");
	CHECK_STR(json_get(root, "priority", NULL), "Error",
	    "priority Error");
	CHECK_STR(json_get(root, "output_fields", "container.id"), "c9",
	    "output_fields container.id");
	CHECK(json_is_true(json_object_get(json_object_get(root,
	    "output_fields"), "upperwatch.coverage")),
	    "output_fields upperwatch.coverage: true");
	CHECK_STR(json_get(root, "output", NULL), s.output[0],
	    "output = the line");
	json_decref(root);
	seen_clear(&s);
	alert_coverage(a, "", "the journal is behind");
	CHECK(s.count == 1 && strcmp(s.output[0], "upperwatch coverage "
	    "lost: the journal is behind") == 0,
	    "no container: the text alone");
out:
	alert_free(a);		/* the burst's summary comes here */
	seen_clear(&s);
}

/* Package fields of an event's alert, and a transaction's one alert,
 * never held back by a full burst window. */
static void
test_packages(void)
{
	struct seen s = { 0 };
	struct alerter *a = new_alerter(&s, 60);
	struct uw_package pkg = { "dpkg", "uwtool", "2.0<x>", 0 };
	struct fake f;
	json_t *root;
	char path[64];
	int i;

	fake_init(&f, "c7", "c7", "/usr/bin/uwtool", UW_SEV_HIGH,
	    "executable differs");
	f.ev.package = &pkg;
	f.ev.package_check = UW_PKG_MISMATCH;
	f.ev.incident = 41;
	f.ev.sha256 = "239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5";
	alert_event_at(a, &f.ev, 0);
	CHECK_INT(s.count, 1, "a package event's alert");
	root = s.count ? json_loads(s.json[0], 0, NULL) : NULL;
	CHECK_STR(json_get(root, "output_fields", "upperwatch.package"),
	    "uwtool", "upperwatch.package");
	CHECK_STR(json_get(root, "output_fields",
	    "upperwatch.package_version"), "2.0<x>",
	    "upperwatch.package_version, as the database says");
	CHECK_STR(json_get(root, "output_fields", "upperwatch.package_check"),
	    "mismatch", "upperwatch.package_check");
	CHECK_STR(json_get(root, "output_fields", "upperwatch.sha256"),
	    f.ev.sha256, "upperwatch.sha256");
	CHECK(json_integer_value(json_object_get(json_object_get(root,
	    "output_fields"), "upperwatch.incident")) == 41,
	    "upperwatch.incident");
	json_decref(root);
	seen_clear(&s);
	/* --alert-format ocsf: the body is an OCSF Detection Finding */
	{
		struct alert_opts o;
		struct uw_error e2;
		struct alerter *oa;

		memset(&o, 0, sizeof(o));
		o.ocsf = 1;
		o.sink = record;
		o.sink_arg = &s;
		oa = alert_new(&o, &e2);
		f.ev.path = (const unsigned char *)"/usr/bin/other";
		f.ev.path_len = 14;
		alert_event_at(oa, &f.ev, 0);
		root = s.count ? json_loads(s.json[0], 0, NULL) : NULL;
		CHECK(json_integer_value(json_object_get(root, "class_uid")) ==
		    2004, "an OCSF alert body is a Detection Finding");
		CHECK_STR(json_string_value(json_object_get(json_object_get(
		    json_array_get(json_object_get(root, "evidences"), 0),
		    "file"), "path")), "/usr/bin/other",
		    "with the file as evidence");
		json_decref(root);
		alert_free(oa);
		seen_clear(&s);
	}
	for (i = 0; i < 70; i++) {
		snprintf(path, sizeof(path), "/tmp/p%d", i);
		fake_init(&f, "c7", "c7", path, UW_SEV_MEDIUM, "new file");
		alert_event_at(a, &f.ev, 0);
	}
	seen_clear(&s);
	alert_incident(a, "c7", 41, "package transaction (incident 41): "
	    "installed evil\n1.0");
	CHECK_INT(s.count, 1, "an incident alert is not held back");
	if (s.count < 1)
		goto out;
	CHECK_INT(s.priority[0], LOG_NOTICE, "incident: LOG_NOTICE");
	CHECK(line_is_clean(s.output[0]), "incident text escaped: %s",
	    s.output[0]);
	root = json_loads(s.json[0], 0, NULL);
	CHECK_STR(json_get(root, "rule", NULL),
	    "upperwatch package transaction", "rule");
	CHECK(json_integer_value(json_object_get(json_object_get(root,
	    "output_fields"), "upperwatch.incident")) == 41,
	    "the incident's id");
	json_decref(root);
out:
	alert_free(a);
	seen_clear(&s);
}

/* ---- a real HTTP sink on loopback ---- */

struct http_sink {
	int listen_fd;
	int port;
	int requests;		/* answered (under mu) */
	int coverage_bodies;
	pthread_mutex_t mu;
	pthread_t thread;
};

/* Read one request (headers, then Content-Length bytes), answer 204. */
static void *
http_serve(void *arg)
{
	struct http_sink *h = arg;
	char req[65536], *hdr_end, *cl;
	size_t got;
	long body_len;
	ssize_t n;
	int fd;

	for (;;) {
		fd = accept(h->listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL;	/* closed: done */
		got = 0;
		body_len = -1;
		for (;;) {
			n = read(fd, req + got, sizeof(req) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
			hdr_end = strstr(req, "\r\n\r\n");
			if (hdr_end == NULL)
				continue;
			cl = strcasestr(req, "Content-Length:");
			body_len = cl != NULL ? strtol(cl + 15, NULL, 10) : 0;
			if ((long)(got - (size_t)(hdr_end + 4 - req)) >=
			    body_len)
				break;
		}
		if (body_len >= 0) {
			static const char ok[] = "HTTP/1.1 204 No Content\r\n"
			    "Content-Length: 0\r\nConnection: close\r\n\r\n";

			pthread_mutex_lock(&h->mu);
			h->requests++;
			if (strstr(req, "\"upperwatch coverage\"") != NULL)
				h->coverage_bodies++;
			pthread_mutex_unlock(&h->mu);
			if (write(fd, ok, sizeof(ok) - 1) < 0)
				perror("write");
		}
		close(fd);
	}
}

static int
http_start(struct http_sink *h)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	h->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (h->listen_fd < 0 ||
	    bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(h->listen_fd, 16) < 0 ||
	    getsockname(h->listen_fd, (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	h->port = ntohs(sa.sin_port);
	if (pthread_create(&h->thread, NULL, http_serve, h) != 0)
		return -EAGAIN;
	return 0;
}

static void
http_stop(struct http_sink *h)
{
	shutdown(h->listen_fd, SHUT_RDWR);
	close(h->listen_fd);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->mu);
}

static void
test_http_counts(void)
{
	struct http_sink h;
	struct alert_opts o;
	struct uw_error err;
	struct alerter *a;
	struct fake f;
	uint64_t sent = 0, dropped = 0, suppressed = 0, queued = 0;
	char url[64];
	int64_t deadline;

	if (http_start(&h) < 0) {
		CHECK(0, "loopback HTTP sink: %s", strerror(errno));
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", h.port);
	memset(&o, 0, sizeof(o));
	o.url = url;
	a = alert_new(&o, &err);
	CHECK(a != NULL, "an alerter with an HTTP sink");
	if (a == NULL)
		goto out;
	fake_init(&f, "c1", "c1", "/etc/shadow", UW_SEV_CRITICAL, "r");
	alert_event(a, &f.ev);
	alert_coverage(a, "c1", "watch cap reached");
	deadline = now_mono_ns() + 10 * SEC;
	do {
		alert_stats(a, &sent, &dropped, &suppressed, &queued);
		if (sent == 2)
			break;
		usleep(20000);
	} while (now_mono_ns() < deadline);
	CHECK_INT(sent, 2, "HTTP: the alert and the coverage alert sent");
	CHECK_INT(dropped, 0, "none dropped");
	pthread_mutex_lock(&h.mu);
	CHECK_INT(h.coverage_bodies, 1, "the sink got the coverage body");
	pthread_mutex_unlock(&h.mu);
	alert_stop(a);
	/* After stop, HTTP is over: counted as dropped, not lost unsaid. */
	alert_coverage(a, "c1", "late");
	alert_stats(a, &sent, &dropped, &suppressed, &queued);
	CHECK(sent == 2 && dropped == 1, "after alert_stop: a coverage alert "
	    "counts as dropped (sent %llu, dropped %llu)",
	    (unsigned long long)sent, (unsigned long long)dropped);
	alert_free(a);
out:
	http_stop(&h);
}

/* ---- evidence ---- */

static char tdir[64];

static void
path_of(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", tdir, rel);
}

static int
file_is(const char *path, const char *want)
{
	char got[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	if (n < 0)
		return 0;
	got[n] = '\0';
	return strcmp(got, want) == 0;
}

static int
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static int
is_empty_dir(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", path);
	return system(cmd) == 0;
}

/* Does child `pid` exit within `ms`?  (Reaps it if so.) */
static int
exits_within(pid_t pid, int ms)
{
	struct timespec step = { 0, 10000000 };
	int i, status;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return 1;
		nanosleep(&step, NULL);
	}
	return 0;
}

static int
evidence(int upper_fd, const char *path, const char *dir, uint64_t id,
    char *where, size_t where_len, struct uw_error *err)
{
	return evidence_keep(upper_fd, (const unsigned char *)path,
	    strlen(path), dir, id, "{\"id\":1}", where, where_len, err);
}

static void
test_evidence(void)
{
	char up[128], ev[128], p[256], want[256], where[4096];
	struct uw_error err;
	int upper_fd = -1, fd, rc;
	pid_t writer;

	snprintf(tdir, sizeof(tdir), "/tmp/uwt-alert.XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	path_of(up, sizeof(up), "upper");
	path_of(ev, sizeof(ev), "ev");
	mkdir(up, 0755);
	path_of(p, sizeof(p), "upper/f");
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "payload", 7) != 7)
		CHECK(0, "writing %s", p);
	if (fd >= 0)
		close(fd);
	path_of(p, sizeof(p), "upper/p");
	mkfifo(p, 0644);
	path_of(p, sizeof(p), "upper/l");
	if (symlink("f", p) < 0)
		CHECK(0, "symlink %s", p);
	path_of(p, sizeof(p), "upper/d");
	mkdir(p, 0755);
	path_of(p, sizeof(p), "upper/d/up");
	if (symlink("/etc", p) < 0)
		CHECK(0, "symlink %s", p);
	upper_fd = open(up, O_PATH | O_DIRECTORY | O_CLOEXEC);

	/* A regular file: copied into a new dir, 0700, 0600. */
	rc = evidence(upper_fd, "/f", ev, 7, where, sizeof(where), &err);
	snprintf(want, sizeof(want), "%s/7/file", ev);
	CHECK(rc == 0 && strcmp(where, want) == 0 && file_is(want, "payload"),
	    "a regular file is copied to <dir>/<id>/file (rc %d: %s)", rc,
	    rc == 0 ? where : err.msg);
	CHECK(mode_of(ev) == 0700 && mode_of(want) == 0600,
	    "evidence dir made 0700, the copy 0600");
	/* its SHA-256 beside it, what threat intel is searched by */
	snprintf(p, sizeof(p), "%s/7/metadata.json", ev);
	{
		json_t *meta = json_load_file(p, 0, NULL);

		CHECK_STR(json_string_value(json_object_get(meta, "sha256")),
		    "239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5",
		    "metadata.json has the copy's SHA-256");
		json_decref(meta);
	}
	/* The same id again (a database reset): never overwritten. */
	path_of(p, sizeof(p), "upper/f");
	fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || write(fd, "second", 6) != 6)
		CHECK(0, "rewriting %s", p);
	if (fd >= 0)
		close(fd);
	rc = evidence(upper_fd, "/f", ev, 7, where, sizeof(where), &err);
	snprintf(p, sizeof(p), "%s/7-1/file", ev);
	CHECK(rc == 0 && strcmp(where, p) == 0 && file_is(p, "second") &&
	    file_is(want, "payload"), "the same id again: <id>-1, the old "
	    "copy intact");

	/* A FIFO: never opened, so a writer blocked on it stays blocked. */
	path_of(p, sizeof(p), "upper/p");
	writer = fork();
	if (writer == 0) {
		fd = open(p, O_WRONLY);
		_exit(fd >= 0 ? 0 : 1);
	}
	rc = evidence(upper_fd, "/p", ev, 8, where, sizeof(where), &err);
	CHECK(rc < 0 && where[0] == '\0' && strstr(err.msg,
	    "evidence missing: /p is no longer a regular file") != NULL,
	    "a FIFO: refused, no evidence path (%s)", err.msg);
	CHECK(!exits_within(writer, 300),
	    "the FIFO was not opened: its writer is still blocked");
	fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	CHECK(exits_within(writer, 2000),
	    "control: opening the FIFO releases the writer");
	if (fd >= 0)
		close(fd);
	kill(writer, SIGKILL);
	waitpid(writer, NULL, WNOHANG);

	/* Symlinks and escapes in the container's path. */
	rc = evidence(upper_fd, "/l", ev, 9, where, sizeof(where), &err);
	CHECK(rc < 0 && where[0] == '\0', "a symlink is not followed (%s)",
	    err.msg);
	rc = evidence(upper_fd, "/d/up/passwd", ev, 10, where, sizeof(where),
	    &err);
	CHECK(rc < 0 && where[0] == '\0',
	    "a symlinked dir in the path is not followed (%s)", err.msg);
	rc = evidence(upper_fd, "/../upper/f", ev, 11, where, sizeof(where),
	    &err);
	CHECK(rc < 0 && where[0] == '\0', "no way out of the upper dir (%s)",
	    err.msg);
	rc = evidence(upper_fd, "/x\n\x1b[2J", ev, 12, where, sizeof(where),
	    &err);
	CHECK(rc < 0 && strchr(err.msg, '\n') == NULL &&
	    strchr(err.msg, 0x1b) == NULL, "the path is escaped in the "
	    "message (%s)", err.msg);

	/* The evidence dir itself. */
	path_of(p, sizeof(p), "open");
	mkdir(p, 0700);
	chmod(p, 0777);
	rc = evidence(upper_fd, "/f", p, 13, where, sizeof(where), &err);
	CHECK(rc < 0 && where[0] == '\0' && strstr(err.msg, "writable by "
	    "group or others (mode 0777): refused") != NULL &&
	    is_empty_dir(p), "an evidence dir mode 0777: refused, nothing "
	    "written (%s)", err.msg);
	path_of(p, sizeof(p), "open/ev");
	rc = evidence(upper_fd, "/f", p, 14, where, sizeof(where), &err);
	CHECK(rc < 0 && strstr(err.msg, "a parent of the evidence dir") !=
	    NULL, "its parent 0777: refused (%s)", err.msg);
	path_of(p, sizeof(p), "linked");
	if (symlink(ev, p) < 0)
		CHECK(0, "symlink %s", p);
	rc = evidence(upper_fd, "/f", p, 15, where, sizeof(where), &err);
	CHECK(rc < 0 && strstr(err.msg, "symlink") != NULL,
	    "an evidence dir that is a symlink: refused (%s)", err.msg);
	if (geteuid() == 0) {
		path_of(p, sizeof(p), "sticky");
		mkdir(p, 0700);
		chmod(p, 01777);
		path_of(p, sizeof(p), "sticky/ev");
		rc = evidence(upper_fd, "/f", p, 16, where, sizeof(where),
		    &err);
		CHECK(rc == 0, "control: below a root-owned sticky dir (as "
		    "/tmp): accepted (%s)", rc == 0 ? where : err.msg);
		path_of(p, sizeof(p), "nobody");
		mkdir(p, 0700);
		if (chown(p, 65534, 65534) < 0)
			CHECK(0, "chown %s", p);
		rc = evidence(upper_fd, "/f", p, 17, where, sizeof(where),
		    &err);
		CHECK(rc < 0 && strstr(err.msg, "is owned by uid 65534") !=
		    NULL && is_empty_dir(p), "an evidence dir owned by "
		    "another user: refused (%s)", err.msg);
	}

	/* Symlinks planted where a name could land are not followed. */
	path_of(p, sizeof(p), "trap");
	mkdir(p, 0700);
	snprintf(want, sizeof(want), "%s/20", ev);
	if (symlink(p, want) < 0)
		CHECK(0, "symlink %s", want);
	rc = evidence(upper_fd, "/f", ev, 20, where, sizeof(where), &err);
	snprintf(want, sizeof(want), "%s/20-1/file", ev);
	CHECK(rc == 0 && strcmp(where, want) == 0 && is_empty_dir(p),
	    "a symlink at <id>: not followed, the copy in <id>-1 (%s)",
	    rc == 0 ? where : err.msg);
	rc = evidence(upper_fd, "/f", ev, 21, where, 8, &err);
	CHECK(rc < 0 && where[0] == '\0', "no room for the path: an error, "
	    "no half path (%s)", err.msg);

	if (upper_fd >= 0)
		close(upper_fd);
	snprintf(p, sizeof(p), "rm -rf '%s'", tdir);
	if (system(p) != 0)
		CHECK(0, "removing %s", tdir);
}

int
main(void)
{
	test_escape();
	test_output_sanitized();
	test_burst();
	test_coverage();
	test_packages();
	test_http_counts();
	test_evidence();
	return check_done();
}
