/*
 * cli_watch.c - `upperwatch watch`, the monitor (host daemon or sidecar),
 * and `upperwatch events`, the journal.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "util.h"

#define MAX_EXCLUDES 1024

#define OUT_BUF (64 * 1024)

/*
 * Event lines are gathered and written whole, a batch at a time: when
 * the batch is full, and whenever the watcher is about to wait (so a
 * reader sees an event as soon as the burst it came in is handled, and
 * never half a line).
 *
 * A write that fails (the disk of --output is full, a reader of stdout
 * went away) never stops the watcher: a container filling the disk it
 * shares with /var/log must not blind the monitor.  The batch is dropped
 * (every event is in the journal, or will be when it catches up), what
 * was half-written of it is cut off again, the loss is said once and
 * counted, and writing is tried again with the next batch.
 */
struct watch_out {
	FILE *out;
	const char *name;	/* for messages: the file, or "stdout" */
	int quiet;
	int failing;		/* the last write failed */
	unsigned long long dropped;	/* events not written */
	char buf[OUT_BUF];
	size_t len;
};

static void print_notice(enum uw_notice_level level, const char *msg,
    void *arg);

/* Write `len` bytes whole, or cut off what was written (a regular file)
 * and return -errno. */
static int
write_all(int fd, const char *data, size_t len)
{
	struct stat st;
	off_t before = -1;
	size_t off = 0;
	ssize_t n;
	int e;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		before = st.st_size;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			if (before >= 0 && off > 0)
				(void)ftruncate(fd, before);
			return -e;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Write `len` bytes of whole lines out; a failure is said and counted. */
static void
emit_lines(struct watch_out *o, const char *data, size_t len)
{
	char msg[512];
	size_t i, lines = 0;
	int rc;

	rc = write_all(fileno(o->out), data, len);
	if (rc == 0) {
		if (o->failing) {
			snprintf(msg, sizeof(msg), "writing events to %s "
			    "again; %llu were not written to it (they are in "
			    "the journal)", o->name, o->dropped);
			print_notice(UW_NOTICE_WARNING, msg, o);
			o->failing = 0;
		}
		return;
	}
	for (i = 0; i < len; i++)
		lines += data[i] == '\n';
	o->dropped += lines;
	if (!o->failing) {
		snprintf(msg, sizeof(msg), "cannot write events to %s (%s): "
		    "they are dropped from it, not from the journal, until it "
		    "can be written again", o->name, strerror(-rc));
		print_notice(UW_NOTICE_WARNING, msg, o);
		o->failing = 1;
	}
}

static int
flush_out(void *arg)
{
	struct watch_out *o = arg;
	size_t len = o->len;

	o->len = 0;
	if (len > 0)
		emit_lines(o, o->buf, len);
	return 0;
}

static int
print_event(const struct uw_event *ev, void *arg)
{
	struct watch_out *o = arg;
	char *line = NULL;
	size_t line_len = 0;
	FILE *mem;

	if (ev->json == NULL) {
		/* not journaled, so not formatted yet */
		flush_out(o);
		mem = open_memstream(&line, &line_len);
		if (mem == NULL)
			return -ENOMEM;
		if (uw_event_write_json(mem, ev) < 0 || fclose(mem) != 0) {
			free(line);
			return -ENOMEM;
		}
		emit_lines(o, line, line_len);
		free(line);
		return 0;
	}
	if (o->len + ev->json_len + 1 > sizeof(o->buf))
		flush_out(o);
	if (ev->json_len + 1 > sizeof(o->buf)) {
		/* longer than a batch: on its own */
		line = malloc(ev->json_len + 1);
		if (line == NULL)
			return -ENOMEM;
		memcpy(line, ev->json, ev->json_len);
		line[ev->json_len] = '\n';
		emit_lines(o, line, ev->json_len + 1);
		free(line);
		return 0;
	}
	memcpy(o->buf + o->len, ev->json, ev->json_len);
	o->len += ev->json_len;
	o->buf[o->len++] = '\n';
	return 0;
}

/* A notice on stderr, one line whatever it holds: warnings (and
 * coverage losses) always, the rest unless --quiet. */
static void
print_notice(enum uw_notice_level level, const char *msg, void *arg)
{
	struct watch_out *o = arg;
	char when[32];
	time_t t = time(NULL);
	struct tm tm;

	if (o->quiet && level == UW_NOTICE_INFO)
		return;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
	    gmtime_r(&t, &tm));
	fprintf(stderr, "%s upperwatch: %s", when,
	    level == UW_NOTICE_INFO ? "" : "WARNING: ");
	/* The library escapes the paths it names; a control byte that got
	 * through anyway must not start a forged line. */
	for (; *msg != '\0'; msg++) {
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			fprintf(stderr, "\\x%02x", (unsigned char)*msg);
		else
			fputc(*msg, stderr);
	}
	fputc('\n', stderr);
}

static int
parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* What `watch` was asked to do, as its options said it. */
struct watch_args {
	struct uw_watch_opts opts;
	const char *excludes[MAX_EXCLUDES];
	const char *policies[MAX_EXCLUDES];
	const char *output;
	int no_policy, quiet;
};

/* One option of `watch` into *a. Returns -1 to go on, else the exit status
 * of a usage error. */
static int
watch_option(const struct cli_cmd *cmd, int c, struct watch_args *a)
{
	/* in enum uw_content_events order */
	static const char *const content_events[] = {
		"auto", "inotify", "fanotify", "both"
	};
	struct uw_watch_opts *opts = &a->opts;
	unsigned max_watches;
	int act, i;

	switch (c) {
	case 'c':
		opts->container = optarg;
		break;
	case 'u':
		opts->upper = optarg;
		break;
	case 'i':
		opts->image = optarg;
		break;
	case 'o':
		a->output = optarg;
		break;
	case 'r':
		if (parse_uint(optarg, 86400 * 7, &opts->rescan_seconds) < 0 ||
		    opts->rescan_seconds == 0)
			return cli_usage_error(cmd, "--rescan takes seconds, "
			    "1 to 604800, not '%s'", optarg);
		break;
	case 'Q':
		if (parse_uint(optarg, 60000, &opts->quiet_ms) < 0 ||
		    opts->quiet_ms == 0)
			return cli_usage_error(cmd, "--quiet-ms takes 1 to "
			    "60000, not '%s'", optarg);
		break;
	case 'x':
		if (opts->exclude_count == MAX_EXCLUDES)
			return cli_usage_error(cmd, "at most %d --exclude "
			    "patterns", MAX_EXCLUDES);
		a->excludes[opts->exclude_count++] = optarg;
		break;
	case 'N':
		opts->no_auto_baseline = 1;
		break;
	case 'p':
		if (opts->policy.path_count == MAX_EXCLUDES)
			return cli_usage_error(cmd, "too many --policy");
		a->policies[opts->policy.path_count++] = optarg;
		break;
	case 'P':
		a->no_policy = 1;
		break;
	case 'm':
		act = uw_action_from_name(optarg);
		if (act < 0)
			return cli_usage_error(cmd, "--max-action takes log, "
			    "alert, deny, pause or kill, not '%s'", optarg);
		opts->policy.max_action = (enum uw_action)act;
		break;
	case 'D':
		opts->policy.max_action = UW_ACT_LOG;
		break;
	case 'U':
		if (strncmp(optarg, "http://", 7) != 0 &&
		    strncmp(optarg, "https://", 8) != 0)
			return cli_usage_error(cmd, "--alert-url takes an "
			    "http:// or https:// URL, not '%s'", optarg);
		opts->respond.alert_url = optarg;
		break;
	case 'S':
		opts->respond.alert_syslog = 1;
		break;
	case 'd':
		if (parse_uint(optarg, 86400, &opts->respond.dedupe_seconds)
		    < 0 || opts->respond.dedupe_seconds == 0)
			return cli_usage_error(cmd, "--dedupe takes seconds, "
			    "1 to 86400, not '%s'", optarg);
		break;
	case 'E':
		opts->respond.evidence_dir = optarg;
		break;
	case 'q':
		a->quiet = 1;
		break;
	case 'M':
		if (parse_uint(optarg, 1u << 24, &max_watches) < 0 ||
		    max_watches == 0)
			return cli_usage_error(cmd, "--max-watches-per-container "
			    "takes 1 to 16777216, not '%s'", optarg);
		opts->max_watches_per_container = max_watches;
		break;
	case 'C':
		for (i = 0; i < 4 && strcmp(optarg, content_events[i]); i++)
			continue;
		if (i == 4)
			return cli_usage_error(cmd, "--content-events takes "
			    "auto, inotify, fanotify or both, not '%s'",
			    optarg);
		opts->content_events = (enum uw_content_events)i;
		break;
	case 'V':
		opts->prevent = 1;
		break;
	case 'L':
		opts->verify_lower = 1;
		break;
	case 'T':
		if (parse_uint(optarg, 10000, &opts->prevent_deadline_ms) < 0 ||
		    opts->prevent_deadline_ms == 0)
			return cli_usage_error(cmd, "--prevent-deadline-ms takes "
			    "1 to 10000, not '%s'", optarg);
		break;
	default:
		return cli_usage_error(cmd, "bad option");
	}
	return -1;
}

/* Reads the options into *a and checks they go together. Returns -1 to go
 * on, else the exit status (--help, --version, a usage error). */
static int
watch_parse(struct cli_ctx *ctx, int argc, char **argv, struct watch_args *a)
{
	static const struct option longopts[] = {
		{ "container", required_argument, NULL, 'c' },
		{ "upper", required_argument, NULL, 'u' },
		{ "image", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "rescan", required_argument, NULL, 'r' },
		{ "quiet-ms", required_argument, NULL, 'Q' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "no-baseline", no_argument, NULL, 'N' },
		{ "policy", required_argument, NULL, 'p' },
		{ "no-policy", no_argument, NULL, 'P' },
		{ "max-action", required_argument, NULL, 'm' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "alert-url", required_argument, NULL, 'U' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "dedupe", required_argument, NULL, 'd' },
		{ "evidence-dir", required_argument, NULL, 'E' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "max-watches-per-container", required_argument, NULL, 'M' },
		{ "content-events", required_argument, NULL, 'C' },
		{ "prevent", no_argument, NULL, 'V' },
		{ "prevent-deadline-ms", required_argument, NULL, 'T' },
		{ "verify-lower", no_argument, NULL, 'L' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_watch;
	struct uw_watch_opts *opts = &a->opts;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hc:o:qx:", longopts, NULL))
	    != -1) {
		if (cli_common_option(c, cmd, ctx, &rc)) {
			if (rc >= 0)
				return rc;
			continue;
		}
		rc = watch_option(cmd, c, a);
		if (rc >= 0)
			return rc;
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (opts->container != NULL && opts->upper != NULL)
		return cli_usage_error(cmd, "give --container or --upper, "
		    "not both");
	if ((opts->upper == NULL) != (opts->image == NULL))
		return cli_usage_error(cmd, "--upper and --image go "
		    "together");
	if (a->no_policy && opts->policy.path_count > 0)
		return cli_usage_error(cmd, "give --policy or --no-policy, not "
		    "both");
	if (!a->no_policy && opts->policy.path_count == 0) {
		/* the installed default set, or the source tree's */
		if (access(UW_POLICY_DIR, R_OK) == 0)
			a->policies[opts->policy.path_count++] = UW_POLICY_DIR;
		else if (access(UW_SOURCE_POLICY_DIR, R_OK) == 0)
			a->policies[opts->policy.path_count++] =
			    UW_SOURCE_POLICY_DIR;
		else
			return cli_usage_error(cmd, "no default policies at "
			    "%s; give --policy DIR or --no-policy",
			    UW_POLICY_DIR);
	}
	return -1;
}

static int
run_watch(struct cli_ctx *ctx, int argc, char **argv)
{
	static struct watch_args a;
	static struct watch_out out;
	struct uw_watch_opts *opts = &a.opts;
	struct uw_error err;
	struct uw_db *db;
	int rc;

	memset(&a, 0, sizeof(a));
	opts->policy.max_action = UW_ACT_KILL;
	rc = watch_parse(ctx, argc, argv, &a);
	if (rc >= 0)
		return rc;
	out.out = stdout;
	out.name = "stdout";
	out.quiet = a.quiet;
	out.failing = 0;
	out.dropped = 0;
	out.len = 0;
	opts->policy.paths = a.policies;
	opts->policy.reload = &cli_reload;
	opts->excludes = a.excludes;
	opts->on_event = print_event;
	opts->on_idle = flush_out;
	opts->on_notice = print_notice;
	opts->arg = &out;
	opts->stop = &cli_interrupted;
	if (a.output != NULL) {
		out.name = a.output;
		out.out = fopen(a.output, "ae");
		if (out.out == NULL) {
			cli_error("%s: %s", a.output, strerror(errno));
			return CLI_ERROR;
		}
	}
	db = cli_open_db(ctx, 0);
	if (db == NULL) {
		if (a.output != NULL)
			fclose(out.out);
		return CLI_ERROR;
	}
	/* A reader of stdout that goes away must not end the monitor: the
	 * write fails (EPIPE), is said, and the journal has the events. */
	signal(SIGPIPE, SIG_IGN);
	rc = uw_watch(db, opts, &err);
	uw_db_close(db);
	flush_out(&out);
	if (a.output != NULL)
		fclose(out.out);	/* nothing buffered in it: see emit_lines */
	if (rc < 0) {
		cli_error("%s", err.msg);
		return CLI_ERROR;
	}
	return CLI_OK;
}

const struct cli_cmd cli_cmd_watch = {
	.name = "watch",
	.args = "[--container ID | --upper DIR --image REF] [OPTIONS]",
	.summary = "report drift as it happens (host daemon or sidecar)",
	.help =
	    "\n"
	    "The monitor.  With no --container or --upper it is the host "
	    "daemon: it\nwatches every container on the host, follows the "
	    "mount table as containers\nstart and stop, and builds the "
	    "baseline of an image it has not seen from the\nimage's layers "
	    "(never from the running container).  With --container ID it\n"
	    "watches one container; with --upper DIR --image REF it watches "
	    "an upper dir\nit can only see through a mounted path (a "
	    "sidecar).\n"
	    "\n"
	    "Every upper dir is scanned at start, so drift made while nobody "
	    "watched is\nreported; then inotify triggers a re-read of each "
	    "changed entry (bursts on\none path are coalesced), a queue "
	    "overflow triggers a rescan, and a periodic\nrescan catches what "
	    "inotify cannot see.  A change is reported once: the\njournal "
	    "keeps each path's last reported state.  Each drift event is "
	    "stored in\nthe journal and written as one JSON line (see "
	    "'upperwatch diff --help' for\nthe fields; here with container, "
	    "time, id and the policies' verdict).  Notices go to stderr.\n"
	    "A pause or kill verdict is carried out: the offending file is "
	    "copied as\nevidence first, then the container is paused through "
	    "its runtime (runc,\npodman, the Docker API, ctr) or its cgroup "
	    "freezer, or killed "
	    "through cgroup.kill (or freeze,\nSIGKILL, thaw); each response is "
	    "journaled with its outcome and latency.\n"
	    "SIGHUP reloads the policies between events (a set that fails to "
	    "load is\nreported and the old one kept).  SIGINT or SIGTERM stop "
	    "it with every\naccepted event committed.\n"
	    "\n"
	    "Options:\n"
	    "  --container ID   watch one container (id, name or id prefix)\n"
	    "  --upper DIR      watch this upper dir...\n"
	    "  --image REF      ...against this image's baseline\n"
	    "  -o, --output FILE  append the JSON lines to FILE, not stdout\n"
	    "  --rescan SECONDS full rescans this often (default 300)\n"
	    "  --quiet-ms N     coalesce events on a path until it is quiet "
	    "N ms (20)\n"
	    "  -x, --exclude GLOB  never report matching paths "
	    "(repeatable)\n"
	    "  --no-baseline    do not build missing baselines; such "
	    "containers are\n"
	    "                   not watched\n"
	    "  --policy PATH    judge events with these policies (a file or "
	    "a dir of\n"
	    "                   *.lua; repeatable); default: the shipped "
	    "default set\n"
	    "  --no-policy      report drift without verdicts\n"
	    "  --max-action A   cap every verdict's action: log, alert, "
	    "deny, pause,\n"
	    "                   kill (default kill)\n"
	    "  --dry-run        the same as --max-action log\n"
	    "  --alert-url URL  POST each alert (verdict alert or above) in "
	    "Falco's\n"
	    "                   output format, e.g. to Falcosidekick; a sink "
	    "that is down\n"
	    "                   never blocks detection (bounded queue, "
	    "retries, drops\n"
	    "                   counted and reported)\n"
	    "  --syslog         also send alerts to syslog (daemon facility)\n"
	    "  --dedupe SECONDS the same container, path and verdict alert "
	    "once per\n"
	    "                   window (60); more than 50 alerts from one "
	    "container in\n"
	    "                   a window are summarized\n"
	    "  --evidence-dir DIR  where the offending file is copied before "
	    "a pause or\n"
	    "                   kill (default: evidence/ beside the database)\n"
	    "  --max-watches-per-container N  watch at most N dirs of one "
	    "container (a\n"
	    "                   quarter of fs.inotify.max_user_watches, at "
	    "most 16384);\n"
	    "                   one with more is rescanned every 30 s (or "
	    "--rescan) instead,\n"
	    "                   with a warning, until it has fewer\n"
	    "  --content-events SOURCE  where content writes are seen "
	    "from:\n"
	    "                   auto (default): fanotify for each container "
	    "whose overlay\n"
	    "                   it can mark (root, CAP_SYS_ADMIN, Linux 4.20+), "
	    "naming the\n"
	    "                   writing process; inotify for the others\n"
	    "                   inotify: inotify only; before Linux 6.5 it "
	    "sees no write\n"
	    "                   made through a container's merged view, only "
	    "rescans do\n"
	    "                   fanotify: fanotify only (fails without it)\n"
	    "                   both: both, the writer named where fanotify "
	    "marks\n"
	    "  --prevent        hold each exec of a container's file that is "
	    "drift until\n"
	    "                   the policies judged it (op \"exec\"), and "
	    "refuse it (EPERM)\n"
	    "                   when a verdict's action is deny or above; "
	    "image files run\n"
	    "                   at once, without Lua.  Fails open: on any "
	    "error, past the\n"
	    "                   deadline, and when the daemon stops or dies "
	    "(the kernel\n"
	    "                   then allows every held exec); each is counted "
	    "in status.\n"
	    "                   Needs CAP_SYS_ADMIN, Linux 5.0+, and "
	    "policies\n"
	    "  --prevent-deadline-ms N  allow an exec whose judgement took "
	    "longer (50)\n"
	    "  --verify-lower   when a container starts and at each rescan, "
	    "read its image's\n"
	    "                   layers on this node again against the "
	    "baseline (as\n"
	    "                   'upperwatch verify'): each difference is an "
	    "event with\n"
	    "                   \"layer\": \"lower\" (critical in the "
	    "default policies).  Worth\n"
	    "                   it with a baseline from the image file "
	    "(baseline --oci,\n"
	    "                   import); costs a read of the whole image each "
	    "time\n"
	    "  -q, --quiet      only warnings on stderr (every loss of "
	    "coverage is one)\n"
	    "  --db PATH        the database\n"
	    "\n"
	    "Each event carries \"process\": the writer (pid, comm, exe, "
	    "cmdline capped at\n256 bytes, uid, the container its cgroup "
	    "is in, and exe_drift: whether its\nexe is itself drift), as "
	    "read when the fanotify event was read; a field the\nprocess "
	    "took with it (it exited at once) is null, and \"process\" is "
	    "null when\nno fanotify event named a writer (inotify, "
	    "rescans).\n"
	    "\n"
	    "Example:\n"
	    "  upperwatch watch --exclude '/etc/host*' --output "
	    "/var/log/upperwatch.jsonl\n",
	.run = run_watch,
};

/* ---- events ---- */

/* "30s", "10m", "2h", "7d" ago; an ISO date; or ns since the epoch. */
static int
parse_since(const char *s, int64_t *ns)
{
	struct tm tm;
	char *end;
	long long v;
	int64_t unit;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL)
		end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == '\0') {
		*ns = (int64_t)timegm(&tm) * 1000000000;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	if (*end == '\0') {
		*ns = v;
		return 0;
	}
	switch (*end) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (end[1] != '\0' || v > 36500LL * 86400 / unit)
		return -1;
	*ns = now_real_ns() - (int64_t)v * unit * 1000000000;
	return 0;
}

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
			if (parse_since(optarg, &since) < 0)
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
	.args = "[--container ID] [--since WHEN] [--op OP] [--json]",
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
