/*
 * bolt.h - read one value out of a bbolt database file (containerd's
 * metadata), by its path of bucket names, without a lock and without
 * trusting the file.
 */
#ifndef UW_BOLT_H
#define UW_BOLT_H

#include <stddef.h>
#include <stdint.h>

#include "upperwatch.h"

/* Most bytes of one page read (a page and its overflow), and most
 * nested levels followed, buckets and branch pages together. */
#define BOLT_MAX_PAGE (16u << 20)
#define BOLT_MAX_DEPTH 64
/* Keys longer than this are passed over by bolt_foreach, and it stops
 * (-E2BIG) after this many elements. */
#define BOLT_MAX_KEY 4096
#define BOLT_MAX_KEYS 100000

struct bolt {
	int fd;
	uint64_t size;		/* of the file when opened */
	uint32_t page_size;
	uint64_t root;		/* the root bucket's page */
	uint64_t high;		/* pages in use (the meta's high water) */
};

/*
 * Open `path` (no symlink followed at its last component, regular files
 * only) and pick the newer of its two meta pages whose checksum holds.
 * 0, or -errno (-EINVAL: not a bbolt file, or both metas damaged).
 */
int bolt_open(struct bolt *b, const char *path) UW_WARN_UNUSED;
void bolt_close(struct bolt *b);

/*
 * The value at `keys[0]/.../keys[n-1]`: each but the last names a bucket
 * inside the one before, the last a plain value.  The value is copied
 * into `out` with a NUL after it; *len gets its length.  0; -ENOENT when
 * a key is missing (or names a bucket where a value is asked, or the
 * other way round); -ENAMETOOLONG when the value does not fit; -EINVAL
 * when the file is damaged, or was rewritten under us.
 */
int bolt_get(struct bolt *b, const char *const *keys, size_t n, char *out,
    size_t size, size_t *len) UW_WARN_UNUSED;

/*
 * Call cb with each key of the bucket at keys[0..n-1] (n 0: the root
 * bucket), in order, NUL-terminated (a key holding a NUL is cut there:
 * `len` is its whole length), `bucket` set for a nested bucket.  cb's
 * non-zero return stops the walk and is returned.  0; -ENOENT; -EINVAL
 * when damaged; -E2BIG past BOLT_MAX_KEYS elements.
 */
int bolt_foreach(struct bolt *b, const char *const *keys, size_t n,
    int (*cb)(const char *key, size_t len, int bucket, void *arg),
    void *arg) UW_WARN_UNUSED;

#endif /* UW_BOLT_H */
