/*
 * fan_exec.c - execs as the fanotify groups see them: which file that
 * runs is the image's, untouched (its path in no upper layer), which is
 * gone from its container (unlinked, or deeper than the kernel names),
 * and the ignore marks the watcher puts on image files that ran (see
 * fanotify.h), with what takes them back.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fanotify.h"
#include "pathset.h"
#include "util.h"
#include "walk.h"
#include "watcher.h"

int
fan_parent_of(const struct wctr *c, const unsigned char *path, size_t len,
    char *tmp, size_t tmp_size, const char **name)
{
	const char *mp = c->info->mount_point;
	size_t cut;
	int root, fd;

	if (mp == NULL || mp[0] != '/' || len < 2 || path[0] != '/' ||
	    len >= tmp_size || memchr(path, '\0', len) != NULL)
		return -1;
	memcpy(tmp, path, len);
	tmp[len] = '\0';
	for (cut = len; tmp[cut - 1] != '/'; cut--)
		;
	*name = tmp + cut;
	tmp[cut - 1] = '\0';	/* "" for a name in the root */
	root = open(mp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -1;
	fd = walk_open_beneath(root, tmp[0] ? tmp : "/", O_DIRECTORY);
	close(root);
	return fd < 0 ? -1 : fd;
}

static void
fan_unignore_in(int group, uint64_t mask, int dirfd, const char *name)
{
	/* The name's own inode (a symlink's, not its target's); ENOENT:
	 * there was no mark, the common case. */
	if (group >= 0)
		(void)fanotify_mark(group, FAN_MARK_REMOVE |
		    FAN_MARK_IGNORED_MASK | FAN_MARK_DONT_FOLLOW, mask, dirfd,
		    name);
}

void
fan_unignore(struct watcher *w, int dirfd, const char *name)
{
	fan_unignore_in(w->fan_fd, FAN_OPEN_EXEC, dirfd, name);
}

int
fan_in_no_upper(int upper_fd, struct buf *path)
{
	struct stat st;
	int rc;

	if (buf_addc(path, '\0') < 0)
		return 0;
	path->len--;
	rc = walk_stat_beneath(upper_fd, (const char *)path->data, &st);
	return rc == 0 || (rc == 1 && !S_ISREG(st.st_mode));
}

int
fan_same_name(const struct fan_target *t, int fd, int pid,
    struct fan_mnts *mc, const struct buf *path, struct buf *again,
    struct stat *st)
{
	buf_reset(again);
	return fstat(fd, st) == 0 && st->st_nlink != 0 &&
	    fan_path_of(t, fd, pid, mc, again) == 0 &&
	    again->len == path->len &&
	    memcmp(again->data, path->data, path->len) == 0;
}

int
ignore_execs(int group, uint64_t mask, int fd, int upper_fd,
    struct buf *path, const struct fan_target *t, int pid,
    struct fan_mnts *mc)
{
	struct buf again;
	struct stat st;
	int same;

	/* Looked for, marked, looked for again.  A write after the mark
	 * clears it (the kernel); one before the first look keeps the file
	 * from being marked; one between the two looks (a copy-up comes
	 * first) has the mark taken back; so does an unlink or a rename
	 * after the name was read, which made the looks about another
	 * name (an upper file, linked elsewhere, would stay marked). */
	if (!fan_in_no_upper(upper_fd, path))
		return 0;
	(void)fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, mask,
	    fd, NULL);
	if (fan_in_no_upper(upper_fd, path)) {
		buf_init(&again, path->len + 1);
		same = fan_same_name(t, fd, pid, mc, path, &again, &st);
		buf_free(&again);
		if (same)
			return 1;
	}
	(void)fanotify_mark(group, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK,
	    mask, fd, NULL);
	return 0;
}

int
fan_gone(int upper_fd, const struct stat *st, struct buf *path)
{
	static const char sfx[] = " (deleted)";
	const size_t n = sizeof(sfx) - 1;
	struct stat us;
	int cut;

	cut = path->len > n && memcmp(path->data + path->len - n, sfx, n) == 0;
	if (st->st_nlink != 0) {
		if (!cut || buf_addc(path, '\0') < 0)
			return 0;
		path->len--;
		/* a file named so, this very one (a pure upper file's
		 * overlay inode number is its upper one): the name it has.
		 * Anything else there (a decoy dir, another file, a
		 * copied-up file whose number is its lower one, an
		 * error): gone, and judged as drift. */
		if (walk_stat_beneath(upper_fd, (const char *)path->data,
		    &us) == 1 && S_ISREG(us.st_mode) &&
		    us.st_ino == st->st_ino)
			return 0;
	}
	if (cut)
		path->len -= n;
	return 1;
}

int
fan_report_gone_exec(struct watcher *w, struct wctr *c,
    const unsigned char *path, size_t len, const struct stat *st,
    uint64_t writer, unsigned flags)
{
	struct wctr *was = w->cur;
	uint64_t was_writer = w->cur_writer;
	unsigned was_flags = w->cur_flags;
	struct pathset_entry *g;
	struct uw_record cur;
	struct uw_event ev;
	int64_t now = now_mono_ns();
	int rc;

	/* One a quiet period for each name, as execs of a queued path are:
	 * a loop of execveat must not flood the journal. */
	if (c->gone.count >= MAX_SLOW_PATHS)
		pathset_free(&c->gone);
	g = pathset_get(&c->gone, path, len, 1);
	if (g == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	if (g->first_ns != 0 && now - g->first_ns < w->quiet_ns)
		return 0;
	g->first_ns = now;
	walk_record_from_stat(&cur, path, len, st);
	memset(&ev, 0, sizeof(ev));
	ev.op = UW_OP_EXEC;
	ev.path = path;
	ev.path_len = len;
	ev.type = UW_TYPE_FILE;
	ev.current = &cur;
	w->cur = c;
	w->cur_writer = writer;
	w->cur_flags = flags | PENT_EXEC;
	rc = w->report(&ev, w);
	w->cur = was;
	w->cur_writer = was_writer;
	w->cur_flags = was_flags;
	return rc < 0 ? rc : 0;
}
