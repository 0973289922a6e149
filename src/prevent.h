/*
 * prevent.h - drift prevention for the runtime watcher (watch --prevent):
 * an exec of a file that is drift is judged before it runs, and refused
 * when a policy answers deny (see watcher.h).
 */
#ifndef UW_PREVENT_H
#define UW_PREVENT_H

#include <stdint.h>

#include "watcher.h"

struct prevent_counts {
	uint64_t fast;		/* allowed without a judgement: not drift */
	uint64_t judged;	/* judged by the policies */
	uint64_t denied;	/* refused */
	uint64_t fail_open;	/* allowed because of an error or the
				 * deadline */
};

/* Start prevention, as the watcher's options ask (nothing without
 * --prevent).  Fails when it cannot be had: it was asked for. */
int prevent_start(struct watcher *w) UW_WARN_UNUSED;
/* Stop it: the thread ends; the kernel allows what is pending. */
void prevent_stop(struct watcher *w);

/* Guard the execs of `c` (its overlay marked for FAN_OPEN_EXEC_PERM);
 * one that cannot be guarded is said.  Fails only when out of memory. */
int prevent_add(struct watcher *w, struct wctr *c) UW_WARN_UNUSED;
void prevent_drop(struct watcher *w, struct wctr *c);

/* The fd that is readable when refused execs wait to be reported, or -1;
 * prevent_read queues them as exec events (PENT_EXEC | PENT_DENIED). */
int prevent_fd(const struct watcher *w);
int prevent_read(struct watcher *w, int64_t now) UW_WARN_UNUSED;

/* The policy set was reloaded: the thread gets one of its own too. */
void prevent_reload(struct watcher *w);

void prevent_get_counts(const struct watcher *w, struct prevent_counts *n);

#endif /* UW_PREVENT_H */
