/*
 * hostile - what a container does to hide a change or stop a monitor.
 *
 * The evasion tests (tests/integration/evasion_*.sh) build it static and
 * copy it into their image's layer, so that each attack is made from
 * inside a real container, through its merged view, with the calls a
 * shell does not have (busybox has no setfattr and no renameat2).
 *
 *   hostile setxattr PATH NAME [VALUE]
 *       lsetxattr(2) PATH's NAME to VALUE (default: empty).
 *   hostile exchange-loop A B SECONDS
 *       renameat2(A, B, RENAME_EXCHANGE) as fast as it goes for SECONDS;
 *       prints "swaps N".
 *   hostile swap-file-fifo FILE FIFO SECONDS [WORKERS]
 *       FILE is a regular file, FIFO a FIFO: for SECONDS, WORKERS
 *       processes (default 1) exchange the two names as fast as they
 *       go, each rewriting the regular one (whichever name holds it now)
 *       every 16th time; prints "swaps N rewrites M" (all workers).
 *       Never opens the FIFO: opened for writing without a reader, it
 *       fails with ENXIO.
 *   hostile fifo-writer FIFO MARKER
 *       open FIFO for writing, which blocks until someone opens it for
 *       reading; then create MARKER and write one byte.
 *   hostile deep-mkdir DIR N [PAYLOAD]
 *       N nested dirs named "d" below DIR, each made and entered relative
 *       to the one above (mkdirat/openat), so depth is not limited by
 *       PATH_MAX; then a file PAYLOAD (default "payload") at the bottom.
 *       Prints "depth N".
 *   hostile deep-in DIR N NAME COMMAND [ARG...]
 *       N nested dirs named NAME below DIR, made where missing and each
 *       entered relative to the one above, so depth is not limited by
 *       PATH_MAX; then run COMMAND with the bottom one as its working
 *       dir (fchdir), where relative paths reach past PATH_MAX.
 *   hostile fill-disk FILE
 *       write FILE until the filesystem says ENOSPC, down to the last
 *       byte it takes; prints "filled N bytes".
 *   hostile mmap-write FILE TEXT [DELAY [HOLD]]
 *       open an existing FILE read-write, map its first page shared and
 *       copy TEXT over its start (no write(2): the change reaches the
 *       file through the page cache); msync, then close.  With DELAY
 *       (seconds, may be fractional): close the file as soon as it is
 *       mapped, and copy DELAY seconds later, when a monitor has read
 *       the closed file unchanged; then keep the mapping HOLD seconds
 *       (default 0) before it is unmapped.
 *   hostile mmap-rewrite FILE TEXT DELAY
 *       open an existing FILE read-write, map its first page shared and
 *       close it; write its first bytes back as they are (the page fault
 *       that stamps ctime: ext4's; tmpfs stamps none), and DELAY seconds
 *       later copy TEXT over them (the page still dirty and writable: no
 *       fault, ctime stays); then unmap, with no msync.
 *   hostile mmap-write-thread FILE TEXT DELAY HOLD
 *       the same as mmap-write with DELAY and HOLD, but the first thread
 *       exits (pthread_exit) once the file is mapped and closed, and a
 *       second one writes and holds: the process lives on with the
 *       mapping, and its /proc/PID/maps reads empty.
 *   hostile write-many DIR N [TEXT]
 *       DIR/f0 .. DIR/f(N-1): each opened (created, truncated) and, when
 *       TEXT is given, TEXT written into it, as fast as it goes.
 *   hostile grow FILE MIB N GAP_MS
 *       write MIB MiB of data (no holes) into FILE, then append a byte N
 *       times, GAP_MS apart: a huge file that keeps changing.
 *   hostile exec-unlinked FILE ARG0 [ARG...]
 *       open FILE, unlink it, and run it from the open file
 *       (execveat AT_EMPTY_PATH): a binary that no name reaches any more
 *       by the time it runs.
 *
 * Exit status: 0 done, 1 the attack failed, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int
usage(void)
{
	fprintf(stderr, "usage: hostile setxattr PATH NAME [VALUE] | "
	    "exchange-loop A B SECONDS | swap-file-fifo FILE FIFO SECONDS "
	    "[WORKERS] | "
	    "fifo-writer FIFO MARKER | deep-mkdir DIR N [PAYLOAD] | "
	    "deep-in DIR N NAME COMMAND [ARG...] | "
	    "mmap-write FILE TEXT [DELAY [HOLD]] | "
	    "mmap-rewrite FILE TEXT DELAY | "
	    "mmap-write-thread FILE TEXT DELAY HOLD | write-many DIR N [TEXT] | "
	    "fill-disk FILE | grow FILE MIB N GAP_MS | "
	    "exec-unlinked FILE ARG0 [ARG...]\n");
	return 2;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
exchange(const char *a, const char *b)
{
	return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b,
	    RENAME_EXCHANGE);
}

static int
cmd_setxattr(int argc, char **argv)
{
	const char *value = argc > 4 ? argv[4] : "";

	if (argc < 4)
		return usage();
	if (lsetxattr(argv[2], argv[3], value, strlen(value), 0) < 0) {
		fprintf(stderr, "hostile: setxattr %s %s: %s\n", argv[2],
		    argv[3], strerror(errno));
		return 1;
	}
	return 0;
}

static int
cmd_exchange_loop(int argc, char **argv)
{
	unsigned long swaps = 0, failed = 0;
	double end;

	if (argc != 5)
		return usage();
	end = now() + atof(argv[4]);
	while (now() < end) {
		int i;

		for (i = 0; i < 256; i++) {
			if (exchange(argv[2], argv[3]) == 0)
				swaps++;
			else if (failed++ == 0)
				fprintf(stderr, "hostile: exchange %s %s: %s\n",
				    argv[2], argv[3], strerror(errno));
		}
	}
	printf("swaps %lu\n", swaps);
	return swaps > 0 ? 0 : 1;
}

/* One worker of swap-file-fifo; adds to counts[0] (swaps) and counts[1]
 * (rewrites). */
static void
swap_worker(char **name, double end, unsigned long *counts)
{
	unsigned long swaps = 0, rewrites = 0;
	char buf[4096];

	while (now() < end) {
		struct stat st;
		int fd = -1, i, n;

		/* Whichever name holds the regular file: the FIFO has no
		 * reader on the overlay, so O_NONBLOCK gives ENXIO there. */
		for (i = 0; i < 2 && fd < 0 && swaps % 16 == 0; i++)
			fd = open(name[i], O_WRONLY | O_TRUNC | O_NONBLOCK |
			    O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
				n = snprintf(buf, sizeof(buf), "rewrite %lu\n",
				    rewrites);
				memset(buf + n, 'x', sizeof(buf) - (size_t)n);
				if (write(fd, buf, sizeof(buf)) > 0)
					rewrites++;
			}
			close(fd);
		}
		if (exchange(name[0], name[1]) == 0) {
			swaps++;
		} else {
			fprintf(stderr, "hostile: exchange %s %s: %s\n",
			    name[0], name[1], strerror(errno));
			break;
		}
	}
	__atomic_add_fetch(&counts[0], swaps, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&counts[1], rewrites, __ATOMIC_SEQ_CST);
}

static int
cmd_swap_file_fifo(int argc, char **argv)
{
	unsigned long *counts;
	double end;
	int workers, i;

	if (argc != 5 && argc != 6)
		return usage();
	workers = argc == 6 ? atoi(argv[5]) : 1;
	if (workers < 1 || workers > 64)
		return usage();
	counts = mmap(NULL, 2 * sizeof(*counts), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED) {
		perror("hostile: mmap");
		return 1;
	}
	end = now() + atof(argv[4]);
	for (i = 1; i < workers; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			swap_worker(argv + 2, end, counts);
			_exit(0);
		}
		if (pid < 0)
			perror("hostile: fork");
	}
	swap_worker(argv + 2, end, counts);
	while (wait(NULL) > 0)
		;
	printf("swaps %lu rewrites %lu\n", counts[0], counts[1]);
	return counts[0] > 0 ? 0 : 1;
}

static int
cmd_fifo_writer(int argc, char **argv)
{
	int fd, m;

	if (argc != 4)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	fd = open(argv[2], O_WRONLY | O_CLOEXEC);	/* blocks for a reader */
	if (fd < 0) {
		fprintf(stderr, "hostile: open %s: %s\n", argv[2],
		    strerror(errno));
		return 1;
	}
	m = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (m >= 0) {
		if (write(m, "unblocked\n", 10) < 0)
			perror("hostile: marker");
		close(m);
	}
	if (write(fd, "x", 1) < 0 && errno != EPIPE)
		perror("hostile: write");
	close(fd);
	return 0;
}

/* Make (where missing) and enter n nested dirs named `name` below dir;
 * the bottom one's fd, or -1 (said). */
static int
deep_dirs(const char *dir, long n, const char *name)
{
	long i;
	int fd, next;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "hostile: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "hostile: mkdir at depth %ld: %s\n",
			    i + 1, strerror(errno));
			close(fd);
			return -1;
		}
		next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (next < 0) {
			fprintf(stderr, "hostile: open at depth %ld: %s\n",
			    i + 1, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		fd = next;
	}
	return fd;
}

static int
cmd_deep_in(int argc, char **argv)
{
	int fd;

	if (argc < 6)
		return usage();
	fd = deep_dirs(argv[2], atol(argv[3]), argv[4]);
	if (fd < 0)
		return 1;
	if (fchdir(fd) < 0) {
		fprintf(stderr, "hostile: fchdir: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	execvp(argv[5], argv + 5);
	fprintf(stderr, "hostile: %s: %s\n", argv[5], strerror(errno));
	return 1;
}

static int
cmd_deep_mkdir(int argc, char **argv)
{
	const char *payload = argc > 4 ? argv[4] : "payload";
	long n;
	int fd, f;

	if (argc < 4)
		return usage();
	n = atol(argv[3]);
	fd = deep_dirs(argv[2], n, "d");
	if (fd < 0)
		return 1;
	f = openat(fd, payload, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);
	if (f < 0 || write(f, "payload at the bottom\n", 22) != 22) {
		fprintf(stderr, "hostile: payload: %s\n", strerror(errno));
		return 1;
	}
	close(f);
	close(fd);
	printf("depth %ld\n", n);
	return 0;
}

static int
cmd_fill_disk(int argc, char **argv)
{
	static char buf[1 << 20];
	unsigned long long total = 0;
	size_t chunk = sizeof(buf);
	ssize_t n;
	int fd;

	if (argc != 3)
		return usage();
	memset(buf, 0xa5, sizeof(buf));
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "hostile: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	for (;;) {
		n = write(fd, buf, chunk);
		if (n > 0) {
			total += (unsigned long long)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != ENOSPC && errno != EDQUOT) {
			fprintf(stderr, "hostile: write: %s\n",
			    strerror(errno));
			return 1;
		}
		if (chunk == 1)
			break;
		chunk = chunk > 4096 ? 4096 : 1;	/* the last page */
	}
	fsync(fd);
	close(fd);
	printf("filled %llu bytes\n", total);
	return 0;
}

static void
sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
cmd_mmap_write(int argc, char **argv)
{
	size_t len;
	struct stat st;
	char *map;
	int fd;

	if (argc < 4 || argc > 6)
		return usage();
	len = strlen(argv[3]);
	fd = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[2]);
		return 1;
	}
	if ((size_t)st.st_size < len) {
		fprintf(stderr, "hostile: %s is shorter than the text\n",
		    argv[2]);
		return 1;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("hostile: mmap");
		return 1;
	}
	if (argc > 4) {
		close(fd);
		fd = -1;
		sleep_s(atof(argv[4]));
	}
	memcpy(map, argv[3], len);
	msync(map, len, MS_SYNC);
	if (argc > 5)
		sleep_s(atof(argv[5]));
	munmap(map, len);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int
cmd_mmap_rewrite(int argc, char **argv)
{
	size_t len, i;
	struct stat st;
	volatile char *map;
	int fd;

	if (argc != 5)
		return usage();
	len = strlen(argv[3]);
	fd = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || (size_t)st.st_size < len) {
		fprintf(stderr, "hostile: %s: cannot open, or shorter than the "
		    "text\n", argv[2]);
		return 1;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("hostile: mmap");
		return 1;
	}
	close(fd);
	for (i = 0; i < len; i++)
		map[i] = map[i];
	sleep_s(atof(argv[4]));
	memcpy((char *)map, argv[3], len);
	munmap((void *)map, len);
	return 0;
}

/* What the second thread of mmap-write-thread does. */
struct map_job {
	char *map;
	const char *text;
	size_t len;
	double delay, hold;
};

static void *
map_writer(void *arg)
{
	struct map_job *j = arg;

	sleep_s(j->delay);
	memcpy(j->map, j->text, j->len);
	msync(j->map, j->len, MS_SYNC);
	sleep_s(j->hold);
	exit(0);
}

static int
cmd_mmap_write_thread(int argc, char **argv)
{
	static struct map_job j;
	pthread_t t;
	int fd;

	if (argc != 6)
		return usage();
	j.text = argv[3];
	j.len = strlen(argv[3]);
	j.delay = atof(argv[4]);
	j.hold = atof(argv[5]);
	fd = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	j.map = mmap(NULL, j.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (j.map == MAP_FAILED) {
		perror("hostile: mmap");
		return 1;
	}
	close(fd);
	if (pthread_create(&t, NULL, map_writer, &j) != 0) {
		fprintf(stderr, "hostile: pthread_create failed\n");
		return 1;
	}
	pthread_exit(NULL);
}

static int
cmd_write_many(int argc, char **argv)
{
	char path[4096];
	size_t len;
	long i, n;
	int fd;

	if (argc < 4 || argc > 5 || (n = atol(argv[3])) <= 0)
		return usage();
	len = argc == 5 ? strlen(argv[4]) : 0;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%ld", argv[2], i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || (len > 0 &&
		    write(fd, argv[4], len) != (ssize_t)len) || close(fd) != 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

static int
cmd_grow(int argc, char **argv)
{
	static char buf[1 << 20];
	long mib, n, gap, i;
	int fd;

	if (argc != 6 || (mib = atol(argv[3])) < 0 || (n = atol(argv[4])) < 0
	    || (gap = atol(argv[5])) < 0)
		return usage();
	memset(buf, 'g', sizeof(buf));
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	for (i = 0; i < mib; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			perror(argv[2]);
			return 1;
		}
	for (i = 0; i < n; i++) {
		sleep_s(gap / 1000.0);
		if (write(fd, "+", 1) != 1) {
			perror(argv[2]);
			return 1;
		}
	}
	close(fd);
	return 0;
}

static int
cmd_exec_unlinked(int argc, char **argv)
{
	extern char **environ;
	int fd;

	if (argc < 4)
		return usage();
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || unlink(argv[2]) != 0) {
		perror(argv[2]);
		return 1;
	}
	syscall(SYS_execveat, fd, "", argv + 3, environ, AT_EMPTY_PATH);
	perror("hostile: execveat");
	return 1;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "setxattr") == 0)
		return cmd_setxattr(argc, argv);
	if (strcmp(argv[1], "exchange-loop") == 0)
		return cmd_exchange_loop(argc, argv);
	if (strcmp(argv[1], "swap-file-fifo") == 0)
		return cmd_swap_file_fifo(argc, argv);
	if (strcmp(argv[1], "fifo-writer") == 0)
		return cmd_fifo_writer(argc, argv);
	if (strcmp(argv[1], "deep-mkdir") == 0)
		return cmd_deep_mkdir(argc, argv);
	if (strcmp(argv[1], "deep-in") == 0)
		return cmd_deep_in(argc, argv);
	if (strcmp(argv[1], "fill-disk") == 0)
		return cmd_fill_disk(argc, argv);
	if (strcmp(argv[1], "mmap-write") == 0)
		return cmd_mmap_write(argc, argv);
	if (strcmp(argv[1], "mmap-rewrite") == 0)
		return cmd_mmap_rewrite(argc, argv);
	if (strcmp(argv[1], "mmap-write-thread") == 0)
		return cmd_mmap_write_thread(argc, argv);
	if (strcmp(argv[1], "write-many") == 0)
		return cmd_write_many(argc, argv);
	if (strcmp(argv[1], "grow") == 0)
		return cmd_grow(argc, argv);
	if (strcmp(argv[1], "exec-unlinked") == 0)
		return cmd_exec_unlinked(argc, argv);
	return usage();
}
