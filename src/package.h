/*
 * package.h - a container's packages as the watcher sees them: the
 * image's database (from the baseline), the container's own when its
 * upper dir holds one (a package manager ran in it), each event's owner
 * and check, and the package transactions whose events are handed out
 * together as one incident.
 */
#ifndef UW_PACKAGE_H
#define UW_PACKAGE_H

#include <stdint.h>

#include "pathset.h"
#include "pkgdb.h"
#include "store.h"
#include "upperwatch.h"
#include "util.h"

/* A transaction ends when its database has been quiet this long, or at
 * the latest this long after it began: its events are held back till
 * then, so a container writing its database without end delays its
 * reports by PACKAGE_TXN_MAX_NS at the most. */
#define PACKAGE_TXN_QUIET_NS 3000000000LL
#define PACKAGE_TXN_MAX_NS 30000000000LL
/* Paths handed out this long before a transaction began are looked at
 * again with it (a package manager unpacks before it writes its
 * database); PKG_RECENT of them at most. */
#define PACKAGE_RECENT_NS 3000000000LL
#define PKG_RECENT 64

/* A file added while a transaction held its path, as it was then: handed
 * out as it was if it is gone when the transaction ends (a file made and
 * removed under cover of a package install is still reported). */
#define PKG_HELD_MAX 4096

struct pkg_held {
	unsigned char *path;
	size_t len;
	struct uw_record rec;	/* path and caps point into this */
	unsigned char caps[64];
};

struct pkg_recent {
	unsigned char *path;	/* NULL: empty */
	size_t len;
	enum uw_package_check check;	/* it was handed out with */
	int64_t ns;
};

/* Bytes a view may hash for content checks: a bucket refilled at this
 * rate up to its size, so that files a container owns through its own
 * database cannot keep the watcher hashing. */
#define PACKAGE_CHECK_RATE (256ll << 20)	/* per second */
#define PACKAGE_CHECK_BURST (1ll << 30)

struct pkgview {
	struct pkgdb base;	/* the image's, from its baseline */
	uint32_t *base_idx;	/* base's packages, sorted (pkgdb_index) */
	int64_t check_tokens, check_ns;	/* the hashing bucket */
	struct pkgdb cur;	/* the container's own, read over base */
	int has_cur;		/* cur is in use */
	char sig[256];		/* of the upper's database files, as read */
	struct uw_package pkg;	/* what the last annotated event names */
	/* the transaction going on: 0 when none */
	int64_t txn_start_ns, txn_last_ns;
	struct pathset deferred;	/* its paths, held back */
	struct pkg_held *held;	/* PKG_HELD_MAX at most */
	size_t nheld;
	struct pkg_recent recent[PKG_RECENT];	/* a ring */
	unsigned recent_next;
	uint64_t rechecked;	/* paths looked at again with one */
};

void pkgview_init(struct pkgview *v);
void pkgview_free(struct pkgview *v);

/* The baseline's database of `image`, and the container's own in the
 * upper dir `upper_fd` when it has one.  -ENOMEM only: a baseline
 * without packages gives a view without them. */
int pkgview_load(struct pkgview *v, struct store *store, const char *image,
    int upper_fd, struct uw_error *err) UW_WARN_UNUSED;

/* What changed in the container's package set since the last read:
 * "installed a 1.0, upgraded b 1.0 -> 1.1, removed c 2.0" into `out`
 * (cut to its cap), and how many packages changed; re-reads the upper's
 * database when its files changed.  -ENOMEM only. */
int pkgview_refresh(struct pkgview *v, int upper_fd, struct buf *out)
    UW_WARN_UNUSED;

/* Remember a path handed out now (the oldest is dropped), and forget
 * them all. */
void pkgview_recent_add(struct pkgview *v, const unsigned char *path,
    size_t len, enum uw_package_check check, int64_t now);
void pkgview_recent_clear(struct pkgview *v);

/* Keep a copy of an added file's event while its path is held (1, its
 * index + 1 in *slot; 0 when PKG_HELD_MAX are kept; -ENOMEM), and drop
 * them all. */
int pkgview_held_add(struct pkgview *v, const struct uw_event *ev,
    int64_t *slot);
void pkgview_held_clear(struct pkgview *v);

/* Is there a package database to speak of (the image's or the
 * container's)? */
int pkgview_active(const struct pkgview *v);

/* The owner of `path` in the current database (arg: the view), for
 * uw.package: 1 and *out, or 0.  The strings live till the next
 * refresh. */
int pkgview_owner(void *arg, const unsigned char *path, size_t len,
    struct uw_package *out);

/*
 * Set ev->package and ev->package_check from the current database; the
 * content of a file is read from upper_fd (never through a symlink).
 * ev->package points into v until the next call.  `txn_files`: for a
 * database file's own event at the end of a transaction, how many other
 * paths changed with it (a database that gained packages while no file
 * changed is a "mismatch"); -1 outside one.
 */
void pkgview_annotate(struct pkgview *v, int upper_fd, struct uw_event *ev,
    int64_t txn_files, int txn_changed);

/* The package database of the image whose layers (top first) are being
 * recorded as image_id, read from the topmost layer that holds each of
 * its files, into the open baseline transaction. */
int package_record_layers(struct store *store, int64_t image_id,
    const char *const *layers, size_t count, struct uw_error *err)
    UW_WARN_UNUSED;

#endif /* UW_PACKAGE_H */
