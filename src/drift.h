/*
 * drift.h - what one upper-dir entry means against the image baseline,
 * and the offline diff of a whole upper dir built on it.
 */
#ifndef UW_DRIFT_H
#define UW_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "upperwatch.h"
#include "util.h"
#include "walk.h"

struct drift;

/* The classifier for one image's baseline. */
struct drift *drift_new(struct store *store, const char *image,
    struct uw_error *err);
void drift_free(struct drift *d);

/* The upper root (not owned), for reporting image hard links. */
void drift_set_root(struct drift *d, int root_fd);

/* Which xattrs are overlay metadata, and whether ".wh.NAME" files are
 * whiteouts: WALK_OV_* (walk.h), the mount's dialect.  Default 0: a
 * kernel overlay without userxattr, metacopy or redirect, where ".wh."
 * names are ordinary files (only fuse-overlayfs, WALK_OV_FUSE, writes
 * them as whiteouts). */
void drift_set_dialect(struct drift *d, unsigned dialect);

/*
 * The directory an entry sits in, as the classifier needs to know it.
 * `bpath` is the baseline path its entries are compared with: the dir's
 * own path, or the path a renamed (redirected) dir's content comes from.
 */
struct drift_dir {
	int fd;			/* the upper dir, open */
	int xwhiteouts;		/* overlay.opaque=x: may hold xattr whiteouts */
	int opaque;		/* nothing from below shows: whiteouts are noise */
	int new_tree;		/* not in the baseline: nothing can be deleted */
	const unsigned char *path;	/* container path ("" for the root) */
	size_t path_len;
	const unsigned char *bpath;	/* baseline path ("" for the root) */
	size_t bpath_len;
	/* The entry's lstat, when the caller has just taken it (one
	 * syscall less per entry); NULL: drift_entry takes its own. */
	const struct stat *st;
	/* The entry opened with walk_open_path, *st its fstat (a regular
	 * file is then read through it); -1 when not.  Not closed here. */
	int path_fd;
};

/* A drift_dir with no st and no path_fd. */
void drift_dir_init(struct drift_dir *dir);

/* When the entry is a directory to descend into: its context. */
struct drift_child {
	int fd;			/* -1 when not a directory */
	int xwhiteouts, opaque, new_tree;
	struct buf bpath;
	int want_names;		/* set by the caller: list it into names */
	struct walk_names names;	/* its listing */
};

void drift_child_init(struct drift_child *child);
void drift_child_free(struct drift_child *child);

/*
 * The drift_dir for the entries of the dir held in `child` (filled by
 * drift_entry, or the top of a walk): its fd (still the child's), flags
 * and baseline path, and the container path path[0..path_len) ("" for
 * the root).  `path` may go on past path_len (with "/name" of the entry
 * being looked at); it and `child` must outlive `dir`.  No st, no
 * path_fd.
 */
void drift_dir_from_child(struct drift_dir *dir,
    const struct drift_child *child, const unsigned char *path,
    size_t path_len);

/*
 * Classify the upper entry `name` of `dir` and call `cb` with the event it
 * makes, if any.  For a directory, `child` is filled (fd open, owned by
 * the caller, and listed when child->want_names) so the caller can walk
 * it.  An entry that cannot be classified (it keeps changing type, cannot
 * be read, its name is too long) is reported as a UW_OP_ERROR event with
 * the reason, and its child is not filled: whatever a container does to
 * its files, the call does not fail for it.  Returns 0, the callback's
 * non-zero value, or a negative error of our own: the store failed, the
 * callback failed, or memory ran out.
 */
int drift_entry(struct drift *d, const struct drift_dir *dir,
    const char *name, size_t name_len, struct drift_child *child,
    int (*cb)(const struct uw_event *ev, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* Report the entry `name` of `dir` as a UW_OP_ERROR event for `reason`
 * (e.g. deeper than a walk goes); one whose path is too long to build is
 * reported at its dir, as drift_entry does.  Returns as drift_entry. */
int drift_error_entry(struct drift *d, const struct drift_dir *dir,
    const char *name, size_t name_len, const char *reason,
    int (*cb)(const struct uw_event *ev, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* The offline diff of a whole upper dir (uw_diff). */
int drift_diff(struct store *store, const struct uw_diff_opts *opts,
    struct uw_diff_stats *stats, struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_DRIFT_H */
