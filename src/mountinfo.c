/*
 * mountinfo.c - the mount table, as proc_pid_mountinfo(5) prints it:
 *
 *   36 35 98:0 /root /mnt/point rw,noatime master:1 - overlay overlay rw,...
 *   id par dev  root  mount point opts     optional... - fstype source super
 *
 * Paths are escaped with \NNN octal for space, tab, newline and
 * backslash; overlay's super options (seq_show_option) also escape the
 * comma.  Every field is taken from untrusted text: lengths are checked,
 * nothing is assumed to be well formed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mountinfo.h"

/* Undo \NNN octal escapes in place; returns the new length. */
static size_t
unescape_octal(char *s, size_t len)
{
	size_t i = 0, o = 0;

	while (i < len) {
		if (s[i] == '\\' && i + 3 < len &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			s[o++] = (char)(((s[i + 1] - '0') << 6) |
			    ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
			i += 4;
		} else {
			s[o++] = s[i++];
		}
	}
	s[o] = '\0';
	return o;
}

static char *
dup_unescaped(const char *s, size_t len)
{
	char *out = malloc(len + 1);

	if (out == NULL)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	unescape_octal(out, len);
	return out;
}

static void
entry_free(struct mountinfo_entry *e)
{
	size_t i;

	free(e->root);
	free(e->mount_point);
	free(e->fstype);
	free(e->source);
	free(e->super_opts);
	for (i = 0; i < e->lower_count; i++)
		free(e->lower[i]);
	free(e->lower);
	for (i = 0; i < e->data_count; i++)
		free(e->data[i]);
	free(e->data);
	free(e->upper);
	free(e->work);
	memset(e, 0, sizeof(*e));
}

void
mountinfo_table_free(struct mountinfo_table *table)
{
	size_t i;

	for (i = 0; i < table->count; i++)
		entry_free(&table->v[i]);
	free(table->v);
	memset(table, 0, sizeof(*table));
}

static int
push_path(char ***v, size_t *count, char *path)
{
	char **nv;

	if (*count >= MOUNTINFO_MAX_LAYERS) {
		free(path);
		return -E2BIG;
	}
	nv = realloc(*v, (*count + 1) * sizeof(**v));
	if (nv == NULL) {
		free(path);
		return -ENOMEM;
	}
	*v = nv;
	(*v)[(*count)++] = path;
	return 0;
}

/*
 * Split a legacy lowerdir value (octal escapes already undone) on the
 * colons that are not escaped; drop the backslash before ':', ',' and
 * '\'.  An empty element ("::", data-only layers) ends the regular
 * layers: what follows is data-only.
 */
static int
split_lowerdir(const char *value, struct mountinfo_entry *e)
{
	size_t len = strlen(value), i, o;
	char *cur;
	int rc, data_only = 0;

	cur = malloc(len + 1);
	if (cur == NULL)
		return -ENOMEM;
	o = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && value[i] == '\\' && i + 1 < len &&
		    (value[i + 1] == ':' || value[i + 1] == ',' ||
		    value[i + 1] == '\\')) {
			cur[o++] = value[++i];
			continue;
		}
		if (i < len && value[i] != ':') {
			cur[o++] = value[i];
			continue;
		}
		cur[o] = '\0';
		if (o == 0) {
			data_only = 1;
		} else {
			char *path = strdup(cur);

			if (path == NULL) {
				free(cur);
				return -ENOMEM;
			}
			rc = data_only ? push_path(&e->data, &e->data_count,
			    path) : push_path(&e->lower, &e->lower_count, path);
			if (rc < 0) {
				free(cur);
				return rc;
			}
		}
		o = 0;
	}
	free(cur);
	return 0;
}

/* Parse overlay's super options into the entry. */
static int
parse_overlay_opts(struct mountinfo_entry *e)
{
	char *opts, *opt, *next, *value;
	int rc = 0;

	opts = strdup(e->super_opts);
	if (opts == NULL)
		return -ENOMEM;
	for (opt = opts; opt != NULL && rc == 0; opt = next) {
		next = strchr(opt, ',');
		if (next != NULL)
			*next++ = '\0';
		unescape_octal(opt, strlen(opt));
		value = strchr(opt, '=');
		if (value != NULL)
			*value++ = '\0';
		if (strcmp(opt, "lowerdir") == 0 && value != NULL) {
			rc = split_lowerdir(value, e);
		} else if (strcmp(opt, "lowerdir+") == 0 && value != NULL) {
			char *p = strdup(value);

			rc = p ? push_path(&e->lower, &e->lower_count, p) :
			    -ENOMEM;
		} else if (strcmp(opt, "datadir+") == 0 && value != NULL) {
			char *p = strdup(value);

			rc = p ? push_path(&e->data, &e->data_count, p) :
			    -ENOMEM;
		} else if (strcmp(opt, "upperdir") == 0 && value != NULL) {
			free(e->upper);
			e->upper = strdup(value);
			rc = e->upper ? 0 : -ENOMEM;
		} else if (strcmp(opt, "workdir") == 0 && value != NULL) {
			free(e->work);
			e->work = strdup(value);
			rc = e->work ? 0 : -ENOMEM;
		} else if (strcmp(opt, "metacopy") == 0 && value != NULL) {
			e->ov_metacopy = strcmp(value, "on") == 0 ?
			    MOUNTINFO_OPT_ON : MOUNTINFO_OPT_OFF;
			if (strcmp(value, "on") == 0)
				e->ov_flags |= MOUNTINFO_OV_METACOPY;
		} else if (strcmp(opt, "redirect_dir") == 0 && value != NULL) {
			e->ov_redirect = strcmp(value, "on") == 0 ?
			    MOUNTINFO_REDIRECT_ON : strcmp(value, "follow") == 0 ?
			    MOUNTINFO_REDIRECT_FOLLOW : strcmp(value, "nofollow") ==
			    0 ? MOUNTINFO_REDIRECT_NOFOLLOW : MOUNTINFO_REDIRECT_OFF;
			if (strcmp(value, "on") == 0 ||
			    strcmp(value, "follow") == 0)
				e->ov_flags |= MOUNTINFO_OV_REDIRECT_DIR;
		} else if (strcmp(opt, "index") == 0 && value != NULL) {
			if (strcmp(value, "on") == 0)
				e->ov_flags |= MOUNTINFO_OV_INDEX;
		} else if (strcmp(opt, "userxattr") == 0) {
			e->ov_flags |= MOUNTINFO_OV_USERXATTR;
		} else if (strcmp(opt, "volatile") == 0 ||
		    (strcmp(opt, "fsync") == 0 && value != NULL &&
		    strcmp(value, "volatile") == 0)) {
			e->ov_flags |= MOUNTINFO_OV_VOLATILE;
		}
	}
	free(opts);
	return rc;
}

/* Next space-separated field of [*p, end); NULL when none is left. */
static const char *
field(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *e;

	while (s < end && *s == ' ')
		s++;
	if (s >= end)
		return NULL;
	e = s;
	while (e < end && *e != ' ')
		e++;
	*len = (size_t)(e - s);
	*p = e;
	return s;
}

static int
parse_int(const char *s, size_t len, int *out)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = (int)v;
	return 0;
}

/* Parse one line; 1 if malformed, 0 if added, <0 on error. */
static int
parse_line(const char *line, const char *end, struct mountinfo_table *table)
{
	struct mountinfo_entry e;
	const char *p = line, *f;
	size_t len;
	int rc, sep = 0;

	memset(&e, 0, sizeof(e));
	f = field(&p, end, &len);
	if (f == NULL || parse_int(f, len, &e.mount_id) < 0)
		return 1;
	f = field(&p, end, &len);
	if (f == NULL || parse_int(f, len, &e.parent_id) < 0)
		return 1;
	f = field(&p, end, &len);		/* major:minor */
	if (f == NULL || memchr(f, ':', len) == NULL)
		return 1;
	f = field(&p, end, &len);
	if (f == NULL)
		return 1;
	e.root = dup_unescaped(f, len);
	f = field(&p, end, &len);
	if (f == NULL)
		goto malformed;
	e.mount_point = dup_unescaped(f, len);
	if (field(&p, end, &len) == NULL)	/* mount options */
		goto malformed;
	while ((f = field(&p, end, &len)) != NULL) {	/* optional fields */
		if (len == 1 && f[0] == '-') {
			sep = 1;
			break;
		}
	}
	if (!sep)
		goto malformed;
	f = field(&p, end, &len);
	if (f == NULL)
		goto malformed;
	e.fstype = dup_unescaped(f, len);
	f = field(&p, end, &len);
	if (f == NULL)
		goto malformed;
	e.source = dup_unescaped(f, len);
	f = field(&p, end, &len);
	e.super_opts = f ? strndup(f, len) : strdup("");
	if (e.root == NULL || e.mount_point == NULL || e.fstype == NULL ||
	    e.source == NULL || e.super_opts == NULL) {
		entry_free(&e);
		return -ENOMEM;
	}
	if (strcmp(e.fstype, "overlay") == 0) {
		rc = parse_overlay_opts(&e);
		if (rc == -ENOMEM) {
			entry_free(&e);
			return rc;
		}
		if (rc < 0 || e.lower_count == 0)
			goto malformed;
	}
	if (table->count == table->alloc) {
		size_t alloc = table->alloc ? table->alloc * 2 : 64;
		struct mountinfo_entry *v = realloc(table->v, alloc * sizeof(*v));

		if (v == NULL) {
			entry_free(&e);
			return -ENOMEM;
		}
		table->v = v;
		table->alloc = alloc;
	}
	table->v[table->count++] = e;
	return 0;
malformed:
	entry_free(&e);
	return 1;
}

int
mountinfo_parse(const char *text, size_t len, struct mountinfo_table *table)
{
	const char *p = text, *end = text + len, *nl;
	int rc;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl > p) {
			rc = parse_line(p, nl, table);
			if (rc < 0)
				return rc;
			if (rc > 0)
				table->malformed++;
		}
		p = nl + 1;
	}
	return 0;
}

int
mountinfo_read(const char *path, struct mountinfo_table *table)
{
	char *buf = NULL, *nbuf;
	size_t len = 0, size = 0;
	ssize_t n;
	int fd, rc;

	fd = open(path ? path : "/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (size - len < 65536) {
			if (size > (64u << 20)) {
				rc = -E2BIG;
				goto out;
			}
			size = size ? size * 2 : 131072;
			nbuf = realloc(buf, size);
			if (nbuf == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, size - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = mountinfo_parse(buf ? buf : "", len, table);
out:
	free(buf);
	close(fd);
	return rc;
}

/* Make `*path` absolute against `home`, following one symlink level in
 * `l/` (Docker's and Podman's short links). */
static int
resolve_one(char **path, const char *home)
{
	char joined[PATH_MAX], *real;

	if (*path == NULL || (*path)[0] == '/')
		return 0;
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", home, *path) >=
	    sizeof(joined))
		return -ENAMETOOLONG;
	real = realpath(joined, NULL);
	if (real == NULL)
		return -errno;
	free(*path);
	*path = real;
	return 0;
}

int
mountinfo_resolve_relative(struct mountinfo_entry *e, const char *home)
{
	size_t i;
	int rc;

	for (i = 0; i < e->lower_count; i++) {
		rc = resolve_one(&e->lower[i], home);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < e->data_count; i++) {
		rc = resolve_one(&e->data[i], home);
		if (rc < 0)
			return rc;
	}
	rc = resolve_one(&e->upper, home);
	if (rc == 0)
		rc = resolve_one(&e->work, home);
	return rc;
}

int
mountinfo_wait_change(int fd, int timeout_ms)
{
	struct pollfd pfd;
	int n;

	pfd.fd = fd;
	pfd.events = POLLPRI;
	pfd.revents = 0;
	n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	/* The change is acknowledged by reading the file again from 0. */
	return (pfd.revents & (POLLPRI | POLLERR)) ? 1 : 0;
}
