/*
 * oci_image.c - the image file (an OCI layout dir, an oci-archive or a
 * docker-archive tar) and what its JSON documents say: which manifest
 * fits the platform, the config's digest and diff_ids, each layer's blob
 * and digest, the tags.  Every document is checked against its digest
 * before it is believed, and is bounded (OCI_MAX_JSON).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "oci_int.h"

/* ---- reading the image file ---- */

/* A name from the image file, fit for a one-line message: escaped C-style
 * and cut (three can be in use at once). */
const char *
oci_esc(struct oci *o, const void *s)
{
	char *out = o->escs[o->esc_next++ % 3];

	return escape_cut(out, sizeof(o->escs[0]), s, strlen(s));
}

/* A member name of the image file ("./blobs/x", "blobs/x") as "blobs/x". */
static const char *
member_name(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	return name;
}

/* The compressions libarchive decodes itself.  Not "all": for the
 * others (lrzip, lzop, grzip...) it would run an external program on
 * bytes from the image file. */
void
oci_filters(struct archive *a)
{
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_lz4(a);
}

/* A tar of the image file, open at its start. */
static struct archive *
outer_open(struct oci *o)
{
	struct archive *a = archive_read_new();

	if (a == NULL) {
		seterr(o->err, -ENOMEM, "out of memory");
		return NULL;
	}
	oci_filters(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, o->opts->path, READ_BLOCK) !=
	    ARCHIVE_OK) {
		seterr(o->err, -EINVAL, "%s: %s", o->opts->path,
		    archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/*
 * Find the member `want` of the tar: 0 with `a` at its data, 1 when it
 * has none, <0 on error (said).
 */
static int
outer_find(struct oci *o, struct archive *a, const char *want)
{
	struct archive_entry *e;
	const char *name;
	int rc;

	for (;;) {
		rc = archive_read_next_header(a, &e);
		if (rc == ARCHIVE_EOF)
			return 1;
		if (rc < ARCHIVE_WARN)
			return seterr(o->err, -EINVAL, "%s: %s", o->opts->path,
			    archive_error_string(a));
		name = archive_entry_pathname(e);
		if (name == NULL || strcmp(member_name(name), want) != 0)
			continue;
		if (archive_entry_filetype(e) != AE_IFREG ||
		    archive_entry_hardlink(e) != NULL ||
		    archive_entry_sparse_count(e) > 0)
			return seterr(o->err, -EINVAL, "%s: %s is not a "
			    "plain regular file", o->opts->path, want);
		return 0;
	}
}

/* Open `rel` of the layout dir: beneath it, through no symlink, a
 * regular file only (never opened for reading otherwise). */
static int
dir_open(struct oci *o, const char *rel)
{
	struct stat st;
	int fd, rfd;

	fd = walk_open_beneath(o->dirfd, rel, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	rfd = walk_reopen_file(fd, &st);
	close(fd);
	return rfd;
}

/* Read the whole (small) file `rel` of the image file into `out`. */
static int
read_small(struct oci *o, const char *rel, struct buf *out)
{
	struct archive *a = NULL;
	ssize_t n;
	int fd = -1, rc;

	buf_reset(out);
	if (o->dirfd >= 0) {
		fd = dir_open(o, rel);
		if (fd < 0)
			return fd == -ENOENT ? 1 : seterr(o->err, fd,
			    "%s/%s: %s", o->opts->path, rel,
			    fd == -EINVAL ? "not a regular file" :
			    strerror(-fd));
	} else {
		a = outer_open(o);
		if (a == NULL)
			return -EINVAL;
		rc = outer_find(o, a, rel);
		if (rc != 0) {
			archive_read_free(a);
			return rc;
		}
	}
	for (;;) {
		n = fd >= 0 ? read(fd, o->rbuf, READ_BLOCK) :
		    archive_read_data(a, o->rbuf, READ_BLOCK);
		if (n <= 0)
			break;
		if (out->len + (size_t)n > OCI_MAX_JSON) {
			n = -2;
			break;
		}
		if (buf_add(out, o->rbuf, (size_t)n) < 0) {
			n = -3;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	if (a != NULL && n < 0 && n != -2 && n != -3)
		seterr(o->err, -EIO, "%s: %s: %s", o->opts->path, rel,
		    archive_error_string(a));
	if (a != NULL)
		archive_read_free(a);
	if (n == -2)
		return seterr(o->err, -E2BIG, "%s: %s is over %u bytes",
		    o->opts->path, rel, OCI_MAX_JSON);
	if (n == -3)
		return seterr(o->err, -ENOMEM, "out of memory");
	if (n < 0)
		return fd >= 0 ? seterr(o->err, -errno, "%s/%s: %s",
		    o->opts->path, rel, strerror(errno)) : -EIO;
	return 0;
}

/* "sha256:<64 hex>" only: a digest names a blob's path. */
static int
digest_ok(const char *d)
{
	size_t i;

	if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return 0;
	for (i = 7; i < 71; i++)
		if (!((d[i] >= '0' && d[i] <= '9') ||
		    (d[i] >= 'a' && d[i] <= 'f')))
			return 0;
	return 1;
}

void
oci_sha256_hex(EVP_MD_CTX *ctx, char out[UW_DIGEST_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0, i;

	EVP_DigestFinal_ex(ctx, md, &len);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < len && i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

int
oci_chain_id(const char *const *diff_ids, size_t n, char out[UW_DIGEST_MAX])
{
	EVP_MD_CTX *ctx;
	size_t i;
	int ok = 1;

	if (n == 0 || !digest_ok(diff_ids[0]))
		return -EINVAL;
	snprintf(out, UW_DIGEST_MAX, "%s", diff_ids[0]);
	for (i = 1; ok && i < n; i++) {
		if (!digest_ok(diff_ids[i]) || (ctx = EVP_MD_CTX_new()) == NULL)
			return -EINVAL;
		ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		    EVP_DigestUpdate(ctx, out, strlen(out)) &&
		    EVP_DigestUpdate(ctx, " ", 1) &&
		    EVP_DigestUpdate(ctx, diff_ids[i], strlen(diff_ids[i]));
		if (ok)
			oci_sha256_hex(ctx, out);
		EVP_MD_CTX_free(ctx);
	}
	return ok ? 0 : -EINVAL;
}

/* Parse JSON read from `rel`, checking its sha256 when `digest` is given. */
static json_t *
read_json(struct oci *o, const char *rel, const char *digest, struct buf *b)
{
	char got[UW_DIGEST_MAX];
	EVP_MD_CTX *ctx;
	json_error_t je;
	json_t *j;
	int rc;

	rc = read_small(o, rel, b);
	if (rc == 1)
		seterr(o->err, -ENOENT, "%s: no %s in it", o->opts->path, rel);
	if (rc != 0)
		return NULL;
	if (digest != NULL) {
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
		    !EVP_DigestUpdate(ctx, b->data, b->len)) {
			EVP_MD_CTX_free(ctx);
			seterr(o->err, -ENOMEM, "sha256: out of memory");
			return NULL;
		}
		oci_sha256_hex(ctx, got);
		EVP_MD_CTX_free(ctx);
		if (strcmp(got, digest) != 0) {
			seterr(o->err, -EBADMSG, "%s: %s does not match its "
			    "digest (it is %s)", o->opts->path, rel, got);
			return NULL;
		}
	}
	j = json_loadb((const char *)b->data, b->len, JSON_REJECT_DUPLICATES,
	    &je);
	if (j == NULL)
		seterr(o->err, -EINVAL, "%s: %s: bad JSON: %s (line %d)",
		    o->opts->path, rel, je.text, je.line);
	return j;
}

/* The path of the blob `digest` in an OCI layout. */
static void
blob_path(const char *digest, char *out, size_t size)
{
	snprintf(out, size, "blobs/sha256/%s", digest + 7);
}

/*
 * Open the member `path` of the image file for reading: *fd for a file
 * of a layout dir, else *outer, a reader of the tar positioned at it.
 */
int
oci_open_member(struct oci *o, const char *path, int *fd,
    struct archive **outer)
{
	int rc;

	if (o->dirfd >= 0) {
		*fd = dir_open(o, path);
		if (*fd < 0)
			return seterr(o->err, *fd, "%s/%s: %s",
			    o->opts->path, path, *fd == -EINVAL ?
			    "not a regular file" : strerror(-*fd));
		return 0;
	}
	*outer = outer_open(o);
	if (*outer == NULL)
		return -EINVAL;
	rc = outer_find(o, *outer, path);
	if (rc == 1)
		return seterr(o->err, -ENOENT, "%s: no %s in it",
		    o->opts->path, path);
	return rc;
}

/* ---- the image's descriptors ---- */

void
oci_image_free(struct image *im)
{
	size_t i;

	for (i = 0; i < im->nlayers; i++) {
		free(im->layers[i]);
		if (im->layer_digests != NULL)
			free(im->layer_digests[i]);
		if (im->diff_ids != NULL)
			free(im->diff_ids[i]);
	}
	for (i = 0; i < im->ntags; i++)
		free(im->tags[i]);
	free(im->layers);
	free(im->layer_digests);
	free(im->diff_ids);
	free(im->tags);
	memset(im, 0, sizeof(*im));
}

static int
add_tag(struct image *im, const char *tag)
{
	char **v;

	if (tag == NULL || tag[0] == '\0' || strlen(tag) > 255 ||
	    im->ntags >= OCI_MAX_TAGS)
		return 0;	/* not a name to record */
	v = realloc(im->tags, (im->ntags + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	im->tags = v;
	if ((im->tags[im->ntags] = strdup(tag)) == NULL)
		return -ENOMEM;
	im->ntags++;
	return 0;
}

void
oci_host_platform(char *out, size_t size)
{
	struct utsname u;
	const char *arch = "amd64";

	if (uname(&u) == 0) {
		if (strcmp(u.machine, "aarch64") == 0)
			arch = "arm64";
		else if (strcmp(u.machine, "x86_64") != 0)
			arch = u.machine;
	}
	/* (a machine name is short; the cut only quiets the compiler) */
	snprintf(out, size, "linux/%.40s", arch);
}

void
oci_platform_of(json_t *desc, char *out, size_t size)
{
	json_t *p = json_object_get(desc, "platform");
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p,
	    "architecture"));
	const char *var = json_string_value(json_object_get(p, "variant"));

	if (os == NULL || arch == NULL)
		snprintf(out, size, "?");
	else if (var != NULL)
		snprintf(out, size, "%s/%s/%s", os, arch, var);
	else
		snprintf(out, size, "%s/%s", os, arch);
}

int
oci_platform_match(const char *plat, const char *want)
{
	/* given whole, or without the variant; "?" is any */
	return strcmp(plat, "?") == 0 || strcmp(plat, want) == 0 ||
	    (strncmp(plat, want, strlen(want)) == 0 &&
	    plat[strlen(want)] == '/');
}

int
oci_is_index(const char *media)
{
	return media != NULL &&
	    (strcmp(media, "application/vnd.oci.image.index.v1+json") == 0 ||
	    strcmp(media, "application/vnd.docker.distribution.manifest."
	    "list.v2+json") == 0);
}

/*
 * From an index, the manifest descriptor to read: the one for the wanted
 * platform (opts, else this host's when there are several), through
 * nested indexes.  Tags (org.opencontainers.image.ref.name) are collected.
 */
static int
pick_manifest(struct oci *o, struct image *im, json_t *index, int depth,
    char *digest_out)
{
	char want[64], plat[64], path[300], listed[512];
	json_t *ms = json_object_get(index, "manifests"), *d, *chosen = NULL;
	json_t *nested;
	struct buf b;
	size_t i, n = 0, len = 0;
	const char *media, *dg, *ref;
	int rc;

	if (depth > 4)
		return seterr(o->err, -ELOOP, "%s: indexes nested too deep",
		    o->opts->path);
	if (!json_is_array(ms) || json_array_size(ms) == 0)
		return seterr(o->err, -EINVAL, "%s: its index lists no "
		    "manifest", o->opts->path);
	if (o->opts->platform != NULL)
		snprintf(want, sizeof(want), "%s", o->opts->platform);
	else
		oci_host_platform(want, sizeof(want));
	listed[0] = '\0';
	json_array_foreach(ms, i, d) {
		oci_platform_of(d, plat, sizeof(plat));
		if (len < sizeof(listed) - 1)
			len += (size_t)snprintf(listed + len,
			    sizeof(listed) - len, "%s%s", len ? ", " : "",
			    plat);
		if (len >= sizeof(listed))
			len = sizeof(listed) - 1;
		if (oci_platform_match(plat, want)) {
			if (chosen == NULL)
				chosen = d;
			n++;
		}
	}
	if (json_array_size(ms) == 1 && o->opts->platform == NULL)
		chosen = json_array_get(ms, 0), n = 1;
	if (chosen == NULL)
		return seterr(o->err, -ENOENT, "%s: no manifest for %s (it "
		    "has %s)%s", o->opts->path, want, listed,
		    o->opts->platform ? "" : "; pick one with --platform");
	if (n > 1 && o->opts->image != NULL) {
		/* several images: the one whose name --image gives */
		json_t *hit = NULL;
		size_t hits = 0;

		json_array_foreach(ms, i, d) {
			const char *rn = json_string_value(json_object_get(
			    json_object_get(d, "annotations"),
			    "org.opencontainers.image.ref.name"));

			if (rn != NULL && strcmp(rn, o->opts->image) == 0) {
				hit = d;
				hits++;
			}
		}
		if (hits == 1) {
			chosen = hit;
			n = 1;
		}
	}
	if (n > 1 && !oci_is_index(json_string_value(json_object_get(chosen,
	    "mediaType"))))
		return seterr(o->err, -EINVAL, "%s: %zu manifests for %s: "
		    "the image file holds more than one image; name one with "
		    "--image", o->opts->path, n, want);
	oci_platform_of(chosen, im->platform, sizeof(im->platform));
	if (strcmp(im->platform, "?") == 0)
		im->platform[0] = '\0';	/* the config says */
	ref = json_string_value(json_object_get(json_object_get(chosen,
	    "annotations"), "org.opencontainers.image.ref.name"));
	if (ref != NULL && add_tag(im, ref) < 0)
		return seterr(o->err, -ENOMEM, "out of memory");
	media = json_string_value(json_object_get(chosen, "mediaType"));
	dg = json_string_value(json_object_get(chosen, "digest"));
	if (!digest_ok(dg))
		return seterr(o->err, -EINVAL, "%s: a manifest digest is not "
		    "sha256:<hex>", o->opts->path);
	if (!oci_is_index(media)) {
		snprintf(digest_out, UW_DIGEST_MAX, "%s", dg);
		return 0;
	}
	blob_path(dg, path, sizeof(path));
	buf_init(&b, OCI_MAX_JSON);
	nested = read_json(o, path, dg, &b);
	buf_free(&b);
	if (nested == NULL)
		return -EINVAL;
	rc = pick_manifest(o, im, nested, depth + 1, digest_out);
	json_decref(nested);
	return rc;
}

static int
alloc_layers(struct oci *o, struct image *im, size_t n)
{
	if (n == 0 || n > OCI_MAX_LAYERS)
		return seterr(o->err, -EINVAL, "%s: %zu layers (1 to %d are "
		    "allowed)", o->opts->path, n, OCI_MAX_LAYERS);
	im->layers = calloc(n, sizeof(char *));
	im->layer_digests = calloc(n, sizeof(char *));
	im->diff_ids = calloc(n, sizeof(char *));
	if (im->layers == NULL || im->layer_digests == NULL ||
	    im->diff_ids == NULL)
		return seterr(o->err, -ENOMEM, "out of memory");
	im->nlayers = n;
	return 0;
}

/* The config: its diff_ids, one per layer. */
static int
read_config(struct oci *o, struct image *im, const char *checked)
{
	json_t *cfg, *ids, *d;
	struct buf b;
	size_t i;
	int rc = 0;

	buf_init(&b, OCI_MAX_JSON);
	cfg = read_json(o, im->config_path, checked, &b);
	if (cfg != NULL && checked == NULL) {
		/* docker-archive names the config, not its digest */
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(),
		    NULL) || !EVP_DigestUpdate(ctx, b.data, b.len))
			rc = seterr(o->err, -ENOMEM, "sha256: out of memory");
		else
			oci_sha256_hex(ctx, im->config);
		EVP_MD_CTX_free(ctx);
	}
	buf_free(&b);
	if (cfg == NULL)
		return -EINVAL;
	ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (rc == 0 && (!json_is_array(ids) ||
	    json_array_size(ids) != im->nlayers))
		rc = seterr(o->err, -EINVAL, "%s: the config lists %zu "
		    "diff_ids for %zu layers", o->opts->path,
		    json_array_size(ids), im->nlayers);
	if (rc == 0 && im->platform[0] == '\0') {
		/* the index did not say: the config does */
		const char *os = json_string_value(json_object_get(cfg, "os"));
		const char *ar = json_string_value(json_object_get(cfg,
		    "architecture"));
		const char *var = json_string_value(json_object_get(cfg,
		    "variant"));
		const char *want = o->opts->platform;

		snprintf(im->platform, sizeof(im->platform), "%.20s/%.20s%s%.20s",
		    os ? os : "?", ar ? ar : "?", var ? "/" : "",
		    var ? var : "");
		if (want != NULL && strcmp(want, im->platform) != 0 &&
		    (strncmp(im->platform, want, strlen(want)) != 0 ||
		    im->platform[strlen(want)] != '/'))
			rc = seterr(o->err, -ENOENT, "%s: no manifest for %s "
			    "(the image is %s)", o->opts->path, want,
			    im->platform);
	}
	for (i = 0; rc == 0 && i < im->nlayers; i++) {
		d = json_array_get(ids, i);
		if (!digest_ok(json_string_value(d)))
			rc = seterr(o->err, -EINVAL, "%s: diff_id %zu is not "
			    "sha256:<hex>", o->opts->path, i);
		else if ((im->diff_ids[i] = strdup(json_string_value(d))) ==
		    NULL)
			rc = seterr(o->err, -ENOMEM, "out of memory");
	}
	json_decref(cfg);
	return rc;
}

/* An OCI layout (dir or tar): index.json -> manifest -> config, layers. */
static int
read_oci(struct oci *o, struct image *im, json_t *index)
{
	char mdigest[UW_DIGEST_MAX], path[300];
	json_t *man, *cfg, *layers, *d;
	const char *dg;
	struct buf b;
	size_t i;
	int rc;

	rc = pick_manifest(o, im, index, 0, mdigest);
	if (rc < 0)
		return rc;
	blob_path(mdigest, path, sizeof(path));
	buf_init(&b, OCI_MAX_JSON);
	man = read_json(o, path, mdigest, &b);
	buf_free(&b);
	if (man == NULL)
		return -EINVAL;
	cfg = json_object_get(man, "config");
	dg = json_string_value(json_object_get(cfg, "digest"));
	layers = json_object_get(man, "layers");
	if (!digest_ok(dg) || !json_is_array(layers)) {
		json_decref(man);
		return seterr(o->err, -EINVAL, "%s: manifest %s has no config "
		    "digest or no layers", o->opts->path, mdigest);
	}
	snprintf(im->config, sizeof(im->config), "%s", dg);
	blob_path(dg, im->config_path, sizeof(im->config_path));
	rc = alloc_layers(o, im, json_array_size(layers));
	json_array_foreach(layers, i, d) {
		if (rc < 0)
			break;
		dg = json_string_value(json_object_get(d, "digest"));
		if (!digest_ok(dg)) {
			rc = seterr(o->err, -EINVAL, "%s: layer %zu: its "
			    "digest is not sha256:<hex>", o->opts->path, i);
			break;
		}
		blob_path(dg, path, sizeof(path));
		if ((im->layers[i] = strdup(path)) == NULL ||
		    (im->layer_digests[i] = strdup(dg)) == NULL)
			rc = seterr(o->err, -ENOMEM, "out of memory");
	}
	json_decref(man);
	if (rc == 0)
		rc = read_config(o, im, im->config);
	return rc;
}

/* A docker-archive: manifest.json names the config and layer files. */
static int
read_docker(struct oci *o, struct image *im, json_t *manifest)
{
	json_t *m, *layers, *tags, *d;
	const char *cfg, *p;
	size_t i;
	int rc;

	if (!json_is_array(manifest) || json_array_size(manifest) == 0)
		return seterr(o->err, -EINVAL, "%s: manifest.json lists no "
		    "image", o->opts->path);
	m = json_array_get(manifest, 0);
	if (json_array_size(manifest) > 1) {
		/* several images (podman save -m): the one --image names */
		json_t *e, *t;
		size_t k, n = 0;

		json_array_foreach(manifest, i, e)
			json_array_foreach(json_object_get(e, "RepoTags"), k, t)
				if (o->opts->image != NULL &&
				    json_string_value(t) != NULL &&
				    strcmp(json_string_value(t),
				    o->opts->image) == 0 && n++ == 0)
					m = e;
		if (n != 1)
			return seterr(o->err, -EINVAL, "%s: manifest.json "
			    "lists %zu images: name one of their tags with "
			    "--image", o->opts->path,
			    json_array_size(manifest));
	}
	cfg = json_string_value(json_object_get(m, "Config"));
	layers = json_object_get(m, "Layers");
	if (cfg == NULL || !json_is_array(layers))
		return seterr(o->err, -EINVAL, "%s: manifest.json has no "
		    "Config or no Layers", o->opts->path);
	snprintf(im->config_path, sizeof(im->config_path), "%s",
	    member_name(cfg));
	tags = json_object_get(m, "RepoTags");
	json_array_foreach(tags, i, d)
		if (add_tag(im, json_string_value(d)) < 0)
			return seterr(o->err, -ENOMEM, "out of memory");
	rc = alloc_layers(o, im, json_array_size(layers));
	json_array_foreach(layers, i, d) {
		if (rc < 0)
			break;
		p = json_string_value(d);
		if (p == NULL)
			rc = seterr(o->err, -EINVAL, "%s: layer %zu has no "
			    "name", o->opts->path, i);
		else if ((im->layers[i] = strdup(member_name(p))) == NULL)
			rc = seterr(o->err, -ENOMEM, "out of memory");
	}
	free(im->layer_digests);	/* none: the diff_ids check them */
	im->layer_digests = NULL;
	if (rc == 0)
		rc = read_config(o, im, NULL);
	return rc;
}

int
oci_read_image(struct oci *o, struct image *im)
{
	struct buf b;
	json_t *j;
	int rc;

	buf_init(&b, OCI_MAX_JSON);
	rc = read_small(o, "index.json", &b);
	if (rc == 0) {
		j = read_json(o, "index.json", NULL, &b);
		buf_free(&b);
		if (j == NULL)
			return -EINVAL;
		rc = read_oci(o, im, j);
		json_decref(j);
		return rc;
	}
	if (rc < 0) {
		buf_free(&b);
		return rc;
	}
	rc = read_small(o, "manifest.json", &b);
	if (rc == 1) {
		buf_free(&b);
		return seterr(o->err, -EINVAL, "%s: neither an OCI layout "
		    "(index.json) nor a docker-archive (manifest.json)",
		    o->opts->path);
	}
	j = rc == 0 ? read_json(o, "manifest.json", NULL, &b) : NULL;
	buf_free(&b);
	if (j == NULL)
		return -EINVAL;
	rc = read_docker(o, im, j);
	json_decref(j);
	return rc;
}
