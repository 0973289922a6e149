/*
 * cli_diff.c - `upperwatch diff`: a container's upper dir read against its
 * image's baseline, printed like `docker diff` or as JSON Lines.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jsonw.h"
#include "util.h"

#define MAX_EXCLUDES 1024

struct diff_out {
	int json;		/* 1 JSON Lines, 2 OCSF */
	struct uw_container container;	/* only the image is known */
	const char *excludes[MAX_EXCLUDES];
};

static char
op_letter(enum uw_op op)
{
	switch (op) {
	case UW_OP_ADDED:
		return 'A';
	case UW_OP_MODIFIED:
		return 'C';
	case UW_OP_METADATA:
		return 'M';
	case UW_OP_DELETED:
		return 'D';
	case UW_OP_REPLACED:
		return 'R';
	case UW_OP_ERROR:
		return 'E';
	case UW_OP_EXEC:	/* the watcher's alone */
		return 'X';
	}
	return '?';
}

static void
short_hash(char *out, const struct uw_record *rec)
{
	char hex[2 * UW_HASH_LEN + 1];

	if (!(rec->flags & UW_REC_HASHED)) {
		strcpy(out, "?");
		return;
	}
	hex_encode(hex, rec->hash, UW_HASH_LEN);
	memcpy(out, hex, 12);
	out[12] = '\0';
}

/* What changed, for humans: "mode 0644→0755 size 3→9". */
static void
print_changes(const struct uw_event *ev)
{
	const struct uw_record *c = ev->current, *b = ev->baseline;
	char h1[16], h2[16];

	if (ev->error != NULL) {
		fputs(": ", stdout);
		escape_bytes(stdout, (const unsigned char *)ev->error,
		    strlen(ev->error));
		return;
	}
	if (c == NULL || b == NULL)
		return;
	if (ev->changes & UW_CHG_TYPE)
		printf(" type %s→%s", uw_file_type_name(b->type),
		    uw_file_type_name(c->type));
	if (ev->changes & UW_CHG_OPAQUE)
		printf(" opaque");
	if (ev->changes & UW_CHG_MODE)
		printf(" mode %04o→%04o", b->mode, c->mode);
	if (ev->changes & UW_CHG_UID)
		printf(" uid %u→%u", b->uid, c->uid);
	if (ev->changes & UW_CHG_GID)
		printf(" gid %u→%u", b->gid, c->gid);
	if (ev->changes & UW_CHG_CAPS)
		printf(" caps %s→%s", b->caps ? "set" : "none",
		    c->caps ? "set" : "none");
	if (ev->changes & UW_CHG_SIZE)
		printf(" size %llu→%llu", (unsigned long long)b->size,
		    (unsigned long long)c->size);
	if (ev->changes & UW_CHG_HASH) {
		short_hash(h1, b);
		short_hash(h2, c);
		printf(" hash %s→%s", h1, h2);
	}
	if (ev->changes & UW_CHG_XATTR)
		printf(" xattr user.overlay.*");
	if (ev->changes & UW_CHG_LINK) {
		fputs(" link ", stdout);
		if (b->link != NULL)
			escape_bytes(stdout, b->link, b->link_len);
		fputs("→", stdout);
		escape_bytes(stdout, c->link, c->link_len);
	}
}

/* What the package database says: " [dpkg hello 2.10-3: match]". */
static void
print_package(const struct uw_event *ev)
{
	const struct uw_package *p = ev->package;

	if (ev->package_check == UW_PKG_NONE)
		return;
	fputs(" [", stdout);
	if (p != NULL && p->database)
		printf("%s database: ", p->manager);
	else if (p != NULL) {
		printf("%s ", p->manager);
		escape_bytes(stdout, (const unsigned char *)p->name,
		    strlen(p->name));
		fputc(' ', stdout);
		escape_bytes(stdout, (const unsigned char *)p->version,
		    strlen(p->version));
		fputs(": ", stdout);
	}
	printf("%s]", uw_package_check_name(ev->package_check));
}

static int
print_event(const struct uw_event *ev, void *arg)
{
	struct diff_out *o = arg;

	if (o->json) {
		struct uw_event copy = *ev;

		copy.container = &o->container;
		return o->json == 2 ? uw_event_write_ocsf(stdout, &copy) :
		    uw_event_write_json(stdout, &copy);
	}
	printf("%c ", op_letter(ev->op));
	escape_bytes(stdout, ev->path, ev->path_len);
	if (ev->redirect != NULL && ev->type == UW_TYPE_DIR) {
		fputs(" renamed from ", stdout);
		escape_bytes(stdout, ev->redirect, ev->redirect_len);
	}
	print_changes(ev);
	print_package(ev);
	if (ev->count > 0)
		printf(" (%llu entr%s below)", (unsigned long long)ev->count,
		    ev->count == 1 ? "y" : "ies");
	fputc('\n', stdout);
	return ferror(stdout) ? -EIO : 0;
}

/* Reads the options into *opts, *out and *container. Returns -1 to go on,
 * else the exit status (--help, --version, a usage error). */
static int
diff_parse(struct cli_ctx *ctx, int argc, char **argv,
    struct uw_diff_opts *opts, struct diff_out *out, const char **container,
    int *flags_given)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "container", required_argument, NULL, 'c' },
		{ "oci-whiteouts", no_argument, NULL, 'W' },
		{ "userxattr", no_argument, NULL, 'X' },
		{ "overlay-options", required_argument, NULL, 'O' },
		{ "json", no_argument, NULL, 'J' },
		{ "format", required_argument, NULL, 'f' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_diff;
	int c, opt_status;

	while ((c = getopt_long(argc, argv, "hi:x:", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		switch (c) {
		case 'i':
			opts->image = optarg;
			break;
		case 'x':
			if (opts->exclude_count == MAX_EXCLUDES)
				return cli_usage_error(cmd, "at most %d "
				    "--exclude patterns", MAX_EXCLUDES);
			out->excludes[opts->exclude_count++] = optarg;
			break;
		case 'c':
			*container = optarg;
			break;
		case 'W':
			opts->oci_whiteouts = 1;
			break;
		case 'X':
			opts->overlay_flags |= UW_OVERLAY_USERXATTR;
			opts->overlay_flags &= ~(unsigned)(UW_OVERLAY_METACOPY |
			    UW_OVERLAY_REDIRECT_DIR);
			*flags_given = 1;
			break;
		case 'O':
			if (cli_overlay_options(cmd, optarg,
			    &opts->overlay_flags) < 0)
				return CLI_ERROR;
			*flags_given = 1;
			break;
		case 'J':
			out->json = 1;
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				out->json = 0;
			else if (strcmp(optarg, "json") == 0)
				out->json = 1;
			else if (strcmp(optarg, "ocsf") == 0)
				out->json = 2;
			else
				return cli_usage_error(cmd, "--format takes "
				    "text, json or ocsf, not '%s'", optarg);
			break;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if (*container != NULL) {
		if (opts->image != NULL || optind < argc)
			return cli_usage_error(cmd, "--container takes no "
			    "--image or UPPERDIR");
	} else {
		if (opts->image == NULL)
			return cli_usage_error(cmd, "--image REF is required");
		if (optind + 1 != argc)
			return cli_usage_error(cmd, "give exactly one "
			    "UPPERDIR");
	}
	return -1;
}

static int
run_diff(struct cli_ctx *ctx, int argc, char **argv)
{
	struct uw_diff_opts opts;
	struct uw_diff_stats stats;
	struct diff_out out;
	struct uw_error err;
	struct uw_db *db;
	struct uw_container *found = NULL;
	const char *container = NULL;
	char digest[UW_DIGEST_MAX];
	int rc, flags_given = 0;

	memset(&opts, 0, sizeof(opts));
	memset(&out, 0, sizeof(out));
	rc = diff_parse(ctx, argc, argv, &opts, &out, &container,
	    &flags_given);
	if (rc >= 0)
		return rc;
	db = cli_open_db(ctx, UW_DB_READONLY);
	if (db == NULL)
		return CLI_ERROR;
	if (container != NULL) {
		found = cli_find_container(container);
		if (found == NULL) {
			uw_db_close(db);
			return CLI_ERROR;
		}
		opts.image = uw_baseline_key(db, found, digest);
		opts.upper = found->upper;
		if (!flags_given)
			opts.overlay_flags = found->overlay_follow;
	} else {
		opts.upper = argv[optind];
		/* As the overlay over it is mounted now, else as the kernel
		 * wrote its trusted xattrs. */
		if (!flags_given && uw_overlay_flags_for_upper(opts.upper,
		    &opts.overlay_flags, &err) < 0)
			opts.overlay_flags = UW_OVERLAY_METACOPY |
			    UW_OVERLAY_REDIRECT_DIR;
	}
	opts.excludes = out.excludes;
	opts.cb = print_event;
	opts.arg = &out;
	opts.cancel = &cli_interrupted;
	out.container.id = out.container.name = out.container.runtime = "";
	out.container.image_id = out.container.image_key = "";
	out.container.pod = out.container.pod_namespace = "";
	out.container.image = opts.image;
	if (container != NULL) {
		out.container.id = found->id;
		out.container.image_key = opts.image;
	}
	if (!uw_trusted_xattrs_readable())
		fprintf(stderr, "upperwatch: %s\n", UW_TRUSTED_XATTRS_WARNING);
	rc = uw_diff(db, &opts, &stats, &err);
	uw_db_close(db);
	uw_container_free(found);
	if (fflush(stdout) != 0 && rc == 0)
		rc = seterr(&err, -EIO, "cannot write the output");
	if (rc < 0) {
		cli_error("%s", err.msg);
		return rc == -ECANCELED ? CLI_INTERRUPTED : CLI_ERROR;
	}
	return stats.events > 0 ? CLI_FOUND : CLI_OK;
}

const struct cli_cmd cli_cmd_diff = {
	.name = "diff",
	.args = "(--image REF UPPERDIR | --container ID) [--json] "
	    "[--exclude GLOB]...",
	.summary = "report what a container's upper dir changed",
	.help =
	    "\n"
	    "Reads every entry of the container's overlay upper dir against "
	    "the image's\nbaseline, the way overlayfs means it, and prints "
	    "one line per drifted path:\n"
	    "  A PATH   added: not in the baseline\n"
	    "  C PATH   changed content (size, hash or symlink target)\n"
	    "  M PATH   metadata only: mode, owner or file capabilities\n"
	    "  D PATH   deleted (a whiteout); a dir says how many entries "
	    "went with it\n"
	    "  R PATH   replaced: a re-created (opaque) dir, or another "
	    "type of file\n"
	    "  E PATH   could not be classified (it kept changing while read, "
	    "it is\n"
	    "           more than 4096 dirs deep, it cannot be read): "
	    "reported, never\n"
	    "           skipped\n"
	    "followed by what changed (mode 0644→0755, size 120→4096, hash "
	    "…).  A file\ncopied up with the same content and metadata is not "
	    "drift.  Names are escaped\nC-style, so a newline in a name cannot "
	    "forge a line.  Only the upper dir is\nread: the cost follows the "
	    "drift, not the image.\n"
	    "\n"
	    "Options:\n"
	    "  --image REF      the image whose baseline to compare with\n"
	    "  --container ID   a running container (id, name or id prefix): "
	    "its upper dir\n"
	    "                   against its image key's baseline\n"
	    "  --exclude GLOB   do not report paths matching GLOB, nor "
	    "anything below\n"
	    "                   them (repeatable; * ? ** [...], e.g. "
	    "'/etc/hostname',\n"
	    "                   '/tmp/**')\n"
	    "  --oci-whiteouts  the upper is fuse-overlayfs's (rootless): read "
	    ".wh.NAME\n"
	    "                   files as whiteouts and .wh..wh..opq as an "
	    "opaque marker\n"
	    "                   (in a kernel overlay upper they are ordinary "
	    "files)\n"
	    "  --format F       text (default), json (as --json) or ocsf: "
	    "OCSF 1.3.0\n"
	    "                   File System Activity events\n"
	    "  --json           JSON Lines with the fields op, path, type, "
	    "current,\n"
	    "                   baseline (mode, uid, gid, size, mtime, hash, "
	    "link, caps),\n"
	    "                   count, redirect, metacopy, changes, error, "
	    "container\n"
	    "  --db PATH        the database\n"
	    "\n"
	    "Exit status: 0 no drift, 1 drift, 2 error.\n"
	    "\n"
	    "Example:\n"
	    "  upperwatch diff --image myapp:1.4 --exclude '/etc/host*' \\\n"
	    "      /var/lib/docker/overlay2/3f2a.../diff\n",
	.run = run_diff,
};

/* ---- verify ---- */

static int
run_verify(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "container", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'J' },
		{ "host-root", required_argument, NULL, 'R' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_verify;
	struct uw_verify_opts opts;
	struct diff_out out;
	struct uw_error err;
	struct uw_db *db;
	struct uw_container *found = NULL;
	const char *container = NULL;
	char digest[UW_DIGEST_MAX];
	uint64_t n = 0;
	int c, rc, opt_status;

	memset(&opts, 0, sizeof(opts));
	memset(&out, 0, sizeof(out));
	while ((c = getopt_long(argc, argv, "hi:c:", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		switch (c) {
		case 'i':
			opts.image = optarg;
			break;
		case 'c':
			container = optarg;
			break;
		case 'J':
			out.json = 1;
			break;
		case 'R':
			opts.host_root = optarg;
			break;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if ((opts.image == NULL) == (container == NULL))
		return cli_usage_error(cmd, "give --image REF or --container "
		    "ID");
	if (opts.host_root != NULL && container != NULL)
		return cli_usage_error(cmd, "--host-root goes with --image: a "
		    "container's layers are the ones it has mounted");
	if (opts.host_root != NULL && (opts.host_root[0] != '/' ||
	    strcmp(opts.host_root, "/") == 0))
		return cli_usage_error(cmd, "--host-root takes an absolute "
		    "dir other than /");
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	db = cli_open_db(ctx, 0);
	if (db == NULL)
		return CLI_ERROR;
	out.container.id = out.container.name = out.container.runtime = "";
	out.container.image_id = out.container.image_key = "";
	out.container.pod = out.container.pod_namespace = "";
	if (container != NULL) {
		found = cli_find_container(container);
		if (found == NULL) {
			uw_db_close(db);
			return CLI_ERROR;
		}
		opts.image = uw_baseline_key(db, found, digest);
		opts.layers = found->lower;
		opts.layer_count = found->lower_count;
		opts.overlay_flags = found->overlay_follow;
		out.container.id = found->id;
	}
	out.container.image = out.container.image_key = opts.image;
	rc = uw_verify(db, &opts, print_event, &out, &n, &err);
	uw_db_close(db);
	uw_container_free(found);
	if (fflush(stdout) != 0 && rc == 0)
		rc = seterr(&err, -EIO, "cannot write the output");
	if (rc < 0) {
		cli_error("%s", err.msg);
		return CLI_ERROR;
	}
	return n > 0 ? CLI_FOUND : CLI_OK;
}

const struct cli_cmd cli_cmd_verify = {
	.name = "verify",
	.args = "(--image REF [--host-root DIR] | --container ID) [--json]",
	.summary = "check the node's copy of an image against its baseline",
	.help =
	    "\n"
	    "Reads the image's layers on this node again, as 'baseline' "
	    "would, and reports\neach entry that differs from the image's "
	    "baseline, one line per path in the\n'diff' format (A added, C "
	    "changed content, M metadata, D deleted, R replaced),\nor with "
	    "--json as events with \"layer\": \"lower\".  Someone with "
	    "access to the\nhost who edits a file of an extracted layer "
	    "changes every container of that\nimage at once, and no upper "
	    "dir shows it; with a baseline from the image file\n(baseline "
	    "--oci, import) this finds it.  Mtimes are not compared, nor the "
	    "root\ndir (the top layer dir's own).  A scratch baseline is "
	    "built in the database and\nremoved; one that a verify killed "
	    "half-way left is removed by the next.\n"
	    "\n"
	    "Options:\n"
	    "  --image REF      the image (any of its names): the layer dirs "
	    "its baseline\n"
	    "                   was built from, or for a baseline of an image "
	    "file the\n"
	    "                   layers with its diff_ids, found by their chain "
	    "in the store\n"
	    "                   of Podman or CRI-O (/var/lib/containers/"
	    "storage), Docker\n"
	    "                   (/var/lib/docker, overlay2) or containerd\n"
	    "                   (/var/lib/containerd, overlayfs snapshots, any "
	    "namespace)\n"
	    "  --host-root DIR  with --image: read those stores under DIR (a "
	    "node's disk\n"
	    "                   mounted elsewhere, or a copy of it)\n"
	    "  --container ID   a running container: its lower dirs against "
	    "the baseline\n"
	    "                   the watcher judges it by\n"
	    "  --json           JSON Lines events\n"
	    "  --db PATH        the database\n"
	    "\n"
	    "Exit status: 0 the layers match, 1 they differ, 2 error.\n",
	.run = run_verify,
};
