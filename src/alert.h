/*
 * alert.h - alert sinks (syslog, HTTP in Falco's format), with dedupe
 * and burst summaries.
 */
#ifndef UW_ALERT_H
#define UW_ALERT_H

#include <stdint.h>

#include "upperwatch.h"

struct alert_opts {
	const char *url;		/* POST each alert here, or NULL */
	int syslog;			/* also to syslog */
	unsigned dedupe_seconds;	/* window (60) */
	unsigned burst_max;		/* alerts per container per window (50) */
};

struct alerter;

struct alerter *alert_new(const struct alert_opts *opts,
    struct uw_error *err);
/* Waits up to 2 s for queued alerts, then stops; what is left is
 * dropped (and counted). */
void alert_free(struct alerter *a);
/* The same, without freeing: the counters stay readable. */
void alert_stop(struct alerter *a);

/* Alert on an event whose verdict is alert or above.  Never blocks. */
int alert_event(struct alerter *a, const struct uw_event *ev);

void alert_stats(struct alerter *a, uint64_t *sent, uint64_t *dropped,
    uint64_t *suppressed, uint64_t *queued);

#endif /* UW_ALERT_H */
