/*
 * util.h - small helpers shared by every part: error reporting, a capped
 * growing buffer, clocks, and escaping of path bytes for humans.
 */
#ifndef UW_UTIL_H
#define UW_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "upperwatch.h"

#if defined(__GNUC__)
#define UW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define UW_PRINTF(a, b)
#endif

/* Set err->code to `code` (a negative errno) and err->msg from fmt;
 * returns `code` so callers can `return seterr(err, -EIO, "...")`.
 * `err` may be NULL. */
int seterr(struct uw_error *err, int code, const char *fmt, ...)
    UW_PRINTF(3, 4);

/* A growing byte buffer that refuses to grow past `cap`. */
struct buf {
	unsigned char *data;
	size_t len, size, cap;
};

void buf_init(struct buf *buf, size_t cap);
void buf_free(struct buf *buf);
void buf_reset(struct buf *buf);
int buf_add(struct buf *buf, const void *data, size_t len)
    UW_WARN_UNUSED;
int buf_addc(struct buf *buf, unsigned char c) UW_WARN_UNUSED;
int buf_printf(struct buf *buf, const char *fmt, ...) UW_PRINTF(2, 3)
    UW_WARN_UNUSED;

/* Nanoseconds on CLOCK_MONOTONIC / CLOCK_REALTIME. */
int64_t now_mono_ns(void);
int64_t now_real_ns(void);

/* Write `len` bytes to `out` escaped C-style: printable ASCII and valid
 * UTF-8 other than C1 controls as they are; \\, \n, \t, \r and any
 * other byte as \xNN.  A name holding a newline or a terminal escape can
 * therefore never start a new output line or act on a terminal. */
void escape_bytes(FILE *out, const unsigned char *bytes, size_t len);

/* The same escaping into out[size]: as much of it as fits whole (an
 * escape or a UTF-8 sequence is never cut), then a NUL when size > 0.
 * Returns the length written before the NUL; *consumed (unless NULL)
 * gets how many of the `len` input bytes that covers. */
size_t escape_to_buf(char *out, size_t size, const unsigned char *bytes,
    size_t len, size_t *consumed);

/* `len` bytes escaped into out[size] (size >= 4), with "..." at the end
 * when they did not all fit: an attacker's name for one line of text.
 * Returns out. */
const char *escape_cut(char *out, size_t size, const void *bytes,
    size_t len);

/* Length of the valid UTF-8 sequence starting at s (1-4), or 0 if the
 * bytes there are not valid UTF-8 (overlong forms and surrogates are
 * invalid). */
size_t utf8_seq_len(const unsigned char *s, size_t avail);

/*
 * The label caps (UW_LABEL_* in upperwatch.h), one label at a time, the
 * same for discovery and for the policy engine (which applies them again
 * for callers that did not): a value longer than UW_LABEL_VALUE_MAX is
 * cut there, on a UTF-8 boundary; a key that long, and a label past
 * UW_LABEL_COUNT_MAX labels or UW_LABELS_MAX bytes (keys and values) in
 * all, is left out.  Start with a zeroed struct.
 */
struct label_caps {
	size_t kept, bytes;
	int truncated;		/* something was cut or left out */
};

/* Whether the label (a key of `key_len` bytes, `value` NUL-terminated)
 * is kept: 1, with *value_len the bytes of its value kept; else 0. */
int label_fit(struct label_caps *caps, size_t key_len,
    const char *value, size_t *value_len);

/*
 * Call fn(pid, arg) for each pid listed in the open file fd (a cgroup's
 * cgroup.procs or tasks: a decimal number a line), read to its end: the
 * kernel hands such a list out a page per read(), so one read sees only
 * its first few hundred pids.  Stops when fn returns nonzero and returns
 * that; else 0 at the end, or -errno when a read fails.
 */
int pids_each(int fd, int (*fn)(long pid, void *arg), void *arg);

/* How far cgroup_pids_each goes, and how far it went. */
struct cgroup_caps {
	unsigned max_cgroups;	/* cgroups read, the first included */
	int max_depth;		/* levels below the first read */
	unsigned cgroups;	/* read */
	int capped;		/* some were not read: past a cap */
};

/*
 * pids_each over the cgroup dir open at `dirfd` (left open) and every
 * cgroup below it, each before those below it: a container may nest
 * cgroups in its own (systemd in a container does, a service each), so
 * its processes are in all of them.  Reads no more than the caps allow,
 * and says so (caps->capped).  Stops when fn returns nonzero and
 * returns that; else 0 (a cgroup that cannot be read is skipped: gone
 * with its processes), or -errno when dirfd cannot be duplicated.
 */
int cgroup_pids_each(int dirfd, struct cgroup_caps *caps,
    int (*fn)(long pid, void *arg), void *arg);

/* Lower-case hex of `len` bytes into out (2 * len + 1 bytes). */
void hex_encode(char *out, const unsigned char *bytes, size_t len);
/* The bytes of `len` hex digits (either case) into out[max]: how many,
 * or -1 when len is odd, a char is no hex digit or they do not fit. */
int hex_decode(const char *s, size_t len, unsigned char *out, size_t max);

/* The config digest of a container's image as its runtime records it
 * (Docker "sha256:<hex>", Podman "<hex>") as "sha256:<hex>" into out
 * (UW_DIGEST_MAX bytes): 1, or 0 when `id` is none. */
int image_digest(const char *id, char *out);

#endif /* UW_UTIL_H */
