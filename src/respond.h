/*
 * respond.h - pause, kill and resume a container; keep evidence.
 */
#ifndef UW_RESPOND_H
#define UW_RESPOND_H

#include <stddef.h>
#include <stdint.h>

#include "upperwatch.h"

/* The most of one file an evidence copy keeps. */
#define RESPOND_EVIDENCE_MAX (64u << 20)

/* What a response needs to know of a container. */
struct respond_target {
	const char *id;
	const char *runtime;	/* runc and podman are asked first */
	const char *v1_freezer;	/* absolute cgroup dirs, "" if none */
	const char *v2;
	const char *ns;		/* containerd namespace, or NULL */
};

/* Pause; *method says how ("runc", "podman", "docker" (the Engine API on
 * its socket), "ctr" (containerd), "cgroup-v1",
 * "cgroup-v2"), for respond_resume.  Returns once the tasks are frozen. */
int respond_pause(const struct respond_target *t, const char **method,
    struct uw_error *err) UW_WARN_UNUSED;
int respond_resume(const struct respond_target *t, const char *method,
    struct uw_error *err) UW_WARN_UNUSED;
/* Is the container frozen now (v1 FROZEN or v2 frozen 1)? */
int respond_is_frozen(const struct respond_target *t);

/* Kill every process of the container; returns once none is left. */
int respond_kill(const struct respond_target *t, const char **method,
    struct uw_error *err) UW_WARN_UNUSED;

/*
 * Copy the regular file at container path `path` (resolved beneath
 * upper_fd, never through a symlink; a FIFO, socket or device is never
 * opened) into a new dir of its own under `dir`: <event id>, or
 * <event id>-N when that is taken (ids restart after a database reset;
 * nothing is overwritten), as "file" with a metadata.json beside it.
 * `dir` is created 0700, and refused unless it is ours and no one else
 * can write it or a parent below the first root-owned one that others
 * cannot write.  0 with *where the copy's path; else a negative errno,
 * err "evidence missing: <why>" and *where "".
 */
int respond_evidence(int upper_fd, const unsigned char *path,
    size_t path_len, const char *dir, uint64_t event_id,
    const char *meta_json, char *where, size_t where_len,
    struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_RESPOND_H */
