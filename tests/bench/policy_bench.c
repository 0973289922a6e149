/*
 * policy_bench.c - how fast a policy set judges drift events: loads a set
 * the way the daemon does (uw_policy_load), then evaluates a recorded mix
 * of events over and over, with the C prefilter (the match lists)
 * on or off, and prints evaluations per second and ns per event.
 *
 * The mix is either generated here, deterministically from a seed, to
 * look like what containers do (70% runtime, cache and log noise under
 * /var, /tmp, /run and the runtime's /etc files; 15% files under /usr/lib
 * and /usr/bin; 10% configuration under /etc; 5% sensitive: accounts,
 * SSH keys, sudo, cron, the loader's preload list, setuid and file
 * capabilities; mixed ops, types and modes), or read from a JSON Lines
 * file in the `upperwatch events --json` format.
 *
 * Usage: policy_bench [OPTIONS] POLICY_PATH...   (see --help)
 *
 * Prints comment lines ("# ...") and, last, one "result key=value ..."
 * line for scripts (tests/bench/policy.sh).  Single-threaded: the figures
 * are one core's.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "upperwatch.h"

/* ---- the events ---- */

struct bev {
	struct uw_event ev;
	struct uw_record cur, base;
	int category;		/* generated mix: 0 noise .. 3 sensitive */
};

struct pool {
	struct bev *ev;
	size_t count, alloc;
	/* everything the events point to, freed at exit */
	void **owned;
	size_t owned_count, owned_alloc;
};

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "policy_bench: out of memory\n");
		exit(2);
	}
	return p;
}

static void *
own(struct pool *p, void *ptr)
{
	if (p->owned_count == p->owned_alloc) {
		p->owned_alloc = p->owned_alloc ? p->owned_alloc * 2 : 1024;
		p->owned = realloc(p->owned, p->owned_alloc * sizeof(void *));
		if (p->owned == NULL) {
			fprintf(stderr, "policy_bench: out of memory\n");
			exit(2);
		}
	}
	p->owned[p->owned_count++] = ptr;
	return ptr;
}

static char *
own_str(struct pool *p, const char *s, size_t len)
{
	char *c = own(p, xmalloc(len + 1));

	memcpy(c, s, len);
	c[len] = '\0';
	return c;
}

static struct bev *
new_event(struct pool *p)
{
	struct bev *b;

	if (p->count == p->alloc) {
		p->alloc = p->alloc ? p->alloc * 2 : 1024;
		p->ev = realloc(p->ev, p->alloc * sizeof(*p->ev));
		if (p->ev == NULL) {
			fprintf(stderr, "policy_bench: out of memory\n");
			exit(2);
		}
	}
	b = &p->ev[p->count++];
	memset(b, 0, sizeof(*b));
	return b;
}

/* The records live inside the pool's array, which moves as it grows:
 * point the events at them once the pool is complete. */
static void
fix_pointers(struct pool *p, const unsigned char *has)
{
	size_t i;

	for (i = 0; i < p->count; i++) {
		p->ev[i].ev.current = (has[i] & 1) ? &p->ev[i].cur : NULL;
		p->ev[i].ev.baseline = (has[i] & 2) ? &p->ev[i].base : NULL;
	}
}

/* ---- the generated mix ---- */

static uint64_t rng;

static uint64_t
rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned
pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *const words[] = {
	"app", "worker", "nginx", "curl", "ssl", "crypto", "z", "ffi",
	"agent", "backup", "python3", "node", "redis", "metrics", "auth",
	"sched",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *
word(void)
{
	return words[pick(NWORDS)];
}

static struct uw_label demo_labels[] = {
	{ "app.kubernetes.io/name", "shop" },
	{ "io.kubernetes.container.name", "web" },
	{ "upperwatch.packages", "denied" },
};

static const struct uw_container demo_container = {
	.id = "4f1c2b7a9d0e4c3b8a6f5e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b",
	.name = "shop-web-7d9f8",
	.runtime = "containerd",
	.image = "registry.example.com/shop/web:1.42",
	.image_id = "sha256:0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c",
	.image_key = "",
	.pod = "shop-web-7d9f8-x2k4q",
	.pod_namespace = "shop",
	.mount_point = "",
	.upper = "",
	.cgroup_v1_freezer = "",
	.cgroup_v2 = "",
	.labels = demo_labels,
	.label_count = sizeof(demo_labels) / sizeof(demo_labels[0]),
};

static void
fill_record(struct uw_record *r, enum uw_file_type type, unsigned mode,
    uint64_t size)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->type = type;
	r->mode = mode;
	r->uid = pick(10) == 0 ? 1000 : 0;
	r->gid = r->uid;
	r->size = size;
	r->mtime_ns = 1700000000000000000LL + (int64_t)(rnd() % 100000000000000ULL);
	if (type == UW_TYPE_FILE) {
		r->flags = UW_REC_HASHED;
		for (i = 0; i < UW_HASH_LEN; i++)
			r->hash[i] = (unsigned char)rnd();
	}
}

/* One event: OP on PATH, a TYPE of MODE (the baseline's mode: BMODE). */
static void
gen_event(struct pool *p, unsigned char *has, int category, enum uw_op op,
    const char *path, enum uw_file_type type, unsigned mode, unsigned bmode)
{
	struct bev *b = new_event(p);
	size_t i = p->count - 1;
	uint64_t size = type == UW_TYPE_FILE ? rnd() % 65536 :
	    type == UW_TYPE_DIR ? 4096 : 0;
	static unsigned char caps[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04 };

	b->category = category;
	b->ev.op = op;
	b->ev.path = (const unsigned char *)own_str(p, path, strlen(path));
	b->ev.path_len = strlen(path);
	b->ev.type = type;
	b->ev.container = &demo_container;
	b->ev.time_ns = 1790000000000000000LL + (int64_t)i * 1000;
	b->ev.id = i + 1;
	has[i] = 0;
	if (op != UW_OP_DELETED) {
		fill_record(&b->cur, type, mode, size);
		if (type == UW_TYPE_SYMLINK) {
			b->cur.link = (const unsigned char *)"../lib/target";
			b->cur.link_len = 13;
		}
		has[i] |= 1;
	}
	if (op != UW_OP_ADDED) {
		fill_record(&b->base, type, bmode, size + (op == UW_OP_MODIFIED));
		if (type == UW_TYPE_SYMLINK) {
			b->base.link = (const unsigned char *)"../lib/old";
			b->base.link_len = 10;
		}
		has[i] |= 2;
	}
	switch (op) {
	case UW_OP_MODIFIED:
		b->ev.changes = type == UW_TYPE_SYMLINK ? UW_CHG_LINK :
		    UW_CHG_SIZE | UW_CHG_HASH;
		break;
	case UW_OP_METADATA:
		b->ev.changes = mode != bmode ? UW_CHG_MODE : UW_CHG_UID;
		if (mode == bmode)
			b->cur.uid = b->base.uid + 1;
		break;
	case UW_OP_DELETED:
		b->ev.count = type == UW_TYPE_DIR ? 1 + pick(40) : 0;
		break;
	case UW_OP_REPLACED:
		b->ev.changes = UW_CHG_OPAQUE;
		b->ev.count = 1 + pick(200);
		break;
	default:
		break;
	}
	/* sensitive category: now and then new file capabilities */
	if (category == 3 && op != UW_OP_DELETED && type == UW_TYPE_FILE &&
	    (mode & 0111) && pick(3) == 0) {
		b->cur.caps = caps;
		b->cur.caps_len = sizeof(caps);
	}
}

static enum uw_op
op_of(unsigned added, unsigned modified, unsigned metadata, unsigned deleted)
{
	unsigned r = pick(100);

	if (r < added)
		return UW_OP_ADDED;
	if (r < added + modified)
		return UW_OP_MODIFIED;
	if (r < added + modified + metadata)
		return UW_OP_METADATA;
	if (r < added + modified + metadata + deleted)
		return UW_OP_DELETED;
	return UW_OP_REPLACED;
}

static void
gen_noise(struct pool *p, unsigned char *has)
{
	char path[256];
	unsigned r = pick(100);

	if (r < 20) {
		snprintf(path, sizeof(path), "/var/log/%s/%s.log%s", word(),
		    pick(2) ? "access" : "error", pick(5) ? "" : ".1");
		gen_event(p, has, 0, op_of(10, 85, 0, 5), path, UW_TYPE_FILE,
		    0640, 0640);
	} else if (r < 35) {
		snprintf(path, sizeof(path), "/var/cache/%s/%02x/%08x.cache",
		    word(), pick(256), (unsigned)rnd());
		gen_event(p, has, 0, op_of(60, 20, 0, 20), path, UW_TYPE_FILE,
		    0644, 0644);
	} else if (r < 40) {
		snprintf(path, sizeof(path), "/var/cache/%s/%02x", word(),
		    pick(256));
		gen_event(p, has, 0, op_of(80, 0, 0, 15), path, UW_TYPE_DIR,
		    0755, 0755);
	} else if (r < 52) {
		snprintf(path, sizeof(path), "/var/lib/%s/sessions/sess_%08x",
		    word(), (unsigned)rnd());
		gen_event(p, has, 0, op_of(50, 30, 0, 20), path, UW_TYPE_FILE,
		    0600, 0600);
	} else if (r < 70) {
		if (pick(2))
			snprintf(path, sizeof(path), "/tmp/tmp.%08x",
			    (unsigned)rnd());
		else
			snprintf(path, sizeof(path), "/tmp/build-%u/obj/%s%u.o",
			    pick(8), word(), pick(500));
		gen_event(p, has, 0, op_of(70, 10, 0, 20), path, UW_TYPE_FILE,
		    pick(10) ? 0644 : 0755, 0644);
	} else if (r < 78) {
		snprintf(path, sizeof(path), "/var/tmp/upload-%08x",
		    (unsigned)rnd());
		gen_event(p, has, 0, op_of(80, 0, 0, 20), path, UW_TYPE_FILE,
		    0600, 0600);
	} else if (r < 86) {
		static const char *const run[] = { "/run/%s.pid",
			"/run/lock/%s.lock", "/run/%s/socket.info",
			"/var/run/%s.pid" };
		snprintf(path, sizeof(path), run[pick(4)], word());
		gen_event(p, has, 0, op_of(40, 50, 0, 10), path, UW_TYPE_FILE,
		    0644, 0644);
	} else {
		static const char *const rt[] = { "/etc/hostname",
			"/etc/hosts", "/etc/resolv.conf", "/etc/mtab" };
		unsigned k = pick(4);

		gen_event(p, has, 0, op_of(k == 3 ? 100 : 10, 90, 0, 0), rt[k],
		    k == 3 ? UW_TYPE_SYMLINK : UW_TYPE_FILE,
		    k == 3 ? 0777 : 0644, k == 3 ? 0777 : 0644);
	}
}

static void
gen_usr(struct pool *p, unsigned char *has)
{
	char path[256];
	const char *w = word();
	unsigned r = pick(100);

	if (r < 30) {
		snprintf(path, sizeof(path), "/usr/lib/x86_64-linux-gnu/lib%s.so.%u",
		    w, pick(4));
		gen_event(p, has, 1, op_of(30, 65, 5, 0), path, UW_TYPE_FILE,
		    0644, 0644);
	} else if (r < 50) {
		snprintf(path, sizeof(path),
		    "/usr/lib/python3/dist-packages/%s/__pycache__/%s.cpython-311.pyc",
		    w, word());
		gen_event(p, has, 1, op_of(90, 10, 0, 0), path, UW_TYPE_FILE,
		    0644, 0644);
	} else if (r < 62) {
		snprintf(path, sizeof(path), "/usr/lib/python3/dist-packages/%s/%s.py",
		    w, word());
		gen_event(p, has, 1, op_of(40, 60, 0, 0), path, UW_TYPE_FILE,
		    0644, 0644);
	} else if (r < 67) {
		snprintf(path, sizeof(path), "/usr/lib/python3/dist-packages/%s", w);
		gen_event(p, has, 1, op_of(50, 0, 0, 20), path, UW_TYPE_DIR,
		    0755, 0755);
	} else if (r < 90) {
		enum uw_op op = op_of(25, 55, 10, 10);

		snprintf(path, sizeof(path), "/usr/bin/%s%s", w,
		    pick(3) ? "" : "-helper");
		gen_event(p, has, 1, op, path, UW_TYPE_FILE, 0755,
		    op == UW_OP_METADATA && pick(2) ? 0644 : 0755);
	} else if (r < 95) {
		snprintf(path, sizeof(path), "/usr/local/bin/%s", w);
		gen_event(p, has, 1, op_of(80, 20, 0, 0), path, UW_TYPE_FILE,
		    0755, 0755);
	} else {
		snprintf(path, sizeof(path), "/usr/bin/%s", w);
		gen_event(p, has, 1, UW_OP_ADDED, path, UW_TYPE_SYMLINK,
		    0777, 0777);
	}
}

static void
gen_etc(struct pool *p, unsigned char *has)
{
	char path[256];
	const char *w = word();
	unsigned r = pick(100);

	if (r < 25) {
		snprintf(path, sizeof(path), "/etc/%s/%s.conf", w, word());
		gen_event(p, has, 2, op_of(20, 70, 10, 0), path, UW_TYPE_FILE,
		    0644, pick(10) ? 0644 : 0600);
	} else if (r < 40) {
		snprintf(path, sizeof(path), "/etc/nginx/conf.d/%s.conf", w);
		gen_event(p, has, 2, op_of(30, 60, 0, 10), path, UW_TYPE_FILE,
		    0644, 0644);
	} else if (r < 55) {
		snprintf(path, sizeof(path), "/etc/ssl/certs/%08x.0",
		    (unsigned)rnd());
		gen_event(p, has, 2, op_of(80, 10, 0, 10), path,
		    UW_TYPE_SYMLINK, 0777, 0777);
	} else if (r < 70) {
		snprintf(path, sizeof(path), "/etc/default/%s", w);
		gen_event(p, has, 2, op_of(10, 90, 0, 0), path, UW_TYPE_FILE,
		    0644, 0644);
	} else if (r < 80) {
		static const char *const f[] = { "/etc/environment",
			"/etc/timezone", "/etc/locale.gen", "/etc/nsswitch.conf" };

		gen_event(p, has, 2, UW_OP_MODIFIED, f[pick(4)], UW_TYPE_FILE,
		    0644, 0644);
	} else if (r < 88) {
		gen_event(p, has, 2, UW_OP_MODIFIED, "/etc/localtime",
		    UW_TYPE_SYMLINK, 0777, 0777);
	} else if (r < 94) {
		snprintf(path, sizeof(path), "/etc/%s", w);
		gen_event(p, has, 2, op_of(40, 0, 10, 10), path, UW_TYPE_DIR,
		    0755, 0755);
	} else {
		snprintf(path, sizeof(path), "/etc/profile.d/%s.sh", w);
		gen_event(p, has, 2, op_of(50, 50, 0, 0), path, UW_TYPE_FILE,
		    0644, 0644);
	}
}

static void
gen_sensitive(struct pool *p, unsigned char *has)
{
	char path[256];
	const char *w = word();
	unsigned r = pick(100);

	if (r < 25) {
		static const char *const f[] = { "/etc/passwd", "/etc/shadow",
			"/etc/group", "/etc/gshadow" };
		unsigned k = pick(4);

		gen_event(p, has, 3, op_of(0, 80, 20, 0), f[k], UW_TYPE_FILE,
		    k & 1 ? 0640 : 0644, k & 1 ? 0600 : 0644);
	} else if (r < 40) {
		gen_event(p, has, 3, op_of(60, 40, 0, 0),
		    "/root/.ssh/authorized_keys", UW_TYPE_FILE, 0600, 0600);
	} else if (r < 45) {
		gen_event(p, has, 3, UW_OP_ADDED, "/root/.ssh", UW_TYPE_DIR,
		    0700, 0700);
	} else if (r < 55) {
		snprintf(path, sizeof(path), "/home/%s/.ssh/authorized_keys", w);
		gen_event(p, has, 3, op_of(50, 50, 0, 0), path, UW_TYPE_FILE,
		    0600, 0600);
	} else if (r < 65) {
		snprintf(path, sizeof(path), "/etc/sudoers.d/%s", w);
		gen_event(p, has, 3, op_of(80, 20, 0, 0), path, UW_TYPE_FILE,
		    0440, 0440);
	} else if (r < 75) {
		snprintf(path, sizeof(path), "/etc/cron.d/%s", w);
		gen_event(p, has, 3, op_of(70, 30, 0, 0), path, UW_TYPE_FILE,
		    0644, 0644);
	} else if (r < 80) {
		gen_event(p, has, 3, UW_OP_ADDED, "/etc/ld.so.preload",
		    UW_TYPE_FILE, 0644, 0644);
	} else if (r < 90) {
		snprintf(path, sizeof(path), "/usr/bin/%s", w);
		gen_event(p, has, 3, pick(2) ? UW_OP_METADATA : UW_OP_ADDED,
		    path, UW_TYPE_FILE, pick(4) ? 04755 : 02755, 0755);
	} else {
		snprintf(path, sizeof(path), "/usr/local/sbin/%s", w);
		gen_event(p, has, 3, UW_OP_ADDED, path, UW_TYPE_FILE, 0755,
		    0755);
	}
}

static void
generate(struct pool *p, size_t n, uint64_t seed)
{
	unsigned char *has = xmalloc(n);
	size_t i;
	unsigned r;

	rng = seed;
	for (i = 0; i < n; i++) {
		r = pick(100);
		if (r < 70)
			gen_noise(p, has);
		else if (r < 85)
			gen_usr(p, has);
		else if (r < 95)
			gen_etc(p, has);
		else
			gen_sensitive(p, has);
	}
	fix_pointers(p, has);
	free(has);
}

/*
 * --packages: what the watcher adds in a container whose image has a
 * package database.  Paths under /usr, /etc, /bin, /lib and /opt belong
 * to a package, most of them matching it (a package manager ran); the
 * rest of the mix (runtime, cache and log noise) is unowned; now and
 * then an incident links them.
 */
static void
add_packages(struct pool *p)
{
	static const struct uw_package pkgs[] = {
		{ "dpkg", "libc6", "2.36-9+deb12u4", 0 },
		{ "dpkg", "coreutils", "9.1-1", 0 },
		{ "dpkg", "openssl", "3.0.11-1~deb12u2", 0 },
		{ "dpkg", "base-files", "12.4+deb12u5", 0 },
	};
	static const char *const owned[] = {
		"/usr/", "/etc/", "/bin/", "/lib/", "/opt/", "/sbin/",
	};
	struct uw_event *ev;
	size_t i, k;
	unsigned r;

	for (i = 0; i < p->count; i++) {
		ev = &p->ev[i].ev;
		for (k = 0; k < sizeof(owned) / sizeof(*owned); k++)
			if (ev->path_len > strlen(owned[k]) &&
			    memcmp(ev->path, owned[k], strlen(owned[k])) == 0)
				break;
		if (k == sizeof(owned) / sizeof(*owned)) {
			ev->package_check = UW_PKG_UNOWNED;
			continue;
		}
		r = pick(100);
		ev->package = &pkgs[pick(4)];
		ev->package_check = r < 85 ? UW_PKG_MATCH : r < 90 ?
		    UW_PKG_MISMATCH : r < 95 ? UW_PKG_UNKNOWN : UW_PKG_UNOWNED;
		if (ev->package_check == UW_PKG_UNOWNED)
			ev->package = NULL;
		if (pick(4) == 0)
			ev->incident = 1 + pick(10);
	}
}

/* ---- events from JSON Lines (`upperwatch events --json`) ---- */

static int
unhex(const char *s, unsigned char *out, size_t max, size_t *len)
{
	size_t n = strlen(s), i;
	unsigned v;

	if (n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	*len = n / 2;
	return 0;
}

/* A string field, or its exact "_hex" twin when the name is not UTF-8. */
static const unsigned char *
bytes_field(struct pool *p, json_t *obj, const char *key, size_t *len)
{
	char hexkey[64];
	json_t *v;
	unsigned char *buf;
	const char *s;

	snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
	v = json_object_get(obj, hexkey);
	if (json_is_string(v)) {
		s = json_string_value(v);
		buf = own(p, xmalloc(strlen(s) / 2 + 1));
		if (unhex(s, buf, strlen(s) / 2 + 1, len) == 0)
			return buf;
	}
	v = json_object_get(obj, key);
	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return (const unsigned char *)own_str(p, json_string_value(v), *len);
}

static const char *
str_field(struct pool *p, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return "";
	return own_str(p, json_string_value(v), json_string_length(v));
}

static int
type_from_name(const char *s)
{
	int t;

	for (t = UW_TYPE_FILE; t <= UW_TYPE_BLOCKDEV; t++)
		if (strcmp(uw_file_type_name((enum uw_file_type)t), s) == 0)
			return t;
	return -1;
}

static int
op_from_name(const char *s)
{
	int o;

	for (o = UW_OP_ADDED; o <= UW_OP_REPLACED; o++)
		if (strcmp(uw_op_name((enum uw_op)o), s) == 0)
			return o;
	return -1;
}

static int
read_record(struct pool *p, json_t *obj, struct uw_record *r)
{
	json_t *v;
	const char *s;
	unsigned char *caps;
	size_t len;
	int t;

	memset(r, 0, sizeof(*r));
	s = json_string_value(json_object_get(obj, "type"));
	t = s != NULL ? type_from_name(s) : -1;
	if (t < 0)
		return -1;
	r->type = (enum uw_file_type)t;
	r->mode = (unsigned)json_integer_value(json_object_get(obj, "mode"));
	r->uid = (uint32_t)json_integer_value(json_object_get(obj, "uid"));
	r->gid = (uint32_t)json_integer_value(json_object_get(obj, "gid"));
	r->size = (uint64_t)json_integer_value(json_object_get(obj, "size"));
	r->mtime_ns = json_integer_value(json_object_get(obj, "mtime"));
	v = json_object_get(obj, "hash");
	if (json_is_string(v) && unhex(json_string_value(v), r->hash,
	    UW_HASH_LEN, &len) == 0 && len == UW_HASH_LEN)
		r->flags |= UW_REC_HASHED;
	if (json_is_true(json_object_get(obj, "unstable")))
		r->flags |= UW_REC_UNSTABLE;
	r->link = bytes_field(p, obj, "link", &r->link_len);
	v = json_object_get(obj, "caps");
	if (json_is_string(v)) {
		caps = own(p, xmalloc(64));
		if (unhex(json_string_value(v), caps, 64, &len) == 0) {
			r->caps = caps;
			r->caps_len = len;
		}
	}
	return 0;
}

static struct uw_container *
read_container(struct pool *p, json_t *obj)
{
	struct uw_container *c = own(p, xmalloc(sizeof(*c)));
	struct uw_label *labels;
	json_t *lab, *v;
	const char *key;
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	c->id = str_field(p, obj, "id");
	c->name = str_field(p, obj, "name");
	c->image = str_field(p, obj, "image");
	c->image_id = str_field(p, obj, "image_id");
	c->runtime = str_field(p, obj, "runtime");
	c->pod = str_field(p, obj, "pod");
	c->pod_namespace = str_field(p, obj, "namespace");
	c->image_key = c->mount_point = c->upper = "";
	c->cgroup_v1_freezer = c->cgroup_v2 = "";
	lab = json_object_get(obj, "labels");
	labels = own(p, xmalloc((json_object_size(lab) + 1) * sizeof(*labels)));
	json_object_foreach(lab, key, v) {
		if (!json_is_string(v))
			continue;
		labels[n].key = own_str(p, key, strlen(key));
		labels[n].value = own_str(p, json_string_value(v),
		    json_string_length(v));
		n++;
	}
	c->labels = labels;
	c->label_count = n;
	return c;
}

static int
read_jsonl(struct pool *p, const char *file)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0, lineno = 0, n = 0;
	unsigned char *has = NULL;
	ssize_t len;
	json_error_t jerr;
	json_t *o, *v;
	struct bev *b;
	const char *s;
	int op, t;

	if (f == NULL) {
		fprintf(stderr, "policy_bench: %s: %s\n", file, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (len <= 1)
			continue;
		o = json_loadb(line, (size_t)len, 0, &jerr);
		if (o == NULL) {
			fprintf(stderr, "policy_bench: %s:%zu: %s\n", file,
			    lineno, jerr.text);
			goto fail;
		}
		s = json_string_value(json_object_get(o, "op"));
		op = s != NULL ? op_from_name(s) : -1;
		s = json_string_value(json_object_get(o, "type"));
		t = s != NULL ? type_from_name(s) : -1;
		if (op < 0 || t < 0) {
			fprintf(stderr, "policy_bench: %s:%zu: no valid op and "
			    "type\n", file, lineno);
			json_decref(o);
			goto fail;
		}
		b = new_event(p);
		has = realloc(has, p->alloc);
		if (has == NULL) {
			fprintf(stderr, "policy_bench: out of memory\n");
			exit(2);
		}
		has[n] = 0;
		b->category = -1;
		b->ev.op = (enum uw_op)op;
		b->ev.type = (enum uw_file_type)t;
		b->ev.path = bytes_field(p, o, "path", &b->ev.path_len);
		if (b->ev.path == NULL) {
			fprintf(stderr, "policy_bench: %s:%zu: no path\n", file,
			    lineno);
			json_decref(o);
			goto fail;
		}
		v = json_object_get(o, "current");
		if (json_is_object(v) && read_record(p, v, &b->cur) == 0)
			has[n] |= 1;
		v = json_object_get(o, "baseline");
		if (json_is_object(v) && read_record(p, v, &b->base) == 0)
			has[n] |= 2;
		b->ev.count = (uint64_t)json_integer_value(json_object_get(o,
		    "count"));
		b->ev.redirect = bytes_field(p, o, "redirect",
		    &b->ev.redirect_len);
		b->ev.metacopy = json_is_true(json_object_get(o, "metacopy"));
		v = json_object_get(o, "container");
		if (json_is_object(v))
			b->ev.container = read_container(p, v);
		b->ev.time_ns = json_integer_value(json_object_get(o, "time"));
		b->ev.id = (uint64_t)json_integer_value(json_object_get(o, "id"));
		json_decref(o);
		n++;
	}
	free(line);
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "policy_bench: %s: no events\n", file);
		free(has);
		return -1;
	}
	fix_pointers(p, has);
	free(has);
	return 0;
fail:
	free(line);
	free(has);
	fclose(f);
	return -1;
}

/* ---- the benchmark ---- */

static unsigned long notices, log_lines;

static void
on_log(const char *policy, const char *line, void *arg)
{
	(void)arg;
	if (log_lines++ < 3)
		fprintf(stderr, "policy_bench: log from %s: %s\n", policy, line);
}

static void
on_notice(const char *msg, void *arg)
{
	(void)arg;
	notices++;
	fprintf(stderr, "policy_bench: %s\n", msg);
}

static double
now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run {
	double wall, cpu;
};

static int
cmp_run(const void *a, const void *b)
{
	double x = ((const struct run *)a)->wall, y = ((const struct run *)b)->wall;

	return x < y ? -1 : x > y;
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: policy_bench [OPTIONS] POLICY_PATH...\n"
	    "\n"
	    "Loads the policy set (files or dirs of *.lua, as the daemon does)\n"
	    "and evaluates a mix of drift events N times on one thread.\n"
	    "\n"
	    "  -n, --evaluations N  timed evaluations per run (1000000)\n"
	    "  -r, --runs R         timed runs; the median is reported (3)\n"
	    "  -m, --mix M          distinct events in the generated mix (10000)\n"
	    "  -s, --seed S         seed of the generated mix (1)\n"
	    "  -e, --events FILE    the events of a JSON Lines file (the\n"
	    "                       'upperwatch events --json' format) instead\n"
	    "  --no-prefilter       run every policy on every event\n"
	    "  --packages           give the events package fields, as in a\n"
	    "                       container whose image has a package database\n"
	    "  --max-action A       the cap passed to each evaluation (kill)\n"
	    "  -h, --help           this text\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "evaluations", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "mix", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "events", required_argument, NULL, 'e' },
		{ "no-prefilter", no_argument, NULL, 'P' },
		{ "packages", no_argument, NULL, 'K' },
		{ "max-action", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned long long evals = 1000000, mix = 10000, seed = 1, runs = 3;
	unsigned long long sev[5], failed_reasons, reasons, cat[4] = { 0 };
	unsigned long long ops[6] = { 0 }, calls = 0, i, k;
	const char *events_file = NULL;
	int prefilter = 1, packages = 0, c, act;
	enum uw_action max_action = UW_ACT_KILL;
	struct uw_policy_set *set;
	struct uw_policy_limits limits;
	struct uw_verdict v;
	struct uw_error err;
	struct pool pool;
	struct run *res, med;
	size_t n, j, np;
	double t0, c0;
	char *end;

	while ((c = getopt_long(argc, argv, "n:r:m:s:e:h", longopts, NULL))
	    != -1) {
		switch (c) {
		case 'n':
		case 'r':
		case 'm':
		case 's':
			errno = 0;
			k = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg ||
			    (c != 's' && k == 0)) {
				fprintf(stderr, "policy_bench: -%c takes a "
				    "positive number, not '%s'\n", c, optarg);
				return 2;
			}
			if (c == 'n')
				evals = k;
			else if (c == 'r')
				runs = k;
			else if (c == 'm')
				mix = k;
			else
				seed = k;
			break;
		case 'e':
			events_file = optarg;
			break;
		case 'P':
			prefilter = 0;
			break;
		case 'K':
			packages = 1;
			break;
		case 'A':
			act = uw_action_from_name(optarg);
			if (act < 0) {
				fprintf(stderr, "policy_bench: --max-action "
				    "takes log, alert, pause or kill\n");
				return 2;
			}
			max_action = (enum uw_action)act;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}

	memset(&limits, 0, sizeof(limits));	/* the daemon's defaults */
	set = uw_policy_load((const char *const *)argv + optind,
	    (size_t)(argc - optind), &limits, on_log, NULL, &err);
	if (set == NULL) {
		fprintf(stderr, "policy_bench: %s\n", err.msg);
		return 2;
	}
	policy_set_notice(set, on_notice, NULL);
	np = uw_policy_count(set);

	memset(&pool, 0, sizeof(pool));
	if (events_file != NULL) {
		if (read_jsonl(&pool, events_file) < 0) {
			uw_policy_free(set);
			return 2;
		}
	} else {
		generate(&pool, (size_t)mix, seed);
	}
	if (packages)
		add_packages(&pool);
	n = pool.count;

	printf("# policy set %s: %zu policies from", uw_policy_digest(set), np);
	for (c = optind; c < argc; c++)
		printf(" %s", argv[c]);
	printf("\n");
	if (events_file != NULL)
		printf("# events: %zu from %s\n", n, events_file);
	else
		printf("# events: %zu, generated (seed %llu)\n", n, seed);
	for (j = 0; j < n; j++) {
		ops[pool.ev[j].ev.op]++;
		if (pool.ev[j].category >= 0)
			cat[pool.ev[j].category]++;
		for (k = 0; k < np; k++)
			if (!prefilter || policy_matches(set, k,
			    &pool.ev[j].ev))
				calls++;
	}
	if (events_file == NULL)
		printf("# mix: %llu noise, %llu usr, %llu etc, %llu sensitive\n",
		    cat[0], cat[1], cat[2], cat[3]);
	printf("# ops: %llu added, %llu modified, %llu metadata, %llu "
	    "deleted, %llu replaced\n", ops[1], ops[2], ops[3], ops[4],
	    ops[5]);
	printf("# prefilter %s: %.2f policy calls per event\n",
	    prefilter ? "on" : "off", (double)calls / (double)n);

	/* warm-up: one pass over the mix */
	for (j = 0; j < n; j++)
		if (policy_evaluate_all(set, &pool.ev[j].ev, prefilter,
		    max_action, &v, &err) < 0) {
			fprintf(stderr, "policy_bench: %s\n", err.msg);
			return 2;
		}

	res = xmalloc(runs * sizeof(*res));
	memset(sev, 0, sizeof(sev));
	failed_reasons = reasons = 0;
	for (k = 0; k < runs; k++) {
		t0 = now(CLOCK_MONOTONIC);
		c0 = now(CLOCK_THREAD_CPUTIME_ID);
		for (i = 0, j = 0; i < evals; i++) {
			if (policy_evaluate_all(set, &pool.ev[j].ev, prefilter,
			    max_action, &v, &err) < 0) {
				fprintf(stderr, "policy_bench: %s\n", err.msg);
				return 2;
			}
			if (k == 0) {
				sev[v.severity]++;
				reasons += v.reason_count;
				for (size_t q = 0; q < v.reason_count; q++)
					failed_reasons += v.reasons[q].failed != 0;
			}
			if (++j == n)
				j = 0;
		}
		res[k].cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0;
		res[k].wall = now(CLOCK_MONOTONIC) - t0;
		printf("# run %llu: %llu evaluations in %.3f s wall, %.3f s "
		    "CPU: %.0f/s, %.0f ns per event\n", k + 1, evals,
		    res[k].wall, res[k].cpu, (double)evals / res[k].wall,
		    res[k].wall * 1e9 / (double)evals);
	}
	printf("# verdicts (run 1): %llu info, %llu low, %llu medium, %llu "
	    "high, %llu critical; %.2f reasons per event; %llu failed "
	    "reasons; %lu quarantine notices\n", sev[0], sev[1], sev[2],
	    sev[3], sev[4], (double)reasons / (double)evals, failed_reasons,
	    notices);
	qsort(res, runs, sizeof(*res), cmp_run);
	med = res[runs / 2];
	if (runs % 2 == 0) {
		med.wall = (res[runs / 2 - 1].wall + res[runs / 2].wall) / 2;
		med.cpu = (res[runs / 2 - 1].cpu + res[runs / 2].cpu) / 2;
	}
	printf("result prefilter=%s policies=%zu set=%s events=%zu "
	    "evaluations=%llu runs=%llu wall_s=%.4f cpu_s=%.4f "
	    "evals_per_s=%.0f evals_per_cpu_s=%.0f ns_per_event=%.0f "
	    "calls_per_event=%.2f info=%llu low=%llu medium=%llu high=%llu "
	    "critical=%llu failed=%llu quarantined=%lu\n",
	    prefilter ? "on" : "off", np, uw_policy_digest(set), n, evals,
	    runs, med.wall, med.cpu, (double)evals / med.wall,
	    (double)evals / med.cpu, med.wall * 1e9 / (double)evals,
	    (double)calls / (double)n, sev[0], sev[1], sev[2], sev[3], sev[4],
	    failed_reasons, notices);

	free(res);
	uw_policy_free(set);
	for (j = 0; j < pool.owned_count; j++)
		free(pool.owned[j]);
	free(pool.owned);
	free(pool.ev);
	return 0;
}
