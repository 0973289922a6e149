/*
 * cli_containers.c - `upperwatch containers`, and finding one container
 * by id, name or id prefix for the commands that take --container.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jsonw.h"
#include "util.h"


struct list_out {
	int json;
	struct uw_db *db;	/* NULL: no database yet */
	size_t count;
	const char *event;	/* --follow: "started" or "stopped" */
	/* --follow: the ids seen in the last listing, and this one */
	char **seen, **now;
	size_t seen_count, now_count;
	int tries;		/* listings a new unknown mount was held */
	int unresolved;		/* this listing held one back */
};

/* A runtime mounts the rootfs a moment before it writes its state: a new
 * mount no runtime claims yet is looked at again this many times, half a
 * second apart, before it is reported as "unknown". */
#define FOLLOW_TRIES 4

static const char *
short_id(const char *id, char *buf)
{
	if (id[0] == '/' || strlen(id) <= 12)
		return id;
	memcpy(buf, id, 12);
	buf[12] = '\0';
	return buf;
}

/* A name for humans: escaped, so a newline cannot forge a line, and
 * padded to `width` bytes. */
static void
print_escaped(const char *s, int width)
{
	long start = ftell(stdout), n;

	escape_bytes(stdout, (const unsigned char *)s, strlen(s));
	n = ftell(stdout) - start;
	if (start < 0 || n < 0)
		n = (long)strlen(s);
	for (; n < width; n++)
		fputc(' ', stdout);
}

/* Whether the container has a baseline: its image's by digest (one
 * built from the image file), else its layer stack's. */
static int
has_baseline(struct uw_db *db, const struct uw_container *c)
{
	char digest[UW_DIGEST_MAX];
	struct uw_error err;

	return db != NULL && uw_image_exists(db, uw_baseline_key(db, c,
	    digest), &err) == 1;
}

static void
json_container(const struct uw_container *c, int baseline,
    const char *event)
{
	static const char *const opt_names[] = {
		"metacopy", "redirect_dir", "index", "userxattr", "volatile"
	};
	size_t i;
	int first = 1, inner;

	fputc('{', stdout);
	if (event != NULL)
		jsonw_str(stdout, &first, "event", event);
	jsonw_str(stdout, &first, "id", c->id);
	jsonw_str(stdout, &first, "name", c->name);
	jsonw_str(stdout, &first, "runtime", c->runtime);
	jsonw_str(stdout, &first, "image", c->image);
	jsonw_str(stdout, &first, "image_id", c->image_id);
	jsonw_str(stdout, &first, "image_key", c->image_key);
	jsonw_bool(stdout, &first, "baseline", baseline);
	jsonw_str(stdout, &first, "pod", c->pod);
	jsonw_str(stdout, &first, "namespace", c->pod_namespace);
	jsonw_int(stdout, &first, "pid", c->pid);
	jsonw_str(stdout, &first, "mount_point", c->mount_point);
	jsonw_str(stdout, &first, "upper", c->upper);
	jsonw_key(stdout, &first, "lower");
	fputc('[', stdout);
	for (i = 0; i < c->lower_count; i++) {
		if (i > 0)
			fputc(',', stdout);
		jsonw_string(stdout, (const unsigned char *)c->lower[i],
		    strlen(c->lower[i]));
	}
	fputc(']', stdout);
	jsonw_key(stdout, &first, "overlay_options");
	fputc('[', stdout);
	inner = 1;
	for (i = 0; i < 5; i++) {
		if (!(c->overlay_flags & (1u << i)))
			continue;
		if (!inner)
			fputc(',', stdout);
		inner = 0;
		jsonw_string(stdout, (const unsigned char *)opt_names[i],
		    strlen(opt_names[i]));
	}
	fputc(']', stdout);
	jsonw_key(stdout, &first, "cgroup");
	fputc('{', stdout);
	inner = 1;
	jsonw_str(stdout, &inner, "v1_freezer", c->cgroup_v1_freezer);
	jsonw_str(stdout, &inner, "v2", c->cgroup_v2);
	fputc('}', stdout);
	jsonw_key(stdout, &first, "labels");
	fputc('{', stdout);
	inner = 1;
	for (i = 0; i < c->label_count; i++)
		jsonw_str(stdout, &inner, c->labels[i].key,
		    c->labels[i].value);
	fputs("}}\n", stdout);
}

static int
in_list(char **v, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], id) == 0)
			return 1;
	return 0;
}

static int
list_one(const struct uw_container *c, void *arg)
{
	struct list_out *o = arg;
	int baseline;
	char idbuf[16], **v;

	if (o->event != NULL) {
		/* --follow: note it; print only what is new. */
		v = realloc(o->now, (o->now_count + 1) * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		o->now = v;
		o->now[o->now_count] = strdup(c->id);
		if (o->now[o->now_count] == NULL)
			return -ENOMEM;
		o->now_count++;
		if (in_list(o->seen, o->seen_count, c->id))
			return 0;
		if (strcmp(c->runtime, "unknown") == 0 &&
		    o->tries < FOLLOW_TRIES) {
			o->unresolved = 1;
			o->now_count--;
			free(o->now[o->now_count]);
			return 0;
		}
	}
	baseline = has_baseline(o->db, c);
	if (o->json) {
		json_container(c, baseline, o->event);
	} else if (o->event != NULL) {
		printf("%s ", o->event);
		print_escaped(c->id, 0);
		fputc(' ', stdout);
		print_escaped(c->name, 0);
		printf(" %s %d ", c->runtime, c->pid);
		print_escaped(c->upper, 0);
		fputc('\n', stdout);
	} else {
		if (o->count == 0)
			printf("%-12s %-20s %-10s %-24s %7s %-8s %s\n", "ID",
			    "NAME", "RUNTIME", "IMAGE", "PID", "BASELINE",
			    "UPPER");
		print_escaped(short_id(c->id, idbuf), 12);
		fputc(' ', stdout);
		print_escaped(c->name, 20);
		printf(" %-10s ", c->runtime);
		print_escaped(c->image[0] ? c->image : c->image_key, 24);
		printf(" %7d %-8s ", c->pid, baseline ? "yes" : "no");
		print_escaped(c->upper, 0);
		fputc('\n', stdout);
	}
	o->count++;
	return 0;
}

static void
free_ids(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * --follow: list, then wait for the mount table to change and print the
 * containers that started (appeared) or stopped (went away), until
 * SIGINT or SIGTERM.
 */
static int
follow(struct list_out *o, struct uw_error *err)
{
	struct uw_mounts *mounts;
	size_t i;
	int rc;

	mounts = uw_mounts_open(err);
	if (mounts == NULL)
		return err->code;
	o->event = "started";
	for (;;) {
		o->now = NULL;
		o->now_count = 0;
		o->unresolved = 0;
		rc = uw_containers_foreach(NULL, list_one, o, NULL, err);
		if (rc < 0)
			break;
		for (i = 0; i < o->seen_count; i++) {
			if (in_list(o->now, o->now_count, o->seen[i]))
				continue;
			if (o->json)
				printf("{\"event\":\"stopped\",\"id\":");
			else
				printf("stopped ");
			if (o->json) {
				jsonw_string(stdout,
				    (const unsigned char *)o->seen[i],
				    strlen(o->seen[i]));
				fputs("}\n", stdout);
			} else {
				printf("%s\n", o->seen[i]);
			}
		}
		fflush(stdout);
		free_ids(o->seen, o->seen_count);
		o->seen = o->now;
		o->seen_count = o->now_count;
		o->now = NULL;
		o->now_count = 0;
		if (o->unresolved) {
			o->tries++;
			rc = uw_mounts_wait(mounts, 500);
			if (rc >= 0 && !cli_interrupted)
				continue;
		}
		o->tries = 0;
		do {
			rc = uw_mounts_wait(mounts, 1000);
		} while (rc == 0 && !cli_interrupted);
		if (cli_interrupted || (rc < 0 && rc != -EINTR))
			break;
	}
	free_ids(o->seen, o->seen_count);
	free_ids(o->now, o->now_count);
	uw_mounts_close(mounts);
	if (cli_interrupted)
		return 0;
	return rc < 0 ? rc : 0;
}

static int
run_containers(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "follow", no_argument, NULL, 'f' },
		{ "host-root", required_argument, NULL, 'R' },
		{ "mountinfo", required_argument, NULL, 'M' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_cmd *cmd = &cli_cmd_containers;
	struct list_out out;
	struct uw_discover_opts dopts;
	struct uw_error err;
	size_t malformed = 0;
	int c, rc, follow_on = 0, opt_status;

	memset(&out, 0, sizeof(out));
	memset(&dopts, 0, sizeof(dopts));
	while ((c = getopt_long(argc, argv, "hf", longopts, NULL)) != -1) {
		if (cli_common_option(c, cmd, ctx, &opt_status)) {
			if (opt_status >= 0)
				return opt_status;
			continue;
		}
		switch (c) {
		case 'J':
			out.json = 1;
			break;
		case 'f':
			follow_on = 1;
			break;
		case 'R':
			dopts.root = optarg;
			break;
		case 'M':
			dopts.mountinfo = optarg;
			break;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	/* No database yet is fine: nothing has a baseline. */
	out.db = uw_db_open(ctx->db_path, UW_DB_READONLY, &err);
	if (follow_on && (dopts.root != NULL || dopts.mountinfo != NULL)) {
		uw_db_close(out.db);
		return cli_usage_error(cmd, "--follow watches this host: it "
		    "takes no --host-root or --mountinfo");
	}
	if (follow_on) {
		rc = follow(&out, &err);
		uw_db_close(out.db);
		if (rc < 0) {
			cli_error("%s", err.msg);
			return CLI_ERROR;
		}
		return CLI_OK;
	}
	rc = uw_containers_foreach(&dopts, list_one, &out, &malformed, &err);
	uw_db_close(out.db);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return CLI_ERROR;
	}
	if (malformed > 0)
		cli_error("warning: %zu mount table lines could not be read",
		    malformed);
	if (out.count == 0 && !out.json)
		fprintf(stderr, "no containers (no overlay mount with an "
		    "upper dir)\n");
	return CLI_OK;
}

const struct cli_cmd cli_cmd_containers = {
	.name = "containers",
	.args = "[--json] [--follow]",
	.summary = "list the containers on this host",
	.help =
	    "\n"
	    "Lists every overlay mount with an upper dir, named from the "
	    "metadata files of\nthe runtime that made it: runc and crun "
	    "state (/run/runc, /run/crun),\ncontainerd task bundles "
	    "(/run/containerd/io.containerd.runtime.v2.task, or any\n"
	    "state dir's, with the image from containerd's metadata), "
	    "Docker's\noverlay2 store (/var/lib/docker) and Podman/CRI-O "
	    "containers/storage\n(/var/lib/containers/storage).  No engine "
	    "socket is used.  An overlay no\nruntime claims is listed as "
	    "runtime 'unknown'.  BASELINE tells whether it has a\nbaseline: "
	    "its image's, by config digest (see 'upperwatch baseline --oci'),"
	    "\nor its layer stack's (see 'upperwatch baseline "
	    "--container').\n"
	    "\n"
	    "Options:\n"
	    "  --json      JSON Lines: id, name, runtime, image, image_id, "
	    "image_key,\n"
	    "              baseline, pod, namespace, pid, mount_point, upper, "
	    "lower,\n"
	    "              overlay_options, cgroup {v1_freezer, v2}, labels\n"
	    "  -f, --follow  list them, then print each container that starts "
	    "or stops\n"
	    "              (\"started ...\", \"stopped ID\"; with --json an "
	    "\"event\" field),\n"
	    "              as the mount table changes, until interrupted\n"
	    "  --host-root DIR  read the runtimes' files under DIR instead of "
	    "/ (a host\n"
	    "              filesystem mounted into a sidecar, or a saved "
	    "copy)\n"
	    "  --mountinfo FILE  read this mount table instead of "
	    "/proc/self/mountinfo\n"
	    "  --db PATH   the database\n",
	.run = run_containers,
};

/* ---- finding one container ---- */

struct uw_container *
cli_find_container(const char *want)
{
	struct uw_container *c;
	struct uw_error err;

	c = uw_container_find(want, &err);
	if (c == NULL)
		cli_error("%s%s", err.msg, err.code == -ENOMEM ? "" :
		    " (see 'upperwatch containers')");
	return c;
}
