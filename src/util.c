/*
 * util.c - error reporting, the capped buffer, clocks and escaping.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int
seterr(struct uw_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void
buf_init(struct buf *buf, size_t cap)
{
	buf->data = NULL;
	buf->len = 0;
	buf->size = 0;
	buf->cap = cap;
}

void
buf_free(struct buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
	buf->size = 0;
}

void
buf_reset(struct buf *buf)
{
	buf->len = 0;
}

/* Make room for `extra` more bytes plus a terminating NUL. */
static int
buf_grow(struct buf *buf, size_t extra)
{
	size_t need, size;
	unsigned char *data;

	if (extra > buf->cap || buf->len > buf->cap - extra)
		return -E2BIG;
	need = buf->len + extra + 1;
	if (need <= buf->size)
		return 0;
	size = buf->size ? buf->size : 64;
	while (size < need)
		size *= 2;
	if (size > buf->cap + 1)
		size = buf->cap + 1;
	data = realloc(buf->data, size);
	if (data == NULL)
		return -ENOMEM;
	buf->data = data;
	buf->size = size;
	return 0;
}

int
buf_add(struct buf *buf, const void *data, size_t len)
{
	int rc;

	rc = buf_grow(buf, len);
	if (rc < 0)
		return rc;
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 0;
}

int
buf_addc(struct buf *buf, unsigned char c)
{
	return buf_add(buf, &c, 1);
}

int
buf_printf(struct buf *buf, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	rc = buf_grow(buf, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)buf->data + buf->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t)n;
	return 0;
}

static int64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t
now_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

size_t
utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t
escape_to_buf(char *out, size_t size, const unsigned char *bytes,
    size_t len, size_t *consumed)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *unit;
	unsigned char esc[4];
	size_t i = 0, o = 0, in, n;
	unsigned char c;

	while (i < len) {
		c = bytes[i];
		unit = esc;
		in = 1;
		n = 2;
		esc[0] = '\\';
		if (c == '\\') {
			esc[1] = '\\';
		} else if (c == '\n') {
			esc[1] = 'n';
		} else if (c == '\t') {
			esc[1] = 't';
		} else if (c == '\r') {
			esc[1] = 'r';
		} else if (c >= 0x20 && c < 0x7f) {
			unit = bytes + i;
			n = 1;
		} else if (c >= 0x80 && (in = utf8_seq_len(bytes + i,
		    len - i)) > 1 && !(in == 2 && c == 0xc2 &&
		    bytes[i + 1] < 0xa0)) {
			/* valid UTF-8, but not a C1 control (U+0080-009F),
			 * which terminals may act on */
			unit = bytes + i;
			n = in;
		} else {
			in = 1;
			n = 4;
			esc[1] = 'x';
			esc[2] = (unsigned char)digits[c >> 4];
			esc[3] = (unsigned char)digits[c & 0xf];
		}
		if (size == 0 || n > size - 1 - o)
			break;
		memcpy(out + o, unit, n);
		o += n;
		i += in;
	}
	if (size > 0)
		out[o] = '\0';
	if (consumed != NULL)
		*consumed = i;
	return o;
}

const char *
escape_cut(char *out, size_t size, const void *bytes, size_t len)
{
	size_t used, n;

	n = escape_to_buf(out, size - 3, bytes, len, &used);
	if (used < len)
		memcpy(out + n, "...", 4);
	return out;
}

void
escape_bytes(FILE *out, const unsigned char *bytes, size_t len)
{
	char chunk[256];
	size_t done = 0, used, n;

	while (done < len) {
		/* chunk holds any one escape or sequence: always progress */
		n = escape_to_buf(chunk, sizeof(chunk), bytes + done,
		    len - done, &used);
		fwrite(chunk, 1, n, out);
		done += used;
	}
}

void
hex_encode(char *out, const unsigned char *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *s, size_t len, unsigned char *out, size_t max)
{
	size_t i;
	int h, l;

	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		h = hex_value(s[2 * i]);
		l = hex_value(s[2 * i + 1]);
		if (h < 0 || l < 0)
			return -1;
		out[i] = (unsigned char)(h << 4 | l);
	}
	return (int)(len / 2);
}

int
label_fit(struct label_caps *caps, size_t key_len, const char *value,
    size_t *value_len)
{
	size_t len = value != NULL ? strnlen(value, UW_LABEL_VALUE_MAX + 1) :
	    0;

	if (len > UW_LABEL_VALUE_MAX) {
		len = UW_LABEL_VALUE_MAX;
		while (len > 0 && ((unsigned char)value[len] & 0xc0) == 0x80)
			len--;
		caps->truncated = 1;
	}
	if (key_len > UW_LABEL_VALUE_MAX || caps->kept == UW_LABEL_COUNT_MAX ||
	    key_len + len > UW_LABELS_MAX - caps->bytes) {
		caps->truncated = 1;
		return 0;
	}
	caps->kept++;
	caps->bytes += key_len + len;
	*value_len = len;
	return 1;
}

/*
 * The config digest of a container's image as its runtime records it
 * (Docker "sha256:<hex>", Podman "<hex>") into out, "sha256:<hex>": 1, or
 * 0 when it records none.
 */
int
image_digest(const char *id, char *out)
{
	size_t i;

	if (strncmp(id, "sha256:", 7) == 0)
		id += 7;
	if (strlen(id) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	snprintf(out, UW_DIGEST_MAX, "sha256:%s", id);
	return 1;
}

/* A line of a pid list: fn(pid) when it is one, else nothing. */
static int
pid_line(const char *s, int (*fn)(long pid, void *arg), void *arg)
{
	char *end;
	long pid = strtol(s, &end, 10);

	return end == s || *end != '\0' || pid <= 0 ? 0 : fn(pid, arg);
}

int
pids_each(int fd, int (*fn)(long pid, void *arg), void *arg)
{
	char buf[4096 + 1];
	size_t have = 0, start, i;
	int rc, skip = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		have += (size_t)n;
		if (n == 0 && have > 0)
			buf[have++] = '\n';	/* the last line, unended */
		for (start = i = 0; i < have; i++) {
			if (buf[i] != '\n')
				continue;
			buf[i] = '\0';
			rc = skip ? 0 : pid_line(buf + start, fn, arg);
			if (rc != 0)
				return rc;
			skip = 0;
			start = i + 1;
		}
		if (n == 0)
			return 0;
		if (start == 0 && have == sizeof(buf) - 1) {
			skip = 1;	/* no pid is this long: drop the line */
			start = have;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
	}
}

/* cgroup_pids_each's walk below the cgroup open at dirfd (taken). */
static int
cgroup_walk(int dirfd, int depth, struct cgroup_caps *caps,
    int (*fn)(long pid, void *arg), void *arg)
{
	struct dirent *d;
	DIR *dir;
	int fd, rc = 0;

	if (caps->cgroups++ >= caps->max_cgroups) {
		caps->capped = 1;
		close(dirfd);
		return 0;
	}
	fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		rc = pids_each(fd, fn, arg);
		close(fd);
	}
	if (rc > 0) {
		close(dirfd);
		return rc;
	}
	dir = fdopendir(dirfd);
	if (dir == NULL) {
		close(dirfd);
		return 0;
	}
	rc = 0;
	while (rc <= 0 && (d = readdir(dir)) != NULL) {
		/* (a cgroup's name may begin with a dot: only . and ..
		 * are not cgroups) */
		if (d->d_type != DT_DIR || (d->d_name[0] == '.' &&
		    (d->d_name[1] == '\0' || (d->d_name[1] == '.' &&
		    d->d_name[2] == '\0'))))
			continue;
		if (depth >= caps->max_depth ||
		    caps->cgroups >= caps->max_cgroups) {
			caps->capped = 1;	/* one too deep, or too many */
			break;
		}
		fd = openat(dirfd, d->d_name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0)
			rc = cgroup_walk(fd, depth + 1, caps, fn, arg);
	}
	closedir(dir);
	return rc > 0 ? rc : 0;
}

int
cgroup_pids_each(int dirfd, struct cgroup_caps *caps,
    int (*fn)(long pid, void *arg), void *arg)
{
	int fd;

	caps->cgroups = 0;
	caps->capped = 0;
	fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	return cgroup_walk(fd, 0, caps, fn, arg);
}
