/*
 * upperwalk.h - a depth-first walk over a subtree of a container's upper
 * dir, one entry at a time, for the callers that classify every entry
 * with drift_entry: the offline diff and the watcher's scans.  The walk
 * keeps the stack of open dirs, builds each entry's container path and
 * its drift_dir; the caller decides what an entry means, whether it is
 * too deep, and whether to go down into it.
 */
#ifndef UW_UPPERWALK_H
#define UW_UPPERWALK_H

#include <stddef.h>

#include "drift.h"
#include "util.h"
#include "walk.h"

struct upperwalk;

/* How a walk orders and bounds what it yields. */
enum upperwalk_flag {
	/* Each dir's names in byte order (memcmp, shorter first), for
	 * output that is the same from run to run; else listing order. */
	UPPERWALK_SORTED = 1 << 0,
	/* An entry whose container path would be longer than WALK_MAX_PATH
	 * is passed over; else upperwalk_next fails for it. */
	UPPERWALK_SKIP_LONG = 1 << 1,
};

/* One entry, as upperwalk_next yields it.  Everything in it stays valid
 * until the next upperwalk_next, upperwalk_descend or upperwalk_free. */
struct upperwalk_entry {
	/* The dir it is in, ready for drift_entry (from
	 * drift_dir_from_child): no st, path_fd -1.  The caller may set
	 * those (and must close a path_fd it opened). */
	struct drift_dir dir;
	const char *name;		/* NUL-terminated */
	size_t name_len;
	unsigned char d_type;		/* DT_* from the listing */
	const unsigned char *path;	/* its container path */
	size_t path_len;
	/* Components in `path`, counted from the container root: 1 for an
	 * entry of the root.  The caller applies its depth rule to it. */
	size_t depth;
};

/*
 * Start a walk below the dir held in `top` (open, its xattr flags and
 * baseline path set, its names listed: what drift_entry leaves in a
 * child, or an upper root read by the caller), whose container path is
 * path[0..path_len): "" or "/" for the root, else without a trailing
 * slash.  On success `top` is taken over (left as drift_child_init
 * leaves it: freeing it is a no-op) and its names are sorted under
 * UPPERWALK_SORTED.  NULL when out of memory (or `path` is longer than
 * WALK_MAX_PATH); `top` is then still the caller's.  `flags` are
 * enum upperwalk_flag bits.
 */
struct upperwalk *upperwalk_new(struct drift_child *top,
    const unsigned char *path, size_t path_len, unsigned flags);

/*
 * Free the walk: every dir still open on its stack is closed, and a
 * child from upperwalk_child not descended into is freed.  NULL is
 * ignored.
 */
void upperwalk_free(struct upperwalk *walk);

/*
 * The next entry, depth first: the names of a dir, with the subtree of
 * each one descended into right after it.  A dir whose names are done
 * is closed and left.  Returns 1 with *entry filled, 0 when the subtree
 * is done, or -ENAMETOOLONG (without UPPERWALK_SKIP_LONG) when the next
 * name makes a path longer than WALK_MAX_PATH (or memory to build it
 * runs out): that name is used up, and the walk may go on.  Frees a
 * child from upperwalk_child that was not descended into.
 */
int upperwalk_next(struct upperwalk *walk, struct upperwalk_entry *entry)
    UW_WARN_UNUSED;

/*
 * A child context for the entry last yielded, fresh from
 * drift_child_init, to pass to drift_entry (set want_names first to
 * have it listed there).  It stays the walk's: it is freed by the next
 * upperwalk_next or upperwalk_child, or taken onto the stack by
 * upperwalk_descend.  Never NULL.
 */
struct drift_child *upperwalk_child(struct upperwalk *walk);

/*
 * Go down into the child from upperwalk_child: it must hold an open dir
 * (child->fd >= 0) and its listing; the next entries are its names
 * (sorted under UPPERWALK_SORTED).  0; -ENOMEM (sorting) or -ELOOP (the
 * walk is already WALK_MAX_DEPTH + 1 dirs deep: a caller that never
 * descends into an entry deeper than WALK_MAX_DEPTH never meets it),
 * with the child freed; -EINVAL when there is no open child.
 */
int upperwalk_descend(struct upperwalk *walk) UW_WARN_UNUSED;

#endif /* UW_UPPERWALK_H */
