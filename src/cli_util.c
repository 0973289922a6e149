/*
 * cli_util.c - helpers every command file uses.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("upperwatch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
cli_usage(const struct cli_cmd *cmd, FILE *out)
{
	fprintf(out, "usage: upperwatch [--db PATH] %s %s\n\n%s\n%s",
	    cmd->name, cmd->args, cmd->summary, cmd->help);
}

int
cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "upperwatch %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'upperwatch %s --help')\n", cmd->name);
	return CLI_ERROR;
}

struct uw_db *
cli_open_db(struct cli_ctx *ctx, unsigned flags)
{
	struct uw_error err;
	struct uw_db *db;

	/* Our own state dir may be created; a path the user chose, not. */
	if (strcmp(ctx->db_path, UW_DEFAULT_DB) == 0 &&
	    !(flags & UW_DB_READONLY))
		flags |= UW_DB_CREATE_DIR;
	db = uw_db_open(ctx->db_path, flags, &err);
	if (db == NULL)
		cli_error("%s", err.msg);
	return db;
}

int
cli_container_path(const char *arg, const unsigned char **path,
    size_t *len)
{
	size_t n = strlen(arg);

	if (arg[0] != '/')
		return -1;
	while (n > 1 && arg[n - 1] == '/')
		n--;
	*path = (const unsigned char *)arg;
	*len = n;
	return 0;
}

int
cli_common_option(int c, const struct cli_cmd *cmd, struct cli_ctx *ctx,
    int *status)
{
	switch (c) {
	case CLI_OPT_DB:
		ctx->db_path = optarg;
		*status = -1;
		return 1;
	case 'h':
		cli_usage(cmd, stdout);
		*status = CLI_OK;
		return 1;
	case '?':
	case ':':
		/* getopt has said what was wrong */
		*status = cli_usage_error(cmd, "bad option");
		return 1;
	}
	return 0;
}
