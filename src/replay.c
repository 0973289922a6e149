/*
 * replay.c - journaled events judged again by a candidate policy set:
 * the journal keeps each event as the JSON line the watcher wrote, which
 * is read back into a struct uw_event here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "names.h"
#include "ocsf.h"
#include "policy.h"
#include "store.h"
#include "util.h"

#define MAX_LABELS UW_LABEL_COUNT_MAX
#define MAX_REASONS 64		/* of a journaled verdict, read back */
#define MAX_TAGS 256		/* over its reasons */

/* An event read from JSON, with storage for what it points to. */
struct json_event {
	struct uw_event ev;
	struct uw_record current, baseline;
	struct uw_container ctr;
	struct uw_label labels[MAX_LABELS];
	struct uw_package pkg;
	struct uw_verdict verdict;	/* as journaled (read_verdict) */
	struct uw_reason reasons[MAX_REASONS];
	const char *tags[MAX_TAGS];
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
	return hex_decode(hex, strnlen(hex, 2 * max + 1), out, max);
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

/* The verdict as journaled, into je->verdict (its strings are root's):
 * for writers of other formats (OCSF), not for replay, which judges
 * again.  NULL when the line has none. */
static const struct uw_verdict *
read_verdict(const json_t *v, struct json_event *je)
{
	const json_t *rs = json_object_get(v, "reasons"), *r, *tags, *t;
	size_t i, k, ntags = 0;
	int sev = severity_from_name(jstr(v, "severity"));
	int act = action_from_name(jstr(v, "action"));

	if (!json_is_object(v) || sev < 0 || act < 0)
		return NULL;
	memset(&je->verdict, 0, sizeof(je->verdict));
	je->verdict.severity = (enum uw_severity)sev;
	je->verdict.action = je->verdict.wanted = (enum uw_action)act;
	je->verdict.policy_set = jstr(v, "policy_set");
	je->verdict.reasons = je->reasons;
	json_array_foreach((json_t *)rs, i, r) {
		struct uw_reason *out = &je->reasons[je->verdict.reason_count];

		if (je->verdict.reason_count == MAX_REASONS)
			break;
		memset(out, 0, sizeof(*out));
		out->policy = jstr(r, "policy");
		sev = severity_from_name(jstr(r, "severity"));
		act = action_from_name(jstr(r, "action"));
		out->severity = sev < 0 ? UW_SEV_INFO : (enum uw_severity)sev;
		out->action = act < 0 ? UW_ACT_LOG : (enum uw_action)act;
		out->reason = jstr(r, "reason");
		out->failed = json_is_true(json_object_get(r, "failed"));
		out->tags = je->tags + ntags;
		tags = json_object_get(r, "tags");
		json_array_foreach((json_t *)tags, k, t) {
			if (ntags == MAX_TAGS || !json_is_string(t))
				break;
			je->tags[ntags++] = json_string_value(t);
			out->tag_count++;
		}
		je->verdict.reason_count++;
	}
	return &je->verdict;
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
	for (i = UW_OP_ADDED; i <= UW_OP_EXEC; i++)
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
	i = package_check_from_name(jstr(*root, "package_check"));
	je->ev.package_check = i > 0 ? (enum uw_package_check)i : UW_PKG_NONE;
	v = json_object_get(*root, "package");
	if (je->ev.package_check != UW_PKG_NONE && json_is_object(v) &&
	    jstr(v, "manager") != NULL) {
		je->pkg.manager = jstr(v, "manager");
		je->pkg.database = json_is_true(json_object_get(v, "database"));
		je->pkg.name = jstr(v, "name") ? jstr(v, "name") : "";
		je->pkg.version = jstr(v, "version") ? jstr(v, "version") : "";
		je->ev.package = &je->pkg;
	}
	je->ev.incident = (uint64_t)json_integer_value(json_object_get(*root,
	    "incident"));
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

int
replay_write_ocsf(FILE *out, const char *json_line)
{
	struct json_event *je = malloc(sizeof(*je));
	json_t *root = NULL;
	int old_sev, old_act, rc = -EINVAL;

	if (je == NULL)
		return -ENOMEM;
	if (read_event(json_line, je, &root, &old_sev, &old_act) == 0) {
		je->ev.verdict = read_verdict(json_object_get(root, "verdict"),
		    je);
		je->ev.sha256 = jstr(root, "sha256");
		rc = ocsf_write_event(out, &je->ev);
	}
	json_decref(root);
	free(je);
	return rc;
}
