/*
 * oci_int.h - what the three parts of the image-file reader share: the
 * tree the layers are applied to (oci.c), the reader of the image file
 * and its descriptors (oci_image.c), and one layer streamed into the tree
 * (oci_layer.c).  Only they include it.
 */
#ifndef UW_OCI_INT_H
#define UW_OCI_INT_H

#include <stdint.h>

#include <archive.h>
#include <openssl/evp.h>

#include "oci.h"
#include "util.h"
#include "walk.h"

#define READ_BLOCK (256u << 10)
/* Package database files kept in memory, at most, over all layers. */
#define OCI_MAX_DB_BYTES (256u << 20)

/* An entry of the image, as the layers so far leave it. */
struct node {
	unsigned char *path;	/* "/a/b"; "/" for the root */
	size_t len;
	struct uw_record rec;	/* its path, link and caps point below */
	unsigned char *link;
	size_t link_len;
	unsigned char caps[WALK_CAPS_MAX];
	size_t caps_len;
	unsigned layer;		/* the layer it comes from (0: bottom) */
	int dead;		/* removed (kept for the map) */
	uint64_t data;		/* a file's data bytes hashed */
	/* A package database file (pkgdb_wanted): its content, kept for
	 * reading the database once the layers are applied; db_big when
	 * it was too big to keep. */
	unsigned char *db_data;
	size_t db_len;
	int db_big;
};

/* The entries by path: a hash map over an array kept in insertion order. */
struct tree {
	struct node **v;	/* by insertion */
	size_t count, cap;
	size_t *slots;		/* open addressing: index + 1, 0 empty */
	size_t nslots;
	uint64_t seed;		/* random: names cannot be made to collide */
};

/* The reader's state, for one image file. */
struct oci {
	const struct uw_oci_opts *opts;
	struct uw_error *err;
	int dirfd;		/* an OCI layout dir; -1: a tar */
	const unsigned char *secret;
	struct tree tree;
	struct tree cuts;	/* see oci_tree_cut_below */
	size_t members;		/* read so far, of every layer */
	struct uw_baseline_stats *stats;
	struct uw_progress progress;
	int64_t start_ns, last_progress_ns;
	unsigned layer;		/* the one being applied */
	const char *layer_name;	/* its digest, for messages */
	struct buf name;	/* scratch: a member's normalized path */
	unsigned char *rbuf;	/* READ_BLOCK bytes */
	size_t db_bytes;	/* kept in db_data, over every node */
	char escs[3][256];	/* names quoted in messages */
	unsigned esc_next;
};

/* The image's descriptors, as read from its index/manifest and config. */
struct image {
	char config[UW_DIGEST_MAX];	/* its digest */
	char config_path[300];		/* where it is in the file */
	char **layers;			/* paths in the file, bottom first */
	char **layer_digests;		/* blob digests (OCI), or NULL */
	char **diff_ids;		/* from the config */
	size_t nlayers;
	char **tags;
	size_t ntags;
	char platform[64];
};

/* oci.c: the tree. */
struct node *oci_tree_get(const struct tree *t, const unsigned char *p,
    size_t len);
struct node *oci_tree_put(struct tree *t, const unsigned char *p,
    size_t len);
int oci_tree_cut_below(struct tree *cuts, const unsigned char *p,
    size_t len, unsigned layer);

/* oci_image.c: the image file and its descriptors. */
const char *oci_esc(struct oci *o, const void *s);
void oci_filters(struct archive *a);
void oci_sha256_hex(EVP_MD_CTX *ctx, char out[UW_DIGEST_MAX]);
int oci_open_member(struct oci *o, const char *path, int *fd,
    struct archive **outer);
int oci_read_image(struct oci *o, struct image *im);
void oci_image_free(struct image *im);

/* oci_layer.c: one layer, applied to the tree. */
int oci_apply_layer(struct oci *o, const struct image *im, unsigned i);
void oci_progress_tick(struct oci *o, int force);

#endif /* UW_OCI_INT_H */
