/*
 * api.c - the public functions of libupperwatch (upperwatch.h), thin
 * wrappers that check arguments and hand over to the parts.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "baseline.h"
#include "config.h"
#include "daemon.h"
#include "status.h"
#include "discover.h"
#include "drift.h"
#include "event.h"
#include "ocsf.h"
#include "mountinfo.h"
#include "oci.h"
#include "transfer.h"
#include "verify.h"
#include "overlay.h"
#include "policy.h"
#include "respond.h"
#include "store.h"
#include "util.h"

struct uw_db {
	struct store *store;
};

UW_API const char *
uw_version(void)
{
	return UW_VERSION;
}

UW_API struct uw_db *
uw_db_open(const char *path, unsigned flags, struct uw_error *err)
{
	struct uw_db *db;

	if (path == NULL || path[0] == '\0') {
		seterr(err, -EINVAL, "no database path given");
		return NULL;
	}
	db = calloc(1, sizeof(*db));
	if (db == NULL) {
		seterr(err, -ENOMEM, "out of memory");
		return NULL;
	}
	db->store = store_open(path, flags, err);
	if (db->store == NULL) {
		free(db);
		return NULL;
	}
	return db;
}

struct store *
api_db_store(struct uw_db *db)
{
	return db->store;
}

UW_API void
uw_db_close(struct uw_db *db)
{
	if (db == NULL)
		return;
	store_close(db->store);
	free(db);
}

UW_API int
uw_baseline_build(struct uw_db *db, const struct uw_baseline_opts *opts,
    struct uw_baseline_stats *stats, struct uw_error *err)
{
	struct uw_baseline_opts resolved;
	char **real = NULL;
	size_t i;
	int rc;

	if (db == NULL || opts == NULL || opts->layers == NULL)
		return seterr(err, -EINVAL, "bad arguments");
	if (opts->layer_count == 0 || opts->layer_count > BASELINE_MAX_LAYERS)
		return seterr(err, -EINVAL, "%zu layers: 1 to %d are allowed",
		    opts->layer_count, BASELINE_MAX_LAYERS);
	/* The stack is recorded (and later matched) by real paths. */
	real = calloc(opts->layer_count, sizeof(*real));
	if (real == NULL)
		return seterr(err, -ENOMEM, "out of memory");
	for (i = 0; i < opts->layer_count; i++) {
		real[i] = realpath(opts->layers[i], NULL);
		if (real[i] == NULL) {
			rc = seterr(err, -errno, "%s: %s", opts->layers[i],
			    strerror(errno));
			goto out;
		}
	}
	resolved = *opts;
	resolved.layers = (const char *const *)real;
	rc = baseline_build(db->store, &resolved, stats, err);
out:
	for (i = 0; i < opts->layer_count; i++)
		free(real[i]);
	free(real);
	return rc;
}

UW_API int
uw_baseline_build_oci(struct uw_db *db, const struct uw_oci_opts *opts,
    struct uw_oci_result *result, struct uw_baseline_stats *stats,
    struct uw_error *err)
{
	if (db == NULL || opts == NULL)
		return seterr(err, -EINVAL, "bad arguments");
	return oci_build(db->store, opts, result, stats, err);
}

UW_API int
uw_baseline_export(struct uw_db *db, const char *image, FILE *out,
    struct uw_error *err)
{
	if (db == NULL || image == NULL || out == NULL)
		return seterr(err, -EINVAL, "bad arguments");
	/* (each line is made aside and written in one call: the stream
	 * needs no holding, jsonw.h) */
	return transfer_export(db->store, image, out, err);
}

UW_API int
uw_baseline_import(struct uw_db *db, const char *path, const char *expect,
    struct uw_import_result *res, struct uw_error *err)
{
	if (db == NULL || path == NULL || res == NULL)
		return seterr(err, -EINVAL, "bad arguments");
	return transfer_import(db->store, path, expect, res, err);
}

UW_API const char *
uw_baseline_key(struct uw_db *db, const struct uw_container *c, char *buf)
{
	struct uw_error ignored;
	int64_t id;

	if (image_digest(c->image_id, buf) &&
	    store_image_id(db->store, buf, &id, &ignored) == 0)
		return buf;
	return c->image_key;
}

UW_API int
uw_verify(struct uw_db *db, const struct uw_verify_opts *opts,
    int (*cb)(const struct uw_event *ev, void *arg), void *arg,
    uint64_t *differences, struct uw_error *err)
{
	uint64_t local;

	if (db == NULL || opts == NULL || opts->image == NULL)
		return seterr(err, -EINVAL, "bad arguments");
	return verify_image(db->store, opts, cb, arg,
	    differences ? differences : &local, err);
}

UW_API int
uw_images_foreach(struct uw_db *db,
    int (*cb)(const struct uw_image_info *info, void *arg), void *arg,
    struct uw_error *err)
{
	return store_images_foreach(db->store, cb, arg, err);
}

UW_API int
uw_image_remove(struct uw_db *db, const char *image, struct uw_error *err)
{
	return store_image_remove(db->store, image, err);
}

UW_API int
uw_baseline_lookup(struct uw_db *db, const char *image,
    const unsigned char *path, size_t path_len,
    int (*cb)(const struct uw_record *rec, void *arg), void *arg,
    struct uw_error *err)
{
	return store_lookup(db->store, image, path, path_len, cb, arg, err);
}

UW_API int
uw_baseline_foreach(struct uw_db *db, const char *image,
    int (*cb)(const struct uw_record *rec, void *arg), void *arg,
    struct uw_error *err)
{
	return store_foreach(db->store, image, cb, arg, err);
}

UW_API int
uw_diff(struct uw_db *db, const struct uw_diff_opts *opts,
    struct uw_diff_stats *stats, struct uw_error *err)
{
	if (db == NULL || opts == NULL || opts->image == NULL ||
	    opts->upper == NULL || opts->cb == NULL)
		return seterr(err, -EINVAL, "bad arguments");
	return drift_diff(db->store, opts, stats, err);
}

UW_API int
uw_containers_foreach(const struct uw_discover_opts *opts,
    int (*cb)(const struct uw_container *c, void *arg), void *arg,
    size_t *malformed, struct uw_error *err)
{
	if (cb == NULL)
		return seterr(err, -EINVAL, "bad arguments");
	return discover_foreach(opts, cb, arg, malformed, err);
}

UW_API int
uw_image_exists(struct uw_db *db, const char *image, struct uw_error *err)
{
	int64_t id;
	int rc;

	rc = store_image_id(db->store, image, &id, err);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 1;
}

struct uw_mounts {
	int fd;
};

UW_API struct uw_mounts *
uw_mounts_open(struct uw_error *err)
{
	struct uw_mounts *m;

	m = malloc(sizeof(*m));
	if (m == NULL) {
		seterr(err, -ENOMEM, "out of memory");
		return NULL;
	}
	m->fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (m->fd < 0) {
		seterr(err, -errno, "/proc/self/mountinfo: %s",
		    strerror(errno));
		free(m);
		return NULL;
	}
	return m;
}

UW_API int
uw_mounts_wait(struct uw_mounts *m, int timeout_ms)
{
	return mountinfo_wait_change(m->fd, timeout_ms);
}

UW_API void
uw_mounts_close(struct uw_mounts *m)
{
	if (m == NULL)
		return;
	close(m->fd);
	free(m);
}

UW_API int
uw_watch(struct uw_db *db, const struct uw_watch_opts *opts,
    struct uw_error *err)
{
	if (db == NULL || opts == NULL)
		return seterr(err, -EINVAL, "bad arguments");
	return daemon_run(db->store, opts, err);
}

struct journal_cb {
	int (*cb)(const struct uw_journal_entry *e, void *arg);
	void *arg;
};

static int
journal_one(uint64_t id, int64_t time_ns, const char *container,
    const char *op, const unsigned char *path, size_t path_len,
    const char *detail, void *arg)
{
	struct journal_cb *j = arg;
	struct uw_journal_entry e;

	e.id = id;
	e.time_ns = time_ns;
	e.container = container ? container : "";
	e.op = op ? op : "";
	e.path = path ? path : (const unsigned char *)"";
	e.path_len = path_len;
	e.json = detail ? detail : "{}";
	return j->cb(&e, j->arg);
}

UW_API int
uw_journal_foreach(struct uw_db *db, const char *container, int64_t since_ns,
    const char *op, int (*cb)(const struct uw_journal_entry *e, void *arg),
    void *arg, struct uw_error *err)
{
	struct journal_cb j = { cb, arg };

	return store_events_foreach(db->store, container, since_ns, op,
	    journal_one, &j, err);
}

/* The journal of a resume: the response row, straight into the store.
 * A failure is the caller's error only when the resume itself worked. */
struct resume_journal {
	struct store *store;
	struct uw_error *err;
};

static int
resume_journal(void *arg, uint64_t event_id, const char *ctr_id,
    const char *action, const char *method, const char *outcome,
    const char *detail, int64_t latency_ns, const char *evidence)
{
	struct resume_journal *j = arg;
	struct uw_error jerr;
	int rc;

	rc = store_response_add(j->store, 0, event_id, ctr_id, action, method,
	    outcome, detail, latency_ns, evidence, &jerr);
	if (rc < 0 && strcmp(outcome, "done") == 0)
		*j->err = jerr;
	return rc;
}

UW_API int
uw_container_resume(struct uw_db *db, const char *container,
    struct uw_error *err)
{
	struct resume_journal j = { db->store, err };
	struct respond_sink sink = { .journal = resume_journal, .arg = &j };
	struct respond_target t;
	struct uw_container *c;
	char method[64];
	int rc;

	c = discover_find(container, err);
	if (c == NULL)
		return err->code;
	rc = store_last_pause(db->store, c->id, method, sizeof(method), err);
	if (rc == 1)
		rc = seterr(err, -ENOENT, "container %s was not paused by "
		    "upperwatch", c->id);
	if (rc == 0) {
		respond_target_of(c, &t);
		rc = respond_resume_journaled(&sink, &t, method, err);
	}
	discover_copy_free(c);
	return rc;
}

UW_API enum uw_container_match
uw_container_match(const struct uw_container *c, const char *want)
{
	return discover_match(c, want);
}

UW_API struct uw_container *
uw_container_find(const char *want, struct uw_error *err)
{
	return discover_find(want, err);
}

UW_API struct uw_container *
uw_container_copy(const struct uw_container *c)
{
	return discover_copy(c);
}

UW_API void
uw_container_free(struct uw_container *c)
{
	discover_copy_free(c);
}

/* ---- doors to the parts ---- */

UW_API int
uw_trusted_xattrs_readable(void)
{
	return overlay_trusted_xattrs_readable();
}

UW_API int
uw_overlay_flags_for_upper(const char *upper, unsigned *flags,
    struct uw_error *err)
{
	return discover_overlay_flags_for_upper(upper, flags, err);
}

UW_API int
uw_event_write_json(FILE *out, const struct uw_event *ev)
{
	int rc;

	flockfile(out);		/* (jsonw.h) */
	rc = event_write_json(out, ev);
	funlockfile(out);
	return rc;
}

UW_API int
uw_event_write_ocsf(FILE *out, const struct uw_event *ev)
{
	int rc;

	flockfile(out);
	rc = ocsf_write_event(out, ev);
	funlockfile(out);
	return rc;
}

UW_API int
uw_responses_foreach(struct uw_db *db, const char *container,
    int64_t since_ns, int (*cb)(const struct uw_response *r, void *arg),
    void *arg, struct uw_error *err)
{
	if (db == NULL || cb == NULL)
		return seterr(err, -EINVAL, "bad arguments");
	return store_responses_foreach(db->store, container, since_ns, cb,
	    arg, err);
}

UW_API int
uw_journal_write_ocsf(FILE *out, const struct uw_journal_entry *e)
{
	int rc;

	if (out == NULL || e == NULL || e->json == NULL)
		return -EINVAL;
	flockfile(out);
	rc = replay_write_ocsf(out, e->json);
	funlockfile(out);
	return rc;
}

UW_API struct uw_policy_set *
uw_policy_load(const char *const *paths, size_t path_count,
    const struct uw_policy_limits *limits,
    void (*log)(const char *policy, const char *line, void *arg),
    void *log_arg, struct uw_error *err)
{
	return policy_load(paths, path_count, limits, log, log_arg, err);
}

UW_API void
uw_policy_free(struct uw_policy_set *set)
{
	policy_free(set);
}

UW_API const char *
uw_policy_digest(const struct uw_policy_set *set)
{
	return policy_digest(set);
}

UW_API size_t
uw_policy_count(const struct uw_policy_set *set)
{
	return policy_count(set);
}

UW_API int
uw_policy_evaluate(struct uw_policy_set *set, const struct uw_event *ev,
    enum uw_action max_action, struct uw_verdict *verdict,
    struct uw_error *err)
{
	return policy_evaluate(set, ev, max_action, verdict, err);
}

UW_API int
uw_policy_check(struct uw_policy_set *set, FILE *out)
{
	return policy_self_check(set, out);
}

UW_API int
uw_policy_test(struct uw_policy_set *set, const char *const *case_paths,
    size_t path_count, FILE *out, int *total, int *failed,
    struct uw_error *err)
{
	return policy_run_cases(set, case_paths, path_count, out, total,
	    failed, err);
}

UW_API int
uw_policy_replay(struct uw_db *db, struct uw_policy_set *set,
    const char *container, int64_t since_ns, enum uw_action max_action,
    int (*cb)(const struct uw_journal_entry *e, int old_severity,
    int old_action, const struct uw_verdict *now, void *arg), void *arg,
    struct uw_error *err)
{
	return policy_replay(db->store, set, container, since_ns, max_action,
	    cb, arg, err);
}

UW_API struct uw_status *
uw_status_read(const char *db_path, struct uw_error *err)
{
	return status_read(db_path, err);
}

UW_API void
uw_status_free(struct uw_status *status)
{
	status_free(status);
}
