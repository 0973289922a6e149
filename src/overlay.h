/*
 * overlay.h - overlayfs semantics: which layer entries are whiteouts,
 * which directories are opaque, in every dialect a layer may be written
 * in (kernel char-0/0 and xattr whiteouts, trusted. and user. xattrs,
 * and the OCI/fuse-overlayfs ".wh." files).
 */
#ifndef UW_OVERLAY_H
#define UW_OVERLAY_H

#include <stddef.h>
#include <sys/stat.h>

#include "walk.h"

/* The OCI whiteout prefix and opaque marker. */
#define OVERLAY_WH_PREFIX ".wh."
#define OVERLAY_WH_PREFIX_LEN 4
#define OVERLAY_WH_OPAQUE ".wh..wh..opq"

/* Is this stat a kernel whiteout (a char device 0/0)? */
int overlay_is_chardev_whiteout(const struct stat *st);

/* Is this an xattr whiteout: a zero-size regular file carrying
 * overlay.whiteout, inside a dir that carries overlay.opaque=x? */
int overlay_is_xattr_whiteout(const struct stat *st,
    const struct walk_xattrs *x, int parent_has_xwhiteouts);

/* What a name means in the OCI ".wh." dialect. */
enum overlay_wh_kind {
	OVERLAY_WH_NONE = 0,	/* an ordinary name */
	OVERLAY_WH_ENTRY,	/* ".wh.NAME": whites out NAME */
	OVERLAY_WH_OPQ,		/* ".wh..wh..opq": the dir is opaque */
	OVERLAY_WH_META,	/* other ".wh..wh." names (aufs metadata) and
				 * ".wh." alone: never shown */
};

/*
 * Classify a name for the OCI ".wh." dialect.  For OVERLAY_WH_ENTRY,
 * *target and *target_len are set to the name it whites out (pointing
 * into `name`); otherwise they are left alone.
 */
enum overlay_wh_kind overlay_wh_name(const char *name, size_t len,
    const char **target, size_t *target_len);

/* The walk dialect (WALK_OV_*) of a mount's UW_OVERLAY_* flags, plus
 * WALK_OV_FUSE for a fuse-overlayfs upper (".wh." files, every xattr
 * dialect). */
unsigned overlay_dialect(unsigned overlay_flags, int fuse);

/* Is a directory opaque (nothing from lower layers shows through)? */
int overlay_dir_is_opaque(const struct walk_xattrs *x, int has_wh_opq);

/*
 * Is the upper dir open at `fd`, whose xattrs are `x`, opaque?  By its
 * overlay.opaque=y xattr; in the fuse-overlayfs dialect (WALK_OV_FUSE in
 * `dialect`) also by an OCI marker ".wh..wh..opq" inside it, which in a
 * kernel overlay upper is an ordinary name a container may create.
 */
int overlay_upper_dir_is_opaque(int fd, const struct walk_xattrs *x,
    unsigned dialect);

/* ---- a layer stack merged into one directory view ---- */

/* One layer's directory contributing to a merged directory. */
struct overlay_layer {
	int fd;			/* the layer dir, open (not owned) */
	unsigned dialect;	/* WALK_OV_*: which xattrs are overlay's */
	int xwhiteouts;		/* overlay.opaque=x: may hold xattr
				 * whiteouts */
	struct walk_names names;	/* its listing */
};

/* A layer dir for the dir open at `fd`, not read yet. */
void overlay_layer_init(struct overlay_layer *layer, int fd,
    unsigned dialect);

/* Free the listing (the fd is the caller's). */
void overlay_layer_free(struct overlay_layer *layer);

/*
 * Read the layer dir: its xattrs and its listing.  Sets *opaque when
 * nothing in the layers below may show through it (overlay.opaque=y, or
 * an OCI ".wh..wh..opq" marker, which image layers may carry in any
 * dialect).  0 or -errno.
 */
int overlay_layer_read(struct overlay_layer *layer, int *opaque)
    UW_WARN_UNUSED;

/* One entry of a merged directory. */
struct overlay_entry {
	const char *name;	/* in the listing of layers[win] */
	unsigned short name_len;
	unsigned short win;	/* the layer it is taken from */
	unsigned char d_type;	/* DT_* (from the listing, or an lstat) */
	/* For a dir: the lower layers whose dirs of the same name join it,
	 * top down, at stack[stack_off .. stack_off + stack_len). */
	size_t stack_off, stack_len;
};

struct overlay_merge {
	struct overlay_entry *entries;	/* in byte order of their names */
	size_t count;
	unsigned short *stack;
};

/*
 * Merge the listed `layers` (top layer first, each read with
 * overlay_layer_read) as overlayfs lookup shows them: a name comes from
 * the topmost layer that has it, a whiteout there hides it, and a dir
 * joins the dirs of the same name below it until a whiteout or a
 * non-dir ends the stack (an opaque one is found when the caller opens
 * the stack).  OCI markers are never entries.  Entries that vanished
 * since they were listed are left out.  *merge is overwritten; names
 * point into the layers' listings, which must outlive it.  0, or -errno
 * with *merge empty.
 */
int overlay_merge(const struct overlay_layer *layers, size_t layer_count,
    struct overlay_merge *merge) UW_WARN_UNUSED;

/* Free a merge (and leave it empty). */
void overlay_merge_free(struct overlay_merge *merge);

/* uw_trusted_xattrs_readable: may this process read trusted.* xattrs? */
int overlay_trusted_xattrs_readable(void);

#endif /* UW_OVERLAY_H */
