/*
 * walk.h - safe reading of directory trees that an attacker may have
 * written: everything is opened relative to a directory fd with
 * O_NOFOLLOW, FIFOs, sockets and devices are never opened, and the
 * overlay and capability xattrs of an opened file are read with it.
 */
#ifndef UW_WALK_H
#define UW_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "upperwatch.h"
#include "util.h"

/* Deepest directory nesting a walk follows (below it, entries are
 * reported as too deep, never read), and the longest container path
 * (bytes) it builds.  Every walk of a tree (baseline, diff, watch) keeps
 * to these. */
#define WALK_MAX_DEPTH 4096
#define WALK_MAX_DEPTH_TEXT "4096"
#define WALK_MAX_PATH (4u << 20)

/* The reason an entry beyond WALK_MAX_DEPTH is reported with. */
#define WALK_DEEP_REASON "more than " WALK_MAX_DEPTH_TEXT " directories " \
	"deep: not read below"

/* How many components container path path[0..len) has: "" and "/" have
 * none, "/a/b" two (empty components, as in "a//b", do not count). */
size_t walk_path_depth(const unsigned char *path, size_t len);

/* Open the root of a tree the operator named (the path itself may go
 * through symlinks; nothing below it will).  Returns an fd or -errno. */
int walk_open_root(const char *path) UW_WARN_UNUSED;

/* walk_open_root for a container's upper dir, on a private read-only,
 * nodev, nosuid, noexec, nosymfollow and noatime mount of it when one
 * can be made (a kernel since 5.12, CAP_SYS_ADMIN): nothing read through
 * it moves an atime the container could see.  Without one, files and
 * dirs opened below it still leave their atimes (O_NOATIME, walk.c). */
int walk_open_upper(const char *path) UW_WARN_UNUSED;

/* Open the directory `name` in `dirfd`, refusing symlinks.  fd or -errno
 * (-ENOTDIR when it is not a directory, -ELOOP for a symlink). */
int walk_open_dir(int dirfd, const char *name) UW_WARN_UNUSED;

/*
 * Open the regular file `name` in `dirfd` for reading, in a tree an
 * attacker writes (a container's upper dir): the entry is first opened
 * with O_PATH (which opens nothing: no FIFO writer is released, no device
 * driver runs), its type checked with fstat into *st, and only a regular
 * file is then opened for reading, through /proc/self/fd, so what is read
 * is the inode that was checked.  Never follows a symlink.  fd, -EINVAL
 * when the entry is not a regular file (it may have been swapped), or
 * -errno.
 */
int walk_open_file(int dirfd, const char *name, struct stat *st)
    UW_WARN_UNUSED;

/*
 * walk_open_file in two steps, for a caller that wants the entry's state
 * before it decides to read it: walk_open_path opens `name` with O_PATH
 * (never following a symlink; nothing is opened) and fstats it into *st,
 * returning the fd or -errno; walk_reopen_file opens that fd for reading
 * when *st says it is a regular file (-EINVAL when not).
 */
int walk_open_path(int dirfd, const char *name, struct stat *st)
    UW_WARN_UNUSED;
int walk_reopen_file(int path_fd, const struct stat *st) UW_WARN_UNUSED;

/*
 * The same for an image layer, which only the runtime writes and no
 * container can change: opened for reading at once (O_NOFOLLOW,
 * O_NONBLOCK, O_NOCTTY), then checked to be a regular file.  One open
 * less per file, which a baseline of 200,000 files feels.
 */
int walk_open_layer_file(int dirfd, const char *name, struct stat *st)
    UW_WARN_UNUSED;

/*
 * Is there an entry at `path` ("/a/b", taken relative to `root_fd`)?
 * Resolved beneath root_fd only, through no symlink, magic link or
 * mount crossing.  1 when there is, 0 when there is none (ENOENT), or
 * -errno when that cannot be told.
 */
int walk_exists_beneath(int root_fd, const char *path) UW_WARN_UNUSED;
/* The same, as an O_PATH fd (flags may add O_DIRECTORY), or -errno;
 * "/" is root_fd's own dir. */
int walk_open_beneath(int root_fd, const char *path, int flags)
    UW_WARN_UNUSED;
/* The regular file at `path` beneath root_fd, open for reading: resolved
 * the same way, opened O_PATH, fstat into *st, and reopened only when it
 * is a regular file (a FIFO, socket or device swapped in is never
 * opened).  The fd, -EINVAL when not regular, -ESTALE when it changed
 * between the two opens, or -errno. */
int walk_open_regular_beneath(int root_fd, const char *path, struct stat *st)
    UW_WARN_UNUSED;
/* The same, with its lstat into *st when there is one. */
int walk_stat_beneath(int root_fd, const char *path, struct stat *st)
    UW_WARN_UNUSED;

/* lstat relative to dirfd. */
int walk_stat(int dirfd, const char *name, struct stat *st) UW_WARN_UNUSED;

/* Read the target of the symlink `name` into `out` (replacing it). */
int walk_readlink(int dirfd, const char *name, struct buf *out)
    UW_WARN_UNUSED;

/* The names in one directory (without "." and ".."), in an arena. */
struct walk_name {
	size_t off;		/* into the arena */
	unsigned short len;
	unsigned char d_type;	/* DT_* (DT_UNKNOWN when the fs won't say) */
};

struct walk_names {
	struct walk_name *v;
	size_t count, alloc;
	struct buf arena;
};

void walk_names_init(struct walk_names *names);
void walk_names_free(struct walk_names *names);
static inline const char *
walk_name_str(const struct walk_names *names, size_t i)
{
	return (const char *)names->arena.data + names->v[i].off;
}

/* List `dirfd` (which stays open and positioned as it was) into `names`,
 * replacing its contents.  At most WALK_MAX_ENTRIES names. */
#define WALK_MAX_ENTRIES (4u << 20)
int walk_list(int dirfd, struct walk_names *names) UW_WARN_UNUSED;

/*
 * Which xattrs are overlay metadata: the mount's dialect, never the
 * file's.  On a kernel overlay mounted without userxattr (the rootful
 * case) overlay metadata is trusted.overlay.*, which a container cannot
 * set; user.overlay.* there is ordinary data a container may write, and
 * honouring it would let the container hide a change.  With userxattr
 * (rootless) it is the other way round.  fuse-overlayfs reads both and
 * its own user.fuseoverlayfs.opaque.  Metacopy and redirect xattrs mean
 * something only where the mount follows them.
 */
#define WALK_OV_USER 0x01	/* userxattr: user.overlay.* */
#define WALK_OV_FUSE 0x02	/* fuse-overlayfs: every dialect */
#define WALK_OV_METACOPY 0x04	/* the mount follows metacopy */
#define WALK_OV_REDIRECT 0x08	/* the mount follows redirects */

/* The xattrs we read from an open file or directory. */
#define WALK_X_OPAQUE 0x01	/* overlay.opaque = "y" */
#define WALK_X_XWHITEOUTS 0x02	/* overlay.opaque = "x": may hold xattr
				 * whiteouts */
#define WALK_X_WHITEOUT 0x04	/* overlay.whiteout present */
#define WALK_X_METACOPY 0x08	/* overlay.metacopy present */
#define WALK_X_REDIRECT 0x10	/* overlay.redirect present (value kept) */
#define WALK_X_ORIGIN 0x20	/* overlay.origin present */
#define WALK_X_CAPS 0x40	/* security.capability present */
#define WALK_X_FOREIGN 0x80	/* an overlay-named xattr of the other
				 * dialect: ordinary data on this mount */

#define WALK_CAPS_MAX 64	/* vfs_ns_cap_data is 24 bytes */
#define WALK_REDIRECT_MAX 4096

struct walk_xattrs {
	unsigned flags;
	size_t caps_len;
	unsigned char caps[WALK_CAPS_MAX];
	size_t redirect_len;
	char redirect[WALK_REDIRECT_MAX];
};

/* Read the xattrs of interest from the open `fd`, overlay ones in the
 * `dialect` (WALK_OV_*) only.  Missing xattrs, or a filesystem without
 * xattrs, are not an error. */
int walk_read_xattrs(int fd, unsigned dialect, struct walk_xattrs *x)
    UW_WARN_UNUSED;

/* Map st_mode's type bits to the record type (0 for an unknown type). */
enum uw_file_type walk_type_of(mode_t mode);

/* A record of `path` from its lstat (no hash, link or caps yet). */
void walk_record_from_stat(struct uw_record *rec, const unsigned char *path,
    size_t path_len, const struct stat *st);

#endif /* UW_WALK_H */
