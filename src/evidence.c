/*
 * evidence.c - a copy of the file that made a container be paused or
 * killed, kept before the response (a kill may take the upper dir with
 * it): read beneath the upper root, never through a symlink, capped, into
 * a new dir of its own that only root can write, with what the event said
 * beside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "evidence.h"
#include "hash.h"
#include "jsonw.h"
#include "util.h"
#include "walk.h"

#define EVIDENCE_NAME_TRIES 1000	/* <id>, <id>-1 ... <id>-999 */
#define EVIDENCE_PARENTS_MAX 64

/* Name the dir fd refers to, for a message ("?" if /proc cannot). */
static const char *
fd_name(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return "?";
	buf[n] = '\0';
	return buf;
}

/*
 * May others plant or swap entries in the dir fd refers to?  The dir
 * must be ours (or root's, for a parent) and not writable by group or
 * others; a root-owned sticky dir (/tmp) may be, since no one else can
 * then rename what is ours in it.  0, or -EPERM with err set.
 */
static int
dir_unsafe(int fd, const struct stat *st, int parent, uid_t me,
    struct uw_error *err)
{
	char name[PATH_MAX];
	int sticky = st->st_uid == 0 && (st->st_mode & S_ISVTX);

	if (st->st_uid != me && !(parent && st->st_uid == 0))
		return seterr(err, -EPERM, "evidence missing: %s%s is owned "
		    "by uid %u, not by uid %u: refused", parent ?
		    "a parent of the evidence dir, " : "",
		    fd_name(fd, name, sizeof(name)), (unsigned)st->st_uid,
		    (unsigned)me);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(parent && sticky))
		return seterr(err, -EPERM, "evidence missing: %s%s is "
		    "writable by group or others (mode %04o): refused",
		    parent ? "a parent of the evidence dir, " : "",
		    fd_name(fd, name, sizeof(name)),
		    (unsigned)(st->st_mode & 07777));
	return 0;
}

/*
 * Open the evidence dir (created 0700 if missing) and make sure no one
 * but us can put anything into it, nor swap it: it must be a real dir
 * (not a symlink), ours, not writable by group or others; and so must
 * each parent, up to the first owned by root and not writable by others
 * (a root-owned sticky dir such as /tmp is passed over).  Returns the
 * dir's fd, or a negative errno with err set ("evidence missing: ...").
 */
static int
evidence_dir_open(const char *dir, struct uw_error *err)
{
	struct stat st, up_st;
	uid_t me = geteuid();
	int fd, cur, up, depth, rc;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return seterr(err, -errno, "evidence missing: %s: %s", dir,
		    strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return seterr(err, rc, "evidence missing: %s: %s", dir,
		    rc == -ELOOP || rc == -ENOTDIR ? "not a directory (a "
		    "symlink?): refused" : strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = seterr(err, -errno, "evidence missing: %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	rc = dir_unsafe(fd, &st, 0, me, err);
	cur = -1;	/* the parent checked last */
	for (depth = 0; rc == 0 && depth < EVIDENCE_PARENTS_MAX; depth++) {
		up = openat(cur >= 0 ? cur : fd, "..", O_PATH | O_DIRECTORY |
		    O_CLOEXEC);
		if (up < 0 || fstat(up, &up_st) < 0) {
			rc = seterr(err, -errno, "evidence missing: a parent "
			    "of %s: %s", dir, strerror(errno));
			if (up >= 0)
				close(up);
			break;
		}
		if (cur >= 0)
			close(cur);
		cur = up;
		if (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino)
			break;		/* "/" is its own parent */
		rc = dir_unsafe(cur, &up_st, 1, me, err);
		if (rc == 0 && up_st.st_uid == 0 &&
		    !(up_st.st_mode & (S_IWGRP | S_IWOTH)))
			break;	/* only root could swap what is below */
		st = up_st;
	}
	if (cur >= 0)
		close(cur);
out:
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Write all of buf; 0 or a negative errno. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The container's path, escaped for a message (it is the container's
 * to choose: a newline in it must not start a line of its own). */
static const char *
esc_path(char *buf, size_t len, const unsigned char *path, size_t path_len)
{
	escape_to_buf(buf, len, path, path_len, NULL);
	return buf;
}

/*
 * Open the upper entry `rel` beneath upper_fd for reading only if it is
 * a regular file: first as O_PATH (which opens nothing: a FIFO's writer
 * is not released, a device not armed), then, once fstat says regular,
 * reopened through /proc/self/fd.  The fd, or a negative errno with err
 * set; *st gets what was found.
 */
static int
open_regular_beneath(int upper_fd, const char *rel, const unsigned char *path,
    size_t path_len, struct stat *st, struct uw_error *err)
{
	char shown[512];
	int fd;

	memset(st, 0, sizeof(*st));
	fd = walk_open_regular_beneath(upper_fd, rel, st);
	if (fd >= 0)
		return fd;
	esc_path(shown, sizeof(shown), path, path_len);
	if (fd == -EINVAL)
		return seterr(err, fd, "evidence missing: %s is no longer a "
		    "regular file (mode %06o): metadata only", shown,
		    (unsigned)st->st_mode);
	if (fd == -ESTALE)
		return seterr(err, fd, "evidence missing: %s changed while "
		    "opened", shown);
	return seterr(err, fd, "evidence missing: %s: %s", shown,
	    strerror(-fd));
}

/* Copy in to out, at most EVIDENCE_MAX bytes; *copied gets the
 * count.  0 or a negative errno. */
static int
copy_capped(int in, int out, uint64_t *copied)
{
	char buf[65536];
	size_t want;
	ssize_t n;
	int rc;

	*copied = 0;
	while (*copied < EVIDENCE_MAX) {
		want = sizeof(buf);
		if (EVIDENCE_MAX - *copied < want)
			want = (size_t)(EVIDENCE_MAX - *copied);
		n = read(in, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		rc = write_all(out, buf, (size_t)n);
		if (rc < 0)
			return rc;
		*copied += (uint64_t)n;
	}
	return 0;
}

/* The SHA-256 of the whole copy (what threat intel is asked about) into
 * hex; "" when it cannot be read back. */
static void
copy_sha256(int sub_fd, char hex[2 * HASH_DIGEST_MAX + 1])
{
	unsigned char md[HASH_DIGEST_MAX];
	size_t len = 0;
	int fd;

	hex[0] = '\0';
	fd = openat(sub_fd, "file", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (hash_digest_fd(fd, HASH_SHA256, EVIDENCE_MAX, md, &len) == 0)
		hex_encode(hex, md, len);
	close(fd);
}

/* metadata.json beside the copy: what was kept, and why not all. */
static int
write_meta(int sub_fd, uint64_t copied, int truncated, const char *sha256,
    const char *error, const char *meta_json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int fd, first = 1, rc;

	mem = open_memstream(&buf, &len);
	if (mem == NULL)
		return -ENOMEM;
	fputc('{', mem);
	jsonw_uint(mem, &first, "copied", copied);
	jsonw_bool(mem, &first, "truncated", truncated);
	if (sha256 != NULL)
		jsonw_str(mem, &first, "sha256", sha256);
	if (error != NULL)
		jsonw_str(mem, &first, "error", error);
	jsonw_key(mem, &first, "event");
	fputs(meta_json != NULL ? meta_json : "null", mem);
	fputs("}\n", mem);
	if (fclose(mem) != 0) {
		free(buf);
		return -ENOMEM;
	}
	fd = openat(sub_fd, "metadata.json", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, buf, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
out:
	free(buf);
	return rc;
}

/*
 * Copy the upper entry at container path `path` into a new dir under
 * the evidence dir `dir`, named after the event (<event id>, or
 * <event id>-N when that name is taken: after a database reset ids start
 * again, and nothing is ever overwritten), as "file" (at most
 * EVIDENCE_MAX bytes) with a metadata.json beside it.
 *
 * The evidence dir is refused unless only we can write it (see
 * evidence_dir_open); every entry under it is made with O_EXCL and
 * O_NOFOLLOW relative to its fd.  The source is resolved beneath the
 * upper root without symlinks and opened for reading only once it is
 * known to be a regular file: a FIFO, socket or device swapped in is
 * never opened.
 *
 * 0 with *where the copy's path; otherwise a negative errno, err saying
 * "evidence missing: <why>" and *where "" (a metadata.json may still
 * have been written).  Never touches the container.
 */
int
evidence_keep(int upper_fd, const unsigned char *path, size_t path_len,
    const char *dir, uint64_t event_id, const char *meta_json, char *where,
    size_t where_len, struct uw_error *err)
{
	struct stat st;
	char name[64], rel[PATH_MAX + 1], copy_path[PATH_MAX], shown[512];
	char sha[2 * HASH_DIGEST_MAX + 1] = "";
	uint64_t copied = 0;
	int dir_fd = -1, sub_fd = -1, src_fd = -1, copy_fd, rc, k;

	if (where_len > 0)
		where[0] = '\0';
	if (path_len == 0 || path_len >= sizeof(rel) || path[0] != '/' ||
	    memchr(path, '\0', path_len) != NULL)
		return seterr(err, -EINVAL, "evidence missing: bad path");
	memcpy(rel, path + 1, path_len - 1);
	rel[path_len - 1] = '\0';
	if (path_len == 1)
		return seterr(err, -EINVAL, "evidence missing: / is not a "
		    "file");
	dir_fd = evidence_dir_open(dir, err);
	if (dir_fd < 0)
		return dir_fd;
	for (k = 0; k < EVIDENCE_NAME_TRIES; k++) {
		if (k == 0)
			snprintf(name, sizeof(name), "%llu",
			    (unsigned long long)event_id);
		else
			snprintf(name, sizeof(name), "%llu-%d",
			    (unsigned long long)event_id, k);
		if (mkdirat(dir_fd, name, 0700) == 0)
			break;
		if (errno != EEXIST) {
			rc = seterr(err, -errno, "evidence missing: %s "
			    "(making %s/%s)", strerror(errno), dir, name);
			goto out;
		}
	}
	if (k == EVIDENCE_NAME_TRIES) {
		rc = seterr(err, -EEXIST, "evidence missing: %s/%llu: every "
		    "name up to -%d is taken", dir,
		    (unsigned long long)event_id, EVIDENCE_NAME_TRIES - 1);
		goto out;
	}
	sub_fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (sub_fd < 0) {
		rc = seterr(err, -errno, "evidence missing: %s/%s: %s", dir,
		    name, strerror(errno));
		goto out;
	}
	if ((size_t)snprintf(copy_path, sizeof(copy_path), "%s/%s/file", dir,
	    name) >= sizeof(copy_path) || strlen(copy_path) >= where_len) {
		rc = seterr(err, -ENAMETOOLONG, "evidence missing: %s/%s: "
		    "path too long", dir, name);
		goto meta;
	}
	src_fd = open_regular_beneath(upper_fd, rel, path, path_len, &st,
	    err);
	if (src_fd < 0) {
		rc = src_fd;
		goto meta;
	}
	copy_fd = openat(sub_fd, "file", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (copy_fd < 0) {
		rc = seterr(err, -errno, "evidence missing: %s (creating "
		    "%s)", strerror(errno), copy_path);
		goto meta;
	}
	rc = copy_capped(src_fd, copy_fd, &copied);
	if (close(copy_fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		/* A part of a file is no evidence (a full disk, mostly). */
		seterr(err, rc, "evidence missing: %s (copying %s to %s)",
		    strerror(-rc), esc_path(shown, sizeof(shown), path,
		    path_len), copy_path);
		unlinkat(sub_fd, "file", 0);
		copied = 0;
		goto meta;
	}
	snprintf(where, where_len, "%s", copy_path);
	if (copied < EVIDENCE_MAX)
		copy_sha256(sub_fd, sha);
meta:
	/* Without it, a copy still stands: no error of its own. */
	(void)write_meta(sub_fd, copied, copied >= EVIDENCE_MAX,
	    sha[0] ? sha : NULL, rc < 0 && err != NULL ? err->msg : NULL,
	    meta_json);
out:
	if (src_fd >= 0)
		close(src_fd);
	if (sub_fd >= 0)
		close(sub_fd);
	close(dir_fd);
	return rc;
}

/* The SHA-256 of an event's file, into hex (or NULL): a regular file of
 * the upper dir, at most as much as evidence keeps (EVIDENCE_MAX), read
 * as evidence is, never through a symlink.  Once per event judged alert
 * or above: what people look up in threat intel. */
const char *
evidence_sha256(int upper_fd, const struct uw_event *ev,
    char hex[2 * HASH_DIGEST_MAX + 1])
{
	unsigned char md[HASH_DIGEST_MAX];
	char path[WALK_MAX_PATH + 1];
	struct stat st;
	size_t len = 0;
	int fd, rc;

	if (ev->type != UW_TYPE_FILE || ev->current == NULL || ev->lower ||
	    ev->metacopy || ev->path_len > WALK_MAX_PATH ||
	    memchr(ev->path, '\0', ev->path_len) != NULL)
		return NULL;
	memcpy(path, ev->path, ev->path_len);
	path[ev->path_len] = '\0';
	fd = walk_open_regular_beneath(upper_fd, path, &st);
	if (fd < 0)
		return NULL;
	/* mostly holes: no digest anyone looks up, and free to make */
	if (st.st_size > (1 << 20) && (int64_t)st.st_blocks * 512 <
	    st.st_size / 2) {
		close(fd);
		return NULL;
	}
	rc = hash_digest_fd(fd, HASH_SHA256, EVIDENCE_MAX, md, &len);
	close(fd);
	if (rc < 0)
		return NULL;
	hex_encode(hex, md, len);
	return hex;
}
