/*
 * fanotify.h - content writes and their writers for the runtime watcher,
 * from a fanotify mark on each container's overlay (see watcher.h).
 */
#ifndef UW_FANOTIFY_H
#define UW_FANOTIFY_H

#include <stdint.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

#include "watcher.h"

struct fan_mnts;
struct fan_target;

/* What older <sys/fanotify.h> (glibc before the kernel's 5.x flags) may
 * lack; the kernel says EINVAL where it lacks them itself. */
#ifndef FAN_REPORT_PIDFD
#define FAN_REPORT_PIDFD 0x00000080
#endif
#ifndef FAN_EVENT_INFO_TYPE_PIDFD
#define FAN_EVENT_INFO_TYPE_PIDFD 4
#endif
#ifndef FAN_OPEN_EXEC
#define FAN_OPEN_EXEC 0x00001000
#endif
#ifndef FAN_OPEN_EXEC_PERM
#define FAN_OPEN_EXEC_PERM 0x00040000
#endif

/* Set up the fanotify group the watcher's content_events asks for.  Not
 * being able to (no CAP_SYS_ADMIN, no fanotify) is said, never fatal but
 * with UW_CONTENT_FANOTIFY; the watcher then has no group (fan_fd -1). */
int fan_open(struct watcher *w) UW_WARN_UNUSED;
void fan_close(struct watcher *w);

/* Mark the overlay of `c` (its mount point): its content writes come
 * through fan_read from then on.  Returns 1 marked, 0 not (said once). */
int fan_mark(struct watcher *w, struct wctr *c);

/* Read the queued events: each written file is queued (watch_queue) for
 * a look, with its writer.  Fails only when out of memory. */
int fan_read(struct watcher *w, int64_t now) UW_WARN_UNUSED;

/* Keep a process read elsewhere (fan_proc_read) in the ring: its serial
 * (0 when there is no ring: fanotify is off). */
uint64_t fan_process_keep(struct watcher *w, const struct fan_proc *src);

/* The writer a queued path was given (its serial), or NULL when none was
 * or its record has since been reused. */
const struct uw_process *fan_process(const struct watcher *w,
    uint64_t serial);

/*
 * Ignore marks (the watcher's group only: --prevent looks at each exec).
 * An image file that ran and is not drift gets one, so that the kernel
 * skips its next execs; the kernel clears it when the file is written,
 * but not when it is renamed, linked or copied up, changed through a
 * shared mapping, nor when its mode, owner or capabilities change, after
 * which it may be drift.  The watcher removes the mark as soon as
 * inotify reports a rename or a change of attributes, and whenever the
 * file's path is reported as drift (a copy-up and a link come to inotify
 * as creates, a mapped write as nothing): fan_parent_of gives an O_PATH
 * fd of the dir of `path` in c's overlay (beneath its mount point,
 * through no symlink) and its last name in *name (pointing into tmp), or
 * -1; fan_unignore removes the mark (FAN_OPEN_EXEC) on dirfd/name.
 */
/* An exec of the file `fd` (of the overlay whose upper dir is upper_fd,
 * at `path`): when the file is in no upper layer, mark it ignored for
 * `mask` in `group` (its next execs are not even reported) and return 1;
 * else 0, with no mark left.  A write meanwhile leaves no stale mark, nor
 * does an unlink or rename of `path` (fan_same_name, with t, pid, mc as
 * fan_path_of takes them). */
int ignore_execs(int group, uint64_t mask, int fd, int upper_fd,
    struct buf *path, const struct fan_target *t, int pid,
    struct fan_mnts *mc);
/* 1: the file at `path` (NUL-terminated by the call) is in no upper
 * layer (the image's, untouched); 0: it is, or cannot be told. */
int fan_in_no_upper(int upper_fd, struct buf *path);
/*
 * Is the file an event is about gone from its container: unlinked
 * (st_nlink 0, `st` its fstat), or its overlay name removed (the
 * kernel's " (deleted)" after `path`, from fan_path_of, and no file by
 * that whole name in the upper dir upper_fd)?  A file run that way (an
 * execveat of an fd opened before the unlink) cannot be told apart from
 * the image's by its name: its exec is judged and reported as drift, and
 * never marked ignored.  1, with the suffix cut from path (the name it
 * had), or 0.
 */
int fan_gone(int upper_fd, const struct stat *st, struct buf *path);
/* Report the exec of such a file of c (at path, of fstat `st`) by the
 * watcher's report callback, as an exec event with `writer` and `flags`
 * (PENT_DENIED: --prevent refused it).  0 or a negative error. */
int fan_report_gone_exec(struct watcher *w, struct wctr *c,
    const unsigned char *path, size_t len, const struct stat *st,
    uint64_t writer, unsigned flags) UW_WARN_UNUSED;
int fan_parent_of(const struct wctr *c, const unsigned char *path,
    size_t len, char *tmp, size_t tmp_size, const char **name);
void fan_unignore(struct watcher *w, int dirfd, const char *name);

/* An overlay whose events are read: its mount point and mount id in our
 * namespace, and its container's init (whose mountinfo shows the
 * container's mounts of it). */
struct fan_target {
	const void *owner;	/* the key of its fan_mnts entries */
	const char *mount_point;
	uint64_t mnt_id;
	int init_pid;
};

/*
 * The path in the overlay of the file `fd` of a fanotify event of process
 * `pid` on `t`, "/a/b", into out: 0, -ENAMETOOLONG when it is longer
 * than the kernel names (PATH_MAX), or -1 when it cannot be told (the
 * process and the init gone, a mount not found).  `mc` caches the mounts
 * met.  Safe in any thread with its own `mc` and `out`.
 */
/* Is `path` (from fan_path_of) still the name of the open file fd, on
 * t, of process pid: is the file linked (its fstat into *st), and does
 * fan_path_of give that very path again (into `again`)?  A look made
 * by that name was about this file only if so. */
int fan_same_name(const struct fan_target *t, int fd, int pid,
    struct fan_mnts *mc, const struct buf *path, struct buf *again,
    struct stat *st);
/* What an exec of a file fan_path_of cannot name for being too deep is
 * reported as: no container path, which all begin with "/", can be it. */
#define FAN_LONG_PATH "(a path longer than PATH_MAX)"
int fan_path_of(const struct fan_target *t, int fd, int pid,
    struct fan_mnts *mc, struct buf *out);
void fan_mnts_free(struct fan_mnts *mc);

/* Process `pid` as /proc shows it now into r (its strings point into
 * r); with a pidfd (>= 0) kept only if it still names the process after;
 * `pidfds`: the group reports pidfds, so none (< 0) means it is gone.
 * container_id and exe_drift are left unknown.  Thread-safe. */
void fan_proc_read(struct fan_proc *r, int pid, int pidfd, int pidfds);

/* The cgroup paths of `pid` (v2, v1 freezer; "" if none, or longer
 * than the buffer): 0 or -1. */
int fan_cgroup_of(int pid, char *v2, size_t v2_size, char *v1,
    size_t v1_size);
/* Is a process of cgroups v2 / v1 (fan_cgroup_of) in container `c`, at
 * its cgroup or below, deeper than `*best` (0 at first)?  Then *best is
 * that depth and 1 is returned: the container that holds the process is
 * the last one for which this says 1. */
int fan_cgroup_better(const char *v2, const char *v1,
    const struct uw_container *c, size_t *best);

/* The pidfd of the process behind event `m` (FAN_REPORT_PIDFD), or -1:
 * the caller closes it. */
int fan_event_pidfd(const struct fanotify_event_metadata *m);

#endif /* UW_FANOTIFY_H */
