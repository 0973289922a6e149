/*
 * cli_journal.c - what the daemon leaves behind, read back:
 * `upperwatch events` (the journal), `upperwatch resume` (thaw a
 * container the daemon paused) and `upperwatch status` (status.json).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util.h"

/* ---- events ---- */

/* " by COMM[PID]" when the event's JSON names its writer. */
static void
print_writer(const char *json)
{
	json_t *root, *p, *comm;
	const char *name;

	if (strstr(json, "\"process\":{") == NULL)
		return;		/* null or absent: no parse */
	root = json_loads(json, 0, NULL);
	p = json_object_get(root, "process");
	if (json_is_object(p)) {
		comm = json_object_get(p, "comm");
		name = json_is_string(comm) ? json_string_value(comm) : "?";
		fputs(" by ", stdout);
		escape_bytes(stdout, (const unsigned char *)name,
		    strlen(name));
		printf("[%lld]", (long long)json_integer_value(
		    json_object_get(p, "pid")));
	}
	json_decref(root);
}

static int
print_journal(const struct uw_journal_entry *e, void *arg)
{
	int json = *(int *)arg;
	char when[32];
	time_t t = (time_t)(e->time_ns / 1000000000);
	struct tm tm;

	if (json == 2) {
		/* an entry that holds no event (a journal of an older
		 * upperwatch): left out, OCSF being all or nothing */
		if (uw_journal_write_ocsf(stdout, e) == -EIO)
			return -EIO;
		return 0;
	}
	if (json) {
		fputs(e->json, stdout);
		fputc('\n', stdout);
		return ferror(stdout) ? -EIO : 0;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
	    gmtime_r(&t, &tm));
	printf("%s %6llu %-12.12s %-8s ", when, (unsigned long long)e->id,
	    e->container, e->op);
	escape_bytes(stdout, e->path, e->path_len);
	print_writer(e->json);
	fputc('\n', stdout);
	return ferror(stdout) ? -EIO : 0;
}

static int
run_events(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "container", required_argument, NULL, 'c' },
		{ "since", required_argument, NULL, 's' },
		{ "op", required_argument, NULL, 'O' },
		{ "json", no_argument, NULL, 'J' },
		{ "format", required_argument, NULL, 'f' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_events;
	const char *container = NULL, *op = NULL;
	struct uw_error err;
	struct uw_db *db;
	int64_t since = 0;
	int json = 0, c, rc, opt_status;

	while ((c = getopt_long(argc, argv, "hc:s:", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		switch (c) {
		case 'c':
			container = optarg;
			break;
		case 's':
			if (cli_parse_since(optarg, &since) < 0)
				return cli_usage_error(cmd, "--since takes "
				    "30s, 10m, 2h, 7d, YYYY-MM-DD, "
				    "YYYY-MM-DDTHH:MM:SSZ or ns, not '%s'",
				    optarg);
			break;
		case 'O':
			if (uw_op_from_name(optarg) < 0)
				return cli_usage_error(cmd, "--op takes added, "
				    "modified, metadata, deleted, replaced, "
				    "error or exec, not '%s'", optarg);
			op = optarg;
			break;
		case 'J':
			json = 1;
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				json = 0;
			else if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "ocsf") == 0)
				json = 2;
			else
				return cli_usage_error(cmd, "--format takes "
				    "text, json or ocsf, not '%s'", optarg);
			break;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	db = cli_open_db(ctx, UW_DB_READONLY);
	if (db == NULL)
		return CLI_ERROR;
	rc = uw_journal_foreach(db, container, since, op, print_journal,
	    &json, &err);
	uw_db_close(db);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return CLI_ERROR;
	}
	return CLI_OK;
}

const struct cli_cmd cli_cmd_events = {
	.name = "events",
	.args = "[--container ID] [--since WHEN] [--op OP] [--json | --format F]",
	.summary = "query the journal of drift events",
	.help =
	    "\n"
	    "Prints the drift events the watcher journaled, oldest first: "
	    "time (UTC), id,\ncontainer, op and path.\n"
	    "\n"
	    "Options:\n"
	    "  --container ID  only this container (an id or id prefix)\n"
	    "  --since WHEN    only events since WHEN: 30s, 10m, 2h, 7d ago, "
	    "a date\n"
	    "                  (2026-11-28 or 2026-11-28T10:00:00Z), or ns "
	    "since the epoch\n"
	    "  --op OP         only added, modified, metadata, deleted, "
	    "replaced, error\n"
	    "                  or exec\n"
	    "  --format F      text (default), json, or ocsf: OCSF 1.3.0, a "
	    "File System\n"
	    "                  Activity per event and a Detection Finding "
	    "after it when its\n"
	    "                  journaled verdict is alert or above\n"
	    "  --json          the events as the watcher wrote them, one "
	    "JSON line each\n"
	    "  --db PATH       the database\n"
	    "\n"
	    "Example:\n"
	    "  upperwatch events --since 1h --op added --json\n",
	.run = run_events,
};

/* ---- resume ---- */

static int
run_resume(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_resume;
	struct uw_error err;
	struct uw_db *db;
	int c, rc, opt_status;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		return cli_usage_error(cmd, "bad option");
	}
	if (optind + 1 != argc)
		return cli_usage_error(cmd, "give one container id");
	db = cli_open_db(ctx, 0);
	if (db == NULL)
		return CLI_ERROR;
	rc = uw_container_resume(db, argv[optind], &err);
	uw_db_close(db);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return rc == -ENOENT ? CLI_FOUND : CLI_ERROR;
	}
	printf("resumed %s\n", argv[optind]);
	return CLI_OK;
}

const struct cli_cmd cli_cmd_resume = {
	.name = "resume",
	.args = "ID",
	.summary = "undo a pause upperwatch made",
	.help =
	    "\n"
	    "Resumes a container that upperwatch paused, the way it was "
	    "paused (runc\nresume, podman unpause, or thawing the cgroup "
	    "freezer), and journals it.\nID is a container id, name or id "
	    "prefix.\n"
	    "\n"
	    "Exit status: 0 resumed, 1 upperwatch did not pause it, 2 "
	    "error.\n",
	.run = run_resume,
};

/* ---- status ---- */

/* A string a container may have chosen (a name, an id), escaped, in a
 * column of `width` (0: as long as it is), cut when longer. */
static void
print_str(FILE *out, const char *s, int width)
{
	char buf[256];
	size_t n;

	n = escape_to_buf(buf, width > 0 && (size_t)width < sizeof(buf) ?
	    (size_t)width + 1 : sizeof(buf), (const unsigned char *)s,
	    strlen(s), NULL);
	fputs(buf, out);
	for (; width > 0 && n < (size_t)width; n++)
		fputc(' ', out);
}

/* A wall-clock time in ns as UTC ISO 8601, or "-" for 0. */
static const char *
utc(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL)
		return "-";
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static void
print_status(FILE *out, const struct uw_status *st)
{
	const struct uw_status_container *c;
	char when[64];
	size_t i;

	fprintf(out, "daemon:          %s (status of %s)\n", st->running ?
	    "running" : "not running", utc(st->updated_ns, when,
	    sizeof(when)));
	if (st->running)
		fprintf(out, "pid:             %lld\n", (long long)st->pid);
	fprintf(out, "containers:      %zu watched\n", st->container_count);
	fprintf(out, "watches:         %llu of %lld (fs.inotify."
	    "max_user_watches)\n", (unsigned long long)st->watches,
	    (long long)st->watch_limit);
	fprintf(out, "events:          %llu, %.1f/s lately\n",
	    (unsigned long long)st->events_total, st->events_per_second);
	fprintf(out, "alerts:          %llu sent, %llu dropped, %llu held "
	    "back, %llu queued\n", (unsigned long long)st->alerts_sent,
	    (unsigned long long)st->alerts_dropped,
	    (unsigned long long)st->alerts_suppressed,
	    (unsigned long long)st->alerts_queued);
	fprintf(out, "responses:       %llu done, %llu failed\n",
	    (unsigned long long)st->responses_done,
	    (unsigned long long)st->responses_failed);
	fprintf(out, "policy set:      %s\n", st->policy_set[0] ?
	    st->policy_set : "-");
	fprintf(out, "last rescan:     %s\n", utc(st->last_rescan_ns, when,
	    sizeof(when)));
	fprintf(out, "journal:         %s\n", st->journal_ok ? "ok" :
	    "cannot write (see below)");
	fprintf(out, "coverage:        %s\n", st->degraded_count > 0 ?
	    "DEGRADED" : "full");
	for (i = 0; i < st->degraded_count; i++) {
		fputs("  - ", out);
		print_str(out, st->degraded[i], 0);
		fputc('\n', out);
	}
	for (i = 0; i < st->container_count; i++) {
		c = &st->containers[i];
		fputs("  ", out);
		print_str(out, c->id, 12);
		fputc(' ', out);
		print_str(out, c->name, 20);
		fprintf(out, " %-8s %6llu watches%s%s%s\n", c->runtime,
		    (unsigned long long)c->watches, c->rescan_only ?
		    " (over a watch limit: rescans)" : "", c->degraded ?
		    " (degraded)" : "", c->paused ? " (paused)" : "");
	}
}

static int
run_status(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_status;
	struct uw_status *st;
	struct uw_error err;
	int c, rc, json = 0, opt_status;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		if (c == 'J')
			json = 1;
		else
			return cli_usage_error(cmd, "bad option");
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	st = uw_status_read(ctx->db_path, &err);
	if (st == NULL) {
		cli_error("%s", err.msg);
		return CLI_ERROR;
	}
	if (json)
		printf("%s\n", st->json);
	else
		print_status(stdout, st);
	rc = st->running ? CLI_OK : CLI_FOUND;
	uw_status_free(st);
	return rc;
}

const struct cli_cmd cli_cmd_status = {
	.name = "status",
	.args = "[--json]",
	.summary = "what the running daemon is doing",
	.help =
	    "\n"
	    "Reads the status the daemon writes beside its database every 5 s "
	    "(status.json):\nwhether it runs, the containers watched and their "
	    "inotify watches, the watch\ncount and limit, events and their "
	    "rate, alerts sent, dropped and held back,\npauses and kills, the "
	    "policy set's digest and the last rescan.  The same\nfigures are "
	    "in upperwatch.prom beside it, in the Prometheus text format, for\n"
	    "node_exporter's textfile collector (a file rather than a port: "
	    "the daemon\nneeds no network).\n"
	    "\n"
	    "Options:\n"
	    "  --json      the status as JSON, with \"running\"\n"
	    "  --db PATH   the daemon's database\n"
	    "\n"
	    "Exit status: 0 the daemon runs, 1 it does not, 2 no status.\n",
	.run = run_status,
};
