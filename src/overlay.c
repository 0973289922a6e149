/*
 * overlay.c - reading overlayfs semantics from single layer entries.
 *
 * Kernel facts (Documentation/filesystems/overlayfs.rst, Linux 6.x): a
 * whiteout is a char device 0/0, or a zero-size regular file with the
 * "overlay.whiteout" xattr inside a directory whose "overlay.opaque" is
 * "x" (that value marks a non-opaque dir that holds xattr whiteouts); a
 * directory with "overlay.opaque" = "y" hides every lower entry.  Image
 * layers extracted by some tools instead carry the OCI forms: ".wh.NAME"
 * for a deleted NAME and ".wh..wh..opq" for an opaque dir.
 */
#include <string.h>
#include <sys/sysmacros.h>

#include "overlay.h"

int
overlay_is_chardev_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

int
overlay_is_xattr_whiteout(const struct stat *st, const struct walk_xattrs *x,
    int parent_has_xwhiteouts)
{
	return parent_has_xwhiteouts && S_ISREG(st->st_mode) &&
	    st->st_size == 0 && (x->flags & WALK_X_WHITEOUT);
}

int
overlay_wh_name(const char *name, size_t len, const char **target,
    size_t *target_len)
{
	if (len < OVERLAY_WH_PREFIX_LEN ||
	    memcmp(name, OVERLAY_WH_PREFIX, OVERLAY_WH_PREFIX_LEN) != 0)
		return 0;
	if (strcmp(name, OVERLAY_WH_OPAQUE) == 0)
		return 2;
	if (len >= 2 * OVERLAY_WH_PREFIX_LEN &&
	    memcmp(name + OVERLAY_WH_PREFIX_LEN, OVERLAY_WH_PREFIX,
	    OVERLAY_WH_PREFIX_LEN) == 0)
		return 3;
	if (len == OVERLAY_WH_PREFIX_LEN)
		return 3;	/* ".wh." alone names nothing */
	*target = name + OVERLAY_WH_PREFIX_LEN;
	*target_len = len - OVERLAY_WH_PREFIX_LEN;
	return 1;
}

int
overlay_dir_is_opaque(const struct walk_xattrs *x, int has_wh_opq)
{
	return has_wh_opq || (x->flags & WALK_X_OPAQUE);
}
