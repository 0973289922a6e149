/*
 * respond.c - carrying out verdicts on a container: pause, kill, resume,
 * and the evidence kept before either.
 *
 * Pause goes through the container's runtime where one is known (runc
 * pause, podman pause), so the runtime's own view stays true; otherwise
 * straight through the cgroup: the v1 freezer (FROZEN, which runc reads
 * as "paused") or v2 cgroup.freeze, waiting until the kernel says the
 * tasks are frozen.  Kill is v2 cgroup.kill where it exists (race-free
 * with forks), else freeze, SIGKILL every pid, thaw; a v1-frozen task
 * ignores SIGKILL until it is thawed, so a frozen container is thawed
 * after the kill.  Success means no process of the container is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
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

#include "jsonw.h"
#include "respond.h"
#include "util.h"

#define WAIT_STEP_NS 5000000		/* 5 ms between checks */
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

/* Read dir/name (at most len - 1 bytes). */
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

	do {
		if (read_file(dir, name, buf, sizeof(buf)) == 0 &&
		    strstr(buf, want) != NULL)
			return 0;
		sleep_ns(WAIT_STEP_NS);
	} while (now_mono_ns() < deadline);
	return -ETIMEDOUT;
}

/* Are there processes in the cgroup dir? */
static int
has_procs(const char *dir)
{
	char buf[64];

	if (dir == NULL || dir[0] == '\0')
		return 0;
	if (read_file(dir, "cgroup.procs", buf, sizeof(buf)) != 0)
		return 0;	/* gone with its processes */
	return buf[0] != '\0';
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

/* Run argv with a time limit; 0 when it exited 0.  The child gets our
 * stdin, the pipe as stdout and stderr, and no other fd. */
static int
run(char *const argv[], char *out, size_t outlen)
{
	int pipefd[2], status = 0;
	int64_t deadline;
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
		n = read(pipefd[0], out + got, outlen - 1 - got);
		if (n > 0 && got + (size_t)n < outlen - 1)
			got += (size_t)n;
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (now_mono_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pipefd[0]);
			snprintf(out, outlen, "%s timed out", argv[0]);
			return -ETIMEDOUT;
		}
		sleep_ns(WAIT_STEP_NS);
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

	if (runtime_is(t, "runc")) {
		*method = "runc";
		argv[0] = "runc";
		argv[1] = "pause";
		argv[2] = (char *)t->id;
		argv[3] = NULL;
		rc = run(argv, out, sizeof(out));
		if (rc == 0)
			return 0;
		/* fall through to the cgroup: a pause must not fail for want
		 * of a runtime binary */
	} else if (runtime_is(t, "podman")) {
		*method = "podman";
		argv[0] = "podman";
		argv[1] = "pause";
		argv[2] = (char *)t->id;
		argv[3] = NULL;
		rc = run(argv, out, sizeof(out));
		if (rc == 0)
			return 0;
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
		if (run(argv, out, sizeof(out)) == 0)
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

		rc = run(cargv, out, sizeof(out));
		return rc < 0 ? seterr(err, rc, "ctr resume %s: %s", t->id,
		    out[0] ? out : strerror(-rc)) : 0;
	}
	if (strcmp(method, "runc") == 0 || strcmp(method, "podman") == 0) {
		argv[0] = (char *)method;
		argv[1] = strcmp(method, "runc") == 0 ? "resume" : "unpause";
		argv[2] = (char *)t->id;
		argv[3] = NULL;
		rc = run(argv, out, sizeof(out));
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

/* SIGKILL every pid listed in dir/cgroup.procs. */
static void
kill_procs(const char *dir)
{
	char buf[65536], *p, *end;
	long pid;

	if (read_file(dir, "cgroup.procs", buf, sizeof(buf)) != 0)
		return;
	for (p = buf; *p != '\0'; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
		while (*end == '\n')
			end++;
	}
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
		kill_procs(dir);
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
			kill_procs(dir);
	}
	if (has_procs(t->v2) || has_procs(t->v1_freezer))
		return seterr(err, -EBUSY, "container %s: processes remain "
		    "after the kill", t->id);
	return 0;
}

/* ---- evidence ---- */

#define EVIDENCE_NAME_TRIES 1000	/* <id>, <id>-1 ... <id>-999 */
#define EVIDENCE_PARENTS_MAX 64

/* Name the dir fd refers to, for a message ("?" if /proc cannot). */
static const char *
fd_name(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return "?";
	buf[n] = '\0';
	return buf;
}

/*
 * May others plant or swap entries in the dir fd refers to?  The dir
 * must be ours (or root's, for a parent) and not writable by group or
 * others; a root-owned sticky dir (/tmp) may be, since no one else can
 * then rename what is ours in it.  0, or -EPERM with err set.
 */
static int
dir_unsafe(int fd, const struct stat *st, int parent, uid_t me,
    struct uw_error *err)
{
	char name[PATH_MAX];
	int sticky = st->st_uid == 0 && (st->st_mode & S_ISVTX);

	if (st->st_uid != me && !(parent && st->st_uid == 0))
		return seterr(err, -EPERM, "evidence missing: %s%s is owned "
		    "by uid %u, not by uid %u: refused", parent ?
		    "a parent of the evidence dir, " : "",
		    fd_name(fd, name, sizeof(name)), (unsigned)st->st_uid,
		    (unsigned)me);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(parent && sticky))
		return seterr(err, -EPERM, "evidence missing: %s%s is "
		    "writable by group or others (mode %04o): refused",
		    parent ? "a parent of the evidence dir, " : "",
		    fd_name(fd, name, sizeof(name)),
		    (unsigned)(st->st_mode & 07777));
	return 0;
}

/*
 * Open the evidence dir (created 0700 if missing) and make sure no one
 * but us can put anything into it, nor swap it: it must be a real dir
 * (not a symlink), ours, not writable by group or others; and so must
 * each parent, up to the first owned by root and not writable by others
 * (a root-owned sticky dir such as /tmp is passed over).  Returns the
 * dir's fd, or a negative errno with err set ("evidence missing: ...").
 */
static int
evidence_dir_open(const char *dir, struct uw_error *err)
{
	struct stat st, up_st;
	uid_t me = geteuid();
	int fd, cur, up, depth, rc;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return seterr(err, -errno, "evidence missing: %s: %s", dir,
		    strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return seterr(err, rc, "evidence missing: %s: %s", dir,
		    rc == -ELOOP || rc == -ENOTDIR ? "not a directory (a "
		    "symlink?): refused" : strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = seterr(err, -errno, "evidence missing: %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	rc = dir_unsafe(fd, &st, 0, me, err);
	cur = -1;	/* the parent checked last */
	for (depth = 0; rc == 0 && depth < EVIDENCE_PARENTS_MAX; depth++) {
		up = openat(cur >= 0 ? cur : fd, "..", O_PATH | O_DIRECTORY |
		    O_CLOEXEC);
		if (up < 0 || fstat(up, &up_st) < 0) {
			rc = seterr(err, -errno, "evidence missing: a parent "
			    "of %s: %s", dir, strerror(errno));
			if (up >= 0)
				close(up);
			break;
		}
		if (cur >= 0)
			close(cur);
		cur = up;
		if (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino)
			break;		/* "/" is its own parent */
		rc = dir_unsafe(cur, &up_st, 1, me, err);
		if (rc == 0 && up_st.st_uid == 0 &&
		    !(up_st.st_mode & (S_IWGRP | S_IWOTH)))
			break;	/* only root could swap what is below */
		st = up_st;
	}
	if (cur >= 0)
		close(cur);
out:
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Write all of buf; 0 or a negative errno. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The container's path, escaped for a message (it is the container's
 * to choose: a newline in it must not start a line of its own). */
static const char *
esc_path(char *buf, size_t len, const unsigned char *path, size_t path_len)
{
	escape_to_buf(buf, len, path, path_len, NULL);
	return buf;
}

/*
 * Open the upper entry `rel` beneath upper_fd for reading only if it is
 * a regular file: first as O_PATH (which opens nothing: a FIFO's writer
 * is not released, a device not armed), then, once fstat says regular,
 * reopened through /proc/self/fd.  The fd, or a negative errno with err
 * set; *st gets what was found.
 */
static int
open_regular_beneath(int upper_fd, const char *rel, const unsigned char *path,
    size_t path_len, struct stat *st, struct uw_error *err)
{
	struct open_how how;
	struct stat again;
	char proc[64], shown[512];
	int pfd, in = -1, rc;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	pfd = (int)syscall(SYS_openat2, upper_fd, rel, &how, sizeof(how));
	if (pfd < 0)
		return seterr(err, -errno, "evidence missing: %s: %s",
		    esc_path(shown, sizeof(shown), path, path_len),
		    strerror(errno));
	if (fstat(pfd, st) < 0) {
		rc = seterr(err, -errno, "evidence missing: %s: %s",
		    esc_path(shown, sizeof(shown), path, path_len),
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		rc = seterr(err, -EINVAL, "evidence missing: %s is no "
		    "longer a regular file (mode %06o): metadata only",
		    esc_path(shown, sizeof(shown), path, path_len),
		    (unsigned)st->st_mode);
		goto out;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	in = open(proc, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (in < 0) {
		rc = seterr(err, -errno, "evidence missing: %s: reopening "
		    "through %s: %s", esc_path(shown, sizeof(shown), path,
		    path_len), proc, strerror(errno));
		goto out;
	}
	if (fstat(in, &again) < 0 || again.st_dev != st->st_dev ||
	    again.st_ino != st->st_ino) {
		rc = seterr(err, -ESTALE, "evidence missing: %s changed "
		    "while opened", esc_path(shown, sizeof(shown), path,
		    path_len));
		goto out;
	}
	rc = in;
	in = -1;
out:
	if (in >= 0)
		close(in);
	close(pfd);
	return rc;
}

/* Copy in to out, at most RESPOND_EVIDENCE_MAX bytes; *copied gets the
 * count.  0 or a negative errno. */
static int
copy_capped(int in, int out, uint64_t *copied)
{
	char buf[65536];
	size_t want;
	ssize_t n;
	int rc;

	*copied = 0;
	while (*copied < RESPOND_EVIDENCE_MAX) {
		want = sizeof(buf);
		if (RESPOND_EVIDENCE_MAX - *copied < want)
			want = (size_t)(RESPOND_EVIDENCE_MAX - *copied);
		n = read(in, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		rc = write_all(out, buf, (size_t)n);
		if (rc < 0)
			return rc;
		*copied += (uint64_t)n;
	}
	return 0;
}

/* metadata.json beside the copy: what was kept, and why not all. */
static int
write_meta(int sub_fd, uint64_t copied, int truncated, const char *error,
    const char *meta_json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int fd, first = 1, rc;

	mem = open_memstream(&buf, &len);
	if (mem == NULL)
		return -ENOMEM;
	fputc('{', mem);
	jsonw_uint(mem, &first, "copied", copied);
	jsonw_bool(mem, &first, "truncated", truncated);
	if (error != NULL)
		jsonw_str(mem, &first, "error", error);
	jsonw_key(mem, &first, "event");
	fputs(meta_json != NULL ? meta_json : "null", mem);
	fputs("}\n", mem);
	if (fclose(mem) != 0) {
		free(buf);
		return -ENOMEM;
	}
	fd = openat(sub_fd, "metadata.json", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, buf, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
out:
	free(buf);
	return rc;
}

/*
 * Copy the upper entry at container path `path` into a new dir under
 * the evidence dir `dir`, named after the event (<event id>, or
 * <event id>-N when that name is taken: after a database reset ids start
 * again, and nothing is ever overwritten), as "file" (at most
 * RESPOND_EVIDENCE_MAX bytes) with a metadata.json beside it.
 *
 * The evidence dir is refused unless only we can write it (see
 * evidence_dir_open); every entry under it is made with O_EXCL and
 * O_NOFOLLOW relative to its fd.  The source is resolved beneath the
 * upper root without symlinks and opened for reading only once it is
 * known to be a regular file: a FIFO, socket or device swapped in is
 * never opened.
 *
 * 0 with *where the copy's path; otherwise a negative errno, err saying
 * "evidence missing: <why>" and *where "" (a metadata.json may still
 * have been written).  Never touches the container.
 */
int
respond_evidence(int upper_fd, const unsigned char *path, size_t path_len,
    const char *dir, uint64_t event_id, const char *meta_json, char *where,
    size_t where_len, struct uw_error *err)
{
	struct stat st;
	char name[64], rel[PATH_MAX + 1], copy_path[PATH_MAX], shown[512];
	uint64_t copied = 0;
	int dir_fd = -1, sub_fd = -1, src_fd = -1, copy_fd, rc, k;

	if (where_len > 0)
		where[0] = '\0';
	if (path_len == 0 || path_len >= sizeof(rel) || path[0] != '/' ||
	    memchr(path, '\0', path_len) != NULL)
		return seterr(err, -EINVAL, "evidence missing: bad path");
	memcpy(rel, path + 1, path_len - 1);
	rel[path_len - 1] = '\0';
	if (path_len == 1)
		return seterr(err, -EINVAL, "evidence missing: / is not a "
		    "file");
	dir_fd = evidence_dir_open(dir, err);
	if (dir_fd < 0)
		return dir_fd;
	for (k = 0; k < EVIDENCE_NAME_TRIES; k++) {
		if (k == 0)
			snprintf(name, sizeof(name), "%llu",
			    (unsigned long long)event_id);
		else
			snprintf(name, sizeof(name), "%llu-%d",
			    (unsigned long long)event_id, k);
		if (mkdirat(dir_fd, name, 0700) == 0)
			break;
		if (errno != EEXIST) {
			rc = seterr(err, -errno, "evidence missing: %s "
			    "(making %s/%s)", strerror(errno), dir, name);
			goto out;
		}
	}
	if (k == EVIDENCE_NAME_TRIES) {
		rc = seterr(err, -EEXIST, "evidence missing: %s/%llu: every "
		    "name up to -%d is taken", dir,
		    (unsigned long long)event_id, EVIDENCE_NAME_TRIES - 1);
		goto out;
	}
	sub_fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (sub_fd < 0) {
		rc = seterr(err, -errno, "evidence missing: %s/%s: %s", dir,
		    name, strerror(errno));
		goto out;
	}
	if ((size_t)snprintf(copy_path, sizeof(copy_path), "%s/%s/file", dir,
	    name) >= sizeof(copy_path) || strlen(copy_path) >= where_len) {
		rc = seterr(err, -ENAMETOOLONG, "evidence missing: %s/%s: "
		    "path too long", dir, name);
		goto meta;
	}
	src_fd = open_regular_beneath(upper_fd, rel, path, path_len, &st,
	    err);
	if (src_fd < 0) {
		rc = src_fd;
		goto meta;
	}
	copy_fd = openat(sub_fd, "file", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (copy_fd < 0) {
		rc = seterr(err, -errno, "evidence missing: %s (creating "
		    "%s)", strerror(errno), copy_path);
		goto meta;
	}
	rc = copy_capped(src_fd, copy_fd, &copied);
	if (close(copy_fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		/* A part of a file is no evidence (a full disk, mostly). */
		seterr(err, rc, "evidence missing: %s (copying %s to %s)",
		    strerror(-rc), esc_path(shown, sizeof(shown), path,
		    path_len), copy_path);
		unlinkat(sub_fd, "file", 0);
		copied = 0;
		goto meta;
	}
	snprintf(where, where_len, "%s", copy_path);
meta:
	/* Without it, a copy still stands: no error of its own. */
	(void)write_meta(sub_fd, copied, copied >= RESPOND_EVIDENCE_MAX,
	    rc < 0 && err != NULL ? err->msg : NULL, meta_json);
out:
	if (src_fd >= 0)
		close(src_fd);
	if (sub_fd >= 0)
		close(sub_fd);
	close(dir_fd);
	return rc;
}
