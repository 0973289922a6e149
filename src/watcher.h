/*
 * watcher.h - the state the rooms of the runtime watcher (uw_watch)
 * share: the watcher and its containers.  The rooms, each with its own
 * header, from the bottom up (each calls only those below it; upward
 * calls go through the callbacks in struct watcher):
 *
 *   notice.c   what the watcher says: notices, coverage warnings, names
 *              a container chose made safe to print
 *   journal.c  the journal's transactions, its failure and recovery, and
 *              the path-state cache
 *   watch.c    inotify: watches, the wd table, coalescing, overflow; it
 *              hands each quiet path to the `look` callback
 *   scan.c     looking at an upper dir: one path again, or a whole tree;
 *              each drift event goes to the `report` callback
 *   sync.c     containers coming and going: discovery, auto-baseline,
 *              start and stop
 *   status.c   status.json and the Prometheus metrics
 *   daemon.c   setup, the event loop, policy load/reload, and the
 *              per-event pipeline (judge, journal, hand out, alert,
 *              respond)
 */
#ifndef UW_WATCHER_H
#define UW_WATCHER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/inotify.h>

#include "discover.h"
#include "drift.h"
#include "glob.h"
#include "package.h"
#include "pathset.h"
#include "store.h"
#include "upperwatch.h"
#include "util.h"

struct alerter;
struct prevent;

/* No IN_DONT_FOLLOW: watches are added through /proc/self/fd/N, a link
 * that must be followed (to our own fd, never to a container's link). */
#define WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | \
	IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR | \
	IN_EXCL_UNLINK)
#define DEFAULT_RESCAN_S 300
#define LIMITED_RESCAN_S 30	/* containers over a watch limit */
#define UNWATCHED_RESCAN_NS 5000000000LL	/* a dir could not be watched */
#define DEGRADED_RESCAN_NS 10000000000LL	/* a container could not be
						 * scanned */
#define JOURNAL_RETRY_NS 5000000000LL	/* the journal could not write */
#define SYSTEM_LIMIT_RETRY_NS 300000000000LL	/* fs.inotify limit hit */
#define RETRY_TRIES 3		/* a path whose dir kept changing */
#define DEFAULT_QUIET_MS 20
#define MAX_PENDING (1u << 20)
/* A look that takes longer than SLOW_LOOK_NS (hashing a huge file) puts
 * the next look at its path off, so that it takes no more than 1 /
 * SLOW_LOOK_SHARE of the watcher's time: a container that keeps writing
 * to a huge file cannot keep the thread that serves every container
 * busy.  The change is reported all the same, later.  At most
 * MAX_SLOW_PATHS paths per container are kept so (and as many names of
 * unlinked files that ran, fan_report_gone_exec). */
#define SLOW_LOOK_NS 10000000LL
#define SLOW_LOOK_SHARE 20
#define MAX_SLOW_PATHS 1024
/* The longest container path the watcher reads, watches or keeps: an
 * entry whose path is longer is reported as such (WATCH_LONG_REASON),
 * never read.  Every path it keeps (watches, looks queued, reported
 * paths) is at most this much and a name, so a chain of dirs with long
 * names, whose paths' lengths add up with the square of its depth,
 * cannot run the daemon out of memory. */
#define WATCH_MAX_PATH 16384
#define WATCH_LONG_REASON "path longer than 16384 bytes: not read below"
/* The hard-linked names of upper files kept per container (scan.c's
 * links_seen); past that, a write through one more is left to the
 * periodic rescan, and the container says so. */
#define MAX_LINK_NAMES 4096
/* The other names of a file one look queues at most: past that, its
 * container is rescanned instead (rescan_limited), so one write through
 * a file linked thousands of times costs a bounded rescan, not thousands
 * of looks. */
#define MAX_ALIAS_FANOUT 64
/* A file with more links than names kept rescans its container, at most
 * this often. */
#define LINKS_RESCAN_NS 2000000000LL
/* And a rescan asked for by a container (rescan_limited) waits at least
 * this many times as long as its last rescan took: such rescans take at
 * most about a twentieth of the watcher's time, however big the
 * container made its upper dir. */
#define RESCAN_CPU_SHARE 20
/* A fanotify event that cannot be placed rescans its container, at most
 * this often. */
#define UNMAPPED_RESCAN_NS 1000000000LL
#define DEFAULT_JOURNAL_MAX_EVENTS 1000000
#define COMMIT_NS 100000000	/* group journal writes: 100 ms */
#define EVENTS_PER_TURN 8192
/* The journal's WAL is copied into the database file when the watcher
 * is about to wait and the WAL holds this many pages (4 KiB each)... */
#define CKPT_IDLE_PAGES 1000
/* ...or at once at this many, however busy it is. */
#define CKPT_BUSY_PAGES 16384

#define PROCESS_RETRY 3		/* look at the path again in a moment */

/* Path set flags: */
#define PENT_SCAN_DIR 0x1	/* pending: look for whiteouts in this dir */
#define PENT_UNJOURNALED 0x2	/* reported: printed, not yet journaled */
#define PENT_EXEC 0x4		/* pending: opened for exec (fanotify) */
#define PENT_DENIED 0x8		/* pending: an exec --prevent refused */
#define PENT_SLOW 0x10		/* pending: handed out a moment ago, so it
				 * waits the whole quiet period */
#define PENT_UNIGNORE 0x20	/* pending: touched once more at its report */
#define PENT_ALIAS 0x40		/* pending: another name of it was written */

/*
 * The quiet period adapts: a path whose events came at once (within the
 * short quiet, a fifth of the quiet period) is looked at once it has been
 * quiet that short while; one still being written, one handed out within
 * the last RECENT_REPORT_NS (a file appended to again and again), and every
 * path of a container with more than QUIET_BURST paths waiting wait the
 * whole period, so bursts are coalesced as before.
 */
#define QUIET_SHORT_DIV 5
#define QUIET_BURST 256
#define RECENT_REPORT_NS 1000000000LL

/* ---- fanotify (fanotify.c) ---- */

#define FAN_PROCS 1024		/* writers remembered for queued paths */
#define FAN_MNTS 16		/* mounts of overlays seen in events */

/* A writer, as fan_read read it from /proc. */
struct fan_proc {
	uint64_t serial;	/* 0: free */
	struct uw_process p;	/* pointing into the buffers below */
	char comm[32];
	char exe[512];
	char cmdline[UW_CMDLINE_MAX + 1];
	char ctr[128];
};

/* A mount of a container's overlay, in some writer's namespace. */
struct fan_mnt {
	uint64_t id;		/* mount id; 0: free */
	const void *owner;	/* whose overlay (a wctr, say) */
	char *root;		/* the path of the overlay it shows */
	char *mount_point;	/* where, in that namespace */
	int64_t until_ns;	/* trusted until then */
};

/* A cache of them, FAN_MNTS, reused in turn. */
struct fan_mnts {
	struct fan_mnt v[FAN_MNTS];
	size_t next;
};

/* ---- watched containers ---- */

/* Why a container is rescanned instead of watched. */
enum limit_cause {
	LIMIT_NONE = 0,
	LIMIT_BUDGET,		/* more dirs than --max-watches-per-container */
	LIMIT_SYSTEM,		/* fs.inotify.max_user_watches reached */
};

struct wctr {
	struct uw_container *info;	/* a copy (discover_copy) */
	struct drift *drift;
	int root_fd;
	int *wds;
	size_t wd_count, wd_alloc;
	int root_xwhiteouts;	/* the upper root is overlay.opaque=x */
	int ctime_blind;	/* its upper dir is on tmpfs or ramfs: a write
				 * through a mapping moves no ctime */
	unsigned dialect;	/* WALK_OV_*: the mount's overlay xattrs */
	enum limit_cause limited;	/* rescans only */
	int64_t limited_since_ns;
	uint64_t dirs_seen;	/* by the last full scan */
	uint64_t unwatched;	/* dirs that could not be watched */
	char degraded[256];	/* why it could not be scanned; "" if fine */
	char incomplete[256];	/* its baseline is incomplete: why */
	int paused, killed;	/* by us */
	int fan_marked;		/* its overlay has our fanotify mark */
	int inotify_writes;	/* its watches ask for writes */
	int close_writes;	/* ...or, where fanotify gives writes, for the
				 * closes (fan_open's upper_closes) */
	uint64_t ov_dev;	/* the overlay's st_dev */
	uint64_t ov_mnt_id;	/* our mount of it (its mount_point) */
	int needs_rescan;
	int verify_due;		/* --verify-lower: its layers to be read */
	struct pathset lower_reported;	/* lower-layer events handed out
					 * (key path, first_ns signature) */
	int alive;
	int64_t next_rescan_ns;
	struct pathset pending;	/* container paths waiting for quiet */
	struct pathset aside;	/* queued while `pending` is drained */
	struct pathset slow;	/* paths whose last look was slow (a huge
				 * file): first_ns, when the next may be */
	struct pathset gone;	/* unlinked files that ran (fan_gone):
				 * first_ns, when last reported */
	struct pathset reported;	/* path -> signature (first_ns) last
				 * reported: all of path_state, in memory */
	struct pathset links;	/* path -> upper inode (in `proc`) of each
				 * upper file with more than one link */
	int links_full;		/* MAX_LINK_NAMES reached: said once */
	int64_t links_rescan_ns;	/* a rescan for names, not before */
	int64_t rescan_took_ns;		/* how long its last rescan took */
	int64_t unmapped_rescan_ns;	/* a rescan for fanotify, not before */
	uint64_t map_dev;	/* the overlay's st_dev (mapped.c), 0: unread */
	int64_t map_rescan_ns;	/* an unplaced mapping rescans from then */
	int map_capped;		/* a sweep's bound was reached: said once */
	struct pkgview pkg;	/* its packages (package.h) */
};

/* What a watch descriptor watches: a dir of a container. */
struct wdir {
	struct wctr *c;		/* NULL: not ours */
	unsigned char *path;	/* its container path; "" for the root */
	size_t len;
};

/* The context of a dir of a container (scan.c's parent_context): its
 * fd, overlay flags and baseline path, and for which dir_gen it holds. */
#define CTX_SLOTS 16
struct ctx_slot {
	struct drift_child ctx;
	struct buf path;	/* the dir's container path */
	struct wctr *ctr;
	uint64_t gen, used;
	int valid;
};

struct watcher {
	/* Look again at `path` of `c` (watch_drain calls it for each
	 * quiet path): 0, PROCESS_RETRY, or a negative error. */
	int (*look)(struct watcher *w, struct wctr *c,
	    const unsigned char *path, size_t len, unsigned flags);
	/* Judge and hand out a drift event of `cur` (scan calls it). */
	int (*report)(const struct uw_event *ev, void *arg);
	/* inotify saw the non-dir `path` of `c` arrive by a rename (a
	 * copy-up is one) or change its attributes: an image file that
	 * was known to be itself may not be any more (watch_read calls
	 * it at once, before any quiet period, and marks the path
	 * PENT_UNIGNORE to be touched again at its report).  May be
	 * NULL. */
	void (*touched)(struct watcher *w, struct wctr *c,
	    const unsigned char *path, size_t len);
	struct store *store;
	struct jw *jw;			/* the journal's writer thread, or NULL */
	const struct uw_watch_opts *opts;
	struct uw_error *err;
	int inotify_fd;
	struct uw_mounts_fd {
		int fd;
	} mounts;
	struct wctr **ctrs;
	size_t ctr_count;
	struct wdir *by_wd;	/* indexed by watch descriptor */
	size_t by_wd_size;
	size_t max_watches;	/* per container */
	uint64_t next_id;
	int in_txn;
	int64_t txn_start_ns;
	int64_t quiet_ns, quiet_short_ns, max_hold_ns, rescan_ns;
	int64_t limited_rescan_ns;
	int stop_requested;		/* on_event said stop */
	int stop_rc;
	int idle_failed;		/* on_idle said stop: not again */
	enum uw_container_match match_best;	/* of --container on the host */
	/* a dir's old path, until its MOVED_TO */
	struct buf moved_from;
	struct wctr *moved_ctr;
	uint32_t moved_cookie;
	/* fanotify: content writes and their writers (fanotify.c) */
	int fan_fd;		/* -1: none */
	int fan_pidfds;		/* events carry pidfds (FAN_REPORT_PIDFD) */
	int inotify_writes;	/* inotify is asked for writes (not only
				 * where fanotify cannot mark) */
	int upper_closes;	/* --content-events auto on Linux 6.5+:
				 * where fanotify gives the writes, inotify
				 * is asked for closes after writing too.
				 * The last release of a shared mapping is
				 * the upper file's, never the overlay's
				 * (fanotify marks the overlay): open,
				 * mmap, close, write, munmap shows only
				 * there.  Before 6.5 inotify sees none. */
	struct fan_proc *fan_procs;	/* FAN_PROCS of them, a ring */
	uint64_t fan_next_serial;
	uint64_t fan_batch, fan_last_batch, fan_last_serial;
	int fan_last_pid;
	struct fan_mnts fan_mnts;
	struct buf fan_path;
	uint64_t fan_events, fan_unmapped;
	/* The writer of the path being looked at (its serial, which
	 * fan_process reads; watch_drain sets it); 0 when none was named. */
	uint64_t cur_writer;
	unsigned cur_flags;	/* its PENT_* flags */
	uint64_t exec_events;
	uint64_t lower_events;	/* --verify-lower differences reported */
	/* A package transaction's held-back paths being handed out: their
	 * incident (the id of its first event), how many paths and how many
	 * packages changed, and the events' package checks counted. */
	int pkg_flushing;
	uint64_t cur_incident;
	int64_t txn_files;
	int txn_changed;
	uint64_t txn_rechanged;	/* second looks handed out again */
	uint64_t txn_checks[UW_PKG_UNOWNED + 1];
	uint64_t incidents;
	struct prevent *prevent;	/* --prevent (prevent.c); NULL: off */
	struct uw_policy_set *policies;
	struct alerter *alerter;
	/* The journal cannot write (a full disk): events still go out,
	 * marked unjournaled, and it is tried again now and then. */
	int journal_down;
	int journal_retrying;	/* journal_recover is trying it */
	char journal_why[256];
	int64_t journal_retry_ns;
	uint64_t unjournaled;		/* events out while it was down */
	uint64_t journal_pruned;	/* events deleted over the limit */
	uint64_t pruned_said;		/* ...as the last warning said */
	int64_t pruned_notice_ns;	/* the next warning, not before */
	int catching_up;		/* a rescan journals what was missed */
	/* for status.json and the metrics */
	char *status_path, *metrics_path;
	int64_t status_ns, started_ns, last_rescan_real_ns;
	uint64_t events_total, events_at_status;
	uint64_t responses_done, responses_failed, responses_skipped;
	uint64_t coverage_total;	/* coverage warnings given */
	uint64_t error_events;		/* entries that could not be read */
	int64_t alert_check_ns;
	uint64_t alert_dropped;
	char *evidence_dir;
	unsigned pump_looks;	/* watch_pump's count */
	int64_t pumped_due;	/* it read the queues: wake by then */
	/* journal_json's memory stream, one for every event */
	FILE *json_mem;
	char *json_buf;
	size_t json_size;
	/* The context of the dir the last path was in, and of the dirs
	 * looked in just before it: a burst comes from a few dirs, and its
	 * paths are drained in no order.  Anything that happens to a dir
	 * (dir_gen) makes them stale. */
	struct ctx_slot ctx;
	struct ctx_slot ctx_cache[CTX_SLOTS];
	uint64_t dir_gen, ctx_tick;
	struct glob **excludes;		/* compiled opts->excludes */
	size_t exclude_count;
	struct glob_set *exclude_set;	/* excludes, matched together */
	/* Mounts no runtime has claimed yet, and when first seen: a runtime
	 * mounts the rootfs a moment before it writes its state. */
	struct pathset unclaimed;
	int64_t resync_ns;		/* look at the host again then */
	int64_t map_sweep_ns;		/* read shared mappings then */
	/* scratch */
	struct buf sig, path;
	char esc[4][512];		/* escaped names for notices */
	int esc_next;
	int scanning;		/* in a full scan: it marks what it sees */
	int in_tree;		/* in a scan of a tree (a new dir, a full
				 * scan), not of one path an event named */
	unsigned scan_gen;	/* the mark of the current full scan */
	int leaf_reported;
	struct wctr *cur;
	struct wctr *draining;	/* its pending queue is being drained */
};

#endif /* UW_WATCHER_H */
