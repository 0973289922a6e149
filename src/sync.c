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
#include <unistd.h>

#include "baseline.h"
#include "daemon.h"
#include "discover.h"
#include "overlay.h"
#include "pathset.h"
#include "store.h"
#include "util.h"
#include "walk.h"

static char *
xstrdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

void
sync_ctr_free(struct wctr *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < sizeof(c->strs) / sizeof(c->strs[0]); i++)
		free(c->strs[i]);
	for (i = 0; c->lower != NULL && i < c->info.lower_count; i++)
		free(c->lower[i]);
	free(c->lower);
	for (i = 0; i < c->label_count; i++) {
		free((char *)c->labels[i].key);
		free((char *)c->labels[i].value);
	}
	free(c->labels);
	free(c->mount_point);
	drift_free(c->drift);
	if (c->root_fd >= 0)
		close(c->root_fd);
	free(c->wds);
	pathset_free(&c->pending);
	pathset_free(&c->aside);
	pathset_free(&c->reported);
	free(c);
}

/* Copy what discovery said of a container. */
static struct wctr *
ctr_new(const struct uw_container *src)
{
	struct wctr *c;
	const char *fields[11] = {
		src->id, src->name, src->runtime, src->image, src->image_id,
		src->image_key, src->pod, src->pod_namespace, src->upper,
		src->cgroup_v2, src->cgroup_v1_freezer
	};
	size_t i;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->root_fd = -1;
	for (i = 0; i < 11; i++) {
		c->strs[i] = xstrdup(fields[i]);
		if (c->strs[i] == NULL)
			goto fail;
	}
	c->info = *src;
	c->info.id = c->strs[0];
	c->info.name = c->strs[1];
	c->info.runtime = c->strs[2];
	c->info.image = c->strs[3];
	c->info.image_id = c->strs[4];
	c->info.image_key = c->strs[5];
	c->info.pod = c->strs[6];
	c->info.pod_namespace = c->strs[7];
	c->info.upper = c->strs[8];
	c->info.cgroup_v2 = c->strs[9];
	c->info.cgroup_v1_freezer = c->strs[10];
	c->info.mount_point = "";
	c->mount_point = xstrdup(src->mount_point);
	c->lower = calloc(src->lower_count + 1, sizeof(*c->lower));
	c->labels = calloc(src->label_count + 1, sizeof(*c->labels));
	if (c->mount_point == NULL || c->lower == NULL || c->labels == NULL)
		goto fail;
	for (i = 0; i < src->lower_count; i++) {
		c->lower[i] = xstrdup(src->lower[i]);
		if (c->lower[i] == NULL)
			goto fail;
	}
	c->info.lower = (const char *const *)c->lower;
	for (i = 0; i < src->label_count; i++) {
		c->labels[i].key = xstrdup(src->labels[i].key);
		c->labels[i].value = xstrdup(src->labels[i].value);
		c->label_count++;
		if (c->labels[i].key == NULL || c->labels[i].value == NULL)
			goto fail;
	}
	c->info.labels = c->labels;
	c->info.label_count = c->label_count;
	return c;
fail:
	sync_ctr_free(c);
	return NULL;
}

/*
 * A container could not be scanned (`why`): said once per cause (and
 * alerted), rescanned every DEGRADED_RESCAN_NS until it can be; the
 * others are untouched.
 */
void
sync_degrade(struct watcher *w, struct wctr *c, const char *why)
{
	c->next_rescan_ns = now_mono_ns() + DEGRADED_RESCAN_NS;
	if (strcmp(c->degraded, why) == 0)
		return;
	snprintf(c->degraded, sizeof(c->degraded), "%s", why);
	daemon_coverage(w, c, "container %s is degraded: %s; rescanned every "
	    "%lld s until it can be read", daemon_escs(w, c->info.id), why,
	    DEGRADED_RESCAN_NS / 1000000000);
}

/* ---- containers coming and going ---- */

#define START_RETRY_NS 30000000000LL	/* a container that failed to start */

/*
 * Start watching a container: its baseline (built from its image's layers
 * on first sight, recording what can be recorded), its upper root, its
 * journal state, and the start-up scan.  A container that cannot be
 * watched is said loudly and tried again later; only our own faults fail.
 */
int
sync_start(struct watcher *w, const struct uw_container *info)
{
	struct uw_baseline_opts bopts;
	struct uw_baseline_stats stats;
	struct walk_xattrs x;
	struct wctr *c, **v;
	int64_t image_id;
	int rc;

	c = ctr_new(info);
	if (c == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	c->alive = 1;
	if (w->opts->image != NULL) {
		free(c->strs[5]);
		c->strs[5] = xstrdup(w->opts->image);
		c->info.image_key = c->strs[5];
		if (c->info.image[0] == '\0')
			c->info.image = c->strs[5];
	}
	rc = store_image_id(w->store, c->info.image_key, &image_id, w->err);
	if (rc == -ENOENT && !w->opts->no_auto_baseline &&
	    c->info.lower_count > 0 && w->opts->image == NULL) {
		/* First sight of this image: its baseline comes from its
		 * layers, never from the running container.  A layer that
		 * cannot be read whole (too deep, unreadable files) leaves
		 * an incomplete baseline: the container is watched against
		 * it anyway, and that is said. */
		rc = journal_commit(w);
		memset(&bopts, 0, sizeof(bopts));
		bopts.image = c->info.image_key;
		bopts.layers = c->info.lower;
		bopts.layer_count = c->info.lower_count;
		bopts.overlay_flags = c->info.overlay_follow;
		bopts.allow_incomplete = 1;
		bopts.cancel = w->opts->stop;
		if (rc == 0)
			rc = baseline_build(w->store, &bopts, &stats, w->err);
		if (rc == 0)
			daemon_notice(w, "baseline of %s (%s) built from %zu "
			    "layers: %llu entries in %.2f s",
			    daemon_escs(w, c->info.image_key),
			    daemon_escs(w, c->info.image[0] ? c->info.image :
			    c->info.id), c->info.lower_count,
			    (unsigned long long)stats.entries, stats.seconds);
	}
	if (rc == 0)
		rc = store_image_incomplete(w->store, c->info.image_key,
		    c->incomplete, sizeof(c->incomplete), w->err);
	if (rc == -ENOMEM || rc == -ECANCELED)
		goto fail;
	if (rc < 0) {
		daemon_coverage(w, c, "container %s is not watched: %s; tried "
		    "again in %lld s", daemon_escs(w, c->info.id), w->err->msg,
		    START_RETRY_NS / 1000000000);
		w->resync_ns = now_mono_ns() + START_RETRY_NS;
		sync_ctr_free(c);
		return 0;
	}
	if (rc == 1)
		daemon_coverage(w, c, "the baseline of %s is incomplete (%s): "
		    "container %s is watched against what it holds",
		    daemon_escs(w, c->info.image_key), c->incomplete,
		    daemon_escs(w, c->info.id));
	c->dialect = overlay_dialect(c->info.overlay_follow, 0);
	c->drift = drift_new(w->store, c->info.image_key, w->err);
	c->root_fd = walk_open_root(c->info.upper);
	if (c->drift == NULL || c->root_fd < 0) {
		daemon_coverage(w, c, "container %s is not watched: %s; tried "
		    "again in %lld s", daemon_escs(w, c->info.id),
		    c->drift == NULL ?
		    w->err->msg : strerror(-c->root_fd),
		    START_RETRY_NS / 1000000000);
		w->resync_ns = now_mono_ns() + START_RETRY_NS;
		sync_ctr_free(c);
		return 0;
	}
	drift_set_root(c->drift, c->root_fd);
	drift_set_dialect(c->drift, c->dialect);
	if (walk_read_xattrs(c->root_fd, c->dialect, &x) == 0)
		c->root_xwhiteouts = (x.flags & WALK_X_XWHITEOUTS) != 0;
	v = realloc(w->ctrs, (w->ctr_count + 1) * sizeof(*v));
	if (v == NULL) {
		rc = seterr(w->err, -ENOMEM, "out of memory");
		goto fail;
	}
	w->ctrs = v;
	w->ctrs[w->ctr_count++] = c;
	daemon_notice(w, "watching container %s (%s, %s) upper %s",
	    daemon_escs(w, c->info.id), daemon_escs(w, c->info.name),
	    c->info.runtime, daemon_escs(w, c->info.upper));
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

	daemon_notice(w, "container %s is gone; %zu watches released",
	    daemon_escs(w, c->info.id), c->wd_count);
	if (w->ctx_ctr == c)
		w->ctx_valid = 0;
	watch_drop(w, c);
	sync_ctr_free(c);
	w->ctrs[i] = w->ctrs[--w->ctr_count];
}

struct sync_ctx {
	struct watcher *w;
	int rc;
};

/* Does --container name this one?  An exact id or name wins over an id
 * prefix ("web-1" must not also watch "web-10"). */
static int
want_container(const struct watcher *w, const struct uw_container *info)
{
	const char *want = w->opts->container;

	if (want == NULL)
		return 1;
	if (strcmp(info->id, want) == 0 || strcmp(info->name, want) == 0)
		return 1;
	return !w->exact_only && strlen(want) >= 4 &&
	    strncmp(info->id, want, strlen(want)) == 0;
}

static int
count_exact(const struct uw_container *info, void *arg)
{
	struct watcher *w = arg;

	if (strcmp(info->id, w->opts->container) == 0 ||
	    strcmp(info->name, w->opts->container) == 0)
		w->exact_only = 1;
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
	char *v2 = NULL, *v1 = NULL;

	if (c->info.pid == 0)
		c->info.pid = info->pid;
	if (c->info.cgroup_v2[0] == '\0' && info->cgroup_v2[0] != '\0') {
		v2 = strdup(info->cgroup_v2);
		if (v2 == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		free(c->strs[9]);
		c->strs[9] = v2;
		c->info.cgroup_v2 = v2;
	}
	if (c->info.cgroup_v1_freezer[0] == '\0' &&
	    info->cgroup_v1_freezer[0] != '\0') {
		v1 = strdup(info->cgroup_v1_freezer);
		if (v1 == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		free(c->strs[10]);
		c->strs[10] = v1;
		c->info.cgroup_v1_freezer = v1;
	}
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

	if (strcmp(r->c->mount_point, info->mount_point) != 0)
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
		if (strcmp(w->ctrs[i]->mount_point, info->mount_point) != 0)
			continue;
		if (strcmp(w->ctrs[i]->info.runtime, "unknown") == 0 &&
		    strcmp(info->runtime, "unknown") != 0 &&
		    want_container(w, info)) {
			/* A runtime claimed it late: it is that container
			 * now, with its own id, name and cgroups. */
			daemon_notice(w, "container %s is %s's %s",
			    daemon_escs(w, w->ctrs[i]->info.id),
			    info->runtime,
			    daemon_escs(w, info->id));
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
	if (w->opts->container != NULL && !w->exact_only) {
		rc = discover_foreach(NULL, count_exact, w, NULL, w->err);
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
