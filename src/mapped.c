/*
 * mapped.c - writes through shared mappings.
 *
 * A store through a MAP_SHARED mapping raises no inotify or fanotify
 * event.  The file's close, which does, may come long before it: open,
 * mmap, close (read by the watcher: unchanged), then write.  The
 * mapping's own release comes after it, but it is the upper file's, not
 * the overlay's (fanotify marks the overlay; inotify sees it from Linux
 * 6.5 on), and a process that keeps its mapping never releases it.  So
 * every MAP_SWEEP_NS the mappings of each container's processes are read
 * from /proc/PID/maps, and each file of its overlay that one of them maps
 * shared is looked at again: a change is reported like any other (the
 * same state is not reported twice).  Each mapped file is placed through
 * the mapping itself (/proc/PID/map_files) and the process's mounts, so
 * a bind mount inside the container gives the overlay's path.  Only when
 * that fails is the name maps prints taken, and then a writable mapping
 * also gets the container rescanned (the name is the process's, which a
 * mount of its own may point anywhere), at most once a minute: one seen
 * within the minute after such a rescan is rescanned for when it ends.
 *
 * Bounded against a container that spawns processes or mappings to slow
 * the watcher down: MAP_MAX_PIDS processes, MAP_MAX_CGROUPS cgroups
 * MAP_MAX_DEPTH deep and MAP_MAX_BYTES of maps per container and sweep,
 * said once when reached, when the container is rescanned instead (as for
 * an unplaced mapping); and a sweep that took long
 * puts the next one off, so that sweeping takes at most about one
 * MAP_CPU_SHARE-th of the watcher's time (a maps line of a process with
 * many shared mappings costs the kernel about 6 us).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fanotify.h"
#include "mapped.h"
#include "notice.h"
#include "scan.h"
#include "util.h"
#include "walk.h"
#include "watch.h"
#include "watcher.h"

#define MAP_SWEEP_NS 5000000000LL
#define MAP_RESCAN_NS 60000000000LL	/* an unplaced writable mapping */
#define MAP_MAX_PIDS 1024
#define MAP_MAX_BYTES (4u << 20)
#define MAP_CPU_SHARE 20
#define MAP_MAX_CGROUPS 256		/* nested cgroups read */
#define MAP_MAX_DEPTH 8			/* and how deep */
#define MAP_THREAD_TRIES 4		/* threads read for a process */
#define MAP_LINE 8192			/* longer lines are skipped */

struct sweep {
	struct watcher *w;
	struct wctr *c;
	dev_t ov_dev, up_dev;	/* the overlay's, the upper dir's */
	int merged_fd;		/* the overlay's root (its mount point) */
	const char *upper;	/* its host path, for an upper file's name */
	size_t upper_len;
	size_t pids;
	size_t bytes;
	int capped;		/* a bound was reached */
	int unplaced;		/* a writable mapping with no upper name */
	int rc;			/* a negative error of our own */
	struct buf path;	/* a mapped file's container path */
};

/* Queue container path `p` (len n) when it names the mapped file `e`:
 * the same device and inode there, in the overlay (or, where maps shows
 * the upper file, the upper dir), which also holds it in its upper dir.
 * A name that does not (a decoy at the name of an unlinked alias, say)
 * is not taken.  Returns 1 when queued, 0 when not. */
static int
place(struct sweep *s, const struct map_entry *e, const char *p, size_t n)
{
	char path[PATH_MAX];
	struct stat st;
	int root, rc;

	if (n == 0 || n >= sizeof(path) || p[0] != '/')
		return 0;
	memcpy(path, p, n);
	path[n] = '\0';
	root = e->dev == s->ov_dev ? s->merged_fd : s->c->root_fd;
	if (root < 0 || walk_stat_beneath(root, path, &st) != 1 ||
	    st.st_dev != e->dev || (unsigned long long)st.st_ino != e->ino ||
	    walk_exists_beneath(s->c->root_fd, path) != 1)
		return 0;
	rc = watch_queue(s->w, s->c, (const unsigned char *)path, n, 0,
	    now_mono_ns());
	if (rc < 0)
		s->rc = rc;
	return 1;
}

/*
 * The container path of the file process `pid` maps at `range` ("start-
 * end"), through the mapping itself (/proc/PID/map_files, root only) and
 * the mounts of the process, as fanotify's writers are placed: a bind
 * mount inside the container gives the overlay's own path.  0, or -1.
 */
static int
map_file_path(struct sweep *s, long pid, const char *range)
{
	const struct uw_container *info = s->c->info;
	struct fan_target t = {
		.owner = s->c, .mount_point = info->mount_point,
		.mnt_id = s->c->ov_mnt_id, .init_pid = info->pid
	};
	char link[96];
	int fd, rc;

	snprintf(link, sizeof(link), "/proc/%ld/map_files/%s", pid, range);
	fd = open(link, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fan_path_of(&t, fd, (int)pid, &s->w->fan_mnts, &s->path);
	close(fd);
	return rc;
}

int
mapped_parse(const char *line, struct map_entry *e)
{
	char start[24], end[24], perms[8];
	unsigned maj, min;
	int off = -1;

	if (sscanf(line, "%20[0-9a-f]-%20[0-9a-f] %7s %*[0-9a-f] %x:%x %llu "
	    "%n", start, end, perms, &maj, &min, &e->ino, &off) != 6 ||
	    off < 0 || strlen(perms) < 4 || e->ino == 0 ||
	    line[off] != '/')
		return -1;
	snprintf(e->range, sizeof(e->range), "%s-%s", start, end);
	e->shared = perms[3] == 's';
	e->writable = perms[1] == 'w';
	e->dev = makedev(maj, min);
	e->name = line + off;
	return 0;
}

size_t
mapped_unescape(const char *name, char *out, size_t size)
{
	size_t n = 0;

	for (; *name != '\0'; name++) {
		if (n + 1 >= size)
			return (size_t)-1;
		if (strncmp(name, "\\012", 4) == 0) {
			out[n++] = '\n';
			name += 3;
		} else {
			out[n++] = *name;
		}
	}
	out[n] = '\0';
	return n;
}

/*
 * One line of a maps file (`cut`: only its first MAP_LINE bytes, its
 * name cut short).  Its file is placed through the mapping where it can
 * be, else by the name the line gives.  There, a newline in a name is
 * written "\012" (a name holding those four bytes is tried under both
 * readings), and " (deleted)" ends the name of a file removed since
 * (tried with and without it).  Each name is taken only if it is the
 * mapped file (place); a writable mapping no name is taken for gets the
 * container rescanned.
 */
static void
map_line(struct sweep *s, long pid, const char *line, int cut)
{
	struct map_entry e;
	char name[PATH_MAX];
	const char *p;
	size_t n, len;
	int placed = 0;

	if (mapped_parse(line, &e) < 0 || !e.shared ||
	    (e.dev != s->ov_dev && e.dev != s->up_dev))
		return;
	if (map_file_path(s, pid, e.range) == 0)
		placed = place(s, &e, (const char *)s->path.data,
		    s->path.len);
	p = e.name;
	len = strlen(p);
	if (!placed && !cut && e.dev == s->up_dev && s->up_dev != s->ov_dev) {
		/* a kernel that shows the upper file itself */
		if (len <= s->upper_len || memcmp(p, s->upper,
		    s->upper_len) != 0 || p[s->upper_len] != '/') {
			cut = 1;	/* not beneath it: no name */
		} else {
			p += s->upper_len;
			len -= s->upper_len;
		}
	}
	if (!placed && !cut) {
		placed = place(s, &e, p, len);
		n = mapped_unescape(p, name, sizeof(name));
		if (!placed && n != (size_t)-1 && n != len)
			placed = place(s, &e, name, n);
		if (!placed && n != (size_t)-1 && n > 10 &&
		    strcmp(name + n - 10, " (deleted)") == 0)
			placed = place(s, &e, name, n - 10);
	}
	if (!placed && e.writable)
		s->unplaced = 1;
}

/* The maps of one process (or thread), line by line, within the sweep's
 * bound: how many bytes it had. */
static size_t
sweep_pid(struct sweep *s, long pid)
{
	char path[64], buf[MAP_LINE + 1], *nl, *line;
	size_t have = 0, total = 0;
	ssize_t got;
	int fd, skipping = 0;	/* in the rest of a line too long */

	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;	/* gone already */
	for (;;) {
		if (s->bytes >= MAP_MAX_BYTES) {
			s->capped = 1;
			break;
		}
		got = read(fd, buf + have, MAP_LINE - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		s->bytes += (size_t)got;
		total += (size_t)got;
		have += (size_t)got;
		buf[have] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (!skipping)
				map_line(s, pid, line, 0);
			skipping = 0;
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (have == MAP_LINE) {
			/* a line too long: its head (range, device,
			 * inode) is read, its name is not */
			if (!skipping)
				map_line(s, pid, buf, 1);
			have = 0;
			skipping = 1;
		}
	}
	close(fd);
	return total;
}

/* A process whose maps are empty: a zombie, or one whose first thread
 * has exited (pthread_exit) while the others run on, with the mappings,
 * which /proc/PID/maps then no longer shows.  Read them through one of
 * its other threads: they share them, so the first that shows any does;
 * at most MAP_THREAD_TRIES (one caught leaving shows none). */
static void
sweep_threads_of(struct sweep *s, long pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	long tid;
	int tries = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	dir = opendir(path);
	if (dir == NULL)
		return;
	while (tries < MAP_THREAD_TRIES && (d = readdir(dir)) != NULL) {
		tid = strtol(d->d_name, NULL, 10);
		if (tid <= 0 || tid == pid)
			continue;
		if (sweep_pid(s, tid) > 0)
			break;
		tries++;
	}
	closedir(dir);
}

/* One process of a cgroup (pids_each): 1 to stop, at the cap. */
static int
sweep_one(long pid, void *arg)
{
	struct sweep *s = arg;

	if (s->pids++ >= MAP_MAX_PIDS) {
		s->capped = 1;
		return 1;
	}
	if (sweep_pid(s, pid) == 0)
		sweep_threads_of(s, pid);
	return s->rc != 0 || s->capped;	/* (past the bytes cap too) */
}

static int
sweep_ctr(struct watcher *w, struct wctr *c)
{
	const struct uw_container *info = c->info;
	const char *cg = info->cgroup_v2 != NULL && info->cgroup_v2[0] ?
	    info->cgroup_v2 : info->cgroup_v1_freezer;
	struct cgroup_caps caps;
	struct sweep s;
	struct stat st;
	int fd;

	if (cg == NULL || cg[0] == '\0' || c->root_fd < 0 ||
	    info->mount_point == NULL || info->upper == NULL)
		return 0;
	memset(&s, 0, sizeof(s));
	s.w = w;
	s.c = c;
	if (fstat(c->root_fd, &st) != 0)
		return 0;
	s.up_dev = st.st_dev;
	/* the host's mount point (a runtime's dir), not a name the
	 * container chose */
	s.merged_fd = open(info->mount_point, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (s.merged_fd < 0)
		return 0;
	if (c->map_dev == 0 && fstat(s.merged_fd, &st) == 0)
		c->map_dev = st.st_dev;
	if (c->map_dev == 0) {
		close(s.merged_fd);
		return 0;
	}
	s.ov_dev = c->map_dev;
	s.upper = info->upper;
	s.upper_len = strlen(info->upper);
	while (s.upper_len > 1 && s.upper[s.upper_len - 1] == '/')
		s.upper_len--;
	fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		close(s.merged_fd);
		return 0;	/* stopped meanwhile */
	}
	buf_init(&s.path, PATH_MAX);
	caps.max_cgroups = MAP_MAX_CGROUPS;
	caps.max_depth = MAP_MAX_DEPTH;
	(void)cgroup_pids_each(fd, &caps, sweep_one, &s);
	s.capped |= caps.capped;
	close(fd);
	buf_free(&s.path);
	close(s.merged_fd);
	if (s.capped && !c->map_capped) {
		c->map_capped = 1;
		notice_coverage(w, c, "container %s has more processes, "
		    "cgroups or mappings than a sweep for writes through "
		    "shared mappings reads (%d processes, %d cgroups %d "
		    "deep, %u MiB of maps): it is rescanned for such writes "
		    "instead, at most once a minute",
		    notice_escs(w, info->id), MAP_MAX_PIDS, MAP_MAX_CGROUPS,
		    MAP_MAX_DEPTH, MAP_MAX_BYTES >> 20);
	}
	/* and a sweep that could not read every mapping has not found
	 * every write either */
	if (s.unplaced || s.capped)
		rescan_limited(c, &c->map_rescan_ns, MAP_RESCAN_NS);
	return s.rc;
}

int
mapped_due(struct watcher *w, int64_t now, int64_t *next_due)
{
	size_t i;
	int rc = 0;

	int64_t took;

	if (now >= w->map_sweep_ns) {
		for (i = 0; i < w->ctr_count && rc == 0; i++)
			rc = sweep_ctr(w, w->ctrs[i]);
		took = now_mono_ns() - now;
		w->map_sweep_ns = now + (took * MAP_CPU_SHARE > MAP_SWEEP_NS ?
		    took * MAP_CPU_SHARE : MAP_SWEEP_NS);
	}
	if (w->map_sweep_ns < *next_due)
		*next_due = w->map_sweep_ns;
	return rc;
}
