/*
 * notice.h - what the runtime watcher says (see watcher.h).
 */
#ifndef UW_NOTICE_H
#define UW_NOTICE_H

#include <stddef.h>

#include "watcher.h"

void notice_info(struct watcher *w, const char *fmt, ...) UW_PRINTF(2, 3);
void notice_warn(struct watcher *w, const char *fmt, ...) UW_PRINTF(2, 3);
void notice_coverage(struct watcher *w, const struct wctr *c,
    const char *fmt, ...) UW_PRINTF(3, 4);
void notice_say(struct watcher *w, enum uw_notice_level level,
    const char *msg);
const char *notice_esc(struct watcher *w, const void *bytes, size_t len);
const char *notice_escs(struct watcher *w, const char *s);

#endif /* UW_NOTICE_H */
