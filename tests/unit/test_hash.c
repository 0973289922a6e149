/*
 * test_hash.c - the keyed content hash: its canonical form ignores holes,
 * tells content apart, depends on the key, and skips a 1 TiB hole.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "hash.h"

static char dir[] = "/tmp/uw-test-hash.XXXXXX";
static unsigned char buf[HASH_BUF_LEN];

static int
make_file(const char *name, const void *data, size_t len, off_t at,
    off_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	if (len > 0 && pwrite(fd, data, len, at) != (ssize_t)len)
		return -1;
	if (size > 0 && ftruncate(fd, size) < 0)
		return -1;
	return fd;
}

static int
digest(int fd, const unsigned char *secret, struct hash_result *r)
{
	return hash_fd(fd, secret, buf, NULL, 0, r);
}

/* Truncates a file to half and allocates it back to whole (allocated,
 * so it still counts as dense and is mapped), over and over: it is only
 * ever in one of two states, each reached at once. */
struct shaker {
	int fd;
	off_t half;
	atomic_int stop, failed;
};

static void *
shake(void *arg)
{
	struct shaker *sh = arg;

	while (!atomic_load(&sh->stop)) {
		if (ftruncate(sh->fd, sh->half) < 0 ||
		    fallocate(sh->fd, 0, sh->half, sh->half) < 0) {
			atomic_store(&sh->failed, 1);
			break;
		}
	}
	return NULL;
}

int
main(void)
{
	unsigned char secret[HASH_SECRET_LEN], other[HASH_SECRET_LEN];
	unsigned char *zeros, data[10000];
	struct hash_result a, b;
	int fa, fb, fc;
	size_t i;

	if (mkdtemp(dir) == NULL)
		return 2;
	CHECK(hash_new_secret(secret) == 0, "a secret is made");
	CHECK(hash_new_secret(other) == 0, "another secret is made");
	CHECK(memcmp(secret, other, HASH_SECRET_LEN) != 0,
	    "two secrets differ");
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 1);

	/* The same bytes, one file dense, one with a hole at the start. */
	zeros = calloc(1, 1 << 20);
	fa = make_file("dense", zeros, 1 << 20, 0, 0);
	CHECK(fa >= 0 && pwrite(fa, data, sizeof(data), 1 << 20) ==
	    (ssize_t)sizeof(data), "dense file written");
	fb = make_file("sparse", data, sizeof(data), 1 << 20, 0);
	CHECK(digest(fa, secret, &a) == 0 && digest(fb, secret, &b) == 0,
	    "both hashed");
	CHECK(memcmp(a.digest, b.digest, UW_HASH_LEN) == 0,
	    "a hole and written zeros hash the same");
	CHECK(b.bytes_read < a.bytes_read, "the hole was not read "
	    "(%llu < %llu)", (unsigned long long)b.bytes_read,
	    (unsigned long long)a.bytes_read);

	CHECK(digest(fb, other, &a) == 0, "hashed with another key");
	CHECK(memcmp(a.digest, b.digest, UW_HASH_LEN) != 0,
	    "the digest depends on the key");

	/* One byte changed. */
	data[5000] ^= 1;
	fc = make_file("changed", data, sizeof(data), 1 << 20, 0);
	CHECK(digest(fc, secret, &a) == 0, "changed file hashed");
	CHECK(memcmp(a.digest, b.digest, UW_HASH_LEN) != 0,
	    "one flipped bit changes the digest");
	close(fc);

	/* A stream (a tar member, sparse or not, in chunks of any size)
	 * hashes as the file with the same content: data at 0 in odd
	 * chunks, a hole, data from the middle of a block, a trailing
	 * hole inside the last block and whole blocks after it. */
	{
		static const struct { off_t at; size_t len; } parts[] = {
			{ 0, 3 }, { 3, 4093 }, { 4096, 100 },
			{ 20000, 5000 }, { 25000, 1 },
		};
		const off_t sizes[] = { 25001, 25100, 40000 };
		struct hash_stream hs;
		unsigned char sd[UW_HASH_LEN];
		size_t p, k;
		int fd, ok;

		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			fd = make_file("stream", NULL, 0, 0, sizes[k]);
			ok = fd >= 0 && hash_stream_begin(&hs, secret,
			    (uint64_t)sizes[k]) == 0;
			for (p = 0; ok && p < sizeof(parts) / sizeof(parts[0]);
			    p++)
				ok = pwrite(fd, data + parts[p].at % 5000,
				    parts[p].len, parts[p].at) ==
				    (ssize_t)parts[p].len &&
				    hash_stream_write(&hs,
				    (uint64_t)parts[p].at,
				    data + parts[p].at % 5000,
				    parts[p].len) == 0;
			hash_stream_end(&hs, sd);
			CHECK(ok && digest(fd, secret, &a) == 0 &&
			    memcmp(a.digest, sd, UW_HASH_LEN) == 0,
			    "a stream with holes hashes as the file "
			    "(size %lld)", (long long)sizes[k]);
			if (fd >= 0)
				close(fd);
		}
		CHECK(hash_stream_begin(&hs, secret, 10) == 0 &&
		    hash_stream_write(&hs, 5, data, 6) == -EINVAL,
		    "a stream refuses data past its size");
		CHECK(hash_stream_begin(&hs, secret, 100) == 0 &&
		    hash_stream_write(&hs, 50, data, 10) == 0 &&
		    hash_stream_write(&hs, 40, data, 5) == -EINVAL,
		    "a stream refuses data before what it was given");
	}

	/* Trailing zeros are still content: the size is in the form. */
	fc = make_file("short", data, 10, 0, 0);
	CHECK(digest(fc, secret, &a) == 0, "short file hashed");
	close(fc);
	memset(data + 10, 0, 10);
	fc = make_file("padded", data, 20, 0, 0);
	CHECK(digest(fc, secret, &b) == 0, "padded file hashed");
	CHECK(memcmp(a.digest, b.digest, UW_HASH_LEN) != 0,
	    "appended zero bytes change the digest");
	close(fc);

	/* A big dense file reads the same through mmap windows. */
	{
		unsigned char *big = malloc(20u << 20);
		int fm;

		for (i = 0; i < (20u << 20); i++)
			big[i] = (unsigned char)(i * 31 + (i >> 12));
		memset(big + (9u << 20), 0, 8192);	/* zero blocks */
		fm = make_file("mapped", big, 20u << 20, 0, 0);
		CHECK(fm >= 0, "20 MiB file made");
		CHECK(hash_fd(fm, secret, buf, NULL, 0, &a) == 0 &&
		    hash_fd(fm, secret, buf, NULL, 1, &b) == 0,
		    "hashed by pread and by mmap");
		CHECK(memcmp(a.digest, b.digest, UW_HASH_LEN) == 0,
		    "both ways give the same digest");
		CHECK(b.bytes_read == (20u << 20), "mmap read it all");
		close(fm);
		free(big);
	}

	/* Many mapped files in a row: they share the thread's mapping
	 * arena, which is emptied when full (8 MiB: every third file of
	 * 3 MiB), and each still reads whole and right. */
	{
		size_t len = 3u << 20, k, same = 0, whole = 0;
		unsigned char *m = malloc(len);
		char name[32];
		int fm;

		for (k = 0; k < 7; k++) {
			for (i = 0; i < len; i++)
				m[i] = (unsigned char)(i * (k + 3) + (i >> 13));
			snprintf(name, sizeof(name), "arena%zu", k);
			fm = make_file(name, m, len, 0, 0);
			if (fm >= 0 && hash_fd(fm, secret, buf, NULL, 0, &a) == 0 &&
			    hash_fd(fm, secret, buf, NULL, 1, &b) == 0) {
				same += memcmp(a.digest, b.digest,
				    UW_HASH_LEN) == 0;
				whole += b.bytes_read == len;
			}
			close(fm);
			if (k == 4)
				hash_thread_done();	/* and mapping again */
		}
		CHECK(same == 7, "7 mapped files: %zu hash as read", same);
		CHECK(whole == 7, "and each was read whole (%zu)", whole);
		free(m);
	}

	/* A mapped file truncated under the hash (SIGBUS) is read again,
	 * never a crash: each digest is of a state the file was in. */
	{
		struct shaker sh;
		struct hash_result whole4, small;
		size_t len = 4u << 20, k, known = 0, ok = 0;
		unsigned char *m = malloc(len);
		pthread_t t;
		int fm;

		for (i = 0; i < len / 2; i++)
			m[i] = (unsigned char)(i * 13 + 5);
		fb = make_file("shaken-half", m, len / 2, 0, 0);
		CHECK(fb >= 0 && hash_fd(fb, secret, buf, NULL, 0, &small) == 0,
		    "2 MiB of data hashed");
		close(fb);
		fb = make_file("shaken-whole", m, len / 2, 0, (off_t)len);
		CHECK(fb >= 0 && hash_fd(fb, secret, buf, NULL, 0, &whole4) == 0,
		    "and the same followed by 2 MiB of zeros");
		close(fb);
		fm = make_file("shaken", m, len / 2, 0, 0);
		CHECK(fm >= 0 && fallocate(fm, 0, (off_t)len / 2,
		    (off_t)len / 2) == 0, "a file allocated to 4 MiB");
		sh.fd = fm;
		sh.half = (off_t)len / 2;
		atomic_init(&sh.stop, 0);
		atomic_init(&sh.failed, 0);
		CHECK(pthread_create(&t, NULL, shake, &sh) == 0,
		    "a thread truncates it over and over");
		for (k = 0; k < 200; k++) {
			if (hash_fd(fm, secret, buf, NULL, 1, &a) != 0)
				continue;
			ok++;
			if (a.unstable ||
			    memcmp(a.digest, whole4.digest, UW_HASH_LEN) == 0 ||
			    memcmp(a.digest, small.digest, UW_HASH_LEN) == 0)
				known++;
		}
		atomic_store(&sh.stop, 1);
		pthread_join(t, NULL);
		CHECK(!atomic_load(&sh.failed), "it was shaken throughout");
		CHECK(ok == 200, "hashed 200 times meanwhile (%zu ok)", ok);
		CHECK(known == ok, "each digest is of the whole or the half "
		    "file, or flagged unstable (%zu of %zu)", known, ok);
		hash_thread_done();
		close(fm);
		free(m);
	}

	/* Empty files. */
	fc = make_file("empty", NULL, 0, 0, 0);
	CHECK(digest(fc, secret, &a) == 0 && a.bytes_read == 0,
	    "an empty file hashes without reading");
	close(fc);

	/* A 1 TiB sparse file with one block of data at its end. */
	fc = make_file("huge", "tail", 4, (off_t)1 << 40, 0);
	CHECK(fc >= 0, "1 TiB sparse file made");
	CHECK(digest(fc, secret, &a) == 0, "1 TiB sparse file hashed");
	CHECK(a.bytes_read <= 8192, "only its data was read (%llu bytes)",
	    (unsigned long long)a.bytes_read);
	CHECK(!a.unstable, "it is stable");
	close(fc);

	/* Not a regular file. */
	fc = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(digest(fc, secret, &a) == -EINVAL, "a directory is refused");
	close(fc);

	close(fa);
	close(fb);
	free(zeros);
	snprintf((char *)buf, 512, "rm -rf '%s'", dir);
	(void)!system((char *)buf);
	return check_done();
}
