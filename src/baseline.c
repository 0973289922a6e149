/*
 * baseline.c - an image's layer stack merged as overlayfs would show it,
 * every entry recorded, every regular file hashed on all cores.
 *
 * The calling thread walks the merged tree depth first, one directory at
 * a time: it reads the directory in every layer that contributes to it,
 * has overlay merge them (whiteouts and opaque markers applied top
 * down), records directories, symlinks and special files itself and
 * hands regular files to a pool of hashing threads.  The threads open
 * each file relative to its (reference counted) directory fd, so no path
 * is ever resolved twice and no symlink ever followed.  Results come back
 * to the calling thread, the only one that touches SQLite.  Work in
 * flight is bounded in count and bytes, so memory stays flat however
 * large the tree is.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "baseline.h"
#include "hash.h"
#include "overlay.h"
#include "package.h"
#include "util.h"
#include "walk.h"

#define MAX_INFLIGHT 2048
#define MAX_INFLIGHT_BYTES (8u << 20)
#define PROGRESS_NS 200000000

/* A directory fd shared by the walker and the jobs opening files in it. */
struct dirref {
	int fd;
	atomic_uint refs;
};

static struct dirref *
dirref_new(int fd)
{
	struct dirref *ref;

	ref = malloc(sizeof(*ref));
	if (ref == NULL)
		return NULL;
	ref->fd = fd;
	atomic_init(&ref->refs, 1);
	return ref;
}

static struct dirref *
dirref_get(struct dirref *ref)
{
	atomic_fetch_add(&ref->refs, 1);
	return ref;
}

static void
dirref_put(struct dirref *ref)
{
	if (ref != NULL && atomic_fetch_sub(&ref->refs, 1) == 1) {
		close(ref->fd);
		free(ref);
	}
}

/* One regular file to hash, then its result. */
struct job {
	struct job *next;
	struct dirref *dir;
	char *name;		/* both point into bytes[] */
	unsigned char *path;
	size_t path_len;
	uint64_t seq;		/* submission order */
	/* result */
	int rc;
	int hashed;
	struct stat st;
	struct hash_result hash;
	size_t caps_len;	/* 0: no security.capability */
	unsigned char caps[WALK_CAPS_MAX];
	unsigned char *link;
	size_t link_len;
	char bytes[];		/* name, NUL, path, NUL: one allocation */
};

/*
 * Jobs move in batches, so that the lock and the futex wake-ups are paid
 * once per batch rather than once per file.
 */
#define SUBMIT_BATCH 256
#define TAKE_BATCH 64

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct job *todo_head, *todo_tail, *done_head;
	size_t queued;		/* jobs in the todo list */
	size_t done_count;	/* jobs in the done list */
	size_t wake_at;		/* the walker sleeps on done_cv until the
				 * done list is this long (0: awake) */
	int stop;
	const unsigned char *secret;
	pthread_t *threads;
	unsigned nthreads;
};

static void
job_free(struct job *job)
{
	dirref_put(job->dir);
	free(job->link);
	free(job);
}

/* Stat (and for a symlink read) an entry that turned out not to be a
 * regular file between listing and opening. */
static void
job_fallback(struct job *job)
{
	char target[PATH_MAX];
	ssize_t n;

	if (walk_stat(job->dir->fd, job->name, &job->st) < 0) {
		job->rc = -errno;
		return;
	}
	job->rc = 0;
	if (S_ISLNK(job->st.st_mode)) {
		n = readlinkat(job->dir->fd, job->name, target,
		    sizeof(target));
		if (n >= 0 && (size_t)n < sizeof(target)) {
			job->link = malloc((size_t)n + 1);
			if (job->link != NULL) {
				memcpy(job->link, target, (size_t)n);
				job->link_len = (size_t)n;
			}
		}
	}
}

static void
job_run(struct job *job, const unsigned char *secret, unsigned char *buf)
{
	struct walk_xattrs x;
	int fd, rc;

	fd = walk_open_layer_file(job->dir->fd, job->name, &job->st);
	if (fd == -EINVAL || fd == -ENXIO || fd == -ENODEV) {
		job_fallback(job);
		return;
	}
	if (fd < 0) {
		job->rc = fd;
		return;
	}
	rc = walk_read_xattrs(fd, 0, &x);	/* capabilities only */
	if (rc == 0 && (x.flags & WALK_X_CAPS)) {
		memcpy(job->caps, x.caps, x.caps_len);
		job->caps_len = x.caps_len;
	}
	if (rc == 0)
		rc = hash_fd(fd, secret, buf, &job->st, 1, &job->hash);
	if (rc == 0) {
		job->st = job->hash.st;
		job->hashed = 1;
	}
	job->rc = rc;
	close(fd);
}

static void *
pool_worker(void *arg)
{
	struct pool *pool = arg;
	unsigned char *buf;
	struct job *take, *job, *last;
	size_t n, want;

	buf = malloc(HASH_BUF_LEN);
	pthread_mutex_lock(&pool->mu);
	for (;;) {
		while (pool->todo_head == NULL && !pool->stop)
			pthread_cond_wait(&pool->work_cv, &pool->mu);
		if (pool->todo_head == NULL)
			break;
		/* Take a share of the queue, so the other threads get some
		 * and one big file does not hold up a long batch. */
		want = pool->queued / (2 * pool->nthreads);
		want = want < 1 ? 1 : want > TAKE_BATCH ? TAKE_BATCH : want;
		take = last = pool->todo_head;
		for (n = 1; n < want && last->next != NULL; n++)
			last = last->next;
		pool->todo_head = last->next;
		if (pool->todo_head == NULL)
			pool->todo_tail = NULL;
		pool->queued -= n;
		last->next = NULL;
		pthread_mutex_unlock(&pool->mu);
		for (job = take; job != NULL; job = job->next) {
			if (buf == NULL)
				job->rc = -ENOMEM;
			else
				job_run(job, pool->secret, buf);
		}
		pthread_mutex_lock(&pool->mu);
		last->next = pool->done_head;
		pool->done_head = take;
		pool->done_count += n;
		if (pool->wake_at != 0 && pool->done_count >= pool->wake_at)
			pthread_cond_signal(&pool->done_cv);
	}
	pthread_mutex_unlock(&pool->mu);
	hash_thread_done();
	free(buf);
	return NULL;
}

static int
pool_start(struct pool *pool, unsigned nthreads, const unsigned char *secret)
{
	unsigned i;

	memset(pool, 0, sizeof(*pool));
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->work_cv, NULL);
	pthread_cond_init(&pool->done_cv, NULL);
	pool->secret = secret;
	pool->threads = calloc(nthreads, sizeof(*pool->threads));
	if (pool->threads == NULL)
		return -ENOMEM;
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&pool->threads[i], NULL, pool_worker,
		    pool) != 0)
			break;
		pool->nthreads++;
	}
	return pool->nthreads > 0 ? 0 : -EAGAIN;
}

/* Stop the threads after the queued jobs ran; free unclaimed results. */
static void
pool_stop(struct pool *pool)
{
	struct job *job;
	unsigned i;

	pthread_mutex_lock(&pool->mu);
	pool->stop = 1;
	pthread_cond_broadcast(&pool->work_cv);
	pthread_mutex_unlock(&pool->mu);
	for (i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	while (pool->done_head != NULL) {
		job = pool->done_head;
		pool->done_head = job->next;
		job_free(job);
	}
	while (pool->todo_head != NULL) {
		job = pool->todo_head;
		pool->todo_head = job->next;
		job_free(job);
	}
	free(pool->threads);
	pthread_cond_destroy(&pool->work_cv);
	pthread_cond_destroy(&pool->done_cv);
	pthread_mutex_destroy(&pool->mu);
}

/* ---- the merged tree walk ---- */

/*
 * One merged directory being walked: its layer dirs (top first), the
 * directory fds they hold (shared with the jobs opening files in them),
 * and the merged entries, of which `next` is the next to record.
 */
struct frame {
	struct overlay_layer *layers;
	struct dirref **refs;	/* refs[i]->fd == layers[i].fd */
	size_t nlayers;
	struct overlay_merge merge;
	size_t next;
	size_t path_len;	/* of this dir's path, "" for the root */
};

struct build {
	struct store *store;
	const struct uw_baseline_opts *opts;
	unsigned dialect;	/* WALK_OV_* of opts->overlay_flags */
	struct uw_baseline_stats *stats;
	struct uw_error *err;
	int64_t image_id;
	struct pool pool;
	struct job *batch_head, *batch_tail;	/* not yet handed over */
	size_t batch_count;
	size_t inflight, inflight_bytes;	/* submitted, not recorded */
	uint64_t next_seq;
	struct job *done_sorted[MAX_INFLIGHT];
	struct buf path;
	struct buf link;
	struct frame *frames;
	size_t depth;
	int64_t start_ns, last_progress_ns;
	uint64_t steps;
	struct uw_progress progress;
};

static void
frame_free(struct frame *frame)
{
	size_t i;

	for (i = 0; i < frame->nlayers; i++) {
		dirref_put(frame->refs[i]);
		overlay_layer_free(&frame->layers[i]);
	}
	free(frame->layers);
	free(frame->refs);
	overlay_merge_free(&frame->merge);
	memset(frame, 0, sizeof(*frame));
}

/* Room in `frame` for `count` layer dirs.  0 or -ENOMEM. */
static int
frame_alloc(struct frame *frame, size_t count)
{
	frame->layers = calloc(count, sizeof(*frame->layers));
	frame->refs = calloc(count, sizeof(*frame->refs));
	if (frame->layers == NULL || frame->refs == NULL)
		return -ENOMEM;
	return 0;
}

/*
 * Add the directory open at `fd` (taken over) to the frame's layers and
 * read it.  Sets *opaque when nothing below it may show through.
 */
static int
frame_push_dir(struct frame *frame, int fd, unsigned dialect, int *opaque)
{
	struct dirref *ref;

	ref = dirref_new(fd);
	if (ref == NULL) {
		close(fd);
		return -ENOMEM;
	}
	frame->refs[frame->nlayers] = ref;
	overlay_layer_init(&frame->layers[frame->nlayers], fd, dialect);
	frame->nlayers++;
	return overlay_layer_read(&frame->layers[frame->nlayers - 1], opaque);
}

/* ---- recording ---- */

static void
progress_tick(struct build *b, int force)
{
	int64_t now;

	if (b->opts->progress == NULL)
		return;
	now = now_mono_ns();
	if (!force && now - b->last_progress_ns < PROGRESS_NS)
		return;
	b->last_progress_ns = now;
	b->progress.entries = b->stats->entries;
	b->progress.files = b->stats->files;
	b->progress.bytes = b->stats->bytes;
	b->progress.seconds = (double)(now - b->start_ns) / 1e9;
	b->opts->progress(&b->progress, b->opts->progress_arg);
}

static int
put(struct build *b, const struct uw_record *rec)
{
	struct uw_record dir;
	int rc;

	if (rec->type == UW_TYPE_DIR && rec->size != 0) {
		/* A dir's st_size is its file system's business (4096 on
		 * ext4, its entry count on tmpfs), not the image's: 0, as
		 * an image file (a tar) records it. */
		dir = *rec;
		dir.size = 0;
		rec = &dir;
	}
	rc = store_baseline_put(b->store, b->image_id, rec, b->err);
	if (rc < 0)
		return rc;
	b->stats->entries++;
	return 0;
}

static const char *
path_str(const unsigned char *path, size_t len)
{
	(void)len;
	return (const char *)path;
}

/*
 * An entry that cannot be recorded (failing with `rc`, the reason in
 * b->err): the build fails, or with allow_incomplete it goes on without
 * it, counting it and keeping the first reason.  Returns rc or 0.
 */
static int
skip(struct build *b, int rc)
{
	if (!b->opts->allow_incomplete || rc == -ENOMEM || rc == -ECANCELED)
		return rc;
	if (b->stats->skipped++ == 0)
		snprintf(b->stats->incomplete, sizeof(b->stats->incomplete),
		    "%s", b->err->msg);
	return 0;
}

/* Record a finished job. */
static int
job_record(struct build *b, struct job *job)
{
	struct uw_record rec;

	if (job->rc == -ENOENT)
		return 0;	/* removed since listed */
	if (job->rc < 0)
		return skip(b, seterr(b->err, job->rc, "%s: cannot read: %s",
		    path_str(job->path, job->path_len), strerror(-job->rc)));
	walk_record_from_stat(&rec, job->path, job->path_len, &job->st);
	if (job->st.st_nlink > 1 && S_ISREG(job->st.st_mode)) {
		uint64_t id[2] = { (uint64_t)job->st.st_dev,
		    (uint64_t)job->st.st_ino };

		/* SQLite integers are signed: keep it positive */
		rec.link_group = (XXH3_64bits(id, sizeof(id)) >> 1) | 1;
	}
	if (job->link != NULL) {
		rec.link = job->link;
		rec.link_len = job->link_len;
	}
	if (job->hashed) {
		rec.flags |= UW_REC_HASHED;
		memcpy(rec.hash, job->hash.digest, UW_HASH_LEN);
		b->stats->files++;
		b->stats->bytes += job->hash.bytes_read;
		if (job->hash.unstable) {
			rec.flags |= UW_REC_UNSTABLE;
			b->stats->unstable++;
		}
		if (job->caps_len > 0) {
			rec.caps = job->caps;
			rec.caps_len = job->caps_len;
		}
	}
	return put(b, &rec);
}

/* Hand the batch of submitted jobs to the threads. */
static void
flush_batch(struct build *b)
{
	struct pool *pool = &b->pool;

	if (b->batch_head == NULL)
		return;
	pthread_mutex_lock(&pool->mu);
	if (pool->todo_tail != NULL)
		pool->todo_tail->next = b->batch_head;
	else
		pool->todo_head = b->batch_head;
	pool->todo_tail = b->batch_tail;
	pool->queued += b->batch_count;
	if (b->batch_count > 1)
		pthread_cond_broadcast(&pool->work_cv);
	else
		pthread_cond_signal(&pool->work_cv);
	pthread_mutex_unlock(&pool->mu);
	b->batch_head = b->batch_tail = NULL;
	b->batch_count = 0;
}

static int
cmp_seq(const void *a, const void *b)
{
	const struct job *x = *(struct job *const *)a;
	const struct job *y = *(struct job *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Record the finished jobs.  With wait == 1, first wait until the work
 * in flight is under its bounds; with wait == 2, until some job is done
 * (or none is in flight). */
static int
drain(struct build *b, int wait)
{
	struct pool *pool = &b->pool;
	struct job *done, *job;
	size_t i, n;
	int rc = 0;

	flush_batch(b);
	pthread_mutex_lock(&pool->mu);
	if ((wait == 2 && b->inflight > 0) || (wait == 1 &&
	    (b->inflight >= MAX_INFLIGHT ||
	    b->inflight_bytes >= MAX_INFLIGHT_BYTES))) {
		/* Over the bounds: sleep until a quarter of the work in
		 * flight is done (not the first job: one wake-up per job
		 * batch costs more than it saves), with plenty still
		 * queued for the threads meanwhile. */
		pool->wake_at = wait == 2 ? 1 : b->inflight / 4;
		if (pool->wake_at == 0)
			pool->wake_at = 1;
		while (pool->done_count < pool->wake_at)
			pthread_cond_wait(&pool->done_cv, &pool->mu);
		pool->wake_at = 0;
	}
	done = pool->done_head;
	pool->done_head = NULL;
	pool->done_count = 0;
	pthread_mutex_unlock(&pool->mu);
	/* Record them in walk order, which is path order: rows appended
	 * to the end of the files table cost SQLite much less than rows
	 * put in between. */
	for (n = 0; done != NULL; done = done->next)
		b->done_sorted[n++] = done;
	qsort(b->done_sorted, n, sizeof(*b->done_sorted), cmp_seq);
	for (i = 0; i < n; i++) {
		job = b->done_sorted[i];
		b->inflight--;
		b->inflight_bytes -= job->path_len;
		if (rc == 0)
			rc = job_record(b, job);
		job_free(job);
	}
	progress_tick(b, 0);
	return rc;
}

static int
submit(struct build *b, struct dirref *dir, const char *name)
{
	struct job *job;
	size_t name_len;
	int rc;

	while (b->inflight >= MAX_INFLIGHT ||
	    b->inflight_bytes >= MAX_INFLIGHT_BYTES) {
		rc = drain(b, 1);
		if (rc < 0)
			return rc;
	}
	name_len = strlen(name);
	job = malloc(sizeof(*job) + name_len + 1 + b->path.len + 1);
	if (job == NULL)
		return seterr(b->err, -ENOMEM, "out of memory");
	job->next = NULL;
	job->rc = 0;
	job->hashed = 0;
	job->caps_len = 0;
	job->link = NULL;
	job->link_len = 0;
	job->name = job->bytes;
	memcpy(job->name, name, name_len + 1);
	job->path = (unsigned char *)job->bytes + name_len + 1;
	memcpy(job->path, b->path.data, b->path.len + 1);
	job->path_len = b->path.len;
	job->seq = b->next_seq++;
	job->dir = dirref_get(dir);
	if (b->batch_tail != NULL)
		b->batch_tail->next = job;
	else
		b->batch_head = job;
	b->batch_tail = job;
	b->batch_count++;
	b->inflight++;
	b->inflight_bytes += job->path_len;
	if (b->batch_count >= SUBMIT_BATCH)
		flush_batch(b);
	return 0;
}

/* Set b->path to the frame's path + "/" + name. */
static int
path_enter(struct build *b, const struct frame *frame, const char *name,
    size_t len)
{
	int rc;

	b->path.len = frame->path_len;
	rc = buf_addc(&b->path, '/');
	if (rc == 0)
		rc = buf_add(&b->path, name, len);
	if (rc < 0)
		return seterr(b->err, -ENAMETOOLONG,
		    "path longer than %u bytes under %.*s",
		    WALK_MAX_PATH, (int)(frame->path_len > 200 ? 200 :
		    frame->path_len), (const char *)b->path.data);
	return 0;
}

/* A dir that cannot be read, entered as `child`: skipped whole (the
 * empty frame is left for walk_tree to pop), or the build fails. */
static int
skip_dir(struct build *b, struct frame *child, int rc)
{
	rc = skip(b, rc);
	if (rc < 0)
		return rc;
	child->merge.count = child->next = 0;
	return 1;
}

/* Open the merged dir `me` of `parent` as a new frame and record it. */
static int
enter_dir(struct build *b, struct frame *parent,
    const struct overlay_entry *me)
{
	struct frame *child;
	struct uw_record rec;
	struct stat st = { 0 };
	size_t i;
	int fd, opaque = 0, rc;
	unsigned short dir;

	if (b->depth + 1 >= WALK_MAX_DEPTH) {
		/* The path itself is 4096 names long: its head says where. */
		rc = skip(b, seterr(b->err, -ELOOP, "more than %d directories "
		    "deep at %.120s... (%zu bytes)", WALK_MAX_DEPTH,
		    (const char *)b->path.data, b->path.len));
		return rc < 0 ? rc : 1;		/* not entered */
	}
	child = &b->frames[b->depth + 1];
	memset(child, 0, sizeof(*child));
	if (frame_alloc(child, me->stack_len + 1) < 0) {
		frame_free(child);
		return seterr(b->err, -ENOMEM, "out of memory");
	}
	child->path_len = b->path.len;
	b->depth++;	/* from here the frame is freed on any failure */
	for (i = 0; i <= me->stack_len && !opaque; i++) {
		dir = i == 0 ? me->win :
		    parent->merge.stack[me->stack_off + i - 1];
		fd = walk_open_dir(parent->layers[dir].fd, me->name);
		if (fd == -ENOENT && i == 0)
			return 1;	/* gone since listed */
		if (fd < 0)
			return skip_dir(b, child, seterr(b->err, fd,
			    "%s: cannot open: %s", (const char *)b->path.data,
			    strerror(-fd)));
		if (i == 0 && fstat(fd, &st) < 0) {
			close(fd);
			return skip_dir(b, child, seterr(b->err, -errno,
			    "%s: %s", (const char *)b->path.data,
			    strerror(errno)));
		}
		rc = frame_push_dir(child, fd, b->dialect, &opaque);
		if (rc < 0)
			return skip_dir(b, child, seterr(b->err, rc,
			    "%s: cannot list: %s", (const char *)b->path.data,
			    strerror(-rc)));
	}
	rc = overlay_merge(child->layers, child->nlayers, &child->merge);
	if (rc < 0)
		return seterr(b->err, rc, "%s: %s",
		    (const char *)b->path.data, strerror(-rc));
	walk_record_from_stat(&rec, b->path.data, b->path.len, &st);
	return put(b, &rec);
}

/* Record a non-directory entry, or queue it for hashing. */
static int
record_entry(struct build *b, struct frame *frame,
    const struct overlay_entry *me)
{
	struct dirref *dir = frame->refs[me->win];
	struct uw_record rec;
	struct stat st;
	int rc;

	if (me->d_type == DT_REG)
		return submit(b, dir, me->name);
	rc = walk_stat(dir->fd, me->name, &st);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return skip(b, seterr(b->err, rc, "%s: %s",
		    (const char *)b->path.data, strerror(-rc)));
	if (S_ISREG(st.st_mode))
		return submit(b, dir, me->name);
	walk_record_from_stat(&rec, b->path.data, b->path.len, &st);
	if (S_ISLNK(st.st_mode)) {
		rc = walk_readlink(dir->fd, me->name, &b->link);
		if (rc == -ENOENT)
			return 0;	/* removed since listed */
		if (rc < 0)
			return skip(b, seterr(b->err, rc, "%s: cannot read "
			    "link: %s", (const char *)b->path.data,
			    strerror(-rc)));
		rec.link = b->link.data ? b->link.data :
		    (const unsigned char *)"";
		rec.link_len = b->link.len;
	}
	return put(b, &rec);
}

static int
walk_tree(struct build *b)
{
	struct frame *frame;
	struct overlay_entry *me;
	int rc;

	while (b->depth > 0) {
		frame = &b->frames[b->depth];
		if (b->opts->cancel != NULL && *b->opts->cancel)
			return seterr(b->err, -ECANCELED,
			    "interrupted; the previous baseline is kept");
		if (frame->next == frame->merge.count) {
			frame_free(frame);
			b->depth--;
			continue;
		}
		me = &frame->merge.entries[frame->next++];
		rc = path_enter(b, frame, me->name, me->name_len);
		if (rc < 0 && skip(b, rc) == 0)
			continue;
		if (rc < 0)
			return rc;
		if (me->d_type == DT_DIR)
			rc = enter_dir(b, frame, me);
		else
			rc = record_entry(b, frame, me);
		if (rc < 0)
			return rc;
		if ((++b->steps & 255) == 0) {
			rc = drain(b, 0);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* The root: layer roots opened from the operator's paths. */
static int
enter_root(struct build *b)
{
	struct frame *root = &b->frames[1];
	struct uw_record rec;
	struct stat st = { 0 };
	size_t i;
	int fd, opaque = 0, rc;

	if (frame_alloc(root, b->opts->layer_count) < 0) {
		frame_free(root);
		return seterr(b->err, -ENOMEM, "out of memory");
	}
	b->depth = 1;
	for (i = 0; i < b->opts->layer_count && !opaque; i++) {
		fd = walk_open_root(b->opts->layers[i]);
		if (fd < 0)
			return seterr(b->err, fd, "%s: %s", b->opts->layers[i],
			    strerror(-fd));
		if (i == 0 && fstat(fd, &st) < 0) {
			close(fd);
			return seterr(b->err, -errno, "%s: %s",
			    b->opts->layers[0], strerror(errno));
		}
		rc = frame_push_dir(root, fd, b->dialect, &opaque);
		if (rc < 0)
			return seterr(b->err, rc, "%s: cannot list: %s",
			    b->opts->layers[i], strerror(-rc));
		/* A root is never opaque to the layers below it. */
		opaque = 0;
	}
	rc = overlay_merge(root->layers, root->nlayers, &root->merge);
	if (rc < 0)
		return seterr(b->err, rc, "%s", strerror(-rc));
	walk_record_from_stat(&rec, (const unsigned char *)"/", 1, &st);
	return put(b, &rec);
}

static unsigned
default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

int
baseline_build(struct store *store, const struct uw_baseline_opts *opts,
    struct uw_baseline_stats *stats, struct uw_error *err)
{
	return baseline_build_keyed(store, opts, store_secret(store), stats,
	    err);
}

int
baseline_build_keyed(struct store *store, const struct uw_baseline_opts *opts,
    const unsigned char *secret, struct uw_baseline_stats *stats,
    struct uw_error *err)
{
	struct build b;
	struct uw_baseline_stats local;
	int rc, pool_up = 0, in_txn = 0;
	size_t i;

	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (opts->image == NULL || opts->image[0] == '\0')
		return seterr(err, -EINVAL, "an image reference is needed");
	if (opts->layer_count == 0)
		return seterr(err, -EINVAL, "no layers given");
	if (opts->layer_count > BASELINE_MAX_LAYERS)
		return seterr(err, -E2BIG, "%zu layers: at most %d",
		    opts->layer_count, BASELINE_MAX_LAYERS);
	memset(&b, 0, sizeof(b));
	b.store = store;
	b.opts = opts;
	b.dialect = overlay_dialect(opts->overlay_flags &
	    UW_OVERLAY_USERXATTR, 0);
	b.stats = stats;
	b.err = err;
	b.start_ns = now_mono_ns();
	buf_init(&b.path, WALK_MAX_PATH);
	buf_init(&b.link, PATH_MAX);
	b.frames = calloc(WALK_MAX_DEPTH + 1, sizeof(*b.frames));
	if (b.frames == NULL) {
		rc = seterr(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = buf_add(&b.path, "", 0);
	if (rc < 0)
		goto out;

	rc = store_baseline_begin(store, opts->image, opts->layers,
	    opts->layer_count, &b.image_id, err);
	if (rc < 0)
		goto out;
	in_txn = 1;
	rc = pool_start(&b.pool, opts->jobs ? opts->jobs : default_jobs(),
	    secret);
	pool_up = 1;
	if (rc < 0) {
		seterr(err, rc, "cannot start hashing threads");
		goto out;
	}
	rc = enter_root(&b);
	if (rc == 0)
		rc = walk_tree(&b);
	while (rc == 0 && b.inflight > 0)
		rc = drain(&b, 2);
	if (rc < 0)
		goto out;
	rc = package_record_layers(store, b.image_id, opts->layers,
	    opts->layer_count, err);
	if (rc < 0)
		goto out;
	stats->seconds = (double)(now_mono_ns() - b.start_ns) / 1e9;
	progress_tick(&b, 1);
	rc = store_baseline_commit(store, b.image_id, stats, err);
	in_txn = 0;
out:
	flush_batch(&b);	/* so that pool_stop frees what was not sent */
	if (pool_up)
		pool_stop(&b.pool);
	if (in_txn)
		store_baseline_abort(store);
	if (b.frames != NULL) {
		for (i = 0; i <= WALK_MAX_DEPTH; i++)
			if (b.frames[i].layers != NULL ||
			    b.frames[i].refs != NULL)
				frame_free(&b.frames[i]);
		free(b.frames);
	}
	buf_free(&b.path);
	buf_free(&b.link);
	return rc < 0 ? rc : 0;
}
