/*
 * mountinfo.h - reading /proc/self/mountinfo: overlay mounts with their
 * layer stacks and options, cgroup mounts, and waiting for the mount
 * table to change.
 */
#ifndef UW_MOUNTINFO_H
#define UW_MOUNTINFO_H

#include <stddef.h>

#include "upperwatch.h"

/* Overlay options that change what the upper dir means. */
#define MOUNTINFO_OV_METACOPY 0x01
#define MOUNTINFO_OV_REDIRECT_DIR 0x02
#define MOUNTINFO_OV_INDEX 0x04
#define MOUNTINFO_OV_USERXATTR 0x08
#define MOUNTINFO_OV_VOLATILE 0x10

/* Most layers we keep for one mount (overlayfs allows 500). */
#define MOUNTINFO_MAX_LAYERS 500

/* One mount as mountinfo shows it; strings are unescaped. */
struct mountinfo_entry {
	int mount_id, parent_id;
	char *root;
	char *mount_point;
	char *fstype;
	char *source;
	char *super_opts;	/* raw, still escaped */
	/* overlay only: */
	char **lower;		/* top first */
	size_t lower_count;
	char **data;		/* data-only layers (datadir+=) */
	size_t data_count;
	char *upper, *work;
	unsigned ov_flags;	/* MOUNTINFO_OV_*: the options as written */
	unsigned char ov_metacopy;	/* MOUNTINFO_OPT_*: metacopy= */
	unsigned char ov_redirect;	/* MOUNTINFO_REDIRECT_*: redirect_dir= */
};

/* An on/off option: not shown (the module default), on, off. */
#define MOUNTINFO_OPT_UNSET 0
#define MOUNTINFO_OPT_ON 1
#define MOUNTINFO_OPT_OFF 2
/* redirect_dir= values. */
#define MOUNTINFO_REDIRECT_UNSET 0
#define MOUNTINFO_REDIRECT_ON 1
#define MOUNTINFO_REDIRECT_FOLLOW 2
#define MOUNTINFO_REDIRECT_NOFOLLOW 3
#define MOUNTINFO_REDIRECT_OFF 4

struct mountinfo_table {
	struct mountinfo_entry *v;
	size_t count, alloc;
	size_t malformed;	/* lines skipped */
};

/*
 * Parse a mountinfo text (as read from /proc/<pid>/mountinfo) into
 * `table`.  A malformed line is skipped and counted, never fatal.  Overlay
 * lowerdir lists are split in every shape a 6.x kernel prints: the legacy
 * `lowerdir=a:b` (octal escapes undone, `\:` kept as a colon inside a
 * name) and the repeated `lowerdir+=` / `datadir+=` of the new mount API.
 * Returns 0 or -ENOMEM.
 */
int mountinfo_parse(const char *text, size_t len, struct mountinfo_table *table)
    UW_WARN_UNUSED;

/* Read and parse /proc/self/mountinfo (or `path`). */
int mountinfo_read(const char *path, struct mountinfo_table *table)
    UW_WARN_UNUSED;

void mountinfo_table_free(struct mountinfo_table *table);

/*
 * Docker and Podman mount with paths relative to the driver's home
 * (`l/ABC` or `<id>/diff`) when the options outgrow a page.  Make the
 * overlay's lower/upper/work paths absolute against `home` (the dir that
 * holds `l/`), following the `l/` symlinks.  Returns 0, or -errno when a
 * path cannot be resolved (the entry is left as it was).
 */
int mountinfo_resolve_relative(struct mountinfo_entry *e, const char *home)
    UW_WARN_UNUSED;

/* Wait up to `timeout_ms` (-1: forever) for the mount table of our mount
 * namespace to change.  `fd` is an open /proc/self/mountinfo.  Returns 1
 * on a change, 0 on timeout, -errno on error (-EINTR on a signal). */
int mountinfo_wait_change(int fd, int timeout_ms) UW_WARN_UNUSED;

#endif /* UW_MOUNTINFO_H */
