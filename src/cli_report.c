/*
 * cli_report.c - `upperwatch report --html FILE`: the journal as one
 * self-contained HTML page for people: a summary table, then per
 * container a timeline of drift with severity colours, the verdicts and
 * their reasons, package and process fields, and the responses with
 * their latency and evidence.
 *
 * The page holds no script and loads nothing (a Content-Security-Policy
 * says so too): every string in it is the container's, so each is
 * escaped twice, first C-style (a newline, a terminal escape or a byte
 * that is not UTF-8 is shown as \n, \x1b, \xff), then for HTML.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "util.h"

#define REPORT_MAX_EVENTS 50000	/* more: the newest are said to be left */
#define NSEV 6			/* none, info, low, medium, high, critical */

static const char *const sev_names[NSEV] = {
	"none", "info", "low", "medium", "high", "critical"
};

struct rev {
	uint64_t id;
	int64_t time_ns;
	char *container;
	json_t *j;		/* the event as journaled */
	int sev;		/* index into sev_names */
};

struct resp {
	struct uw_response r;	/* its strings are copies */
	char *strs[6];
};

struct report {
	struct rev *ev;
	size_t nev, cap;
	size_t left_out;
	struct resp *resp;
	size_t nresp, rcap;
};

static int
sev_index(const char *s)
{
	int i;

	for (i = 1; s != NULL && i < NSEV; i++)
		if (strcmp(s, sev_names[i]) == 0)
			return i;
	return 0;
}

static int
collect_event(const struct uw_journal_entry *e, void *arg)
{
	struct report *r = arg;
	struct rev *v;
	json_t *verdict;

	if (r->nev == REPORT_MAX_EVENTS) {
		r->left_out++;
		return 0;
	}
	if (r->nev == r->cap) {
		size_t n = r->cap ? r->cap * 2 : 256;

		v = realloc(r->ev, n * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		r->ev = v;
		r->cap = n;
	}
	v = &r->ev[r->nev];
	v->id = e->id;
	v->time_ns = e->time_ns;
	v->container = strdup(e->container);
	v->j = json_loads(e->json, 0, NULL);
	if (v->container == NULL) {
		json_decref(v->j);
		return -ENOMEM;
	}
	verdict = json_object_get(v->j, "verdict");
	v->sev = sev_index(json_string_value(json_object_get(verdict,
	    "severity")));
	r->nev++;
	return 0;
}

static int
collect_response(const struct uw_response *x, void *arg)
{
	struct report *r = arg;
	struct resp *p;
	const char *src[6] = { x->container, x->action, x->method, x->outcome,
	    x->detail, x->evidence };
	int i;

	if (r->nresp == r->rcap) {
		size_t n = r->rcap ? r->rcap * 2 : 64;

		p = realloc(r->resp, n * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		r->resp = p;
		r->rcap = n;
	}
	p = &r->resp[r->nresp++];	/* counted now: report_free frees it */
	memset(p->strs, 0, sizeof(p->strs));
	p->r = *x;
	for (i = 0; i < 6; i++)
		if ((p->strs[i] = strdup(src[i])) == NULL)
			return -ENOMEM;
	p->r.container = p->strs[0];
	p->r.action = p->strs[1];
	p->r.method = p->strs[2];
	p->r.outcome = p->strs[3];
	p->r.detail = p->strs[4];
	p->r.evidence = p->strs[5];
	return 0;
}

static void
report_free(struct report *r)
{
	size_t i;
	int k;

	for (i = 0; i < r->nev; i++) {
		free(r->ev[i].container);
		json_decref(r->ev[i].j);
	}
	for (i = 0; i < r->nresp; i++)
		for (k = 0; k < 6; k++)
			free(r->resp[i].strs[k]);
	free(r->ev);
	free(r->resp);
}

static int
cmp_rev(const void *a, const void *b)
{
	const struct rev *x = a, *y = b;
	int c = strcmp(x->container, y->container);

	if (c != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* ---- writing ---- */

/* Text for HTML: bytes escaped C-style (cut at 4 KiB), then &<>"'. */
static void
html(FILE *out, const void *bytes, size_t len)
{
	char buf[4096];
	const char *p;

	escape_cut(buf, sizeof(buf), bytes, len);
	for (p = buf; *p != '\0'; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*p, out); break;
		}
	}
}

static void
htmls(FILE *out, const char *s)
{
	if (s != NULL)
		html(out, s, strlen(s));
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
when(char *buf, size_t len, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	strftime(buf, len, "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
}

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;width:100%;margin:.5em 0}"
    "th,td{border:1px solid #ccc;padding:.25em .45em;text-align:left;"
    "vertical-align:top}th{background:#f2f2f2}"
    "td.path{word-break:break-all;font-family:monospace;min-width:14em}"
    "td.reasons{min-width:16em}td small{color:#666;word-break:break-all}"
    ".n{text-align:right}.meta{color:#555}"
    ".badge{display:inline-block;padding:0 .45em;border-radius:.3em;"
    "color:#fff;font-weight:600}"
    ".sev-none .badge{background:#999}.sev-info .badge{background:#4a7}"
    ".sev-low .badge{background:#38b}.sev-medium .badge{background:#d90}"
    ".sev-high .badge{background:#d50}.sev-critical .badge{background:#b00}"
    "tr.sev-high,tr.sev-critical{background:#fff3ef}"
    ".done{color:#070}.failed{color:#b00}"
    "@media print{body{margin:0;font-size:11px}section{break-inside:auto}"
    "tr{break-inside:avoid}a{color:#000}}";

static void
write_head(FILE *out, const struct report *r, const char *since_text)
{
	char now[32];

	when(now, sizeof(now), now_real_ns());
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src 'none'; style-src 'unsafe-inline'\">"
	    "<title>upperwatch incident report</title><style>", out);
	fputs(style, out);
	fputs("</style></head><body>\n<h1>upperwatch incident report</h1>\n",
	    out);
	fprintf(out, "<p class=\"meta\">Written %s UTC by upperwatch %s: "
	    "<span id=\"total\">%zu</span> events%s", now, UW_VERSION,
	    r->nev, since_text != NULL ? " since " : "");
	htmls(out, since_text);
	if (r->left_out > 0)
		fprintf(out, "; %zu more were left out (at most %d)",
		    r->left_out, REPORT_MAX_EVENTS);
	fputs(".</p>\n", out);
}

/* The summary: one row per container, events per severity. */
static void
write_summary(FILE *out, const struct report *r)
{
	size_t i = 0, j, k, nresp;
	uint64_t count[NSEV];
	int s;

	fputs("<h2>Summary</h2>\n<table class=\"summary\"><thead><tr>"
	    "<th>Container</th><th>Image</th>", out);
	for (s = NSEV - 1; s >= 0; s--)
		fprintf(out, "<th class=\"sev-%s\"><span class=\"badge\">%s"
		    "</span></th>", sev_names[s], sev_names[s]);
	fputs("<th>Responses</th></tr></thead><tbody>\n", out);
	while (i < r->nev) {
		memset(count, 0, sizeof(count));
		for (j = i; j < r->nev && strcmp(r->ev[j].container,
		    r->ev[i].container) == 0; j++)
			count[r->ev[j].sev]++;
		for (k = 0, nresp = 0; k < r->nresp; k++)
			nresp += strcmp(r->resp[k].r.container,
			    r->ev[i].container) == 0;
		fputs("<tr class=\"ctr\" data-container=\"", out);
		htmls(out, r->ev[i].container);
		fputs("\"><td>", out);
		htmls(out, r->ev[i].container);
		fputs("</td><td>", out);
		htmls(out, jstr(json_object_get(r->ev[i].j, "container"),
		    "image"));
		fputs("</td>", out);
		for (s = NSEV - 1; s >= 0; s--)
			fprintf(out, "<td class=\"n\" data-severity=\"%s\">%llu"
			    "</td>", sev_names[s], (unsigned long long)count[s]);
		fprintf(out, "<td class=\"n\">%zu</td></tr>\n", nresp);
		i = j;
	}
	fputs("</tbody></table>\n", out);
}

static void
write_verdict(FILE *out, const json_t *v)
{
	const json_t *reason, *tags, *tag;
	size_t i, k;

	json_array_foreach(json_object_get(v, "reasons"), i, reason) {
		if (i > 0)
			fputs("<br>", out);
		htmls(out, jstr(reason, "policy"));
		fputs(": ", out);
		htmls(out, jstr(reason, "reason"));
		tags = json_object_get(reason, "tags");
		json_array_foreach(tags, k, tag) {
			fputs(k == 0 ? " [" : ", ", out);
			htmls(out, json_string_value(tag));
			if (k + 1 == json_array_size(tags))
				fputc(']', out);
		}
	}
}

static void
write_fields(FILE *out, const json_t *j)
{
	const json_t *p = json_object_get(j, "package");
	const json_t *proc = json_object_get(j, "process");

	fputs("<td>", out);
	if (jstr(j, "package_check") != NULL) {
		if (json_is_object(p) && jstr(p, "name") != NULL) {
			htmls(out, jstr(p, "name"));
			fputc(' ', out);
			htmls(out, jstr(p, "version"));
			fputs(": ", out);
		}
		htmls(out, jstr(j, "package_check"));
	}
	if (json_integer_value(json_object_get(j, "incident")) > 0)
		fprintf(out, " (incident %lld)", (long long)json_integer_value(
		    json_object_get(j, "incident")));
	fputs("</td><td>", out);
	if (json_is_object(proc)) {
		fprintf(out, "%lld ", (long long)json_integer_value(
		    json_object_get(proc, "pid")));
		htmls(out, jstr(proc, "comm"));
		if (jstr(proc, "exe") != NULL) {
			fputs(" (", out);
			htmls(out, jstr(proc, "exe"));
			fputc(')', out);
		}
	}
	fputs("</td>", out);
}

static void
write_responses(FILE *out, const struct report *r, const struct rev *v)
{
	const struct uw_response *x;
	size_t k;
	int n = 0;

	fputs("<td>", out);
	for (k = 0; k < r->nresp; k++) {
		x = &r->resp[k].r;
		if (x->event_id != v->id)
			continue;
		if (n++ > 0)
			fputs("<br>", out);
		fprintf(out, "<span class=\"%s\">", strcmp(x->outcome, "done") ==
		    0 ? "done" : "failed");
		htmls(out, x->action);
		fputc(' ', out);
		htmls(out, x->outcome);
		fputs("</span>", out);
		if (x->method[0] != '\0') {
			fputs(" by ", out);
			htmls(out, x->method);
		}
		fprintf(out, " in %.1f ms", (double)x->latency_ns / 1e6);
		if (x->detail[0] != '\0') {
			fputs(": ", out);
			htmls(out, x->detail);
		}
		if (x->evidence[0] != '\0') {
			fputs(" <a class=\"evidence\" href=\"file://", out);
			htmls(out, x->evidence);
			fputs("\">evidence</a>", out);
		}
	}
	fputs("</td>", out);
}

static void
write_event(FILE *out, const struct report *r, const struct rev *v)
{
	const json_t *j = v->j;
	const char *path = jstr(j, "path");
	char t[32];

	when(t, sizeof(t), v->time_ns);
	fprintf(out, "<tr class=\"ev sev-%s\" data-id=\"%llu\" "
	    "data-severity=\"%s\"><td>%s</td><td><span class=\"badge\">%s"
	    "</span></td><td>", sev_names[v->sev], (unsigned long long)v->id,
	    sev_names[v->sev], t, sev_names[v->sev]);
	htmls(out, jstr(j, "op"));
	fputs("</td><td class=\"path\">", out);
	if (jstr(j, "path_hex") != NULL) {
		/* the exact bytes, shown escaped */
		const char *h = jstr(j, "path_hex");
		size_t n = strlen(h) / 2;
		unsigned char *raw = malloc(n + 1);

		if (raw != NULL && hex_decode(h, 2 * n, raw, n) >= 0)
			html(out, raw, n);
		else
			htmls(out, path);
		free(raw);
	} else
		htmls(out, path);
	if (jstr(j, "sha256") != NULL) {
		fputs("<br><small>sha256 ", out);
		htmls(out, jstr(j, "sha256"));
		fputs("</small>", out);
	}
	fputs("</td><td class=\"reasons\">", out);
	write_verdict(out, json_object_get(j, "verdict"));
	fputs("</td>", out);
	write_fields(out, j);
	write_responses(out, r, v);
	fputs("</tr>\n", out);
}

static void
write_containers(FILE *out, const struct report *r)
{
	size_t i = 0, j;
	const json_t *c;

	while (i < r->nev) {
		c = json_object_get(r->ev[i].j, "container");
		fputs("<section class=\"container\" data-container=\"", out);
		htmls(out, r->ev[i].container);
		fputs("\"><h2>Container ", out);
		htmls(out, jstr(c, "name") != NULL && jstr(c, "name")[0] ?
		    jstr(c, "name") : r->ev[i].container);
		fputs(" <small>(", out);
		htmls(out, r->ev[i].container);
		fputs(")</small></h2>\n<p class=\"meta\">image ", out);
		htmls(out, jstr(c, "image") != NULL && jstr(c, "image")[0] ?
		    jstr(c, "image") : "(unnamed)");
		fputs(", runtime ", out);
		htmls(out, jstr(c, "runtime"));
		fputs("</p>\n<table class=\"timeline\"><thead><tr><th>Time (UTC)"
		    "</th><th>Severity</th><th>Op</th><th>Path</th><th>Verdict"
		    "</th><th>Package</th><th>Process</th><th>Response</th>"
		    "</tr></thead><tbody>\n", out);
		for (j = i; j < r->nev && strcmp(r->ev[j].container,
		    r->ev[i].container) == 0; j++)
			write_event(out, r, &r->ev[j]);
		fputs("</tbody></table></section>\n", out);
		i = j;
	}
}

/* Write the page to path through a temporary file beside it, renamed
 * over it once whole: a reader never sees half a report. */
static int
write_report(const char *path, const struct report *r, const char *since)
{
	char tmp[4096];
	FILE *out;
	int bad;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path,
	    (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	out = fopen(tmp, "wx");
	if (out == NULL)
		return -errno;
	write_head(out, r, since);
	if (r->nev == 0)
		fputs("<p>No drift in the journal.</p>\n", out);
	write_summary(out, r);
	write_containers(out, r);
	fputs("</body></html>\n", out);
	bad = ferror(out);
	if (fclose(out) != 0)
		bad = 1;
	if (bad || rename(tmp, path) != 0) {
		int e = errno ? errno : EIO;

		unlink(tmp);
		return -e;
	}
	return 0;
}

static int
run_report(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "html", required_argument, NULL, 'H' },
		{ "since", required_argument, NULL, 's' },
		{ "container", required_argument, NULL, 'c' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_report;
	const char *html_path = NULL, *container = NULL, *since_text = NULL;
	struct report r;
	struct uw_error err;
	struct uw_db *db;
	int64_t since = 0;
	int c, rc, opt_status;

	while ((c = getopt_long(argc, argv, "hc:s:", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		switch (c) {
		case 'H':
			html_path = optarg;
			break;
		case 'c':
			container = optarg;
			break;
		case 's':
			if (cli_parse_since(optarg, &since) < 0)
				return cli_usage_error(cmd, "--since takes 30s, "
				    "10m, 2h, 7d, a date or ns, not '%s'",
				    optarg);
			since_text = optarg;
			break;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (html_path == NULL || html_path[0] == '\0')
		return cli_usage_error(cmd, "--html FILE is needed");
	db = cli_open_db(ctx, UW_DB_READONLY);
	if (db == NULL)
		return CLI_ERROR;
	memset(&r, 0, sizeof(r));
	rc = uw_journal_foreach(db, container, since, NULL, collect_event, &r,
	    &err);
	if (rc == 0)
		rc = uw_responses_foreach(db, container, since,
		    collect_response, &r, &err);
	uw_db_close(db);
	if (rc == -ENOMEM)
		cli_error("out of memory");
	else if (rc < 0)
		cli_error("%s", err.msg);
	if (rc == 0) {
		if (r.nev > 0)
			qsort(r.ev, r.nev, sizeof(*r.ev), cmp_rev);
		rc = write_report(html_path, &r, since_text);
		if (rc < 0)
			cli_error("%s: %s", html_path, strerror(-rc));
		else
			printf("report: %zu events of %s to %s\n", r.nev,
			    container != NULL ? container : "every container",
			    html_path);
	}
	report_free(&r);
	return rc < 0 ? CLI_ERROR : CLI_OK;
}

const struct cli_cmd cli_cmd_report = {
	.name = "report",
	.args = "--html FILE [--since WHEN] [--container ID]",
	.summary = "an incident report for people, as one HTML file",
	.help =
	    "\n"
	    "Writes the journal as one self-contained HTML page: a summary "
	    "table of the\nevents of each container by severity and its "
	    "responses, then per container a\ntimeline of its drift with "
	    "severity colours, the verdicts and their reasons,\nthe "
	    "package and process fields, and the pauses and kills with "
	    "their latency\nand a link to their evidence.  The page has no "
	    "script and loads nothing; it\nopens in any browser and "
	    "prints cleanly.  Every name in it is shown escaped\n(a "
	    "newline as \\n, a byte that is not UTF-8 as \\xff).  At most "
	    "50,000 events\n(the oldest); the page says how many more there "
	    "were.  The file is written\nbeside itself and renamed into "
	    "place.\n"
	    "\n"
	    "Options:\n"
	    "  --html FILE      where to write the page\n"
	    "  --since WHEN     only events since then: 30s, 10m, 2h, 7d, "
	    "2026-01-31, or\n"
	    "                   2026-01-31T08:00:00Z\n"
	    "  --container ID   only this container (id, or id prefix)\n"
	    "  --db PATH        the database\n"
	    "\n"
	    "Exit status: 0 written, 2 error.\n"
	    "\n"
	    "Example:\n"
	    "  upperwatch report --html /tmp/incident.html --since 24h\n",
	.run = run_report,
};
