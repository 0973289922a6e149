/*
 * cli.h - what the command files share: the command table entry, error
 * printing, opening the database named on the command line.
 */
#ifndef UW_CLI_H
#define UW_CLI_H

#include <signal.h>
#include <stdio.h>

#include "upperwatch.h"

/* Exit codes of every command. */
#define CLI_OK 0
#define CLI_FOUND 1		/* diff: drift found; show: a path missing */
#define CLI_ERROR 2
#define CLI_INTERRUPTED 130

struct cli_ctx {
	const char *db_path;
};

struct cli_cmd {
	const char *name;
	const char *args;	/* synopsis after the name */
	const char *summary;	/* one line for the command list */
	const char *help;	/* the full --help text after the synopsis */
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
};

extern const struct cli_cmd cli_cmd_baseline;
extern const struct cli_cmd cli_cmd_images;
extern const struct cli_cmd cli_cmd_show;
extern const struct cli_cmd cli_cmd_forget;
extern const struct cli_cmd cli_cmd_export;
extern const struct cli_cmd cli_cmd_import;
extern const struct cli_cmd cli_cmd_verify;
extern const struct cli_cmd cli_cmd_diff;
extern const struct cli_cmd cli_cmd_containers;
extern const struct cli_cmd cli_cmd_watch;
extern const struct cli_cmd cli_cmd_events;
extern const struct cli_cmd cli_cmd_policy;
extern const struct cli_cmd cli_cmd_resume;
extern const struct cli_cmd cli_cmd_status;
extern const struct cli_cmd cli_cmd_report;

/* Set by SIGINT/SIGTERM, and by SIGHUP (main.c). */
extern volatile sig_atomic_t cli_interrupted;
extern volatile sig_atomic_t cli_reload;

/* "upperwatch: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* getopt_long value of --db in every command's option table. */
#define CLI_OPT_DB 0x100

/* The entries every command's option table has (see cli_common_option). */
#define CLI_COMMON_LONGOPTS \
	{ "db", required_argument, NULL, CLI_OPT_DB }, \
	{ "help", no_argument, NULL, 'h' }

/*
 * The options every command takes: --db PATH, -h/--help, and getopt's
 * errors.  Returns 0 when `c` is none of them; else 1 with *status -1
 * (go on parsing) or the exit status the command should return now.
 */
int cli_common_option(int c, const struct cli_cmd *cmd, struct cli_ctx *ctx,
    int *status);

/* Print the command's usage and help to `out`. */
void cli_usage(const struct cli_cmd *cmd, FILE *out);

/* A usage error: one line naming the problem and pointing at --help.
 * Returns CLI_ERROR. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Open the database (ctx->db_path); prints the error and returns NULL on
 * failure. */
struct uw_db *cli_open_db(struct cli_ctx *ctx, unsigned flags);

/* --since: "30s", "10m", "2h", "7d" ago, an ISO date or time (UTC), or
 * ns since the epoch, into *ns; -1 when it is none of those. */
int cli_parse_since(const char *s, int64_t *ns);

/* Parse a container path argument: must start with '/'; a trailing '/'
 * (but for "/" itself) is dropped. */
int cli_container_path(const char *arg, const unsigned char **path,
    size_t *len);

/*
 * --overlay-options OPTS: the overlay mount options that shape what an
 * upper dir or layer means, as mount(8) takes them ("userxattr",
 * "metacopy=on", "redirect_dir=nofollow", "index=on"...; others are
 * ignored), into UW_OVERLAY_* flags.  Redirects are followed unless
 * redirect_dir=nofollow; metacopy only with metacopy=on.  -1 on a bad
 * value (with the reason printed for `cmd`).
 */
int cli_overlay_options(const struct cli_cmd *cmd, const char *opts,
    unsigned *flags);

/* The options shared by diff and baseline. */
#define CLI_OVERLAY_HELP \
	"  --userxattr      the overlay is mounted with userxattr "		\
	"(rootless):\n"							\
	"                   its opaque dirs and whiteouts are "		\
	"user.overlay.* xattrs;\n"						\
	"                   by default they are trusted.overlay.*, and a "	\
	"user.overlay.*\n"							\
	"                   xattr is data a container set (reported as a "	\
	"change)\n"								\
	"  --overlay-options OPTS  how the overlay is mounted (as for "	\
	"mount -o:\n"							\
	"                   userxattr, metacopy=on, redirect_dir=...); by "	\
	"default\n"								\
	"                   the options of the overlay mounted with this "	\
	"upper dir,\n"							\
	"                   or, when none is, trusted xattrs with the "	\
	"metacopy and\n"							\
	"                   redirect xattrs the kernel wrote followed\n"

/* The container `want` names (uw_container_find): its full id, else a
 * unique name, else a unique id prefix (4+ characters).  Prints why and
 * returns NULL when there is none; free with uw_container_free. */
struct uw_container *cli_find_container(const char *want);

/* upperwatch(8) in roff, and the bash completion, from the command
 * table (cli_doc.c). */
void cli_print_man(FILE *out, const struct cli_cmd *const *cmds, size_t n);
void cli_print_completion(FILE *out, const struct cli_cmd *const *cmds,
    size_t n);

#endif /* UW_CLI_H */
