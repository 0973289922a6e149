/*
 * drift_diff.c - the offline diff (uw_diff): every entry of a container's
 * upper dir, walked in byte order with upperwalk, classified against the
 * image baseline by drift_entry and handed to the caller's callback,
 * but the excluded ones.  An entry deeper than WALK_MAX_DEPTH is
 * reported as such, never read below and never skipped.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "drift.h"
#include "glob.h"
#include "overlay.h"
#include "package.h"
#include "upperwalk.h"
#include "walk.h"

/* Does one of the --exclude globs match container path path[0..len)? */
static int
excluded(const struct uw_diff_opts *opts, const unsigned char *path,
    size_t len)
{
	size_t i;

	for (i = 0; i < opts->exclude_count; i++)
		if (glob_match(opts->excludes[i], strlen(opts->excludes[i]),
		    path, len) == 1)
			return 1;
	return 0;
}

/* The caller's callback, how many events were handed to it, and what
 * the package databases say of each. */
struct diff_counter {
	int (*cb)(const struct uw_event *, void *);
	void *arg;
	uint64_t events;
	struct pkgview pkg;
	int root_fd;
};

static int
count_event(const struct uw_event *ev, void *arg)
{
	struct diff_counter *c = arg;
	struct uw_event out = *ev;

	c->events++;
	pkgview_annotate(&c->pkg, c->root_fd, &out, -1, 0);
	return c->cb(&out, c->arg);
}

/* Open and read the upper root into `top`: its fd (also the root drift
 * reports hard links against), xattr flags (in the mount's `dialect`)
 * and listing. */
static int
diff_open_root(struct drift *d, const struct uw_diff_opts *opts,
    unsigned dialect, struct drift_child *top, struct uw_error *err)
{
	struct walk_xattrs x;
	int fd, rc;

	fd = walk_open_upper(opts->upper);
	if (fd < 0)
		return seterr(err, fd, "%s: %s", opts->upper, strerror(-fd));
	top->fd = fd;
	drift_set_root(d, fd);
	rc = walk_read_xattrs(fd, dialect, &x);
	if (rc == 0)
		rc = walk_list(fd, &top->names);
	if (rc < 0)
		return seterr(err, rc, "%s: cannot read: %s", opts->upper,
		    strerror(-rc));
	top->xwhiteouts = (x.flags & WALK_X_XWHITEOUTS) != 0;
	return 0;
}

/* Classify one entry of the walk, and go down into it when it is a dir
 * to read.  0, the callback's non-zero value, or a negative error. */
static int
diff_entry(struct drift *d, struct upperwalk *walk,
    const struct upperwalk_entry *e, struct diff_counter *counter,
    struct uw_error *err)
{
	struct drift_child *child;
	int rc;

	if (e->depth >= WALK_MAX_DEPTH) {
		/* Reported, never skipped: what lies below is not read, and
		 * the report says so. */
		return drift_error_entry(d, &e->dir, e->name, e->name_len,
		    WALK_DEEP_REASON, count_event, counter, err);
	}
	child = upperwalk_child(walk);
	child->want_names = 1;
	rc = drift_entry(d, &e->dir, e->name, e->name_len, child,
	    count_event, counter, err);
	if (rc != 0 || child->fd < 0)
		return rc;
	rc = upperwalk_descend(walk);
	if (rc < 0)
		return seterr(err, rc, "out of memory");
	return 0;
}

/* Every entry of the walk, in byte order, but the excluded ones. */
static int
diff_walk(struct drift *d, struct upperwalk *walk,
    const struct uw_diff_opts *opts, struct uw_diff_stats *stats,
    struct diff_counter *counter, struct uw_error *err)
{
	struct upperwalk_entry e;
	int rc;

	for (;;) {
		if (opts->cancel != NULL && *opts->cancel)
			return seterr(err, -ECANCELED, "interrupted");
		rc = upperwalk_next(walk, &e);
		if (rc == 0)
			return 0;
		stats->entries++;
		if (rc < 0)
			return seterr(err, rc, "path too long");
		if (excluded(opts, e.path, e.path_len))
			continue;
		rc = diff_entry(d, walk, &e, counter, err);
		if (rc != 0)
			return rc;
	}
}

int
drift_diff(struct store *store, const struct uw_diff_opts *opts,
    struct uw_diff_stats *stats, struct uw_error *err)
{
	struct uw_diff_stats local;
	struct diff_counter counter;
	struct drift_child top;
	struct upperwalk *walk = NULL;
	struct drift *d;
	int64_t start = now_mono_ns();
	unsigned dialect;
	size_t i;
	int rc;

	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	for (i = 0; i < opts->exclude_count; i++)
		if (glob_check(opts->excludes[i],
		    strlen(opts->excludes[i])) < 0)
			return seterr(err, -EINVAL, "bad exclude pattern: %s",
			    opts->excludes[i]);
	counter.cb = opts->cb;
	counter.arg = opts->arg;
	counter.events = 0;
	pkgview_init(&counter.pkg);
	d = drift_new(store, opts->image, err);
	if (d == NULL)
		return err->code;
	dialect = overlay_dialect(opts->overlay_flags, opts->oci_whiteouts);
	drift_set_dialect(d, dialect);
	drift_child_init(&top);
	rc = diff_open_root(d, opts, dialect, &top, err);
	counter.root_fd = top.fd;
	if (rc == 0)
		rc = pkgview_load(&counter.pkg, store, opts->image, top.fd, err);
	if (rc == 0) {
		walk = upperwalk_new(&top, (const unsigned char *)"", 0,
		    UPPERWALK_SORTED);
		if (walk == NULL)
			rc = seterr(err, -ENOMEM, "out of memory");
	}
	if (rc == 0)
		rc = diff_walk(d, walk, opts, stats, &counter, err);
	upperwalk_free(walk);
	pkgview_free(&counter.pkg);
	drift_child_free(&top);
	drift_free(d);
	stats->events = counter.events;
	stats->seconds = (double)(now_mono_ns() - start) / 1e9;
	return rc;
}
