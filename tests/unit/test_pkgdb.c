/*
 * test_pkgdb.c - reading dpkg and apk databases (pkgdb.c): owners, the
 * digests manifests list, a container's database read over the image's,
 * the content check, and databases an attacker wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "pkgdb.h"

/* A tree of files in memory, for pkgdb_read. */
struct mem {
	const char *path[16];
	const char *data[16];
	size_t len[16];		/* 0: strlen(data) */
	size_t n;
};

static int
mem_read(void *arg, const char *path, struct buf *out)
{
	const struct mem *m = arg;
	size_t i, len;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->path[i], path) != 0)
			continue;
		len = m->len[i] ? m->len[i] : strlen(m->data[i]);
		if (len > out->cap)
			return -EFBIG;
		buf_reset(out);
		return buf_add(out, m->data[i], len) < 0 ? -EFBIG : 0;
	}
	return 1;
}

static void
put(struct mem *m, const char *path, const char *data)
{
	m->path[m->n] = path;
	m->data[m->n] = data;
	m->len[m->n] = 0;
	m->n++;
}

static const struct pkg_file *
find(const struct pkgdb *db, const char *path)
{
	return pkgdb_find(db, (const unsigned char *)path, strlen(path));
}

static const char *
owner(const struct pkgdb *db, const char *path)
{
	const struct pkg_file *f = find(db, path);

	return f != NULL ? db->pkgs[f->pkg].name : "(none)";
}

static const char status[] =
    "Package: coreutils\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Version: 9.1-1\n"
    "Description: GNU core utilities\n"
    " with a continuation line: Package: fake\n"
    "\n"
    "Package: libfoo1\n"
    "Status: install ok installed\n"
    "Multi-Arch: same\n"
    "Architecture: amd64\n"
    "Version: 2.0\n"
    "Conffiles:\n"
    " /etc/foo.conf 0123456789abcdef0123456789abcdef\n"
    " /etc/old.conf 0123456789abcdef0123456789abcdee obsolete\n"
    "\n"
    "Package: gone\n"
    "Status: deinstall ok config-files\n"
    "Architecture: all\n"
    "Version: 1\n";

static void
test_dpkg(void)
{
	struct pkgdb db;
	struct mem m = { .n = 0 };
	const struct pkg_file *f;

	put(&m, "/var/lib/dpkg/status", status);
	put(&m, "/var/lib/dpkg/info/coreutils.list",
	    "/.\n/bin\n/bin/ls\n/usr/bin/env\nrelative/ignored\n");
	put(&m, "/var/lib/dpkg/info/coreutils.md5sums",
	    "f572d396fae9206628714fb2ce00f72e  bin/ls\n"
	    "nothex0000000000000000000000000  usr/bin/env\n"
	    "short  usr/bin/env\n");
	put(&m, "/var/lib/dpkg/info/libfoo1:amd64.list",
	    "/usr/lib/libfoo.so.1\n/etc/foo.conf\n");
	put(&m, "/var/lib/dpkg/info/gone.list", "/usr/bin/gone\n");
	pkgdb_init(&db);
	CHECK(pkgdb_read(&db, NULL, mem_read, &m) == 0, "dpkg read");
	CHECK_INT(db.manager, PKG_DPKG, "manager dpkg");
	CHECK_STR(db.broken, "", "not broken");
	CHECK_INT(db.npkgs, 2, "installed packages only (not config-files)");
	CHECK_STR(owner(&db, "/bin/ls"), "coreutils", "/bin/ls");
	CHECK_STR(owner(&db, "/usr/lib/libfoo.so.1"), "libfoo1",
	    "a Multi-Arch: same package's list is NAME:ARCH.list");
	CHECK_STR(owner(&db, "/usr/bin/gone"), "(none)",
	    "a package in config-files state owns no file");
	CHECK_STR(owner(&db, "relative/ignored"), "(none)",
	    "a relative line is no path");
	CHECK_STR(owner(&db, "/usr/bin/ls"), "coreutils",
	    "merged /usr: /usr/bin/ls is /bin/ls");
	CHECK_STR(owner(&db, "/usr/bin/fake"), "(none)",
	    "a continuation line is no field");
	f = find(&db, "/bin/ls");
	CHECK(f != NULL && f->digest_len == 16 && f->digest[0] == 0xf5 &&
	    f->digest[15] == 0x2e, "md5 of /bin/ls from .md5sums");
	f = find(&db, "/usr/bin/env");
	CHECK(f != NULL && f->digest_len == 0,
	    "bad md5sums lines give no digest");
	f = find(&db, "/etc/foo.conf");
	CHECK(f != NULL && f->digest_len == 16 && f->digest[0] == 0x01,
	    "a conffile's md5 from Conffiles");
	CHECK(find(&db, "/etc/old.conf") != NULL &&
	    find(&db, "/etc/old.conf")->digest[15] == 0xee,
	    "an obsolete conffile keeps its md5");
	CHECK(pkgdb_db_path((const unsigned char *)"/var/lib/dpkg/status",
	    20) != NULL, "the status is a database file");
	CHECK(pkgdb_db_path((const unsigned char *)"/var/lib/dpkgx", 14) ==
	    NULL, "a sibling dir is not");
	CHECK(pkgdb_wanted((const unsigned char *)
	    "/var/lib/dpkg/info/x.md5sums", 28) > 0, "md5sums are read");
	CHECK(pkgdb_wanted((const unsigned char *)
	    "/var/lib/dpkg/info/x.postinst", 29) == 0, "scripts are not");
	pkgdb_free(&db);
}

static void
test_over_base(void)
{
	struct pkgdb base, cur;
	struct mem img = { .n = 0 }, upper = { .n = 0 };

	put(&img, "/var/lib/dpkg/status", status);
	put(&img, "/var/lib/dpkg/info/coreutils.list", "/bin/ls\n");
	put(&img, "/var/lib/dpkg/info/libfoo1:amd64.list",
	    "/usr/lib/libfoo.so.1\n");
	pkgdb_init(&base);
	CHECK(pkgdb_read(&base, NULL, mem_read, &img) == 0, "image read");
	/* the container upgraded libfoo1 and installed bar */
	put(&upper, "/var/lib/dpkg/status",
	    "Package: coreutils\nStatus: install ok installed\n"
	    "Architecture: amd64\nVersion: 9.1-1\n\n"
	    "Package: libfoo1\nStatus: install ok installed\n"
	    "Multi-Arch: same\nArchitecture: amd64\nVersion: 2.1\n\n"
	    "Package: bar\nStatus: install ok unpacked\n"
	    "Architecture: all\nVersion: 1\n");
	put(&upper, "/var/lib/dpkg/info/bar.list", "/usr/bin/bar\n");
	pkgdb_init(&cur);
	CHECK(pkgdb_read(&cur, &base, mem_read, &upper) == 0,
	    "container read over the image");
	CHECK_STR(owner(&cur, "/bin/ls"), "coreutils",
	    "an unchanged package keeps the image's list");
	CHECK_STR(owner(&cur, "/usr/bin/bar"), "bar",
	    "a package being unpacked owns its files");
	CHECK_STR(owner(&cur, "/usr/lib/libfoo.so.1"), "(none)",
	    "an upgraded package does not take the old version's list");
	CHECK(cur.npkgs == 3 && cur.pkgs[1].files_unknown,
	    "and its files are unknown");
	pkgdb_free(&cur);
	pkgdb_free(&base);
}

static void
test_apk(void)
{
	struct pkgdb db;
	struct mem m = { .n = 0 };
	const struct pkg_file *f;
	char path[512], tmpl[] = "/tmp/uw-test-pkgdb.XXXXXX";
	struct buf b;
	FILE *in;
	int fd;

	snprintf(path, sizeof(path), "%s/tests/fixtures/apk/installed",
	    getenv("UW_SOURCE_ROOT") ? getenv("UW_SOURCE_ROOT") : "../..");
	buf_init(&b, 1 << 20);
	in = fopen(path, "rb");
	CHECK(in != NULL, "the apk fixture opens (%s)", path);
	if (in != NULL) {
		char block[4096];
		size_t n;

		while ((n = fread(block, 1, sizeof(block), in)) > 0)
			if (buf_add(&b, block, n) < 0)
				break;
		fclose(in);
	}
	m.path[0] = "/lib/apk/db/installed";
	m.data[0] = (const char *)b.data;
	m.len[0] = b.len;
	m.n = 1;
	pkgdb_init(&db);
	CHECK(pkgdb_read(&db, NULL, mem_read, &m) == 0, "apk read");
	CHECK_INT(db.manager, PKG_APK, "manager apk");
	CHECK_INT(db.npkgs, 2, "two packages");
	CHECK_STR(owner(&db, "/lib/ld-musl-x86_64.so.1"), "musl", "musl's");
	CHECK_STR(owner(&db, "/usr/bin/uwhello"), "uwhello", "uwhello's");
	CHECK_STR(owner(&db, "/etc/uwhello/uwhello.conf"), "uwhello",
	    "a file of a later F: dir");
	CHECK_STR(owner(&db, "/usr/bin"), "uwhello", "its dirs");
	f = find(&db, "/usr/bin/uwhello");
	CHECK(f != NULL && f->digest_len == 20, "a Q1 sum is a SHA-1");
	f = find(&db, "/usr/bin/uwbroken");
	CHECK(f != NULL && f->digest_len == 0, "a bad Q1 sum is none");
	/* the content check: "hello\n" is the uwhello fixture's SHA-1 */
	fd = mkstemp(tmpl);
	CHECK(fd >= 0 && write(fd, "hello\n", 6) == 6, "a file made");
	f = find(&db, "/usr/bin/uwhello");
	CHECK_INT(pkgdb_check_fd(f, fd), UW_PKG_MATCH, "its content matches");
	CHECK(pwrite(fd, "j", 1, 0) == 1, "changed");
	CHECK_INT(pkgdb_check_fd(f, fd), UW_PKG_MISMATCH,
	    "changed content mismatches");
	CHECK_INT(pkgdb_check_fd(find(&db, "/usr/bin/uwbroken"), fd),
	    UW_PKG_UNKNOWN, "no digest: unknown");
	close(fd);
	unlink(tmpl);
	pkgdb_free(&db);
	buf_free(&b);
}

static void
test_hostile(void)
{
	struct pkgdb db;
	struct mem m = { .n = 0 };
	char *big, *many;
	size_t i, n, len;

	/* too big to read: broken, not a failure */
	big = calloc(1, PKGDB_MAX_DB + 2);
	memset(big, 'A', PKGDB_MAX_DB + 1);
	put(&m, "/var/lib/dpkg/status", big);
	pkgdb_init(&db);
	CHECK(pkgdb_read(&db, NULL, mem_read, &m) == 0,
	    "a status past the cap is no failure");
	CHECK(db.manager == PKG_DPKG && strstr(db.broken, "too big") != NULL,
	    "but broken: %s", db.broken);
	pkgdb_free(&db);
	free(big);
	/* more packages than the cap */
	n = (size_t)PKGDB_MAX_PKGS + 1;
	many = malloc(n * 64);
	for (i = 0, len = 0; i < n; i++)
		len += (size_t)sprintf(many + len, "Package: p%zu\nStatus: "
		    "install ok installed\nVersion: 1\n\n", i);
	m.n = 0;
	put(&m, "/var/lib/dpkg/status", many);
	pkgdb_init(&db);
	CHECK(pkgdb_read(&db, NULL, mem_read, &m) == 0 &&
	    strstr(db.broken, "too many") != NULL,
	    "more packages than the cap: broken (%s)", db.broken);
	pkgdb_free(&db);
	free(many);
	/* names that would climb out of info/, a path of 5,000 bytes,
	 * bytes that are no text: skipped */
	big = malloc(6000);
	memset(big, 'x', 5999);
	big[0] = '/';
	big[5999] = '\0';
	m.n = 0;
	put(&m, "/var/lib/dpkg/status", "Package: ../../etc/shadow\n"
	    "Status: install ok installed\nVersion: 1\n\n"
	    "Package: ok\nStatus: install ok installed\nVersion: \xff\x01\n");
	put(&m, "/var/lib/dpkg/info/ok.list", big);
	put(&m, "/var/lib/dpkg/info/../../etc/shadow.list", "/owned\n");
	pkgdb_init(&db);
	CHECK(pkgdb_read(&db, NULL, mem_read, &m) == 0, "hostile names read");
	CHECK_STR(owner(&db, "/owned"), "(none)",
	    "a name with a slash reads no list");
	CHECK_INT(db.nfiles, 0, "a 5,000-byte path is skipped");
	pkgdb_free(&db);
	free(big);
	/* an apk database whose short lines name long paths: the bytes of
	 * the paths kept are bounded, and a broken database keeps none */
	{
		size_t dl = 4000, nr = 70000, off = 0;
		char *db_text = malloc(dl + 16 + nr * 12);

		off += (size_t)sprintf(db_text, "P:big\nV:1\nF:");
		memset(db_text + off, 'd', dl);
		off += dl;
		db_text[off++] = '\n';
		for (i = 0; i < nr; i++)
			off += (size_t)sprintf(db_text + off, "R:%zu\n", i);
		db_text[off] = '\0';
		m.n = 0;
		put(&m, "/lib/apk/db/installed", db_text);
		pkgdb_init(&db);
		CHECK(pkgdb_read(&db, NULL, mem_read, &m) == 0 &&
		    strstr(db.broken, "too many") != NULL && db.nfiles == 0 &&
		    db.npkgs == 0, "paths past 256 MiB in all: broken, and "
		    "nothing kept (%s, %zu paths)", db.broken, db.nfiles);
		pkgdb_free(&db);
		free(db_text);
	}
	/* an rpm database: noticed, not read */
	m.n = 0;
	put(&m, "/var/lib/rpm/rpmdb.sqlite", "SQLite format 3");
	pkgdb_init(&db);
	CHECK(pkgdb_read(&db, NULL, mem_read, &m) == 0 &&
	    db.manager == PKG_RPM && strstr(db.broken, "not read") != NULL,
	    "an rpm database is said not read (%s)", db.broken);
	pkgdb_free(&db);
	/* neither database */
	m.n = 0;
	pkgdb_init(&db);
	CHECK(pkgdb_read(&db, NULL, mem_read, &m) == 0 &&
	    db.manager == PKG_NONE, "no database: none");
	pkgdb_free(&db);
}

int
main(void)
{
	test_dpkg();
	test_over_base();
	test_apk();
	test_hostile();
	return check_done();
}
