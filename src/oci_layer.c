/*
 * oci_layer.c - one layer blob, streamed into the tree: its bytes through
 * sha256 (the blob digest), the decompressor and sha256 again (the
 * diff_id), then tar; each member is normalized, checked and applied the
 * way a runtime extracts it (whiteouts, opaque markers, hard links), its
 * content hashed as it passes.  A layer that expands past OCI_MAX_RATIO
 * times (after BOMB_ALLOWANCE) is refused.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "hash.h"
#include "oci_int.h"
#include "pkgdb.h"

#define PROGRESS_NS 200000000
#define BOMB_ALLOWANCE (1ull << 30)

/* ---- one layer, streamed ---- */

struct blob {
	struct oci *o;
	int fd;			/* from the layout dir, or */
	struct archive *outer;	/* from the tar, at the member */
	EVP_MD_CTX *compressed, *uncompressed;
	struct archive *raw;	/* the decompressing reader */
	uint64_t in_bytes, out_bytes;
	int bomb;
	unsigned char *inbuf, *outbuf;
};

/* The raw reader's source: the blob's bytes, hashed as they pass. */
static la_ssize_t
blob_read(struct archive *a, void *arg, const void **data)
{
	struct blob *bl = arg;
	ssize_t n;

	(void)a;
	n = bl->fd >= 0 ? read(bl->fd, bl->inbuf, READ_BLOCK) :
	    archive_read_data(bl->outer, bl->inbuf, READ_BLOCK);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", bl->fd >= 0 ? strerror(errno) :
		    archive_error_string(bl->outer));
		return -1;
	}
	EVP_DigestUpdate(bl->compressed, bl->inbuf, (size_t)n);
	bl->in_bytes += (uint64_t)n;
	*data = bl->inbuf;
	return n;
}

/* The tar reader's source: the blob decompressed, hashed as it passes. */
static la_ssize_t
tar_read(struct archive *a, void *arg, const void **data)
{
	struct blob *bl = arg;
	la_ssize_t n;

	n = archive_read_data(bl->raw, bl->outbuf, READ_BLOCK);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(bl->raw));
		return -1;
	}
	EVP_DigestUpdate(bl->uncompressed, bl->outbuf, (size_t)n);
	bl->out_bytes += (uint64_t)n;
	if (bl->out_bytes > BOMB_ALLOWANCE &&
	    bl->out_bytes / OCI_MAX_RATIO > bl->in_bytes) {
		bl->bomb = 1;
		archive_set_error(a, EFBIG, "it expands more than %d times",
		    OCI_MAX_RATIO);
		return -1;
	}
	*data = bl->outbuf;
	return n;
}

void
oci_progress_tick(struct oci *o, int force)
{
	int64_t now;

	if (o->opts->progress == NULL)
		return;
	now = now_mono_ns();
	if (!force && now - o->last_progress_ns < PROGRESS_NS)
		return;
	o->last_progress_ns = now;
	o->progress.entries = o->tree.count;
	o->progress.seconds = (double)(now - o->start_ns) / 1e9;
	o->opts->progress(&o->progress, o->opts->progress_arg);
}

/*
 * A member's name as a path of the image, "/a/b", into o->name: refused
 * when absolute or climbing with "..".  "." (the root) is "/".
 */
static int
norm_path(struct oci *o, const char *name, const char *what)
{
	const char *p = name, *s;
	size_t n;

	if (name[0] == '/')
		return seterr(o->err, -EINVAL, "layer %s: %s '%s' is "
		    "absolute", o->layer_name, what, oci_esc(o, name));
	buf_reset(&o->name);
	while (*p != '\0') {
		while (*p == '/')
			p++;
		s = p;
		while (*p != '\0' && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return seterr(o->err, -EINVAL, "layer %s: %s '%s' "
			    "climbs out of the image", o->layer_name, what,
			    oci_esc(o, name));
		if (buf_addc(&o->name, '/') < 0 || buf_add(&o->name, s, n) < 0)
			return seterr(o->err, -ENAMETOOLONG, "layer %s: %s "
			    "'%s...' is too long", o->layer_name, what,
			    oci_esc(o, name));
	}
	if (o->name.len > OCI_MAX_PATH)
		return seterr(o->err, -ENAMETOOLONG, "layer %s: %s '%s...' is "
		    "longer than %u bytes", o->layer_name, what, oci_esc(o, name),
		    OCI_MAX_PATH);
	if (o->name.len == 0 && buf_addc(&o->name, '/') < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	if (buf_addc(&o->name, '\0') < 0)
		return seterr(o->err, -ENAMETOOLONG, "layer %s: %s too long",
		    o->layer_name, what);
	o->name.len--;
	return 0;
}

/* Node n is this layer's now (its record set by the caller): no link
 * target, no capabilities unless the caller sets them. */
static void
node_take(struct oci *o, struct node *n)
{
	free(n->link);
	n->link = NULL;
	n->link_len = 0;
	if (n->db_data != NULL)
		o->db_bytes -= n->db_len;	/* a later layer's copy replaces it */
	free(n->db_data);
	n->db_data = NULL;
	n->db_len = 0;
	n->db_big = 0;
	n->caps_len = 0;
	n->layer = o->layer;
	n->dead = 0;
}

/* Make sure the dirs above o->name exist (a tar may leave them out):
 * made 0755 root, as an extractor makes them. */
static int
parents(struct oci *o)
{
	struct node *n;
	size_t p;

	/* each '/' ends an ancestor: "" (the root) at 0, then "/a", ... */
	for (p = 0; p < o->name.len; p++) {
		if (o->name.data[p] != '/' || (p == 0 && o->name.len == 1))
			continue;
		n = oci_tree_put(&o->tree, o->name.data, p == 0 ? 1 : p);
		if (n == NULL)
			return seterr(o->err, -ENOMEM, "out of memory");
		if (!n->dead && n->rec.type == UW_TYPE_DIR) {
			/* in this layer too (what an opaque marker or a
			 * whiteout of it in this layer leaves), with the
			 * metadata it had */
			n->layer = o->layer;
			continue;
		}
		/* none yet, or a file where a dir must be: a dir */
		memset(&n->rec, 0, sizeof(n->rec));
		n->rec.type = UW_TYPE_DIR;
		n->rec.mode = 0755;
		node_take(o, n);
	}
	return 0;
}

/* A whiteout in the dir of o->name (its last name starts ".wh."). */
static int
whiteout(struct oci *o, size_t base)
{
	const unsigned char *name = o->name.data + base + 4;
	size_t nlen = o->name.len - base - 4, dlen = base ? base - 1 : 0;
	struct node *n;

	if (nlen == 8 && memcmp(name, ".wh..opq", 8) == 0) {
		/* ".wh..wh..opq": the dir hides what lies below it */
		if (oci_tree_cut_below(&o->cuts, o->name.data, dlen ? dlen : 1,
		    o->layer) < 0)
			return seterr(o->err, -ENOMEM, "out of memory");
		return 0;
	}
	if (nlen == 0)
		return seterr(o->err, -EINVAL, "layer %s: a whiteout with no "
		    "name in %s", o->layer_name, oci_esc(o, o->name.data));
	/* "/dir/.wh.NAME" -> "/dir/NAME" */
	memmove(o->name.data + base, name, nlen);
	o->name.len = base + nlen;
	o->name.data[o->name.len] = '\0';
	/* the name, if a lower layer has it, and what lies below it */
	n = oci_tree_get(&o->tree, o->name.data, o->name.len);
	if (n != NULL && !n->dead && n->layer < o->layer)
		n->dead = 1;
	if (oci_tree_cut_below(&o->cuts, o->name.data, o->name.len,
	    o->layer) < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	return 0;
}

/* A regular file's content into n->rec.hash. */
/* A package database file's content is kept as it is read (a sparse
 * one's holes stay zeros), within OCI_MAX_DB_BYTES in all. */
static void
keep_db_begin(struct oci *o, struct node *n, uint64_t size)
{
	size_t cap = pkgdb_wanted(n->path, n->len);

	if (cap == 0)
		return;
	if (size > cap || o->db_bytes + size > OCI_MAX_DB_BYTES ||
	    (n->db_data = calloc(1, size ? size : 1)) == NULL) {
		n->db_big = 1;
		return;
	}
	n->db_len = size;
	o->db_bytes += size;
}

static int
content(struct oci *o, struct archive *tar, struct node *n, uint64_t size)
{
	struct hash_stream hs;
	const void *data;
	size_t len;
	la_int64_t off;
	int rc;

	if (hash_stream_begin(&hs, o->secret, size) < 0)
		return seterr(o->err, -EINVAL, "cannot hash");
	keep_db_begin(o, n, size);
	for (;;) {
		rc = archive_read_data_block(tar, &data, &len, &off);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc < ARCHIVE_WARN)
			return seterr(o->err, -EIO, "layer %s: %s: %s",
			    o->layer_name, oci_esc(o, n->path),
			    archive_error_string(tar));
		if (len > 0 && (off < 0 || hash_stream_write(&hs,
		    (uint64_t)off, data, len) < 0))
			return seterr(o->err, -EINVAL, "layer %s: %s: its data "
			    "lies past its size or out of order",
			    o->layer_name, oci_esc(o, n->path));
		if (n->db_data != NULL && len > 0)
			memcpy(n->db_data + off, data, len);	/* in size */
	}
	hash_stream_end(&hs, n->rec.hash);
	n->rec.flags |= UW_REC_HASHED;
	n->data = hs.bytes;
	o->progress.files++;
	o->progress.bytes += hs.bytes;
	return 0;
}

/* n is a name of the file `hl` of this layer (a tar hard link). */
static int
hard_link(struct oci *o, struct node *n, const char *hl)
{
	struct node *t;
	int rc;

	buf_reset(&o->name);
	rc = norm_path(o, hl, "hard link to");
	if (rc < 0)
		return rc;
	t = oci_tree_get(&o->tree, o->name.data, o->name.len);
	if (t == NULL || t->dead || t->layer != o->layer ||
	    t->rec.type != UW_TYPE_FILE)
		return seterr(o->err, -EINVAL, "layer %s: %s is a hard link "
		    "to '%s', which is no file of that layer",
		    o->layer_name, oci_esc(o, n->path), oci_esc(o, hl));
	if (t == n)
		return 0;
	if (!n->dead && n->rec.type == UW_TYPE_DIR &&
	    oci_tree_cut_below(&o->cuts, n->path, n->len, o->layer + 1) < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	if (t->rec.link_group == 0) {
		uint64_t id[2] = { o->layer, XXH3_64bits(t->path, t->len) };

		t->rec.link_group = (XXH3_64bits(id, sizeof(id)) >> 1) | 1;
	}
	node_take(o, n);
	n->rec = t->rec;
	n->data = t->data;
	memcpy(n->caps, t->caps, t->caps_len);
	n->caps_len = t->caps_len;
	return 0;
}

/* One member of a layer. */
static int
member(struct oci *o, struct archive *tar, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e), *hl, *xn, *target;
	const void *xv;
	struct node *n;
	size_t base, xs;
	unsigned type = archive_entry_filetype(e);
	int rc;

	if (name == NULL)
		return seterr(o->err, -EINVAL, "layer %s: a member has no "
		    "name", o->layer_name);
	rc = norm_path(o, name, "member");
	if (rc < 0)
		return rc;
	for (base = o->name.len; base > 0 && o->name.data[base - 1] != '/';
	    base--)
		;
	if (o->name.len - base >= 4 &&
	    memcmp(o->name.data + base, ".wh.", 4) == 0) {
		rc = parents(o);
		return rc < 0 ? rc : whiteout(o, base);
	}
	rc = parents(o);
	if (rc < 0)
		return rc;
	n = oci_tree_put(&o->tree, o->name.data, o->name.len);
	if (n == NULL)
		return seterr(o->err, -ENOMEM, "out of memory");
	hl = archive_entry_hardlink(e);
	if (hl != NULL)
		return hard_link(o, n, hl);
	/* a dir replaced by what is not one: nothing below it stays, of
	 * this layer either (o->layer + 1) */
	if (!n->dead && n->rec.type == UW_TYPE_DIR && type != AE_IFDIR &&
	    oci_tree_cut_below(&o->cuts, n->path, n->len, o->layer + 1) < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	if (n->dead || type != AE_IFDIR || n->rec.type != UW_TYPE_DIR)
		memset(&n->rec, 0, sizeof(n->rec));
	node_take(o, n);
	n->rec.type = walk_type_of((mode_t)type);
	n->rec.mode = archive_entry_perm(e) & 07777;
	if (archive_entry_uid(e) < 0 || archive_entry_uid(e) > UINT32_MAX ||
	    archive_entry_gid(e) < 0 || archive_entry_gid(e) > UINT32_MAX)
		return seterr(o->err, -EINVAL, "layer %s: %s has an owner "
		    "out of range", o->layer_name, oci_esc(o, n->path));
	n->rec.uid = (uint32_t)archive_entry_uid(e);
	n->rec.gid = (uint32_t)archive_entry_gid(e);
	/* a time no file system holds: clamped, not overflowed */
	n->rec.mtime_ns = archive_entry_mtime(e) > INT64_MAX / 1000000000 - 1 ?
	    INT64_MAX : archive_entry_mtime(e) < INT64_MIN / 1000000000 + 1 ?
	    INT64_MIN : (int64_t)archive_entry_mtime(e) * 1000000000 +
	    archive_entry_mtime_nsec(e);
	n->rec.link_group = 0;
	n->rec.flags = 0;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK)
		if (strcmp(xn, "security.capability") == 0 && xs > 0 &&
		    xs <= WALK_CAPS_MAX) {
			memcpy(n->caps, xv, xs);
			n->caps_len = xs;
		}
	switch (type) {
	case AE_IFREG:
		n->rec.size = (uint64_t)archive_entry_size(e);
		return content(o, tar, n, n->rec.size);
	case AE_IFLNK:
		target = archive_entry_symlink(e);
		if (target == NULL)
			target = "";
		n->link_len = strlen(target);
		n->link = (unsigned char *)strdup(target);
		if (n->link == NULL)
			return seterr(o->err, -ENOMEM, "out of memory");
		n->rec.size = n->link_len;
		return 0;
	case AE_IFDIR:
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
	case AE_IFSOCK:
		return 0;
	default:
		return seterr(o->err, -EINVAL, "layer %s: %s has an unknown "
		    "type", o->layer_name, oci_esc(o, n->path));
	}
}

static void
blob_close(struct blob *bl)
{
	if (bl->raw != NULL)
		archive_read_free(bl->raw);
	if (bl->outer != NULL)
		archive_read_free(bl->outer);
	if (bl->fd >= 0)
		close(bl->fd);
	EVP_MD_CTX_free(bl->compressed);
	EVP_MD_CTX_free(bl->uncompressed);
	free(bl->inbuf);
	free(bl->outbuf);
}

/* Read the rest of a stream, so that its digest covers it whole. */
static int
drain(struct blob *bl)
{
	const void *data;
	la_ssize_t n;

	while ((n = tar_read(bl->raw, bl, &data)) > 0)
		;
	if (n < 0)
		return -1;
	while ((n = blob_read(bl->raw, bl, &data)) > 0)
		;
	return n < 0 ? -1 : 0;
}

/*
 * The end of a layer read whole: the rest of the stream is read, so that
 * both digests cover it all, and both must match the image's descriptors.
 */
static int
layer_end(struct oci *o, const struct image *im, unsigned i,
    struct blob *bl)
{
	char got[UW_DIGEST_MAX];

	if (drain(bl) < 0)
		return seterr(o->err, bl->bomb ? -EFBIG : -EIO, "layer %s: %s",
		    o->layer_name, archive_error_string(bl->raw));
	oci_sha256_hex(bl->uncompressed, got);
	if (strcmp(got, im->diff_ids[i]) != 0)
		return seterr(o->err, -EBADMSG, "layer %s: its content does "
		    "not match the config's diff_id %s (it is %s)",
		    o->layer_name, im->diff_ids[i], got);
	if (im->layer_digests == NULL)
		return 0;
	oci_sha256_hex(bl->compressed, got);
	if (strcmp(got, im->layer_digests[i]) != 0)
		return seterr(o->err, -EBADMSG, "layer %s: the blob does not "
		    "match its digest (it is %s)", o->layer_name, got);
	return 0;
}

int
oci_apply_layer(struct oci *o, const struct image *im, unsigned i)
{
	struct blob bl;
	struct archive *tar = NULL;
	struct archive_entry *e;
	int rc;

	memset(&bl, 0, sizeof(bl));
	bl.fd = -1;
	bl.o = o;
	o->layer = i;
	o->layer_name = im->layer_digests ? im->layer_digests[i] :
	    im->layers[i];
	bl.compressed = EVP_MD_CTX_new();
	bl.uncompressed = EVP_MD_CTX_new();
	bl.inbuf = malloc(READ_BLOCK);
	bl.outbuf = malloc(READ_BLOCK);
	if (bl.compressed == NULL || bl.uncompressed == NULL ||
	    bl.inbuf == NULL || bl.outbuf == NULL ||
	    !EVP_DigestInit_ex(bl.compressed, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(bl.uncompressed, EVP_sha256(), NULL)) {
		rc = seterr(o->err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = oci_open_member(o, im->layers[i], &bl.fd, &bl.outer);
	if (rc < 0)
		goto out;
	bl.raw = archive_read_new();
	tar = archive_read_new();
	if (bl.raw == NULL || tar == NULL) {
		rc = seterr(o->err, -ENOMEM, "out of memory");
		goto out;
	}
	oci_filters(bl.raw);
	archive_read_support_format_raw(bl.raw);
	archive_read_support_format_tar(tar);
	if (archive_read_open(bl.raw, &bl, NULL, blob_read, NULL) !=
	    ARCHIVE_OK || archive_read_next_header(bl.raw, &e) !=
	    ARCHIVE_OK) {
		rc = seterr(o->err, -EINVAL, "layer %s: %s", o->layer_name,
		    archive_error_string(bl.raw));
		goto out;
	}
	if (archive_read_open(tar, &bl, NULL, tar_read, NULL) != ARCHIVE_OK) {
		rc = seterr(o->err, -EINVAL, "layer %s: %s", o->layer_name,
		    archive_error_string(tar));
		goto out;
	}
	for (;;) {
		if (o->opts->cancel != NULL && *o->opts->cancel) {
			rc = seterr(o->err, -ECANCELED, "interrupted; the "
			    "previous baseline is kept");
			goto out;
		}
		rc = archive_read_next_header(tar, &e);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc < ARCHIVE_WARN) {
			rc = seterr(o->err, bl.bomb ? -EFBIG : -EINVAL,
			    "layer %s: %s%s", o->layer_name,
			    archive_error_string(tar), bl.bomb ?
			    " (a decompression bomb?)" : "");
			goto out;
		}
		if (++o->members > 4 * (size_t)OCI_MAX_ENTRIES ||
		    o->tree.count > OCI_MAX_ENTRIES) {
			rc = seterr(o->err, -E2BIG, "layer %s: more than %u "
			    "entries in the image", o->layer_name,
			    OCI_MAX_ENTRIES);
			goto out;
		}
		rc = member(o, tar, e);
		if (rc < 0)
			goto out;
		oci_progress_tick(o, 0);
	}
	rc = layer_end(o, im, i, &bl);
out:
	if (tar != NULL)
		archive_read_free(tar);
	blob_close(&bl);
	return rc;
}
