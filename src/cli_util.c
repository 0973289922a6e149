/*
 * cli_util.c - helpers every command file uses.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "util.h"

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

int
cli_overlay_options(const struct cli_cmd *cmd, const char *opts,
    unsigned *flags)
{
	char *copy, *opt, *next, *value;
	int rc = 0;

	*flags = UW_OVERLAY_REDIRECT_DIR;
	copy = strdup(opts);
	if (copy == NULL) {
		cli_error("out of memory");
		return -1;
	}
	for (opt = copy; opt != NULL && rc == 0; opt = next) {
		next = strchr(opt, ',');
		if (next != NULL)
			*next++ = '\0';
		value = strchr(opt, '=');
		if (value != NULL)
			*value++ = '\0';
		if (strcmp(opt, "userxattr") == 0 && value == NULL) {
			*flags |= UW_OVERLAY_USERXATTR;
		} else if (strcmp(opt, "metacopy") == 0 && value != NULL &&
		    (strcmp(value, "on") == 0 || strcmp(value, "off") == 0)) {
			if (strcmp(value, "on") == 0)
				*flags |= UW_OVERLAY_METACOPY;
			else
				*flags &= ~(unsigned)UW_OVERLAY_METACOPY;
		} else if (strcmp(opt, "redirect_dir") == 0 && value != NULL &&
		    (strcmp(value, "on") == 0 || strcmp(value, "follow") == 0 ||
		    strcmp(value, "off") == 0 ||
		    strcmp(value, "nofollow") == 0)) {
			if (strcmp(value, "nofollow") == 0)
				*flags &= ~(unsigned)UW_OVERLAY_REDIRECT_DIR;
			else
				*flags |= UW_OVERLAY_REDIRECT_DIR;
		} else if (strcmp(opt, "metacopy") == 0 ||
		    strcmp(opt, "redirect_dir") == 0 ||
		    strcmp(opt, "userxattr") == 0) {
			rc = cli_usage_error(cmd, "--overlay-options: bad "
			    "value for %s", opt);
		}
	}
	free(copy);
	if (*flags & UW_OVERLAY_USERXATTR)
		*flags &= ~(unsigned)(UW_OVERLAY_METACOPY |
		    UW_OVERLAY_REDIRECT_DIR);
	return rc != 0 ? -1 : 0;
}

/* "30s", "10m", "2h", "7d" ago; an ISO date; or ns since the epoch. */
int
cli_parse_since(const char *s, int64_t *ns)
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
