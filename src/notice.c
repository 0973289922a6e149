/*
 * notice.c - what the runtime watcher says to its embedder (on_notice):
 * information, failures it goes on after, and coverage warnings (less is
 * watched than should be), which are also counted and alerted.  Names a
 * container chose are escaped and cut before they go into a notice.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "notice.h"
#include "util.h"

void
notice_say(struct watcher *w, enum uw_notice_level level, const char *msg)
{
	if (w->opts->on_notice != NULL)
		w->opts->on_notice(level, msg, w->opts->arg);
}

static void
notice_vsay(struct watcher *w, enum uw_notice_level level, const char *fmt,
    va_list ap)
{
	char msg[1024];

	if (w->opts->on_notice == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	notice_say(w, level, msg);
}

/* For the operator's information. */
void
notice_info(struct watcher *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notice_vsay(w, UW_NOTICE_INFO, fmt, ap);
	va_end(ap);
}

/* Something failed, and the watcher goes on. */
void
notice_warn(struct watcher *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notice_vsay(w, UW_NOTICE_WARNING, fmt, ap);
	va_end(ap);
}

/*
 * Less is watched than should be: said under --quiet, counted, and sent
 * as an alert.  Callers say it once per cause, when it starts.
 */
void
notice_coverage(struct watcher *w, const struct wctr *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	w->coverage_total++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	notice_say(w, UW_NOTICE_COVERAGE, msg);
	if (w->alerter != NULL)
		alert_coverage(w->alerter, c != NULL ? c->info->id : "", msg);
}

/*
 * `len` bytes a container chose (a path, a name) made safe for a notice:
 * escaped C-style (escape_to_buf), cut with "..." past about 500
 * bytes.  Four buffers serve in turn, so one notice may hold four.
 */
const char *
notice_esc(struct watcher *w, const void *bytes, size_t len)
{
	char *out = w->esc[w->esc_next];

	w->esc_next = (w->esc_next + 1) % 4;
	return escape_cut(out, sizeof(w->esc[0]), bytes, len);
}

/* The same for a NUL-terminated string. */
const char *
notice_escs(struct watcher *w, const char *s)
{
	return notice_esc(w, s, strlen(s));
}
