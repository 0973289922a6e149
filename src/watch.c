/*
 * watch.c - inotify on every watched upper dir: each event a trigger to
 * look at one entry again (the `look` callback, after a quiet period).
 *
 * The inotify instance is libinotifytools' (process-wide, in its globals:
 * this file is the only one that talks to it, and only one watcher may
 * run in a process).  Its watches, though, are added here, through the
 * fd of the directory, opened beneath the upper root without following
 * any symlink (inotify_add_watch on /proc/self/fd/N): a container swaps
 * dirs for symlinks at will, and a watch added by path could land on a
 * host dir.  So the table from watch descriptor to container path is
 * ours too; libinotifytools' own table, keyed by the path a watch was
 * added by, would hold /proc/self/fd names.  The events are read here
 * from its fd, because its next_event() blocks whatever the timeout
 * says, and the loop must also wait on the mount table, on timers and on
 * signals.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <inotifytools/inotifytools.h>

#include "fanotify.h"
#include "notice.h"
#include "pathset.h"
#include "scan.h"
#include "util.h"
#include "watch.h"
#include "watcher.h"

/* libinotifytools hides its fd: find the inotify instance it opened. */
static int
find_inotify_fd(void)
{
	char link[64], target[64];
	struct dirent *de;
	DIR *dh;
	ssize_t n;
	int fd, best = -1;

	dh = opendir("/proc/self/fd");
	if (dh == NULL)
		return -errno;
	while ((de = readdir(dh)) != NULL) {
		fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == dirfd(dh))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:inotify") == 0 && fd > best)
			best = fd;
	}
	closedir(dh);
	return best >= 0 ? best : -ENOENT;
}

/*
 * Open libinotifytools' instance (process-wide: one watcher per process)
 * and find its fd, made non-blocking for the event loop; set the watch
 * budget per container.  0, or a negative error in w->err.
 */
int
watch_open(struct watcher *w)
{
	int n;

	if (!inotifytools_initialize())
		return seterr(w->err, -inotifytools_error(), "inotify: %s",
		    strerror(inotifytools_error()));
	w->inotify_fd = find_inotify_fd();
	if (w->inotify_fd < 0)
		return seterr(w->err, w->inotify_fd,
		    "cannot find the inotify fd");
	fcntl(w->inotify_fd, F_SETFL, fcntl(w->inotify_fd, F_GETFL) |
	    O_NONBLOCK);
	fcntl(w->inotify_fd, F_SETFD, FD_CLOEXEC);
	w->max_watches = w->opts->max_watches_per_container;
	if (w->max_watches == 0) {
		/* A quarter of the user's watches (kubelet and systemd use
		 * them too), at most 16,384 dirs of one upper. */
		n = inotifytools_get_max_user_watches();
		w->max_watches = n > 0 ? (size_t)n / 4 : 8192;
		if (w->max_watches > 16384)
			w->max_watches = 16384;
		if (w->max_watches < 256)
			w->max_watches = 256;
	}
	return 0;
}

/* Close the instance (every watch goes with it) and free the wd table. */
void
watch_close(struct watcher *w)
{
	size_t i;

	for (i = 0; i < w->by_wd_size; i++)
		free(w->by_wd[i].path);
	free(w->by_wd);
	w->by_wd = NULL;
	w->by_wd_size = 0;
	inotifytools_cleanup();
}

/* fs.inotify.max_user_watches, or -1. */
int
watch_system_limit(void)
{
	return inotifytools_get_max_user_watches();
}

/* Forget watch descriptor `wd` (the kernel dropped it, or we did). */
static void
forget_wd(struct watcher *w, int wd)
{
	struct wdir *d = &w->by_wd[wd];
	struct wctr *c = d->c;
	size_t k;

	for (k = 0; c != NULL && k < c->wd_count; k++) {
		if (c->wds[k] == wd) {
			c->wds[k] = c->wds[--c->wd_count];
			break;
		}
	}
	free(d->path);
	memset(d, 0, sizeof(*d));
}

/* Record that `wd` watches the dir at container path `path` of `c`. */
static int
remember_wd(struct watcher *w, struct wctr *c, int wd,
    const unsigned char *path, size_t len)
{
	struct wdir *v, *d;
	unsigned char *copy;
	int *wds;
	size_t size;

	if ((size_t)wd >= w->by_wd_size) {
		size = w->by_wd_size ? w->by_wd_size : 1024;
		while (size <= (size_t)wd)
			size *= 2;
		v = realloc(w->by_wd, size * sizeof(*v));
		if (v == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		memset(v + w->by_wd_size, 0, (size - w->by_wd_size) *
		    sizeof(*v));
		w->by_wd = v;
		w->by_wd_size = size;
	}
	d = &w->by_wd[wd];
	if (d->c != NULL && d->c != c)
		return 0;	/* another container's dir: never ours */
	if (d->c == c && d->len == len && memcmp(d->path, path, len) == 0)
		return 0;	/* watched already */
	copy = malloc(len + 1);
	if (copy == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	memcpy(copy, path, len);
	copy[len] = '\0';
	if (d->c == c) {
		/* the same dir under another name: moved */
		free(d->path);
		d->path = copy;
		d->len = len;
		return 0;
	}
	if (c->wd_count == c->wd_alloc) {
		size = c->wd_alloc ? c->wd_alloc * 2 : 64;
		wds = realloc(c->wds, size * sizeof(*wds));
		if (wds == NULL) {
			free(copy);
			return seterr(w->err, -ENOMEM, "out of memory");
		}
		c->wds = wds;
		c->wd_alloc = size;
	}
	c->wds[c->wd_count++] = wd;
	d->c = c;
	d->path = copy;
	d->len = len;
	return 0;
}

void
watch_drop(struct watcher *w, struct wctr *c)
{
	int wd;

	while (c->wd_count > 0) {
		wd = c->wds[c->wd_count - 1];
		inotify_rm_watch(w->inotify_fd, wd);
		forget_wd(w, wd);
	}
}

/*
 * Stop watching `c`: it is rescanned every limited_rescan_ns instead,
 * until it has few enough dirs again (LIMIT_BUDGET) or a while has passed
 * (LIMIT_SYSTEM: other watchers may have let go of theirs).  Its
 * watches are released for the other containers.
 */
static void
limit(struct watcher *w, struct wctr *c, enum limit_cause cause)
{
	if (c->limited != LIMIT_NONE)
		return;
	c->limited = cause;
	c->limited_since_ns = now_mono_ns();
	watch_drop(w, c);
	/* every cached context stale, none freed: the look that got here
	 * may still use the one it is in */
	w->dir_gen++;
	if (c->next_rescan_ns > now_mono_ns() + w->limited_rescan_ns)
		c->next_rescan_ns = now_mono_ns() + w->limited_rescan_ns;
	if (cause == LIMIT_BUDGET)
		notice_coverage(w, c, "container %s has more than %zu dirs to "
		    "watch (--max-watches-per-container): it is rescanned "
		    "every %lld s instead of watched until it has fewer",
		    notice_escs(w, c->info->id), w->max_watches,
		    (long long)(w->limited_rescan_ns / 1000000000));
	else
		notice_coverage(w, c, "the inotify watch limit "
		    "(fs.inotify.max_user_watches = %d) is reached: container "
		    "%s is rescanned every %lld s instead of watched; raise "
		    "the limit", inotifytools_get_max_user_watches(),
		    notice_escs(w, c->info->id),
		    (long long)(w->limited_rescan_ns / 1000000000));
}

/*
 * Watch the dir open at `fd`, at container path `path` of `c`, through
 * the fd: whatever the container has made of that path since, the watch
 * is on the dir that was opened beneath its upper root.  Over a limit
 * the container falls back to rescans, loudly; a dir that cannot be
 * watched for another reason is counted, and the container rescanned
 * soon.  Fails only when out of memory.
 */
int
watch_add(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, int fd)
{
	/* Writes come from fanotify where it marked the overlay (and the
	 * closes of the upper files from inotify: watcher.h's
	 * upper_closes). */
	uint32_t mask = c->inotify_writes ? WATCH_MASK :
	    WATCH_MASK & ~(uint32_t)(IN_MODIFY |
	    (c->close_writes ? 0 : IN_CLOSE_WRITE));
	char proc[40];
	int wd, e;

	if (c->limited != LIMIT_NONE)
		return 0;
	while (len > 0 && path[len - 1] == '/')
		len--;		/* the root is "" */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (c->wd_count >= w->max_watches) {
		/* unless it is one of ours already (a rescan) */
		wd = inotify_add_watch(w->inotify_fd, proc, mask |
		    IN_MASK_CREATE);
		if (wd < 0 && errno == EEXIST)
			return 0;
		if (wd >= 0)
			inotify_rm_watch(w->inotify_fd, wd);
		limit(w, c, LIMIT_BUDGET);
		return 0;
	}
	wd = inotify_add_watch(w->inotify_fd, proc, mask);
	if (wd < 0) {
		e = errno;
		if (e == ENOSPC) {
			limit(w, c, LIMIT_SYSTEM);
			return 0;
		}
		if (c->unwatched++ == 0)
			notice_coverage(w, c, "container %s: %s cannot be "
			    "watched (%s): the container is rescanned every "
			    "%lld s while it is so",
			    notice_escs(w, c->info->id),
			    notice_esc(w, path, len), strerror(e),
			    UNWATCHED_RESCAN_NS / 1000000000);
		if (c->next_rescan_ns > now_mono_ns() + UNWATCHED_RESCAN_NS)
			c->next_rescan_ns = now_mono_ns() +
			    UNWATCHED_RESCAN_NS;
		return 0;
	}
	return remember_wd(w, c, wd, path, len);
}

/*
 * A dir of `c` was renamed from `from` to `to` (container paths): so were
 * the paths of the watches at and below it.  A watch whose path grows
 * past WATCH_MAX_PATH is dropped: the scan of the moved dir, and a
 * rescan, report what is there as too long.
 */
static int
rename_watches(struct watcher *w, struct wctr *c, const unsigned char *from,
    size_t from_len, const unsigned char *to, size_t to_len)
{
	struct wdir *d;
	unsigned char *p;
	size_t k;

	for (k = 0; k < c->wd_count; k++) {
		d = &w->by_wd[c->wds[k]];
		if (d->len < from_len || memcmp(d->path, from, from_len) != 0 ||
		    (d->len > from_len && d->path[from_len] != '/'))
			continue;
		if (to_len + d->len - from_len > WATCH_MAX_PATH) {
			/* (the scan of the moved dir reports what is too
			 * long; a rescan backs it up, rate-limited, so that
			 * renames to and fro cannot buy one each) */
			inotify_rm_watch(w->inotify_fd, c->wds[k]);
			forget_wd(w, c->wds[k]);	/* wds[k]: the last */
			rescan_limited(c, &c->unmapped_rescan_ns,
			    UNMAPPED_RESCAN_NS);
			k--;
			continue;
		}
		p = malloc(to_len + d->len - from_len + 1);
		if (p == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		memcpy(p, to, to_len);
		memcpy(p + to_len, d->path + from_len, d->len - from_len);
		p[to_len + d->len - from_len] = '\0';
		free(d->path);
		d->path = p;
		d->len = to_len + d->len - from_len;
	}
	return 0;
}

/* ---- the event loop ---- */

int
watch_queue(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, unsigned flags, int64_t now)
{
	return watch_queue_by(w, c, path, len, flags, now, 0);
}

int
watch_queue_by(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, unsigned flags, int64_t now, uint64_t proc)
{
	struct pathset_entry *e;

	if (len > WATCH_MAX_PATH) {
		/* (a name in a dir at the limit) past what is read: a
		 * rescan reports it as such, no sooner than an unmapped
		 * write's */
		rescan_limited(c, &c->unmapped_rescan_ns, UNMAPPED_RESCAN_NS);
		return 0;
	}
	if (c->pending.count + c->aside.count >= MAX_PENDING) {
		c->needs_rescan = 1;	/* too much at once: rescan */
		return 0;
	}
	/* While the queue is drained it must not grow under the drain:
	 * what comes meanwhile waits aside. */
	e = pathset_get(w->draining == c ? &c->aside : &c->pending, path, len,
	    1);
	if (e == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	if (e->first_ns == 0) {
		const struct pathset_entry *known = pathset_get(&c->reported,
		    path, len, 0);

		e->first_ns = now;
		if (known != NULL && now - known->at_ns < RECENT_REPORT_NS)
			e->flags |= PENT_SLOW;
	}
	e->last_ns = now;
	e->flags |= flags;
	if (proc != 0)
		e->proc = proc;		/* the last writer named */
	return 0;
}

/* When the look at queued path e may be, `due` as the quiet period has
 * it: later if the last look at it was slow (see SLOW_LOOK_NS). */
static int64_t
slow_due(struct wctr *c, const struct pathset_entry *e, int64_t due)
{
	const struct pathset_entry *s;

	s = pathset_get(&c->slow, e->key, e->len, 0);
	return s != NULL && s->first_ns > due ? s->first_ns : due;
}

/* The look at `key` took `took` ns, ending at `now`: when slow, the next
 * waits SLOW_LOOK_SHARE times as long; else it need not wait. */
static int
slow_note(struct watcher *w, struct wctr *c, const unsigned char *key,
    size_t len, int64_t took, int64_t now)
{
	struct pathset_entry *s;

	if (took <= SLOW_LOOK_NS) {
		if (c->slow.count > 0 &&
		    (s = pathset_get(&c->slow, key, len, 0)) != NULL)
			pathset_del(&c->slow, s);
		return 0;
	}
	if (c->slow.count >= MAX_SLOW_PATHS &&
	    pathset_get(&c->slow, key, len, 0) == NULL)
		return 0;
	s = pathset_get(&c->slow, key, len, 1);
	if (s == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	s->first_ns = now + took * SLOW_LOOK_SHARE;
	return 0;
}

/* Move what waited aside during a drain into the queue. */
static int
merge_aside(struct watcher *w, struct wctr *c)
{
	struct pathset_entry *a, *e;
	size_t i;

	for (i = 0; (a = pathset_next(&c->aside, &i)) != NULL;) {
		e = pathset_get(&c->pending, a->key, a->len, 1);
		if (e == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
		if (e->first_ns == 0 || a->first_ns < e->first_ns)
			e->first_ns = a->first_ns;
		if (a->last_ns > e->last_ns)
			e->last_ns = a->last_ns;
		e->flags |= a->flags;
		if (a->proc != 0)
			e->proc = a->proc;
	}
	pathset_free(&c->aside);
	return 0;
}

static int
handle_event(struct watcher *w, struct inotify_event *ev, int64_t now)
{
	struct wdir *d;
	struct wctr *c;
	size_t nlen;
	unsigned flags = 0;
	int rc;

	if (ev->mask & IN_Q_OVERFLOW) {
		size_t i;

		notice_info(w, "inotify queue overflow: rescanning every "
		    "container");
		for (i = 0; i < w->ctr_count; i++)
			w->ctrs[i]->needs_rescan = 1;
		return 0;
	}
	if (ev->wd < 0 || (size_t)ev->wd >= w->by_wd_size ||
	    w->by_wd[ev->wd].c == NULL)
		return 0;
	d = &w->by_wd[ev->wd];
	c = d->c;
	if (ev->mask & IN_IGNORED) {
		/* The kernel dropped it (the dir is gone): so do we. */
		forget_wd(w, ev->wd);
		return 0;
	}
	buf_reset(&w->path);
	rc = buf_add(&w->path, d->path, d->len);
	nlen = ev->len ? strlen(ev->name) : 0;
	if (rc == 0 && nlen > 0) {
		rc = buf_addc(&w->path, '/');
		if (rc == 0)
			rc = buf_add(&w->path, ev->name, nlen);
	}
	if (rc < 0 || w->path.len == 0)
		return 0;	/* the upper root itself, or too long */
	if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
		flags |= PENT_SCAN_DIR;
	if (!(ev->mask & IN_ISDIR) && (ev->mask & (IN_ATTRIB | IN_MOVED_TO)) &&
	    nlen > 0 && w->touched != NULL) {
		w->touched(w, c, w->path.data, w->path.len);
		flags |= PENT_UNIGNORE;
	}
	/* A dir came, went, was renamed or had its xattrs (opaque,
	 * redirect) changed: cached dir contexts may be wrong now. */
	if ((ev->mask & IN_ISDIR) || nlen == 0)
		w->dir_gen++;
	if ((ev->mask & IN_ISDIR) && (ev->mask & IN_MOVED_FROM)) {
		/* Remember the old name, for its MOVED_TO twin. */
		buf_reset(&w->moved_from);
		if (buf_add(&w->moved_from, w->path.data, w->path.len) < 0)
			w->moved_ctr = NULL;
		else
			w->moved_ctr = c;
		w->moved_cookie = ev->cookie;
	} else if ((ev->mask & IN_ISDIR) && (ev->mask & IN_MOVED_TO) &&
	    w->moved_ctr == c && ev->cookie == w->moved_cookie) {
		/* Keep the paths of the moved subtree's watches true. */
		rc = rename_watches(w, c, w->moved_from.data,
		    w->moved_from.len, w->path.data, w->path.len);
		w->moved_ctr = NULL;
		if (rc < 0)
			return rc;
	}
	rc = watch_queue(w, c, w->path.data, w->path.len, flags, now);
	if (rc == 0 && (ev->mask & (IN_MOVED_FROM | IN_MOVED_TO))) {
		/* A rename in the upper can leave a whiteout at the old name
		 * that inotify never reports: look at the dir again. */
		while (w->path.len > 0 &&
		    w->path.data[w->path.len - 1] != '/')
			w->path.len--;
		if (w->path.len > 1) {
			w->path.len--;
			rc = watch_queue(w, c, w->path.data, w->path.len,
			    PENT_SCAN_DIR, now);
		}
	}
	return rc;
}

#define PUMP_LOOKS 32	/* looks between two reads of the queues */

/* Read what the kernel queued (never blocking) and handle each event. */
int
watch_read(struct watcher *w, int64_t now)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct
	    inotify_event))));
	struct inotify_event *ev;
	ssize_t n, pos;
	int turns, rc;

	for (turns = 0; turns < EVENTS_PER_TURN / 64; turns++) {
		n = read(w->inotify_fd, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 :
			    seterr(w->err, -errno, "inotify: %s",
			    strerror(errno));
		for (pos = 0; pos + (ssize_t)sizeof(*ev) <= n;
		    pos += (ssize_t)(sizeof(*ev) + ev->len)) {
			ev = (struct inotify_event *)(buf + pos);
			rc = handle_event(w, ev, now);
			if (rc < 0)
				return rc;
		}
		if (n < (ssize_t)sizeof(buf) / 2)
			break;
	}
	return 0;
}

int
watch_pump(struct watcher *w)
{
	int64_t now;
	int rc;

	if (++w->pump_looks % PUMP_LOOKS != 0)
		return 0;
	now = now_mono_ns();
	/* what it reads is due a quiet period from now at the latest (a
	 * turn per short quiet would walk a burst's queue five times as
	 * often) */
	if (w->pumped_due == 0)
		w->pumped_due = now + w->quiet_ns;
	rc = watch_read(w, now);
	if (rc == 0)
		rc = fan_read(w, now);
	return rc;
}

/* Classify the paths that have been quiet long enough. */
int
watch_drain(struct watcher *w, int64_t now, int64_t *next_due)
{
	struct pathset_entry *e;
	size_t i, k;
	int64_t due, t0, t1;
	int rc = 0, burst;

	for (k = 0; k < w->ctr_count; k++) {
		struct wctr *c = w->ctrs[k];

		/* A rescan is due: it reads every path, pending or not. */
		if (c->pending.count == 0 || c->needs_rescan)
			continue;
		w->draining = c;
		burst = c->pending.count > QUIET_BURST;
		for (i = 0; (e = pathset_next(&c->pending, &i)) != NULL;) {
			/* at once, alone, not handed out a moment ago: the
			 * short quiet; else the whole period */
			due = e->last_ns + (burst || (e->flags & PENT_SLOW) ||
			    e->last_ns - e->first_ns > w->quiet_short_ns ?
			    w->quiet_ns : w->quiet_short_ns);
			if (due > e->first_ns + w->max_hold_ns)
				due = e->first_ns + w->max_hold_ns;
			if (c->slow.count > 0)
				due = slow_due(c, e, due);
			if (due > now) {
				if (due < *next_due)
					*next_due = due;
				continue;
			}
			w->cur_writer = e->proc;
			w->cur_flags = e->flags;
			t0 = now_mono_ns();
			rc = w->look(w, c, e->key, e->len, e->flags);
			w->cur_writer = 0;
			w->cur_flags = 0;
			if (rc >= 0 && pathset_live(e)) {
				t1 = now_mono_ns();
				rc = slow_note(w, c, e->key, e->len, t1 - t0,
				    t1) < 0 ? -ENOMEM : rc;
			}
			if (rc == PROCESS_RETRY && pathset_live(e) &&
			    ++e->gen < RETRY_TRIES) {
				/* A dir on its way kept changing: again in
				 * a moment; after that, a rescan reports
				 * whatever is there. */
				e->last_ns = now + (int64_t)e->gen *
				    w->quiet_ns;
				e->first_ns = e->last_ns;
				e->flags |= PENT_SLOW;
				if (e->last_ns + w->quiet_ns < *next_due)
					*next_due = e->last_ns + w->quiet_ns;
				rc = 0;
				continue;
			}
			if (rc == PROCESS_RETRY) {
				c->needs_rescan = 1;
				rc = 0;
			}
			if (pathset_live(e))
				pathset_del(&c->pending, e);
			if (rc < 0)
				break;
			rc = watch_pump(w);
			/* events lost: the rescan reads it all */
			if (rc < 0 || c->needs_rescan)
				break;
		}
		w->draining = NULL;
		if (rc == 0)
			rc = merge_aside(w, c);
		if (rc < 0)
			return rc;
		if (c->pending.count > 0 && *next_due > now + w->quiet_ns)
			*next_due = now + w->quiet_ns;
	}
	return 0;
}
