/*
 * opens - name every process that opens or reads the given paths.
 *
 *   opens PATH...
 *
 * Prints, for each open or read of a PATH (a dir: of it or of an entry
 * in it) until it is sent SIGTERM or SIGINT, one line:
 *
 *   PID COMM EVENT PATH
 *
 * COMM is the opener's /proc/PID/comm, or "?" when it was gone before it
 * could be named; EVENT is "open" or "access".  A queue overflow (events
 * lost: any of them could have been anyone's) prints
 * "0 (overflow) overflow ?".  Prints "ready" on stderr
 * once every mark is in place.  The host-canary checks of the hostile
 * tests use it where inotify says only that something opened a canary:
 * another program walking the scratch dir (a tmp cleaner, a file
 * indexer) is then not taken for upperwatch.
 *
 * Files and dirs are marked with fanotify permission events: the opener
 * waits (allowed at once) while it is named, so it is always named.  A
 * group that reports events with an fd gives none for a FIFO (measured:
 * an open of a marked FIFO raised nothing), so any PATH that is neither
 * a file nor a dir is marked in a second, FID-reporting group, whose
 * openers are named if they are still there.  Needs CAP_SYS_ADMIN.
 * Exit status: 0 stopped by a signal, 1 fanotify failed, 2 usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SPECIAL 16
#define HANDLE_MAX 128

static volatile sig_atomic_t stop;

/* The paths of the FID group, and their file handles to tell them by. */
static struct {
	const char *path;
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + HANDLE_MAX];
	} h;
} special[MAX_SPECIAL];
static int nspecial;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The opener's command name into buf, or "?". */
static void
comm_of(int pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, size - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(buf, size, "?");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Which special path an FID event is about ("?" if none matches). */
static const char *
special_path(const struct fanotify_event_metadata *m)
{
	const struct fanotify_event_info_fid *fid = (const void *)(m + 1);
	const struct file_handle *fh;
	int i;

	if (m->event_len < sizeof(*m) + sizeof(*fid) + sizeof(*fh) ||
	    fid->hdr.info_type != FAN_EVENT_INFO_TYPE_FID)
		return "?";
	fh = (const void *)fid->handle;
	for (i = 0; i < nspecial; i++)
		if (special[i].h.fh.handle_type == fh->handle_type &&
		    special[i].h.fh.handle_bytes == fh->handle_bytes &&
		    memcmp(special[i].h.fh.f_handle, fh->f_handle,
		    fh->handle_bytes) == 0)
			return special[i].path;
	return "?";
}

static void
print_event(const struct fanotify_event_metadata *m, int fid_mode)
{
	char comm[64], link[64], path[4096];
	const char *name = path;
	ssize_t n = -1;

	if (m->mask & FAN_Q_OVERFLOW) {
		printf("0 (overflow) overflow ?\n");
		return;
	}
	comm_of(m->pid, comm, sizeof(comm));
	if (fid_mode) {
		name = special_path(m);
	} else {
		if (m->fd >= 0) {
			snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
			n = readlink(link, path, sizeof(path) - 1);
		}
		if (n < 0)
			n = snprintf(path, sizeof(path), "?");
		path[n] = '\0';
	}
	printf("%d %s %s %s\n", (int)m->pid, comm,
	    (m->mask & (FAN_OPEN | FAN_OPEN_PERM)) ? "open" : "access", name);
}

/* Read and print what group fd has; answer its permission events. */
static int
drain(int fd, int fid_mode)
{
	char buf[8192] __attribute__((aligned(8)));
	const struct fanotify_event_metadata *m;
	struct fanotify_response r;
	ssize_t len;

	len = read(fd, buf, sizeof(buf));
	if (len < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	for (m = (const void *)buf; FAN_EVENT_OK(m, len);
	    m = FAN_EVENT_NEXT(m, len)) {
		if (m->vers != FANOTIFY_METADATA_VERSION)
			return -EPROTO;
		print_event(m, fid_mode);
		if (m->mask & (FAN_OPEN_PERM | FAN_ACCESS_PERM)) {
			r.fd = m->fd;
			r.response = FAN_ALLOW;
			if (write(fd, &r, sizeof(r)) != sizeof(r))
				return -errno;
		}
		if (m->fd >= 0)
			close(m->fd);
	}
	return 0;
}

/* Mark PATH in the group it belongs to; 0 or -1 (said on stderr). */
static int
mark(int perm_fd, int *fid_fd, const char *path)
{
	struct stat st;
	int mount_id, fd = perm_fd;
	uint64_t mask = FAN_OPEN_PERM | FAN_ACCESS_PERM | FAN_ONDIR |
	    FAN_EVENT_ON_CHILD;

	if (lstat(path, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		if (nspecial == MAX_SPECIAL) {
			errno = E2BIG;
			goto fail;
		}
		if (*fid_fd < 0) {
			*fid_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC |
			    FAN_NONBLOCK | FAN_REPORT_FID, O_RDONLY);
			if (*fid_fd < 0)
				goto fail;
		}
		special[nspecial].path = path;
		special[nspecial].h.fh.handle_bytes = HANDLE_MAX;
		if (name_to_handle_at(AT_FDCWD, path, &special[nspecial].h.fh,
		    &mount_id, 0) != 0)
			goto fail;
		nspecial++;
		fd = *fid_fd;
		mask = FAN_OPEN | FAN_ACCESS;
	}
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_DONT_FOLLOW, mask,
	    AT_FDCWD, path) == 0)
		return 0;
fail:
	fprintf(stderr, "opens: %s: %s\n", path, strerror(errno));
	return -1;
}

int
main(int argc, char **argv)
{
	struct pollfd pfd[2];
	struct sigaction sa;
	int perm_fd, fid_fd = -1, i, n, rc;

	if (argc < 2) {
		fprintf(stderr, "usage: opens PATH...\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	perm_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
	    O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_LARGEFILE);
	if (perm_fd < 0) {
		fprintf(stderr, "opens: fanotify_init: %s\n", strerror(errno));
		return 1;
	}
	for (i = 1; i < argc; i++)
		if (mark(perm_fd, &fid_fd, argv[i]) != 0)
			return 1;
	fprintf(stderr, "ready\n");
	pfd[0].fd = perm_fd;
	pfd[1].fd = fid_fd;	/* poll skips a negative fd */
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		/* After the signal, what is queued still gets out. */
		n = poll(pfd, 2, stop ? 0 : 200);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "opens: poll: %s\n", strerror(errno));
			return 1;
		}
		if (n < 0)
			continue;	/* the signal: drain, then stop */
		if (n == 0) {
			if (stop)
				return 0;
			continue;
		}
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			rc = drain(pfd[i].fd, i == 1);
			if (rc < 0) {
				fprintf(stderr, "opens: read: %s\n",
				    strerror(-rc));
				return 1;
			}
		}
	}
}
