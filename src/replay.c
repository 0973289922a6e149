/*
 * replay.c - journaled events judged again by a candidate policy set:
 * the journal keeps each event as the JSON line the watcher wrote, which
 * is read back into a struct uw_event here.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "names.h"
#include "policy.h"
#include "store.h"
#include "util.h"

#define MAX_LABELS UW_LABEL_COUNT_MAX

/* An event read from JSON, with storage for what it points to. */
struct json_event {
	struct uw_event ev;
	struct uw_record current, baseline;
	struct uw_container ctr;
	struct uw_label labels[MAX_LABELS];
	unsigned char path[4096 + 1], cur_link[4096], base_link[4096];
	unsigned char cur_caps[64], base_caps[64];
};

static const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
from_hex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = strlen(hex), i;
	unsigned v;

	if (n % 2 != 0 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)(n / 2);
}

/* A byte string: "key_hex" when present (exact), else "key". */
static int
jbytes(const json_t *o, const char *key, unsigned char *out, size_t max)
{
	char hexkey[64];
	const char *s;
	size_t n;

	snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
	s = jstr(o, hexkey);
	if (s != NULL)
		return from_hex(s, out, max);
	s = jstr(o, key);
	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n > max)
		return -1;
	memcpy(out, s, n);
	return (int)n;
}

static enum uw_file_type
type_from(const char *name)
{
	int type = file_type_from_name(name);

	return type > 0 ? (enum uw_file_type)type : UW_TYPE_FILE;
}

static void
read_record(const json_t *o, struct uw_record *r, unsigned char *link,
    unsigned char *caps)
{
	const char *hash;
	int n;

	memset(r, 0, sizeof(*r));
	r->type = type_from(jstr(o, "type"));
	r->mode = (unsigned)json_integer_value(json_object_get(o, "mode"));
	r->uid = (uint32_t)json_integer_value(json_object_get(o, "uid"));
	r->gid = (uint32_t)json_integer_value(json_object_get(o, "gid"));
	r->size = (uint64_t)json_integer_value(json_object_get(o, "size"));
	r->mtime_ns = json_integer_value(json_object_get(o, "mtime"));
	hash = jstr(o, "hash");
	if (hash != NULL && from_hex(hash, r->hash, UW_HASH_LEN) ==
	    UW_HASH_LEN)
		r->flags |= UW_REC_HASHED;
	n = jbytes(o, "link", link, 4096);
	if (n >= 0) {
		r->link = link;
		r->link_len = (size_t)n;
	}
	if (jstr(o, "caps") != NULL) {
		n = from_hex(jstr(o, "caps"), caps, 64);
		if (n >= 0) {
			r->caps = caps;
			r->caps_len = (size_t)n;
		}
	}
}

/* Parse one journaled line; 0 or -1 when it is not an event. */
static int
read_event(const char *text, struct json_event *je, json_t **root,
    int *old_sev, int *old_act)
{
	const json_t *c, *labels, *v, *value;
	const char *key;
	json_error_t jerr;
	int n, i;

	memset(je, 0, sizeof(*je));
	*root = json_loads(text, 0, &jerr);
	if (!json_is_object(*root))
		return -1;
	for (i = UW_OP_ADDED; i <= UW_OP_ERROR; i++)
		if (jstr(*root, "op") != NULL &&
		    strcmp(jstr(*root, "op"), op_name((enum uw_op)i)) == 0)
			je->ev.op = (enum uw_op)i;
	n = jbytes(*root, "path", je->path, sizeof(je->path) - 1);
	if (je->ev.op == 0 || n <= 0)
		return -1;
	je->ev.path = je->path;
	je->ev.path_len = (size_t)n;
	je->ev.type = type_from(jstr(*root, "type"));
	je->ev.error = jstr(*root, "error");
	if (json_is_object(json_object_get(*root, "current"))) {
		read_record(json_object_get(*root, "current"), &je->current,
		    je->cur_link, je->cur_caps);
		je->current.path = je->path;
		je->current.path_len = (size_t)n;
		je->ev.current = &je->current;
	}
	if (json_is_object(json_object_get(*root, "baseline"))) {
		read_record(json_object_get(*root, "baseline"), &je->baseline,
		    je->base_link, je->base_caps);
		je->ev.baseline = &je->baseline;
	}
	je->ev.count = (uint64_t)json_integer_value(json_object_get(*root,
	    "count"));
	je->ev.time_ns = json_integer_value(json_object_get(*root, "time"));
	je->ev.id = (uint64_t)json_integer_value(json_object_get(*root, "id"));
	c = json_object_get(*root, "container");
	je->ctr.id = jstr(c, "id") ? jstr(c, "id") : "";
	je->ctr.name = jstr(c, "name") ? jstr(c, "name") : "";
	je->ctr.image = jstr(c, "image") ? jstr(c, "image") : "";
	je->ctr.image_id = jstr(c, "image_id") ? jstr(c, "image_id") : "";
	je->ctr.runtime = jstr(c, "runtime") ? jstr(c, "runtime") : "";
	je->ctr.pod = jstr(c, "pod") ? jstr(c, "pod") : "";
	je->ctr.pod_namespace = jstr(c, "namespace") ? jstr(c, "namespace") : "";
	je->ctr.image_key = je->ctr.upper = je->ctr.mount_point = "";
	je->ctr.cgroup_v1_freezer = je->ctr.cgroup_v2 = "";
	labels = json_object_get(c, "labels");
	je->ctr.labels_truncated = json_is_true(json_object_get(c,
	    "labels_truncated"));
	json_object_foreach((json_t *)labels, key, value) {
		if (je->ctr.label_count == MAX_LABELS ||
		    !json_is_string(value)) {
			/* (the engine cuts values and bytes again) */
			je->ctr.labels_truncated = 1;
			continue;
		}
		je->labels[je->ctr.label_count].key = key;
		je->labels[je->ctr.label_count].value =
		    json_string_value(value);
		je->ctr.label_count++;
	}
	je->ctr.labels = je->labels;
	je->ev.container = &je->ctr;
	v = json_object_get(*root, "verdict");
	*old_sev = json_is_object(v) ? severity_from_name(jstr(v,
	    "severity")) : -1;
	*old_act = json_is_object(v) ? action_from_name(jstr(v,
	    "action")) : -1;
	return 0;
}

struct replay {
	struct uw_policy_set *set;
	enum uw_action max_action;
	int (*cb)(const struct uw_journal_entry *e, int old_severity,
	    int old_action, const struct uw_verdict *now, void *arg);
	void *arg;
	struct uw_error *err;
	struct json_event je;
};

static int
replay_one(uint64_t id, int64_t time_ns, const char *container,
    const char *op, const unsigned char *path, size_t path_len,
    const char *detail, void *arg)
{
	struct replay *r = arg;
	struct uw_journal_entry e;
	struct uw_verdict v;
	json_t *root = NULL;
	int old_sev, old_act, rc;

	e.id = id;
	e.time_ns = time_ns;
	e.container = container ? container : "";
	e.op = op ? op : "";
	e.path = path;
	e.path_len = path_len;
	e.json = detail ? detail : "{}";
	if (read_event(e.json, &r->je, &root, &old_sev, &old_act) < 0) {
		json_decref(root);
		return 0;	/* not an event we can judge: skip */
	}
	rc = policy_evaluate(r->set, &r->je.ev, r->max_action, &v, r->err);
	if (rc == 0)
		rc = r->cb(&e, old_sev, old_act, &v, r->arg);
	json_decref(root);
	return rc;
}

int
policy_replay(struct store *store, struct uw_policy_set *set,
    const char *container, int64_t since_ns, enum uw_action max_action,
    int (*cb)(const struct uw_journal_entry *e, int old_severity,
    int old_action, const struct uw_verdict *now, void *arg), void *arg,
    struct uw_error *err)
{
	struct replay *r;
	int rc;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return seterr(err, -ENOMEM, "out of memory");
	r->set = set;
	r->max_action = max_action;
	r->cb = cb;
	r->arg = arg;
	r->err = err;
	rc = store_events_foreach(store, container, since_ns, NULL,
	    replay_one, r, err);
	free(r);
	return rc;
}

/* ---- status ---- */

/* A string a container may have chosen (a name, an id), escaped, in a
 * column of `width` (0: as long as it is), cut when longer. */
static void
print_str(FILE *out, const char *s, int width)
{
	char buf[256];
	size_t n;

	if (s == NULL)
		s = "";
	n = escape_to_buf(buf, width > 0 && (size_t)width < sizeof(buf) ?
	    (size_t)width + 1 : sizeof(buf), (const unsigned char *)s,
	    strlen(s), NULL);
	fputs(buf, out);
	for (; width > 0 && n < (size_t)width; n++)
		fputc(' ', out);
}

UW_API int
uw_status_print(const char *db_path, FILE *out, int json,
    struct uw_error *err)
{
	const char *slash = strrchr(db_path, '/');
	char path[4096], when[64];
	const json_t *c, *cs, *ds;
	json_error_t jerr;
	json_t *st = NULL;
	time_t t;
	struct tm tm;
	size_t i;
	int running;
	long long pid;

	snprintf(path, sizeof(path), "%.*sstatus.json", slash != NULL ?
	    (int)(slash - db_path + 1) : 0, db_path);
	/* Rewritten in place when the disk is full: a read may meet half a
	 * write, so try again a moment later. */
	for (i = 0; i < 5; i++) {
		st = json_load_file(path, 0, &jerr);
		if (json_is_object(st) || access(path, F_OK) != 0)
			break;
		json_decref(st);
		st = NULL;
		usleep(20000);
	}
	if (!json_is_object(st)) {
		json_decref(st);
		return seterr(err, -ENOENT, "%s: no status (is the daemon "
		    "running with this database?)", path);
	}
	pid = json_integer_value(json_object_get(st, "pid"));
	running = pid > 0 && kill((pid_t)pid, 0) == 0;
	if (json) {
		json_object_set_new(st, "running", json_boolean(running));
		json_dumpf(st, out, JSON_COMPACT);
		fputc('\n', out);
		json_decref(st);
		return running ? 0 : 1;
	}
	t = (time_t)(json_integer_value(json_object_get(st, "updated")) /
	    1000000000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "daemon:          %s (status of %s)\n", running ?
	    "running" : "not running", when);
	if (running)
		fprintf(out, "pid:             %lld\n", pid);
	cs = json_object_get(st, "containers");
	fprintf(out, "containers:      %zu watched\n", json_array_size(cs));
	fprintf(out, "watches:         %lld of %lld (fs.inotify."
	    "max_user_watches)\n",
	    json_integer_value(json_object_get(st, "watches")),
	    json_integer_value(json_object_get(st, "watch_limit")));
	fprintf(out, "events:          %lld, %.1f/s lately\n",
	    json_integer_value(json_object_get(st, "events_total")),
	    json_real_value(json_object_get(st, "events_per_second")));
	fprintf(out, "alerts:          %lld sent, %lld dropped, %lld held "
	    "back, %lld queued\n",
	    json_integer_value(json_object_get(st, "alerts_sent")),
	    json_integer_value(json_object_get(st, "alerts_dropped")),
	    json_integer_value(json_object_get(st, "alerts_suppressed")),
	    json_integer_value(json_object_get(st, "alerts_queued")));
	fprintf(out, "responses:       %lld done, %lld failed\n",
	    json_integer_value(json_object_get(st, "responses_done")),
	    json_integer_value(json_object_get(st, "responses_failed")));
	fprintf(out, "policy set:      %s\n",
	    json_string_value(json_object_get(st, "policy_set")) ?
	    json_string_value(json_object_get(st, "policy_set")) : "-");
	t = (time_t)(json_integer_value(json_object_get(st, "last_rescan")) /
	    1000000000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "last rescan:     %s\n", t > 0 ? when : "-");
	fprintf(out, "journal:         %s\n", json_is_false(json_object_get(st,
	    "journal_ok")) ? "cannot write (see below)" : "ok");
	ds = json_object_get(st, "degraded");
	fprintf(out, "coverage:        %s\n", json_array_size(ds) > 0 ?
	    "DEGRADED" : "full");
	for (i = 0; i < json_array_size(ds); i++) {
		fputs("  - ", out);
		print_str(out, json_string_value(json_array_get(ds, i)), 0);
		fputc('\n', out);
	}
	for (i = 0; i < json_array_size(cs); i++) {
		c = json_array_get(cs, i);
		fputs("  ", out);
		print_str(out, json_string_value(json_object_get(c, "id")), 12);
		fputc(' ', out);
		print_str(out, json_string_value(json_object_get(c, "name")),
		    20);
		fprintf(out, " %-8s %6lld watches%s%s%s\n",
		    json_string_value(json_object_get(c, "runtime")),
		    json_integer_value(json_object_get(c, "watches")),
		    json_is_true(json_object_get(c, "rescan_only")) ?
		    " (over a watch limit: rescans)" : "",
		    json_object_get(c, "degraded") != NULL ? " (degraded)" : "",
		    json_is_true(json_object_get(c, "paused")) ?
		    " (paused)" : "");
	}
	json_decref(st);
	return running ? 0 : 1;
}
