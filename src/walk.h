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

/* Open the root of a tree the operator named (the path itself may go
 * through symlinks; nothing below it will).  Returns an fd or -errno. */
int walk_open_root(const char *path) UW_WARN_UNUSED;

/* Open the directory `name` in `dirfd`, refusing symlinks.  fd or -errno
 * (-ENOTDIR when it is not a directory, -ELOOP for a symlink). */
int walk_open_dir(int dirfd, const char *name) UW_WARN_UNUSED;

/* Open the regular file `name` in `dirfd` for reading without following a
 * symlink, blocking on a FIFO or taking a controlling tty; the fd is
 * checked to be a regular file (fstat into *st).  fd, -EINVAL when the
 * entry is not a regular file (it may have been swapped), or -errno. */
int walk_open_file(int dirfd, const char *name, struct stat *st)
    UW_WARN_UNUSED;

/* lstat relative to dirfd. */
int walk_stat(int dirfd, const char *name, struct stat *st) UW_WARN_UNUSED;

/* Read the target of the symlink `name` into `out` (replacing it). */
int walk_readlink(int dirfd, const char *name, struct uw_buf *out)
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
	struct uw_buf arena;
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

/* The xattrs we read from an open file or directory. */
#define WALK_X_OPAQUE 0x01	/* overlay.opaque = "y" */
#define WALK_X_XWHITEOUTS 0x02	/* overlay.opaque = "x": may hold xattr
				 * whiteouts */
#define WALK_X_WHITEOUT 0x04	/* overlay.whiteout present */
#define WALK_X_METACOPY 0x08	/* overlay.metacopy present */
#define WALK_X_REDIRECT 0x10	/* overlay.redirect present (value kept) */
#define WALK_X_ORIGIN 0x20	/* overlay.origin present */
#define WALK_X_CAPS 0x40	/* security.capability present */
#define WALK_X_USER 0x80	/* the overlay xattrs were user.overlay.* */

#define WALK_CAPS_MAX 64	/* vfs_ns_cap_data is 24 bytes */
#define WALK_REDIRECT_MAX 4096

struct walk_xattrs {
	unsigned flags;
	size_t caps_len;
	unsigned char caps[WALK_CAPS_MAX];
	size_t redirect_len;
	char redirect[WALK_REDIRECT_MAX];
};

/* Read the xattrs of interest from the open `fd`.  Missing xattrs, or a
 * filesystem without xattrs, are not an error. */
int walk_read_xattrs(int fd, struct walk_xattrs *x) UW_WARN_UNUSED;

/* Map st_mode's type bits to the record type (0 for an unknown type). */
enum uw_file_type walk_type_of(mode_t mode);

/* A record of `path` from its lstat (no hash, link or caps yet). */
void walk_record_from_stat(struct uw_record *rec, const unsigned char *path,
    size_t path_len, const struct stat *st);

#endif /* UW_WALK_H */
