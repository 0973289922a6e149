/*
 * discover.h - the containers on this host: overlay mounts from the mount
 * table joined with each runtime's own metadata files.
 */
#ifndef UW_DISCOVER_H
#define UW_DISCOVER_H

#include "mountinfo.h"
#include "upperwatch.h"

/* See uw_containers_foreach in upperwatch.h. */
int discover_foreach(const struct uw_discover_opts *opts,
    int (*cb)(const struct uw_container *c, void *arg), void *arg,
    size_t *malformed, struct uw_error *err) UW_WARN_UNUSED;

/* The baseline key of a layer stack: "stack:" and 16 hex digits of a
 * hash of the layers' real paths, top first.  `out` holds 24 bytes. */
void discover_image_key(const char *const *lower, size_t count, char *out);

/* The UW_OVERLAY_* flags of an overlay mount as the kernel applies its
 * options (module defaults for what the options leave out). */
unsigned discover_overlay_flags(const struct mountinfo_entry *m);

/* uw_overlay_flags_for_upper: the flags of the mount using `upper`. */
int discover_overlay_flags_for_upper(const char *upper, unsigned *flags,
    struct uw_error *err) UW_WARN_UNUSED;

/* How `want` names `c` (uw_container_match). */
enum uw_container_match discover_match(const struct uw_container *c,
    const char *want);

/* The container `want` names on this host, copied (uw_container_find). */
struct uw_container *discover_find(const char *want, struct uw_error *err);

/* A deep copy (uw_container_copy), and its free (uw_container_free). */
struct uw_container *discover_copy(const struct uw_container *src);
void discover_copy_free(struct uw_container *c);

/* Fill a copy's empty cgroup dirs (what the runtime wrote after its
 * mount was first seen); a set one is kept.  0 or -ENOMEM. */
int discover_copy_set_cgroups(struct uw_container *c, const char *v2,
    const char *v1) UW_WARN_UNUSED;

#endif /* UW_DISCOVER_H */
