/*
 * respond.h - pause, kill and resume a container; keep evidence.
 */
#ifndef UW_RESPOND_H
#define UW_RESPOND_H

#include <stddef.h>
#include <stdint.h>

#include "upperwatch.h"

/* What a response needs to know of a container. */
struct respond_target {
	const char *id;
	const char *runtime;	/* runc and podman are asked first */
	const char *v1_freezer;	/* absolute cgroup dirs, "" if none */
	const char *v2;
	const char *ns;		/* containerd namespace, or NULL */
};

/* The target of container `c` (its strings, not copied). */
void respond_target_of(const struct uw_container *c,
    struct respond_target *t);

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

/* Run a runtime's command (argv[0] looked up in PATH) with a 10 s limit;
 * 0 when it exited 0, its output (stdout and stderr) in out.  The child
 * inherits no fd but 0, 1 and 2. */
int respond_run(char *const argv[], char *out, size_t outlen);

/* A container as its watcher holds it, for carrying out verdicts. */
struct respond_ctr {
	struct respond_target target;
	int upper_fd;		/* its upper root (for evidence), or -1 */
	int paused, killed;	/* by us */
};

/* Where a response is journaled and said. */
struct respond_sink {
	const char *evidence_dir;	/* NULL: no evidence is kept */
	/* Journal one response (event id 0 for a resume); 0, or a
	 * negative error that ends the caller (out of memory). */
	int (*journal)(void *arg, uint64_t event_id, const char *ctr_id,
	    const char *action, const char *method, const char *outcome,
	    const char *detail, int64_t latency_ns, const char *evidence);
	/* Say a line to the operator (NULL: nothing is said). */
	void (*say)(void *arg, enum uw_notice_level level, const char *msg);
	void *arg;
};

enum respond_outcome {
	RESPOND_SKIPPED = 0,	/* capped, already paused or killed */
	RESPOND_DONE,
	RESPOND_FAILED,
};

/*
 * Carry out a pause or kill verdict `v` on event `ev` of container `c`
 * (ev->time_ns is the detection time, ev->json what the evidence keeps
 * beside the copy): evidence first (a kill may take the upper dir with
 * it), then the action, then the journal through `s`, with the time from
 * detection.  A verdict capped below what its policy wanted is journaled
 * as skipped, as is a pause of a container still paused by us or
 * anything on one we killed.  *outcome says which.  Returns what the
 * sink's journal returned: a failure to act is journaled, never
 * returned.
 */
int respond_verdict(const struct respond_sink *s, struct respond_ctr *c,
    const struct uw_event *ev, const struct uw_verdict *v,
    enum respond_outcome *outcome) UW_WARN_UNUSED;

/*
 * Resume a container paused by `method` (what the pause said), and
 * journal that through `s` as a "resume" response.  0, or the resume's
 * error (in err), or the journal's.
 */
int respond_resume_journaled(const struct respond_sink *s,
    const struct respond_target *t, const char *method,
    struct uw_error *err) UW_WARN_UNUSED;

#endif /* UW_RESPOND_H */
