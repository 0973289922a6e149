/*
 * bolt.c - a reader of bbolt files (bolt.h), enough to look a value up.
 *
 * The format (etcd-io/bbolt): the file is pages of one size.  Pages 0
 * and 1 are metas (magic, version 2, page size, the root bucket's page,
 * the high water page, the transaction id, an FNV-1a checksum); the
 * newer valid one is current.  A page starts with a 16-byte header (id,
 * flags, count, overflow pages); a branch page holds {pos, ksize, pgid}
 * elements, a leaf page {flags, pos, ksize, vsize}, the key and value
 * found `pos` bytes after the element itself.  A leaf element flagged
 * as a bucket holds {root pgid, sequence}, and with root 0 the bucket's
 * own leaf page follows inline.  Integers are little-endian.
 *
 * The writer holds the file's lock and rewrites freed pages while we
 * read, so every offset and count is checked against what was read, the
 * descent is bounded, and a damaged lookup is just "not found".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bolt.h"

#define BOLT_MAGIC 0xED0CDAEDu
#define BOLT_VERSION 2
#define HDR 16			/* page header */
#define ELEM 16			/* branch and leaf elements alike */
#define F_BRANCH 0x01
#define F_LEAF 0x02
#define F_BUCKET 0x01		/* leaf element flag */
#define BUCKET_HDR 16		/* a bucket value: {root, sequence} */

/* A page in memory: read from the file, or a bucket's inline page. */
struct page {
	unsigned char *p;
	uint64_t len;
};

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int
read_at(int fd, void *buf, size_t len, uint64_t at)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done,
		    (off_t)(at + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EINVAL;
		done += (size_t)n;
	}
	return 0;
}

/* Meta page `which` if it is valid for page size `ps`: its txid, root
 * and high water; else -1. */
static int
meta_read(struct bolt *b, uint32_t ps, int which, uint64_t *txid)
{
	unsigned char m[HDR + 64];
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	if ((uint64_t)ps * (unsigned)which + sizeof(m) > b->size ||
	    read_at(b->fd, m, sizeof(m), (uint64_t)ps * (unsigned)which) < 0)
		return -1;
	/* FNV-1a 64 of the meta's fields before the checksum. */
	for (i = HDR; i < HDR + 56; i++) {
		h ^= m[i];
		h *= 0x100000001b3ull;
	}
	if (le32(m + HDR) != BOLT_MAGIC || le32(m + HDR + 4) != BOLT_VERSION ||
	    le32(m + HDR + 8) != ps || le64(m + HDR + 56) != h)
		return -1;
	if (*txid != UINT64_MAX && le64(m + HDR + 48) <= *txid)
		return 0;	/* older than the other one */
	*txid = le64(m + HDR + 48);
	b->root = le64(m + HDR + 16);
	b->high = le64(m + HDR + 40);
	b->page_size = ps;
	return 0;
}

int
bolt_open(struct bolt *b, const char *path)
{
	static const uint32_t sizes[] = { 4096, 8192, 16384, 32768, 65536 };
	unsigned char m[HDR + 16];
	struct stat st;
	uint64_t txid = UINT64_MAX;
	uint32_t ps;
	size_t i;
	int found = 0;

	memset(b, 0, sizeof(*b));
	b->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (b->fd < 0)
		return -errno;
	if (fstat(b->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		bolt_close(b);
		return -EINVAL;
	}
	b->size = (uint64_t)st.st_size;
	/* Page 0's own page size first, then the usual ones. */
	if (read_at(b->fd, m, sizeof(m), 0) == 0) {
		ps = le32(m + HDR + 8);
		if (ps >= 512 && ps <= 65536 && (ps & (ps - 1)) == 0) {
			found |= meta_read(b, ps, 0, &txid) == 0;
			found |= meta_read(b, ps, 1, &txid) == 0;
		}
	}
	for (i = 0; !found && i < sizeof(sizes) / sizeof(sizes[0]); i++)
		found = meta_read(b, sizes[i], 1, &txid) == 0;
	if (!found || b->root < 2 || b->root >= b->high) {
		bolt_close(b);
		return -EINVAL;
	}
	return 0;
}

void
bolt_close(struct bolt *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

/* Read page `id` with its overflow pages into pg (malloc'd). */
static int
page_load(struct bolt *b, uint64_t id, struct page *pg)
{
	unsigned char h[HDR];
	uint64_t at, len;

	pg->p = NULL;
	if (id < 2 || id >= b->high || id > UINT64_MAX / b->page_size)
		return -EINVAL;
	at = id * b->page_size;
	if (at + HDR > b->size || read_at(b->fd, h, HDR, at) < 0 ||
	    le64(h) != id)
		return -EINVAL;
	len = ((uint64_t)le32(h + 12) + 1) * b->page_size;
	if (len > BOLT_MAX_PAGE || id + le32(h + 12) >= b->high ||
	    at + len > b->size)
		return -EINVAL;
	pg->p = malloc(len);
	if (pg->p == NULL)
		return -ENOMEM;
	pg->len = len;
	if (read_at(b->fd, pg->p, len, at) < 0 || le64(pg->p) != id) {
		free(pg->p);
		pg->p = NULL;
		return -EINVAL;
	}
	return 0;
}

/* memcmp order, a prefix first. */
static int
key_cmp(const unsigned char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c != 0 ? c : alen < blen ? -1 : alen > blen;
}

/*
 * In page pg, the element whose key is `key`: for a leaf, the exact one
 * (*flags, *val, *vlen set); for a branch, the child to descend into
 * (*child).  1 found, 0 not, -EINVAL damaged.
 */
static int
page_find(const struct page *pg, const char *key, size_t klen,
    uint32_t *flags, const unsigned char **val, uint64_t *vlen,
    uint64_t *child)
{
	uint16_t pflags = le16(pg->p + 8), count = le16(pg->p + 10);
	const unsigned char *e;
	uint64_t off, ksize, vsize;
	size_t i;
	int c;

	if (pg->len < HDR || (uint64_t)HDR + (uint64_t)count * ELEM > pg->len)
		return -EINVAL;
	*child = 0;
	for (i = 0; i < count; i++) {
		e = pg->p + HDR + i * ELEM;
		off = (uint64_t)(HDR + i * ELEM) +
		    le32(e + ((pflags & F_BRANCH) ? 0 : 4));
		ksize = le32(e + ((pflags & F_BRANCH) ? 4 : 8));
		vsize = (pflags & F_BRANCH) ? 0 : le32(e + 12);
		if (off + ksize + vsize > pg->len)
			return -EINVAL;
		c = key_cmp(pg->p + off, (size_t)ksize, key, klen);
		if (pflags & F_BRANCH) {
			if (c > 0)
				break;
			*child = le64(e + 8);	/* the last key <= ours */
			continue;
		}
		if (!(pflags & F_LEAF))
			return -EINVAL;
		if (c == 0) {
			*flags = le32(e);
			*val = pg->p + off + ksize;
			*vlen = vsize;
			return 1;
		}
		if (c > 0)
			return 0;
	}
	if (pflags & F_BRANCH)
		return *child != 0 ? 1 : 0;
	return (pflags & F_LEAF) ? 0 : -EINVAL;
}

/*
 * Find `key` in the bucket whose root is page `root`, or whose leaf page
 * is `inline_pg` when root is 0.  On success *out holds a copy of the
 * element's value (malloc'd) and *flags its flags.
 */
static int
bucket_find(struct bolt *b, uint64_t root, const struct page *inline_pg,
    const char *key, int *depth, uint32_t *flags, struct page *out)
{
	struct page pg = { NULL, 0 };
	const unsigned char *val = NULL;
	uint64_t vlen = 0, child = 0, id = root;
	int rc;

	for (;;) {
		if (++*depth > BOLT_MAX_DEPTH)
			return -EINVAL;
		if (id == 0 && inline_pg != NULL)
			pg = *inline_pg;
		else if ((rc = page_load(b, id, &pg)) < 0)
			return rc;
		rc = page_find(&pg, key, strlen(key), flags, &val, &vlen,
		    &child);
		if (rc == 1 && child == 0) {
			out->p = malloc(vlen + 1);
			if (out->p == NULL)
				rc = -ENOMEM;
			else {
				memcpy(out->p, val, vlen);
				out->p[vlen] = '\0';
				out->len = vlen;
			}
		}
		if (pg.p != (inline_pg ? inline_pg->p : NULL))
			free(pg.p);
		if (rc != 1)
			return rc == 0 ? -ENOENT : rc;
		if (child == 0)
			return 0;
		id = child;	/* a branch: down to its child page */
		inline_pg = NULL;
	}
}

/*
 * The bucket at keys[0..n-1] (n 0: the root bucket): *root its root page,
 * or 0 and *inl its inline page, inside inl_owner (malloc'd, to free).
 */
static int
bucket_at(struct bolt *b, const char *const *keys, size_t n, int *depth,
    uint64_t *root, struct page *inl, struct page *inl_owner)
{
	struct page val = { NULL, 0 };
	uint32_t flags = 0;
	size_t i;
	int rc;

	*root = b->root;
	inl_owner->p = NULL;
	for (i = 0; i < n; i++) {
		rc = bucket_find(b, *root, inl_owner->p ? inl : NULL, keys[i],
		    depth, &flags, &val);
		free(inl_owner->p);
		inl_owner->p = NULL;
		if (rc < 0)
			return rc;
		/* A bucket: {root, sequence}, then its page when inline. */
		if (!(flags & F_BUCKET) || val.len < BUCKET_HDR ||
		    (le64(val.p) == 0 && val.len < BUCKET_HDR + HDR)) {
			free(val.p);
			return (flags & F_BUCKET) ? -EINVAL : -ENOENT;
		}
		*root = le64(val.p);
		if (*root == 0) {
			*inl_owner = val;
			inl->p = val.p + BUCKET_HDR;
			inl->len = val.len - BUCKET_HDR;
		} else {
			free(val.p);
		}
		val.p = NULL;
	}
	return 0;
}

int
bolt_get(struct bolt *b, const char *const *keys, size_t n, char *out,
    size_t size, size_t *len)
{
	struct page owner, inl = { NULL, 0 }, val = { NULL, 0 };
	uint64_t root;
	uint32_t flags = 0;
	int depth = 0, rc;

	if (n == 0)
		return -ENOENT;
	rc = bucket_at(b, keys, n - 1, &depth, &root, &inl, &owner);
	if (rc == 0)
		rc = bucket_find(b, root, owner.p ? &inl : NULL, keys[n - 1],
		    &depth, &flags, &val);
	free(owner.p);
	if (rc < 0)
		return rc;
	if (flags & F_BUCKET)
		rc = -ENOENT;
	else if (val.len >= size)
		rc = -ENAMETOOLONG;
	else {
		memcpy(out, val.p, val.len + 1);
		*len = (size_t)val.len;
	}
	free(val.p);
	return rc;
}

/* Every key of the leaves under page pg, in order. */
static int
walk_keys(struct bolt *b, const struct page *pg, int depth, size_t *left,
    int (*cb)(const char *key, size_t len, int bucket, void *arg), void *arg)
{
	uint16_t pflags = le16(pg->p + 8), count = le16(pg->p + 10);
	struct page child;
	const unsigned char *e;
	uint64_t off, ksize, vsize;
	char key[BOLT_MAX_KEY + 1];
	size_t i;
	int rc;

	if (depth > BOLT_MAX_DEPTH || pg->len < HDR ||
	    (uint64_t)HDR + (uint64_t)count * ELEM > pg->len ||
	    !(pflags & (F_BRANCH | F_LEAF)))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		if (*left == 0)
			return -E2BIG;
		--*left;
		e = pg->p + HDR + i * ELEM;
		if (pflags & F_BRANCH) {
			if ((rc = page_load(b, le64(e + 8), &child)) < 0)
				return rc;
			rc = walk_keys(b, &child, depth + 1, left, cb, arg);
			free(child.p);
			if (rc != 0)
				return rc;
			continue;
		}
		off = (uint64_t)(HDR + i * ELEM) + le32(e + 4);
		ksize = le32(e + 8);
		vsize = le32(e + 12);
		if (off + ksize + vsize > pg->len)
			return -EINVAL;
		if (ksize > BOLT_MAX_KEY)
			continue;
		memcpy(key, pg->p + off, ksize);
		key[ksize] = '\0';
		if ((rc = cb(key, (size_t)ksize, le32(e) & F_BUCKET, arg)) != 0)
			return rc;
	}
	return 0;
}

int
bolt_foreach(struct bolt *b, const char *const *keys, size_t n,
    int (*cb)(const char *key, size_t len, int bucket, void *arg), void *arg)
{
	struct page owner, inl = { NULL, 0 }, pg;
	uint64_t root;
	size_t left = BOLT_MAX_KEYS;
	int depth = 0, rc;

	rc = bucket_at(b, keys, n, &depth, &root, &inl, &owner);
	if (rc == 0 && root == 0) {
		rc = walk_keys(b, &inl, depth, &left, cb, arg);
	} else if (rc == 0 && (rc = page_load(b, root, &pg)) == 0) {
		rc = walk_keys(b, &pg, depth, &left, cb, arg);
		free(pg.p);
	}
	free(owner.p);
	return rc;
}
