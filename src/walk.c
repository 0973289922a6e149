/*
 * walk.c - safe primitives for reading attacker-written trees.
 *
 * Every open carries O_NOFOLLOW (a symlink in a container dir is data,
 * never a path to take), O_NONBLOCK (a FIFO swapped in for a file cannot
 * hang us) and O_NOCTTY, and is checked with fstat afterwards: what we
 * hash is what we checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "walk.h"

#define OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | \
	O_CLOEXEC)

/*
 * Our reads leave a container's atimes as they were.  A container sees
 * the atimes of its files through its merged view, and reading a file,
 * listing a dir or reading a symlink moves one (under relatime, the
 * first read after a change): a canary that moved would tell malware
 * that something on the host looks.  So a container's upper dir is read
 * through a private mount of it (walk_open_upper) that is noatime, and
 * read-only, nodev, nosuid, noexec and nosymfollow besides: nothing we
 * do through it can change, run or open a device in what it holds.
 * Where that mount cannot be made (a kernel before 5.12, no
 * CAP_SYS_ADMIN), files and dirs are opened O_NOATIME (which needs their
 * owner or CAP_FOWNER; an open is made without it when refused), and
 * only a symlink's atime may move.
 */
static int
open_quiet(int dirfd, const char *name, int flags)
{
	int fd;

	fd = openat(dirfd, name, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return fd;
}

/* The tree at `path`, on a private mount of it (above); -1 when none
 * can be made. */
static int
open_private(const char *path)
{
	struct mount_attr attr;
	int tree, rc, fd = -1;

	tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return -1;
	memset(&attr, 0, sizeof(attr));
	attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV |
	    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSYMFOLLOW |
	    MOUNT_ATTR_NOATIME;
	attr.attr_clr = MOUNT_ATTR__ATIME;
	rc = mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr));
	if (rc != 0 && errno == EINVAL) {
		/* nosymfollow came in 5.14: our opens refuse symlinks
		 * anyway */
		attr.attr_set &= ~(uint64_t)MOUNT_ATTR_NOSYMFOLLOW;
		rc = mount_setattr(tree, "", AT_EMPTY_PATH, &attr,
		    sizeof(attr));
	}
	/* The mount lives on, detached, as long as an fd is open in it. */
	if (rc == 0)
		fd = openat(tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		    O_NOCTTY);
	close(tree);
	return fd;
}

int
walk_open_root(const char *path)
{
	int fd;

	fd = open_quiet(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

int
walk_open_upper(const char *path)
{
	int fd;

	fd = open_private(path);
	return fd >= 0 ? fd : walk_open_root(path);
}

int
walk_open_dir(int dirfd, const char *name)
{
	int fd;

	fd = open_quiet(dirfd, name, OPEN_FLAGS | O_DIRECTORY);
	return fd < 0 ? -errno : fd;
}

/*
 * /proc/self/fd, opened once: reopening an O_PATH fd through it costs one
 * lookup in a dir we hold rather than four from "/".  Set once and never
 * changed, so threads may share it; -1 until then.
 */
static int proc_fd_dir = -1;
static pthread_once_t proc_fd_once = PTHREAD_ONCE_INIT;

static void
proc_fd_open(void)
{
	proc_fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
}

int
walk_open_path(int dirfd, const char *name, struct stat *st)
{
	int path_fd, saved;

	path_fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (path_fd < 0)
		return -errno;
	if (fstat(path_fd, st) < 0) {
		saved = errno;
		close(path_fd);
		return -saved;
	}
	return path_fd;
}

int
walk_reopen_file(int path_fd, const struct stat *st)
{
	char num[16];
	int fd;

	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	pthread_once(&proc_fd_once, proc_fd_open);
	if (proc_fd_dir < 0)
		return -ENOSYS;		/* no /proc: nothing safe to do */
	snprintf(num, sizeof(num), "%d", path_fd);
	fd = open_quiet(proc_fd_dir, num, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int
walk_open_file(int dirfd, const char *name, struct stat *st)
{
	int path_fd, fd;

	path_fd = walk_open_path(dirfd, name, st);
	if (path_fd < 0)
		return path_fd;
	fd = walk_reopen_file(path_fd, st);
	close(path_fd);
	return fd;
}

int
walk_open_layer_file(int dirfd, const char *name, struct stat *st)
{
	int fd, saved;

	fd = open_quiet(dirfd, name, OPEN_FLAGS);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, st) < 0) {
		saved = errno;
		close(fd);
		return -saved;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int
walk_stat(int dirfd, const char *name, struct stat *st)
{
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

int
walk_readlink(int dirfd, const char *name, struct buf *out)
{
	char target[PATH_MAX];
	ssize_t n;
	int rc;

	n = readlinkat(dirfd, name, target, sizeof(target));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	buf_reset(out);
	rc = buf_add(out, target, (size_t)n);
	return rc;
}

int
walk_exists_beneath(int root_fd, const char *path)
{
	return walk_stat_beneath(root_fd, path, NULL);
}

int
walk_open_beneath(int root_fd, const char *path, int flags)
{
	struct open_how how;
	const char *rel = path[0] == '/' ? path + 1 : path;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_PATH | O_NOFOLLOW | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	fd = (int)syscall(SYS_openat2, root_fd, rel[0] ? rel : ".", &how,
	    sizeof(how));
	return fd < 0 ? -errno : fd;
}

int
walk_open_regular_beneath(int root_fd, const char *path, struct stat *st)
{
	struct stat again;
	int pfd, fd;

	pfd = walk_open_beneath(root_fd, path, 0);
	if (pfd < 0)
		return pfd;
	if (fstat(pfd, st) != 0) {
		fd = -errno;
		close(pfd);
		return fd;
	}
	fd = walk_reopen_file(pfd, st);
	close(pfd);
	if (fd >= 0 && (fstat(fd, &again) != 0 ||
	    again.st_dev != st->st_dev || again.st_ino != st->st_ino)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int
walk_stat_beneath(int root_fd, const char *path, struct stat *st)
{
	int fd, e;

	fd = walk_open_beneath(root_fd, path, 0);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	e = st != NULL && fstat(fd, st) != 0 ? -errno : 1;
	close(fd);
	return e;
}

size_t
walk_path_depth(const unsigned char *path, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (path[i] == '/' && i + 1 < len && path[i + 1] != '/')
			n++;
	return n;
}

void
walk_names_init(struct walk_names *names)
{
	names->v = NULL;
	names->count = 0;
	names->alloc = 0;
	/* 4M names of up to 255 bytes: the arena cap follows. */
	buf_init(&names->arena, (size_t)WALK_MAX_ENTRIES * 64);
}

void
walk_names_free(struct walk_names *names)
{
	free(names->v);
	names->v = NULL;
	names->count = names->alloc = 0;
	buf_free(&names->arena);
}

static int
names_add(struct walk_names *names, const char *name, size_t len,
    unsigned char d_type)
{
	struct walk_name *v;
	size_t alloc;
	int rc;

	if (names->count == names->alloc) {
		if (names->count >= WALK_MAX_ENTRIES)
			return -E2BIG;
		alloc = names->alloc ? names->alloc * 2 : 64;
		v = realloc(names->v, alloc * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		names->v = v;
		names->alloc = alloc;
	}
	names->v[names->count].off = names->arena.len;
	names->v[names->count].len = (unsigned short)len;
	names->v[names->count].d_type = d_type;
	rc = buf_add(&names->arena, name, len + 1);
	if (rc < 0)
		return rc;
	names->count++;
	return 0;
}

int
walk_list(int dirfd, struct walk_names *names)
{
	char buf[32768];
	ssize_t n, pos;
	struct dirent64 *d;
	size_t len;
	int rc;

	names->count = 0;
	buf_reset(&names->arena);
	if (lseek(dirfd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		n = getdents64(dirfd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		for (pos = 0; pos < n; pos += d->d_reclen) {
			d = (struct dirent64 *)(buf + pos);
			if (d->d_name[0] == '.' && (d->d_name[1] == '\0' ||
			    (d->d_name[1] == '.' && d->d_name[2] == '\0')))
				continue;
			len = strlen(d->d_name);
			rc = names_add(names, d->d_name, len, d->d_type);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* The overlay xattr `name` (without prefix) in the dialect. */
static ssize_t
get_overlay(int fd, unsigned dialect, const char *name, void *value,
    size_t size)
{
	char key[64];
	ssize_t n = -1;

	if (!(dialect & WALK_OV_USER) || (dialect & WALK_OV_FUSE)) {
		snprintf(key, sizeof(key), "trusted.overlay.%s", name);
		n = fgetxattr(fd, key, value, size);
	}
	if (n < 0 && (dialect & (WALK_OV_USER | WALK_OV_FUSE))) {
		snprintf(key, sizeof(key), "user.overlay.%s", name);
		n = fgetxattr(fd, key, value, size);
	}
	return n;
}

/* Is `key` among the NUL-separated names of `list`? */
static int
listed(const char *list, size_t len, const char *key)
{
	const char *p = list, *end = list + len;

	while (p < end) {
		if (strcmp(p, key) == 0)
			return 1;
		p += strlen(p) + 1;
	}
	return 0;
}

/* Does `list` name an xattr with `prefix`? */
static int
listed_prefix(const char *list, size_t len, const char *prefix)
{
	const char *p = list, *end = list + len;
	size_t plen = strlen(prefix);

	while (p < end) {
		if (strncmp(p, prefix, plen) == 0)
			return 1;
		p += strlen(p) + 1;
	}
	return 0;
}

/* The names of fd's xattrs into `small`, or a heap buffer when they do
 * not fit (*heap, to free).  At most XATTR_LIST_MAX bytes exist. */
static ssize_t
list_xattrs(int fd, char *small, size_t small_len, char **heap)
{
	ssize_t len;
	int tries;

	*heap = NULL;
	len = flistxattr(fd, small, small_len);
	for (tries = 0; len < 0 && errno == ERANGE && tries < 3; tries++) {
		len = flistxattr(fd, NULL, 0);
		if (len < 0)
			return -1;
		free(*heap);
		*heap = malloc((size_t)len + 1);
		if (*heap == NULL) {
			errno = ENOMEM;
			return -1;
		}
		/* it may have grown in between: then again */
		len = flistxattr(fd, *heap, (size_t)len + 1);
	}
	return len;
}

int
walk_read_xattrs(int fd, unsigned dialect, struct walk_xattrs *x)
{
	char small[4096], value[8], *heap, *list;
	const char *mine, *other;
	ssize_t len, n;
	int rc = 0;

	x->flags = 0;
	x->caps_len = 0;
	x->redirect_len = 0;
	len = list_xattrs(fd, small, sizeof(small), &heap);
	if (len < 0) {
		rc = errno == ENOTSUP ? 0 : -errno;
		goto out;
	}
	list = heap != NULL ? heap : small;
	if (len == 0)
		goto out;

	if (listed(list, (size_t)len, "security.capability")) {
		n = fgetxattr(fd, "security.capability", x->caps,
		    sizeof(x->caps));
		if (n > 0) {
			x->caps_len = (size_t)n;
			x->flags |= WALK_X_CAPS;
		}
	}
	/* Overlay-named xattrs of the other dialect are plain data here,
	 * and a change worth reporting: a container may set them to make
	 * a tool that trusts them skip the entry. */
	mine = (dialect & WALK_OV_USER) ? "user.overlay." : "trusted.overlay.";
	other = (dialect & WALK_OV_USER) ? "trusted.overlay." : "user.overlay.";
	if (!(dialect & WALK_OV_FUSE) && listed_prefix(list, (size_t)len,
	    other))
		x->flags |= WALK_X_FOREIGN;
	if (!listed_prefix(list, (size_t)len, mine) &&
	    !((dialect & WALK_OV_FUSE) &&
	    (listed_prefix(list, (size_t)len, "user.overlay.") ||
	    listed(list, (size_t)len, "user.fuseoverlayfs.opaque"))))
		goto out;

	n = get_overlay(fd, dialect, "opaque", value, sizeof(value));
	if (n < 0 && (dialect & WALK_OV_FUSE))
		n = fgetxattr(fd, "user.fuseoverlayfs.opaque", value,
		    sizeof(value));
	if (n == 1 && value[0] == 'y')
		x->flags |= WALK_X_OPAQUE;
	else if (n == 1 && value[0] == 'x')
		x->flags |= WALK_X_XWHITEOUTS;
	if (get_overlay(fd, dialect, "whiteout", value, sizeof(value)) >= 0
	    || errno == ERANGE)
		x->flags |= WALK_X_WHITEOUT;
	if (get_overlay(fd, dialect, "origin", value, 0) >= 0)
		x->flags |= WALK_X_ORIGIN;
	if ((dialect & WALK_OV_METACOPY) &&
	    get_overlay(fd, dialect, "metacopy", value, 0) >= 0)
		x->flags |= WALK_X_METACOPY;
	n = (dialect & WALK_OV_REDIRECT) ? get_overlay(fd, dialect,
	    "redirect", x->redirect, sizeof(x->redirect) - 1) : -1;
	if (n >= 0) {
		x->redirect[n] = '\0';
		x->redirect_len = (size_t)n;
		x->flags |= WALK_X_REDIRECT;
	}
out:
	free(heap);
	return rc;
}

enum uw_file_type
walk_type_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return UW_TYPE_FILE;
	case S_IFDIR:
		return UW_TYPE_DIR;
	case S_IFLNK:
		return UW_TYPE_SYMLINK;
	case S_IFIFO:
		return UW_TYPE_FIFO;
	case S_IFSOCK:
		return UW_TYPE_SOCKET;
	case S_IFCHR:
		return UW_TYPE_CHARDEV;
	case S_IFBLK:
		return UW_TYPE_BLOCKDEV;
	default:
		return 0;
	}
}

void
walk_record_from_stat(struct uw_record *rec, const unsigned char *path,
    size_t path_len, const struct stat *st)
{
	memset(rec, 0, sizeof(*rec));
	rec->path = path;
	rec->path_len = path_len;
	rec->type = walk_type_of(st->st_mode);
	rec->mode = st->st_mode & 07777;
	rec->uid = st->st_uid;
	rec->gid = st->st_gid;
	rec->size = (uint64_t)st->st_size;
	rec->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec;
}
