/*
 * pkgdb_parse.c - dpkg and apk databases as text, read from a tree an
 * attacker may have written (pkgdb.h).
 *
 * dpkg: /var/lib/dpkg/status holds one paragraph per package ("Package:",
 * "Status:", "Version:", "Architecture:", "Multi-Arch:", "Conffiles:");
 * info/NAME.list (NAME:ARCH.list for Multi-Arch: same) lists the paths a
 * package installed, info/NAME.md5sums the md5 of its regular files
 * ("<hex>  usr/bin/x"), and the status's Conffiles the md5 of its
 * configuration files.
 *
 * apk: /lib/apk/db/installed holds one paragraph per package: "P:" name,
 * "V:" version, "A:" arch, then "F:" a dir, "R:" a file in it and "Z:"
 * that file's checksum ("Q1" and the base64 of its SHA-1).
 *
 * Whatever does not parse is skipped line by line; what is too big, or a
 * database of too many packages or paths, leaves the whole database
 * `broken`, and events then say "unknown" rather than a wrong "match".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkgdb.h"

/* ---- text ---- */

/* The next line of buf[*off..len) as [*ls, *ll), without its '\n'. */
static int
next_line(const struct buf *b, size_t *off, const char **ls, size_t *ll)
{
	const char *s = (const char *)b->data + *off, *nl;
	size_t rest;

	if (*off >= b->len)
		return 0;
	rest = b->len - *off;
	nl = memchr(s, '\n', rest);
	*ls = s;
	*ll = nl != NULL ? (size_t)(nl - s) : rest;
	*off += *ll + (nl != NULL);
	return 1;
}

/* 32 hex digits into 16 bytes; -1 when they are not. */
static int
md5_of_hex(const char *s, size_t len, unsigned char out[16])
{
	return len == 32 && hex_decode(s, len, out, 16) == 16 ? 0 : -1;
}

/* apk's "Q1" + base64 of a SHA-1 into 20 bytes; -1 when it is not. */
static int
sha1_of_q1(const char *s, size_t len, unsigned char out[20])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char raw[21];
	uint32_t acc = 0;
	size_t i, n = 0;
	int bits = 0;
	const char *p;

	if (len != 30 || s[0] != 'Q' || s[1] != '1')
		return -1;
	for (i = 2; i < len && s[i] != '='; i++) {
		p = memchr(b64, s[i], 64);
		if (p == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == sizeof(raw))
				return -1;
			raw[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (n != 20)
		return -1;
	memcpy(out, raw, 20);
	return 0;
}

/* "Field: value" -> value when the line is that field, else NULL. */
static const char *
field(const char *ls, size_t ll, const char *name, size_t *vl)
{
	size_t n = strlen(name);

	if (ll <= n || strncmp(ls, name, n) != 0 || ls[n] != ':')
		return NULL;
	ls += n + 1;
	ll -= n + 1;
	while (ll > 0 && (*ls == ' ' || *ls == '\t')) {
		ls++;
		ll--;
	}
	while (ll > 0 && (ls[ll - 1] == ' ' || ls[ll - 1] == '\r'))
		ll--;
	*vl = ll;
	return ls;
}

static char *
strndup_safe(const char *s, size_t n, size_t max)
{
	return n > max ? NULL : strndup(s, n);
}

/* ---- dpkg ---- */

/* One paragraph of the status file, as read. */
struct para {
	char *name, *version, *arch, *status;
	int multi_same;
	const char *conf;	/* the Conffiles lines, in the status buffer */
	size_t conf_len;
};

static void
para_free(struct para *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->status);
	memset(p, 0, sizeof(*p));
}

/* Is a package of this Status: there, files and all? */
static int
installed(const char *status)
{
	static const char *const states[] = {
		"installed", "unpacked", "half-installed", "half-configured",
		"triggers-awaited", "triggers-pending",
	};
	const char *last = status != NULL ? strrchr(status, ' ') : NULL;
	size_t i;

	if (last == NULL)
		return 0;
	for (i = 0; i < sizeof(states) / sizeof(*states); i++)
		if (strcmp(last + 1, states[i]) == 0)
			return 1;
	return 0;
}

struct reader {
	pkgdb_read_fn read;
	void *arg;
	struct buf info;	/* scratch: one info file */
	uint64_t total;		/* bytes of info files read so far */
};

/* Read info/NAME[:ARCH].EXT into r->info: 0, 1 absent, -EFBIG, -errno. */
static int
read_info(struct reader *r, const struct pkg *p, const char *ext)
{
	char path[600];
	int rc = 1;

	if (strlen(p->name) > 200 || strlen(p->arch) > 60 ||
	    strchr(p->name, '/') != NULL || strchr(p->arch, '/') != NULL)
		return 1;
	buf_reset(&r->info);
	if (p->multi_same || p->arch[0] != '\0') {
		snprintf(path, sizeof(path), PKGDB_DPKG_INFO "%s:%s.%s", p->name,
		    p->arch, ext);
		rc = r->read(r->arg, path, &r->info);
	}
	if (rc == 1) {
		buf_reset(&r->info);
		snprintf(path, sizeof(path), PKGDB_DPKG_INFO "%s.%s", p->name,
		    ext);
		rc = r->read(r->arg, path, &r->info);
	}
	/* every list one 16 MiB file hard-linked: bounded in all too */
	if (rc == 0 && (r->total += r->info.len) > PKGDB_MAX_TOTAL)
		return -E2BIG;
	return rc;
}

/* The paths of package `pi` from its .list, then their md5 from its
 * .md5sums.  -ENOMEM / -E2BIG fail; a list that cannot be read leaves
 * the package's files unknown. */
static int
dpkg_files(struct pkgdb *db, struct reader *r, uint32_t pi)
{
	unsigned char path[PKGDB_MAX_PATH + 1], md5[16];
	const char *ls;
	size_t off = 0, ll, n;
	int rc;

	rc = read_info(r, &db->pkgs[pi], "list");
	if (rc == -E2BIG)
		return rc;
	if (rc != 0) {
		db->pkgs[pi].files_unknown = 1;
		return 0;
	}
	while (next_line(&r->info, &off, &ls, &ll)) {
		if (ll == 0 || ls[0] != '/' || (ll == 2 && ls[1] == '.'))
			continue;
		rc = pkgdb_add_file(db, pi, (const unsigned char *)ls, ll,
		    NULL, 0);
		if (rc < 0)
			return rc;
	}
	rc = read_info(r, &db->pkgs[pi], "md5sums");
	if (rc != 0)
		return rc == -E2BIG ? rc : 0;
	off = 0;
	while (next_line(&r->info, &off, &ls, &ll)) {
		/* "<32 hex>  usr/bin/x" */
		if (ll < 35 || ls[32] != ' ' || md5_of_hex(ls, 32, md5) < 0)
			continue;
		ls += 33;
		ll -= 33;
		while (ll > 0 && *ls == ' ') {
			ls++;
			ll--;
		}
		if (ll == 0 || ll >= PKGDB_MAX_PATH)
			continue;
		n = 0;
		if (ls[0] != '/')
			path[n++] = '/';
		memcpy(path + n, ls, ll);
		rc = pkgdb_add_file(db, pi, path, n + ll, md5, 16);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The md5 of each conffile: " /etc/x <hex>[ obsolete]" lines. */
static int
dpkg_conffiles(struct pkgdb *db, uint32_t pi, const char *s, size_t len)
{
	unsigned char md5[16];
	const char *e = s + len, *nl, *sp;
	int rc;

	while (s < e) {
		nl = memchr(s, '\n', (size_t)(e - s));
		if (nl == NULL)
			nl = e;
		while (s < nl && *s == ' ')
			s++;
		sp = memchr(s, ' ', (size_t)(nl - s));
		if (sp != NULL && s[0] == '/' && nl - sp > 32 &&
		    md5_of_hex(sp + 1, 32, md5) == 0 &&
		    (nl - sp == 33 || sp[33] == ' ')) {
			rc = pkgdb_add_file(db, pi, (const unsigned char *)s,
			    (size_t)(sp - s), md5, 16);
			if (rc < 0)
				return rc;
		}
		s = nl + 1;
	}
	return 0;
}

/* base's packages by name, for finding the one a package of the tree
 * is (a sorted array of indices: no quadratic search in a hostile
 * database of many packages). */
static const struct pkgdb *sort_base;

static int
cmp_base(const void *a, const void *b)
{
	const struct pkg *x = &sort_base->pkgs[*(const uint32_t *)a];
	const struct pkg *y = &sort_base->pkgs[*(const uint32_t *)b];
	int c = strcmp(x->name, y->name);

	if (c == 0)
		c = strcmp(x->arch, y->arch);
	return c != 0 ? c : strcmp(x->version, y->version);
}

uint32_t *
pkgdb_index(const struct pkgdb *base)
{
	uint32_t *v = malloc((base->npkgs + 1) * sizeof(*v));
	size_t i;

	if (v == NULL)
		return NULL;
	for (i = 0; i < base->npkgs; i++)
		v[i] = (uint32_t)i;
	sort_base = base;
	qsort(v, base->npkgs, sizeof(*v), cmp_base);
	sort_base = NULL;
	return v;
}

/* The index in base of the package `p` (same name, arch, version), or
 * -1. */
long
pkgdb_index_find(const struct pkgdb *base, const uint32_t *idx,
    const struct pkg *p)
{
	size_t lo = 0, hi = base->npkgs, mid;
	const struct pkg *q;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		q = &base->pkgs[idx[mid]];
		c = strcmp(p->name, q->name);
		if (c == 0)
			c = strcmp(p->arch, q->arch);
		if (c == 0)
			c = strcmp(p->version, q->version);
		if (c == 0)
			return (long)idx[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * The packages whose lists the tree lacks take base's (a container's
 * upper dir holds the info files of what was installed in it only):
 * map[bi] is 1 + the index in db of base's package bi, or 0.
 */
static int
take_base_files(struct pkgdb *db, const struct pkgdb *base,
    const uint32_t *map)
{
	const struct pkg_file *f;
	size_t i;
	int rc;

	for (i = 0; i < base->nfiles; i++) {
		f = &base->files[i];
		if (map[f->pkg] == 0)
			continue;
		rc = pkgdb_add_file(db, map[f->pkg] - 1, f->path, f->len,
		    f->digest, f->digest_len);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < base->npkgs; i++)
		if (map[i] != 0)
			db->pkgs[map[i] - 1].files_unknown =
			    base->pkgs[i].files_unknown;
	return 0;
}

/* Add the package of paragraph `p`, and its files. */
static int
dpkg_package(struct pkgdb *db, struct reader *r, struct para *p,
    const struct pkgdb *base, const uint32_t *idx, uint32_t *map)
{
	long bi;
	int pi, rc;

	if (p->name == NULL || !installed(p->status))
		return 0;
	pi = pkgdb_add_pkg(db, p->name, p->version, p->arch);
	if (pi < 0)
		return pi;
	db->pkgs[pi].multi_same = p->multi_same;
	rc = dpkg_files(db, r, (uint32_t)pi);
	if (rc == 0 && db->pkgs[pi].files_unknown && base != NULL &&
	    (bi = pkgdb_index_find(base, idx, &db->pkgs[pi])) >= 0)
		map[bi] = (uint32_t)pi + 1;
	if (rc == 0 && p->conf != NULL)
		rc = dpkg_conffiles(db, (uint32_t)pi, p->conf, p->conf_len);
	return rc;
}

/* One line of a status paragraph into p (a Conffiles continuation line
 * extends p->conf). */
static int
dpkg_field(struct para *p, const char *ls, size_t ll, int *in_conf)
{
	const char *v;
	char **dst = NULL;
	size_t vl;

	if (ls[0] == ' ' || ls[0] == '\t') {
		if (*in_conf)
			p->conf_len = (size_t)(ls + ll - p->conf);
		return 0;
	}
	*in_conf = 0;
	if ((v = field(ls, ll, "Package", &vl)) != NULL)
		dst = &p->name;
	else if ((v = field(ls, ll, "Version", &vl)) != NULL)
		dst = &p->version;
	else if ((v = field(ls, ll, "Architecture", &vl)) != NULL)
		dst = &p->arch;
	else if ((v = field(ls, ll, "Status", &vl)) != NULL)
		dst = &p->status;
	else if ((v = field(ls, ll, "Multi-Arch", &vl)) != NULL)
		p->multi_same = vl == 4 && memcmp(v, "same", 4) == 0;
	else if (ll >= 10 && memcmp(ls, "Conffiles:", 10) == 0) {
		*in_conf = 1;
		p->conf = ls + ll;	/* the lines that follow */
		p->conf_len = 0;
	}
	if (dst == NULL)
		return 0;
	free(*dst);
	*dst = strndup_safe(v, vl, 255);
	return *dst == NULL && vl <= 255 ? -ENOMEM : 0;
}

static int
dpkg_read(struct pkgdb *db, struct reader *r, const struct buf *status,
    const struct pkgdb *base)
{
	struct para p;
	uint32_t *idx = NULL, *map = NULL;
	const char *ls;
	size_t off = 0, ll;
	int rc = 0, in_conf = 0;

	if (base != NULL && base->npkgs > 0) {
		idx = pkgdb_index(base);
		map = calloc(base->npkgs, sizeof(*map));
		if (idx == NULL || map == NULL) {
			free(idx);
			free(map);
			return -ENOMEM;
		}
	}
	memset(&p, 0, sizeof(p));
	while (rc == 0 && next_line(status, &off, &ls, &ll)) {
		if (ll == 0 || (ll == 1 && ls[0] == '\r')) {
			rc = dpkg_package(db, r, &p, base, idx, map);
			para_free(&p);
			in_conf = 0;
			continue;
		}
		rc = dpkg_field(&p, ls, ll, &in_conf);
	}
	if (rc == 0)
		rc = dpkg_package(db, r, &p, base, idx, map);
	para_free(&p);
	if (rc == 0 && map != NULL)
		rc = take_base_files(db, base, map);
	free(idx);
	free(map);
	return rc;
}

/* ---- apk ---- */

static int
apk_read(struct pkgdb *db, const struct buf *installed_db)
{
	unsigned char path[PKGDB_MAX_PATH + 2], sha1[20];
	char name[256], version[256], arch[64];
	const char *ls;
	size_t off = 0, ll, dl = 0, fl = 0;
	int rc = 0, pi = -1;

	name[0] = version[0] = arch[0] = '\0';
	while (rc == 0 && next_line(installed_db, &off, &ls, &ll)) {
		if (ll == 0) {
			pi = -1;
			name[0] = version[0] = arch[0] = '\0';
			continue;
		}
		if (ll < 2 || ls[1] != ':')
			continue;
		ls += 2;
		ll -= 2;
		switch (ls[-2]) {
		case 'P':
			snprintf(name, sizeof(name), "%.*s", (int)(ll < 255 ?
			    ll : 255), ls);
			break;
		case 'V':
			snprintf(version, sizeof(version), "%.*s",
			    (int)(ll < 255 ? ll : 255), ls);
			break;
		case 'A':
			snprintf(arch, sizeof(arch), "%.*s", (int)(ll < 63 ?
			    ll : 63), ls);
			break;
		case 'F':
			/* a dir: "usr/bin"; its files follow */
			if (ll + 1 > PKGDB_MAX_PATH)
				continue;
			if (pi < 0 && name[0] != '\0') {
				pi = pkgdb_add_pkg(db, name, version, arch);
				if (pi < 0)
					return pi;
			}
			path[0] = '/';
			memcpy(path + 1, ls, ll);
			dl = ll + 1;
			fl = 0;
			if (pi >= 0)
				rc = pkgdb_add_file(db, (uint32_t)pi, path, dl,
				    NULL, 0);
			break;
		case 'R':
			if (pi < 0 || dl == 0 || dl + 1 + ll > PKGDB_MAX_PATH)
				continue;
			path[dl] = '/';
			memcpy(path + dl + 1, ls, ll);
			fl = dl + 1 + ll;
			rc = pkgdb_add_file(db, (uint32_t)pi, path, fl, NULL,
			    0);
			break;
		case 'Z':
			if (pi >= 0 && fl > 0 && sha1_of_q1(ls, ll, sha1) == 0)
				rc = pkgdb_add_file(db, (uint32_t)pi, path, fl,
				    sha1, 20);
			fl = 0;
			break;
		default:
			break;
		}
	}
	return rc;
}

/* ---- reading ---- */

/* A read that failed: the database cannot be believed, and why. */
static void
set_broken(struct pkgdb *db, int rc, const char *what)
{
	snprintf(db->broken, sizeof(db->broken), "%s: %s", what,
	    rc == -EFBIG ? "too big" : rc == -E2BIG ? "too many packages "
	    "or paths" : strerror(-rc));
}

/*
 * An rpm database (Berkeley DB or SQLite, in /var/lib/rpm or
 * /usr/lib/sysimage/rpm) is not read: no well-kept library of Debian's
 * reads it without librpm's whole stack.  It is noticed, so that the
 * image's events say "unknown" (not "unowned") and why.  Probed with a
 * 1-byte cap: any such file is "too big", which is all it takes.
 */
static void
rpm_present(struct pkgdb *db, pkgdb_read_fn read, void *arg)
{
	static const char *const files[] = {
		"/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages",
		"/usr/lib/sysimage/rpm/rpmdb.sqlite",
		"/usr/lib/sysimage/rpm/Packages",
	};
	struct buf probe;
	size_t i;
	int rc;

	buf_init(&probe, 1);
	for (i = 0; i < sizeof(files) / sizeof(*files); i++) {
		buf_reset(&probe);
		rc = read(arg, files[i], &probe);
		if (rc == 0 || rc == -EFBIG) {
			db->manager = PKG_RPM;
			snprintf(db->broken, sizeof(db->broken), "%s: rpm "
			    "databases are not read", files[i]);
			break;
		}
	}
	buf_free(&probe);
}

/*
 * Read a database's main file.  Where no database is expected (an image
 * read for its baseline, or a container of an image without one), a path
 * that cannot be followed (a merged-/usr image's /lib is a symlink) means
 * there is none; where one is expected, the database is broken.
 */
static int
read_main(pkgdb_read_fn read, void *arg, const char *path, struct buf *out,
    const struct pkgdb *base)
{
	int rc;

	buf_reset(out);
	rc = read(arg, path, out);
	if (rc < 0 && rc != -EFBIG && rc != -ENOMEM &&
	    (base == NULL || base->manager == PKG_NONE))
		rc = 1;
	return rc;
}

int
pkgdb_read(struct pkgdb *db, const struct pkgdb *base, pkgdb_read_fn read,
    void *arg)
{
	static const struct {
		enum pkg_manager manager;
		const char *path;
	} mains[] = {
		{ PKG_DPKG, PKGDB_DPKG_STATUS }, { PKG_APK, PKGDB_APK_INSTALLED },
	};
	struct reader r;
	struct buf main;
	size_t i;
	int rc = 1;

	memset(&r, 0, sizeof(r));
	r.read = read;
	r.arg = arg;
	buf_init(&r.info, PKGDB_MAX_INFO);
	buf_init(&main, PKGDB_MAX_DB);
	db->manager = PKG_NONE;
	db->broken[0] = '\0';
	for (i = 0; rc == 1 && i < sizeof(mains) / sizeof(*mains); i++) {
		rc = read_main(read, arg, mains[i].path, &main, base);
		if (rc == 1)
			continue;
		db->manager = mains[i].manager;
		if (rc == 0)
			rc = db->manager == PKG_DPKG ? dpkg_read(db, &r, &main,
			    base) : apk_read(db, &main);
		if (rc < 0 && rc != -ENOMEM)
			set_broken(db, rc, mains[i].path);
	}
	if (rc == 1)
		rpm_present(db, read, arg);
	if (db->broken[0] != '\0')
		pkgdb_drop_entries(db);	/* not believed: not kept */
	buf_free(&main);
	buf_free(&r.info);
	return rc == -ENOMEM ? rc : 0;
}
