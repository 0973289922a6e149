/*
 * transfer.c - a baseline as one self-contained file, from CI to nodes.
 *
 * The file is JSON Lines, so that it diffs and greps:
 *
 *   {"upperwatch_baseline":1,"image":"sha256:...","aliases":[...],
 *    "layers":[...],"secret":"<hex>","entries":N,"files":N,"bytes":N,
 *    "incomplete":null}
 *   {"path":"/etc/passwd","type":"file","mode":420,"uid":0,"gid":0,
 *    "size":N,"mtime":NS,"hash":"<hex>","flags":1,...}      one per row
 *   {"package_db":"dpkg","broken":null}     when the image has a package
 *   {"package":"hello","version":"2.10-3","arch":"amd64"}   database:
 *   {"owned":"/usr/bin/hello","package":0,"digest":"<hex>"} its packages,
 *                                           then the paths they own
 *   {"sha256":"<hex>"}                  of every byte of the lines above
 *
 * The rows' hashes are keyed XXH3-128, so the key (the secret of the
 * database that built them) travels with them: whoever holds the file
 * can forge content that hashes the same, and it is to be kept like the
 * database itself.  An import checks the content digest before anything
 * is kept, the image digest when one is expected, and replaces the
 * image's baseline in one transaction, the secret with it (the drift of
 * its containers is hashed with it from then on).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "hash.h"
#include "jsonw.h"
#include "names.h"
#include "pkgdb.h"
#include "store.h"
#include "transfer.h"
#include "util.h"
#include "walk.h"

#define FORMAT_VERSION 1
#define MAX_LINE (64u << 10)	/* a row: a 4 KiB path and link in hex */

/* ---- export ---- */

struct exporter {
	FILE *out;
	EVP_MD_CTX *md;
	char *line;		/* the line being made (open_memstream) */
	size_t line_len;
	FILE *mem;
	int failed;
};

static FILE *
line_begin(struct exporter *x)
{
	x->mem = open_memstream(&x->line, &x->line_len);
	if (x->mem == NULL)
		x->failed = 1;
	return x->mem;
}

static void
line_end(struct exporter *x)
{
	if (x->mem == NULL)
		return;
	fputc('\n', x->mem);
	if (fclose(x->mem) != 0) {
		x->failed = 1;
	} else {
		EVP_DigestUpdate(x->md, x->line, x->line_len);
		if (fwrite(x->line, 1, x->line_len, x->out) != x->line_len)
			x->failed = 1;
	}
	free(x->line);
	x->line = NULL;
	x->mem = NULL;
}

static void
hex(char *out, const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int
export_row(const struct uw_record *rec, void *arg)
{
	struct exporter *x = arg;
	char h[2 * WALK_CAPS_MAX + 1];
	FILE *f = line_begin(x);
	int first = 1;

	if (f == NULL)
		return -ENOMEM;
	fputc('{', f);
	jsonw_bytes(f, &first, "path", rec->path, rec->path_len);
	jsonw_str(f, &first, "type", file_type_name(rec->type));
	jsonw_uint(f, &first, "mode", rec->mode);
	jsonw_uint(f, &first, "uid", rec->uid);
	jsonw_uint(f, &first, "gid", rec->gid);
	jsonw_uint(f, &first, "size", rec->size);
	jsonw_int(f, &first, "mtime", rec->mtime_ns);
	if (rec->link != NULL)
		jsonw_bytes(f, &first, "link", rec->link, rec->link_len);
	if (rec->caps != NULL && rec->caps_len <= WALK_CAPS_MAX) {
		hex(h, rec->caps, rec->caps_len);
		jsonw_str(f, &first, "caps", h);
	}
	if (rec->flags & UW_REC_HASHED) {
		hex(h, rec->hash, UW_HASH_LEN);
		jsonw_str(f, &first, "hash", h);
	}
	jsonw_uint(f, &first, "flags", rec->flags);
	if (rec->link_group != 0)
		jsonw_uint(f, &first, "link_group", rec->link_group);
	fputc('}', f);
	line_end(x);
	return x->failed ? -EIO : 0;
}

/* The image's package database, after its rows. */
static int
export_packages(struct exporter *x, const struct pkgdb *db)
{
	char h[2 * 20 + 1];
	FILE *f;
	size_t i;
	int first;

	if (db->manager == PKG_NONE)
		return 0;
	if ((f = line_begin(x)) == NULL)
		return -ENOMEM;
	first = 1;
	fputc('{', f);
	jsonw_str(f, &first, "package_db", pkgdb_manager_name(db->manager));
	if (db->broken[0] != '\0')
		jsonw_str(f, &first, "broken", db->broken);
	fputc('}', f);
	line_end(x);
	for (i = 0; i < db->npkgs && !x->failed; i++) {
		if ((f = line_begin(x)) == NULL)
			return -ENOMEM;
		first = 1;
		fputc('{', f);
		jsonw_str(f, &first, "package", db->pkgs[i].name);
		jsonw_str(f, &first, "version", db->pkgs[i].version);
		jsonw_str(f, &first, "arch", db->pkgs[i].arch);
		if (db->pkgs[i].files_unknown)
			jsonw_bool(f, &first, "files_unknown", 1);
		fputc('}', f);
		line_end(x);
	}
	for (i = 0; i < db->nfiles && !x->failed; i++) {
		if ((f = line_begin(x)) == NULL)
			return -ENOMEM;
		first = 1;
		fputc('{', f);
		jsonw_bytes(f, &first, "owned", db->files[i].path,
		    db->files[i].len);
		jsonw_uint(f, &first, "package", db->files[i].pkg);
		if (db->files[i].digest_len > 0) {
			hex(h, db->files[i].digest, db->files[i].digest_len);
			jsonw_str(f, &first, "digest", h);
		}
		fputc('}', f);
		line_end(x);
	}
	return x->failed ? -EIO : 0;
}

static int
export_header(const struct uw_image_info *info, const unsigned char *secret,
    void *arg)
{
	struct exporter *x = arg;
	char h[2 * HASH_SECRET_LEN + 1];
	const char *p, *sp;
	FILE *f = line_begin(x);
	size_t i;
	int first = 1, inner;

	if (f == NULL)
		return -ENOMEM;
	fputc('{', f);
	jsonw_int(f, &first, "upperwatch_baseline", FORMAT_VERSION);
	jsonw_str(f, &first, "image", info->image);
	jsonw_key(f, &first, "aliases");
	fputc('[', f);
	for (p = info->aliases, inner = 1; p != NULL && *p != '\0'; p = sp) {
		sp = strchr(p, ' ');
		if (sp == NULL)
			sp = p + strlen(p);
		if (!inner)
			fputc(',', f);
		jsonw_string(f, (const unsigned char *)p, (size_t)(sp - p));
		inner = 0;
		if (*sp == ' ')
			sp++;
	}
	fputc(']', f);
	jsonw_key(f, &first, "layers");
	fputc('[', f);
	for (i = 0; i < info->layer_count; i++) {
		if (i > 0)
			fputc(',', f);
		jsonw_string(f, (const unsigned char *)info->layers[i],
		    strlen(info->layers[i]));
	}
	fputc(']', f);
	hex(h, secret, HASH_SECRET_LEN);
	jsonw_str(f, &first, "secret", h);
	jsonw_uint(f, &first, "entries", info->entries);
	jsonw_uint(f, &first, "files", info->files);
	jsonw_uint(f, &first, "bytes", info->bytes);
	if (info->incomplete != NULL)
		jsonw_str(f, &first, "incomplete", info->incomplete);
	fputc('}', f);
	line_end(x);
	return x->failed ? -EIO : 0;
}

int
transfer_export(struct store *store, const char *image, FILE *out,
    struct uw_error *err)
{
	struct exporter x;
	struct pkgdb db;
	unsigned char md[EVP_MAX_MD_SIZE];
	char h[2 * EVP_MAX_MD_SIZE + 1];
	unsigned len = 0;
	int rc;

	memset(&x, 0, sizeof(x));
	x.out = out;
	x.md = EVP_MD_CTX_new();
	if (x.md == NULL || !EVP_DigestInit_ex(x.md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(x.md);
		return seterr(err, -ENOMEM, "sha256: out of memory");
	}
	pkgdb_init(&db);
	rc = store_image_get(store, image, export_header, &x, err);
	if (rc == 0)
		rc = store_foreach(store, image, export_row, &x, err);
	if (rc == 0)
		rc = store_packages_load(store, image, &db, err);
	if (rc == 0 && (rc = export_packages(&x, &db)) == -ENOMEM)
		seterr(err, rc, "out of memory");
	pkgdb_free(&db);
	if (rc == 0) {
		EVP_DigestFinal_ex(x.md, md, &len);
		hex(h, md, len);
		if (fprintf(out, "{\"sha256\":\"%s\"}\n", h) < 0 ||
		    fflush(out) != 0)
			x.failed = 1;
	}
	EVP_MD_CTX_free(x.md);
	if (rc == 0 && x.failed)
		rc = seterr(err, -EIO, "writing the baseline: %s",
		    strerror(errno ? errno : EIO));
	else if (rc == -EIO && x.failed && err->msg[0] == '\0')
		seterr(err, -EIO, "writing the baseline failed");
	return rc;
}

/* ---- import ---- */

/* A hex string of 1 to max bytes into out, its length into *len. */
static int
unhex(const char *s, unsigned char *out, size_t max, size_t *len)
{
	int n = s != NULL ? hex_decode(s, strnlen(s, 2 * max + 1), out, max) :
	    -1;

	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* A string field, or its "_hex" twin (the exact bytes), into out. */
static int
bytes_field(json_t *row, const char *key, struct buf *out, int *present)
{
	unsigned char byte;
	char hkey[32];
	const char *s;
	size_t n, i;
	json_t *v;

	buf_reset(out);
	snprintf(hkey, sizeof(hkey), "%s_hex", key);
	*present = 1;
	if ((s = json_string_value(json_object_get(row, hkey))) != NULL) {
		if (strlen(s) % 2 != 0)
			return -1;
		for (i = 0; s[i] != '\0'; i += 2) {
			char pair[3] = { s[i], s[i + 1], '\0' };

			if (unhex(pair, &byte, 1, &n) < 0 ||
			    buf_addc(out, byte) < 0)
				return -1;
		}
		return 0;
	}
	v = json_object_get(row, key);
	if (v == NULL) {
		*present = 0;
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	return buf_add(out, json_string_value(v), json_string_length(v));
}

struct importer {
	struct store *store;
	struct uw_error *err;
	const char *path;
	size_t lineno;
	struct buf bpath, blink;
	int64_t image_id;
	int in_txn;		/* the baseline's transaction is open */
	struct uw_baseline_stats stats;
	struct pkgdb db;	/* its package database, as read */
};

/* An integer field from 0 to max into *out: 1, or 0 when it is not one
 * (absent: 0 with *out 0, unless it is required). */
static int
uint_field(json_t *row, const char *key, json_int_t max, json_int_t *out,
    int required)
{
	json_t *v = json_object_get(row, key);

	*out = 0;
	if (v == NULL)
		return !required;
	if (!json_is_integer(v))
		return 0;
	*out = json_integer_value(v);
	return *out >= 0 && *out <= max;
}

static int
import_row(struct importer *im, json_t *row)
{
	struct uw_record rec;
	unsigned char caps[WALK_CAPS_MAX];
	int type, has_path, has_link;
	size_t n;
	json_int_t v[6], flags;

	memset(&rec, 0, sizeof(rec));
	type = file_type_from_name(json_string_value(json_object_get(row,
	    "type")));
	if (bytes_field(row, "path", &im->bpath, &has_path) < 0 ||
	    !has_path || im->bpath.len == 0 || im->bpath.data[0] != '/' ||
	    memchr(im->bpath.data, '\0', im->bpath.len) != NULL ||
	    bytes_field(row, "link", &im->blink, &has_link) < 0 || type < 0)
		return seterr(im->err, -EINVAL, "%s: line %zu: a row without "
		    "a valid path, link or type", im->path, im->lineno);
	if (!uint_field(row, "mode", 07777, &v[0], 1) ||
	    !uint_field(row, "uid", UINT32_MAX, &v[1], 1) ||
	    !uint_field(row, "gid", UINT32_MAX, &v[2], 1) ||
	    !uint_field(row, "size", INT64_MAX, &v[3], 1) ||
	    !uint_field(row, "link_group", INT64_MAX, &v[4], 0) ||
	    !uint_field(row, "flags", 0xffff, &v[5], 1) ||
	    !json_is_integer(json_object_get(row, "mtime")))
		return seterr(im->err, -EINVAL, "%s: line %zu: mode, uid, gid, "
		    "size, flags and mtime must be integers in range",
		    im->path, im->lineno);
	rec.path = im->bpath.data;
	rec.path_len = im->bpath.len;
	rec.type = (enum uw_file_type)type;
	rec.mode = (unsigned)v[0];
	rec.uid = (uint32_t)v[1];
	rec.gid = (uint32_t)v[2];
	rec.size = (uint64_t)v[3];
	rec.mtime_ns = json_integer_value(json_object_get(row, "mtime"));
	rec.link_group = (uint64_t)v[4];
	flags = v[5];
	rec.flags = (unsigned)flags & (UW_REC_HASHED | UW_REC_UNSTABLE);
	if (has_link) {
		rec.link = im->blink.data ? im->blink.data :
		    (const unsigned char *)"";
		rec.link_len = im->blink.len;
	}
	if (json_object_get(row, "caps") != NULL) {
		if (unhex(json_string_value(json_object_get(row, "caps")),
		    caps, sizeof(caps), &n) < 0)
			return seterr(im->err, -EINVAL, "%s: line %zu: bad "
			    "caps", im->path, im->lineno);
		rec.caps = caps;
		rec.caps_len = n;
	}
	if (rec.flags & UW_REC_HASHED) {
		if (unhex(json_string_value(json_object_get(row, "hash")),
		    rec.hash, UW_HASH_LEN, &n) < 0 || n != UW_HASH_LEN)
			return seterr(im->err, -EINVAL, "%s: line %zu: bad "
			    "hash", im->path, im->lineno);
		im->stats.files++;
		im->stats.bytes += rec.size;
	}
	im->stats.entries++;
	return store_baseline_put(im->store, im->image_id, &rec, im->err);
}

/* A line of the package database: its manager, a package (in index
 * order) or a path one owns. */
static int
import_package_line(struct importer *im, json_t *j)
{
	unsigned char digest[20];
	const char *s;
	json_int_t pkg;
	size_t n = 0;
	int present, rc;

	if ((s = json_string_value(json_object_get(j, "package_db"))) !=
	    NULL) {
		im->db.manager = pkgdb_manager_from_name(s);
		s = json_string_value(json_object_get(j, "broken"));
		snprintf(im->db.broken, sizeof(im->db.broken), "%s",
		    s != NULL ? s : "");
		return im->db.manager == PKG_NONE ? seterr(im->err, -EINVAL,
		    "%s: line %zu: an unknown package manager", im->path,
		    im->lineno) : 0;
	}
	if (json_is_string(json_object_get(j, "package"))) {
		rc = pkgdb_add_pkg(&im->db, json_string_value(json_object_get(j,
		    "package")), json_string_value(json_object_get(j,
		    "version")), json_string_value(json_object_get(j, "arch")));
		if (rc >= 0)
			im->db.pkgs[rc].files_unknown = json_is_true(
			    json_object_get(j, "files_unknown"));
		return rc < 0 ? seterr(im->err, rc, "%s: line %zu: %s",
		    im->path, im->lineno, rc == -ENOMEM ? "out of memory" :
		    "too many packages") : 0;
	}
	if (bytes_field(j, "owned", &im->bpath, &present) < 0 || !present ||
	    !uint_field(j, "package", (json_int_t)im->db.npkgs - 1, &pkg, 1) ||
	    im->db.npkgs == 0 || (json_object_get(j, "digest") != NULL &&
	    (unhex(json_string_value(json_object_get(j, "digest")), digest,
	    sizeof(digest), &n) < 0 || (n != 16 && n != 20))))
		return seterr(im->err, -EINVAL, "%s: line %zu: an owned path "
		    "without a valid path, package or digest", im->path,
		    im->lineno);
	rc = pkgdb_add_file(&im->db, (uint32_t)pkg, im->bpath.data,
	    im->bpath.len, n ? digest : NULL, n);
	return rc < 0 ? seterr(im->err, rc, "%s: line %zu: %s", im->path,
	    im->lineno, rc == -ENOMEM ? "out of memory" : "too many paths") :
	    0;
}

/* The header: begin the replacement of the image's baseline. */
static int
import_header(struct importer *im, json_t *h, const char *expect,
    struct uw_import_result *res)
{
	unsigned char secret[HASH_SECRET_LEN];
	const char **layers = NULL;
	const char *image = json_string_value(json_object_get(h, "image"));
	json_t *ls = json_object_get(h, "layers"), *v;
	size_t i, n;
	int rc;

	if (json_integer_value(json_object_get(h, "upperwatch_baseline")) !=
	    FORMAT_VERSION)
		return seterr(im->err, -EINVAL, "%s: not an upperwatch "
		    "baseline file (version %d)", im->path, FORMAT_VERSION);
	if (image == NULL || image[0] == '\0' || strlen(image) >=
	    sizeof(res->image))
		return seterr(im->err, -EINVAL, "%s: no image in its header",
		    im->path);
	if (expect != NULL && strcmp(expect, image) != 0) {
		json_array_foreach(json_object_get(h, "aliases"), i, v)
			if (json_string_value(v) != NULL &&
			    strcmp(json_string_value(v), expect) == 0)
				break;
		if (i == json_array_size(json_object_get(h, "aliases")))
			return seterr(im->err, -EBADMSG, "%s: it is the "
			    "baseline of %s, not of %s", im->path, image,
			    expect);
	}
	if (unhex(json_string_value(json_object_get(h, "secret")), secret,
	    sizeof(secret), &n) < 0 || n != HASH_SECRET_LEN)
		return seterr(im->err, -EINVAL, "%s: no valid secret in its "
		    "header", im->path);
	if (!json_is_array(ls) || json_array_size(ls) > 500)
		return seterr(im->err, -EINVAL, "%s: bad layers in its header",
		    im->path);
	layers = calloc(json_array_size(ls) + 1, sizeof(*layers));
	if (layers == NULL)
		return seterr(im->err, -ENOMEM, "out of memory");
	json_array_foreach(ls, i, v)
		layers[i] = json_string_value(v) ? json_string_value(v) : "?";
	snprintf(res->image, sizeof(res->image), "%s", image);
	rc = store_baseline_begin(im->store, image, layers,
	    json_array_size(ls), &im->image_id, im->err);
	free(layers);
	if (rc < 0)
		return rc;
	im->in_txn = 1;
	rc = store_image_set_secret(im->store, im->image_id, secret, im->err);
	json_array_foreach(json_object_get(h, "aliases"), i, v) {
		if (rc < 0)
			break;
		if (json_string_value(v) == NULL)
			continue;
		rc = store_alias_set(im->store, json_string_value(v),
		    im->image_id, im->err);
		if (rc == 0)
			res->aliases++;
	}
	return rc;
}

/* The trailer: is the content what the exporter hashed? */
static int
check_trailer(struct importer *im, json_t *t, EVP_MD_CTX *md)
{
	unsigned char got[EVP_MAX_MD_SIZE];
	char h[2 * EVP_MAX_MD_SIZE + 1];
	unsigned len = 0;
	const char *want = json_string_value(json_object_get(t, "sha256"));

	EVP_DigestFinal_ex(md, got, &len);
	hex(h, got, len);
	if (want == NULL || strcmp(want, h) != 0)
		return seterr(im->err, -EBADMSG, "%s: its content does not "
		    "match its sha256 (it was changed, or cut short)",
		    im->path);
	return 0;
}

int
transfer_import(struct store *store, const char *path, const char *expect,
    struct uw_import_result *res, struct uw_error *err)
{
	struct importer im;
	json_error_t je;
	json_t *j;
	EVP_MD_CTX *md;
	char *line = NULL;
	ssize_t n;
	FILE *f;
	int rc = 0, done = 0;

	memset(res, 0, sizeof(*res));
	memset(&im, 0, sizeof(im));
	im.store = store;
	im.err = err;
	im.path = path;
	pkgdb_init(&im.db);
	buf_init(&im.bpath, WALK_MAX_PATH);
	buf_init(&im.blink, WALK_MAX_PATH);
	f = fopen(path, "re");
	if (f == NULL)
		return seterr(err, -errno, "%s: %s", path, strerror(errno));
	md = EVP_MD_CTX_new();
	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		rc = seterr(err, -ENOMEM, "sha256: out of memory");
	line = malloc(MAX_LINE + 2);
	if (line == NULL && rc == 0)
		rc = seterr(err, -ENOMEM, "out of memory");
	/* bounded lines: a file of one endless line is refused, not read
	 * into memory (a NUL byte shortens a line, and then the digest) */
	while (rc == 0 && !done && fgets(line, MAX_LINE + 2, f) != NULL) {
		n = (ssize_t)strlen(line);
		im.lineno++;
		if ((size_t)n > MAX_LINE) {
			rc = seterr(err, -E2BIG, "%s: line %zu is too long",
			    path, im.lineno);
			break;
		}
		j = json_loadb(line, (size_t)n, 0, &je);
		if (j == NULL || !json_is_object(j)) {
			rc = seterr(err, -EINVAL, "%s: line %zu: %s", path,
			    im.lineno, j ? "not an object" : je.text);
		} else if (im.lineno == 1) {
			rc = import_header(&im, j, expect, res);
		} else if (json_object_get(j, "sha256") != NULL) {
			rc = check_trailer(&im, j, md);
			done = 1;
		} else if (json_object_get(j, "package_db") != NULL ||
		    json_object_get(j, "package") != NULL ||
		    json_object_get(j, "owned") != NULL) {
			rc = import_package_line(&im, j);
		} else {
			rc = import_row(&im, j);
		}
		json_decref(j);
		if (!done)
			EVP_DigestUpdate(md, line, (size_t)n);
	}
	if (rc == 0 && !done)
		rc = seterr(err, -EBADMSG, "%s: %s", path, ferror(f) ?
		    strerror(errno) : im.lineno == 0 ? "empty" :
		    "cut short: no sha256 at its end");
	if (rc == 0 && fgets(line, MAX_LINE + 2, f) != NULL)
		rc = seterr(err, -EINVAL, "%s: lines after its sha256", path);
	if (rc == 0)
		rc = store_packages_put(store, im.image_id, &im.db, err);
	if (rc == 0) {
		res->entries = im.stats.entries;
		rc = store_baseline_commit(store, im.image_id, &im.stats, err);
		im.in_txn = 0;
	}
	if (im.in_txn)
		store_baseline_abort(store);
	EVP_MD_CTX_free(md);
	free(line);
	fclose(f);
	buf_free(&im.bpath);
	buf_free(&im.blink);
	pkgdb_free(&im.db);
	return rc;
}
