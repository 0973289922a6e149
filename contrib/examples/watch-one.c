/*
 * watch-one.c - embed libupperwatch: baseline one container's image and
 * watch that container, with our own callback for each drift event.
 *
 *   cc -o watch-one watch-one.c $(pkg-config --cflags --libs upperwatch)
 *   ./watch-one [--db PATH] [--count N] [--policy PATH] CONTAINER
 *
 * CONTAINER is a container id (as `upperwatch containers` lists it), its
 * name, or an id prefix of at least 4 characters.  The program finds it
 * with uw_containers_foreach, builds the baseline of its image from the
 * image's layers (the overlay's lower dirs, never the container's own
 * upper dir), then watches that one container and prints one line per
 * drift event on stdout:
 *
 *   EVENT <id> <op> <path>[ -> <severity>/<action>]
 *
 * It stops cleanly (every accepted event committed to the journal) on
 * SIGINT or SIGTERM, or after N events with --count N, and prints how
 * many events it saw on stderr.  Exit status: 0 stopped cleanly, 1 no
 * such container, 2 error.  Needs root (or read access to the container
 * storage and the trusted.* xattrs of the layers, i.e. CAP_SYS_ADMIN and
 * CAP_DAC_READ_SEARCH).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <upperwatch.h>

/* Set by the signal handler and by the event callback; uw_watch and
 * uw_baseline_build look at it between steps. */
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* What we keep of the container after uw_containers_foreach returns:
 * the records it gives are valid only inside the callback. */
struct target {
	const char *want;	/* id, name or id prefix asked for */
	int matches;
	char *id, *name, *image, *image_key, *upper;
	char **lower;		/* top first, as overlayfs's lowerdir= */
	size_t lower_count;
};

static void
target_free(struct target *t)
{
	size_t i;

	free(t->id);
	free(t->name);
	free(t->image);
	free(t->image_key);
	free(t->upper);
	for (i = 0; i < t->lower_count; i++)
		free(t->lower[i]);
	free(t->lower);
}

static char *
dup_or_die(const char *s, int *failed)
{
	char *d = strdup(s);

	if (d == NULL)
		*failed = 1;
	return d;
}

static int
find_container(const struct uw_container *c, void *arg)
{
	struct target *t = arg;
	size_t want_len = strlen(t->want), i;
	int failed = 0;

	if (strcmp(c->id, t->want) != 0 && strcmp(c->name, t->want) != 0 &&
	    !(want_len >= 4 && strncmp(c->id, t->want, want_len) == 0))
		return 0;
	if (++t->matches > 1)
		return 0;	/* ambiguous: reported by the caller */
	t->id = dup_or_die(c->id, &failed);
	t->name = dup_or_die(c->name, &failed);
	t->image = dup_or_die(c->image, &failed);
	t->image_key = dup_or_die(c->image_key, &failed);
	t->upper = dup_or_die(c->upper, &failed);
	t->lower = calloc(c->lower_count + 1, sizeof(*t->lower));
	if (t->lower == NULL)
		return -ENOMEM;
	for (i = 0; i < c->lower_count; i++) {
		t->lower[i] = dup_or_die(c->lower[i], &failed);
		t->lower_count++;
	}
	return failed ? -ENOMEM : 0;
}

struct counter {
	unsigned long events;
	unsigned long limit;	/* 0: no limit */
};

/* A path is bytes, not a C string: print it so that a newline or a
 * control byte in a file name cannot forge an output line. */
static void
print_path(const unsigned char *path, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (path[i] == '\\')
			fputs("\\\\", stdout);
		else if (path[i] < 0x20 || path[i] >= 0x7f)
			printf("\\x%02x", path[i]);
		else
			putchar(path[i]);
	}
}

/* Called for each drift event, after it is journaled. */
static int
on_event(const struct uw_event *ev, void *arg)
{
	struct counter *n = arg;

	printf("EVENT %llu %s ", (unsigned long long)ev->id,
	    uw_op_name(ev->op));
	print_path(ev->path, ev->path_len);
	if (ev->verdict != NULL)
		printf(" -> %s/%s", uw_severity_name(ev->verdict->severity),
		    uw_action_name(ev->verdict->action));
	putchar('\n');
	/* one line at a time: a reader of a pipe sees each at once */
	if (fflush(stdout) != 0)
		return -EIO;
	n->events++;
	/* Enough: ask the watcher to stop.  It finishes the event at hand
	 * and commits the journal before uw_watch returns. */
	if (n->limit != 0 && n->events >= n->limit)
		stop = 1;
	return 0;
}

static void
on_notice(enum uw_notice_level level, const char *message, void *arg)
{
	(void)arg;
	fprintf(stderr, "watch-one: %s%s\n",
	    level == UW_NOTICE_INFO ? "" : "warning: ", message);
}

static void
on_progress(const struct uw_progress *p, void *arg)
{
	(void)p;
	(void)arg;
	/* A real tool would draw a progress line here. */
}

static int
usage(void)
{
	fputs("usage: watch-one [--db PATH] [--count N] [--policy PATH] "
	    "CONTAINER\n", stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	const char *db_path = "/var/lib/upperwatch/upperwatch.db";
	const char *policy = NULL, *want = NULL;
	struct counter counter = { 0, 0 };
	struct target target;
	struct uw_error err;
	struct uw_db *db = NULL;
	struct uw_baseline_opts bopts;
	struct uw_baseline_stats bstats;
	struct uw_watch_opts wopts;
	struct sigaction sa;
	int i, rc, status = 2;
	char *end;

	memset(&target, 0, sizeof(target));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			db_path = argv[++i];
		} else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
			policy = argv[++i];
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			errno = 0;
			counter.limit = strtoul(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || counter.limit == 0)
				return usage();
		} else if (argv[i][0] == '-' || want != NULL) {
			return usage();
		} else {
			want = argv[i];
		}
	}
	if (want == NULL)
		return usage();

	/* No SA_RESTART: the watcher's poll() returns EINTR, sees `stop`
	 * and winds down. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* 1. Find the container among every overlay mount on the host. */
	target.want = want;
	rc = uw_containers_foreach(NULL, find_container, &target, NULL, &err);
	if (rc < 0) {
		fprintf(stderr, "watch-one: %s\n", err.msg);
		goto out;
	}
	if (target.matches == 0) {
		fprintf(stderr, "watch-one: no container %s on this host\n",
		    want);
		status = 1;
		goto out;
	}
	if (target.matches > 1) {
		fprintf(stderr, "watch-one: %s names %d containers; give "
		    "more of the id\n", want, target.matches);
		goto out;
	}
	if (target.lower_count == 0) {
		fprintf(stderr, "watch-one: container %s has no image "
		    "layers\n", target.id);
		goto out;
	}
	fprintf(stderr, "watch-one: container %s (%s, image %s) upper %s, "
	    "%zu layers\n", target.id, target.name, target.image,
	    target.upper, target.lower_count);

	db = uw_db_open(db_path, UW_DB_CREATE_DIR, &err);
	if (db == NULL) {
		fprintf(stderr, "watch-one: %s\n", err.msg);
		goto out;
	}

	/* 2. The baseline of its image, from the image's layers, under the
	 * image key the watcher looks it up by (every container of these
	 * layers shares it). */
	memset(&bopts, 0, sizeof(bopts));
	bopts.image = target.image_key;
	bopts.layers = (const char *const *)target.lower;
	bopts.layer_count = target.lower_count;
	bopts.progress = on_progress;
	bopts.cancel = &stop;
	rc = uw_baseline_build(db, &bopts, &bstats, &err);
	if (rc == -ECANCELED) {
		status = 0;	/* interrupted: the old baseline is kept */
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "watch-one: baseline: %s\n", err.msg);
		goto out;
	}
	fprintf(stderr, "watch-one: baseline %s: %llu entries, %llu files, "
	    "%llu bytes in %.2f s\n", target.image_key,
	    (unsigned long long)bstats.entries,
	    (unsigned long long)bstats.files,
	    (unsigned long long)bstats.bytes, bstats.seconds);

	/* 3. Watch that container only.  Its start-up scan reports what it
	 * changed before we looked; then every change as it happens. */
	memset(&wopts, 0, sizeof(wopts));
	wopts.container = target.id;
	wopts.no_auto_baseline = 1;	/* we just built it */
	wopts.on_event = on_event;
	wopts.on_notice = on_notice;
	wopts.arg = &counter;
	wopts.stop = &stop;
	wopts.policy.max_action = UW_ACT_ALERT;	/* judge, never pause or kill */
	if (policy != NULL) {
		wopts.policy.paths = &policy;
		wopts.policy.path_count = 1;
	}
	rc = uw_watch(db, &wopts, &err);
	if (rc < 0) {
		fprintf(stderr, "watch-one: watch: %s\n", err.msg);
		goto out;
	}
	status = 0;
out:
	fprintf(stderr, "watch-one: %lu events\n", counter.events);
	uw_db_close(db);
	target_free(&target);
	return status;
}
