/*
 * discover.c - every container on the host, from files alone.
 *
 * The mount table gives the overlay mounts that have an upper dir; where
 * each one is mounted tells whose it is:
 *   /run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/rootfs
 *       containerd (and CRI; any state dir): the bundle's config.json
 *       and init.pid, and the image's digest from containerd's metadata
 *       (containerd.c);
 *   /var/lib/docker/overlay2/<mount-id>/merged
 *       Docker: layerdb/mounts/<id>/mount-id names the container, whose
 *       config.v2.json gives its name, image and labels;
 *   /var/lib/containers/storage/overlay/<layer>/merged
 *       Podman and CRI-O: containers.json maps the layer to the container;
 * and any runc or crun state whose rootfs is the mount point adds the
 * init pid, cgroups and OCI annotations.  An overlay nobody claims is
 * still listed, as runtime "unknown": nothing is watched blind.  No engine
 * socket is needed.  Every file read here may be damaged or hostile:
 * sizes are capped and missing fields are just unknown.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "containerd.h"
#include "discover.h"
#include "mountinfo.h"
#include "util.h"

#define MAX_JSON_BYTES (16u << 20)
#define MAX_LABELS UW_LABEL_COUNT_MAX

#define CONTAINERD_TASKS "/io.containerd.runtime.v2.task/"
#define DOCKER_OVERLAY2 "/var/lib/docker/overlay2/"
#define DOCKER_ROOT "/var/lib/docker"
#define PODMAN_OVERLAY "/var/lib/containers/storage/overlay/"
#define PODMAN_ROOT "/var/lib/containers/storage"

/* A container being put together; every string is owned. */
struct ctr {
	char *id, *name, *runtime, *image, *image_id, *pod, *ns;
	int pid;
	char *v1_freezer, *v2;
	struct uw_label labels[MAX_LABELS];
	size_t label_count;
	struct label_caps caps;	/* what the labels took */
};

struct disc {
	const char *root;		/* "" for "/" */
	struct mountinfo_table mounts;
	json_t *runc_states;		/* array of state.json objects */
	json_t *crun_states;		/* array of status objects */
	json_t *podman_containers;	/* containers.json */
	struct containerd_cache containerd;	/* images resolved */
};

static void
set(char **field, const char *value)
{
	if (value == NULL)
		return;
	free(*field);
	*field = strdup(value);
}

static void
ctr_free(struct ctr *c)
{
	size_t i;

	free(c->id);
	free(c->name);
	free(c->runtime);
	free(c->image);
	free(c->image_id);
	free(c->pod);
	free(c->ns);
	free(c->v1_freezer);
	free(c->v2);
	for (i = 0; i < c->label_count; i++) {
		free((char *)c->labels[i].key);
		free((char *)c->labels[i].value);
	}
	memset(c, 0, sizeof(*c));
}

/* Keep a label, within the caps a container's owner cannot push past
 * (label_fit); the container says when some were cut. */
static void
add_label(struct ctr *c, const char *key, size_t key_len, const char *value)
{
	size_t i, vlen;
	char *k, *v;

	for (i = 0; i < c->label_count; i++)
		if (strlen(c->labels[i].key) == key_len &&
		    memcmp(c->labels[i].key, key, key_len) == 0)
			return;	/* the first source wins */
	if (!label_fit(&c->caps, key_len, value, &vlen))
		return;
	k = strndup(key, key_len);
	v = strndup(value, vlen);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		c->caps.truncated = 1;
		return;
	}
	c->labels[c->label_count].key = k;
	c->labels[c->label_count].value = v;
	c->label_count++;
}

static const char *
label(const struct ctr *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->label_count; i++)
		if (strcmp(c->labels[i].key, key) == 0)
			return c->labels[i].value;
	return NULL;
}

/* root + path, in buf. */
static const char *
host_path(const struct disc *d, char *buf, size_t len, const char *fmt, ...)
    UW_PRINTF(4, 5);

static const char *
host_path(const struct disc *d, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	n = (size_t)snprintf(buf, len, "%s", d->root);
	if (n >= len)
		return NULL;
	va_start(ap, fmt);
	n += (size_t)vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return n < len ? buf : NULL;
}

/* Load a JSON file no bigger than MAX_JSON_BYTES; NULL if absent or bad. */
static json_t *
load_json(const char *path)
{
	struct stat st;
	json_error_t jerr;

	if (path == NULL || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_JSON_BYTES)
		return NULL;
	return json_load_file(path, JSON_DECODE_ANY, &jerr);
}

static const char *
jstr(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
jint(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) < INT32_MAX ? (int)json_integer_value(v) : 0;
}

/* Read a small text file (an id, a pid) without its trailing newline. */
static char *
read_small(const char *path)
{
	char buf[256];
	FILE *f;
	size_t n;

	if (path == NULL)
		return NULL;
	f = fopen(path, "re");
	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return strdup(buf);
}

/* Every <dir>/<name>/<file> JSON object, in an array. */
static json_t *
load_state_dir(const struct disc *d, const char *dir, const char *file)
{
	char path[PATH_MAX], sub[PATH_MAX];
	json_t *all, *one;
	struct dirent *de;
	DIR *dh;

	all = json_array();
	if (host_path(d, path, sizeof(path), "%s", dir) == NULL)
		return all;
	dh = opendir(path);
	if (dh == NULL)
		return all;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s/%s", path,
		    de->d_name, file) >= sizeof(sub))
			continue;
		one = load_json(sub);
		if (json_is_object(one)) {
			json_object_set_new(one, "_dir",
			    json_string(de->d_name));
			json_array_append_new(all, one);
		} else {
			json_decref(one);
		}
	}
	closedir(dh);
	return all;
}

/* OCI annotations ({"k": "v"}) into labels. */
static void
add_annotations(struct ctr *c, const json_t *annotations)
{
	const char *key;
	json_t *value;

	if (!json_is_object(annotations))
		return;
	json_object_foreach((json_t *)annotations, key, value)
		if (json_is_string(value))
			add_label(c, key, strlen(key),
			    json_string_value(value));
}

/* Pod and namespace from the annotation sets runtimes write. */
static void
pod_from_labels(struct ctr *c)
{
	static const char *const pods[] = {
		"io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name",
		"io.kubernetes.cri-o.SandboxName", NULL
	};
	static const char *const nss[] = {
		"io.kubernetes.cri.sandbox-namespace",
		"io.kubernetes.pod.namespace", NULL
	};
	const char *v;
	int i;

	for (i = 0; pods[i] != NULL && c->pod == NULL; i++)
		if ((v = label(c, pods[i])) != NULL)
			set(&c->pod, v);
	for (i = 0; nss[i] != NULL && c->ns == NULL; i++)
		if ((v = label(c, nss[i])) != NULL)
			set(&c->ns, v);
}

/* A runc state.json whose rootfs is the mount point: pid, cgroups,
 * annotations (config.labels: "bundle=...", "key=value"). */
static void
from_runc(const struct disc *d, struct ctr *c, const char *mount_point)
{
	const json_t *st, *cfg, *cg, *labels, *l;
	const char *rootfs, *s, *eq, *v1;
	size_t i, j;

	json_array_foreach(d->runc_states, i, st) {
		cfg = json_object_get(st, "config");
		rootfs = jstr(cfg, "rootfs");
		if (rootfs == NULL || strcmp(rootfs, mount_point) != 0)
			continue;
		if (c->runtime == NULL)
			set(&c->runtime, "runc");
		if (c->id == NULL)
			set(&c->id, jstr(st, "id"));
		if (c->pid == 0)
			c->pid = jint(st, "init_process_pid");
		cg = json_object_get(st, "cgroup_paths");
		v1 = jstr(cg, "freezer");
		if (v1 != NULL && c->v1_freezer == NULL)
			set(&c->v1_freezer, v1);
		if (jstr(cg, "") != NULL && c->v2 == NULL)
			set(&c->v2, jstr(cg, ""));
		labels = json_object_get(cfg, "labels");
		json_array_foreach(labels, j, l) {
			s = json_string_value(l);
			if (s == NULL || (eq = strchr(s, '=')) == NULL)
				continue;
			if ((size_t)(eq - s) == 6 && memcmp(s, "bundle", 6) == 0)
				continue;
			add_label(c, s, (size_t)(eq - s), eq + 1);
		}
		return;
	}
}

static void
from_crun(const struct disc *d, struct ctr *c, const char *mount_point)
{
	const json_t *st;
	const char *rootfs;
	size_t i;

	json_array_foreach(d->crun_states, i, st) {
		rootfs = jstr(st, "rootfs");
		if (rootfs == NULL || strcmp(rootfs, mount_point) != 0)
			continue;
		if (c->runtime == NULL)
			set(&c->runtime, "crun");
		if (c->id == NULL)
			set(&c->id, jstr(st, "_dir"));
		if (c->pid == 0)
			c->pid = jint(st, "pid");
		return;
	}
}

/*
 * <state>/io.containerd.runtime.v2.task/<ns>/<id>/rootfs, the state dir
 * being /run/containerd, or another one (k3s: /run/k3s/containerd).  The
 * image's digest comes from containerd's root, which is where the upper
 * dir is: <root>/io.containerd.snapshotter.v1.overlayfs/snapshots/<N>/fs.
 */
static int
from_containerd(struct disc *d, struct ctr *c,
    const struct mountinfo_entry *m)
{
	char path[PATH_MAX], bundle[PATH_MAX], ns[256], id[256];
	char root[PATH_MAX], digest[UW_DIGEST_MAX], image[512] = "";
	const char *mp = m->mount_point, *rest, *slash, *slash2, *at;
	json_t *cfg;
	char *pid;

	rest = strstr(mp, CONTAINERD_TASKS);
	if (rest == NULL)
		return 0;
	rest += strlen(CONTAINERD_TASKS);
	slash = strchr(rest, '/');
	if (slash == NULL || (size_t)(slash - rest) >= sizeof(ns))
		return 0;
	slash2 = strchr(slash + 1, '/');
	if (slash2 == NULL || strcmp(slash2, "/rootfs") != 0 ||
	    (size_t)(slash2 - slash - 1) >= sizeof(id) ||
	    (size_t)(slash2 - mp) >= sizeof(bundle))
		return 0;
	memcpy(ns, rest, (size_t)(slash - rest));
	ns[slash - rest] = '\0';
	memcpy(id, slash + 1, (size_t)(slash2 - slash - 1));
	id[slash2 - slash - 1] = '\0';
	memcpy(bundle, mp, (size_t)(slash2 - mp));
	bundle[slash2 - mp] = '\0';
	set(&c->runtime, "containerd");
	set(&c->id, id);
	cfg = load_json(host_path(d, path, sizeof(path), "%s/config.json",
	    bundle));
	add_annotations(c, json_object_get(cfg, "annotations"));
	json_decref(cfg);
	set(&c->name, label(c, "io.kubernetes.cri.container-name"));
	set(&c->image, label(c, "io.kubernetes.cri.image-name"));
	pid = read_small(host_path(d, path, sizeof(path), "%s/init.pid",
	    bundle));
	if (pid != NULL)
		c->pid = atoi(pid);
	free(pid);
	add_label(c, "containerd.namespace", 20, ns);
	if (m->upper != NULL && m->upper[0] == '/' &&
	    (at = strstr(m->upper, CONTAINERD_SNAPSHOTS)) != NULL &&
	    host_path(d, root, sizeof(root), "%.*s", (int)(at - m->upper),
	    m->upper) != NULL &&
	    containerd_image(&d->containerd, root, ns, id, image,
	    sizeof(image), digest))
		set(&c->image_id, digest);
	if (c->image == NULL && image[0] != '\0')
		set(&c->image, image);
	return 1;
}

/* /var/lib/docker/overlay2/<mount-id>/merged */
static int
from_docker(const struct disc *d, struct ctr *c, const char *mp)
{
	char path[PATH_MAX], mount_id[256], *mid;
	const char *rest = mp + strlen(DOCKER_OVERLAY2), *slash;
	const json_t *config, *st;
	struct dirent *de;
	json_t *cfg;
	DIR *dh;

	slash = strchr(rest, '/');
	if (slash == NULL || strcmp(slash, "/merged") != 0 ||
	    (size_t)(slash - rest) >= sizeof(mount_id))
		return 0;
	memcpy(mount_id, rest, (size_t)(slash - rest));
	mount_id[slash - rest] = '\0';
	set(&c->runtime, "docker");
	if (host_path(d, path, sizeof(path), "%s",
	    DOCKER_ROOT "/image/overlay2/layerdb/mounts") == NULL)
		return 1;
	dh = opendir(path);
	if (dh == NULL)
		return 1;
	while (c->id == NULL && (de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		mid = read_small(host_path(d, path, sizeof(path), "%s/%s/"
		    "mount-id", DOCKER_ROOT "/image/overlay2/layerdb/mounts",
		    de->d_name));
		if (mid != NULL && strcmp(mid, mount_id) == 0)
			set(&c->id, de->d_name);
		free(mid);
	}
	closedir(dh);
	if (c->id == NULL)
		return 1;
	cfg = load_json(host_path(d, path, sizeof(path),
	    "%s/containers/%s/config.v2.json", DOCKER_ROOT, c->id));
	if (cfg != NULL) {
		const char *name = jstr(cfg, "Name");

		set(&c->name, name && name[0] == '/' ? name + 1 : name);
		set(&c->image_id, jstr(cfg, "Image"));
		config = json_object_get(cfg, "Config");
		set(&c->image, jstr(config, "Image"));
		add_annotations(c, json_object_get(config, "Labels"));
		st = json_object_get(cfg, "State");
		c->pid = jint(st, "Pid");
	}
	json_decref(cfg);
	return 1;
}

/* /var/lib/containers/storage/overlay/<layer>/merged */
static int
from_podman(const struct disc *d, struct ctr *c, const char *mp)
{
	char path[PATH_MAX], layer[256];
	const char *rest = mp + strlen(PODMAN_OVERLAY), *slash, *meta;
	const json_t *e, *names;
	json_t *cfg, *m;
	size_t i;

	slash = strchr(rest, '/');
	if (slash == NULL || strcmp(slash, "/merged") != 0 ||
	    (size_t)(slash - rest) >= sizeof(layer))
		return 0;
	memcpy(layer, rest, (size_t)(slash - rest));
	layer[slash - rest] = '\0';
	json_array_foreach(d->podman_containers, i, e) {
		if (jstr(e, "layer") == NULL ||
		    strcmp(jstr(e, "layer"), layer) != 0)
			continue;
		set(&c->runtime, "podman");
		set(&c->id, jstr(e, "id"));
		names = json_object_get(e, "names");
		set(&c->name, json_string_value(json_array_get(names, 0)));
		set(&c->image_id, jstr(e, "image"));
		meta = jstr(e, "metadata");
		m = meta ? json_loads(meta, 0, NULL) : NULL;
		set(&c->image, jstr(m, "image-name"));
		json_decref(m);
		if (c->id == NULL)
			return 1;
		cfg = load_json(host_path(d, path, sizeof(path),
		    "%s/overlay-containers/%s/userdata/config.json",
		    PODMAN_ROOT, c->id));
		add_annotations(c, json_object_get(cfg, "annotations"));
		json_decref(cfg);
		return 1;
	}
	return 0;
}

/* The cgroup dirs of `pid`, from /proc/<pid>/cgroup and the mount table:
 * the v1 freezer hierarchy and the v2 unified one. */
static void
cgroups_of(const struct disc *d, struct ctr *c)
{
	char path[PATH_MAX], line[4096], dir[PATH_MAX];
	const struct mountinfo_entry *m;
	char *ctrl, *rel;
	size_t i;
	FILE *f;

	if (c->pid <= 0 || (c->v1_freezer != NULL && c->v2 != NULL))
		return;
	f = fopen(host_path(d, path, sizeof(path), "/proc/%d/cgroup",
	    c->pid), "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		ctrl = strchr(line, ':');
		if (ctrl == NULL)
			continue;
		*ctrl++ = '\0';
		rel = strchr(ctrl, ':');
		if (rel == NULL)
			continue;
		*rel++ = '\0';
		for (i = 0; i < d->mounts.count; i++) {
			m = &d->mounts.v[i];
			if (ctrl[0] == '\0' && strcmp(line, "0") == 0 &&
			    strcmp(m->fstype, "cgroup2") == 0 && c->v2 == NULL) {
				snprintf(dir, sizeof(dir), "%s%s",
				    m->mount_point, strcmp(rel, "/") == 0 ?
				    "" : rel);
				set(&c->v2, dir);
			} else if (strcmp(m->fstype, "cgroup") == 0 &&
			    c->v1_freezer == NULL &&
			    strstr(ctrl, "freezer") != NULL &&
			    strstr(m->super_opts, "freezer") != NULL) {
				snprintf(dir, sizeof(dir), "%s%s",
				    m->mount_point, rel);
				set(&c->v1_freezer, dir);
			}
		}
	}
	fclose(f);
}

void
discover_image_key(const char *const *lower, size_t count, char *out)
{
	XXH3_state_t state;
	size_t i;

	XXH3_64bits_reset(&state);
	for (i = 0; i < count; i++)
		XXH3_64bits_update(&state, lower[i], strlen(lower[i]) + 1);
	snprintf(out, 24, "stack:%016llx",
	    (unsigned long long)XXH3_64bits_digest(&state));
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
emit(struct disc *d, struct mountinfo_entry *m,
    int (*cb)(const struct uw_container *c, void *arg), void *arg)
{
	struct uw_container uc;
	struct ctr c;
	char home[PATH_MAX], key[24];
	char **real = NULL;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	/* Relative layer paths (Docker, Podman) are relative to the
	 * driver home: two levels above the mount point. */
	snprintf(home, sizeof(home), "%s", m->mount_point);
	for (i = 0; i < 2; i++)
		if (strrchr(home, '/') != NULL)
			*strrchr(home, '/') = '\0';
	if (m->upper != NULL && m->upper[0] != '/' &&
	    mountinfo_resolve_relative(m, home) < 0) {
		/* Left as printed: still listed, never watched blind. */
	}

	if (strstr(m->mount_point, CONTAINERD_TASKS) != NULL)
		from_containerd(d, &c, m);
	else if (starts_with(m->mount_point, DOCKER_OVERLAY2))
		from_docker(d, &c, m->mount_point);
	else if (starts_with(m->mount_point, PODMAN_OVERLAY))
		from_podman(d, &c, m->mount_point);
	from_runc(d, &c, m->mount_point);
	from_crun(d, &c, m->mount_point);
	if (c.runtime == NULL)
		set(&c.runtime, "unknown");
	if (c.id == NULL)
		set(&c.id, m->mount_point);
	if (c.name == NULL)
		set(&c.name, label(&c, "io.kubernetes.container.name") ?
		    label(&c, "io.kubernetes.container.name") : c.id);
	pod_from_labels(&c);
	cgroups_of(d, &c);

	/* The key: the real paths of the stack, so that containers of one
	 * image share one baseline however their mounts spell it. */
	real = calloc(m->lower_count + 1, sizeof(*real));
	for (i = 0; real != NULL && i < m->lower_count; i++) {
		real[i] = realpath(m->lower[i], NULL);
		if (real[i] == NULL)
			real[i] = strdup(m->lower[i]);
	}
	if (real != NULL)
		discover_image_key((const char *const *)real, m->lower_count,
		    key);
	else
		snprintf(key, sizeof(key), "stack:unknown");

	memset(&uc, 0, sizeof(uc));
	uc.id = c.id ? c.id : "";
	uc.name = c.name ? c.name : "";
	uc.runtime = c.runtime ? c.runtime : "";
	uc.image = c.image ? c.image : "";
	uc.image_id = c.image_id ? c.image_id : "";
	uc.image_key = key;
	uc.pod = c.pod ? c.pod : "";
	uc.pod_namespace = c.ns ? c.ns : "";
	uc.pid = c.pid;
	uc.mount_point = m->mount_point;
	uc.upper = m->upper;
	uc.lower = (const char *const *)(real ? real : m->lower);
	uc.lower_count = m->lower_count;
	uc.overlay_flags = m->ov_flags;
	uc.overlay_follow = discover_overlay_flags(m);
	uc.cgroup_v1_freezer = c.v1_freezer ? c.v1_freezer : "";
	uc.cgroup_v2 = c.v2 ? c.v2 : "";
	uc.labels = c.labels;
	uc.label_count = c.label_count;
	uc.labels_truncated = c.caps.truncated;
	rc = cb(&uc, arg);
	for (i = 0; real != NULL && i < m->lower_count; i++)
		free(real[i]);
	free(real);
	ctr_free(&c);
	return rc;
}

/* A Y/N parameter of the overlay module: 1, 0, or `dflt` unknown. */
static int
module_param(const char *name, int dflt)
{
	char path[128];
	char *text;
	int v = dflt;

	snprintf(path, sizeof(path), "/sys/module/overlay/parameters/%s",
	    name);
	text = read_small(path);
	if (text != NULL && (text[0] == 'Y' || text[0] == 'N'))
		v = text[0] == 'Y';
	free(text);
	return v;
}

/*
 * What a mount's options mean as the kernel applies them
 * (fs/overlayfs/params.c): an option not shown takes the module's default;
 * redirect_dir=off still follows redirects when redirect_always_follow is
 * set; userxattr follows neither metacopy nor redirects.
 */
unsigned
discover_overlay_flags(const struct mountinfo_entry *m)
{
	unsigned flags = m->ov_flags & ~(unsigned)(MOUNTINFO_OV_METACOPY |
	    MOUNTINFO_OV_REDIRECT_DIR);
	int metacopy, follow;

	if (m->ov_flags & MOUNTINFO_OV_USERXATTR)
		return flags;
	switch (m->ov_metacopy) {
	case MOUNTINFO_OPT_ON:
		metacopy = 1;
		break;
	case MOUNTINFO_OPT_OFF:
		metacopy = 0;
		break;
	default:
		metacopy = module_param("metacopy", 0);
	}
	switch (m->ov_redirect) {
	case MOUNTINFO_REDIRECT_ON:
	case MOUNTINFO_REDIRECT_FOLLOW:
		follow = 1;
		break;
	case MOUNTINFO_REDIRECT_NOFOLLOW:
		follow = 0;
		break;
	case MOUNTINFO_REDIRECT_OFF:
		follow = module_param("redirect_always_follow", 1);
		break;
	default:
		follow = module_param("redirect_dir", 0) ||
		    module_param("redirect_always_follow", 1);
	}
	if (metacopy)
		flags |= UW_OVERLAY_METACOPY;
	if (follow)
		flags |= UW_OVERLAY_REDIRECT_DIR;
	return flags;
}

int
discover_overlay_flags_for_upper(const char *upper, unsigned *flags,
    struct uw_error *err)
{
	struct mountinfo_table t;
	char *want, *have;
	size_t i;
	int rc = -ENOENT;

	memset(&t, 0, sizeof(t));
	want = realpath(upper, NULL);
	if (want == NULL)
		return seterr(err, -errno, "%s: %s", upper, strerror(errno));
	rc = mountinfo_read(NULL, &t);
	if (rc < 0) {
		rc = seterr(err, rc, "/proc/self/mountinfo: %s",
		    strerror(-rc));
		goto out;
	}
	rc = -ENOENT;
	for (i = 0; i < t.count && rc == -ENOENT; i++) {
		if (strcmp(t.v[i].fstype, "overlay") != 0 ||
		    t.v[i].upper == NULL)
			continue;
		have = realpath(t.v[i].upper, NULL);
		if (have != NULL && strcmp(have, want) == 0) {
			*flags = discover_overlay_flags(&t.v[i]);
			rc = 0;
		}
		free(have);
	}
	if (rc == -ENOENT)
		seterr(err, rc, "%s: no overlay mounted with this upper dir",
		    upper);
out:
	free(want);
	mountinfo_table_free(&t);
	return rc;
}

int
discover_foreach(const struct uw_discover_opts *opts,
    int (*cb)(const struct uw_container *c, void *arg), void *arg,
    size_t *malformed, struct uw_error *err)
{
	struct disc d;
	char path[PATH_MAX];
	size_t i;
	int rc;

	memset(&d, 0, sizeof(d));
	d.root = opts != NULL && opts->root != NULL ? opts->root : "";
	if (strcmp(d.root, "/") == 0)
		d.root = "";
	rc = mountinfo_read(opts != NULL ? opts->mountinfo : NULL, &d.mounts);
	if (rc < 0) {
		rc = seterr(err, rc, "%s: %s", opts && opts->mountinfo ?
		    opts->mountinfo : "/proc/self/mountinfo", strerror(-rc));
		goto out;
	}
	if (malformed != NULL)
		*malformed = d.mounts.malformed;
	d.runc_states = load_state_dir(&d, "/run/runc", "state.json");
	d.crun_states = load_state_dir(&d, "/run/crun", "status");
	d.podman_containers = load_json(host_path(&d, path, sizeof(path),
	    "%s/overlay-containers/containers.json", PODMAN_ROOT));
	for (i = 0; i < d.mounts.count; i++) {
		struct mountinfo_entry *m = &d.mounts.v[i];

		if (strcmp(m->fstype, "overlay") != 0 || m->upper == NULL)
			continue;
		rc = emit(&d, m, cb, arg);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(d.runc_states);
	json_decref(d.crun_states);
	json_decref(d.podman_containers);
	containerd_cache_free(&d.containerd);
	mountinfo_table_free(&d.mounts);
	return rc;
}
