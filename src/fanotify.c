/*
 * fanotify.c - content writes, and who made them, from a fanotify mark on
 * each container's overlay.
 *
 * Until Linux 6.5 overlayfs opened the upper file with FMODE_NONOTIFY, so
 * a write made through a container's merged view raises no inotify event
 * on its upper dir; only names (create, delete, rename, attrib) do.  A
 * FAN_MARK_FILESYSTEM mark on the overlay's own superblock, in the
 * classic fd-reporting mode, sees FAN_MODIFY and FAN_CLOSE_WRITE made
 * through any mount of that overlay (the container's private copy
 * included) on every kernel since 4.20, with the writer's pid.  fid
 * reporting would not do: overlay cannot encode file handles.
 *
 * Each event's fd is the written file as the writer opened it.  Its path
 * is read through /proc/self/fd; which mount it is on (statx
 * STATX_MNT_ID) says how to read that path: our own mount of the overlay
 * shows the host path (the mount point is cut off), another mount of it
 * (the container's root, a bind of one of its dirs) shows the path in the
 * writer's mount namespace, which that mount's root and mount point, from
 * the writer's mountinfo, turn into a path of the overlay.  What cannot
 * be read so (the writer is gone, the mount too) gets its container
 * rescanned: never a guess.  The path found is only a trigger: it is
 * queued and read again beneath the upper root, like an inotify event.
 *
 * The writer is read from /proc at once (comm, exe, cmdline, uid, the
 * container its cgroup belongs to).  With FAN_REPORT_PIDFD (5.15+) each
 * event holds the process, and what was read is kept only if the pidfd
 * still names a live (or zombie) process after it was read: a pid reused
 * meanwhile cannot lend its name.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fanotify.h"
#include "mountinfo.h"
#include "notice.h"
#include "pathset.h"
#include "scan.h"
#include "util.h"
#include "watch.h"

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif
#define FAN_CONTENT_MASK (FAN_MODIFY | FAN_CLOSE_WRITE)
#define FAN_MNT_TTL_NS 5000000000LL	/* a mount's root and mount point */

struct fan_pidfd_info {
	struct fanotify_event_info_header hdr;
	int32_t pidfd;
};

int
fan_event_pidfd(const struct fanotify_event_metadata *m)
{
	const struct fanotify_event_info_header *h;
	size_t off;

	for (off = m->metadata_len; off + sizeof(*h) <= m->event_len;
	    off += h->len) {
		h = (const void *)((const char *)m + off);
		if (h->len < sizeof(*h))
			break;
		if (h->info_type == FAN_EVENT_INFO_TYPE_PIDFD &&
		    h->len >= sizeof(struct fan_pidfd_info))
			return ((const struct fan_pidfd_info *)h)->pidfd;
	}
	return -1;
}

/* ---- the writer ---- */

/* Read a small /proc file into buf (NUL-terminated; NULs inside kept):
 * its length, or -1. */
static ssize_t
read_proc(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Keep the path after "ID:name:" of a /proc/PID/cgroup line in `out`:
 * "" when it does not fit (never a path cut short, which could name an
 * ancestor). */
static void
keep_cgroup(char *out, size_t size, const char *path)
{
	if ((size_t)snprintf(out, size, "%s", path) >= size)
		out[0] = '\0';
}

/* The whole of /proc/PID/cgroup: a line per v1 hierarchy, each with a
 * path that nesting can make long. */
#define CGROUP_FILE_MAX (64u << 10)

int
fan_cgroup_of(int pid, char *v2, size_t v2_size, char *v1, size_t v1_size)
{
	char path[64], *text, *line, *save, *cg;
	ssize_t n;

	v2[0] = v1[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	text = malloc(CGROUP_FILE_MAX);
	if (text == NULL)
		return -1;
	n = read_proc(path, text, CGROUP_FILE_MAX);
	if (n < 0 || (size_t)n == CGROUP_FILE_MAX - 1) {
		free(text);		/* gone, or more than we read */
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		/* ID:controllers:path; "0::path" on v2, "N:freezer:path" */
		cg = strchr(line, ':');
		if (cg == NULL)
			continue;
		if (strncmp(cg, "::", 2) == 0)
			keep_cgroup(v2, v2_size, cg + 2);
		else if (strncmp(cg, ":freezer:", 9) == 0)
			keep_cgroup(v1, v1_size, cg + 9);
	}
	free(text);
	return 0;
}

/*
 * How deep the process's cgroup `cg` (a path from its hierarchy's root)
 * lies in the absolute cgroup dir `dir`: the length of the longest of cg
 * and its ancestors, as whole names, that `dir` ends with; 0 for none.
 * A process in a cgroup a container made below its own (systemd in a
 * container does, for each service) is in that container.  "/", the
 * root, is no container's.
 */
static size_t
cgroup_depth(const char *dir, const char *cg)
{
	size_t l = strlen(dir), n = strlen(cg);

	if (cg[0] != '/')
		return 0;
	while (n > 1) {
		if (l >= n && memcmp(dir + l - n, cg, n) == 0)
			return n;
		while (n > 0 && cg[n - 1] != '/')
			n--;
		if (n > 0)
			n--;		/* the parent, without its slash */
	}
	return 0;
}

int
fan_cgroup_better(const char *v2, const char *v1,
    const struct uw_container *c, size_t *best)
{
	size_t d2 = cgroup_depth(c->cgroup_v2, v2);
	size_t d1 = cgroup_depth(c->cgroup_v1_freezer, v1);
	size_t d = d2 > d1 ? d2 : d1;

	if (d <= *best)
		return 0;
	*best = d;
	return 1;
}

/* The container whose cgroup `pid` is in. */
static const char *
cgroup_container(const struct watcher *w, int pid)
{
	char v2[PATH_MAX], v1[PATH_MAX];
	const char *id = NULL;
	size_t i, best = 0;

	if (fan_cgroup_of(pid, v2, sizeof(v2), v1, sizeof(v1)) < 0)
		return NULL;
	for (i = 0; i < w->ctr_count; i++)
		if (fan_cgroup_better(v2, v1, w->ctrs[i]->info, &best))
			id = w->ctrs[i]->info->id;
	return id;
}

/* The uid on the "Uid:" line of /proc/PID/status (real), or -1. */
static int64_t
proc_uid(int pid)
{
	char path[64], text[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_proc(path, text, sizeof(text)) < 0)
		return -1;
	p = strstr(text, "\nUid:");
	if (p == NULL)
		return -1;
	return strtoll(p + 5, NULL, 10);
}

/* Is the pidfd's process still there (alive or a zombie)? */
static int
pidfd_alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

static int map_path(struct watcher *w, struct wctr *c, int fd, int pid,
    struct buf *out);
static const char *below(const char *p, const char *prefix);

/* Is the exe of `pid` a file of `c` that is drift (reported or waiting to
 * be): 1, 0, or -1 when it is not a file of the container. */
static int
exe_drift(struct watcher *w, struct wctr *c, int pid)
{
	char path[64];
	struct stat st;
	struct buf p;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_dev == c->ov_dev) {
		buf_init(&p, PATH_MAX);
		if (map_path(w, c, fd, pid, &p) == 0)
			rc = pathset_get(&c->reported, p.data, p.len, 0) !=
			    NULL || pathset_get(&c->pending, p.data, p.len,
			    0) != NULL;
		buf_free(&p);
	}
	close(fd);
	return rc;
}

void
fan_proc_read(struct fan_proc *r, int pid, int pidfd, int pidfds)
{
	char path[64];
	ssize_t n, i;

	r->p.pid = pid;
	r->p.uid = -1;
	r->p.exe_drift = -1;
	r->p.comm = r->p.exe = r->p.cmdline = r->p.container_id = NULL;
	if (pidfds && pidfd < 0)
		return;		/* gone before the event was read */
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = read_proc(path, r->comm, sizeof(r->comm));
	if (n > 0) {
		if (r->comm[n - 1] == '\n')
			r->comm[n - 1] = '\0';
		r->p.comm = r->comm;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, r->exe, sizeof(r->exe) - 1);
	if (n > 0) {
		r->exe[n] = '\0';
		r->p.exe = r->exe;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_proc(path, r->cmdline, sizeof(r->cmdline));
	if (n > 0) {
		while (n > 0 && r->cmdline[n - 1] == '\0')
			n--;
		for (i = 0; i < n; i++)
			if (r->cmdline[i] == '\0')
				r->cmdline[i] = ' ';
		r->cmdline[n] = '\0';
		r->p.cmdline = r->cmdline;
	}
	r->p.uid = proc_uid(pid);
	if (pidfd >= 0 && !pidfd_alive(pidfd)) {
		/* gone while read: what was read may be another's */
		r->p.comm = r->p.exe = r->p.cmdline = NULL;
		r->p.uid = -1;
	}
}

/*
 * A record of process `pid` (with its pidfd, or -1) in the ring: its
 * serial.  The same pid read moments ago in this batch is not read again.
 */
static uint64_t
writer(struct watcher *w, struct wctr *c, int pid, int pidfd)
{
	struct fan_proc *r;

	if (w->fan_last_serial != 0 && w->fan_last_pid == pid &&
	    w->fan_batch == w->fan_last_batch)
		return w->fan_last_serial;
	r = &w->fan_procs[w->fan_next_serial % FAN_PROCS];
	memset(r, 0, sizeof(*r));
	r->serial = w->fan_next_serial++;
	w->fan_last_pid = pid;
	w->fan_last_serial = r->serial;
	w->fan_last_batch = w->fan_batch;
	fan_proc_read(r, pid, pidfd, w->fan_pidfds);
	if (r->p.comm == NULL && r->p.exe == NULL)
		return r->serial;	/* gone: the pid alone */
	r->p.container_id = cgroup_container(w, pid);
	if (r->p.container_id != NULL) {
		snprintf(r->ctr, sizeof(r->ctr), "%s", r->p.container_id);
		r->p.container_id = r->ctr;
	}
	r->p.exe_drift = exe_drift(w, c, pid);
	if (pidfd >= 0 && !pidfd_alive(pidfd)) {
		r->p.container_id = NULL;
		r->p.exe_drift = -1;
	}
	return r->serial;
}

uint64_t
fan_process_keep(struct watcher *w, const struct fan_proc *src)
{
	struct fan_proc *r;

	if (w->fan_procs == NULL)
		return 0;
	r = &w->fan_procs[w->fan_next_serial % FAN_PROCS];
	*r = *src;
	r->serial = w->fan_next_serial++;
	/* its strings, into its own buffers */
	r->p.comm = src->p.comm != NULL ? r->comm : NULL;
	r->p.exe = src->p.exe != NULL ? r->exe : NULL;
	r->p.cmdline = src->p.cmdline != NULL ? r->cmdline : NULL;
	r->p.container_id = src->p.container_id != NULL ? r->ctr : NULL;
	w->fan_last_serial = 0;
	return r->serial;
}

const struct uw_process *
fan_process(const struct watcher *w, uint64_t serial)
{
	const struct fan_proc *r;

	if (serial == 0 || w->fan_procs == NULL)
		return NULL;
	r = &w->fan_procs[serial % FAN_PROCS];
	return r->serial == serial ? &r->p : NULL;
}

/* ---- the path ---- */

/* Find mount `mnt_id` in /proc/PID/mountinfo and cache it for `owner`. */
static struct fan_mnt *
mount_in(struct fan_mnts *mc, const void *owner, uint64_t mnt_id, int pid)
{
	struct mountinfo_table t;
	struct fan_mnt *m = NULL;
	char path[64];
	size_t i;

	if (pid <= 0)
		return NULL;
	memset(&t, 0, sizeof(t));
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	if (mountinfo_read(path, &t) < 0)
		return NULL;
	for (i = 0; i < t.count; i++) {
		if ((uint64_t)t.v[i].mount_id != mnt_id)
			continue;
		m = &mc->v[mc->next++ % FAN_MNTS];
		free(m->root);
		free(m->mount_point);
		m->root = strdup(t.v[i].root);
		m->mount_point = strdup(t.v[i].mount_point);
		m->id = mnt_id;
		m->owner = owner;
		m->until_ns = now_mono_ns() + FAN_MNT_TTL_NS;
		if (m->root == NULL || m->mount_point == NULL) {
			m->id = 0;
			m = NULL;
		}
		break;
	}
	mountinfo_table_free(&t);
	return m;
}

/*
 * The mount `mnt_id` of an overlay: its root (a path of the overlay) and
 * mount point, as the process `pid` sees it, or the container's init
 * `init_pid` when it is gone (a shell that wrote and exited): the
 * container's own mounts are in its namespace too.
 */
static struct fan_mnt *
mount_of(struct fan_mnts *mc, const void *owner, uint64_t mnt_id, int pid,
    int init_pid)
{
	struct fan_mnt *m;
	int64_t now = now_mono_ns();
	size_t i;

	for (i = 0; i < FAN_MNTS; i++) {
		m = &mc->v[i];
		if (m->id == mnt_id && m->owner == owner && m->until_ns > now)
			return m;
	}
	m = mount_in(mc, owner, mnt_id, pid);
	return m != NULL ? m : mount_in(mc, owner, mnt_id, init_pid);
}

void
fan_mnts_free(struct fan_mnts *mc)
{
	size_t i;

	for (i = 0; i < FAN_MNTS; i++) {
		free(mc->v[i].root);
		free(mc->v[i].mount_point);
	}
	memset(mc, 0, sizeof(*mc));
}

/* `p` (len n) below `prefix`: the rest ("" or "/..."), or NULL. */
static const char *
below(const char *p, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return p;
	if (strncmp(p, prefix, n) != 0 || (p[n] != '/' && p[n] != '\0'))
		return NULL;
	return p + n;
}

int
fan_path_of(const struct fan_target *t, int fd, int pid, struct fan_mnts *mc,
    struct buf *out)
{
	char link[64], p[PATH_MAX + 1];
	const char *rest;
	struct statx stx;
	struct fan_mnt *m;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, p, sizeof(p) - 1);
	if (n < 0 && errno == ENAMETOOLONG)
		return -ENAMETOOLONG;
	if (n <= 0 || p[0] != '/')
		return -1;
	p[n] = '\0';
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return -1;
	buf_reset(out);
	if (stx.stx_mnt_id == t->mnt_id) {
		rest = below(p, t->mount_point);
		if (rest == NULL)
			return -1;
		return buf_add(out, rest, strlen(rest));
	}
	m = mount_of(mc, t->owner, stx.stx_mnt_id, pid, t->init_pid);
	if (m == NULL)
		return -1;
	rest = below(p, m->mount_point);
	if (rest == NULL)
		return -1;
	if (strcmp(m->root, "/") != 0 && buf_add(out, m->root,
	    strlen(m->root)) < 0)
		return -1;
	return buf_add(out, rest, strlen(rest));
}

/* The path in the overlay of `c` of the file `fd`, "/a/b" as the queue
 * holds container paths: 0, or -1 when it cannot be told. */
static struct fan_target
target_of(struct wctr *c)
{
	struct fan_target t = {
		.owner = c, .mount_point = c->info->mount_point,
		.mnt_id = c->ov_mnt_id, .init_pid = c->info->pid
	};

	return t;
}

static int
map_path(struct watcher *w, struct wctr *c, int fd, int pid, struct buf *out)
{
	struct fan_target t = target_of(c);

	return fan_path_of(&t, fd, pid, &w->fan_mnts, out);
}

/* ---- the group and its marks ---- */

/* Linux 6.5 and later report upper-file writes to inotify. */
static int
kernel_notifies_upper_writes(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major > 6 || (major == 6 && minor >= 5);
}

int
fan_open(struct watcher *w)
{
	enum uw_content_events mode = w->opts->content_events;
	unsigned flags = FAN_CLOEXEC | FAN_NONBLOCK | FAN_CLASS_NOTIF;
	int e;

	w->fan_fd = -1;
	w->inotify_writes = mode != UW_CONTENT_FANOTIFY;
	w->upper_closes = mode == UW_CONTENT_AUTO &&
	    kernel_notifies_upper_writes();
	if (mode == UW_CONTENT_INOTIFY) {
		if (!kernel_notifies_upper_writes())
			notice_coverage(w, NULL, "--content-events inotify on "
			    "a kernel older than 6.5: writes through a "
			    "container's merged view are seen only by "
			    "rescans");
		return 0;
	}
	w->fan_fd = fanotify_init(flags | FAN_REPORT_PIDFD,
	    O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NOATIME);
	w->fan_pidfds = w->fan_fd >= 0;
	if (w->fan_fd < 0 && errno == EINVAL)	/* before 5.15 */
		w->fan_fd = fanotify_init(flags,
		    O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NOATIME);
	if (w->fan_fd < 0) {
		e = errno;
		w->inotify_writes = 1;
		if (mode == UW_CONTENT_FANOTIFY)
			return seterr(w->err, -e, "--content-events fanotify: "
			    "%s%s", strerror(e), e == EPERM ? " (it needs "
			    "CAP_SYS_ADMIN)" : "");
		if (kernel_notifies_upper_writes())
			notice_info(w, "fanotify: %s: content writes come from "
			    "inotify, and no writer is named", strerror(e));
		else
			notice_coverage(w, NULL, "fanotify: %s: on a kernel "
			    "older than 6.5 inotify misses writes through a "
			    "container's merged view; they are seen only by "
			    "rescans", strerror(e));
		return 0;
	}
	w->fan_procs = calloc(FAN_PROCS, sizeof(*w->fan_procs));
	if (w->fan_procs == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	w->fan_next_serial = 1;
	buf_init(&w->fan_path, PATH_MAX);
	return 0;
}

void
fan_close(struct watcher *w)
{
	if (w->fan_fd >= 0)
		close(w->fan_fd);
	w->fan_fd = -1;
	free(w->fan_procs);
	w->fan_procs = NULL;
	fan_mnts_free(&w->fan_mnts);
	buf_free(&w->fan_path);
}

int
fan_mark(struct watcher *w, struct wctr *c)
{
	const char *mp = c->info->mount_point;
	struct statx stx;
	struct statfs sfs;
	int fd, e;

	c->fan_marked = 0;
	if (w->fan_fd < 0)
		return 0;
	if (mp == NULL || mp[0] != '/') {
		fd = -1;
		e = ENOENT;	/* an upper dir given alone: no mount known */
		goto fail;
	}
	/* The mount point is the host's (a runtime's dir), never a path the
	 * container chose; O_DIRECTORY: it is the overlay's root. */
	fd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID)) {
		e = errno;
		goto fail;
	}
	/* Only ever the overlay: a mark on the file system below it (an
	 * upper dir watched alone is no mount point) would bring every
	 * write of the host's disk here, the daemon's own journal among
	 * them, each one a rescan of the container. */
	if (fstatfs(fd, &sfs) < 0) {
		e = errno;
		goto fail;
	}
	if (sfs.f_type != OVERLAYFS_SUPER_MAGIC) {
		e = EXDEV;	/* not the overlay's root */
		goto fail;
	}
	c->ov_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	c->ov_mnt_id = stx.stx_mnt_id;
	/* FAN_OPEN_EXEC since 5.0: without it, writes only. */
	if (fanotify_mark(w->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
	    FAN_CONTENT_MASK | FAN_OPEN_EXEC, fd, NULL) < 0 &&
	    (errno != EINVAL || fanotify_mark(w->fan_fd, FAN_MARK_ADD |
	    FAN_MARK_FILESYSTEM, FAN_CONTENT_MASK, fd, NULL) < 0)) {
		e = errno;
		goto fail;
	}
	close(fd);
	c->fan_marked = 1;
	return 1;
fail:
	if (fd >= 0)
		close(fd);
	/* Its writes then come from inotify: on a kernel older than 6.5
	 * that means from rescans only. */
	if (w->opts->content_events == UW_CONTENT_FANOTIFY ||
	    !kernel_notifies_upper_writes())
		notice_coverage(w, c, "container %s: fanotify cannot mark its "
		    "overlay (%s): its content writes are seen %s, and no "
		    "writer is named", notice_escs(w, c->info->id),
		    strerror(e), kernel_notifies_upper_writes() ?
		    "through inotify" : "only by rescans (Linux < 6.5)");
	return 0;
}

/* ---- events ---- */

static struct wctr *
ctr_of_dev(struct watcher *w, dev_t dev)
{
	size_t i;

	for (i = 0; i < w->ctr_count; i++)
		if (w->ctrs[i]->fan_marked && w->ctrs[i]->ov_dev == dev)
			return w->ctrs[i];
	return NULL;
}

static int
handle(struct watcher *w, const struct fanotify_event_metadata *m,
    int pidfd, int64_t now)
{
	struct stat st;
	struct wctr *c;
	uint64_t serial;
	int rc;

	if (fstat(m->fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	c = ctr_of_dev(w, st.st_dev);
	if (c == NULL || (st.st_nlink == 0 && !(m->mask & FAN_OPEN_EXEC)))
		return 0;	/* not ours (any more), or unlinked */
	w->fan_events++;
	rc = map_path(w, c, m->fd, m->pid, &w->fan_path);
	if (rc == -ENAMETOOLONG && (m->mask & FAN_OPEN_EXEC))
		/* too deep for the kernel to name: as --prevent judges it */
		return fan_report_gone_exec(w, c,
		    (const unsigned char *)FAN_LONG_PATH,
		    strlen(FAN_LONG_PATH), &st, writer(w, c, m->pid, pidfd),
		    0);
	if (rc < 0 || w->fan_path.len == 0) {
		w->fan_unmapped++;
		/* rate-limited: a writer that exits at once on every write
		 * must not buy a rescan a write */
		rescan_limited(c, &c->unmapped_rescan_ns,
		    UNMAPPED_RESCAN_NS);
		return 0;
	}
	if ((m->mask & FAN_OPEN_EXEC) &&
	    fan_gone(c->root_fd, &st, &w->fan_path))
		return fan_report_gone_exec(w, c, w->fan_path.data,
		    w->fan_path.len, &st, writer(w, c, m->pid, pidfd), 0);
	if (!(m->mask & FAN_CONTENT_MASK)) {
		struct fan_target t = target_of(c);

		/* Only an exec: of an image file that is not drift, the
		 * common case, nothing is looked at.  Drift is what was
		 * reported, or waits to be. */
		if (pathset_get(&c->reported, w->fan_path.data,
		    w->fan_path.len, 0) == NULL &&
		    pathset_get(&c->pending, w->fan_path.data,
		    w->fan_path.len, 0) == NULL &&
		    ignore_execs(w->fan_fd, FAN_OPEN_EXEC, m->fd, c->root_fd,
		    &w->fan_path, &t, m->pid, &w->fan_mnts))
			return 0;
	}
	serial = writer(w, c, m->pid, pidfd);
	return watch_queue_by(w, c, w->fan_path.data, w->fan_path.len,
	    (m->mask & FAN_OPEN_EXEC) ? PENT_EXEC : 0, now, serial);
}

int
fan_read(struct watcher *w, int64_t now)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct
	    fanotify_event_metadata))));
	const struct fanotify_event_metadata *m;
	ssize_t n;
	int turns, rc = 0, pidfd;

	if (w->fan_fd < 0)
		return 0;
	for (turns = 0; turns < 64; turns++) {
		n = read(w->fan_fd, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 :
			    seterr(w->err, -errno, "fanotify: %s",
			    strerror(errno));
		w->fan_batch++;
		for (m = (void *)buf; FAN_EVENT_OK(m, n);
		    m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION)
				return seterr(w->err, -EPROTO, "fanotify: "
				    "metadata version %u", m->vers);
			pidfd = fan_event_pidfd(m);
			if (m->mask & FAN_Q_OVERFLOW) {
				size_t i;

				notice_info(w, "fanotify queue overflow: "
				    "rescanning every container");
				for (i = 0; i < w->ctr_count; i++)
					w->ctrs[i]->needs_rescan = 1;
			} else if (m->fd >= 0 && rc == 0) {
				rc = handle(w, m, pidfd, now);
			}
			if (m->fd >= 0)
				close(m->fd);
			if (pidfd >= 0)
				close(pidfd);
		}
		if (rc < 0)
			return rc;
		if (n < (ssize_t)sizeof(buf) / 2)
			break;
	}
	return 0;
}
