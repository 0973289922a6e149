/*
 * cli_watch.c - `upperwatch watch`, the monitor (host daemon or sidecar).
 * What it leaves behind is read by cli_journal.c.
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
 * counted.  Writing is tried again OUT_RETRY_NS later, like the journal,
 * not with the next batch: on a full disk a short batch can still fit
 * in the file's last block while a longer one cannot, and trying each
 * batch would only make the file flap between written and not.
 */
#define OUT_RETRY_NS (5 * 1000000000LL)

struct watch_out {
	FILE *out;
	int ocsf;		/* --format ocsf: OCSF lines, not ours */
	const char *name;	/* for messages: the file, or "stdout" */
	int quiet;
	int failing;		/* the last write failed */
	int64_t retry_ns;	/* when failing: tried again from then on */
	unsigned long long dropped;	/* events not written, this time */
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
	int rc = 0, tried = 0;

	if (!o->failing || now_mono_ns() >= o->retry_ns) {
		rc = write_all(fileno(o->out), data, len);
		tried = 1;
	}
	if (tried && rc == 0) {
		if (o->failing) {
			snprintf(msg, sizeof(msg), "writing events to %s "
			    "again; %llu were not written to it (they are in "
			    "the journal)", o->name, o->dropped);
			print_notice(UW_NOTICE_WARNING, msg, o);
			o->failing = 0;
			o->dropped = 0;
		}
		return;
	}
	for (i = 0; i < len; i++)
		lines += data[i] == '\n';
	o->dropped += lines;
	if (tried)
		o->retry_ns = now_mono_ns() + OUT_RETRY_NS;
	if (!o->failing) {
		snprintf(msg, sizeof(msg), "cannot write events to %s (%s): "
		    "they are dropped from it, not from the journal, until it "
		    "can be written again (tried every 5 s)", o->name,
		    strerror(-rc));
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

	if (ev->json == NULL || o->ocsf) {
		/* not journaled, so not formatted yet; or OCSF */
		flush_out(o);
		mem = open_memstream(&line, &line_len);
		if (mem == NULL)
			return -ENOMEM;
		if ((o->ocsf ? uw_event_write_ocsf(mem, ev) :
		    uw_event_write_json(mem, ev)) < 0 || fclose(mem) != 0) {
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
 * coverage losses) always, the rest unless --quiet.  The line is built
 * whole and written at once: stderr is unbuffered, and a line written a
 * byte at a time can be cut by another writer's. */
static void
print_notice(enum uw_notice_level level, const char *msg, void *arg)
{
	struct watch_out *o = arg;
	char line[4096 + 64];
	time_t t = time(NULL);
	struct tm tm;
	size_t n, cap = sizeof(line) - 6;	/* room for an escape and newline */

	if (o->quiet && level == UW_NOTICE_INFO)
		return;
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ",
	    gmtime_r(&t, &tm));
	n += (size_t)snprintf(line + n, sizeof(line) - n, " upperwatch: %s",
	    level == UW_NOTICE_INFO ? "" : "WARNING: ");
	/* The library escapes the paths it names; a control byte that got
	 * through anyway must not start a forged line. */
	for (; *msg != '\0' && n < cap; msg++) {
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    "\\x%02x", (unsigned char)*msg);
		else
			line[n++] = *msg;
	}
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
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
	int no_policy, quiet, ocsf;
};

/* The options of `watch` that take a number, from 1 to a limit. */
static const struct {
	int c;
	const char *name, *unit;
	unsigned max;
} watch_numbers[] = {
	{ 'r', "--rescan", "seconds, ", 86400 * 7 },
	{ 'Q', "--quiet-ms", "", 60000 },
	{ 'd', "--dedupe", "seconds, ", 86400 },
	{ 'M', "--max-watches-per-container", "", 1u << 24 },
	{ 'T', "--prevent-deadline-ms", "", 10000 },
	{ 'J', "--journal-max-events", "", 1000000000 },
};

/* One of watch_numbers into *opts. Returns -1 to go on, else the exit
 * status of a usage error. */
static int
watch_number(const struct cli_cmd *cmd, int c, struct uw_watch_opts *opts)
{
	size_t i;
	unsigned v;

	for (i = 0; i < sizeof(watch_numbers) / sizeof(*watch_numbers); i++)
		if (watch_numbers[i].c == c)
			break;
	if (i == sizeof(watch_numbers) / sizeof(*watch_numbers))
		return cli_usage_error(cmd, "bad option");
	if (parse_uint(optarg, watch_numbers[i].max, &v) < 0 || v == 0)
		return cli_usage_error(cmd, "%s takes %s1 to %u, not '%s'",
		    watch_numbers[i].name, watch_numbers[i].unit,
		    watch_numbers[i].max, optarg);
	switch (c) {
	case 'r':
		opts->rescan_seconds = v;
		break;
	case 'Q':
		opts->quiet_ms = v;
		break;
	case 'd':
		opts->respond.dedupe_seconds = v;
		break;
	case 'M':
		opts->max_watches_per_container = v;
		break;
	case 'J':
		opts->journal_max_events = v;
		break;
	default:
		opts->prevent_deadline_ms = v;
		break;
	}
	return -1;
}

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
	case 'F':
		if (strcmp(optarg, "falco") != 0 && strcmp(optarg, "ocsf") != 0)
			return cli_usage_error(cmd, "--alert-format takes falco "
			    "or ocsf, not '%s'", optarg);
		opts->respond.alert_ocsf = strcmp(optarg, "ocsf") == 0;
		break;
	case 'f':
		if (strcmp(optarg, "json") != 0 && strcmp(optarg, "ocsf") != 0)
			return cli_usage_error(cmd, "--format takes json or "
			    "ocsf, not '%s'", optarg);
		a->ocsf = strcmp(optarg, "ocsf") == 0;
		break;
	case 'E':
		opts->respond.evidence_dir = optarg;
		break;
	case 'q':
		a->quiet = 1;
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
	default:
		return watch_number(cmd, c, opts);
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
		{ "alert-format", required_argument, NULL, 'F' },
		{ "format", required_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "dedupe", required_argument, NULL, 'd' },
		{ "evidence-dir", required_argument, NULL, 'E' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "max-watches-per-container", required_argument, NULL, 'M' },
		{ "content-events", required_argument, NULL, 'C' },
		{ "prevent", no_argument, NULL, 'V' },
		{ "prevent-deadline-ms", required_argument, NULL, 'T' },
		{ "verify-lower", no_argument, NULL, 'L' },
		{ "journal-max-events", required_argument, NULL, 'J' },
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
	out.ocsf = a.ocsf;
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
	    "its runtime (podman,\nthe Docker API, ctr) or its cgroup freezer "
	    "(runc's own pause is that\nfreeze), or killed through cgroup.kill "
	    "(or freeze, SIGKILL, thaw); each\nresponse is "
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
	    "  --format F       json (the events as journaled, default) or "
	    "ocsf (OCSF\n"
	    "                   1.3.0: a File System Activity per event, and "
	    "a Detection\n"
	    "                   Finding after it when the verdict is alert or "
	    "above)\n"
	    "  --rescan SECONDS full rescans this often (default 300)\n"
	    "  --quiet-ms N     coalesce events on a path until it is quiet "
	    "N ms (20); a path\n"
	    "                   whose events came at once is looked at after "
	    "N/5 ms, unless\n"
	    "                   it was reported in the last second or over "
	    "256 paths of its\n"
	    "                   container are waiting\n"
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
	    "  --alert-format F the HTTP body: falco (default) or ocsf (an "
	    "OCSF Detection\n"
	    "                   Finding with the File System Activity as its "
	    "evidence)\n"
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
	    "  --journal-max-events N  keep at most N events in the journal "
	    "(1000000,\n"
	    "                   about 1 GB): past it the oldest of the lowest "
	    "severity\n"
	    "                   are deleted (unjudged, info, low... critical "
	    "last), with\n"
	    "                   a warning and journal_pruned_events in status\n"
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
