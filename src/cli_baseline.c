/*
 * cli_baseline.c - the baseline commands: build one (baseline), list them
 * (images), print recorded rows (show), remove one (forget).  Carrying
 * one to another host is cli_transfer.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "jsonw.h"
#include "util.h"

/* Hex output buffers: a hash or capability data, whichever is longer. */
#define WALK_HEX_MAX 64


/* ---- baseline ---- */

static void
show_progress(const struct uw_progress *p, void *arg)
{
	double rate = p->seconds > 0 ? (double)p->bytes / 1e6 / p->seconds : 0;

	(void)arg;
	fprintf(stderr, "\r\033[K%llu entries, %llu files, %.1f MB, "
	    "%.0f MB/s", (unsigned long long)p->entries,
	    (unsigned long long)p->files, (double)p->bytes / 1e6, rate);
	fflush(stderr);
}

/* What `baseline` was asked to do, as its options said it. */
struct baseline_args {
	const char *image, *rootfs, *container, *oci, *platform;
	unsigned long jobs;
	int json, quiet, allow_incomplete, flags_given;
	unsigned overlay_flags;
};

/* Reads the options into *a. Returns -1 to go on, else the exit status
 * (--help, --version, a usage error). */
static int
baseline_parse(struct cli_ctx *ctx, int argc, char **argv,
    struct baseline_args *a)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "container", required_argument, NULL, 'c' },
		{ "oci", required_argument, NULL, 'o' },
		{ "platform", required_argument, NULL, 'p' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, 'J' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "allow-incomplete", no_argument, NULL, 'A' },
		{ "userxattr", no_argument, NULL, 'X' },
		{ "overlay-options", required_argument, NULL, 'O' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_baseline;
	char *end;
	int c, opt_status;

	while ((c = getopt_long(argc, argv, "hi:j:q", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		switch (c) {
		case 'i':
			a->image = optarg;
			break;
		case 'r':
			a->rootfs = optarg;
			break;
		case 'c':
			a->container = optarg;
			break;
		case 'o':
			a->oci = optarg;
			break;
		case 'p':
			if (strchr(optarg, '/') == NULL || strlen(optarg) > 60)
				return cli_usage_error(cmd, "--platform takes "
				    "OS/ARCH[/VARIANT] (linux/amd64), not '%s'",
				    optarg);
			a->platform = optarg;
			break;
		case 'j':
			errno = 0;
			a->jobs = strtoul(optarg, &end, 10);
			if (errno || *end || a->jobs == 0 || a->jobs > 256)
				return cli_usage_error(cmd, "--jobs takes a "
				    "number from 1 to 256, not '%s'", optarg);
			break;
		case 'J':
			a->json = 1;
			break;
		case 'q':
			a->quiet = 1;
			break;
		case 'A':
			a->allow_incomplete = 1;
			break;
		case 'X':
			a->overlay_flags = UW_OVERLAY_USERXATTR;
			a->flags_given = 1;
			break;
		case 'O':
			if (cli_overlay_options(cmd, optarg,
			    &a->overlay_flags) < 0)
				return CLI_ERROR;
			a->flags_given = 1;
			break;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if (a->container != NULL && (a->image != NULL || a->rootfs != NULL ||
	    optind < argc || a->oci != NULL))
		return cli_usage_error(cmd, "--container takes no --image, "
		    "--rootfs, --oci or layers");
	if (a->oci != NULL && (a->rootfs != NULL || optind < argc))
		return cli_usage_error(cmd, "--oci takes no --rootfs or "
		    "layers: the image file holds them");
	if (a->platform != NULL && a->oci == NULL)
		return cli_usage_error(cmd, "--platform goes with --oci");
	if (a->container == NULL && a->oci == NULL) {
		if (a->image == NULL)
			return cli_usage_error(cmd, "--image REF is required");
		if (a->rootfs != NULL && optind < argc)
			return cli_usage_error(cmd, "give --rootfs DIR or "
			    "layers, not both");
		if (a->rootfs == NULL && optind == argc)
			return cli_usage_error(cmd, "no layers given");
	}
	return -1;
}

static void
baseline_report(const char *image, const struct uw_baseline_stats *stats,
    int json)
{
	double mbps = stats->seconds > 0 ?
	    (double)stats->bytes / 1e6 / stats->seconds : 0;

	if (json) {
		int first = 1;

		fputc('{', stdout);
		jsonw_str(stdout, &first, "image", image);
		jsonw_uint(stdout, &first, "entries", stats->entries);
		jsonw_uint(stdout, &first, "files", stats->files);
		jsonw_uint(stdout, &first, "bytes", stats->bytes);
		jsonw_double(stdout, &first, "seconds", stats->seconds);
		jsonw_double(stdout, &first, "mb_per_s", mbps);
		jsonw_uint(stdout, &first, "unstable", stats->unstable);
		if (stats->incomplete[0] != '\0') {
			jsonw_uint(stdout, &first, "skipped", stats->skipped);
			jsonw_str(stdout, &first, "incomplete",
			    stats->incomplete);
		}
		fputs("}\n", stdout);
	} else {
		printf("baseline %s: %llu entries, %llu files, %llu bytes in "
		    "%.2fs (%.0f MB/s)\n", image,
		    (unsigned long long)stats->entries,
		    (unsigned long long)stats->files,
		    (unsigned long long)stats->bytes, stats->seconds, mbps);
		if (stats->unstable > 0)
			printf("warning: %llu files kept changing while "
			    "hashed; they are flagged unstable\n",
			    (unsigned long long)stats->unstable);
	}
	if (stats->incomplete[0] != '\0')
		fprintf(stderr, "upperwatch: WARNING: the baseline of %s is "
		    "incomplete: %llu entries not recorded; first: %s\n",
		    image, (unsigned long long)stats->skipped,
		    stats->incomplete);
}

/* baseline --oci: from an image file. */
static int
run_baseline_oci(struct cli_ctx *ctx, const struct baseline_args *a)
{
	struct uw_oci_opts opts;
	struct uw_oci_result res;
	struct uw_baseline_stats stats;
	struct uw_error err;
	struct uw_db *db;
	int rc, tty;

	memset(&opts, 0, sizeof(opts));
	opts.path = a->oci;
	opts.platform = a->platform;
	opts.image = a->image;
	tty = isatty(STDERR_FILENO) && !a->quiet;
	if (tty)
		opts.progress = show_progress;
	opts.cancel = &cli_interrupted;
	db = cli_open_db(ctx, 0);
	if (db == NULL)
		return CLI_ERROR;
	rc = uw_baseline_build_oci(db, &opts, &res, &stats, &err);
	if (tty)
		fputs("\r\033[K", stderr);
	uw_db_close(db);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return rc == -ECANCELED ? CLI_INTERRUPTED : CLI_ERROR;
	}
	if (!a->json)
		printf("image %s (%s, %zu layers, every digest checked)%s\n",
		    res.digest, res.platform, res.layers, res.aliases ?
		    ", also known by its tags" : "");
	baseline_report(res.digest, &stats, a->json);
	return CLI_OK;
}

static int
run_baseline(struct cli_ctx *ctx, int argc, char **argv)
{
	struct baseline_args a;
	struct uw_baseline_opts opts;
	struct uw_baseline_stats stats;
	struct uw_error err;
	struct uw_db *db;
	struct uw_container *found = NULL;
	int rc, tty;

	memset(&a, 0, sizeof(a));
	rc = baseline_parse(ctx, argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.oci != NULL)
		return run_baseline_oci(ctx, &a);
	memset(&opts, 0, sizeof(opts));
	if (a.container != NULL) {
		found = cli_find_container(a.container);
		if (found == NULL)
			return CLI_ERROR;
		if (found->lower_count == 0) {
			cli_error("container %s has no image layers",
			    a.container);
			uw_container_free(found);
			return CLI_ERROR;
		}
		a.image = found->image_key;
		if (!a.flags_given)
			a.overlay_flags = found->overlay_follow;
		/* From the image's layers, never from the running container,
		 * which may already be compromised. */
		opts.layers = found->lower;
		opts.layer_count = found->lower_count;
	} else if (a.rootfs != NULL) {
		opts.layers = (const char *const *)&a.rootfs;
		opts.layer_count = 1;
	} else {
		opts.layers = (const char *const *)(argv + optind);
		opts.layer_count = (size_t)(argc - optind);
	}
	opts.image = a.image;
	opts.jobs = (unsigned)a.jobs;
	opts.overlay_flags = a.overlay_flags;
	opts.allow_incomplete = a.allow_incomplete;
	tty = isatty(STDERR_FILENO) && !a.quiet;
	if (tty)
		opts.progress = show_progress;
	opts.cancel = &cli_interrupted;

	db = cli_open_db(ctx, 0);
	if (db == NULL) {
		uw_container_free(found);
		return CLI_ERROR;
	}
	/* Layers as snapshotters extract them mark opaque dirs and
	 * whiteouts with trusted.overlay.* xattrs. */
	if (a.rootfs == NULL && !uw_trusted_xattrs_readable())
		fprintf(stderr, "upperwatch: %s\n", UW_TRUSTED_XATTRS_WARNING);
	rc = uw_baseline_build(db, &opts, &stats, &err);
	if (tty)
		fputs("\r\033[K", stderr);
	uw_db_close(db);
	if (rc < 0) {
		cli_error("%s", err.msg);
		uw_container_free(found);
		return rc == -ECANCELED ? CLI_INTERRUPTED : CLI_ERROR;
	}
	baseline_report(a.image, &stats, a.json);
	uw_container_free(found);
	return CLI_OK;
}

const struct cli_cmd cli_cmd_baseline = {
	.name = "baseline",
	.args = "(--image REF (--rootfs DIR | LAYER...) | --container ID | "
	    "--oci FILE [--image REF])",
	.summary = "record what an image's files should be",
	.help =
	    "\n"
	    "Walks the image's layer stack as overlayfs would merge it and "
	    "records every\nentry (type, mode, owner, size, mtime, symlink "
	    "target, file capabilities)\nand the keyed XXH3-128 hash of every "
	    "regular file.  Whiteouts (char 0/0,\noverlay.whiteout xattrs, "
	    ".wh. files) and opaque dirs (overlay.opaque=y,\n.wh..wh..opq) "
	    "hide what lies below.  Symlinks are recorded, never followed;\n"
	    "FIFOs, sockets and devices are recorded, never opened.  Running "
	    "it again\nreplaces the image's baseline in one transaction: if "
	    "it fails or is\ninterrupted, the old baseline is kept whole.\n"
	    "\n"
	    "Options:\n"
	    "  --image REF     the image reference to record under "
	    "(required)\n"
	    "  LAYER...        layer dirs, top first (the overlay lowerdir "
	    "order)\n"
	    "  --rootfs DIR    a plain root tree instead of layers\n"
	    "  --container ID  the image of a running container (id, name or "
	    "id prefix),\n"
	    "                  built from its image layers (never from the "
	    "container's\n"
	    "                  own files) under its image key, so every "
	    "container of\n"
	    "                  that image shares it\n"
	    "  --oci FILE      the image as CI built it, from its image file, "
	    "read as a\n"
	    "                  stream and never extracted: an OCI layout dir, "
	    "an\n"
	    "                  oci-archive or a docker-archive tar (podman "
	    "save, docker\n"
	    "                  save, skopeo copy), gzip or zstd layers.  Every "
	    "blob is\n"
	    "                  checked against its sha256 digest, layers "
	    "against the\n"
	    "                  config's diff_ids, OCI whiteouts applied as a "
	    "runtime\n"
	    "                  would.  Recorded under the config digest "
	    "(sha256:...), which\n"
	    "                  containers of that image are matched by, with "
	    "the image's\n"
	    "                  tags and --image REF as other names; a name "
	    "that had a\n"
	    "                  baseline of its own is the image file's now.  "
	    "Of a file\n"
	    "                  holding several images, --image names the one "
	    "to read\n"
	    "  --platform OS/ARCH[/VARIANT]  with --oci: the platform to read "
	    "from a\n"
	    "                  multi-platform image (default: its only one, "
	    "else this\n"
	    "                  host's)\n"
	    "  -j, --jobs N    hashing threads (default: one per CPU)\n"
	    "  --json          print the summary as one JSON object\n"
	    "  -q, --quiet     no progress line on a terminal\n"
	    "  --allow-incomplete  record what can be recorded when an "
	    "entry cannot be\n"
	    "                  (a layer more than 4096 dirs deep, an "
	    "unreadable file):\n"
	    "                  the baseline is kept, marked incomplete, with "
	    "a warning;\n"
	    "                  without it the build fails and the old "
	    "baseline stays\n"
	    CLI_OVERLAY_HELP
	    "  --db PATH       the database\n"
	    "\n"
	    "Examples:\n"
	    "  upperwatch baseline --image myapp:1.4 /var/lib/layers/3 "
	    "/var/lib/layers/2 /var/lib/layers/1\n"
	    "  upperwatch baseline --image debian:12 --rootfs "
	    "/srv/rootfs/debian12\n"
	    "  upperwatch baseline --oci myapp.tar --image "
	    "registry.example/myapp:1.4\n",
	.run = run_baseline,
};

/* ---- images ---- */

static void
format_time(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct images_out {
	int json;
	size_t count;
};

static int
print_image(const struct uw_image_info *info, void *arg)
{
	struct images_out *o = arg;
	char when[32];
	size_t i;
	int first = 1;

	if (o->json) {
		fputc('{', stdout);
		jsonw_str(stdout, &first, "image", info->image);
		jsonw_key(stdout, &first, "layers");
		fputc('[', stdout);
		for (i = 0; i < info->layer_count; i++) {
			if (i > 0)
				fputc(',', stdout);
			jsonw_string(stdout,
			    (const unsigned char *)info->layers[i],
			    strlen(info->layers[i]));
		}
		fputc(']', stdout);
		jsonw_int(stdout, &first, "built", info->built_ns);
		jsonw_uint(stdout, &first, "entries", info->entries);
		jsonw_uint(stdout, &first, "files", info->files);
		jsonw_uint(stdout, &first, "bytes", info->bytes);
		jsonw_double(stdout, &first, "seconds", info->seconds);
		if (info->incomplete != NULL)
			jsonw_str(stdout, &first, "incomplete",
			    info->incomplete);
		if (info->aliases != NULL)
			jsonw_str(stdout, &first, "aliases", info->aliases);
		fputs("}\n", stdout);
	} else {
		if (o->count == 0)
			printf("%-32s %10s %10s %14s %-20s %7s %6s\n", "IMAGE",
			    "ENTRIES", "FILES", "BYTES", "BUILT", "SECONDS",
			    "LAYERS");
		format_time(info->built_ns, when, sizeof(when));
		escape_bytes(stdout, (const unsigned char *)info->image,
		    strlen(info->image));
		printf("%*s %10llu %10llu %14llu %-20s %7.2f %6zu\n",
		    strlen(info->image) < 32 ?
		    (int)(32 - strlen(info->image)) : 0, "",
		    (unsigned long long)info->entries,
		    (unsigned long long)info->files,
		    (unsigned long long)info->bytes, when, info->seconds,
		    info->layer_count);
		if (info->aliases != NULL) {
			fputs("  also: ", stdout);
			escape_bytes(stdout,
			    (const unsigned char *)info->aliases,
			    strlen(info->aliases));
			fputc('\n', stdout);
		}
		if (info->incomplete != NULL) {
			fputs("  incomplete: ", stdout);
			escape_bytes(stdout,
			    (const unsigned char *)info->incomplete,
			    strlen(info->incomplete));
			fputc('\n', stdout);
		}
	}
	o->count++;
	return 0;
}

static int
run_images(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_images;
	struct images_out out = { 0, 0 };
	struct uw_error err;
	struct uw_db *db;
	int c, rc, opt_status;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		switch (c) {
		case 'J':
			out.json = 1;
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
	rc = uw_images_foreach(db, print_image, &out, &err);
	uw_db_close(db);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return CLI_ERROR;
	}
	if (out.count == 0 && !out.json)
		fprintf(stderr, "no baselines yet (see 'upperwatch baseline "
		    "--help')\n");
	return CLI_OK;
}

const struct cli_cmd cli_cmd_images = {
	.name = "images",
	.args = "[--json]",
	.summary = "list the images that have a baseline",
	.help =
	    "\n"
	    "One row per image: its reference, how many entries and regular "
	    "files its\nbaseline holds, the bytes hashed, when it was built "
	    "(UTC), how long the\nbuild took and how many layers it has.\n"
	    "\n"
	    "Options:\n"
	    "  --json      JSON Lines: image, layers (top first), built (ns), "
	    "entries,\n"
	    "              files, bytes, seconds\n"
	    "  --db PATH   the database\n"
	    "\n"
	    "Example:\n"
	    "  upperwatch images --json\n",
	.run = run_images,
};

/* ---- show ---- */

static int
print_record(const struct uw_record *rec, void *arg)
{
	char hex[2 * WALK_HEX_MAX + 1];
	int json = *(int *)arg, first = 1;

	if (json) {
		fputc('{', stdout);
		jsonw_bytes(stdout, &first, "path", rec->path,
		    rec->path_len);
		jsonw_str(stdout, &first, "type",
		    uw_file_type_name(rec->type));
		jsonw_uint(stdout, &first, "mode", rec->mode);
		jsonw_uint(stdout, &first, "uid", rec->uid);
		jsonw_uint(stdout, &first, "gid", rec->gid);
		jsonw_uint(stdout, &first, "size", rec->size);
		jsonw_int(stdout, &first, "mtime", rec->mtime_ns);
		if (rec->flags & UW_REC_HASHED) {
			hex_encode(hex, rec->hash, UW_HASH_LEN);
			jsonw_str(stdout, &first, "hash", hex);
		}
		if (rec->link != NULL)
			jsonw_bytes(stdout, &first, "link", rec->link,
			    rec->link_len);
		if (rec->caps != NULL && rec->caps_len <= WALK_HEX_MAX) {
			hex_encode(hex, rec->caps, rec->caps_len);
			jsonw_str(stdout, &first, "caps", hex);
		}
		jsonw_bool(stdout, &first, "unstable",
		    (rec->flags & UW_REC_UNSTABLE) != 0);
		fputs("}\n", stdout);
		return 0;
	}
	if (rec->flags & UW_REC_HASHED)
		hex_encode(hex, rec->hash, UW_HASH_LEN);
	else
		strcpy(hex, "-");
	printf("%-7s %04o %u %u %llu %s ", uw_file_type_name(rec->type),
	    rec->mode, rec->uid, rec->gid, (unsigned long long)rec->size,
	    hex);
	escape_bytes(stdout, rec->path, rec->path_len);
	if (rec->link != NULL) {
		fputs(" -> ", stdout);
		escape_bytes(stdout, rec->link, rec->link_len);
	}
	if (rec->caps != NULL && rec->caps_len <= WALK_HEX_MAX) {
		hex_encode(hex, rec->caps, rec->caps_len);
		printf(" caps=%s", hex);
	}
	if (rec->flags & UW_REC_UNSTABLE)
		fputs(" (unstable)", stdout);
	fputc('\n', stdout);
	return 0;
}

static int
run_show(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'J' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_show;
	const unsigned char *path;
	struct uw_error err;
	struct uw_db *db;
	const char *image = NULL;
	int json = 0, c, rc, status = CLI_OK, opt_status;
	size_t len;

	while ((c = getopt_long(argc, argv, "hi:", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		switch (c) {
		case 'i':
			image = optarg;
			break;
		case 'J':
			json = 1;
			break;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if (image == NULL)
		return cli_usage_error(cmd, "--image REF is required");
	for (c = optind; c < argc; c++)
		if (cli_container_path(argv[c], &path, &len) < 0)
			return cli_usage_error(cmd, "'%s' is not an absolute "
			    "container path", argv[c]);
	db = cli_open_db(ctx, UW_DB_READONLY);
	if (db == NULL)
		return CLI_ERROR;
	if (optind == argc) {
		rc = uw_baseline_foreach(db, image, print_record, &json,
		    &err);
		if (rc < 0) {
			cli_error("%s", err.msg);
			status = rc == -ENOENT ? CLI_FOUND : CLI_ERROR;
		}
	}
	for (c = optind; c < argc; c++) {
		(void)cli_container_path(argv[c], &path, &len);
		rc = uw_baseline_lookup(db, image, path, len, print_record,
		    &json, &err);
		if (rc == -ENOENT) {
			cli_error("%s: %s", argv[c], err.msg);
			if (status == CLI_OK)
				status = CLI_FOUND;
		} else if (rc < 0) {
			cli_error("%s", err.msg);
			status = CLI_ERROR;
			break;
		}
	}
	uw_db_close(db);
	return status;
}

const struct cli_cmd cli_cmd_show = {
	.name = "show",
	.args = "--image REF [--json] [PATH...]",
	.summary = "print the recorded rows of an image's baseline",
	.help =
	    "\n"
	    "Prints the baseline row of each container PATH (e.g. "
	    "/etc/passwd), or every\nrow sorted by path when no PATH is "
	    "given.  Text form, one line per row:\n"
	    "  TYPE MODE UID GID SIZE HASH PATH [-> TARGET] [caps=HEX]\n"
	    "with names escaped C-style (\\n, \\\\, \\xNN), so a name cannot "
	    "forge a line.\n"
	    "\n"
	    "Options:\n"
	    "  --image REF   the image (required)\n"
	    "  --json        JSON Lines: path, type, mode (permission bits as "
	    "a number),\n"
	    "                uid, gid, size, mtime (ns), hash (hex), link, "
	    "caps (hex),\n"
	    "                unstable; a name that is not UTF-8 also gets "
	    "path_hex\n"
	    "  --db PATH     the database\n"
	    "\n"
	    "Exit status: 0 all found, 1 a PATH or the image has no baseline "
	    "row, 2 error.\n"
	    "\n"
	    "Example:\n"
	    "  upperwatch show --image debian:12 /etc/passwd /usr/bin/su\n",
	.run = run_show,
};

/* ---- forget ---- */

static int
run_forget(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'i' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_forget;
	struct uw_error err;
	struct uw_db *db;
	const char *image = NULL;
	int c, rc, opt_status;

	while ((c = getopt_long(argc, argv, "hi:", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		switch (c) {
		case 'i':
			image = optarg;
			break;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if (image == NULL)
		return cli_usage_error(cmd, "--image REF is required");
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	db = cli_open_db(ctx, 0);
	if (db == NULL)
		return CLI_ERROR;
	rc = uw_image_remove(db, image, &err);
	uw_db_close(db);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return rc == -ENOENT ? CLI_FOUND : CLI_ERROR;
	}
	return CLI_OK;
}

const struct cli_cmd cli_cmd_forget = {
	.name = "forget",
	.args = "--image REF",
	.summary = "remove an image's baseline",
	.help =
	    "\n"
	    "Deletes the image's baseline rows in one transaction, with its "
	    "other names.\nGiven another name of a baseline (a tag of an "
	    "image file), removes that\nname only.\n"
	    "\n"
	    "Options:\n"
	    "  --image REF   the image (required)\n"
	    "  --db PATH     the database\n"
	    "\n"
	    "Exit status: 0 removed, 1 the image had no baseline, 2 error.\n",
	.run = run_forget,
};
