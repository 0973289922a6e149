/*
 * upperwatch.h - the public API of libupperwatch.
 *
 * libupperwatch records what a container image's files should be (its
 * baseline) and, later, compares what a running container changed against
 * it.  Every handle is opaque; every function that can fail returns 0 (or
 * a pointer) on success and a negative errno-style code (or NULL) on
 * failure, with a one-line reason in the caller's struct uw_error.
 *
 * Threading: a struct uw_db may be used by one thread at a time.  Distinct
 * handles may be used from distinct threads.  Callbacks run on the calling
 * thread, before the function that takes them returns; the records they
 * are given are valid only for the duration of the callback.
 *
 * Process-wide state, which an embedding program must know of:
 *  - One watcher (uw_watch) at a time per process: it uses
 *    libinotifytools, whose inotify instance lives in that library's
 *    globals.  A second uw_watch, in any thread, while one runs is not
 *    supported.  Baselines, diffs and policy evaluation have no such
 *    limit.
 *  - Hashing reads large files through a read-only mapping, and a file
 *    truncated under the mapping raises SIGBUS.  The first hash installs
 *    a SIGBUS handler (SA_SIGINFO | SA_NODEFER) that turns such a fault
 *    in a hashing thread into a re-read with pread; any other SIGBUS is
 *    handed back to the disposition that was there before (restored,
 *    and the faulting access runs again).  A program that installs its
 *    own SIGBUS handler after that replaces ours: hashing a file
 *    truncated while it is read then fails that program's way.
 *  - Alerts to a URL initialise libcurl (curl_global_init) in the
 *    watcher, before its sender thread starts; alerts to syslog call
 *    openlog("upperwatch", LOG_PID | LOG_NDELAY, LOG_DAEMON).
 *  - uw_watch journals on a thread of its own, started and joined
 *    within the call, with a second connection to the database's file
 *    (by its path) and every signal blocked; no callback runs on it.
 *  - Nothing else: no other signal handler, no atexit, no environment.
 */
#ifndef UPPERWATCH_H
#define UPPERWATCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define UW_API __attribute__((visibility("default")))
#define UW_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define UW_API
#define UW_WARN_UNUSED
#endif

#define UW_ERRLEN 512

/* Why a call failed: `code` is a negative errno value, `msg` one line
 * suitable for "upperwatch: <msg>". */
struct uw_error {
	int code;
	char msg[UW_ERRLEN];
};

/* The library version, e.g. "0.1.0". */
UW_API const char *uw_version(void);

/*
 * Whether this process can read trusted.* xattrs: it needs CAP_SYS_ADMIN
 * in the initial user namespace.  Without it the kernel hides them (no
 * error), so the opaque dirs and xattr whiteouts of a kernel overlay (one
 * mounted without userxattr) and of snapshotter-extracted layers go
 * unseen.  1 when it can, or cannot tell; 0 when it surely cannot.
 */
UW_API int uw_trusted_xattrs_readable(void);

/* A line saying so (no newline), and the same as a warning. */
#define UW_TRUSTED_XATTRS_TEXT "no CAP_SYS_ADMIN in the " \
	"initial user namespace: trusted.overlay.* xattrs are hidden from " \
	"us, so opaque dirs and xattr whiteouts of overlays mounted without " \
	"userxattr go unseen; run as root with CAP_SYS_ADMIN"
#define UW_TRUSTED_XATTRS_WARNING "WARNING: " UW_TRUSTED_XATTRS_TEXT

enum uw_file_type {
	UW_TYPE_FILE = 1,
	UW_TYPE_DIR,
	UW_TYPE_SYMLINK,
	UW_TYPE_FIFO,
	UW_TYPE_SOCKET,
	UW_TYPE_CHARDEV,
	UW_TYPE_BLOCKDEV,
};

/* "file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev", or
 * "unknown" for a value outside the enum. */
UW_API const char *uw_file_type_name(enum uw_file_type type);
/* The type of a name, or -1 for an unknown one. */
UW_API int uw_file_type_from_name(const char *name);

/* Record flags. */
#define UW_REC_HASHED 0x1	/* hash[] holds the content hash */
#define UW_REC_UNSTABLE 0x2	/* the file kept changing while hashed */

#define UW_HASH_LEN 16

/*
 * One file as recorded in a baseline.  Paths are container paths ("/",
 * "/etc/passwd") kept as bytes with a length: a name may hold any byte but
 * '/' and NUL, and need not be UTF-8.
 */
struct uw_record {
	const unsigned char *path;
	size_t path_len;
	enum uw_file_type type;
	unsigned mode;		/* permission bits: st_mode & 07777 */
	uint32_t uid, gid;
	uint64_t size;		/* apparent size */
	int64_t mtime_ns;
	const unsigned char *link;	/* symlink target, or NULL */
	size_t link_len;
	const unsigned char *caps;	/* security.capability, or NULL */
	size_t caps_len;
	unsigned flags;		/* UW_REC_* */
	unsigned char hash[UW_HASH_LEN];
	/* In a baseline: non-zero for a file hard-linked in its layer,
	 * the same for each of its names. */
	uint64_t link_group;
};

/* ---- the database ---- */

struct uw_db;

#define UW_DB_READONLY 0x1	/* never write; fail if missing */
#define UW_DB_CREATE_DIR 0x2	/* create the parent dir if missing */

/*
 * Open (and, unless UW_DB_READONLY, create or migrate) the database at
 * `path`.  Fails with a one-line reason naming `path` when the file is not
 * an upperwatch database, its schema is newer than this library, or its
 * directory is missing or read-only.
 */
UW_API struct uw_db *uw_db_open(const char *path, unsigned flags,
    struct uw_error *err) UW_WARN_UNUSED;

/* Close the handle.  NULL is a no-op. */
UW_API void uw_db_close(struct uw_db *db);

/* ---- baselines ---- */

struct uw_progress {
	uint64_t entries;	/* entries recorded so far */
	uint64_t files;		/* regular files hashed so far */
	uint64_t bytes;		/* bytes hashed so far */
	double seconds;		/* since the build started */
};

struct uw_baseline_opts {
	const char *image;		/* the image reference (the key) */
	const char *const *layers;	/* layer dirs, top first */
	size_t layer_count;		/* 1 for a plain rootfs */
	/* UW_OVERLAY_USERXATTR: the layers' opaque dirs and xattr
	 * whiteouts are user.overlay.* (a rootless snapshotter's); by
	 * default trusted.overlay.* */
	unsigned overlay_flags;
	unsigned jobs;			/* hashing threads; 0 = one per CPU */
	/* Called about five times a second from the calling thread. */
	void (*progress)(const struct uw_progress *progress, void *arg);
	void *progress_arg;
	/* When non-NULL and it becomes non-zero, the build stops and the
	 * old baseline is kept (the call fails with -ECANCELED). */
	const volatile sig_atomic_t *cancel;
	/* Record what can be recorded when an entry cannot (a layer deeper
	 * than 4096 dirs, an unreadable file): the baseline is kept and
	 * marked incomplete (uw_baseline_stats.incomplete says why).
	 * Without it such a build fails and the old baseline stays. */
	int allow_incomplete;
};

struct uw_baseline_stats {
	uint64_t entries;	/* rows recorded */
	uint64_t files;		/* regular files */
	uint64_t bytes;		/* bytes of regular-file content hashed */
	uint64_t unstable;	/* files that changed while hashed */
	double seconds;
	/* allow_incomplete: entries not recorded (or recorded without
	 * their content), and the first reason; "" when whole. */
	uint64_t skipped;
	char incomplete[UW_ERRLEN];
};

/*
 * Build the baseline of opts->image from its layer stack: the merged view
 * overlayfs would show (whiteouts and opaque dirs in a layer hide what lies
 * below), every entry with its metadata and every regular file with its
 * keyed XXH3-128 content hash.  It replaces a previous baseline of the same
 * image in one transaction: on any failure or cancel the old one is whole.
 * Symlinks are recorded and never followed; FIFOs, sockets and devices are
 * recorded and never opened.
 */
UW_API int uw_baseline_build(struct uw_db *db,
    const struct uw_baseline_opts *opts, struct uw_baseline_stats *stats,
    struct uw_error *err) UW_WARN_UNUSED;

/* An image file to build a baseline from. */
struct uw_oci_opts {
	/* An OCI image layout dir, a tar of one (oci-archive: podman save
	 * --format oci-archive, skopeo copy oci-archive:), or a
	 * docker-archive tar (docker save, podman save); the tar itself
	 * may be compressed, its layers gzip or zstd (or plain) */
	const char *path;
	/* "os/arch[/variant]" to pick from a multi-platform image; NULL:
	 * its only one, else this host's */
	const char *platform;
	/* Also record the baseline under this reference (an alias of its
	 * config digest), e.g. the tag CI pushed; NULL: none */
	const char *image;
	void (*progress)(const struct uw_progress *progress, void *arg);
	void *progress_arg;
	const volatile sig_atomic_t *cancel;
};

#define UW_DIGEST_MAX 72	/* "sha256:" + 64 hex digits + NUL */

struct uw_oci_result {
	/* The image's config digest ("sha256:<hex>"): what the image is,
	 * and the key its baseline is recorded under. */
	char digest[UW_DIGEST_MAX];
	char platform[64];	/* os/arch[/variant] read */
	size_t layers;
	size_t aliases;		/* references recorded beside the digest:
				 * the image's own tags and opts->image */
};

/*
 * Build the baseline of the image in the image file opts->path, streaming
 * each layer (never extracting anything): every blob's digest is checked
 * against its descriptor (sha256), each layer's uncompressed digest
 * against the config's diff_ids, and the layers are applied bottom up with
 * OCI whiteouts (.wh.NAME, .wh..wh..opq) as a runtime extracting them
 * would, giving the same rows as a baseline of the extracted layers.  The
 * baseline is recorded under the config digest, with the image's tags and
 * opts->image as aliases, replacing a previous one in one transaction.  A
 * hostile file (names with "..", absolute names, hard links out of the
 * image, a digest that does not match, a decompression bomb, a truncated
 * stream) fails the build with a one-line reason.
 */
UW_API int uw_baseline_build_oci(struct uw_db *db,
    const struct uw_oci_opts *opts, struct uw_oci_result *result,
    struct uw_baseline_stats *stats, struct uw_error *err) UW_WARN_UNUSED;

/*
 * The baseline key of container `c` as the watcher judges it: its image's
 * config digest when the database holds a baseline under it (one from
 * the image file, baseline --oci or import), else its layer stack's
 * (c->image_key).  `buf` holds the digest (UW_DIGEST_MAX bytes).
 */
struct uw_container;
UW_API const char *uw_baseline_key(struct uw_db *db,
    const struct uw_container *c, char *buf);

struct uw_event;

/* What uw_verify checks. */
struct uw_verify_opts {
	const char *image;		/* the baseline (any of its names) */
	/* The node's layer dirs, top first (a container's lower dirs);
	 * NULL: the image's own: the dirs its baseline was built from, or
	 * for a baseline of an image file the layers with its diff_ids in
	 * the store of Podman (or CRI-O), Docker or containerd. */
	const char *const *layers;
	size_t layer_count;
	unsigned overlay_flags;		/* UW_OVERLAY_*, as for a baseline */
	unsigned jobs;			/* hashing threads; 0 = one per CPU */
	/* Where those stores are read: NULL for "/"; else a dir holding a
	 * node's file system (a copy, or a disk mounted elsewhere). */
	const char *host_root;
};

/*
 * Read the node's layers of an image again and compare them with its
 * baseline: each row that differs is passed to `cb` as an event with
 * `lower` set (added, deleted, modified, metadata; mtimes and "/" are not
 * compared).  *differences counts them.  A layer tree that cannot be read
 * whole fails with the reason (nothing is concluded from half of it).
 */
UW_API int uw_verify(struct uw_db *db, const struct uw_verify_opts *opts,
    int (*cb)(const struct uw_event *ev, void *arg), void *arg,
    uint64_t *differences, struct uw_error *err) UW_WARN_UNUSED;

/*
 * Write the baseline of `image` (any of its names) to `out` as one
 * self-contained file (JSON Lines: a header with its names, layers and
 * hash secret, one line per row, the sha256 of all of it last).  The
 * secret keys every hash of the file: keep the file like the database.
 */
UW_API int uw_baseline_export(struct uw_db *db, const char *image, FILE *out,
    struct uw_error *err) UW_WARN_UNUSED;

struct uw_import_result {
	char image[512];	/* the image it is the baseline of */
	uint64_t entries;
	size_t aliases;		/* its other names recorded */
};

/*
 * Add the baseline in the file `path` (uw_baseline_export's) to the
 * database, replacing the image's in one transaction, with its names and
 * its hash secret.  Nothing is kept unless the content matches its
 * sha256 and, when `expect` is given, the file is the baseline of that
 * image (e.g. the digest CI pushed).
 */
UW_API int uw_baseline_import(struct uw_db *db, const char *path,
    const char *expect, struct uw_import_result *res, struct uw_error *err)
    UW_WARN_UNUSED;

struct uw_image_info {
	const char *image;
	const char *const *layers;	/* top first */
	size_t layer_count;
	int64_t built_ns;	/* when the baseline was built */
	uint64_t entries, files, bytes;
	double seconds;		/* how long the build took */
	const char *incomplete;	/* why it is not whole; NULL when it is */
	/* its other names, space-separated (an image file's tags); NULL
	 * when none */
	const char *aliases;
};

/* Call `cb` for each image with a baseline, sorted by reference.  A
 * non-zero return from `cb` stops the walk and is returned. */
UW_API int uw_images_foreach(struct uw_db *db,
    int (*cb)(const struct uw_image_info *info, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* 1 if the image has a baseline, 0 if not, <0 on error. */
UW_API int uw_image_exists(struct uw_db *db, const char *image,
    struct uw_error *err) UW_WARN_UNUSED;

/* Remove an image's baseline.  -ENOENT when it has none. */
UW_API int uw_image_remove(struct uw_db *db, const char *image,
    struct uw_error *err) UW_WARN_UNUSED;

/* Look up one path of an image's baseline and pass its record to `cb`.
 * Returns -ENOENT (with a message) when the image or the path is not
 * recorded. */
UW_API int uw_baseline_lookup(struct uw_db *db, const char *image,
    const unsigned char *path, size_t path_len,
    int (*cb)(const struct uw_record *rec, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* Call `cb` for every record of an image's baseline, sorted by path bytes.
 * A non-zero return from `cb` stops the walk and is returned. */
UW_API int uw_baseline_foreach(struct uw_db *db, const char *image,
    int (*cb)(const struct uw_record *rec, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* ---- drift ---- */

struct uw_container;
struct uw_verdict;

enum uw_op {
	UW_OP_ADDED = 1,	/* not in the baseline */
	UW_OP_MODIFIED,		/* content (or symlink target) differs */
	UW_OP_METADATA,		/* same content; mode, owner or caps differ */
	UW_OP_DELETED,		/* a whiteout over a baseline path */
	UW_OP_REPLACED,		/* an opaque dir over a baseline dir, or a
				 * type change */
	UW_OP_ERROR,		/* the entry could not be classified: see
				 * uw_event.error (it is reported, never
				 * skipped) */
	UW_OP_EXEC,		/* a file that is drift (added or modified)
				 * was opened for exec; uw_event.process is
				 * who (fanotify only) */
};

/* "added", "modified", "metadata", "deleted", "replaced", "error",
 * "exec" or "unknown". */
UW_API const char *uw_op_name(enum uw_op op);
/* The op of a name, or -1 for an unknown one. */
UW_API int uw_op_from_name(const char *name);

/* What differs between an event's current and baseline records. */
#define UW_CHG_TYPE 0x001
#define UW_CHG_MODE 0x002
#define UW_CHG_UID 0x004
#define UW_CHG_GID 0x008
#define UW_CHG_CAPS 0x010
#define UW_CHG_SIZE 0x020
#define UW_CHG_HASH 0x040
#define UW_CHG_LINK 0x080
#define UW_CHG_OPAQUE 0x100	/* a dir re-created: nothing below kept */
/* An xattr named like overlay metadata that this mount reads as ordinary
 * data (user.overlay.* on a mount without userxattr): a container set it,
 * perhaps to make a tool that trusts it skip the entry. */
#define UW_CHG_XATTR 0x200

/*
 * One drift event: what one upper-dir entry means against the baseline.
 * `path` is the path inside the container, never the host upper path.
 */
/*
 * The process that made a change, as a fanotify event named it (see
 * uw_watch_opts.content_events): read from /proc when the event was read,
 * so fields the process took with it (it exited at once) are NULL or -1.
 * Its strings are the process's own: escape them before showing them.
 */
struct uw_process {
	int pid;		/* in the host's pid namespace */
	int64_t uid;		/* real uid, -1 if unknown */
	const char *comm;	/* NULL if unknown */
	const char *exe;	/* as the process sees it; NULL if unknown */
	const char *cmdline;	/* arguments joined by spaces, capped at
				 * UW_CMDLINE_MAX bytes; NULL if unknown */
	/* The container its cgroup belongs to; NULL when none we watch. */
	const char *container_id;
	/* Its exe is a file of the container that is drift (added or
	 * changed since the image, as reported): 1 yes, 0 no, -1 unknown. */
	int exe_drift;
};

#define UW_CMDLINE_MAX 256

/*
 * What the package database says of an event's path (dpkg, apk; an rpm
 * database is noticed, not read: its checks are UW_PKG_UNKNOWN).
 * UW_PKG_NONE: neither the image nor the container has a database, and
 * the event has no package fields.
 */
enum uw_package_check {
	UW_PKG_NONE = 0,
	UW_PKG_UNKNOWN,		/* it cannot be told: a database that
				 * cannot be read, no digest for the file,
				 * a file too big or not readable */
	UW_PKG_MATCH,		/* the content has the digest its package
				 * lists (a dir: the package lists it; a
				 * deleted path: no package claims it now) */
	UW_PKG_MISMATCH,	/* it has not, or a file its package still
				 * claims is gone */
	UW_PKG_UNOWNED,		/* no package claims the path */
};

/* The package that owns a path, in the container's current database (or
 * the image's).  `database`: the path is a file of the database itself,
 * and name and version are NULL. */
struct uw_package {
	const char *manager;	/* "dpkg", "apk" */
	const char *name;
	const char *version;
	int database;
};

struct uw_event {
	enum uw_op op;
	const unsigned char *path;
	size_t path_len;
	enum uw_file_type type;	/* current type; the baseline's if deleted */
	const struct uw_record *current;	/* NULL when deleted */
	const struct uw_record *baseline;	/* NULL when added */
	unsigned changes;	/* UW_CHG_* */
	/* Deleted or replaced dir: baseline entries below it that are gone
	 * with it.  Renamed dir: baseline entries it carries. */
	uint64_t count;
	/* A renamed dir (or metacopy file): the baseline path its content
	 * comes from; NULL otherwise. */
	const unsigned char *redirect;
	size_t redirect_len;
	int metacopy;		/* the upper file holds metadata only */
	/* Who and when: NULL and 0 in an offline diff. */
	const struct uw_container *container;
	int64_t time_ns;	/* detection time, ns since the epoch */
	uint64_t id;		/* journal id, 0 when not journaled */
	const struct uw_verdict *verdict;	/* NULL when not judged */
	/* The event's JSON line (no newline) as journaled; NULL when not
	 * journaled. */
	const char *json;
	size_t json_len;
	/* Op UW_OP_ERROR: why the entry could not be classified (it changed
	 * while read, it is too deep or its name too long, it cannot be
	 * read); NULL otherwise. */
	const char *error;
	/* Who wrote it, when a fanotify event named the writer; NULL when
	 * none did (inotify never names one; a rescan neither). */
	const struct uw_process *process;
	/* Op UW_OP_EXEC: the exec was refused (watch --prevent, a deny
	 * verdict); 0 when it ran. */
	int prevented;
	/* The change is in the image's layers on the node, not in the
	 * container's upper dir (uw_verify, watch --verify-lower): "layer":
	 * "lower" in JSON, ev.layer in Lua. */
	int lower;
	/* Its owner in the package database and whether the content is what
	 * the package lists: "package" and "package_check" in JSON,
	 * ev.package and ev.package_check in Lua.  NULL / UW_PKG_NONE when
	 * no database was looked at. */
	const struct uw_package *package;
	enum uw_package_check package_check;
	/* The package transaction it came with (the journal id of the
	 * transaction's first event); 0 when none. */
	uint64_t incident;
	/* The SHA-256 of the file (hex), what threat intel is searched by:
	 * for a regular file of the upper dir up to 64 MiB, on an event
	 * whose verdict is alert or above; NULL otherwise. */
	const char *sha256;
};

/*
 * Write the event as one JSON line with the DESIGN fields: op, path, type,
 * current and baseline (type, mode, uid, gid, size, mtime, hash, link,
 * caps), count, redirect, metacopy, container (id, name, image, image_id,
 * runtime, labels, pod, namespace), time, id.  A name that is not UTF-8
 * also gets an exact "_hex" twin.  The stream is held (flockfile) for
 * the whole event, so threads that share one write whole lines;
 * uw_event_write_ocsf and uw_journal_write_ocsf hold it the same way.
 * Returns 0 or -EIO.
 */
UW_API int uw_event_write_json(FILE *out, const struct uw_event *ev)
    UW_WARN_UNUSED;

/*
 * Write the event as OCSF 1.3.0 JSON Lines: a File System Activity
 * (class 1001; activity Create, Update, Delete, Set Attributes, Rename,
 * or Other for exec and error) with file, actor (the writing process
 * when known), device (the host, the container under it) and
 * metadata.product; and, when its verdict is alert or above, a second
 * line, a Detection Finding (class 2004) with the first as its evidence.
 * What OCSF has no place for is under unmapped.upperwatch.  Returns 0 or
 * -EIO.
 */
UW_API int uw_event_write_ocsf(FILE *out, const struct uw_event *ev)
    UW_WARN_UNUSED;

struct uw_diff_opts {
	const char *image;	/* the baseline to compare against */
	const char *upper;	/* the container's upper dir */
	/* Globs of container paths not to report (nor descend into):
	 * `*`, `?`, `**`, `[...]`. */
	const char *const *excludes;
	size_t exclude_count;
	/* The upper dir is fuse-overlayfs's: ".wh.NAME" files are whiteouts
	 * and ".wh..wh..opq" marks an opaque dir.  In a kernel overlay upper
	 * they are ordinary files a container made. */
	int oci_whiteouts;
	/* How the overlay is (or was) mounted, UW_OVERLAY_*: which xattrs
	 * are overlay metadata (trusted.overlay.*, or user.overlay.* with
	 * UW_OVERLAY_USERXATTR; the other kind is ordinary data a container
	 * may have set), and whether metacopy files and redirected dirs
	 * are followed.  See uw_overlay_flags_for_upper. */
	unsigned overlay_flags;
	/* Called for each event, in path order within each directory.  A
	 * non-zero return stops the diff and is returned. */
	int (*cb)(const struct uw_event *ev, void *arg);
	void *arg;
	const volatile sig_atomic_t *cancel;
};

struct uw_diff_stats {
	uint64_t entries;	/* upper entries read */
	uint64_t events;	/* events reported */
	double seconds;
};

/*
 * Compare a container's upper dir with its image's baseline, entry by
 * entry, the way overlayfs means each one (whiteouts, opaque dirs,
 * metacopy files, redirected dirs, in the trusted., user. and .wh.
 * dialects).  Walks only the upper dir: the cost follows the drift, not
 * the image.  Never follows a symlink, never opens a FIFO or device.
 */
UW_API int uw_diff(struct uw_db *db, const struct uw_diff_opts *opts,
    struct uw_diff_stats *stats, struct uw_error *err) UW_WARN_UNUSED;

/* ---- containers ---- */

/* One label or annotation. */
struct uw_label {
	const char *key;
	const char *value;
};

/*
 * A running container as discovery sees it: its overlay mount joined with
 * its runtime's metadata.  Strings are never NULL ("" when unknown).
 */
struct uw_container {
	const char *id;
	const char *name;
	const char *runtime;	/* runc, crun, containerd, docker, podman,
				 * or unknown */
	const char *image;	/* reference, e.g. docker.io/library/nginx:1 */
	const char *image_id;
	const char *image_key;	/* the baseline key: its layer stack */
	const char *pod;
	const char *pod_namespace;	/* "namespace" in JSON and Lua */
	int pid;		/* init pid, 0 if unknown */
	const char *mount_point;	/* the merged rootfs */
	const char *upper;
	const char *const *lower;	/* top first */
	size_t lower_count;
	unsigned overlay_flags;	/* UW_OVERLAY_*: the options as written */
	/* UW_OVERLAY_METACOPY, UW_OVERLAY_REDIRECT_DIR and
	 * UW_OVERLAY_USERXATTR as the kernel applies them (an option the
	 * mount table leaves out takes the overlay module's default):
	 * what the upper dir means. */
	unsigned overlay_follow;
	const char *cgroup_v1_freezer;	/* absolute dir, "" if none */
	const char *cgroup_v2;		/* absolute dir, "" if none */
	const struct uw_label *labels;
	size_t label_count;
	/* Labels past the caps (UW_LABEL_VALUE_MAX bytes a value,
	 * UW_LABELS_MAX bytes and UW_LABEL_COUNT_MAX labels in all) were cut
	 * or left out. */
	int labels_truncated;
};

#define UW_LABEL_VALUE_MAX 4096
#define UW_LABELS_MAX (64u << 10)
#define UW_LABEL_COUNT_MAX 256

/* How an overlay is mounted, as the kernel applies it (module defaults
 * included): */
#define UW_OVERLAY_METACOPY 0x01	/* metacopy files are followed */
#define UW_OVERLAY_REDIRECT_DIR 0x02	/* redirected dirs are followed */
#define UW_OVERLAY_INDEX 0x04
#define UW_OVERLAY_USERXATTR 0x08	/* overlay xattrs are user.overlay.* */
#define UW_OVERLAY_VOLATILE 0x10

/*
 * The UW_OVERLAY_* flags of the overlay mounted now with `upper` as its
 * upper dir (in our mount namespace), or -ENOENT when none is.  A diff of
 * an upper dir whose overlay is gone must be told (see uw_diff_opts): by
 * default trusted.overlay.* xattrs are overlay metadata, and metacopy and
 * redirect are followed where the kernel wrote them (only the kernel or
 * host root can write trusted.* xattrs).
 */
UW_API int uw_overlay_flags_for_upper(const char *upper, unsigned *flags,
    struct uw_error *err) UW_WARN_UNUSED;

struct uw_discover_opts {
	/* Where the host's files are: "" or NULL for "/".  Tests point it
	 * at a fixture tree. */
	const char *root;
	/* The mount table to read; NULL for /proc/self/mountinfo. */
	const char *mountinfo;
};

/*
 * Call `cb` for every container on the host: every overlay mount with an
 * upper dir, named by the runtime metadata found for it (runc and crun
 * state, containerd task bundles, Docker's overlay2 store, Podman/CRI-O
 * containers/storage); an overlay no runtime claims is still listed, as
 * runtime "unknown".  `malformed`, when not NULL, gets the number of
 * mount table lines that could not be read.
 */
/*
 * Waiting for containers to start and stop: the mount table of our mount
 * namespace changes when a runtime mounts or unmounts a rootfs.
 * uw_mounts_wait returns 1 on a change, 0 when `timeout_ms` (-1: no
 * limit) passed, -EINTR on a signal, or another negative errno.
 */
struct uw_mounts;
UW_API struct uw_mounts *uw_mounts_open(struct uw_error *err)
    UW_WARN_UNUSED;
UW_API int uw_mounts_wait(struct uw_mounts *m, int timeout_ms)
    UW_WARN_UNUSED;
UW_API void uw_mounts_close(struct uw_mounts *m);

UW_API int uw_containers_foreach(const struct uw_discover_opts *opts,
    int (*cb)(const struct uw_container *c, void *arg), void *arg,
    size_t *malformed, struct uw_error *err) UW_WARN_UNUSED;

/* ---- policies ---- */

enum uw_severity {
	UW_SEV_INFO = 0,
	UW_SEV_LOW,
	UW_SEV_MEDIUM,
	UW_SEV_HIGH,
	UW_SEV_CRITICAL,
};

enum uw_action {
	UW_ACT_LOG = 0,
	UW_ACT_ALERT,
	/* An exec (op "exec") is refused, with watch --prevent; for any
	 * other event, or without --prevent, it is an alert. */
	UW_ACT_DENY,
	UW_ACT_PAUSE,
	UW_ACT_KILL,
};

/* Names, and back: -1 for an unknown name. */
UW_API const char *uw_severity_name(enum uw_severity severity);
UW_API const char *uw_action_name(enum uw_action action);
UW_API int uw_severity_from_name(const char *name);
UW_API int uw_action_from_name(const char *name);
/* "match", "mismatch", "unowned", "unknown"; "unknown" for UW_PKG_NONE
 * too. */
UW_API const char *uw_package_check_name(enum uw_package_check check);

/* What one policy said of an event. */
struct uw_reason {
	const char *policy;
	enum uw_severity severity;
	enum uw_action action;
	const char *reason;
	const char *const *tags;
	size_t tag_count;
	int failed;		/* the policy failed: this is the fallback */
};

/*
 * The combined verdict: the highest severity and action of every policy
 * that had an opinion, clamped to the operator's cap, with every reason.
 * No opinion at all is info/log with no reasons.
 */
struct uw_verdict {
	enum uw_severity severity;
	enum uw_action action;		/* after the cap */
	enum uw_action wanted;		/* before the cap */
	const struct uw_reason *reasons;
	size_t reason_count;
	const char *policy_set;		/* digest of the policy files (hex) */
};

/* Limits every policy set runs under; 0 fields take the defaults. */
struct uw_policy_limits {
	size_t memory;		/* bytes for the whole set (16 MiB) */
	uint64_t instructions;	/* per policy call (1,000,000) */
	unsigned deadline_us;	/* wall clock per policy call (20,000) */
	unsigned quarantine_after;	/* consecutive failures (5) */
};

struct uw_policy_set;
struct uw_journal_entry;

/*
 * Load a policy set: each path is a policy file or a directory whose
 * *.lua files are loaded in name order.  Every file runs in its own
 * sandbox (see upperwatch-policy(5)); any error fails the whole load with
 * "file:line: message", so a reload can keep the old set.  `log`, when
 * not NULL, receives upperwatch.log() lines, tagged with the policy.
 */
UW_API struct uw_policy_set *uw_policy_load(const char *const *paths,
    size_t path_count, const struct uw_policy_limits *limits,
    void (*log)(const char *policy, const char *line, void *arg),
    void *log_arg, struct uw_error *err) UW_WARN_UNUSED;

UW_API void uw_policy_free(struct uw_policy_set *set);

/* The digest of the set's files (hex), and how many policies it has. */
UW_API const char *uw_policy_digest(const struct uw_policy_set *set);
UW_API size_t uw_policy_count(const struct uw_policy_set *set);

/*
 * Judge one event with every matching policy.  The verdict points into
 * the set and stays valid until the next call.  A policy that fails, hits
 * a limit or returns something malformed gives medium/alert with the
 * cause as its reason, never pause or kill; one that keeps failing is
 * quarantined until the set is reloaded (`notice`, when not NULL, hears
 * of it).  Returns 0 or a negative error.
 */
UW_API int uw_policy_evaluate(struct uw_policy_set *set,
    const struct uw_event *ev, enum uw_action max_action,
    struct uw_verdict *verdict, struct uw_error *err) UW_WARN_UNUSED;

/*
 * The authoring tools.  uw_policy_check judges synthetic events of every
 * op with every policy (prefilter off) and prints each failure to `out`;
 * it returns how many there were.  uw_policy_test runs case files (files
 * or dirs of *.lua, see upperwatch-policy(5)) through the same loader,
 * sandbox and evaluation and prints TAP to `out`, adding to *total and
 * *failed; it fails only when a case file cannot be loaded.
 */
UW_API int uw_policy_check(struct uw_policy_set *set, FILE *out);
UW_API int uw_policy_test(struct uw_policy_set *set,
    const char *const *case_paths, size_t path_count, FILE *out,
    int *total, int *failed, struct uw_error *err) UW_WARN_UNUSED;

/*
 * Judge journaled events again with `set`: `cb` gets each event (as
 * journaled), the severity and action it was given (-1 when it was not
 * judged) and the new verdict.  Filters as uw_journal_foreach.
 */
UW_API int uw_policy_replay(struct uw_db *db, struct uw_policy_set *set,
    const char *container, int64_t since_ns, enum uw_action max_action,
    int (*cb)(const struct uw_journal_entry *e, int old_severity,
    int old_action, const struct uw_verdict *now, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* ---- the watcher ---- */

enum uw_notice_level {
	UW_NOTICE_INFO = 0,	/* containers seen and gone, baselines built,
				 * policies loaded, responses carried out */
	UW_NOTICE_WARNING,	/* something failed and was survived: a
				 * response, a policy reload, an alert sink */
	UW_NOTICE_COVERAGE,	/* less is watched than should be: a
				 * container degraded or unwatched, a dir
				 * not watched, a baseline incomplete, the
				 * journal behind, a watch cap reached.  Also
				 * sent as an alert. */
};

/* What judges a watcher's events. */
struct uw_policy_opts {
	/* Policies judging every event (files or dirs of *.lua); none: no
	 * verdicts.  The set is loaded at start (a failure is fatal) and
	 * again, between events, whenever *reload is non-zero (the watcher
	 * resets it); a failed reload keeps the old set. */
	const char *const *paths;
	size_t path_count;
	struct uw_policy_limits limits;
	volatile sig_atomic_t *reload;
	/* The operator's cap: no verdict does more than this. */
	enum uw_action max_action;
};

/* What a watcher does with verdicts beyond handing them out. */
struct uw_respond_opts {
	/* Alerts (verdicts of alert and above): POSTed here in Falco's
	 * output format, and/or to syslog; the same container, path and
	 * verdict alerts once per dedupe window (0: 60 s). */
	const char *alert_url;
	int alert_syslog;
	/* The HTTP body: 0 Falco's JSON, 1 an OCSF Detection Finding (class
	 * 2004, the File System Activity as its evidence). */
	int alert_ocsf;
	unsigned dedupe_seconds;
	/* Where the offending file is copied before a pause or kill (NULL:
	 * "evidence" beside the database). */
	const char *evidence_dir;
};

/*
 * Where the watcher learns that a file's content was written.  inotify on
 * the upper dir always gives names (create, delete, rename, attrib); its
 * write events (IN_MODIFY, IN_CLOSE_WRITE) come only on Linux 6.5 and
 * later, where overlayfs stopped opening the upper file unnotified.  A
 * fanotify mark on the container's overlay (CAP_SYS_ADMIN, Linux 4.20 and
 * later) sees writes made through any mount of it, with the writer's pid.
 */
enum uw_content_events {
	/* fanotify for each container it can mark, inotify for the others
	 * (with a warning on kernels older than 6.5, where that misses
	 * writes until the next rescan) */
	UW_CONTENT_AUTO = 0,
	UW_CONTENT_INOTIFY,	/* inotify only: no writer is ever named */
	UW_CONTENT_FANOTIFY,	/* fanotify only: inotify is never asked for
				 * writes but of a container fanotify cannot
				 * mark (said as a coverage warning); fails
				 * when there is no fanotify at all */
	UW_CONTENT_BOTH,	/* both: writes named where fanotify can */
};

struct uw_watch_opts {
	/* Sidecar: watch only this container (id, name or id prefix)... */
	const char *container;
	/* ...or only this upper dir, against this image's baseline. */
	const char *upper;
	const char *image;
	/* Full rescans: every this many seconds (0: 300). */
	unsigned rescan_seconds;
	/* Events on one path are coalesced until it has been quiet this long
	 * (0: 20 ms), and held at most ten times as long. */
	unsigned quiet_ms;
	/* Do not build a missing baseline from a new container's layers. */
	int no_auto_baseline;
	/* The most dirs of one container watched with inotify (0: a quarter
	 * of fs.inotify.max_user_watches, at most 16,384).  A container
	 * with more is rescanned every 30 s (or --rescan, if shorter)
	 * instead, until it has fewer than three quarters of it. */
	size_t max_watches_per_container;
	/* Paths never reported (globs, as uw_diff_opts.excludes). */
	const char *const *excludes;
	size_t exclude_count;
	/* Where content writes are seen from: see enum uw_content_events. */
	enum uw_content_events content_events;
	/* Hold each exec of a container's file that is drift until the
	 * policies judged it (as an op "exec" event), and refuse it when
	 * the verdict's action is deny or above.  Fails open: on any error,
	 * past prevent_deadline_ms (0: 50), when the watcher stops or dies.
	 * Needs fanotify permission events (CAP_SYS_ADMIN, Linux 5.0+) and
	 * policies; without them uw_watch fails. */
	int prevent;
	unsigned prevent_deadline_ms;
	/* Read each container's image layers on the node again against the
	 * baseline when it starts and at each rescan (uw_verify); each
	 * difference is an event with `lower` set. */
	int verify_lower;
	/* Keep the journal at this many events at most (0: 1,000,000, about
	 * 1 GB): past it the oldest events of the lowest severity are
	 * deleted (not judged first, critical last), and that is said. */
	unsigned journal_max_events;
	/* Each drift event, after it is journaled.  A non-zero return stops
	 * the watcher. */
	int (*on_event)(const struct uw_event *ev, void *arg);
	/* Things an operator should know, one line each (container paths
	 * in them escaped), with how much they matter: see
	 * enum uw_notice_level. */
	void (*on_notice)(enum uw_notice_level level, const char *message,
	    void *arg);
	void *arg;
	/* Stop cleanly (every accepted event committed) once non-zero. */
	const volatile sig_atomic_t *stop;
	struct uw_policy_opts policy;	/* judging events */
	struct uw_respond_opts respond;	/* acting on verdicts */
	/* Called (with arg) when the watcher has handled all it was given
	 * and is about to wait, and once more before it returns: a caller
	 * that batches what on_event gave it writes the batch out here.  A
	 * non-zero return stops the watcher.  May be NULL. */
	int (*on_idle)(void *arg);
};

/*
 * What the daemon using the database at `db_path` says of itself
 * (status.json beside it, rewritten every 5 s).  Strings are as the
 * daemon wrote them: a container chose its name and id, so escape them
 * before showing them on a terminal.  NULL (err says why, -ENOENT) when
 * there is no status; free with uw_status_free.
 */
struct uw_status_container {
	const char *id, *name, *runtime;
	uint64_t watches;
	int rescan_only;	/* over a watch limit: rescanned instead */
	int degraded;		/* could not be scanned */
	int paused;		/* by upperwatch */
};

struct uw_status {
	int running;		/* its pid is alive */
	int64_t pid;		/* 0 once it stopped */
	int64_t updated_ns, last_rescan_ns;	/* wall clock; 0: never */
	uint64_t events_total;
	double events_per_second;
	uint64_t watches;
	int64_t watch_limit;	/* fs.inotify.max_user_watches */
	uint64_t alerts_sent, alerts_dropped, alerts_suppressed;
	uint64_t alerts_queued;
	uint64_t responses_done, responses_failed;
	const char *policy_set;	/* digest, "" without policies */
	int journal_ok;
	const char *const *degraded;	/* why coverage is lowered */
	size_t degraded_count;
	const struct uw_status_container *containers;
	size_t container_count;
	const char *json;	/* all of it as one JSON line, "running"
				 * added */
};

UW_API struct uw_status *uw_status_read(const char *db_path,
    struct uw_error *err) UW_WARN_UNUSED;
UW_API void uw_status_free(struct uw_status *status);

/*
 * How a word (a --container argument) names a container: its full id,
 * its name, or an id prefix of at least 4 characters.  Where several
 * containers match, the best kind of match wins, and two of that kind
 * are ambiguous.
 */
enum uw_container_match {
	UW_MATCH_NONE = 0,
	UW_MATCH_PREFIX,
	UW_MATCH_NAME,
	UW_MATCH_ID,
};

UW_API enum uw_container_match uw_container_match(
    const struct uw_container *c, const char *want);

/* The container `want` names on this host (by the rule above), as a copy
 * to free with uw_container_free; NULL with err -ENOENT (none) or
 * -EINVAL (ambiguous). */
UW_API struct uw_container *uw_container_find(const char *want,
    struct uw_error *err) UW_WARN_UNUSED;

/* A deep copy of a container (discovery's strings live only during its
 * callback), and its free. */
UW_API struct uw_container *uw_container_copy(const struct uw_container *c)
    UW_WARN_UNUSED;
UW_API void uw_container_free(struct uw_container *c);

/*
 * Undo a pause upperwatch made, the way it was made (runc resume,
 * podman unpause, or thawing the cgroup), and journal it.  `container`
 * is an id, a name or an id prefix.  -ENOENT when upperwatch has not
 * paused it.
 */
UW_API int uw_container_resume(struct uw_db *db, const char *container,
    struct uw_error *err) UW_WARN_UNUSED;

/*
 * Watch containers' upper dirs and report drift as it happens: every
 * container on the host (following the mount table as they start and
 * stop), or one (opts->container, or opts->upper with opts->image).  Each
 * upper dir is scanned at start (drift made while nobody watched is
 * reported), watched recursively with inotify, rescanned after a queue
 * overflow and periodically.  A change is reported once: the journal
 * keeps each path's last reported state.  Returns 0 when stopped, or a
 * negative error.  One at a time per process (see the top of this
 * file).
 */
UW_API int uw_watch(struct uw_db *db, const struct uw_watch_opts *opts,
    struct uw_error *err) UW_WARN_UNUSED;

/* One journaled event. */
struct uw_journal_entry {
	uint64_t id;
	int64_t time_ns;
	const char *container;
	const char *op;
	const unsigned char *path;
	size_t path_len;
	const char *json;	/* the event's JSON line, without newline */
};

/* Journaled events in id order; NULL filters (and since 0) match all;
 * `container` matches an id or an id prefix. */
UW_API int uw_journal_foreach(struct uw_db *db, const char *container,
    int64_t since_ns, const char *op,
    int (*cb)(const struct uw_journal_entry *e, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* A response carried out (or not) on a container: pause, kill, resume. */
struct uw_response {
	uint64_t event_id;	/* the event it answered; 0 for a resume */
	int64_t time_ns;
	const char *container;
	const char *action;	/* "pause", "kill", "resume" */
	const char *method;	/* "runc", "cgroup-v2", ... or "" */
	const char *outcome;	/* "done", "failed", "skipped" */
	const char *detail;	/* why it failed or was skipped, or "" */
	int64_t latency_ns;	/* from the event to done */
	const char *evidence;	/* the evidence copy's path, or "" */
};

/* Journaled responses since since_ns (0: all), of a container (an id or
 * id prefix; NULL: all), in order. */
UW_API int uw_responses_foreach(struct uw_db *db, const char *container,
    int64_t since_ns, int (*cb)(const struct uw_response *r, void *arg),
    void *arg, struct uw_error *err) UW_WARN_UNUSED;

/* A journaled event as OCSF (uw_event_write_ocsf), its verdict as it was
 * journaled: 0, -EINVAL when the entry holds no event, -EIO. */
UW_API int uw_journal_write_ocsf(FILE *out, const struct uw_journal_entry *e)
    UW_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* UPPERWATCH_H */
