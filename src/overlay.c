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
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/capability.h>

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

enum overlay_wh_kind
overlay_wh_name(const char *name, size_t len, const char **target,
    size_t *target_len)
{
	if (len < OVERLAY_WH_PREFIX_LEN ||
	    memcmp(name, OVERLAY_WH_PREFIX, OVERLAY_WH_PREFIX_LEN) != 0)
		return OVERLAY_WH_NONE;
	if (strcmp(name, OVERLAY_WH_OPAQUE) == 0)
		return OVERLAY_WH_OPQ;
	if (len >= 2 * OVERLAY_WH_PREFIX_LEN &&
	    memcmp(name + OVERLAY_WH_PREFIX_LEN, OVERLAY_WH_PREFIX,
	    OVERLAY_WH_PREFIX_LEN) == 0)
		return OVERLAY_WH_META;
	if (len == OVERLAY_WH_PREFIX_LEN)
		return OVERLAY_WH_META;	/* ".wh." alone names nothing */
	*target = name + OVERLAY_WH_PREFIX_LEN;
	*target_len = len - OVERLAY_WH_PREFIX_LEN;
	return OVERLAY_WH_ENTRY;
}

unsigned
overlay_dialect(unsigned overlay_flags, int fuse)
{
	unsigned d = 0;

	if (fuse)
		return WALK_OV_FUSE | WALK_OV_METACOPY | WALK_OV_REDIRECT;
	if (overlay_flags & UW_OVERLAY_USERXATTR)
		return WALK_OV_USER;	/* the kernel follows neither */
	if (overlay_flags & UW_OVERLAY_METACOPY)
		d |= WALK_OV_METACOPY;
	if (overlay_flags & UW_OVERLAY_REDIRECT_DIR)
		d |= WALK_OV_REDIRECT;
	return d;
}

int
overlay_dir_is_opaque(const struct walk_xattrs *x, int has_wh_opq)
{
	return has_wh_opq || (x->flags & WALK_X_OPAQUE);
}

int
overlay_trusted_xattrs_readable(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0
	};
	struct __user_cap_data_struct data[2];
	unsigned long inside, outside, count;
	FILE *f;
	int n;

	if (syscall(SYS_capget, &hdr, data) != 0)
		return 1;	/* cannot tell */
	if (!(data[CAP_SYS_ADMIN / 32].effective &
	    (1u << (CAP_SYS_ADMIN % 32))))
		return 0;
	/* A capability of a child user namespace does not count. */
	f = fopen("/proc/self/uid_map", "re");
	if (f == NULL)
		return 1;
	n = fscanf(f, "%lu %lu %lu", &inside, &outside, &count);
	fclose(f);
	return n != 3 || (inside == 0 && outside == 0 &&
	    count == 4294967295UL);
}
