/*
 * pkgdb.h - an image's package database (dpkg, apk) read into memory:
 * which package owns each path, and the digest its manifest lists for
 * the file's content.  rpm databases (SQLite or Berkeley DB, in
 * /var/lib/rpm) are not read: noticed, they make every check "unknown".
 *
 * The database is a container's own files, written by an attacker like
 * any other: every read is bounded (PKGDB_MAX_*), a database that does
 * not parse or is too big is `broken` (its checks say "unknown"), never
 * a failure of the caller.
 */
#ifndef UW_PKGDB_H
#define UW_PKGDB_H

#include <stddef.h>
#include <stdint.h>

#include "upperwatch.h"
#include "util.h"

/* The files read: dpkg's status and info dir, apk's installed. */
#define PKGDB_DPKG_STATUS "/var/lib/dpkg/status"
#define PKGDB_DPKG_INFO "/var/lib/dpkg/info/"
#define PKGDB_APK_INSTALLED "/lib/apk/db/installed"
/* A path longer than this is no path an image holds. */
#define PKGDB_MAX_PATH 4096

/* A status or apk installed file bigger than this is not read. */
#define PKGDB_MAX_DB (64u << 20)
/* Nor a .list or .md5sums file bigger than this. */
#define PKGDB_MAX_INFO (16u << 20)
/* Packages, and paths owned, at most; the bytes of those paths; and the
 * bytes of info files read for one database (each hard-linked to one big
 * file costs the reader nothing). */
#define PKGDB_MAX_PKGS 100000
#define PKGDB_MAX_FILES 4000000
#define PKGDB_MAX_PATH_BYTES (256u << 20)
#define PKGDB_MAX_TOTAL (512ull << 20)
/* A file bigger than this is not hashed for its check ("unknown"). */
#define PKGDB_MAX_CHECK (64ull << 20)

/* PKG_RPM: an rpm database is there, and not read (db->broken says so):
 * its image's events say "unknown" rather than "unowned". */
enum pkg_manager { PKG_NONE = 0, PKG_DPKG, PKG_APK, PKG_RPM };

struct pkg {
	char *name, *version, *arch;	/* arch: "" when not said */
	int multi_same;		/* dpkg Multi-Arch: same (info is name:arch) */
	int files_unknown;	/* its file list could not be read */
};

struct pkg_file {
	unsigned char *path;	/* "/usr/bin/x" */
	size_t len;
	uint32_t pkg;		/* index into pkgs */
	uint8_t digest_len;	/* 0 none, 16 md5 (dpkg), 20 sha1 (apk) */
	unsigned char digest[20];
};

struct pkgdb {
	enum pkg_manager manager;	/* PKG_NONE: the image has none */
	char broken[160];	/* why it cannot be believed; "" if it can */
	struct pkg *pkgs;
	size_t npkgs, pcap;
	struct pkg_file *files;
	size_t nfiles, fcap;
	size_t *slots;		/* open addressing: index + 1, 0 empty */
	size_t nslots;
	uint64_t seed;
	size_t path_bytes;	/* of the paths in files */
	int unknown_lists;	/* a package lacks its list: 1, 0; -1 not
				 * known yet (package.c keeps it) */
};

/*
 * Read the file `path` ("/var/lib/dpkg/status") of the tree being read
 * into `out` (which refuses to grow past its cap).  0 when read, 1 when
 * there is no such regular file, -EFBIG when it is bigger than the cap,
 * another -errno when it cannot be read.
 */
typedef int (*pkgdb_read_fn)(void *arg, const char *path, struct buf *out);

/*
 * A pkgdb_read_fn over dirs (layers, an upper dir), top first: a path is
 * read from the first that holds it, never through a symlink or out of
 * the dir.  A whiteout ends the search (1); a symlink on the way, or
 * anything but a regular file, is an error (the database is broken).
 */
struct pkgdb_dirs {
	const int *fds;
	size_t count;
};
int pkgdb_read_dirs(void *arg, const char *path, struct buf *out);

void pkgdb_init(struct pkgdb *db);
void pkgdb_free(struct pkgdb *db);
/* Free its packages and paths, keeping its manager and why it is
 * broken. */
void pkgdb_drop_entries(struct pkgdb *db);

/* The packages of db sorted by name, arch and version (a malloc'd array
 * of indices), and the index in db of one like `p` through it, or -1. */
uint32_t *pkgdb_index(const struct pkgdb *db);
long pkgdb_index_find(const struct pkgdb *db, const uint32_t *idx,
    const struct pkg *p);

/*
 * Read the package database of a tree through `read`.  With `base` (the
 * image's database), a package whose file lists the tree lacks keeps
 * base's lists when base has it at the same version: a container's upper
 * dir holds only what a package manager changed.  Only memory failing
 * fails (-ENOMEM); a database that cannot be believed leaves db->broken.
 */
int pkgdb_read(struct pkgdb *db, const struct pkgdb *base,
    pkgdb_read_fn read, void *arg) UW_WARN_UNUSED;

/* Add a package or an owned path (the store loads a baseline's with
 * these).  -ENOMEM, -E2BIG past the limits, or 0 / the package index. */
int pkgdb_add_pkg(struct pkgdb *db, const char *name, const char *version,
    const char *arch) UW_WARN_UNUSED;
int pkgdb_add_file(struct pkgdb *db, uint32_t pkg, const unsigned char *path,
    size_t len, const unsigned char *digest, size_t digest_len)
    UW_WARN_UNUSED;

/* The owner of `path`, or NULL.  A merged-/usr image's packages list
 * /bin/x for what is /usr/bin/x: the other spelling is tried too. */
const struct pkg_file *pkgdb_find(const struct pkgdb *db,
    const unsigned char *path, size_t len);

/* Is `path` one of the database files pkgdb_read reads (a status,
 * info/NAME.list, info/NAME.md5sums, apk's installed)?  Its size cap, or
 * 0 when it is not. */
size_t pkgdb_wanted(const unsigned char *path, size_t len);

/* Is `path` a file of a package database itself ("dpkg", "apk"), or
 * NULL. */
const char *pkgdb_db_path(const unsigned char *path, size_t len);

const char *pkgdb_manager_name(enum pkg_manager m);
enum pkg_manager pkgdb_manager_from_name(const char *name);

/*
 * Does the content of the regular file open as `fd` have the digest `f`
 * lists?  UW_PKG_MATCH or UW_PKG_MISMATCH; UW_PKG_UNKNOWN when there is
 * no digest to compare, the file is bigger than PKGDB_MAX_CHECK or it
 * cannot be read.
 */
enum uw_package_check pkgdb_check_fd(const struct pkg_file *f, int fd);

#endif /* UW_PKGDB_H */
