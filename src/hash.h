/*
 * hash.h - keyed XXH3-128 of a file's content, read from an open fd.
 */
#ifndef UW_HASH_H
#define UW_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define XXH_STATIC_LINKING_ONLY	/* XXH3_state_t */
#include <xxhash.h>

#include "upperwatch.h"

/* Size of the per-database secret (XXH3's default secret size). */
#define HASH_SECRET_LEN 192
/* Read buffer each hashing thread should own. */
#define HASH_BUF_LEN 262144
/* Files at least this big may be read through mmap: into each thread's
 * arena of HASH_MAP_WINDOW bytes, unmapped whole when full (a bigger
 * file in windows of that size), so the mapped pages stay bounded. */
#define HASH_MAP_MIN (1u << 20)
#define HASH_MAP_WINDOW (8u << 20)
/* How often a file that changes while hashed is read again. */
#define HASH_RETRIES 3

struct hash_result {
	unsigned char digest[UW_HASH_LEN];
	uint64_t bytes_read;	/* data bytes actually read */
	unsigned reads;		/* pread calls it took */
	struct stat st;		/* the file's state the digest belongs to */
	int unstable;		/* it changed on every try */
};

/*
 * Hash the regular file open at `fd` with the keyed XXH3-128 of its
 * canonical form (see hash.c): equal content gives an equal digest however
 * the file is laid out on disk, holes cost nothing to skip, so a sparse
 * file of any apparent size hashes in time proportional to its data.
 * `buf` is the caller's scratch buffer of HASH_BUF_LEN bytes; `known`,
 * when not NULL, is an fstat of `fd` just taken (it saves a syscall).
 * With `map`, a dense file of HASH_MAP_MIN bytes or more is read through
 * mmap windows (see hash.c for how a truncation is survived).  If the file
 * changes while it is read, it is read again, up to HASH_RETRIES times,
 * then reported unstable with the last digest.  Returns 0 or -errno.
 */
int hash_fd(int fd, const unsigned char *secret, unsigned char *buf,
    const struct stat *known, int map, struct hash_result *result)
    UW_WARN_UNUSED;

/*
 * The same digest of a file of `size` bytes whose content comes as a
 * stream (a tar member): data at increasing offsets, with holes (a sparse
 * member's) between them or not; what no write covers is zeros.
 * hash_stream_write takes `len` bytes at offset `off`, never below the
 * end of what it was given before nor past `size` (-EINVAL);
 * hash_stream_end gives the digest.
 */
struct hash_stream {
	XXH3_state_t state;
	uint64_t size;
	uint64_t block;		/* index of the block in `pending` */
	int dirty;		/* `pending` holds data */
	uint64_t end;		/* offset after the last byte given */
	uint64_t bytes;		/* data bytes given */
	unsigned char pending[4096];
};

int hash_stream_begin(struct hash_stream *h, const unsigned char *secret,
    uint64_t size) UW_WARN_UNUSED;
int hash_stream_write(struct hash_stream *h, uint64_t off, const void *data,
    size_t len) UW_WARN_UNUSED;
void hash_stream_end(struct hash_stream *h, unsigned char digest[UW_HASH_LEN]);

/* Unmap what this thread's hash_fd calls left mapped (each hashing
 * thread calls it before it ends). */
void hash_thread_done(void);

/*
 * A standard digest of the regular file open as `fd`, for what people
 * look up or what manifests list (not the change detector: that is
 * hash_fd): its first up-to-fstat-size bytes, read with pread, so a file
 * that grows while read is not read without end.  *len gets the digest's
 * size (16, 20, 32).  0; -EFBIG when the file is bigger than `max`
 * (nothing is read); -errno.
 */
enum hash_algo { HASH_MD5, HASH_SHA1, HASH_SHA256 };
#define HASH_DIGEST_MAX 32
int hash_digest_fd(int fd, enum hash_algo algo, uint64_t max,
    unsigned char out[HASH_DIGEST_MAX], size_t *len) UW_WARN_UNUSED;

/* Fill `secret` with HASH_SECRET_LEN bytes from the kernel's CSPRNG. */
int hash_new_secret(unsigned char *secret) UW_WARN_UNUSED;

#endif /* UW_HASH_H */
