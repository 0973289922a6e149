/*
 * main.c - the upperwatch command: global options, signals, and dispatch
 * to one command file per subcommand.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "config.h"

volatile sig_atomic_t cli_interrupted;
volatile sig_atomic_t cli_reload;

static const struct cli_cmd *const commands[] = {
	&cli_cmd_watch,
	&cli_cmd_events,
	&cli_cmd_policy,
	&cli_cmd_resume,
	&cli_cmd_status,
	&cli_cmd_report,
	&cli_cmd_containers,
	&cli_cmd_baseline,
	&cli_cmd_images,
	&cli_cmd_show,
	&cli_cmd_diff,
	&cli_cmd_verify,
	&cli_cmd_forget,
	&cli_cmd_export,
	&cli_cmd_import,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		cli_reload = 1;
	else
		cli_interrupted = 1;
}

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out,
	    "usage: upperwatch [--db PATH] COMMAND [OPTIONS]\n"
	    "\n"
	    "Container file-integrity monitor: records what an image's files "
	    "should be,\nand reports what a container changed.\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name,
		    commands[i]->summary);
	fprintf(out,
	    "\n"
	    "Global options:\n"
	    "  --db PATH    the database (default: $UPPERWATCH_DB, else\n"
	    "               %s)\n"
	    "  -h, --help   this text; 'upperwatch COMMAND --help' for one "
	    "command\n"
	    "  --version    print the version\n"
	    "\n"
	    "Exit status: 0 success, 1 not found (or drift), 2 error, "
	    "130 interrupted.\n", UW_DEFAULT_DB);
}

/* Deep trees keep a directory fd per level and layer open. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	struct cli_ctx ctx;
	struct sigaction sa;
	const char *env;
	int i;
	size_t c;

	memset(&ctx, 0, sizeof(ctx));
	env = getenv("UPPERWATCH_DB");
	ctx.db_path = env != NULL && env[0] != '\0' ? env : UW_DEFAULT_DB;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CLI_OK;
		} else if (strcmp(argv[i], "--man") == 0) {
			cli_print_man(stdout, commands, NCOMMANDS);
			return CLI_OK;
		} else if (strcmp(argv[i], "--completion") == 0 &&
		    i + 1 < argc && strcmp(argv[i + 1], "bash") == 0) {
			cli_print_completion(stdout, commands, NCOMMANDS);
			return CLI_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("upperwatch %s\n", UW_VERSION);
			return CLI_OK;
		} else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			ctx.db_path = argv[++i];
		} else if (strncmp(argv[i], "--db=", 5) == 0) {
			ctx.db_path = argv[i] + 5;
		} else {
			cli_error("unknown option %s (see 'upperwatch "
			    "--help')", argv[i]);
			return CLI_ERROR;
		}
	}
	if (i == argc) {
		usage(stderr);
		return CLI_ERROR;
	}
	for (c = 0; c < NCOMMANDS; c++)
		if (strcmp(argv[i], commands[c]->name) == 0)
			break;
	if (c == NCOMMANDS) {
		if (strcmp(argv[i], "help") == 0) {
			usage(stdout);
			return CLI_OK;
		}
		cli_error("unknown command '%s' (see 'upperwatch --help')",
		    argv[i]);
		return CLI_ERROR;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	raise_fd_limit();

	optind = 1;
	return commands[c]->run(&ctx, argc - i, argv + i);
}
