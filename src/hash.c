/*
 * hash.c - keyed content hashing.
 *
 * The digest is XXH3-128, keyed with a random per-database secret, over a
 * canonical form of the content rather than the raw bytes: the file is cut
 * into 4 KiB blocks at fixed offsets; each block that is not all zero
 * contributes its index (8 bytes, little endian) and its bytes; the file
 * size (8 bytes) ends the stream.  The form is injective (so a collision
 * of files is a collision of XXH3), does not depend on where the file has
 * holes, and lets us skip holes with SEEK_DATA/SEEK_HOLE instead of
 * hashing a terabyte of zeros that a sparse file claims to hold.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define XXH_STATIC_LINKING_ONLY	/* XXH3_state_t on the stack */
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
/* libxxhash's runtime dispatch picks the widest vector unit (AVX2 or
 * AVX-512), over twice as fast as the SSE2 baseline of the plain calls. */
#include <xxh_x86dispatch.h>
#define hash_update XXH3_128bits_update_dispatch
#else
#define hash_update XXH3_128bits_update
#endif

#include "hash.h"

#define BLOCK 4096

static const unsigned char zero_block[BLOCK];

static void
put_le64(unsigned char *out, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (unsigned char)(v >> (8 * i));
}

/* Feed `len` bytes of data read at file offset `pos` (block-aligned)
 * into the state, in the canonical form. */
static void
feed_blocks(XXH3_state_t *state, const unsigned char *data, size_t len,
    uint64_t pos)
{
	unsigned char index_le[8];
	size_t off, blen;

	for (off = 0; off < len; off += BLOCK) {
		blen = len - off < BLOCK ? len - off : BLOCK;
		if (memcmp(data + off, zero_block, blen) == 0)
			continue;
		put_le64(index_le, (pos + off) / BLOCK);
		hash_update(state, index_le, sizeof(index_le));
		hash_update(state, data + off, blen);
	}
}

/*
 * Reading through a mapping saves the copy into a buffer, the largest
 * cost of hashing a big file from the page cache (about 15% of the CPU
 * time measured on a 1.2 GB tree).  A file truncated under the mapping
 * raises SIGBUS: a handler, installed once and only active for the
 * thread reading a mapping, turns that into a jump back, and the file is
 * read again with pread.  Any other SIGBUS goes to the handler that was
 * there before.
 */
static _Thread_local sigjmp_buf *bus_env;
static struct sigaction bus_old;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
static int bus_ready;

static void
on_bus(int sig, siginfo_t *info, void *context)
{
	(void)info;
	(void)context;
	if (bus_env != NULL)
		siglongjmp(*bus_env, 1);
	/* Not ours: put the old disposition back; the faulting access
	 * runs again and meets it. */
	sigaction(sig, &bus_old, NULL);
}

static void
bus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	bus_ready = sigaction(SIGBUS, &sa, &bus_old) == 0;
}

/*
 * Each thread maps files into its own arena of HASH_MAP_WINDOW bytes of
 * address space, one after the other, and unmaps them all at once when
 * the arena is full.  Unmapping a file's pages makes the kernel flush
 * them from the TLB of every CPU running one of our threads, an
 * interrupt to each (costly in a VM); one flush per arena instead of one
 * per file makes mapping pay off for files of a few hundred KiB too.
 */
static _Thread_local unsigned char *arena;
static _Thread_local size_t arena_used;

static size_t
page_round(size_t len)
{
	static size_t page;

	if (page == 0)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return (len + page - 1) / page * page;
}

/* Empty the arena: one unmap of everything mapped in it. */
static int
arena_reset(void)
{
	void *p;

	p = mmap(arena, HASH_MAP_WINDOW, PROT_NONE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_NORESERVE | (arena ? MAP_FIXED : 0), -1, 0);
	if (p == MAP_FAILED) {
		/* A failed MAP_FIXED may have unmapped part of the range
		 * (older kernels): someone else's mapping may land there,
		 * so never map over it again; what is left is lost. */
		arena = NULL;
		arena_used = 0;
		return -errno;
	}
	arena = p;
	arena_used = 0;
	return 0;
}

/* Map [pos, pos + len) of fd into the arena. */
static void *
arena_map(int fd, uint64_t pos, size_t len)
{
	void *p;

	if (arena == NULL || arena_used + page_round(len) > HASH_MAP_WINDOW) {
		if (arena_reset() < 0)
			return MAP_FAILED;
	}
	p = mmap(arena + arena_used, len, PROT_READ, MAP_PRIVATE | MAP_FIXED |
	    MAP_POPULATE, fd, (off_t)pos);
	if (p == MAP_FAILED) {
		/* The failed range may be a hole now (see arena_reset):
		 * give the arena up, unmapping only what is surely ours. */
		int saved = errno;
		size_t end = arena_used + page_round(len);

		if (arena_used > 0)
			munmap(arena, arena_used);
		if (end < HASH_MAP_WINDOW)
			munmap(arena + end, HASH_MAP_WINDOW - end);
		arena = NULL;
		arena_used = 0;
		errno = saved;
		return MAP_FAILED;
	}
	arena_used += page_round(len);
	return p;
}

void
hash_thread_done(void)
{
	if (arena != NULL)
		munmap(arena, HASH_MAP_WINDOW);
	arena = NULL;
	arena_used = 0;
}

/* Hash [0, size) through mappings of HASH_MAP_WINDOW bytes.  Returns 0,
 * 1 when the file shrank under the mapping (read it again), or -errno. */
static int
hash_mapped(XXH3_state_t *state, int fd, uint64_t size,
    uint64_t *bytes_read)
{
	sigjmp_buf env;
	volatile uint64_t pos = 0;
	void *map;
	size_t len;

	pthread_once(&bus_once, bus_install);
	if (!bus_ready)
		return -ENOTSUP;
	if (sigsetjmp(env, 1) != 0) {
		bus_env = NULL;
		arena_reset();	/* drop what faulted */
		return 1;
	}
	while (pos < size) {
		len = size - pos > HASH_MAP_WINDOW ? HASH_MAP_WINDOW :
		    (size_t)(size - pos);
		map = arena_map(fd, pos, len);
		if (map == MAP_FAILED)
			return -errno;
		bus_env = &env;
		feed_blocks(state, map, len, pos);
		bus_env = NULL;
		*bytes_read += len;
		pos += len;
	}
	return 0;
}

/* Feed [start, end) of the file (block-aligned start) into the state. */
static int
hash_range(XXH3_state_t *state, int fd, unsigned char *buf, uint64_t start,
    uint64_t end, uint64_t *bytes_read, unsigned *reads)
{
	uint64_t pos = start;
	size_t want;
	ssize_t got;

	while (pos < end) {
		want = end - pos > HASH_BUF_LEN ? HASH_BUF_LEN :
		    (size_t)(end - pos);
		got = pread(fd, buf, want, (off_t)pos);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return 0;	/* shrank under us: fstat will tell */
		*bytes_read += (uint64_t)got;
		(*reads)++;
		feed_blocks(state, buf, (size_t)got, pos);
		/* A short read not on a block boundary would shift the
		 * block grid: only whole reads advance by `got`. */
		pos += (uint64_t)got;
		if ((uint64_t)got < want && pos % BLOCK != 0)
			return 0;
	}
	return 0;
}

static int
hash_once(XXH3_state_t *state, int fd, const unsigned char *secret,
    unsigned char *buf, uint64_t size, int sparse, int map,
    struct hash_result *result)
{
	unsigned char size_le[8];
	uint64_t pos = 0, data, hole;
	off_t o;
	XXH128_hash_t h;
	int rc;

	if (XXH3_128bits_reset_withSecret(state, secret,
	    HASH_SECRET_LEN) != XXH_OK)
		return -EINVAL;
	result->bytes_read = 0;
	result->reads = 0;
	if (!sparse && map && size >= HASH_MAP_MIN) {
		rc = hash_mapped(state, fd, size, &result->bytes_read);
		if (rc == 0) {
			result->reads = 2;	/* check it held still */
			pos = size;
		} else if (rc > 0) {
			result->reads = 2;
			return 1;	/* truncated under us: again */
		} else {
			/* no mapping: read it */
			XXH3_128bits_reset_withSecret(state, secret,
			    HASH_SECRET_LEN);
			result->bytes_read = 0;
		}
	}
	if (!sparse && pos < size) {
		/* The common case: no holes to skip, so no lseek calls. */
		rc = hash_range(state, fd, buf, 0, size, &result->bytes_read,
		    &result->reads);
		if (rc < 0)
			return rc;
		pos = size;
	}
	while (pos < size) {
		o = lseek(fd, (off_t)pos, SEEK_DATA);
		if (o < 0) {
			if (errno == ENXIO)
				break;	/* only a hole is left */
			if (errno != EINVAL && errno != EOPNOTSUPP)
				return -errno;
			data = pos;	/* no hole support: read it all */
			hole = size;
		} else {
			data = (uint64_t)o;
			o = lseek(fd, o, SEEK_HOLE);
			hole = o < 0 ? size : (uint64_t)o;
		}
		data -= data % BLOCK;
		if (hole % BLOCK != 0)
			hole += BLOCK - hole % BLOCK;
		if (hole > size)
			hole = size;
		if (data < pos)
			data = pos;
		if (hole <= data)
			break;
		rc = hash_range(state, fd, buf, data, hole,
		    &result->bytes_read, &result->reads);
		if (rc < 0)
			return rc;
		pos = hole;
	}
	put_le64(size_le, size);
	hash_update(state, size_le, sizeof(size_le));
	h = XXH3_128bits_digest(state);
	XXH128_canonicalFromHash((XXH128_canonical_t *)result->digest, h);
	return 0;
}

/* ---- streams ---- */

int
hash_stream_begin(struct hash_stream *h, const unsigned char *secret,
    uint64_t size)
{
	h->size = size;
	h->block = 0;
	h->dirty = 0;
	h->end = 0;
	h->bytes = 0;
	memset(h->pending, 0, sizeof(h->pending));
	return XXH3_128bits_reset_withSecret(&h->state, secret,
	    HASH_SECRET_LEN) == XXH_OK ? 0 : -EINVAL;
}

/* Feed the pending block as hash_fd would: whole, or up to the end of
 * the file when it is the last one. */
static void
stream_flush(struct hash_stream *h)
{
	uint64_t at = h->block * BLOCK;
	size_t len = h->size - at < BLOCK ? (size_t)(h->size - at) : BLOCK;

	if (h->dirty) {
		feed_blocks(&h->state, h->pending, len, at);
		memset(h->pending, 0, sizeof(h->pending));
	}
	h->dirty = 0;
}

int
hash_stream_write(struct hash_stream *h, uint64_t off, const void *data,
    size_t len)
{
	const unsigned char *p = data;
	size_t at, n;

	if (off < h->end || len > h->size || off > h->size - len)
		return -EINVAL;
	while (len > 0) {
		if (off / BLOCK != h->block) {
			stream_flush(h);
			h->block = off / BLOCK;
		}
		at = (size_t)(off % BLOCK);
		n = BLOCK - at < len ? BLOCK - at : len;
		memcpy(h->pending + at, p, n);
		h->dirty = 1;
		off += n;
		p += n;
		len -= n;
		h->bytes += n;
	}
	h->end = off;
	return 0;
}

void
hash_stream_end(struct hash_stream *h, unsigned char digest[UW_HASH_LEN])
{
	unsigned char size_le[8];
	XXH128_hash_t v;

	stream_flush(h);
	put_le64(size_le, h->size);
	hash_update(&h->state, size_le, sizeof(size_le));
	v = XXH3_128bits_digest(&h->state);
	XXH128_canonicalFromHash((XXH128_canonical_t *)digest, v);
}

static int
same_state(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int
hash_fd(int fd, const unsigned char *secret, unsigned char *buf,
    const struct stat *known, int map, struct hash_result *result)
{
	XXH3_state_t state;
	struct stat before, after;
	int attempt, rc, sparse;

	result->unstable = 0;
	for (attempt = 0; attempt < HASH_RETRIES; attempt++) {
		if (attempt == 0 && known != NULL)
			before = *known;
		else if (fstat(fd, &before) < 0)
			return -errno;
		if (!S_ISREG(before.st_mode))
			return -EINVAL;
		/* Fewer allocated blocks than the size needs: holes. */
		sparse = (uint64_t)before.st_blocks * 512 <
		    (uint64_t)before.st_size;
		rc = hash_once(&state, fd, secret, buf,
		    (uint64_t)before.st_size, sparse, map, result);
		if (rc < 0)
			return rc;
		if (rc > 0)
			continue;	/* shrank under a mapping */
		/* A file read whole by one pread() is one snapshot of the
		 * page cache, of exactly the size we stat'ed: there was no
		 * "while" for it to change in.  Only longer reads are
		 * checked again. */
		if (result->reads <= 1 &&
		    result->bytes_read == (uint64_t)before.st_size) {
			result->st = before;
			return 0;
		}
		if (fstat(fd, &after) < 0)
			return -errno;
		result->st = after;
		if (same_state(&before, &after))
			return 0;
	}
	result->unstable = 1;
	return 0;
}

int
hash_new_secret(unsigned char *secret)
{
	size_t got = 0;
	ssize_t n;

	while (got < HASH_SECRET_LEN) {
		n = getrandom(secret + got, HASH_SECRET_LEN - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

int
hash_digest_fd(int fd, enum hash_algo algo, uint64_t max,
    unsigned char out[HASH_DIGEST_MAX], size_t *len)
{
	unsigned char block[65536];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	struct stat st;
	ssize_t n;
	off_t at = 0;
	int ok, rc = 0;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, algo == HASH_MD5 ? EVP_md5() :
	    algo == HASH_SHA1 ? EVP_sha1() : EVP_sha256(), NULL);
	while (ok && at < st.st_size) {
		n = pread(fd, block, sizeof(block), at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;	/* shrank: torn */
			break;
		}
		ok = EVP_DigestUpdate(ctx, block, (size_t)n);
		at += n;
	}
	if (rc == 0 && !(ok && EVP_DigestFinal_ex(ctx, out, &mdlen)))
		rc = -EIO;
	EVP_MD_CTX_free(ctx);
	*len = mdlen;
	return rc;
}
