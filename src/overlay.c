/*
 * overlay.c - overlayfs semantics: what single layer or upper entries
 * mean (whiteouts, opaque dirs, the mount's xattr dialect), and a stack
 * of image layers merged into the one directory view overlayfs shows.
 *
 * Kernel facts (Documentation/filesystems/overlayfs.rst, Linux 6.x): a
 * whiteout is a char device 0/0, or a zero-size regular file with the
 * "overlay.whiteout" xattr inside a directory whose "overlay.opaque" is
 * "x" (that value marks a non-opaque dir that holds xattr whiteouts); a
 * directory with "overlay.opaque" = "y" hides every lower entry.  Image
 * layers extracted by some tools instead carry the OCI forms: ".wh.NAME"
 * for a deleted NAME and ".wh..wh..opq" for an opaque dir.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
overlay_upper_dir_is_opaque(int fd, const struct walk_xattrs *x,
    unsigned dialect)
{
	if (x->flags & WALK_X_OPAQUE)
		return 1;
	return (dialect & WALK_OV_FUSE) && faccessat(fd, OVERLAY_WH_OPAQUE,
	    F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- the layer merge ---- */

void
overlay_layer_init(struct overlay_layer *layer, int fd, unsigned dialect)
{
	memset(layer, 0, sizeof(*layer));
	layer->fd = fd;
	layer->dialect = dialect;
	walk_names_init(&layer->names);
}

void
overlay_layer_free(struct overlay_layer *layer)
{
	walk_names_free(&layer->names);
}

/* Does a listing hold the OCI opaque marker? */
static int
names_have_opq(const struct walk_names *names)
{
	size_t i;

	for (i = 0; i < names->count; i++)
		if (strcmp(walk_name_str(names, i), OVERLAY_WH_OPAQUE) == 0)
			return 1;
	return 0;
}

int
overlay_layer_read(struct overlay_layer *layer, int *opaque)
{
	struct walk_xattrs x;
	int rc;

	rc = walk_read_xattrs(layer->fd, layer->dialect, &x);
	if (rc < 0)
		return rc;
	layer->xwhiteouts = (x.flags & WALK_X_XWHITEOUTS) != 0;
	rc = walk_list(layer->fd, &layer->names);
	if (rc < 0)
		return rc;
	*opaque = overlay_dir_is_opaque(&x, 0);
	if (!*opaque)
		*opaque = names_have_opq(&layer->names);
	return 0;
}

/* What one layer says about one name.  The order counts: see cmp_elem. */
enum elem_kind { ELEM_DIR, ELEM_OTHER, ELEM_WHITEOUT };

struct elem {
	const char *name;
	unsigned short name_len;
	unsigned short layer;	/* index into the layers */
	unsigned char kind;	/* enum elem_kind */
	unsigned char d_type;
};

/* By name, then top layer first, then real entry before whiteout. */
static int
cmp_elem(const void *a, const void *b)
{
	const struct elem *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c;

	c = memcmp(x->name, y->name, n);
	if (c != 0)
		return c;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	if (x->layer != y->layer)
		return x->layer < y->layer ? -1 : 1;
	/* In one layer a real entry comes before its own ".wh." marker: the
	 * marker hides what lies below, not its neighbour. */
	return (int)x->kind - (int)y->kind;
}

static unsigned char
dtype_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return DT_REG;
	case S_IFDIR:
		return DT_DIR;
	case S_IFLNK:
		return DT_LNK;
	case S_IFIFO:
		return DT_FIFO;
	case S_IFSOCK:
		return DT_SOCK;
	case S_IFCHR:
		return DT_CHR;
	case S_IFBLK:
		return DT_BLK;
	default:
		return DT_UNKNOWN;
	}
}

/*
 * Decide what layer entry `name` in `layer` is: dir, other, or whiteout
 * (a char 0/0, or an xattr whiteout where the layer dir may hold them).
 * *d_type is completed from an lstat when the listing did not say.
 * 0 or -errno (-ENOENT: gone since listed).
 */
static int
classify_elem(const struct overlay_layer *layer, const char *name,
    unsigned char *d_type, unsigned char *kind)
{
	struct walk_xattrs x;
	struct stat st;
	int fd, rc;

	if (*d_type == DT_UNKNOWN || *d_type == DT_CHR) {
		rc = walk_stat(layer->fd, name, &st);
		if (rc < 0)
			return rc;
		*d_type = dtype_of(st.st_mode);
		if (overlay_is_chardev_whiteout(&st)) {
			*kind = ELEM_WHITEOUT;
			return 0;
		}
	}
	if (*d_type == DT_REG && layer->xwhiteouts) {
		fd = walk_open_layer_file(layer->fd, name, &st);
		if (fd >= 0) {
			rc = walk_read_xattrs(fd, layer->dialect, &x);
			close(fd);
			if (rc == 0 && overlay_is_xattr_whiteout(&st, &x, 1)) {
				*kind = ELEM_WHITEOUT;
				return 0;
			}
		}
	}
	*kind = *d_type == DT_DIR ? ELEM_DIR : ELEM_OTHER;
	return 0;
}

/*
 * What every layer says about every name, into elems[] (room for all
 * names of all layers), unsorted; *count is set.  0 or -errno.
 */
static int
collect_elems(const struct overlay_layer *layers, size_t layer_count,
    struct elem *elems, size_t *count)
{
	const struct overlay_layer *layer;
	const char *name, *target;
	size_t i, j, n = 0, target_len;
	enum overlay_wh_kind wh;
	unsigned char d_type, kind;
	int rc;

	for (i = 0; i < layer_count; i++) {
		layer = &layers[i];
		for (j = 0; j < layer->names.count; j++) {
			name = walk_name_str(&layer->names, j);
			d_type = layer->names.v[j].d_type;
			wh = overlay_wh_name(name, layer->names.v[j].len,
			    &target, &target_len);
			if (wh == OVERLAY_WH_OPQ || wh == OVERLAY_WH_META)
				continue;
			if (wh == OVERLAY_WH_ENTRY) {
				elems[n].name = target;
				elems[n].name_len = (unsigned short)target_len;
				kind = ELEM_WHITEOUT;
			} else {
				rc = classify_elem(layer, name, &d_type, &kind);
				if (rc == -ENOENT)
					continue;	/* gone since listed */
				if (rc < 0)
					return rc;
				elems[n].name = name;
				elems[n].name_len = layer->names.v[j].len;
			}
			elems[n].layer = (unsigned short)i;
			elems[n].kind = kind;
			elems[n].d_type = d_type;
			n++;
		}
	}
	*count = n;
	return 0;
}

int
overlay_merge(const struct overlay_layer *layers, size_t layer_count,
    struct overlay_merge *merge)
{
	struct elem *elems = NULL;
	struct overlay_entry *me;
	size_t total = 0, n = 0, i, j, k, nstack = 0;
	int rc = 0;

	memset(merge, 0, sizeof(*merge));
	for (i = 0; i < layer_count; i++)
		total += layers[i].names.count;
	if (total == 0)
		return 0;
	elems = malloc(total * sizeof(*elems));
	merge->entries = malloc(total * sizeof(*merge->entries));
	merge->stack = malloc(total * sizeof(*merge->stack));
	if (elems == NULL || merge->entries == NULL || merge->stack == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = collect_elems(layers, layer_count, elems, &n);
	if (rc < 0)
		goto out;
	qsort(elems, n, sizeof(*elems), cmp_elem);

	/* Each group of one name, top layer first: overlayfs lookup. */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && elems[j].name_len ==
		    elems[i].name_len && memcmp(elems[j].name, elems[i].name,
		    elems[i].name_len) == 0; j++)
			;
		if (elems[i].kind == ELEM_WHITEOUT)
			continue;	/* deleted: nothing shows */
		me = &merge->entries[merge->count++];
		me->name = elems[i].name;
		me->name_len = elems[i].name_len;
		me->win = elems[i].layer;
		me->d_type = elems[i].d_type;
		me->stack_off = nstack;
		me->stack_len = 0;
		if (elems[i].kind != ELEM_DIR)
			continue;
		/* A merged dir: lower dirs of the same name join it until
		 * a whiteout or a non-dir ends the stack.  Opaque dirs are
		 * found when the stack is opened. */
		for (k = i + 1; k < j; k++) {
			if (elems[k].layer == elems[k - 1].layer)
				break;	/* a layer's own ".wh." marker */
			if (elems[k].kind != ELEM_DIR)
				break;
			merge->stack[nstack++] = elems[k].layer;
			me->stack_len++;
		}
	}
out:
	free(elems);
	if (rc < 0)
		overlay_merge_free(merge);
	return rc;
}

void
overlay_merge_free(struct overlay_merge *merge)
{
	free(merge->entries);
	free(merge->stack);
	memset(merge, 0, sizeof(*merge));
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
