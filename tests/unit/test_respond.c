/*
 * test_respond.c - the runtime commands a response runs (respond_run):
 * the child inherits no fd of the watcher's but 0, 1 and 2 (an upper-dir
 * fd leaked into `podman` or `ctr` would hand the container's files to
 * whatever that runtime runs), its output and exit status come back, and
 * a long output is cut, not a hang; and a kill by the v1 freezer and
 * SIGKILL (no cgroup.kill) of a cgroup of 1,200 processes, one forking
 * all along, leaves none, nor any in cgroups nested in it (a name with a dot too), and one nested
 * past what a kill reads is left frozen, not thawed alive (as root on a
 * host with the v1 freezer); and a cgroup.kill of a container with a
 * process nested past that is done and said to be (cgroup v2).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "respond.h"
#include "util.h"

#define FREEZER "/sys/fs/cgroup/freezer"
#define KILL_PROCS 1200
#define TICKERS 100		/* the last processes: they run, and say when */

static int
count_one(long pid, void *arg)
{
	(void)pid;
	++*(long *)arg;
	return 0;
}

/* Processes in the cgroup dir (-1: unreadable). */
static long
procs_in(const char *dir)
{
	char path[512];
	long n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (pids_each(fd, count_one, &n) < 0)
		n = -1;
	close(fd);
	return n;
}

/* Write `state` to the freezer.state file `path`, and wait (2 s at most)
 * until it reads so. */
static void
write_state(const char *path, const char *state)
{
	char buf[64];
	ssize_t got;
	int fd, i;

	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, state, strlen(state)) < 0)
			perror(path);
		close(fd);
	}
	for (i = 0; i < 200; i++) {
		fd = open(path, O_RDONLY);
		got = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (got > 0 && strncmp(buf, state, strlen(state)) == 0)
			return;
		usleep(10000);
	}
}

/* In a child: join the cgroup dir, fork KILL_PROCS - 1 that wait (the
 * last TICKERS write the time into ticks[] every 2 ms), and fork
 * children for ever (one a millisecond, 20,000 at most). */
static void
crowd(const char *dir, volatile int64_t *ticks)
{
	char path[512], pid[32];
	int fd, i;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
		_exit(1);
	close(fd);
	for (i = 1; i < KILL_PROCS; i++) {
		if (fork() != 0)
			continue;
		while (i >= KILL_PROCS - TICKERS) {
			ticks[i] = now_mono_ns();
			usleep(2000);
		}
		for (;;)
			pause();
	}
	for (i = 0; i < 20000; i++) {
		if (fork() == 0)
			for (;;)
				pause();
		usleep(1000);
	}
	for (;;)
		pause();
}

/* The kill a host without cgroup.kill gets: freeze, SIGKILL each listed
 * process, thaw.  Every process must go, however many and though one
 * forks all along, and none may run again once frozen: the SIGKILLs go
 * out while it is, to every process (one read of cgroup.procs lists
 * some 700; the ones past them, thawed without one, would run).  The
 * cgroup is frozen first, as a paused container is. */
static void
test_kill_many(void)
{
	struct respond_target t;
	struct uw_error err;
	const char *method = "";
	char dir[256], path[300];
	volatile int64_t *ticks;
	int64_t frozen, last = 0;
	struct stat st;
	long n = 0;
	int i, rc;
	pid_t pid;

	if (geteuid() != 0) {
		CHECK(getenv("UPPERWATCH_REQUIRE_ROOT_TESTS") == NULL ||
		    strcmp(getenv("UPPERWATCH_REQUIRE_ROOT_TESTS"), "1") != 0,
		    "kill of many processes: needs root");
		return;
	}
	if (stat(FREEZER "/cgroup.procs", &st) != 0) {
		/* (a cgroup v2 host kills by cgroup.kill: respond_runc) */
		printf("# kill of many processes: no v1 freezer at %s\n",
		    FREEZER);
		return;
	}
	snprintf(dir, sizeof(dir), FREEZER "/uw-test-kill-%d", (int)getpid());
	CHECK(mkdir(dir, 0755) == 0, "a freezer cgroup %s", dir);
	/* orphans come back to us, and are reaped at once */
	signal(SIGCHLD, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ticks = mmap(NULL, KILL_PROCS * sizeof(*ticks), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ticks == MAP_FAILED)
		return;
	pid = fork();
	if (pid == 0)
		crowd(dir, ticks);
	for (i = 0; i < 600 && (n = procs_in(dir)) < KILL_PROCS + 20; i++)
		usleep(10000);
	CHECK(n >= KILL_PROCS + 20, "%ld processes in the cgroup, one "
	    "forking", n);
	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	write_state(path, "FROZEN");
	frozen = now_mono_ns();
	memset(&t, 0, sizeof(t));
	t.id = "test";
	t.v1_freezer = dir;
	t.v2 = "";
	rc = respond_kill(&t, &method, &err);
	CHECK(rc == 0 && strcmp(method, "freeze+sigkill") == 0,
	    "killed by %s (rc %d%s%s)", method, rc, rc ? ": " : "",
	    rc ? err.msg : "");
	for (i = 0; i < 300 && (n = procs_in(dir)) != 0; i++)
		usleep(10000);
	CHECK(n == 0, "no process left in the cgroup (%ld)", n);
	for (i = KILL_PROCS - TICKERS; i < KILL_PROCS; i++)
		if (ticks[i] > last)
			last = ticks[i];
	CHECK(last > 0 && last < frozen, "no process ran once frozen (the "
	    "last tick %.1f ms before the freeze)",
	    (double)(frozen - last) / 1e6);
	munmap((void *)ticks, KILL_PROCS * sizeof(*ticks));
	if (n != 0)		/* clean up all the same */
		rc = respond_kill(&t, &method, &err);
	rmdir(dir);
	signal(SIGCHLD, SIG_DFL);
}

static void
test_no_fd_inherited(void)
{
	char *probe[] = { "sh", "-c", "echo leaked >&9", NULL };
	char *list[] = { "sh", "-c", "ls -1 /proc/self/fd", NULL };
	char out[4096], *line, *save = NULL;
	int fd, n = 0, high = 0;

	/* fd 9, not close-on-exec, as a file the watcher holds open */
	fd = open("/dev/null", O_WRONLY);
	CHECK(fd >= 0 && dup2(fd, 9) == 9, "fd 9 open in the watcher");
	if (fd != 9)
		close(fd);
	CHECK(fcntl(9, F_GETFD) == 0, "control: fd 9 is not close-on-exec");
	CHECK(respond_run(probe, out, sizeof(out)) == -EIO,
	    "the child cannot write to fd 9 (output: \"%s\")", out);
	CHECK(respond_run(list, out, sizeof(out)) == 0, "ls of the "
	    "child's fds ran");
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		n++;
		if (atoi(line) > 3)	/* 3: ls's own /proc dir */
			high++;
	}
	CHECK(n >= 3 && high == 0, "the child had fds 0-2 and its own "
	    "only (%d listed, %d above 3)", n, high);
	close(9);
}

static void
test_output_and_status(void)
{
	char *fails[] = { "sh", "-c", "echo out; echo err >&2; exit 3",
	    NULL };
	char *ok[] = { "sh", "-c", "printf 'paused \\n\\n'", NULL };
	char *missing[] = { "/nonexistent/runtime", "pause", NULL };
	char *loud[] = { "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x",
	    NULL };
	char out[64];
	char big[1024];

	CHECK(respond_run(fails, big, sizeof(big)) == -EIO,
	    "exit 3 is a failure");
	CHECK_STR(big, "out\nerr", "stdout and stderr both kept");
	CHECK(respond_run(ok, out, sizeof(out)) == 0, "exit 0 is success");
	CHECK_STR(out, "paused", "trailing blanks dropped");
	CHECK(respond_run(missing, out, sizeof(out)) == -EIO,
	    "a runtime that is not there is a failure");
	/* more than the pipe holds: read on and cut, the child not
	 * blocked on a full pipe */
	CHECK(respond_run(loud, out, sizeof(out)) == 0,
	    "300 KB of output: the child ran to its end");
	CHECK_INT(strlen(out), sizeof(out) - 1, "the output cut to fit");
}

/* A child that sleeps in the cgroup dir; its pid, or -1. */
static pid_t
sleeper_in(const char *dir)
{
	char path[PATH_MAX];
	FILE *f;
	pid_t pid = fork();

	if (pid == 0)
		for (;;)
			pause();
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (pid < 0 || f == NULL || fprintf(f, "%d\n", (int)pid) < 0 ||
	    fclose(f) != 0) {
		CHECK(0, "a sleeper in %s", dir);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	return pid;
}

/* Did child `pid` die of SIGKILL (reaped; 3 s at most)? */
static int
killed(pid_t pid)
{
	int i, status;

	for (i = 0; i < 300; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFSIGNALED(status) &&
			    WTERMSIG(status) == SIGKILL;
		usleep(10000);
	}
	return 0;
}

/* A container may nest cgroups in its own (systemd in a container makes
 * one per service): a kill by the freezer and SIGKILL kills in all of
 * them; one nested past what a kill reads (64 deep) leaves the container
 * frozen and says so, rather than thaw what it could not reach. */
static void
test_kill_nested(void)
{
	struct respond_target t;
	struct uw_error err;
	const char *method = "";
	char top[256], path[PATH_MAX], state[32];
	pid_t pids[4];
	int i, rc, n, fd;

	if (geteuid() != 0 || access(FREEZER "/cgroup.procs", F_OK) != 0)
		return;		/* (said by test_kill_many) */
	snprintf(top, sizeof(top), FREEZER "/uw-test-nest-%d", (int)getpid());
	CHECK(mkdir(top, 0755) == 0, "cgroup %s", top);
	snprintf(path, sizeof(path), "%s/a", top);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/a/b", top);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/.h", top);	/* a dot is no hiding */
	mkdir(path, 0755);
	pids[0] = sleeper_in(top);
	snprintf(path, sizeof(path), "%s/a", top);
	pids[1] = sleeper_in(path);
	snprintf(path, sizeof(path), "%s/a/b", top);
	pids[2] = sleeper_in(path);
	snprintf(path, sizeof(path), "%s/.h", top);
	pids[3] = sleeper_in(path);
	memset(&t, 0, sizeof(t));
	t.id = "nested";
	t.v1_freezer = top;
	t.v2 = "";
	rc = respond_kill(&t, &method, &err);
	CHECK(rc == 0, "killed, nested cgroups and all (rc %d%s%s)", rc,
	    rc ? ": " : "", rc ? err.msg : "");
	for (i = 0, n = 0; i < 4; i++)
		n += pids[i] > 0 && killed(pids[i]);
	CHECK_INT(n, 4, "processes killed in the cgroup and in a, a/b and "
	    ".h below it");
	if (n != 4) {		/* clean up all the same */
		snprintf(path, sizeof(path), "%s/freezer.state", top);
		write_state(path, "THAWED");
		for (i = 0; i < 4; i++)
			if (pids[i] > 0 && kill(pids[i], SIGKILL) == 0)
				(void)killed(pids[i]);
	}

	/* 66 deep: past the kill's reach */
	snprintf(path, sizeof(path), "%s", top);
	for (i = 0; i < 66; i++) {
		strcat(path, "/d");
		mkdir(path, 0755);
	}
	pids[0] = sleeper_in(path);
	rc = respond_kill(&t, &method, &err);
	CHECK(rc < 0 && strstr(err.msg, "left frozen") != NULL,
	    "a process 66 cgroups deep: the kill says it could not (%s)",
	    rc < 0 ? err.msg : "it says it killed");
	snprintf(state, sizeof(state), "?");
	snprintf(path, sizeof(path), "%s/freezer.state", top);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = (int)read(fd, state, sizeof(state) - 1);
		state[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	CHECK(strncmp(state, "FROZEN", 6) == 0 && pids[0] > 0 &&
	    kill(pids[0], 0) == 0, "and leaves it frozen (%.*s), the "
	    "process there but not running", 6, state);
	if (pids[0] > 0)
		kill(pids[0], SIGKILL);
	write_state(path, "THAWED");
	if (pids[0] > 0)
		(void)killed(pids[0]);
	snprintf(path, sizeof(path), "%s", top);
	for (i = 0; i < 66; i++)
		strcat(path, "/d");
	for (i = 0; i < 66; i++) {
		rmdir(path);
		*strrchr(path, '/') = '\0';
	}
	snprintf(path, sizeof(path), "%s/a/b", top);
	rmdir(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	snprintf(path, sizeof(path), "%s/.h", top);
	rmdir(path);
	CHECK(rmdir(top) == 0, "cgroups removed");
}

/* A v2 host kills by cgroup.kill, which reaches every cgroup below the
 * container's, however deep.  That none is left is then read from
 * cgroup.events, which covers the whole subtree: a walk stops at 64
 * deep and would have said processes remain. */
static void
test_kill_v2_deep(void)
{
	struct respond_target t;
	struct uw_error err;
	const char *method = "", *root = NULL;
	char top[256], path[PATH_MAX];
	pid_t pids[2];
	int i, rc, n;

	if (geteuid() != 0)
		return;		/* (said by test_kill_many) */
	if (access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0)
		root = "/sys/fs/cgroup/unified";
	else if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		root = "/sys/fs/cgroup";
	if (root == NULL) {
		printf("# v2 kill: no cgroup v2 hierarchy\n");
		return;
	}
	snprintf(top, sizeof(top), "%s/uw-test-kill2-%d", root,
	    (int)getpid());
	CHECK(mkdir(top, 0755) == 0, "cgroup %s", top);
	snprintf(path, sizeof(path), "%s/cgroup.kill", top);
	if (access(path, F_OK) != 0) {
		printf("# v2 kill: no cgroup.kill (Linux < 5.14)\n");
		rmdir(top);
		return;
	}
	pids[0] = sleeper_in(top);
	snprintf(path, sizeof(path), "%s", top);
	for (i = 0; i < 66; i++) {
		strcat(path, "/d");
		mkdir(path, 0755);
	}
	pids[1] = sleeper_in(path);
	memset(&t, 0, sizeof(t));
	t.id = "deep";
	t.v1_freezer = "";
	t.v2 = top;
	rc = respond_kill(&t, &method, &err);
	CHECK(rc == 0 && strcmp(method, "cgroup.kill") == 0,
	    "cgroup.kill of a container with a process 66 cgroups deep: "
	    "done (rc %d%s%s, by %s)", rc, rc ? ": " : "", rc ? err.msg : "",
	    method);
	for (i = 0, n = 0; i < 2; i++)
		n += pids[i] > 0 && killed(pids[i]);
	CHECK_INT(n, 2, "the process at the top and the one 66 deep killed");
	for (i = 0; n != 2 && i < 2; i++)	/* clean up all the same */
		if (pids[i] > 0 && kill(pids[i], SIGKILL) == 0)
			(void)killed(pids[i]);
	for (i = 0; i < 66; i++) {
		rmdir(path);
		*strrchr(path, '/') = '\0';
	}
	CHECK(rmdir(top) == 0, "cgroups removed");
}

int
main(void)
{
	test_no_fd_inherited();
	test_output_and_status();
	test_kill_many();
	test_kill_nested();
	test_kill_v2_deep();
	return check_done();
}
