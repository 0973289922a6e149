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

/*
 * Classify a name for the OCI ".wh." dialect: returns 0 for an ordinary
 * name, 1 for ".wh.NAME" (whiting out NAME: *target and *target_len are
 * set), 2 for the opaque marker ".wh..wh..opq".  Other ".wh..wh." names
 * (aufs metadata) return 3: they are never shown.
 */
int overlay_wh_name(const char *name, size_t len, const char **target,
    size_t *target_len);

/* The walk dialect (WALK_OV_*) of a mount's UW_OVERLAY_* flags, plus
 * WALK_OV_FUSE for a fuse-overlayfs upper (".wh." files, every xattr
 * dialect). */
unsigned overlay_dialect(unsigned overlay_flags, int fuse);

/* Is a directory opaque (nothing from lower layers shows through)? */
int overlay_dir_is_opaque(const struct walk_xattrs *x, int has_wh_opq);

/* uw_trusted_xattrs_readable: may this process read trusted.* xattrs? */
int overlay_trusted_xattrs_readable(void);

#endif /* UW_OVERLAY_H */
