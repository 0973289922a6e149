/*
 * cli_policy.c - `upperwatch policy`: the tools for people who write
 * policies (check, test, replay).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "util.h"

#define MAX_PATHS 256

static void
log_line(const char *policy, const char *line, void *arg)
{
	FILE *out = arg;

	fprintf(out, "# log %s: %s\n", policy, line);
}

static struct uw_policy_set *
load(const char *const *paths, size_t n, FILE *logto)
{
	struct uw_policy_set *set;
	struct uw_error err;

	set = uw_policy_load(paths, n, NULL, log_line, logto, &err);
	if (set == NULL)
		cli_error("%s", err.msg);
	return set;
}

static int
run_check(int argc, char **argv)
{
	struct uw_policy_set *set;
	int failures;

	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0)) {
		cli_usage(&cli_cmd_policy, stdout);
		return CLI_OK;
	}
	if (argc < 1) {
		cli_error("policy check: give the policy files or dirs (see "
		    "'upperwatch policy --help')");
		return CLI_ERROR;
	}
	set = load((const char *const *)argv, (size_t)argc, stderr);
	if (set == NULL)
		return CLI_ERROR;
	failures = uw_policy_check(set, stderr);
	printf("%zu policies loaded, set %s; synthetic events: %d failure%s\n",
	    uw_policy_count(set), uw_policy_digest(set), failures,
	    failures == 1 ? "" : "s");
	uw_policy_free(set);
	return failures > 0 ? CLI_FOUND : CLI_OK;
}

static int
run_test(int argc, char **argv)
{
	const char *cases[MAX_PATHS], *paths[MAX_PATHS];
	struct uw_policy_set *set;
	struct uw_error err;
	size_t ncases = 0, npaths = 0;
	int i, total = 0, failed = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			cli_usage(&cli_cmd_policy, stdout);
			return CLI_OK;
		}
		if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc) {
			if (ncases == MAX_PATHS)
				break;
			cases[ncases++] = argv[++i];
		} else if (strncmp(argv[i], "--cases=", 8) == 0) {
			if (ncases == MAX_PATHS)
				break;
			cases[ncases++] = argv[i] + 8;
		} else if (argv[i][0] == '-') {
			cli_error("policy test: unknown option %s", argv[i]);
			return CLI_ERROR;
		} else if (npaths < MAX_PATHS) {
			paths[npaths++] = argv[i];
		}
	}
	if (npaths == 0 || ncases == 0) {
		cli_error("policy test: give policy files or dirs and --cases "
		    "DIR (see 'upperwatch policy --help')");
		return CLI_ERROR;
	}
	set = load(paths, npaths, stdout);
	if (set == NULL)
		return CLI_ERROR;
	printf("# policy set %s (%zu policies)\n", uw_policy_digest(set),
	    uw_policy_count(set));
	if (uw_policy_test(set, cases, ncases, stdout, &total, &failed,
	    &err) < 0) {
		uw_policy_free(set);
		fflush(stdout);
		cli_error("%s", err.msg);
		return CLI_ERROR;
	}
	printf("1..%d\n", total);
	if (failed > 0)
		printf("# %d of %d cases failed\n", failed, total);
	uw_policy_free(set);
	return failed > 0 || total == 0 ? CLI_FOUND : CLI_OK;
}

struct replay_out {
	int json;
	int all;
	size_t judged, changed;
};

static int
print_replay(const struct uw_journal_entry *e, int old_sev, int old_act,
    const struct uw_verdict *now, void *arg)
{
	struct replay_out *o = arg;
	int same = old_sev == (int)now->severity &&
	    old_act == (int)now->action;

	o->judged++;
	if (!same)
		o->changed++;
	if (same && !o->all)
		return 0;
	printf("%s %6llu %-12.12s ", same ? "=" : "≠",
	    (unsigned long long)e->id, e->container);
	escape_bytes(stdout, e->path, e->path_len);
	printf(" %s/%s → %s/%s", old_sev < 0 ? "-" :
	    uw_severity_name((enum uw_severity)old_sev), old_act < 0 ? "-" :
	    uw_action_name((enum uw_action)old_act),
	    uw_severity_name(now->severity), uw_action_name(now->action));
	if (now->reason_count > 0)
		printf(" (%s: %s)", now->reasons[0].policy,
		    now->reasons[0].reason);
	fputc('\n', stdout);
	return 0;
}

static int
run_replay(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "container", required_argument, NULL, 'c' },
		{ "max-action", required_argument, NULL, 'm' },
		{ "all", no_argument, NULL, 'a' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *paths[MAX_PATHS], *container = NULL;
	struct replay_out out = { 0, 0, 0, 0 };
	struct uw_policy_set *set;
	struct uw_error err;
	struct uw_db *db;
	size_t npaths = 0;
	int c, rc, max = UW_ACT_KILL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hp:c:a", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'p':
			if (npaths < MAX_PATHS)
				paths[npaths++] = optarg;
			break;
		case 'c':
			container = optarg;
			break;
		case 'm':
			max = uw_action_from_name(optarg);
			if (max < 0) {
				cli_error("policy replay: --max-action takes "
				    "log, alert, deny, pause or kill");
				return CLI_ERROR;
			}
			break;
		case 'a':
			out.all = 1;
			break;
		case CLI_OPT_DB:
			ctx->db_path = optarg;
			break;
		case 'h':
			cli_usage(&cli_cmd_policy, stdout);
			return CLI_OK;
		default:
			cli_error("policy replay: bad option (see 'upperwatch "
			    "policy --help')");
			return CLI_ERROR;
		}
	}
	if (npaths == 0) {
		cli_error("policy replay: give the candidate set with "
		    "--policy PATH");
		return CLI_ERROR;
	}
	set = load(paths, npaths, stderr);
	if (set == NULL)
		return CLI_ERROR;
	db = cli_open_db(ctx, UW_DB_READONLY);
	if (db == NULL) {
		uw_policy_free(set);
		return CLI_ERROR;
	}
	rc = uw_policy_replay(db, set, container, 0, (enum uw_action)max,
	    print_replay, &out, &err);
	uw_db_close(db);
	uw_policy_free(set);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return CLI_ERROR;
	}
	printf("%zu events judged again, %zu verdicts would change\n",
	    out.judged, out.changed);
	return out.changed > 0 ? CLI_FOUND : CLI_OK;
}

static int
run_policy(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		cli_usage(&cli_cmd_policy, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_ERROR : CLI_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return run_check(argc - 2, argv + 2);
	if (strcmp(argv[1], "test") == 0)
		return run_test(argc - 2, argv + 2);
	if (strcmp(argv[1], "replay") == 0)
		return run_replay(ctx, argc - 1, argv + 1);
	cli_error("policy: unknown subcommand '%s' (check, test, replay)",
	    argv[1]);
	return CLI_ERROR;
}

const struct cli_cmd cli_cmd_policy = {
	.name = "policy",
	.args = "(check PATH... | test PATH... --cases DIR | replay --policy "
	    "PATH...)",
	.summary = "check, test and replay Lua policies",
	.help =
	    "\n"
	    "Tools for people who write policies (see upperwatch-policy(5) "
	    "for the\nformat).  PATH is a policy file or a directory of "
	    "*.lua files.\n"
	    "\n"
	    "  check PATH...    load the set exactly as the daemon would, "
	    "then judge a\n"
	    "                   synthetic event of every op with every policy; "
	    "exit 1 on\n"
	    "                   any failure, 2 if the set does not load (for "
	    "a policy\n"
	    "                   repository's CI)\n"
	    "  test PATH... --cases DIR\n"
	    "                   run the case files in DIR (each returns a "
	    "list of\n"
	    "                   {name, event, expect}) through the production "
	    "loader and\n"
	    "                   sandbox; TAP output, with the instructions and "
	    "memory each\n"
	    "                   case used; exit 1 if a case failed\n"
	    "  replay --policy PATH... [--container ID] [--max-action A] "
	    "[--all]\n"
	    "                   judge the journaled events again with a "
	    "candidate set\n"
	    "                   and print where verdicts would change (--all: "
	    "every event)\n"
	    "\n"
	    "Examples:\n"
	    "  upperwatch policy check policies/\n"
	    "  upperwatch policy test policies/default --cases "
	    "tests/policy/default\n"
	    "  upperwatch policy replay --policy ./candidate/\n",
	.run = run_policy,
};
