/*
 * test_drift.c - drift's reports about entries it cannot read, against a
 * baseline in a scratch database, and the upper walk that the diff and
 * the watcher's scans share, over a scratch tree.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "check.h"
#include "drift.h"
#include "store.h"
#include "upperwalk.h"
#include "upperwatch.h"
#include "walk.h"

static char dir[] = "/tmp/uw-test-drift.XXXXXX";
static char path[512];

static const char *
at(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* The events a call reported: how many, and the last one's path, op and
 * reason. */
struct seen {
	int count;
	enum uw_op op;
	char path[256];
	char error[256];
};

static int
remember(const struct uw_event *ev, void *arg)
{
	struct seen *seen = arg;
	size_t len = ev->path_len < sizeof(seen->path) - 1 ? ev->path_len :
	    sizeof(seen->path) - 1;

	seen->count++;
	seen->op = ev->op;
	memcpy(seen->path, ev->path, len);
	seen->path[len] = '\0';
	snprintf(seen->error, sizeof(seen->error), "%s",
	    ev->error != NULL ? ev->error : "");
	return 0;
}

/* An empty baseline for image "img". */
static struct store *
empty_baseline(struct uw_error *err)
{
	const char *layers[1] = { dir };
	struct uw_baseline_stats stats;
	struct store *store;
	int64_t image_id;

	store = store_open(at("uw.db"), 0, err);
	if (store == NULL)
		return NULL;
	memset(&stats, 0, sizeof(stats));
	if (store_baseline_begin(store, "img", layers, 1, &image_id,
	    err) < 0 || store_baseline_commit(store, image_id, &stats,
	    err) < 0) {
		store_close(store);
		return NULL;
	}
	return store;
}

/* An entry too deep to read whose baseline path cannot be built (a
 * redirect made it longer than its container path) is still reported,
 * at its dir, never dropped. */
static void
test_error_entry_too_long_is_reported_at_its_dir(struct store *store)
{
	struct uw_error err;
	struct drift_dir ddir;
	struct drift *d;
	struct seen seen;
	unsigned char *bpath;
	int rc;

	memset(&err, 0, sizeof(err));
	d = drift_new(store, "img", &err);
	CHECK(d != NULL, "a classifier for the image");
	bpath = malloc(WALK_MAX_PATH);
	CHECK(bpath != NULL, "room for a baseline path");
	if (d == NULL || bpath == NULL)
		goto out;
	memset(bpath, 'x', WALK_MAX_PATH);
	bpath[0] = '/';
	drift_dir_init(&ddir);
	ddir.fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ddir.path = (const unsigned char *)"/deep";
	ddir.path_len = 5;
	ddir.bpath = bpath;
	ddir.bpath_len = WALK_MAX_PATH;
	memset(&seen, 0, sizeof(seen));
	rc = drift_error_entry(d, &ddir, "name", 4, WALK_DEEP_REASON,
	    remember, &seen, &err);
	CHECK_INT(rc, 0, "a baseline path too long is no failure");
	CHECK_INT(seen.count, 1, "the entry is reported");
	CHECK(seen.op == UW_OP_ERROR, "as an error event");
	CHECK_STR(seen.path, "/deep", "at its dir");
	CHECK_STR(seen.error, WALK_DEEP_REASON, "with its reason");
	close(ddir.fd);
out:
	free(bpath);
	drift_free(d);
}

/* The top of a walk: the dir at `p`, open and listed. */
static int
open_top(const char *p, struct drift_child *top)
{
	drift_child_init(top);
	top->fd = walk_open_root(p);
	if (top->fd < 0 || walk_list(top->fd, &top->names) < 0) {
		drift_child_free(top);
		return -1;
	}
	return 0;
}

/*
 * Walk everything below `p` (container path `cpath`), descending into
 * every dir; the entries go into `out` as "path:depth:parent_len "
 * lines.  The walk's return value, or -1 when it could not start.
 */
static int
walk_all(const char *p, const char *cpath, unsigned flags, char *out,
    size_t size)
{
	struct drift_child top, *child;
	struct upperwalk *walk;
	struct upperwalk_entry e;
	size_t used = 0;
	int rc;

	out[0] = '\0';
	if (open_top(p, &top) < 0)
		return -1;
	walk = upperwalk_new(&top, (const unsigned char *)cpath,
	    strlen(cpath), flags);
	if (walk == NULL) {
		drift_child_free(&top);
		return -1;
	}
	CHECK(top.fd < 0, "the walk takes the top dir over");
	while ((rc = upperwalk_next(walk, &e)) == 1) {
		used += (size_t)snprintf(out + used, size - used,
		    "%.*s:%zu:%zu ", (int)e.path_len, (const char *)e.path,
		    e.depth, e.dir.path_len);
		if (used >= size)
			break;
		if (e.d_type != DT_DIR)
			continue;
		child = upperwalk_child(walk);
		child->fd = walk_open_dir(e.dir.fd, e.name);
		if (child->fd < 0 || walk_list(child->fd, &child->names) < 0 ||
		    upperwalk_descend(walk) < 0)
			break;
	}
	upperwalk_free(walk);
	return rc;
}

static void
test_upper_walk_yields_each_entry_once_in_order(void)
{
	char cmd[800], seen[1024];
	int rc;

	snprintf(cmd, sizeof(cmd), "mkdir -p %s/up/a/d %s/up/bb && "
	    "touch %s/up/b %s/up/a/y %s/up/a/x %s/up/a/d/z", dir, dir, dir,
	    dir, dir, dir);
	CHECK(system(cmd) == 0, "an upper tree made");
	rc = walk_all(at("up"), "/", UPPERWALK_SORTED, seen, sizeof(seen));
	CHECK_INT(rc, 0, "a sorted walk ends");
	CHECK_STR(seen, "/a:1:0 /a/d:2:2 /a/d/z:3:4 /a/x:2:2 /a/y:2:2 "
	    "/b:1:0 /bb:1:0 ", "names in byte order, depth first, "
	    "depths from the root");
	rc = walk_all(at("up/a"), "/a", 0, seen, sizeof(seen));
	CHECK_INT(rc, 0, "a walk below a dir ends");
	CHECK(strstr(seen, "/a/d:2:2 ") != NULL &&
	    strstr(seen, "/a/d/z:3:4 ") != NULL &&
	    strstr(seen, "/a/x:2:2 ") != NULL &&
	    strstr(seen, "/a/y:2:2 ") != NULL && strlen(seen) == 38,
	    "below /a: its paths and depths, each entry once (%s)", seen);
}

static void
test_upper_walk_path_too_long_fails_or_is_skipped(void)
{
	struct drift_child top;
	struct upperwalk *walk;
	struct upperwalk_entry e;
	unsigned char *cpath;
	int rc, fails = 0;

	cpath = malloc(WALK_MAX_PATH);
	CHECK(cpath != NULL, "room for a long path");
	if (cpath == NULL)
		return;
	memset(cpath, 'x', WALK_MAX_PATH);
	cpath[0] = '/';
	/* the top's path leaves no room for "/name" */
	if (open_top(at("up"), &top) == 0) {
		walk = upperwalk_new(&top, cpath, WALK_MAX_PATH - 1, 0);
		while ((rc = upperwalk_next(walk, &e)) == -ENAMETOOLONG)
			fails++;
		CHECK(rc == 0 && fails == 3, "each name too long fails, "
		    "then the walk ends (%d failures)", fails);
		upperwalk_free(walk);
	}
	if (open_top(at("up"), &top) == 0) {
		walk = upperwalk_new(&top, cpath, WALK_MAX_PATH - 1,
		    UPPERWALK_SKIP_LONG);
		CHECK_INT(upperwalk_next(walk, &e), 0,
		    "with UPPERWALK_SKIP_LONG they are passed over");
		upperwalk_free(walk);
	}
	free(cpath);
}

static void
test_upper_walk_descends_only_into_an_open_child(void)
{
	struct drift_child top, *child;
	struct upperwalk *walk;
	struct upperwalk_entry e;

	if (open_top(at("up"), &top) < 0) {
		CHECK(0, "the tree opens");
		return;
	}
	walk = upperwalk_new(&top, (const unsigned char *)"", 0,
	    UPPERWALK_SORTED);
	CHECK(walk != NULL, "a walk of the root");
	if (walk == NULL) {
		drift_child_free(&top);
		return;
	}
	CHECK_INT(upperwalk_descend(walk), -EINVAL,
	    "nothing to descend into before an entry");
	CHECK(upperwalk_next(walk, &e) == 1 && strcmp(e.name, "a") == 0,
	    "the first entry");
	child = upperwalk_child(walk);
	CHECK(child != NULL && child->fd < 0, "a fresh child");
	CHECK_INT(upperwalk_descend(walk), -EINVAL,
	    "a child that is no open dir is not descended into");
	child = upperwalk_child(walk);
	child->fd = walk_open_dir(e.dir.fd, e.name);
	/* left without descending: the next entry frees it */
	CHECK(upperwalk_next(walk, &e) == 1 && strcmp(e.name, "b") == 0,
	    "a child not descended into is passed over");
	upperwalk_free(walk);
}

/* The atime of dir/name (lstat), in ns; -1 when it cannot be had. */
static long long
atime_of(const char *name)
{
	struct stat st;

	if (lstat(at(name), &st) != 0)
		return -1;
	return st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec;
}

/* Set dir/name's atime (not following a symlink) long before its mtime:
 * under relatime the next read moves it. */
static void
age_atime(const char *name)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 0, UTIME_OMIT } };

	if (utimensat(AT_FDCWD, at(name), ts, AT_SYMLINK_NOFOLLOW) != 0)
		CHECK(0, "utimensat %s: %s", name, strerror(errno));
}

/* Read what walk reads (a file whole, a dir's listing, a symlink's
 * target) below `root`. */
static void
read_through(int root)
{
	struct walk_names names;
	struct buf target;
	struct stat st;
	char byte;
	int fd, sub, rc;

	fd = walk_open_file(root, "f", &st);
	CHECK(fd >= 0 && read(fd, &byte, 1) == 1, "read q/f (%d)", fd);
	if (fd >= 0)
		close(fd);
	sub = walk_open_dir(root, "sub");
	walk_names_init(&names);
	rc = sub >= 0 ? walk_list(sub, &names) : sub;
	CHECK(rc == 0 && names.count == 1, "list q/sub (%d, %zu)", rc,
	    names.count);
	walk_names_free(&names);
	if (sub >= 0)
		close(sub);
	buf_init(&target, 16);
	rc = walk_readlink(root, "l", &target);
	CHECK(rc == 0 && target.len == 1, "readlink q/l (%d)", rc);
	buf_free(&target);
}

/* An upper dir read through walk leaves every atime a container could
 * see as it was: through the private mount, files, dirs and symlinks;
 * through a plain root (no private mount), files and dirs (O_NOATIME). */
static void
test_reads_leave_atimes(void)
{
	static const char *const names[] = { "q/f", "q/sub", "q/l" };
	long long before[3];
	struct statvfs vfs;
	int root, i, fd;

	if (mkdir(at("q"), 0755) != 0 || mkdir(at("q/sub"), 0755) != 0 ||
	    symlink("f", at("q/l")) != 0) {
		CHECK(0, "scratch tree: %s", strerror(errno));
		return;
	}
	fd = open(at("q/f"), O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1, "q/f written");
	if (fd >= 0)
		close(fd);
	fd = open(at("q/sub/g"), O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 3; i++) {
		age_atime(names[i]);
		before[i] = atime_of(names[i]);
	}

	root = walk_open_root(at("q"));
	CHECK(root >= 0, "walk_open_root (%d)", root);
	if (root >= 0) {
		read_through(root);
		close(root);
	}
	CHECK_INT(atime_of("q/f"), before[0], "a plain root: a file read "
	    "leaves its atime");
	CHECK_INT(atime_of("q/sub"), before[1], "a plain root: a dir listed "
	    "leaves its atime");

	for (i = 0; i < 3; i++) {	/* (a symlink's moved above) */
		age_atime(names[i]);
		before[i] = atime_of(names[i]);
	}
	root = walk_open_upper(at("q"));
	CHECK(root >= 0, "walk_open_upper (%d)", root);
	if (root >= 0 && geteuid() == 0) {
		read_through(root);
		for (i = 0; i < 3; i++)
			CHECK_INT(atime_of(names[i]), before[i], names[i]);
		CHECK(fstatvfs(root, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) &&
		    (vfs.f_flag & ST_NODEV) && (vfs.f_flag & ST_NOSUID) &&
		    (vfs.f_flag & ST_NOEXEC),
		    "the private mount is read-only, nodev, nosuid, noexec");
		fd = openat(root, "new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		CHECK(fd < 0 && errno == EROFS, "nothing is written through "
		    "it (%s)", fd < 0 ? strerror(errno) : "created");
		if (fd >= 0)
			close(fd);
	}
	if (root >= 0)
		close(root);

	/* Control: a plain read moves them here (relatime). */
	fd = open(at("q/f"), O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char byte;

		CHECK(read(fd, &byte, 1) == 1, "control read");
		close(fd);
	}
	CHECK(atime_of("q/f") != before[0], "control: a plain read of q/f "
	    "moves its atime on this file system");
}

int
main(void)
{
	struct uw_error err;
	struct store *store;
	char cmd[600];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	memset(&err, 0, sizeof(err));
	store = empty_baseline(&err);
	CHECK(store != NULL, "an empty baseline (%s)", err.msg);
	if (store != NULL) {
		test_error_entry_too_long_is_reported_at_its_dir(store);
		store_close(store);
	}
	test_upper_walk_yields_each_entry_once_in_order();
	test_upper_walk_path_too_long_fails_or_is_skipped();
	test_upper_walk_descends_only_into_an_open_child();
	test_reads_leave_atimes();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		CHECK(0, "scratch dir removed");
	return check_done();
}
