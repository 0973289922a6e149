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

/* uw_trusted_xattrs_readable: may this process read trusted.* xattrs? */
int overlay_trusted_xattrs_readable(void);

#endif /* UW_OVERLAY_H */
