/*
 * cli_transfer.c - a baseline carried from CI to the nodes:
 * `upperwatch export` writes one to a file, `upperwatch import` reads it
 * back (the file's own checksum and every row checked first).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

/* ---- export, import ---- */

/* The one option both take besides the common ones, and one argument. */
static int
transfer_parse(struct cli_ctx *ctx, const struct cli_cmd *cmd, int argc,
    char **argv, const char **image, const char **file)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'i' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c, opt_status;

	while ((c = getopt_long(argc, argv, "hi:", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		if (c != 'i')
			return cli_usage_error(cmd, "bad option");
		*image = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage_error(cmd, "one FILE is needed");
	*file = argv[optind];
	return -1;
}

static int
run_export(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = &cli_cmd_export;
	const char *image = NULL, *file = NULL;
	char tmp[PATH_MAX];
	struct uw_error err;
	struct uw_db *db;
	FILE *out = stdout;
	int rc, fd;

	rc = transfer_parse(ctx, cmd, argc, argv, &image, &file);
	if (rc >= 0)
		return rc;
	if (image == NULL)
		return cli_usage_error(cmd, "--image REF is required");
	db = cli_open_db(ctx, UW_DB_READONLY);
	if (db == NULL)
		return CLI_ERROR;
	if (strcmp(file, "-") != 0) {
		/* whole or not at all: a temporary file renamed at the end */
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", file) >=
		    sizeof(tmp)) {
			uw_db_close(db);
			return cli_usage_error(cmd, "FILE name too long");
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		out = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (out == NULL) {
			cli_error("%s: %s", tmp, strerror(errno));
			if (fd >= 0)
				close(fd);
			uw_db_close(db);
			return CLI_ERROR;
		}
	}
	rc = uw_baseline_export(db, image, out, &err);
	uw_db_close(db);
	if (out != stdout) {
		if (fsync(fileno(out)) != 0 && rc == 0)
			rc = seterr(&err, -errno, "%s: %s", tmp,
			    strerror(errno));
		if (fclose(out) != 0 && rc == 0)
			rc = seterr(&err, -EIO, "%s: %s", tmp, strerror(errno));
		if (rc == 0 && rename(tmp, file) != 0)
			rc = seterr(&err, -errno, "%s: %s", file,
			    strerror(errno));
		if (rc < 0)
			unlink(tmp);
	}
	if (rc < 0) {
		cli_error("%s", err.msg);
		return rc == -ENOENT ? CLI_FOUND : CLI_ERROR;
	}
	return CLI_OK;
}

const struct cli_cmd cli_cmd_export = {
	.name = "export",
	.args = "--image REF FILE",
	.summary = "write an image's baseline to one file, for other nodes",
	.help =
	    "\n"
	    "Writes the baseline of REF (any of its names) to FILE ('-': "
	    "standard output),\nwhole or not at all: JSON Lines, a header "
	    "(the image, its other names, its\nlayers, the hash secret), one "
	    "line per row, and the sha256 of all of it last,\nwhich 'import' "
	    "checks.  The rows' hashes are keyed with the secret of the\n"
	    "database that built them, and the secret travels in the file: "
	    "whoever holds\nit can forge content that hashes alike, so keep "
	    "it as you keep the database\n(the file is created 0600).  The "
	    "CI side of the workflow:\n"
	    "\n"
	    "  upperwatch --db ci.db baseline --oci myapp.tar --image "
	    "registry.example/myapp:1.4\n"
	    "  upperwatch --db ci.db export --image registry.example/myapp:1.4 "
	    "myapp.baseline\n"
	    "\n"
	    "Options:\n"
	    "  --image REF   the image (required)\n"
	    "  --db PATH     the database\n"
	    "\n"
	    "Exit status: 0 written, 1 the image has no baseline, 2 error.\n",
	.run = run_export,
};

static int
run_import(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = &cli_cmd_import;
	const char *expect = NULL, *file = NULL;
	struct uw_import_result res;
	struct uw_error err;
	struct uw_db *db;
	int rc;

	rc = transfer_parse(ctx, cmd, argc, argv, &expect, &file);
	if (rc >= 0)
		return rc;
	db = cli_open_db(ctx, 0);
	if (db == NULL)
		return CLI_ERROR;
	rc = uw_baseline_import(db, file, expect, &res, &err);
	uw_db_close(db);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return CLI_ERROR;
	}
	printf("imported the baseline of %s: %llu entries, %zu other "
	    "names\n", res.image, (unsigned long long)res.entries,
	    res.aliases);
	return CLI_OK;
}

const struct cli_cmd cli_cmd_import = {
	.name = "import",
	.args = "[--image DIGEST] FILE",
	.summary = "add a baseline written by export",
	.help =
	    "\n"
	    "Adds the baseline in FILE (written by 'upperwatch export') to "
	    "the database,\nreplacing the image's in one transaction, with "
	    "its other names and its hash\nsecret (drift of that image's "
	    "containers is hashed with it).  Nothing is kept\nunless the "
	    "file's content matches the sha256 at its end, and, with --image,"
	    "\nunless it is the baseline of that image.  The node side of the "
	    "workflow:\n"
	    "\n"
	    "  upperwatch import --image sha256:1b2c... myapp.baseline\n"
	    "\n"
	    "Options:\n"
	    "  --image REF   the image the file must be the baseline of (the "
	    "config digest\n"
	    "                CI built, or a name it recorded under)\n"
	    "  --db PATH     the database\n"
	    "\n"
	    "Exit status: 0 imported, 2 error (nothing imported).\n",
	.run = run_import,
};
