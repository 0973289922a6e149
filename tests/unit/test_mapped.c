/*
 * test_mapped.c - the lines of /proc/PID/maps the shared-mapping sweep
 * reads: file mappings shared or private, writable or not, anonymous
 * ones and malformed lines left out, and the names as the kernel prints
 * them (a newline as "\012", a removed file's " (deleted)"); and the
 * pid lists it walks (pids_each), read to their end.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdio.h>

#include "check.h"
#include "mapped.h"
#include "util.h"

struct pid_tally {
	long count, sum, last, stop_at;
};

static int
tally(long pid, void *arg)
{
	struct pid_tally *t = arg;

	t->count++;
	t->sum += pid;
	t->last = pid;
	return t->stop_at != 0 && pid == t->stop_at ? 7 : 0;
}

/* A pid list far longer than one read (cgroup.procs gives a page per
 * read(); a file here gives 4 KiB reads to pids_each's buffer), with a
 * number cut by each read's end, lines that are no pid, an over-long
 * line and an unended last line. */
static void
pid_lists(void)
{
	char path[] = "/tmp/uw-test-pids.XXXXXX";
	struct pid_tally t = { 0, 0, 0, 0 };
	long pid, want_sum = 0;
	FILE *f;
	int fd, i, rc;

	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w+") : NULL;
	CHECK(f != NULL, "a scratch file");
	if (f == NULL)
		return;
	unlink(path);
	for (pid = 1; pid <= 5000; pid++) {
		fprintf(f, "%ld\n", pid * 7);
		want_sum += pid * 7;
		if (pid == 2500) {
			fputs("abc\n\n-4\n12x\n", f);
			for (i = 0; i < 6000; i++)
				fputc('9', f);
			fputc('\n', f);
		}
	}
	fputs("99999", f);	/* unended */
	fflush(f);
	lseek(fd, 0, SEEK_SET);
	rc = pids_each(fd, tally, &t);
	CHECK(rc == 0 && t.count == 5001 && t.sum == want_sum + 99999 &&
	    t.last == 99999, "every pid of a 29 KB list: %ld of 5001, sum "
	    "%ld of %ld, last %ld (rc %d)", t.count, t.sum, want_sum + 99999,
	    t.last, rc);
	memset(&t, 0, sizeof(t));
	t.stop_at = 7 * 3000;
	lseek(fd, 0, SEEK_SET);
	rc = pids_each(fd, tally, &t);
	CHECK(rc == 7 && t.count == 3000, "a walk stopped at the 3,000th "
	    "pid returns what stopped it (rc %d, %ld pids)", rc, t.count);
	fclose(f);
	CHECK(pids_each(-1, tally, &t) < 0, "a read that fails says so");
}

/* This process's own maps: a file it maps shared shows as the sweep
 * reads it, with its device, inode and name. */
static void
own_mapping(void)
{
	char path[] = "/tmp/uw-test-mapped.XXXXXX", line[8192];
	struct map_entry e;
	struct stat st;
	FILE *maps;
	void *m;
	int fd, found = 0;

	fd = mkstemp(path);
	if (fd < 0 || write(fd, "x", 1) != 1 || fstat(fd, &st) != 0) {
		CHECK(0, "a file to map");
		return;
	}
	m = mmap(NULL, 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mapped shared");
	maps = fopen("/proc/self/maps", "r");
	while (maps != NULL && fgets(line, sizeof(line), maps) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (mapped_parse(line, &e) == 0 && e.ino == st.st_ino &&
		    e.dev == st.st_dev) {
			found = 1;
			CHECK(e.shared && e.writable, "own: shared, writable");
			CHECK_STR(e.name, path, "own: its name");
		}
	}
	if (maps != NULL)
		fclose(maps);
	CHECK(found, "own: the mapping is found by device and inode");
	if (m != MAP_FAILED)
		munmap(m, 1);
	close(fd);
	unlink(path);
}

int
main(void)
{
	struct map_entry e;
	char out[64];

	CHECK_INT(mapped_parse("7fadd01bb000-7fadd01bc000 rw-s 00000000 "
	    "00:28 10977463                   /etc/profile", &e), 0,
	    "a shared writable mapping parses");
	CHECK_STR(e.range, "7fadd01bb000-7fadd01bc000", "its range");
	CHECK(e.shared && e.writable, "shared and writable");
	CHECK(major(e.dev) == 0 && minor(e.dev) == 0x28,
	    "device 00:28 is hex (0:40)");
	CHECK_INT(e.ino, 10977463, "inode");
	CHECK_STR(e.name, "/etc/profile", "name, spaces before it skipped");

	CHECK_INT(mapped_parse("7f0000000000-7f0000001000 r--p 00001000 "
	    "fe:01 1234 /usr/lib/libc.so.6", &e), 0, "a private one parses");
	CHECK(!e.shared && !e.writable, "private, read-only");
	CHECK(major(e.dev) == 0xfe && minor(e.dev) == 1, "device fe:01");

	CHECK_INT(mapped_parse("7f0000000000-7f0000001000 r--s 00000000 "
	    "00:28 77 /data/a file (deleted)", &e), 0,
	    "a removed file's mapping parses");
	CHECK(e.shared && !e.writable, "shared, read-only");
	CHECK_STR(e.name, "/data/a file (deleted)", "the name as printed");

	CHECK_INT(mapped_parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 "
	    "                 [stack]", &e), -1, "the stack: no file");
	CHECK_INT(mapped_parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0",
	    &e), -1, "anonymous: no file");
	CHECK_INT(mapped_parse("7ffd1000-7ffd2000 rw-s 00000000 00:01 5 "
	    "[vvar]", &e), -1, "a special mapping: no path");
	CHECK_INT(mapped_parse("garbage", &e), -1, "garbage");
	CHECK_INT(mapped_parse("", &e), -1, "an empty line");
	CHECK_INT(mapped_parse("1-2 rw-s 0 0:1", &e), -1, "a cut line");

	CHECK_INT(mapped_unescape("/a\\012b", out, sizeof(out)), 4,
	    "\\012 is one byte");
	CHECK(memcmp(out, "/a\nb", 5) == 0, "a newline");
	CHECK_INT(mapped_unescape("/plain", out, sizeof(out)), 6,
	    "a plain name as it is");
	CHECK_STR(out, "/plain", "the same bytes");
	CHECK_INT(mapped_unescape("/a\\01", out, sizeof(out)), 5,
	    "a cut escape as it is");
	CHECK_INT(mapped_unescape("/0123456789", out, 8), -1,
	    "too long for the buffer");

	own_mapping();
	pid_lists();
	return check_done();
}
