/*
 * test_respond.c - the runtime commands a response runs (respond_run):
 * the child inherits no fd of the watcher's but 0, 1 and 2 (an upper-dir
 * fd leaked into `podman` or `ctr` would hand the container's files to
 * whatever that runtime runs), its output and exit status come back, and
 * a long output is cut, not a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "respond.h"

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

int
main(void)
{
	test_no_fd_inherited();
	test_output_and_status();
	return check_done();
}
