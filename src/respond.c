/*
 * respond.c - carrying out verdicts on a container: pause, kill, resume,
 * each journaled with its outcome (the evidence kept before a pause or
 * kill is evidence.c's).
 *
 * Pause goes through the container's runtime where it keeps a state of
 * its own (podman pause, the Docker API, ctr), so the runtime's own view
 * stays true; runc's pause is nothing but its cgroup's freeze, so that is
 * done here directly.  Otherwise, or when the runtime fails, straight
 * through the cgroup: the v1 freezer (FROZEN, which runc reads as
 * "paused") or v2 cgroup.freeze, waiting until the kernel says the
 * tasks are frozen.  Kill is v2 cgroup.kill where it exists (race-free
 * with forks), else freeze, SIGKILL every pid, thaw; a v1-frozen task
 * ignores SIGKILL until it is thawed, so a frozen container is thawed
 * after the kill.  Success means no process of the container is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "evidence.h"
#include "jsonw.h"
#include "names.h"
#include "respond.h"
#include "util.h"

#define WAIT_FIRST_NS 50000	/* 50 us, doubling ... */
#define WAIT_STEP_NS 5000000		/* ... up to 5 ms between checks */
#define WAIT_MAX_NS 3000000000LL	/* give the kernel 3 s */
#define EXEC_TIMEOUT_S 10

static void
sleep_ns(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

/* Write `value` to dir/name. */
static int
write_file(const char *dir, const char *name, const char *value)
{
	char path[PATH_MAX];
	int fd, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Read dir/name (at most len - 1 bytes: one read, enough for a
 * state). */
static int
read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int
exists(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Wait until dir/name holds `want` (as a line or a substring). */
static int
wait_for(const char *dir, const char *name, const char *want)
{
	char buf[4096];
	int64_t deadline = now_mono_ns() + WAIT_MAX_NS;
	long step = WAIT_FIRST_NS;

	/* Most freezes are done within a few scheduler ticks: a short
	 * first wait, growing, so a quick one is not rounded up to 5 ms. */
	do {
		if (read_file(dir, name, buf, sizeof(buf)) == 0 &&
		    strstr(buf, want) != NULL)
			return 0;
		sleep_ns(step);
		if (step < WAIT_STEP_NS)
			step *= 2;
	} while (now_mono_ns() < deadline);
	return -ETIMEDOUT;
}

/* How far a kill reads a container's cgroups (the container may nest its
 * own in them): past that it fails closed (respond_kill). */
#define KILL_MAX_CGROUPS 4096
#define KILL_MAX_DEPTH 64

/* pids_each over dir's cgroup and every cgroup below it (within the kill's
 * caps): what fn returned to stop, else 0; E2BIG when some were past the
 * caps; 0 when dir is gone, with its processes. */
static int
tree_pids_each(const char *dir, int (*fn)(long pid, void *arg))
{
	struct cgroup_caps caps;
	int fd, rc;

	if (dir == NULL || dir[0] == '\0')
		return 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	memset(&caps, 0, sizeof(caps));
	caps.max_cgroups = KILL_MAX_CGROUPS;
	caps.max_depth = KILL_MAX_DEPTH;
	rc = cgroup_pids_each(fd, &caps, fn, NULL);
	close(fd);
	return rc > 0 ? rc : caps.capped ? E2BIG : 0;
}

/* A pid (pids_each): stop at the first. */
static int
any_pid(long pid, void *arg)
{
	(void)pid;
	(void)arg;
	return 1;
}

/* Has the cgroup at dir, or one below it, a process?  A v2 cgroup's
 * cgroup.events says, for its whole subtree however deep or wide (a
 * cgroup.kill reaches all of it too); elsewhere the cgroups are walked,
 * and it is yes when that cannot tell (more cgroups than the caps). */
static int
has_procs(const char *dir)
{
	char buf[256];
	const char *p;

	if (dir != NULL && dir[0] != '\0' &&
	    read_file(dir, "cgroup.events", buf, sizeof(buf)) == 0 &&
	    (p = strstr(buf, "populated ")) != NULL &&
	    (p == buf || p[-1] == '\n') && (p[10] == '0' || p[10] == '1'))
		return p[10] == '1';
	return tree_pids_each(dir, any_pid) != 0;
}

/*
 * In a forked child: close every fd above 2, so a runtime binary gets
 * no upper-dir, database or inotify fd of ours even where an open
 * forgot O_CLOEXEC.  close_range (Linux 5.9), else one close per
 * possible fd.  Async-signal-safe.
 */
static void
close_inherited(void)
{
	struct rlimit rl;
	int fd, max = 65536;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)INT_MAX)
		max = (int)rl.rlim_cur;
	for (fd = 3; fd < max; fd++)
		close(fd);
}

/*
 * Run argv with a time limit; 0 when it exited 0, its output (stdout and
 * stderr, cut to outlen - 1 bytes, trailing blanks dropped) in out.  The
 * child gets our stdin, the pipe as stdout and stderr, and no other fd.
 * The pipe is polled, so a child that is done is seen at once.
 */
int
respond_run(char *const argv[], char *out, size_t outlen)
{
	int pipefd[2], status = 0, open_pipe = 1, ms;
	int64_t deadline, left;
	struct pollfd pfd;
	char sink[256];
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		/* dup2 onto itself keeps O_CLOEXEC */
		fcntl(STDOUT_FILENO, F_SETFD, 0);
		fcntl(STDERR_FILENO, F_SETFD, 0);
		close_inherited();
		/* the watcher ignores SIGPIPE; a runtime gets the default */
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	deadline = now_mono_ns() + (int64_t)EXEC_TIMEOUT_S * 1000000000;
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		left = deadline - now_mono_ns();
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pipefd[0]);
			snprintf(out, outlen, "%s timed out", argv[0]);
			return -ETIMEDOUT;
		}
		/* Until the pipe closes (the child, and whatever it left
		 * behind, are done with it), wait on it; then on the exit,
		 * in short steps. */
		if (!open_pipe) {
			sleep_ns(WAIT_FIRST_NS * 4);
			continue;
		}
		ms = left > 50000000 ? 50 : (int)(left / 1000000) + 1;
		pfd.fd = pipefd[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) <= 0)
			continue;
		n = read(pipefd[0], got < outlen - 1 ? out + got : sink,
		    got < outlen - 1 ? outlen - 1 - got : sizeof(sink));
		if (n > 0 && got < outlen - 1)
			got += (size_t)n;
		else if (n == 0)
			open_pipe = 0;
	}
	while (got < outlen - 1 &&
	    (n = read(pipefd[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	close(pipefd[0]);
	out[got] = '\0';
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return -EIO;
}

#define DOCKER_SOCKET "/var/run/docker.sock"

static size_t
discard_body(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

/* POST /containers/<id>/<verb> to the Docker Engine API over its unix
 * socket; 0 on a 2xx answer. */
static int
docker_api(const char *id, const char *verb, char *out, size_t outlen)
{
	char url[512];
	long code = 0;
	CURLcode rc;
	CURL *curl;

	if (access(DOCKER_SOCKET, W_OK) != 0)
		return -ENOENT;
	curl = curl_easy_init();
	if (curl == NULL)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://localhost/containers/%s/%s", id,
	    verb);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, DOCKER_SOCKET);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(curl);
	snprintf(out, outlen, "docker API %s: %s (HTTP %ld)", verb,
	    curl_easy_strerror(rc), code);
	return rc == CURLE_OK && code >= 200 && code < 300 ? 0 : -EIO;
}

static int
runtime_is(const struct respond_target *t, const char *name)
{
	return t->runtime != NULL && strcmp(t->runtime, name) == 0;
}

static int
freeze_cgroup(const struct respond_target *t, const char **method,
    struct uw_error *err)
{
	int rc;

	if (t->v1_freezer != NULL && t->v1_freezer[0] != '\0') {
		*method = "cgroup-v1";
		rc = write_file(t->v1_freezer, "freezer.state", "FROZEN");
		if (rc == 0)
			rc = wait_for(t->v1_freezer, "freezer.state", "FROZEN");
		if (rc < 0)
			return seterr(err, rc, "%s/freezer.state: %s",
			    t->v1_freezer, strerror(-rc));
		return 0;
	}
	if (t->v2 != NULL && t->v2[0] != '\0' &&
	    exists(t->v2, "cgroup.freeze")) {
		*method = "cgroup-v2";
		rc = write_file(t->v2, "cgroup.freeze", "1");
		if (rc == 0)
			rc = wait_for(t->v2, "cgroup.events", "frozen 1");
		if (rc < 0)
			return seterr(err, rc, "%s/cgroup.freeze: %s", t->v2,
			    strerror(-rc));
		return 0;
	}
	return seterr(err, -ENOENT, "container %s: no cgroup freezer "
	    "found", t->id);
}

static int
thaw_cgroup(const struct respond_target *t, const char *method,
    struct uw_error *err)
{
	int rc;

	if (strcmp(method, "cgroup-v1") == 0) {
		rc = write_file(t->v1_freezer, "freezer.state", "THAWED");
		if (rc == 0)
			rc = wait_for(t->v1_freezer, "freezer.state", "THAWED");
		return rc < 0 ? seterr(err, rc, "%s/freezer.state: %s",
		    t->v1_freezer, strerror(-rc)) : 0;
	}
	rc = write_file(t->v2, "cgroup.freeze", "0");
	if (rc == 0)
		rc = wait_for(t->v2, "cgroup.events", "frozen 0");
	return rc < 0 ? seterr(err, rc, "%s/cgroup.freeze: %s", t->v2,
	    strerror(-rc)) : 0;
}

int
respond_pause(const struct respond_target *t, const char **method,
    struct uw_error *err)
{
	char out[1024];
	char *argv[8];
	int rc;

	/*
	 * runc keeps no pause state of its own: `runc state` says paused
	 * when the freezer says frozen, and `runc resume` thaws whatever
	 * froze it.  So its cgroup is frozen here directly, without the
	 * milliseconds of starting runc, and the method stays "runc" for
	 * the resume.  (Podman keeps its own state: it is asked.)
	 */
	if (runtime_is(t, "runc")) {
		const char *how;

		rc = freeze_cgroup(t, &how, err);
		if (rc == 0) {
			*method = "runc";
			return 0;
		}
		/* Only a cgroup we do not know is runc's to find; one that
		 * would not freeze (or froze half-way) it would fail on too,
		 * after as long again. */
		if (rc != -ENOENT) {
			*method = how;
			return rc;
		}
	}
	if (runtime_is(t, "runc") || runtime_is(t, "podman")) {
		/* a literal: *method outlives the target's strings */
		*method = runtime_is(t, "runc") ? "runc" : "podman";
		argv[0] = (char *)*method;
		argv[1] = "pause";
		argv[2] = (char *)t->id;
		argv[3] = NULL;
		rc = respond_run(argv, out, sizeof(out));
		if (rc == 0)
			return 0;
		/* fall through to the cgroup: a pause must not fail for want
		 * of a runtime binary */
	} else if (runtime_is(t, "docker")) {
		/* The Engine API, so `docker ps` says Paused. */
		*method = "docker";
		if (docker_api(t->id, "pause", out, sizeof(out)) == 0)
			return 0;
	} else if (runtime_is(t, "containerd") && t->ns != NULL &&
	    t->ns[0] != '\0') {
		*method = "ctr";
		argv[0] = "ctr";
		argv[1] = "-n";
		argv[2] = (char *)t->ns;
		argv[3] = "tasks";
		argv[4] = "pause";
		argv[5] = (char *)t->id;
		argv[6] = NULL;
		if (respond_run(argv, out, sizeof(out)) == 0)
			return 0;
	}
	return freeze_cgroup(t, method, err);
}

int
respond_is_frozen(const struct respond_target *t)
{
	char buf[4096];

	if (t->v1_freezer != NULL && t->v1_freezer[0] != '\0' &&
	    read_file(t->v1_freezer, "freezer.state", buf, sizeof(buf)) == 0 &&
	    strncmp(buf, "FROZEN", 6) == 0)
		return 1;
	if (t->v2 != NULL && t->v2[0] != '\0' &&
	    read_file(t->v2, "cgroup.events", buf, sizeof(buf)) == 0 &&
	    strstr(buf, "frozen 1") != NULL)
		return 1;
	return 0;
}

int
respond_resume(const struct respond_target *t, const char *method,
    struct uw_error *err)
{
	char out[1024];
	char *argv[4];
	int rc;

	if (strcmp(method, "docker") == 0) {
		rc = docker_api(t->id, "unpause", out, sizeof(out));
		return rc < 0 ? seterr(err, rc, "%s", out) : 0;
	}
	if (strcmp(method, "ctr") == 0) {
		char *cargv[] = { "ctr", "-n", (char *)t->ns, "tasks", "resume",
		    (char *)t->id, NULL };

		rc = respond_run(cargv, out, sizeof(out));
		return rc < 0 ? seterr(err, rc, "ctr resume %s: %s", t->id,
		    out[0] ? out : strerror(-rc)) : 0;
	}
	if (strcmp(method, "runc") == 0 || strcmp(method, "podman") == 0) {
		argv[0] = (char *)method;
		argv[1] = strcmp(method, "runc") == 0 ? "resume" : "unpause";
		argv[2] = (char *)t->id;
		argv[3] = NULL;
		rc = respond_run(argv, out, sizeof(out));
		if (rc < 0)
			return seterr(err, rc, "%s %s %s: %s", argv[0],
			    argv[1], t->id, out[0] ? out : strerror(-rc));
		return 0;
	}
	if (strcmp(method, "cgroup-v1") == 0 ||
	    strcmp(method, "cgroup-v2") == 0)
		return thaw_cgroup(t, method, err);
	return seterr(err, -EINVAL, "unknown pause method '%s'", method);
}

/* SIGKILL one pid of a list (pids_each). */
static int
kill_one(long pid, void *arg)
{
	(void)arg;
	if (pid > 1)
		kill((pid_t)pid, SIGKILL);
	return 0;
}

/* SIGKILL every pid of the cgroup at dir and of those below it (all of
 * each list, not what one read gives: a page, some 700), while the
 * cgroup is frozen: 0, or E2BIG when some were past the caps. */
static int
kill_procs(const char *dir)
{
	return tree_pids_each(dir, kill_one);
}

int
respond_kill(const struct respond_target *t, const char **method,
    struct uw_error *err)
{
	const char *freeze_method = NULL;
	const char *dir;
	char state[64];
	int64_t deadline;
	int rc, v1_frozen = 0;

	if (t->v1_freezer != NULL && t->v1_freezer[0] != '\0' &&
	    read_file(t->v1_freezer, "freezer.state", state,
	    sizeof(state)) == 0 && strncmp(state, "FROZEN", 6) == 0)
		v1_frozen = 1;
	if (t->v2 != NULL && t->v2[0] != '\0' &&
	    exists(t->v2, "cgroup.kill")) {
		*method = "cgroup.kill";
		rc = write_file(t->v2, "cgroup.kill", "1");
		if (rc < 0)
			return seterr(err, rc, "%s/cgroup.kill: %s", t->v2,
			    strerror(-rc));
		dir = t->v2;
	} else {
		/* Freeze, so nothing forks away, kill each, thaw. */
		*method = "freeze+sigkill";
		rc = freeze_cgroup(t, &freeze_method, err);
		if (rc < 0)
			return rc;
		dir = strcmp(freeze_method, "cgroup-v1") == 0 ?
		    t->v1_freezer : t->v2;
		if (kill_procs(dir) == E2BIG)
			/* Thawed, a process not read would run on: it stays
			 * frozen with the rest, and says why. */
			return seterr(err, -E2BIG, "container %s: its cgroups "
			    "nest more than %d deep or %d in all: left frozen, "
			    "not killed", t->id, KILL_MAX_DEPTH,
			    KILL_MAX_CGROUPS);
		if (strcmp(freeze_method, "cgroup-v2") == 0)
			(void)thaw_cgroup(t, freeze_method, err);
		v1_frozen = strcmp(freeze_method, "cgroup-v1") == 0;
	}
	/* A v1-frozen task dies only once thawed. */
	if (v1_frozen)
		(void)write_file(t->v1_freezer, "freezer.state", "THAWED");
	deadline = now_mono_ns() + WAIT_MAX_NS;
	while ((has_procs(t->v2) || has_procs(t->v1_freezer)) &&
	    now_mono_ns() < deadline) {
		sleep_ns(WAIT_STEP_NS);
		if (has_procs(dir))
			(void)kill_procs(dir);
	}
	if (has_procs(t->v2) || has_procs(t->v1_freezer))
		return seterr(err, -EBUSY, "container %s: processes remain "
		    "after the kill", t->id);
	return 0;
}

/* ---- verdicts ---- */

void
respond_target_of(const struct uw_container *c, struct respond_target *t)
{
	size_t k;

	memset(t, 0, sizeof(*t));
	t->id = c->id;
	t->runtime = c->runtime;
	t->v1_freezer = c->cgroup_v1_freezer;
	t->v2 = c->cgroup_v2;
	for (k = 0; k < c->label_count; k++)
		if (strcmp(c->labels[k].key, "containerd.namespace") == 0)
			t->ns = c->labels[k].value;
}

static void
say(const struct respond_sink *s, enum uw_notice_level level,
    const char *fmt, ...) UW_PRINTF(3, 4);

static void
say(const struct respond_sink *s, enum uw_notice_level level,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (s->say == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->say(s->arg, level, msg);
}

int
respond_verdict(const struct respond_sink *s, struct respond_ctr *c,
    const struct uw_event *ev, const struct uw_verdict *v,
    enum respond_outcome *outcome)
{
	const struct respond_target *t = &c->target;
	struct uw_error rerr, everr;
	char evidence[PATH_MAX] = "", detail[UW_ERRLEN + 64];
	char id[256], path[512];
	const char *method = NULL, *what = action_name(v->wanted);
	int64_t latency;
	int rc;

	*outcome = RESPOND_SKIPPED;
	escape_cut(id, sizeof(id), t->id, strlen(t->id));
	escape_cut(path, sizeof(path), ev->path, ev->path_len);
	if (v->action < UW_ACT_PAUSE) {
		snprintf(detail, sizeof(detail), "capped at %s by the "
		    "operator (--max-action or --dry-run)",
		    action_name(v->action));
		say(s, UW_NOTICE_INFO, "container %s: %s on %s not done: %s",
		    id, what, path, detail);
		return s->journal(s->arg, ev->id, t->id, what, NULL,
		    "skipped", detail, 0, NULL);
	}
	what = action_name(v->action);
	/* Paused by us, and still frozen?  (upperwatch resume, or the
	 * runtime, may have thawed it since.) */
	if (c->paused && v->action == UW_ACT_PAUSE && !respond_is_frozen(t))
		c->paused = 0;
	if (c->killed || (c->paused && v->action == UW_ACT_PAUSE))
		return s->journal(s->arg, ev->id, t->id, what, NULL,
		    "skipped", c->killed ? "already killed" :
		    "already paused", 0, NULL);
	everr.msg[0] = '\0';
	if (ev->type == UW_TYPE_FILE && ev->current != NULL &&
	    s->evidence_dir != NULL && c->upper_fd >= 0 &&
	    evidence_keep(c->upper_fd, ev->path, ev->path_len,
	    s->evidence_dir, ev->id, ev->json, evidence, sizeof(evidence),
	    &everr) < 0) {
		say(s, UW_NOTICE_WARNING, "container %s: %s", id, everr.msg);
		evidence[0] = '\0';
	}
	if (v->action == UW_ACT_KILL)
		rc = respond_kill(t, &method, &rerr);
	else
		rc = respond_pause(t, &method, &rerr);
	latency = now_real_ns() - ev->time_ns;
	if (rc == 0) {
		if (v->action == UW_ACT_KILL)
			c->killed = 1;
		else
			c->paused = 1;
		*outcome = RESPOND_DONE;
		say(s, UW_NOTICE_INFO, "container %s %s (%s) %.1f ms after "
		    "detecting %s %s", id, v->action == UW_ACT_KILL ?
		    "killed" : "paused", method, (double)latency / 1e6,
		    op_name(ev->op), path);
	} else {
		*outcome = RESPOND_FAILED;
		say(s, UW_NOTICE_WARNING, "container %s: %s failed: %s", id,
		    what, rerr.msg);
	}
	return s->journal(s->arg, ev->id, t->id, what, method, rc == 0 ?
	    "done" : "failed", rc != 0 ? rerr.msg : everr.msg[0] ?
	    everr.msg : NULL, latency, evidence[0] ? evidence : NULL);
}

int
respond_resume_journaled(const struct respond_sink *s,
    const struct respond_target *t, const char *method,
    struct uw_error *err)
{
	int64_t start = now_mono_ns();
	int rc, jrc;

	rc = respond_resume(t, method, err);
	jrc = s->journal(s->arg, 0, t->id, "resume", method, rc == 0 ?
	    "done" : "failed", rc == 0 ? NULL : err->msg,
	    now_mono_ns() - start, NULL);
	return rc < 0 ? rc : jrc;
}
