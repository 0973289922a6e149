/*
 * scan.c - looking at a container's upper dir: one path again (what
 * watch_drain hands over when a path has been quiet), or a whole tree (a
 * new directory, the start-up scan, a rescan after an overflow or on the
 * timer).  Each entry is read beneath the upper root, never through a
 * symlink, classified against the baseline (drift) and reported through
 * w->report; each directory is watched before it is listed, so
 * nothing made in it meanwhile is lost.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "drift.h"
#include "glob.h"
#include "journal.h"
#include "notice.h"
#include "pathset.h"
#include "scan.h"
#include "upperwalk.h"
#include "util.h"
#include "walk.h"
#include "watch.h"
#include "watcher.h"

/* A number from a /proc/sys file, or `dflt` when it cannot be read. */
static long
sysctl_long(const char *path, long dflt)
{
	char buf[32];
	ssize_t n;
	long v;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dflt;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return dflt;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v < 0 || v > 100000000 ? dflt : v;
}

/*
 * How young a ctime is too young to vouch for a file's content.  A
 * write(2) moves ctime; a write through a shared mapping moves it only at
 * the page fault that makes a clean page writable, and not again while
 * the page stays dirty and writable, until writeback cleans it: at the
 * latest dirty_expire_centisecs after it was dirtied, by a flusher that
 * wakes every dirty_writeback_centisecs (none: the page may stay dirty
 * for good).  A margin for a flusher that is late.  This also covers the
 * two ticks of the coarse clock in which a same-size rewrite could leave
 * inode, ctime and size as they were (git's "racily clean" files).
 */
#define RACY_MARGIN_NS 5000000000LL

static int64_t
racy_ns(void)
{
	static int64_t v;
	long expire, every;

	if (v == 0) {
		expire = sysctl_long("/proc/sys/vm/dirty_expire_centisecs",
		    3000);
		every = sysctl_long("/proc/sys/vm/dirty_writeback_centisecs",
		    500);
		v = every == 0 ? INT64_MAX : (int64_t)(expire + every) *
		    10000000 + RACY_MARGIN_NS;
	}
	return v;
}

/*
 * Identity of a file's state for the rescan shortcut (never 0), or 0
 * when it cannot be trusted: on an upper dir whose writes through a
 * mapping never move ctime (tmpfs: c->ctime_blind), or with a ctime
 * younger than racy_ns(), when the file may still be written through a
 * mapping without its ctime moving.
 */
static int64_t
stat_key(const struct wctr *c, const struct stat *st)
{
	uint64_t v[5];
	int64_t ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
	    st->st_ctim.tv_nsec;

	if (c->ctime_blind || now_real_ns() - ctime_ns < racy_ns())
		return 0;

	v[0] = (uint64_t)st->st_ino;
	v[1] = (uint64_t)st->st_dev;
	v[2] = (uint64_t)st->st_ctim.tv_sec;
	v[3] = (uint64_t)st->st_ctim.tv_nsec;
	v[4] = (uint64_t)st->st_size;
	return (int64_t)(XXH3_64bits(v, sizeof(v)) | 1);
}

/* ---- classification ---- */

#define ANCESTOR_GONE 1		/* a dir on the way is gone */
#define ANCESTOR_UNREAD 2	/* a dir on the way could not be read */
#define PROCESS_RETRY 3		/* look at the path again in a moment */

/* The callback for a path's ancestors: they are classified for their
 * context only, but one that could not be read is remembered. */
static int
ancestor_event(const struct uw_event *ev, void *arg)
{
	struct watcher *w = arg;

	if (ev->op == UW_OP_ERROR)
		w->leaf_reported = 1;
	return 0;
}

/* The drift_dir of the cached context w->ctx, for entries of the dir at
 * container path path[0..plen). */
static void
ctx_dir(struct watcher *w, const unsigned char *path, size_t plen,
    struct drift_dir *dir)
{
	drift_dir_from_child(dir, &w->ctx.ctx, path, plen);
}

static int
ctx_is(const struct ctx_slot *s, const struct watcher *w,
    const struct wctr *c, const unsigned char *path, size_t plen)
{
	return s->valid && s->ctr == c && s->gen == w->dir_gen &&
	    s->path.len == plen && memcmp(s->path.data, path, plen) == 0;
}

static void
ctx_swap(struct ctx_slot *a, struct ctx_slot *b)
{
	struct ctx_slot t = *a;

	*a = *b;
	*b = t;
}

static void
ctx_clear(struct ctx_slot *s)
{
	drift_child_free(&s->ctx);
	drift_child_init(&s->ctx);
	s->valid = 0;
	s->ctr = NULL;
}

/* w->ctx is about to be refilled: a valid one goes into the cache, in
 * the place of a stale or the least recently used one. */
static void
ctx_keep(struct watcher *w)
{
	struct ctx_slot *victim = &w->ctx_cache[0];
	size_t i;

	if (w->ctx.valid && w->ctx.gen == w->dir_gen) {
		for (i = 0; i < CTX_SLOTS; i++) {
			struct ctx_slot *s = &w->ctx_cache[i];

			if (!s->valid || s->gen != w->dir_gen) {
				victim = s;
				break;
			}
			if (s->used < victim->used)
				victim = s;
		}
		ctx_clear(victim);
		ctx_swap(&w->ctx, victim);
	}
	w->ctx.valid = 0;
}

void
scan_ctx_init(struct watcher *w)
{
	size_t i;

	drift_child_init(&w->ctx.ctx);
	buf_init(&w->ctx.path, WALK_MAX_PATH);
	for (i = 0; i < CTX_SLOTS; i++) {
		drift_child_init(&w->ctx_cache[i].ctx);
		buf_init(&w->ctx_cache[i].path, WALK_MAX_PATH);
	}
}

void
scan_ctx_free(struct watcher *w)
{
	size_t i;

	drift_child_free(&w->ctx.ctx);
	buf_free(&w->ctx.path);
	for (i = 0; i < CTX_SLOTS; i++) {
		drift_child_free(&w->ctx_cache[i].ctx);
		buf_free(&w->ctx_cache[i].path);
	}
}

void
scan_ctx_drop(struct watcher *w, const struct wctr *c)
{
	size_t i;

	if (w->ctx.ctr == c)
		ctx_clear(&w->ctx);
	for (i = 0; i < CTX_SLOTS; i++)
		if (w->ctx_cache[i].ctr == c)
			ctx_clear(&w->ctx_cache[i]);
}

/*
 * The context of the dir at container path path[0..plen) of `c` (its fd,
 * overlay flags and baseline path), left in w->ctx: from the cache when
 * nothing about dirs changed since it was filled, else by classifying
 * each ancestor from the upper root (silently: only what they mean for
 * their children counts).  Returns 0, ANCESTOR_GONE, ANCESTOR_UNREAD, or
 * a negative error of our own.
 */
static int
parent_context(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t plen)
{
	struct drift_child ctx[2], *parent, *next;
	struct drift_dir dir;
	char comp[NAME_MAX + 1];
	size_t start, end;
	int rc = 0, depth = 0, i;

	if (ctx_is(&w->ctx, w, c, path, plen))
		return 0;
	for (i = 0; i < CTX_SLOTS; i++) {
		if (ctx_is(&w->ctx_cache[i], w, c, path, plen)) {
			ctx_swap(&w->ctx, &w->ctx_cache[i]);
			w->ctx.used = ++w->ctx_tick;
			return 0;
		}
	}
	ctx_keep(w);
	if (plen > WATCH_MAX_PATH ||
	    walk_path_depth(path, plen) >= WALK_MAX_DEPTH)
		return ANCESTOR_UNREAD;	/* a rescan reports it */
	for (i = 0; i < 2; i++)
		drift_child_init(&ctx[i]);
	parent = &ctx[0];
	parent->fd = fcntl(c->root_fd, F_DUPFD_CLOEXEC, 0);
	if (parent->fd < 0) {
		rc = ANCESTOR_UNREAD;	/* out of fds: later */
		goto out;
	}
	parent->xwhiteouts = c->root_xwhiteouts;
	buf_reset(&w->ctx.path);
	if (buf_add(&w->ctx.path, "", 0) < 0) {
		rc = seterr(w->err, -ENOMEM, "out of memory");
		goto out;
	}
	w->cur = c;
	for (start = 1; start < plen; start = end + 1) {
		for (end = start; end < plen && path[end] != '/'; end++)
			;
		if (end - start > NAME_MAX || end == start) {
			rc = ANCESTOR_GONE;	/* no such name can exist */
			goto out;
		}
		memcpy(comp, path + start, end - start);
		comp[end - start] = '\0';
		drift_dir_from_child(&dir, parent, w->ctx.path.data,
		    w->ctx.path.len);
		next = &ctx[!depth];
		w->leaf_reported = 0;
		rc = drift_entry(c->drift, &dir, comp, end - start, next,
		    ancestor_event, w, w->err);
		if (rc < 0)
			goto out;
		if (next->fd < 0) {
			rc = w->leaf_reported ? ANCESTOR_UNREAD : ANCESTOR_GONE;
			goto out;
		}
		buf_reset(&w->ctx.path);
		if (buf_add(&w->ctx.path, path, end) < 0) {
			rc = seterr(w->err, -ENOMEM, "out of memory");
			goto out;
		}
		close(parent->fd);
		parent->fd = -1;
		parent = next;
		depth = !depth;
	}
	/* The cache takes the parent's context over. */
	drift_child_free(&w->ctx.ctx);
	w->ctx.ctx = *parent;
	drift_child_init(parent);
	w->ctx.ctr = c;
	w->ctx.gen = w->dir_gen;
	w->ctx.used = ++w->ctx_tick;
	w->ctx.valid = 1;
out:
	for (i = 0; i < 2; i++)
		drift_child_free(&ctx[i]);
	return rc;
}

/*
 * Hard links the container made.  A write through one name of an upper
 * file changes every name of it, but inotify (the watch on the written
 * name's dir) and fanotify (the path of the writer's fd) give only the
 * name written through: `ln /etc/shadow /tmp/x`, a write to /tmp/x and
 * `rm /tmp/x` would show nothing of /etc/shadow.  So the names of each
 * upper file with more than one link are kept, and when one of them is
 * looked at for an event, the other names of the file it is now, and of
 * the file it was when last seen, are queued to be looked at too
 * (PENT_ALIAS: those looks queue nothing more).  A full scan looks at
 * every name anyway, and keeps them all: a name looked at while it was
 * the file's only one is not kept, and `ln` raises no event there, so
 * when a file has more links than kept names, the container is
 * rescanned (at most every LINKS_RESCAN_NS, or RESCAN_CPU_SHARE times
 * as long as a rescan of it takes: a write through such a link meanwhile
 * is seen at its other names by that rescan).
 */

/* Queue the kept names of upper inode `ino` but `self`, up to
 * MAX_ALIAS_FANOUT (more: *more is set): how many, or -ENOMEM. */
static int
links_queue(struct watcher *w, struct wctr *c, uint64_t ino,
    const struct pathset_entry *self, int *more)
{
	struct pathset_entry *o;
	size_t i;
	int rc, n = 0;

	for (i = 0; (o = pathset_next(&c->links, &i)) != NULL;) {
		if (o == self || o->proc != ino)
			continue;
		if (n == MAX_ALIAS_FANOUT) {
			*more = 1;
			break;
		}
		rc = watch_queue_by(w, c, o->key, o->len, PENT_ALIAS,
		    now_mono_ns(), w->cur_writer);
		if (rc < 0)
			return rc;
		n++;
	}
	return n;
}

/* `path` of `c` is in state `st` (NULL: gone): keep its name or drop it,
 * and queue its other names.  Returns 0 or -ENOMEM. */
static int
links_seen(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, const struct stat *st)
{
	struct pathset_entry *e;
	uint64_t ino = 0, was = 0;
	int linked, kept, rc, more = 0;

	e = pathset_get(&c->links, path, len, 0);
	kept = e != NULL;
	if (kept)
		was = e->proc;
	linked = st != NULL && S_ISREG(st->st_mode) && st->st_nlink > 1;
	if (linked)
		ino = (uint64_t)st->st_ino;
	if (!linked && kept) {
		pathset_del(&c->links, e);
		e = NULL;
	} else if (linked && !kept && c->links.count < MAX_LINK_NAMES) {
		e = pathset_get(&c->links, path, len, 1);
		if (e == NULL)
			return seterr(w->err, -ENOMEM, "out of memory");
	} else if (linked && !kept && !c->links_full) {
		c->links_full = 1;
		notice_coverage(w, c, "container %s has more than %d "
		    "hard-linked names in its upper dir: a write through one "
		    "more is seen under that name only, and at its other "
		    "names by the next rescan",
		    notice_escs(w, c->info->id), MAX_LINK_NAMES);
	}
	if (e != NULL)
		e->proc = ino;
	if (w->scanning || (w->cur_flags & PENT_ALIAS))
		return 0;
	rc = 0;
	if (kept && (!linked || was != ino))
		rc = links_queue(w, c, was, e, &more);
	if (rc >= 0 && linked) {
		rc = links_queue(w, c, ino, e, &more);
		if (rc >= 0 && (nlink_t)rc + 1 < st->st_nlink)
			more = 1;
	}
	if (rc >= 0 && more)
		rescan_limited(c, &c->links_rescan_ns, LINKS_RESCAN_NS);
	return rc < 0 ? rc : 0;
}

/*
 * Classify the entry at container path `path` of `c` and report it.
 * A directory entry is left open in `leaf` for the caller to watch and
 * scan.  Returns 0, ANCESTOR_GONE or ANCESTOR_UNREAD, or a negative
 * error of our own.
 */
static int
classify_path(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, struct drift_child *leaf)
{
	struct drift_dir dir;
	struct pathset_entry *known;
	struct stat st;
	char comp[NAME_MAX + 1];
	size_t plen;
	int64_t skey;
	int rc;

	if (len <= 1)
		return 0;	/* the root itself */
	for (plen = len; plen > 0 && path[plen - 1] != '/'; plen--)
		;
	if (plen == 0 || len - plen > NAME_MAX)
		return ANCESTOR_GONE;
	plen--;			/* the parent, without the slash */
	rc = parent_context(w, c, path, plen);
	if (rc != 0)
		return rc;
	memcpy(comp, path + plen + 1, len - plen - 1);
	comp[len - plen - 1] = '\0';
	ctx_dir(w, path, plen, &dir);
	w->cur = c;
	w->leaf_reported = 0;
	/* Its state before it is read: what a rescan may skip it by.  The
	 * entry is opened O_PATH for it, and a file is read through that. */
	skey = 0;
	dir.path_fd = walk_open_path(w->ctx.ctx.fd, comp, &st);
	rc = links_seen(w, c, path, len, dir.path_fd >= 0 ? &st : NULL);
	if (rc < 0) {
		if (dir.path_fd >= 0)
			close(dir.path_fd);
		return rc;
	}
	if (dir.path_fd >= 0) {
		dir.st = &st;
		if (S_ISDIR(st.st_mode)) {
			close(dir.path_fd);
			dir.path_fd = -1;
		} else {
			skey = stat_key(c, &st);
		}
	}
	rc = drift_entry(c->drift, &dir, comp, len - plen - 1, leaf,
	    w->report, w, w->err);
	if (dir.path_fd >= 0)
		close(dir.path_fd);
	if (rc == 0 && w->leaf_reported && skey != 0) {
		known = pathset_get(&c->reported, path, len, 0);
		if (known != NULL)
			known->last_ns = skey;
	}
	return rc < 0 ? rc : 0;
}

/*
 * Watch the dir open in `child` (container path `path` of `c`), then list
 * it: what is made in it after the watch lands is in the queue, what came
 * before is in the listing.  Returns 0, a positive errno when it cannot
 * be listed (a million entries, an I/O error), or -ENOMEM.
 */
static int
watch_and_list(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, struct drift_child *child)
{
	int rc;

	rc = watch_add(w, c, path, len, child->fd);
	if (rc < 0)
		return rc;
	if (w->scanning)
		c->dirs_seen++;
	rc = walk_list(child->fd, &child->names);
	if (rc == -ENOMEM)
		return seterr(w->err, rc, "out of memory");
	if (rc < 0) {
		child->names.count = 0;
		return -rc;
	}
	return 0;
}

static int scan_tree(struct watcher *w, struct wctr *c,
    const unsigned char *path, size_t len, struct drift_child *top);

/* Look again at one quiet path (the `look` of watch_drain): 0,
 * PROCESS_RETRY, or a negative error. */
int
scan_path(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, unsigned flags)
{
	struct drift_child leaf;
	struct drift_dir dir;
	char reason[128];
	size_t plen;
	int rc;

	drift_child_init(&leaf);
	rc = journal_begin(w);	/* what it reports is journaled in one go */
	if (rc == 0)
		rc = classify_path(w, c, path, len, &leaf);
	if (rc < 0)
		goto out;
	if (rc == ANCESTOR_UNREAD) {
		rc = PROCESS_RETRY;
		goto out;
	}
	if (!w->leaf_reported || rc == ANCESTOR_GONE) {
		rc = journal_forget(w, c, path, len);
		if (rc < 0)
			goto out;
	}
	if (leaf.fd >= 0 && (flags & PENT_SCAN_DIR)) {
		/* A dir that appeared: watch it, then read what is already
		 * in it, so nothing made before the watch landed is lost. */
		rc = watch_and_list(w, c, path, len, &leaf);
		if (rc > 0) {
			/* the parent's context is still in w->ctx */
			for (plen = len; plen > 0 && path[plen - 1] != '/';
			    plen--)
				;
			snprintf(reason, sizeof(reason), "cannot list: %s",
			    strerror(rc));
			ctx_dir(w, path, plen - 1, &dir);
			rc = drift_error_entry(c->drift, &dir,
			    (const char *)path + plen, len - plen, reason,
			    w->report, w, w->err);
		} else if (rc == 0) {
			w->in_tree++;
			rc = scan_tree(w, c, path, len, &leaf);
			w->in_tree--;
		}
	}
	rc = rc < 0 ? rc : 0;
out:
	drift_child_free(&leaf);
	return rc;
}

/* Was this entry changed within the quiet period?  Then it may be in the
 * middle of being written (created empty, filled a moment later): a scan
 * leaves it to the queue, as an event would, rather than report it
 * twice. */
static int
still_settling(const struct watcher *w, const struct stat *st)
{
	int64_t ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
	    st->st_ctim.tv_nsec;

	return now_real_ns() - ctime_ns < w->quiet_ns;
}

/*
 * Before a scan classifies entry `e`: a path not reported yet is opened
 * O_PATH at once (and read through that fd); one reported is first
 * looked at (an lstat), and skipped when it has not changed since, or
 * left to the queue while it is still being written.  Returns 0 to
 * classify it (*skey: its stat key, or 0), 1 to skip it, or a negative
 * error.
 */
static int
look_first(struct watcher *w, struct wctr *c, struct upperwalk_entry *e,
    struct stat *st, int pending, int64_t *skey)
{
	struct pathset_entry *known;
	int rc;

	*skey = 0;
	if (e->d_type == DT_DIR)
		return 0;
	known = pathset_get(&c->reported, e->path, e->path_len, 0);
	if (known == NULL) {
		e->dir.path_fd = walk_open_path(e->dir.fd, e->name, st);
		if (e->dir.path_fd >= 0)
			e->dir.st = st;
	} else if (walk_stat(e->dir.fd, e->name, st) == 0) {
		e->dir.st = st;
	}
	rc = links_seen(w, c, e->path, e->path_len, e->dir.st);
	if (rc < 0 || e->dir.st == NULL)
		return rc;
	if (S_ISDIR(st->st_mode)) {
		if (e->dir.path_fd >= 0)
			close(e->dir.path_fd);
		e->dir.path_fd = -1;
		return 0;
	}
	if (known != NULL && w->scanning)
		known->gen = w->scan_gen;
	if (still_settling(w, st)) {
		if (e->dir.path_fd >= 0)
			close(e->dir.path_fd);
		e->dir.path_fd = -1;
		rc = watch_queue_by(w, c, e->path, e->path_len, w->cur_flags,
		    now_mono_ns(), w->cur_writer);
		return rc < 0 ? rc : 1;
	}
	/* A file already reported and not touched since (same inode, ctime
	 * and size: any write moves ctime, but see stat_key) needs no second
	 * look: overflow and periodic rescans stay cheap. */
	*skey = stat_key(c, st);
	if (!pending && known != NULL && *skey != 0 &&
	    known->last_ns == *skey && !(known->flags & PENT_UNJOURNALED)) {
		if (e->dir.path_fd >= 0)
			close(e->dir.path_fd);
		e->dir.path_fd = -1;
		return 1;
	}
	return 0;
}

/*
 * Scan the subtree at container path `path` (open in `top`, watched and
 * listed): classify every entry, watch and list each dir before reading
 * it.  An entry deeper than WALK_MAX_DEPTH is reported as such, and not
 * read.  Returns 0 or a negative error of our own.
 */
static int
scan_tree(struct watcher *w, struct wctr *c, const unsigned char *path,
    size_t len, struct drift_child *top)
{
	struct upperwalk *walk;
	struct upperwalk_entry e;
	struct drift_child *ch;
	struct pathset_entry *known, *pe;
	struct stat st;
	int64_t skey;
	char reason[128];
	unsigned flags = w->cur_flags;
	uint64_t writer = w->cur_writer;
	int rc = 0, lrc;

	/* Listing order; a path longer than a walk builds is not here. */
	walk = upperwalk_new(top, path, len, UPPERWALK_SKIP_LONG);
	if (walk == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	w->cur = c;
	while (rc >= 0 && upperwalk_next(walk, &e) == 1) {
		rc = watch_pump(w);
		w->cur = c;
		if (rc < 0)
			break;
		if (scan_excluded(w, e.path, e.path_len))
			continue;
		/* An event waits for this path: this read covers it (the
		 * event came before), so it is taken off the queue, and what
		 * the event said goes with the read (an exec to report, a
		 * rename to unignore, its writer; and again to the queue if
		 * it is still settling); the path is read whole, never
		 * skipped below. */
		pe = pathset_get(&c->pending, e.path, e.path_len, 0);
		w->cur_flags = pe != NULL ? pe->flags & ~(unsigned)PENT_SCAN_DIR :
		    0;
		w->cur_writer = pe != NULL ? pe->proc : 0;
		if (pe != NULL)
			pathset_del(&c->pending, pe);
		if (e.depth > WALK_MAX_DEPTH || e.path_len > WATCH_MAX_PATH) {
			/* Reported, never skipped silently. */
			w->leaf_reported = 0;
			rc = drift_error_entry(c->drift, &e.dir, e.name,
			    e.name_len, e.depth > WALK_MAX_DEPTH ?
			    WALK_DEEP_REASON : WATCH_LONG_REASON, w->report,
			    w, w->err);
			continue;
		}
		lrc = look_first(w, c, &e, &st, pe != NULL, &skey);
		if (lrc != 0) {
			rc = lrc < 0 ? lrc : 0;
			continue;
		}
		ch = upperwalk_child(walk);
		w->leaf_reported = 0;
		rc = drift_entry(c->drift, &e.dir, e.name, e.name_len, ch,
		    w->report, w, w->err);
		if (e.dir.path_fd >= 0)
			close(e.dir.path_fd);
		if (rc == 0 && !w->leaf_reported && !w->scanning)
			rc = journal_forget(w, c, e.path, e.path_len);
		if (rc == 0 && w->leaf_reported && skey != 0) {
			known = pathset_get(&c->reported, e.path, e.path_len,
			    0);
			if (known != NULL)
				known->last_ns = skey;
		}
		if (rc < 0 || ch->fd < 0)
			continue;
		lrc = watch_and_list(w, c, e.path, e.path_len, ch);
		if (lrc < 0) {
			rc = lrc;
			continue;
		}
		if (lrc > 0) {
			snprintf(reason, sizeof(reason), "cannot list: %s",
			    strerror(lrc));
			rc = drift_error_entry(c->drift, &e.dir, e.name,
			    e.name_len, reason, w->report, w, w->err);
			continue;
		}
		rc = upperwalk_descend(walk);
	}
	upperwalk_free(walk);
	w->cur_flags = flags;
	w->cur_writer = writer;
	return rc < 0 ? rc : 0;
}

/* (scan.h) A rescan put off is owed: were it dropped, one change that
 * asks for it would buy the period in which the next went unseen. */
void
rescan_limited(struct wctr *c, int64_t *not_before, int64_t period)
{
	int64_t now = now_mono_ns();

	if (c->needs_rescan)
		return;		/* one is coming: it serves */
	if (period < c->rescan_took_ns * RESCAN_CPU_SHARE)
		period = c->rescan_took_ns * RESCAN_CPU_SHARE;
	if (now >= *not_before) {
		*not_before = now + period;
		c->needs_rescan = 1;
	} else if (*not_before < c->next_rescan_ns) {
		/* owed at the slot, which it takes: the next waits on */
		c->next_rescan_ns = *not_before;
		*not_before += period;
	}
}

/* A full rescan of a container: report what differs from the journal. */
int
scan_container(struct watcher *w, struct wctr *c)
{
	struct drift_child top;
	struct pathset_entry *known;
	char why[256];
	int64_t start = now_mono_ns();
	size_t i;
	int rc;

	w->dir_gen++;
	c->needs_rescan = 0;
	w->last_rescan_real_ns = now_real_ns();
	c->next_rescan_ns = now_mono_ns() + (c->limited != LIMIT_NONE ?
	    w->limited_rescan_ns : w->rescan_ns);
	/* Every event read so far happened before this scan reads the
	 * tree: scan_tree takes each path it reads off the pending queue
	 * (after an overflow, thousands), so they need no second look. */
	drift_child_init(&top);
	top.fd = fcntl(c->root_fd, F_DUPFD_CLOEXEC, 0);
	if (top.fd < 0) {
		snprintf(why, sizeof(why), "cannot open its upper dir: %s",
		    strerror(errno));
		scan_degrade(w, c, why);
		drift_child_free(&top);
		return 0;
	}
	top.xwhiteouts = c->root_xwhiteouts;
	/* The scan finds every name again: none kept is stale after it. */
	pathset_free(&c->links);
	c->links_full = 0;
	c->unwatched = 0;
	c->dirs_seen = 0;
	w->scanning = 1;
	rc = watch_and_list(w, c, (const unsigned char *)"", 0, &top);
	if (rc > 0) {
		w->scanning = 0;
		snprintf(why, sizeof(why), "cannot list its upper dir: %s",
		    strerror(rc));
		scan_degrade(w, c, why);
		drift_child_free(&top);
		return 0;
	}
	/* Each reported path the scan meets, with drift or unchanged
	 * since, gets this scan's mark; the unmarked ones are gone (or are
	 * drift no more): forget them. */
	w->scan_gen++;
	if (rc == 0) {
		w->in_tree++;
		rc = scan_tree(w, c, (const unsigned char *)"/", 1, &top);
		w->in_tree--;
	}
	w->scanning = 0;
	drift_child_free(&top);
	c->rescan_took_ns = now_mono_ns() - start;
	for (i = 0; rc == 0 &&
	    (known = pathset_next(&c->reported, &i)) != NULL;) {
		if (known->gen == w->scan_gen)
			continue;
		rc = journal_forget(w, c, known->key, known->len);
	}
	if (rc < 0)
		return rc;
	if (c->degraded[0] != '\0') {
		notice_info(w, "container %s is scanned again",
		    notice_escs(w, c->info->id));
		c->degraded[0] = '\0';
	}
	/* Rescanned instead of watched: watched again once it is small
	 * enough (with room to grow), or, after the system's limit, once
	 * others may have let go of their watches. */
	if ((c->limited == LIMIT_BUDGET &&
	    c->dirs_seen <= w->max_watches * 3 / 4) ||
	    (c->limited == LIMIT_SYSTEM && now_mono_ns() -
	    c->limited_since_ns >= SYSTEM_LIMIT_RETRY_NS)) {
		notice_info(w, "container %s is watched again (%llu dirs)",
		    notice_escs(w, c->info->id),
		    (unsigned long long)c->dirs_seen);
		c->limited = LIMIT_NONE;
		c->needs_rescan = 1;
	}
	if (c->unwatched > 0 &&
	    c->next_rescan_ns > now_mono_ns() + UNWATCHED_RESCAN_NS)
		c->next_rescan_ns = now_mono_ns() + UNWATCHED_RESCAN_NS;
	return 0;
}

int
scan_excluded(const struct watcher *w, const unsigned char *path, size_t len)
{
	return w->exclude_count > 0 &&
	    glob_set_exec(w->exclude_set, path, len) == 1;
}

/*
 * A container could not be scanned (`why`): said once per cause (and
 * alerted), rescanned every DEGRADED_RESCAN_NS until it can be; the
 * others are untouched.
 */
void
scan_degrade(struct watcher *w, struct wctr *c, const char *why)
{
	c->next_rescan_ns = now_mono_ns() + DEGRADED_RESCAN_NS;
	if (strcmp(c->degraded, why) == 0)
		return;
	snprintf(c->degraded, sizeof(c->degraded), "%s", why);
	notice_coverage(w, c, "container %s is degraded: %s; rescanned every "
	    "%lld s until it can be read", notice_escs(w, c->info->id), why,
	    DEGRADED_RESCAN_NS / 1000000000);
}
