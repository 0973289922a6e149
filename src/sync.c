/*
 * sync.c - the daemon's containers coming and going: the host's overlay
 * mounts joined with what their runtimes say (discover), each new one
 * given its baseline (built from its image's layers on first sight) and
 * its start-up scan, each gone one released.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "baseline.h"
#include "discover.h"
#include "fanotify.h"
#include "incident.h"
#include "journal.h"
#include "notice.h"
#include "overlay.h"
#include "pathset.h"
#include "prevent.h"
#include "scan.h"
#include "store.h"
#include "sync.h"
#include "util.h"
#include "walk.h"
#include "watch.h"
#include "watcher.h"

void
sync_ctr_free(struct wctr *c)
{
	if (c == NULL)
		return;
	discover_copy_free(c->info);
	drift_free(c->drift);
	if (c->root_fd >= 0)
		close(c->root_fd);
	free(c->wds);
	pathset_free(&c->pending);
	pathset_free(&c->aside);
	pathset_free(&c->slow);
	pathset_free(&c->gone);
	pathset_free(&c->reported);
	pathset_free(&c->lower_reported);
	pathset_free(&c->links);
	pkgview_free(&c->pkg);
	free(c);
}

/* A container to watch, holding a copy of what discovery said of it. */
static struct wctr *
ctr_new(const struct uw_container *src)
{
	struct wctr *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->root_fd = -1;
	pkgview_init(&c->pkg);
	c->info = discover_copy(src);
	if (c->info == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

/* ---- containers coming and going ---- */

/* Where the content writes of `c` come from, before its first watch:
 * fanotify where it marks the overlay, inotify where it cannot (and
 * with --content-events inotify or both). */
static void
start_content(struct watcher *w, struct wctr *c)
{
	int marked = fan_mark(w, c);

	c->inotify_writes = !marked || (w->inotify_writes &&
	    w->opts->content_events != UW_CONTENT_AUTO);
	c->close_writes = w->upper_closes;
}

#define START_RETRY_NS 30000000000LL	/* a container that failed to start */

/*
 * First sight of an image: its baseline comes from its layers, never from
 * the running container.  A layer that cannot be read whole (too deep,
 * unreadable files) leaves an incomplete baseline: the container is
 * watched against it anyway, and that is said.
 */
static int
auto_baseline(struct watcher *w, struct wctr *c)
{
	struct uw_baseline_opts bopts;
	struct uw_baseline_stats stats;
	int rc;

	rc = journal_settle(w);		/* the baseline writes here */
	memset(&bopts, 0, sizeof(bopts));
	bopts.image = c->info->image_key;
	bopts.layers = c->info->lower;
	bopts.layer_count = c->info->lower_count;
	bopts.overlay_flags = c->info->overlay_follow;
	bopts.allow_incomplete = 1;
	bopts.cancel = w->opts->stop;
	if (rc == 0)
		rc = baseline_build(w->store, &bopts, &stats, w->err);
	if (rc == 0)
		notice_info(w, "baseline of %s (%s) built from %zu layers: "
		    "%llu entries in %.2f s",
		    notice_escs(w, c->info->image_key),
		    notice_escs(w, c->info->image[0] ? c->info->image :
		    c->info->id), c->info->lower_count,
		    (unsigned long long)stats.entries, stats.seconds);
	return rc;
}

/* A container that cannot be watched now: said, and tried again later. */
static int
not_watched(struct watcher *w, struct wctr *c, const char *why)
{
	notice_coverage(w, c, "container %s is not watched: %s; tried again "
	    "in %lld s", notice_escs(w, c->info->id), why,
	    START_RETRY_NS / 1000000000);
	w->resync_ns = now_mono_ns() + START_RETRY_NS;
	sync_ctr_free(c);
	return 0;
}

/*
 * Start watching a container: its baseline (built from its image's layers
 * on first sight, recording what can be recorded), its upper root, its
 * journal state, and the start-up scan.  A container that cannot be
 * watched is said loudly and tried again later; only our own faults fail.
 */
int
sync_start(struct watcher *w, const struct uw_container *info)
{
	struct uw_container named;
	struct uw_error ignored;
	char digest[UW_DIGEST_MAX];
	struct walk_xattrs x;
	struct statfs sfs;
	struct wctr *c, **v;
	int64_t image_id;
	int rc;

	if (w->opts->image != NULL) {
		/* --image: its baseline is the one given */
		named = *info;
		named.image_key = w->opts->image;
		if (named.image[0] == '\0')
			named.image = w->opts->image;
		info = &named;
	} else if (image_digest(info->image_id, digest) &&
	    store_image_id(w->store, digest, &image_id, &ignored) == 0) {
		/* Its image as CI built it (baseline --oci, import): that
		 * baseline, rather than one of the node's layers. */
		named = *info;
		named.image_key = digest;
		info = &named;
	}
	c = ctr_new(info);
	if (c == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	c->alive = 1;
	c->verify_due = 1;	/* --verify-lower: at its start */
	rc = store_image_id(w->store, c->info->image_key, &image_id, w->err);
	if (rc == -ENOENT && !w->opts->no_auto_baseline &&
	    c->info->lower_count > 0 && w->opts->image == NULL)
		rc = auto_baseline(w, c);
	if (rc == 0)
		rc = store_image_incomplete(w->store, c->info->image_key,
		    c->incomplete, sizeof(c->incomplete), w->err);
	if (rc == -ENOMEM || rc == -ECANCELED)
		goto fail;
	if (rc < 0)
		return not_watched(w, c, w->err->msg);
	if (rc == 1)
		notice_coverage(w, c, "the baseline of %s is incomplete (%s): "
		    "container %s is watched against what it holds",
		    notice_escs(w, c->info->image_key), c->incomplete,
		    notice_escs(w, c->info->id));
	c->dialect = overlay_dialect(c->info->overlay_follow, 0);
	c->drift = drift_new(w->store, c->info->image_key, w->err);
	c->root_fd = walk_open_upper(c->info->upper);
	if (c->drift == NULL || c->root_fd < 0)
		return not_watched(w, c, c->drift == NULL ? w->err->msg :
		    strerror(-c->root_fd));
	drift_set_root(c->drift, c->root_fd);
	drift_set_dialect(c->drift, c->dialect);
	rc = pkgview_load(&c->pkg, w->store, c->info->image_key, c->root_fd,
	    w->err);
	if (rc < 0)
		goto fail;	/* out of memory */
	if (walk_read_xattrs(c->root_fd, c->dialect, &x) == 0)
		c->root_xwhiteouts = (x.flags & WALK_X_XWHITEOUTS) != 0;
	c->ctime_blind = fstatfs(c->root_fd, &sfs) != 0 ||
	    sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;
	v = realloc(w->ctrs, (w->ctr_count + 1) * sizeof(*v));
	if (v == NULL) {
		rc = seterr(w->err, -ENOMEM, "out of memory");
		goto fail;
	}
	w->ctrs = v;
	w->ctrs[w->ctr_count++] = c;
	start_content(w, c);
	rc = prevent_add(w, c);
	if (rc < 0)
		return rc;	/* out of memory: the watcher stops */
	notice_info(w, "watching container %s (%s, %s) upper %s",
	    notice_escs(w, c->info->id), notice_escs(w, c->info->name),
	    c->info->runtime, notice_escs(w, c->info->upper));
	notice_info(w, "container %s is judged against the baseline of %s",
	    notice_escs(w, c->info->id), notice_escs(w, c->info->image_key));
	/* The start-up scan: drift made while nobody watched. */
	rc = journal_load_state(w, c);
	return rc < 0 ? rc : scan_container(w, c);
fail:
	sync_ctr_free(c);
	return rc;
}

static void
stop_container(struct watcher *w, size_t i)
{
	struct wctr *c = w->ctrs[i];

	if (incident_end(w, c) < 0)
		notice_warn(w, "container %s: its last package transaction "
		    "could not be handed out: %s", notice_escs(w, c->info->id),
		    w->err->msg);
	notice_info(w, "container %s is gone; %zu watches released",
	    notice_escs(w, c->info->id), c->wd_count);
	scan_ctx_drop(w, c);
	watch_drop(w, c);
	prevent_drop(w, c);
	sync_ctr_free(c);
	w->ctrs[i] = w->ctrs[--w->ctr_count];
}

struct sync_ctx {
	struct watcher *w;
	int rc;
};

/* Does --container name this one?  The best kind of match on the host
 * wins (discover_match): "web-1" must not also watch "web-10". */
static int
want_container(const struct watcher *w, const struct uw_container *info)
{
	enum uw_container_match m;

	if (w->opts->container == NULL)
		return 1;
	m = discover_match(info, w->opts->container);
	return m != UW_MATCH_NONE && m >= w->match_best;
}

static int
best_match(const struct uw_container *info, void *arg)
{
	struct watcher *w = arg;
	enum uw_container_match m = discover_match(info, w->opts->container);

	if (m > w->match_best)
		w->match_best = m;
	return 0;
}

/*
 * What the runtime wrote after we first saw the mount: its pid and
 * cgroups (a pause or kill needs them).  Strings are replaced only when
 * they were empty, so pointers handed out before stay valid until the
 * container goes.
 */
static int
update_container(struct watcher *w, struct wctr *c,
    const struct uw_container *info)
{
	if (c->info->pid == 0)
		c->info->pid = info->pid;
	if (discover_copy_set_cgroups(c->info, info->cgroup_v2,
	    info->cgroup_v1_freezer) < 0)
		return seterr(w->err, -ENOMEM, "out of memory");
	return 0;
}

struct refresh_ctx {
	struct watcher *w;
	struct wctr *c;
	int rc;
};

static int
refresh_one(const struct uw_container *info, void *arg)
{
	struct refresh_ctx *r = arg;

	if (strcmp(r->c->info->mount_point, info->mount_point) != 0)
		return 0;
	r->rc = update_container(r->w, r->c, info);
	return 1;
}

/* Read what the runtime says of `c` now (before a pause or kill, when
 * its cgroups were not known yet).  0, or -ENOMEM. */
int
sync_refresh(struct watcher *w, struct wctr *c)
{
	struct refresh_ctx r = { w, c, 0 };
	struct uw_error err;

	if (discover_foreach(NULL, refresh_one, &r, NULL, &err) < 0)
		return 0;	/* nothing better to go on: the caller says */
	return r.rc;
}

#define UNCLAIMED_WAIT_NS 2000000000	/* then watch it as "unknown" */
#define RESYNC_NS 300000000

static int
sync_one(const struct uw_container *info, void *arg)
{
	struct sync_ctx *s = arg;
	struct watcher *w = s->w;
	struct pathset_entry *e;
	int64_t now;
	size_t i;

	for (i = 0; i < w->ctr_count; i++) {
		if (strcmp(w->ctrs[i]->info->mount_point,
		    info->mount_point) != 0)
			continue;
		if (strcmp(w->ctrs[i]->info->runtime, "unknown") == 0 &&
		    strcmp(info->runtime, "unknown") != 0 &&
		    want_container(w, info)) {
			/* A runtime claimed it late: it is that container
			 * now, with its own id, name and cgroups. */
			notice_info(w, "container %s is %s's %s",
			    notice_escs(w, w->ctrs[i]->info->id),
			    info->runtime,
			    notice_escs(w, info->id));
			stop_container(w, i);
			s->rc = sync_start(w, info);
			return s->rc == -ECANCELED ? 1 : 0;
		}
		w->ctrs[i]->alive = 1;
		return update_container(w, w->ctrs[i], info);
	}
	if (strcmp(info->runtime, "unknown") == 0) {
		now = now_mono_ns();
		e = pathset_get(&w->unclaimed, (const unsigned char *)
		    info->mount_point, strlen(info->mount_point), 1);
		if (e == NULL)
			return -ENOMEM;
		if (e->first_ns == 0)
			e->first_ns = now;
		if (now - e->first_ns < UNCLAIMED_WAIT_NS) {
			w->resync_ns = now + RESYNC_NS;
			return 0;
		}
	}
	if (!want_container(w, info))
		return 0;
	s->rc = sync_start(w, info);
	return s->rc == -ECANCELED ? 1 : 0;
}

/* Follow the host: start new containers, drop the gone ones. */
int
sync_containers(struct watcher *w)
{
	struct sync_ctx s = { w, 0 };
	size_t i;
	int rc;

	for (i = 0; i < w->ctr_count; i++)
		w->ctrs[i]->alive = 0;
	w->resync_ns = 0;
	if (w->opts->container != NULL && w->match_best < UW_MATCH_NAME) {
		rc = discover_foreach(NULL, best_match, w, NULL, w->err);
		if (rc < 0)
			return rc;
	}
	rc = discover_foreach(NULL, sync_one, &s, NULL, w->err);
	if (rc < 0)
		return rc;
	if (s.rc < 0)
		return s.rc;
	for (i = w->ctr_count; i > 0; i--)
		if (!w->ctrs[i - 1]->alive)
			stop_container(w, i - 1);
	return 0;
}
