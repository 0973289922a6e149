/*
 * prevent.c - drift prevention (watch --prevent).
 *
 * A second fanotify group, of class FAN_CLASS_CONTENT, marks each
 * container's overlay for FAN_OPEN_EXEC_PERM: the kernel holds every exec
 * of a file of that overlay until we answer.  A thread of its own answers,
 * so that nothing the watcher does (a rescan, a slow journal, a response
 * to another container) holds an exec:
 *
 *   - a file that is not in the upper dir is an image file untouched:
 *     allowed at once, without Lua (the fast path, nearly every exec),
 *     looked for at each exec (no ignore mark: one would outlive a
 *     copy-up, and a change through a shared mapping, never a write);
 *   - a file of the upper dir (new, or copied up) is judged by a policy
 *     set of the thread's own as an event of op "exec" (its current
 *     record, no hash, no baseline: judged in time, not hashed), and
 *     refused (FAN_DENY: the exec fails with EPERM) when the verdict's
 *     action is deny or above.
 *
 * It fails open: an error of any kind (a path that cannot be told, a
 * policy that fails, out of memory), a judgement past the deadline, and
 * the watcher stopping or dying (the kernel allows every pending event
 * when the group's fd closes) all allow; each is counted.  The watcher
 * never execs, nor opens for exec, a file of a marked overlay: it cannot
 * hold itself.
 *
 * Refused execs are handed to the watcher's thread (a list and a pipe),
 * which reports them as exec events marked "prevented": the file's
 * classification and the journal are its job.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "discover.h"
#include "fanotify.h"
#include "notice.h"
#include "policy.h"
#include "prevent.h"
#include "util.h"
#include "walk.h"
#include "watch.h"

#define DEFAULT_DEADLINE_MS 50
#define MAX_DENIALS 4096	/* waiting for the watcher; more: dropped */

/* A guarded container, as the thread sees it. */
struct pctr {
	struct uw_container *info;	/* a copy */
	uint64_t dev, mnt_id;
	int upper_fd;
};

/* A refused exec, for the watcher to report. */
struct denial {
	struct denial *next;
	char *ctr_id;
	char *path;
	struct fan_proc proc;
	int gone;		/* unlinked (fan_gone): st is its fstat */
	struct stat st;
};

struct prevent {
	int fd;			/* the permission group */
	int stop[2];		/* the watcher tells the thread to end */
	int note[2];		/* the thread tells the watcher: denials */
	pthread_t thread;
	int thread_up;
	int pidfds;
	int64_t deadline_ns;
	enum uw_action max_action;
	pthread_mutex_t mu;	/* ctrs, set, denials */
	/* the watchdog (wmu guards the rest) */
	pthread_t watchdog;
	int watchdog_up;
	pthread_mutex_t wmu;
	pthread_cond_t wcv;	/* on CLOCK_MONOTONIC */
	int held_fd;		/* the event being judged; -1: none */
	int64_t held_until_ns;
	int held_answered;	/* the watchdog allowed it */
	int stopping;
	struct pctr **ctrs;
	size_t ctr_count;
	struct uw_policy_set *set;
	struct denial *head, **tail;
	size_t denial_count;
	/* the thread's alone */
	struct fan_mnts mnts;
	struct buf path, again;
	_Atomic uint64_t fast, judged, denied, fail_open, dropped;
};

/* ---- the thread ---- */

static void
answer(struct prevent *p, int fd, int allow)
{
	struct fanotify_response r = {
		.fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY
	};

	/* A failed write leaves the exec held until the group closes: it
	 * cannot fail but for a bad fd, which is not held. */
	(void)!write(p->fd, &r, sizeof(r));
}

static void
queue_denial(struct prevent *p, const struct pctr *c, const struct fan_proc *r,
    int gone, const struct stat *st)
{
	struct denial *d;

	if (p->denial_count >= MAX_DENIALS) {
		p->dropped++;
		return;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL || (d->ctr_id = strdup(c->info->id)) == NULL ||
	    (d->path = strndup((const char *)p->path.data, p->path.len)) ==
	    NULL) {
		if (d != NULL)
			free(d->ctr_id);
		free(d);
		p->dropped++;
		return;
	}
	d->proc = *r;
	d->gone = gone;
	d->st = *st;
	*p->tail = d;
	p->tail = &d->next;
	p->denial_count++;
	(void)!write(p->note[1], "d", 1);	/* a full pipe: already woken */
}

static struct pctr *
pctr_of_dev(struct prevent *p, uint64_t dev)
{
	size_t i;

	for (i = 0; i < p->ctr_count; i++)
		if (p->ctrs[i]->dev == dev)
			return p->ctrs[i];
	return NULL;
}

/*
 * A look found no upper file at p->path, the name of the file being run
 * (m->fd): is it its name still, not unlinked nor renamed meanwhile by
 * another process of the container?  Else the look was about some other
 * name: *st is the file's fstat now, and p->path its name now, without
 * the kernel's " (deleted)"; the caller judges it as drift.
 */
static int
still_named(struct prevent *p, const struct fan_target *t,
    const struct fanotify_event_metadata *m, struct stat *st)
{
	static const char sfx[] = " (deleted)";
	const size_t n = sizeof(sfx) - 1;
	struct buf *a = &p->again;

	if (fan_same_name(t, m->fd, m->pid, &p->mnts, &p->path, a, st))
		return 1;
	if (a->len > n && memcmp(a->data + a->len - n, sfx, n) == 0)
		a->len -= n;
	if (a->len > 0) {		/* else: the name it had */
		buf_reset(&p->path);
		if (buf_add(&p->path, a->data, a->len) < 0 ||
		    buf_addc(&p->path, '\0') < 0)
			buf_reset(&p->path);
		else
			p->path.len--;
	}
	return 0;
}

/*
 * Judge one exec: 1 allow, 0 refuse (then *rp and *cp say who tried what,
 * and *gone whether the file was unlinked, stp its fstat).  Called with
 * p->mu held; the watchdog minds the deadline.
 */
static int
judge(struct prevent *p, const struct fanotify_event_metadata *m, int pidfd,
    struct fan_proc *rp, struct pctr **cp, int *gone, struct stat *stp)
{
	struct fan_target t;
	struct fan_proc r;
	struct uw_record cur;
	struct uw_event ev;
	struct uw_verdict v;
	struct uw_error err;
	struct stat st;
	struct pctr *c;
	char v2[PATH_MAX], v1[PATH_MAX];
	size_t i, best;
	int rc;

	if (fstat(m->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (c = pctr_of_dev(p, st.st_dev)) == NULL) {
		p->fast++;
		return 1;	/* not a file of a container we guard */
	}
	t.owner = c;
	t.mount_point = c->info->mount_point;
	t.mnt_id = c->mnt_id;
	t.init_pid = c->info->pid;
	rc = fan_path_of(&t, m->fd, m->pid, &p->mnts, &p->path);
	if (rc == -ENAMETOOLONG) {
		/* deeper than the kernel names: no image file is, and the
		 * container chose it; judged as drift */
		buf_reset(&p->path);
		rc = buf_add(&p->path, FAN_LONG_PATH, strlen(FAN_LONG_PATH));
	}
	if (rc < 0 || buf_addc(&p->path, '\0') < 0) {
		p->fail_open++;
		return 1;
	}
	p->path.len--;
	*stp = st;
	/* Unlinked (run from an fd opened before): drift by the name it
	 * had, with its own fstat.  Else, in no upper layer: the image's,
	 * untouched.  It is looked for at each exec, never marked ignored:
	 * a mark on its (overlay) inode would outlive a copy-up and a
	 * change through a shared mapping, which the kernel does not count
	 * as a write. */
	*gone = p->path.data[0] != '/' ||
	    fan_gone(c->upper_fd, stp, &p->path);
	if (*gone) {
		p->path.data[p->path.len] = '\0';
		rc = 0;
	} else if (fan_in_no_upper(c->upper_fd, &p->path)) {
		if (still_named(p, &t, m, stp)) {
			p->fast++;
			return 1;
		}
		*gone = 1;
		st = *stp;
		p->path.data[p->path.len] = '\0';
		rc = 0;
	} else {
		rc = walk_stat_beneath(c->upper_fd,
		    (const char *)p->path.data, &st);
	}
	if (rc < 0 || p->set == NULL) {
		p->fail_open++;
		return 1;
	}
	memset(&r, 0, sizeof(r));
	fan_proc_read(&r, m->pid, pidfd, p->pidfds);
	best = 0;
	if (fan_cgroup_of(m->pid, v2, sizeof(v2), v1, sizeof(v1)) == 0)
		for (i = 0; i < p->ctr_count; i++)
			if (fan_cgroup_better(v2, v1, p->ctrs[i]->info,
			    &best)) {
				snprintf(r.ctr, sizeof(r.ctr), "%s",
				    p->ctrs[i]->info->id);
				r.p.container_id = r.ctr;
			}
	walk_record_from_stat(&cur, p->path.data, p->path.len, &st);
	memset(&ev, 0, sizeof(ev));
	ev.op = UW_OP_EXEC;
	ev.path = p->path.data;
	ev.path_len = p->path.len;
	ev.type = UW_TYPE_FILE;
	ev.current = &cur;
	ev.container = c->info;
	ev.process = &r.p;
	ev.time_ns = now_real_ns();
	if (policy_evaluate(p->set, &ev, p->max_action, &v, &err) < 0) {
		p->fail_open++;
		return 1;
	}
	p->judged++;
	if (v.action < UW_ACT_DENY)
		return 1;
	*rp = r;
	*cp = c;
	return 0;
}

/*
 * The watchdog: an exec held past the deadline (its judgement is slow) is
 * allowed then, whatever the judgement says later.  The perm thread
 * holds an event with hold() and takes it back with release(); the fd is
 * closed only after, so the watchdog never answers for another one.
 */
static void
hold(struct prevent *p, int fd, int64_t t0)
{
	pthread_mutex_lock(&p->wmu);
	p->held_fd = fd;
	p->held_until_ns = t0 + p->deadline_ns;
	p->held_answered = 0;
	pthread_cond_signal(&p->wcv);
	pthread_mutex_unlock(&p->wmu);
}

/* 1 when the watchdog answered it already. */
static int
release(struct prevent *p)
{
	int late;

	pthread_mutex_lock(&p->wmu);
	late = p->held_answered;
	p->held_fd = -1;
	pthread_mutex_unlock(&p->wmu);
	return late;
}

static void *
watchdog_main(void *arg)
{
	struct prevent *p = arg;
	struct timespec ts;
	int64_t until;

	pthread_mutex_lock(&p->wmu);
	while (!p->stopping) {
		if (p->held_fd < 0 || p->held_answered) {
			pthread_cond_wait(&p->wcv, &p->wmu);
			continue;
		}
		until = p->held_until_ns;
		if (now_mono_ns() < until) {
			ts.tv_sec = (time_t)(until / 1000000000);
			ts.tv_nsec = (long)(until % 1000000000);
			pthread_cond_timedwait(&p->wcv, &p->wmu, &ts);
			continue;
		}
		answer(p, p->held_fd, 1);
		p->held_answered = 1;
		p->fail_open++;
	}
	pthread_mutex_unlock(&p->wmu);
	return NULL;
}

static void
handle(struct prevent *p, const struct fanotify_event_metadata *m)
{
	struct fan_proc r;
	struct pctr *c = NULL;
	struct stat st;
	int64_t t0 = now_mono_ns();
	int pidfd = fan_event_pidfd(m), allow = 1, late = 0, gone = 0;

	if ((m->mask & FAN_OPEN_EXEC_PERM) && m->fd >= 0) {
		hold(p, m->fd, t0);
		pthread_mutex_lock(&p->mu);
		allow = judge(p, m, pidfd, &r, &c, &gone, &st);
		late = release(p);	/* the watchdog allowed it: too late */
		if (!late && !allow && now_mono_ns() - t0 > p->deadline_ns) {
			/* past the deadline, and the watchdog did not get
			 * the CPU in time: allowed all the same */
			allow = 1;
			p->fail_open++;
		}
		if (!late && !allow) {
			p->denied++;
			queue_denial(p, c, &r, gone, &st);
		}
		pthread_mutex_unlock(&p->mu);
	}
	if (m->fd >= 0) {
		if (!late)
			answer(p, m->fd, allow);
		close(m->fd);
	}
	if (pidfd >= 0)
		close(pidfd);
}

static void *
thread_main(void *arg)
{
	struct prevent *p = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct
	    fanotify_event_metadata))));
	const struct fanotify_event_metadata *m;
	struct pollfd pfd[2];
	ssize_t n;

	pfd[0].fd = p->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = p->stop[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		n = read(p->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			break;
		}
		for (m = (const void *)buf; FAN_EVENT_OK(m, n);
		    m = FAN_EVENT_NEXT(m, n))
			handle(p, m);
	}
	return NULL;
}

/* ---- the watcher's side ---- */

static void
pctr_free(struct pctr *c)
{
	if (c == NULL)
		return;
	if (c->upper_fd >= 0)
		close(c->upper_fd);
	discover_copy_free(c->info);
	free(c);
}

static struct uw_policy_set *
load_set(struct watcher *w, struct uw_error *err)
{
	return policy_load(w->opts->policy.paths, w->opts->policy.path_count,
	    &w->opts->policy.limits, NULL, NULL, err);
}

int
prevent_start(struct watcher *w)
{
	struct prevent *p;
	struct uw_error err;
	pthread_condattr_t ca;
	unsigned ms = w->opts->prevent_deadline_ms;
	int e;

	if (!w->opts->prevent)
		return 0;
	if (w->opts->policy.path_count == 0)
		return seterr(w->err, -EINVAL, "--prevent needs policies: it "
		    "refuses what a policy answers deny");
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	p->fd = p->stop[0] = p->stop[1] = p->note[0] = p->note[1] = -1;
	p->tail = &p->head;
	p->deadline_ns = (int64_t)(ms ? ms : DEFAULT_DEADLINE_MS) * 1000000;
	p->max_action = w->opts->policy.max_action;
	buf_init(&p->path, 4096);
	buf_init(&p->again, 4096);
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->wmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wcv, &ca);
	pthread_condattr_destroy(&ca);
	p->held_fd = -1;
	w->prevent = p;
	p->fd = fanotify_init(FAN_CLOEXEC | FAN_CLASS_CONTENT |
	    FAN_REPORT_PIDFD, O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NOATIME);
	p->pidfds = p->fd >= 0;
	if (p->fd < 0 && errno == EINVAL)	/* before 5.15 */
		p->fd = fanotify_init(FAN_CLOEXEC | FAN_CLASS_CONTENT,
		    O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NOATIME);
	if (p->fd < 0) {
		e = errno;
		return seterr(w->err, -e, "--prevent: fanotify: %s%s",
		    strerror(e), e == EPERM ? " (it needs CAP_SYS_ADMIN)" :
		    "");
	}
	if (pipe2(p->stop, O_CLOEXEC) != 0 ||
	    pipe2(p->note, O_CLOEXEC | O_NONBLOCK) != 0)
		return seterr(w->err, -errno, "pipe: %s", strerror(errno));
	p->set = load_set(w, &err);
	if (p->set == NULL)
		return seterr(w->err, err.code, "policies: %s", err.msg);
	if (pthread_create(&p->watchdog, NULL, watchdog_main, p) != 0)
		return seterr(w->err, -EAGAIN, "--prevent: cannot start its "
		    "threads");
	p->watchdog_up = 1;
	if (pthread_create(&p->thread, NULL, thread_main, p) != 0)
		return seterr(w->err, -EAGAIN, "--prevent: cannot start its "
		    "threads");
	p->thread_up = 1;
	notice_info(w, "prevention on: execs of drift are judged, refused "
	    "on deny, allowed after %lld ms or on any error",
	    (long long)(p->deadline_ns / 1000000));
	return 0;
}

void
prevent_stop(struct watcher *w)
{
	struct prevent *p = w->prevent;
	struct denial *d;
	size_t i;

	if (p == NULL)
		return;
	if (p->thread_up) {
		(void)!write(p->stop[1], "s", 1);
		pthread_join(p->thread, NULL);
	}
	if (p->watchdog_up) {
		pthread_mutex_lock(&p->wmu);
		p->stopping = 1;
		pthread_cond_signal(&p->wcv);
		pthread_mutex_unlock(&p->wmu);
		pthread_join(p->watchdog, NULL);
	}
	/* closing the group allows whatever is still pending */
	if (p->fd >= 0)
		close(p->fd);
	for (i = 0; i < 2; i++) {
		if (p->stop[i] >= 0)
			close(p->stop[i]);
		if (p->note[i] >= 0)
			close(p->note[i]);
	}
	for (i = 0; i < p->ctr_count; i++)
		pctr_free(p->ctrs[i]);
	free(p->ctrs);
	while ((d = p->head) != NULL) {
		p->head = d->next;
		free(d->ctr_id);
		free(d->path);
		free(d);
	}
	policy_free(p->set);
	fan_mnts_free(&p->mnts);
	buf_free(&p->path);
	buf_free(&p->again);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->wmu);
	pthread_cond_destroy(&p->wcv);
	free(p);
	w->prevent = NULL;
}

int
prevent_add(struct watcher *w, struct wctr *c)
{
	struct prevent *p = w->prevent;
	struct pctr *pc, **v;
	struct statx stx;
	const char *mp = c->info->mount_point;
	int fd = -1, e = ENOENT;

	if (p == NULL)
		return 0;
	pc = calloc(1, sizeof(*pc));
	if (pc == NULL)
		return seterr(w->err, -ENOMEM, "out of memory");
	pc->upper_fd = -1;
	if (mp != NULL && mp[0] == '/') {
		fd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		e = errno;
	}
	if (fd < 0 || statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
	    fanotify_mark(p->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
	    FAN_OPEN_EXEC_PERM, fd, NULL) < 0) {
		if (fd >= 0)
			e = errno;
		notice_coverage(w, c, "container %s: its execs cannot be "
		    "guarded (%s): --prevent does not hold them",
		    notice_escs(w, c->info->id), strerror(e));
		if (fd >= 0)
			close(fd);
		free(pc);
		return 0;
	}
	close(fd);
	pc->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	pc->mnt_id = stx.stx_mnt_id;
	pc->upper_fd = fcntl(c->root_fd, F_DUPFD_CLOEXEC, 0);
	pc->info = discover_copy(c->info);
	if (pc->upper_fd < 0 || pc->info == NULL) {
		pctr_free(pc);
		return seterr(w->err, -ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&p->mu);
	v = realloc(p->ctrs, (p->ctr_count + 1) * sizeof(*v));
	if (v != NULL) {
		p->ctrs = v;
		p->ctrs[p->ctr_count++] = pc;
	}
	pthread_mutex_unlock(&p->mu);
	if (v == NULL) {
		pctr_free(pc);
		return seterr(w->err, -ENOMEM, "out of memory");
	}
	return 0;
}

void
prevent_drop(struct watcher *w, struct wctr *c)
{
	struct prevent *p = w->prevent;
	struct pctr *gone = NULL;
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->ctr_count; i++) {
		if (strcmp(p->ctrs[i]->info->id, c->info->id) != 0)
			continue;
		gone = p->ctrs[i];
		p->ctrs[i] = p->ctrs[--p->ctr_count];
		break;
	}
	pthread_mutex_unlock(&p->mu);
	pctr_free(gone);	/* its mark goes with its overlay */
}

int
prevent_fd(const struct watcher *w)
{
	return w->prevent != NULL ? w->prevent->note[0] : -1;
}

int
prevent_read(struct watcher *w, int64_t now)
{
	struct prevent *p = w->prevent;
	struct denial *list, *d;
	char drain[64];
	size_t i;
	int rc = 0;

	if (p == NULL)
		return 0;
	while (read(p->note[0], drain, sizeof(drain)) > 0)
		continue;
	pthread_mutex_lock(&p->mu);
	list = p->head;
	p->head = NULL;
	p->tail = &p->head;
	p->denial_count = 0;
	pthread_mutex_unlock(&p->mu);
	while ((d = list) != NULL) {
		list = d->next;
		for (i = 0; rc == 0 && i < w->ctr_count; i++) {
			struct wctr *c = w->ctrs[i];

			if (strcmp(c->info->id, d->ctr_id) != 0)
				continue;
			rc = d->gone ? fan_report_gone_exec(w, c,
			    (unsigned char *)d->path, strlen(d->path),
			    &d->st, fan_process_keep(w, &d->proc),
			    PENT_DENIED) : watch_queue_by(w, c,
			    (unsigned char *)d->path, strlen(d->path),
			    PENT_EXEC | PENT_DENIED, now,
			    fan_process_keep(w, &d->proc));
			break;
		}
		free(d->ctr_id);
		free(d->path);
		free(d);
	}
	return rc;
}

void
prevent_reload(struct watcher *w)
{
	struct prevent *p = w->prevent;
	struct uw_policy_set *set, *old;
	struct uw_error err;

	if (p == NULL)
		return;
	set = load_set(w, &err);
	if (set == NULL) {
		notice_warn(w, "--prevent: policy reload failed, its previous "
		    "set stays: %s", err.msg);
		return;
	}
	pthread_mutex_lock(&p->mu);
	old = p->set;
	p->set = set;
	pthread_mutex_unlock(&p->mu);
	policy_free(old);
}

void
prevent_get_counts(const struct watcher *w, struct prevent_counts *n)
{
	struct prevent *p = w->prevent;

	memset(n, 0, sizeof(*n));
	if (p == NULL)
		return;
	n->fast = p->fast;
	n->judged = p->judged;
	n->denied = p->denied;
	n->fail_open = p->fail_open;
}
