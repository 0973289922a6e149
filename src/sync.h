/*
 * sync.h - containers coming and going for the runtime watcher (see
 * watcher.h).
 */
#ifndef UW_SYNC_H
#define UW_SYNC_H

#include "watcher.h"

int sync_containers(struct watcher *w) UW_WARN_UNUSED;
int sync_start(struct watcher *w, const struct uw_container *info)
    UW_WARN_UNUSED;
int sync_refresh(struct watcher *w, struct wctr *c);
void sync_ctr_free(struct wctr *c);

#endif /* UW_SYNC_H */
