/*
 * test_drift.c - drift's reports about entries it cannot read, against a
 * baseline in a scratch database.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "drift.h"
#include "store.h"
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
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		CHECK(0, "scratch dir removed");
	return check_done();
}
