/*
 * pkgdb.c - a package database in memory (pkgdb.h): packages, the paths
 * they own in a hash map keyed with a random seed (the names are the
 * container's), the merged-/usr spellings, reading its files from dirs
 * without following a symlink, and the content check.  The parsers of
 * dpkg's and apk's text are pkgdb_parse.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "hash.h"
#include "pkgdb.h"
#include "walk.h"

/* ---- the in-memory database ---- */

void
pkgdb_init(struct pkgdb *db)
{
	memset(db, 0, sizeof(*db));
	db->unknown_lists = -1;
	if (getrandom(&db->seed, sizeof(db->seed), 0) !=
	    (ssize_t)sizeof(db->seed))
		db->seed = (uint64_t)now_mono_ns();
}

void
pkgdb_drop_entries(struct pkgdb *db)
{
	enum pkg_manager m = db->manager;
	char why[sizeof(db->broken)];

	memcpy(why, db->broken, sizeof(why));
	pkgdb_free(db);
	pkgdb_init(db);
	db->manager = m;
	memcpy(db->broken, why, sizeof(why));
}

void
pkgdb_free(struct pkgdb *db)
{
	size_t i;

	for (i = 0; i < db->npkgs; i++) {
		free(db->pkgs[i].name);
		free(db->pkgs[i].version);
		free(db->pkgs[i].arch);
	}
	for (i = 0; i < db->nfiles; i++)
		free(db->files[i].path);
	free(db->pkgs);
	free(db->files);
	free(db->slots);
	memset(db, 0, sizeof(*db));
}

static size_t
slot_of(const struct pkgdb *db, const unsigned char *p, size_t len)
{
	return (size_t)XXH3_64bits_withSeed(p, len, db->seed) &
	    (db->nslots - 1);
}

/* The index of `path` in db->files, or -1. */
static long
find_index(const struct pkgdb *db, const unsigned char *p, size_t len)
{
	size_t s, f;

	if (db->nslots == 0)
		return -1;
	for (s = slot_of(db, p, len); db->slots[s] != 0;
	    s = (s + 1) & (db->nslots - 1)) {
		f = db->slots[s] - 1;
		if (db->files[f].len == len &&
		    memcmp(db->files[f].path, p, len) == 0)
			return (long)f;
	}
	return -1;
}

static int
grow_slots(struct pkgdb *db)
{
	size_t n = db->nslots ? db->nslots * 2 : 1024, i, s;
	size_t *v = calloc(n, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	free(db->slots);
	db->slots = v;
	db->nslots = n;
	for (i = 0; i < db->nfiles; i++) {
		s = slot_of(db, db->files[i].path, db->files[i].len);
		while (v[s] != 0)
			s = (s + 1) & (n - 1);
		v[s] = i + 1;
	}
	return 0;
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

int
pkgdb_add_pkg(struct pkgdb *db, const char *name, const char *version,
    const char *arch)
{
	struct pkg *p;

	if (db->npkgs >= PKGDB_MAX_PKGS)
		return -E2BIG;
	if (db->npkgs == db->pcap) {
		size_t n = db->pcap ? db->pcap * 2 : 64;

		p = realloc(db->pkgs, n * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		db->pkgs = p;
		db->pcap = n;
	}
	p = &db->pkgs[db->npkgs];
	memset(p, 0, sizeof(*p));
	p->name = dup_or_empty(name);
	p->version = dup_or_empty(version);
	p->arch = dup_or_empty(arch);
	if (p->name == NULL || p->version == NULL || p->arch == NULL) {
		free(p->name);
		free(p->version);
		free(p->arch);
		return -ENOMEM;
	}
	return (int)db->npkgs++;
}

int
pkgdb_add_file(struct pkgdb *db, uint32_t pkg, const unsigned char *path,
    size_t len, const unsigned char *digest, size_t digest_len)
{
	struct pkg_file *f;
	long have;
	size_t s;
	int rc;

	if (len == 0 || len > PKGDB_MAX_PATH || path[0] != '/' ||
	    memchr(path, '\0', len) != NULL || digest_len > sizeof(f->digest))
		return 0;	/* not a path an image can hold: skipped */
	have = find_index(db, path, len);
	if (have >= 0) {
		/* a dir many packages list: its first owner; a file's
		 * digest, from whichever list gives one */
		f = &db->files[have];
		if (f->digest_len == 0 && digest_len > 0 && f->pkg == pkg) {
			memcpy(f->digest, digest, digest_len);
			f->digest_len = (uint8_t)digest_len;
		}
		return 0;
	}
	if (db->nfiles >= PKGDB_MAX_FILES ||
	    db->path_bytes + len > PKGDB_MAX_PATH_BYTES)
		return -E2BIG;
	if ((db->nfiles + 1) * 2 > db->nslots && (rc = grow_slots(db)) < 0)
		return rc;
	if (db->nfiles == db->fcap) {
		size_t n = db->fcap ? db->fcap * 2 : 1024;

		f = realloc(db->files, n * sizeof(*f));
		if (f == NULL)
			return -ENOMEM;
		db->files = f;
		db->fcap = n;
	}
	f = &db->files[db->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = malloc(len);
	if (f->path == NULL)
		return -ENOMEM;
	memcpy(f->path, path, len);
	f->len = len;
	db->path_bytes += len;
	f->pkg = pkg;
	if (digest_len > 0)
		memcpy(f->digest, digest, digest_len);
	f->digest_len = (uint8_t)digest_len;
	for (s = slot_of(db, path, len); db->slots[s] != 0;
	    s = (s + 1) & (db->nslots - 1))
		continue;
	db->slots[s] = ++db->nfiles;
	return 0;
}

/* The spellings of a merged-/usr path: /bin/x and /usr/bin/x. */
static const char *const usr_aliases[][2] = {
	{ "/bin/", "/usr/bin/" }, { "/sbin/", "/usr/sbin/" },
	{ "/lib/", "/usr/lib/" }, { "/lib32/", "/usr/lib32/" },
	{ "/lib64/", "/usr/lib64/" }, { "/libx32/", "/usr/libx32/" },
};

const struct pkg_file *
pkgdb_find(const struct pkgdb *db, const unsigned char *path, size_t len)
{
	unsigned char alt[PKGDB_MAX_PATH + 8];
	size_t i, a, b;
	long f;

	f = find_index(db, path, len);
	if (f >= 0)
		return &db->files[f];
	for (i = 0; i < sizeof(usr_aliases) / sizeof(*usr_aliases); i++) {
		for (a = 0; a < 2; a++) {
			const char *from = usr_aliases[i][a];
			const char *to = usr_aliases[i][!a];
			size_t fl = strlen(from), tl = strlen(to);

			if (len < fl || memcmp(path, from, fl) != 0 ||
			    len - fl + tl > sizeof(alt))
				continue;
			memcpy(alt, to, tl);
			b = len - fl;
			memcpy(alt + tl, path + fl, b);
			f = find_index(db, alt, tl + b);
			if (f >= 0)
				return &db->files[f];
		}
	}
	return NULL;
}

const char *
pkgdb_db_path(const unsigned char *path, size_t len)
{
	static const struct {
		const char *dir, *manager;
	} dbs[] = {
		{ "/var/lib/dpkg", "dpkg" }, { "/lib/apk/db", "apk" },
	};
	size_t i, n;

	for (i = 0; i < sizeof(dbs) / sizeof(*dbs); i++) {
		n = strlen(dbs[i].dir);
		if (len >= n && memcmp(path, dbs[i].dir, n) == 0 &&
		    (len == n || path[n] == '/'))
			return dbs[i].manager;
	}
	return NULL;
}

static int
ends_with(const unsigned char *p, size_t len, const char *tail)
{
	size_t n = strlen(tail);

	return len >= n && memcmp(p + len - n, tail, n) == 0;
}

size_t
pkgdb_wanted(const unsigned char *path, size_t len)
{
	size_t n = strlen(PKGDB_DPKG_INFO);

	if ((len == strlen(PKGDB_DPKG_STATUS) && memcmp(path, PKGDB_DPKG_STATUS,
	    len) == 0) || (len == strlen(PKGDB_APK_INSTALLED) &&
	    memcmp(path, PKGDB_APK_INSTALLED, len) == 0))
		return PKGDB_MAX_DB;
	if (len > n && memcmp(path, PKGDB_DPKG_INFO, n) == 0 &&
	    memchr(path + n, '/', len - n) == NULL &&
	    (ends_with(path, len, ".list") || ends_with(path, len,
	    ".md5sums")))
		return PKGDB_MAX_INFO;
	return 0;
}

const char *
pkgdb_manager_name(enum pkg_manager m)
{
	return m == PKG_DPKG ? "dpkg" : m == PKG_APK ? "apk" : m == PKG_RPM ?
	    "rpm" : "none";
}

enum pkg_manager
pkgdb_manager_from_name(const char *name)
{
	if (name == NULL)
		return PKG_NONE;
	if (strcmp(name, "dpkg") == 0)
		return PKG_DPKG;
	if (strcmp(name, "apk") == 0)
		return PKG_APK;
	if (strcmp(name, "rpm") == 0)
		return PKG_RPM;
	return PKG_NONE;
}

/* ---- reading from dirs ---- */

/* The regular file open as `fd` into out, up to out's cap. */
static int
read_whole(int fd, struct buf *out)
{
	unsigned char block[65536];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) != 0)
		return -errno;
	if ((uint64_t)st.st_size > out->cap)
		return -EFBIG;
	for (;;) {
		n = read(fd, block, sizeof(block));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (buf_add(out, block, (size_t)n) < 0)
			return -EFBIG;	/* it grew while read */
	}
}

int
pkgdb_read_dirs(void *arg, const char *path, struct buf *out)
{
	const struct pkgdb_dirs *d = arg;
	struct stat st;
	size_t i;
	int pfd, fd, rc;

	for (i = 0; i < d->count; i++) {
		pfd = walk_open_beneath(d->fds[i], path, 0);
		if (pfd == -ENOENT)
			continue;	/* not in this layer: the next */
		if (pfd < 0)
			return pfd;	/* through a symlink: not believed */
		if (fstat(pfd, &st) != 0) {
			rc = -errno;
			close(pfd);
			return rc;
		}
		if (!S_ISREG(st.st_mode)) {
			/* a whiteout hides the layers below: none; a FIFO,
			 * a device, a dir is no database file to believe */
			close(pfd);
			return S_ISCHR(st.st_mode) && st.st_rdev == 0 ? 1 :
			    -EINVAL;
		}
		fd = walk_reopen_file(pfd, &st);
		close(pfd);
		if (fd < 0)
			return fd;
		buf_reset(out);
		rc = read_whole(fd, out);
		close(fd);
		return rc;
	}
	return 1;
}

/* ---- checking a file ---- */

enum uw_package_check
pkgdb_check_fd(const struct pkg_file *f, int fd)
{
	unsigned char md[HASH_DIGEST_MAX];
	size_t len = 0;

	if (f->digest_len != 16 && f->digest_len != 20)
		return UW_PKG_UNKNOWN;
	if (hash_digest_fd(fd, f->digest_len == 16 ? HASH_MD5 : HASH_SHA1,
	    PKGDB_MAX_CHECK, md, &len) < 0 || len != f->digest_len)
		return UW_PKG_UNKNOWN;
	return memcmp(md, f->digest, len) == 0 ? UW_PKG_MATCH :
	    UW_PKG_MISMATCH;
}
