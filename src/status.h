/*
 * status.h - the watcher's status.json and metrics, and reading them back.
 */
#ifndef UW_STATUS_H
#define UW_STATUS_H

#include "upperwatch.h"

struct watcher;

/* Written by the running watcher (watcher.h); `final` when it stops. */
void status_write(struct watcher *w, int final);
/* uw_status_read and uw_status_free (upperwatch.h). */
struct uw_status *status_read(const char *db_path, struct uw_error *err);
void status_free(struct uw_status *status);

#endif /* UW_STATUS_H */
