/*
 * evidence.h - keep a copy of the file a response was about.
 */
#ifndef UW_EVIDENCE_H
#define UW_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "upperwatch.h"

/* The most of one file an evidence copy keeps. */
#define EVIDENCE_MAX (64u << 20)

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
int evidence_keep(int upper_fd, const unsigned char *path,
    size_t path_len, const char *dir, uint64_t event_id,
    const char *meta_json, char *where, size_t where_len,
    struct uw_error *err) UW_WARN_UNUSED;

/* The SHA-256 of an event's file into hex (returned), or NULL: a regular
 * file of the upper dir (upper_fd) of at most EVIDENCE_MAX bytes, not
 * mostly holes, opened as evidence is, never through a symlink.  For the
 * events judged alert or above: what threat intel is searched by. */
const char *evidence_sha256(int upper_fd, const struct uw_event *ev,
    char hex[2 * HASH_DIGEST_MAX + 1]);

#endif /* UW_EVIDENCE_H */
