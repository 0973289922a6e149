/*
 * alert.h - alert sinks (syslog, HTTP in Falco's format), with dedupe
 * and burst summaries.
 *
 * alert_event, alert_coverage, alert_tick and alert_stop are called from
 * one thread (the watcher's); alert_stats from any.
 */
#ifndef UW_ALERT_H
#define UW_ALERT_H

#include <stdint.h>

#include "upperwatch.h"

struct alert_opts {
	const char *url;		/* POST each alert here, or NULL */
	int syslog;			/* also to syslog */
	int ocsf;			/* bodies: OCSF findings, not Falco */
	unsigned dedupe_seconds;	/* window (60) */
	unsigned burst_max;		/* per container and window (50) */
	/* Also hand each alert to this function, in the caller's thread
	 * (tests, embedders): its syslog priority, its one-line output and
	 * its Falco JSON body.  NULL: not called. */
	void (*sink)(void *arg, int priority, const char *output,
	    const char *json);
	void *sink_arg;
};

struct alerter;

struct alerter *alert_new(const struct alert_opts *opts,
    struct uw_error *err);
/* alert_stop, then free everything. */
void alert_free(struct alerter *a);
/* Send every burst summary still pending (nothing held back is lost
 * unsaid), wait up to 1 s for the HTTP queue to drain, then stop; what
 * is left is dropped (and counted).  The counters stay readable; alerts
 * raised afterwards still go to syslog, and count as dropped for HTTP. */
void alert_stop(struct alerter *a);

/* Alert on an event whose verdict is alert or above.  Never blocks.
 * Below high, the same (container, path, verdict) alerts once per
 * window, and at most burst_max alerts per container and window go out;
 * the rest are held back and summarized when the window ends.  High and
 * critical alerts are always delivered (they count in the window). */
int alert_event(struct alerter *a, const struct uw_event *ev);
/* The same at CLOCK_MONOTONIC time now_ns (tests). */
int alert_event_at(struct alerter *a, const struct uw_event *ev,
    int64_t now_ns);

/* Coverage lost: a container degraded or unwatched, a baseline incomplete,
 * the journal behind, a watch cap reached.  One alert, never deduped or
 * held back.  `container` is an id or "". */
void alert_coverage(struct alerter *a, const char *container,
    const char *text);

/* A package transaction ended in a container: one alert that says what
 * it changed (text) and names its incident, never deduped or held back,
 * so that its events (low when they match their packages) need not page
 * one by one. */
void alert_incident(struct alerter *a, const char *container,
    uint64_t incident, const char *text);

/* Deliver what is due by timer (burst summaries whose window ended).
 * Returns the CLOCK_MONOTONIC ns by which it wants to be called again,
 * INT64_MAX when nothing is pending. */
int64_t alert_tick(struct alerter *a, int64_t now_ns);

void alert_stats(struct alerter *a, uint64_t *sent, uint64_t *dropped,
    uint64_t *suppressed, uint64_t *queued);

#endif /* UW_ALERT_H */
