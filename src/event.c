/*
 * event.c - a drift event as one JSON line: the same field names the Lua
 * event table and the journal use (DESIGN §4).
 */
#include <errno.h>
#include <string.h>

#include "event.h"
#include "jsonw.h"
#include "names.h"
#include "util.h"

static void
write_record(FILE *out, const struct uw_record *rec)
{
	char hex[2 * 64 + 1];
	int first = 1;

	putc_unlocked('{', out);
	jsonw_str(out, &first, "type", file_type_name(rec->type));
	jsonw_uint(out, &first, "mode", rec->mode);
	jsonw_uint(out, &first, "uid", rec->uid);
	jsonw_uint(out, &first, "gid", rec->gid);
	jsonw_uint(out, &first, "size", rec->size);
	jsonw_int(out, &first, "mtime", rec->mtime_ns);
	if (rec->flags & UW_REC_HASHED) {
		hex_encode(hex, rec->hash, UW_HASH_LEN);
		jsonw_str(out, &first, "hash", hex);
	}
	if (rec->link != NULL)
		jsonw_bytes(out, &first, "link", rec->link, rec->link_len);
	if (rec->caps != NULL && rec->caps_len <= 64) {
		hex_encode(hex, rec->caps, rec->caps_len);
		jsonw_str(out, &first, "caps", hex);
	}
	if (rec->flags & UW_REC_UNSTABLE)
		jsonw_bool(out, &first, "unstable", 1);
	putc_unlocked('}', out);
}

static void
write_container(FILE *out, const struct uw_container *c)
{
	size_t i;
	int first = 1, inner = 1;

	putc_unlocked('{', out);
	jsonw_str(out, &first, "id", c->id);
	jsonw_str(out, &first, "name", c->name);
	jsonw_str(out, &first, "image", c->image);
	jsonw_str(out, &first, "image_id", c->image_id);
	jsonw_str(out, &first, "runtime", c->runtime);
	jsonw_key(out, &first, "labels");
	putc_unlocked('{', out);
	for (i = 0; i < c->label_count; i++)
		jsonw_str(out, &inner, c->labels[i].key, c->labels[i].value);
	putc_unlocked('}', out);
	if (c->labels_truncated)
		jsonw_bool(out, &first, "labels_truncated", 1);
	jsonw_str(out, &first, "pod", c->pod);
	jsonw_str(out, &first, "namespace", c->pod_namespace);
	putc_unlocked('}', out);
}

/* A string of the process's own, or null when it took it with it. */
static void
str_or_null(FILE *out, int *first, const char *key, const char *value)
{
	if (value != NULL) {
		jsonw_str(out, first, key, value);
		return;
	}
	jsonw_key(out, first, key);
	fputs_unlocked("null", out);
}

static void
write_process(FILE *out, const struct uw_process *p)
{
	int first = 1;

	putc_unlocked('{', out);
	jsonw_int(out, &first, "pid", p->pid);
	str_or_null(out, &first, "comm", p->comm);
	str_or_null(out, &first, "exe", p->exe);
	str_or_null(out, &first, "cmdline", p->cmdline);
	if (p->uid >= 0)
		jsonw_int(out, &first, "uid", p->uid);
	else
		str_or_null(out, &first, "uid", NULL);
	str_or_null(out, &first, "container", p->container_id);
	if (p->exe_drift >= 0)
		jsonw_bool(out, &first, "exe_drift", p->exe_drift);
	else
		str_or_null(out, &first, "exe_drift", NULL);
	putc_unlocked('}', out);
}

/* Package names and versions are the database's own bytes: escaped as
 * any string is. */
static void
write_package(FILE *out, const struct uw_package *p)
{
	int first = 1;

	putc_unlocked('{', out);
	jsonw_str(out, &first, "manager", p->manager);
	if (p->database)
		jsonw_bool(out, &first, "database", 1);
	else {
		jsonw_str(out, &first, "name", p->name);
		jsonw_str(out, &first, "version", p->version);
	}
	putc_unlocked('}', out);
}

static void
write_verdict(FILE *out, const struct uw_verdict *v)
{
	const struct uw_reason *r;
	size_t i, t;
	int first = 1, inner;

	putc_unlocked('{', out);
	jsonw_str(out, &first, "severity", severity_name(v->severity));
	jsonw_str(out, &first, "action", action_name(v->action));
	if (v->wanted != v->action)
		jsonw_str(out, &first, "wanted", action_name(v->wanted));
	jsonw_str(out, &first, "policy_set", v->policy_set);
	jsonw_key(out, &first, "reasons");
	putc_unlocked('[', out);
	for (i = 0; i < v->reason_count; i++) {
		r = &v->reasons[i];
		if (i > 0)
			putc_unlocked(',', out);
		inner = 1;
		putc_unlocked('{', out);
		jsonw_str(out, &inner, "policy", r->policy);
		jsonw_str(out, &inner, "severity",
		    severity_name(r->severity));
		jsonw_str(out, &inner, "action", action_name(r->action));
		jsonw_str(out, &inner, "reason", r->reason);
		if (r->tag_count > 0) {
			jsonw_key(out, &inner, "tags");
			putc_unlocked('[', out);
			for (t = 0; t < r->tag_count; t++) {
				if (t > 0)
					putc_unlocked(',', out);
				jsonw_string(out,
				    (const unsigned char *)r->tags[t],
				    strlen(r->tags[t]));
			}
			putc_unlocked(']', out);
		}
		if (r->failed)
			jsonw_bool(out, &inner, "failed", 1);
		putc_unlocked('}', out);
	}
	fputs_unlocked("]}", out);
}

/* The UW_CHG_* bits by name, in the order they are written. */
static const struct {
	unsigned bit;
	const char *name;
} change_names[] = {
	{ UW_CHG_TYPE, "type" }, { UW_CHG_MODE, "mode" },
	{ UW_CHG_UID, "uid" }, { UW_CHG_GID, "gid" },
	{ UW_CHG_CAPS, "caps" }, { UW_CHG_SIZE, "size" },
	{ UW_CHG_HASH, "hash" }, { UW_CHG_LINK, "link" },
	{ UW_CHG_OPAQUE, "opaque" }, { UW_CHG_XATTR, "xattr" },
};

static void
write_changes(FILE *out, unsigned changes)
{
	size_t i;
	int n = 0;

	putc_unlocked('[', out);
	for (i = 0; i < sizeof(change_names) / sizeof(change_names[0]); i++) {
		if (!(changes & change_names[i].bit))
			continue;
		if (n++ > 0)
			putc_unlocked(',', out);
		jsonw_string(out, (const unsigned char *)change_names[i].name,
		    strlen(change_names[i].name));
	}
	putc_unlocked(']', out);
}

int
event_write_json(FILE *out, const struct uw_event *ev)
{
	int first = 1;

	putc_unlocked('{', out);
	jsonw_str(out, &first, "op", op_name(ev->op));
	jsonw_bytes(out, &first, "path", ev->path, ev->path_len);
	jsonw_str(out, &first, "type", file_type_name(ev->type));
	if (ev->current != NULL) {
		jsonw_key(out, &first, "current");
		write_record(out, ev->current);
	}
	if (ev->baseline != NULL) {
		jsonw_key(out, &first, "baseline");
		write_record(out, ev->baseline);
	}
	if (ev->changes != 0) {
		jsonw_key(out, &first, "changes");
		write_changes(out, ev->changes);
	}
	if (ev->op == UW_OP_DELETED || ev->op == UW_OP_REPLACED ||
	    ev->redirect != NULL)
		jsonw_uint(out, &first, "count", ev->count);
	if (ev->redirect != NULL)
		jsonw_bytes(out, &first, "redirect", ev->redirect,
		    ev->redirect_len);
	if (ev->metacopy)
		jsonw_bool(out, &first, "metacopy", 1);
	if (ev->op == UW_OP_EXEC)
		jsonw_bool(out, &first, "prevented", ev->prevented);
	if (ev->lower)
		jsonw_str(out, &first, "layer", "lower");
	if (ev->error != NULL)
		jsonw_str(out, &first, "error", ev->error);
	if (ev->container != NULL) {
		jsonw_key(out, &first, "container");
		write_container(out, ev->container);
	}
	if (ev->container != NULL) {
		/* null: no fanotify event named the writer */
		jsonw_key(out, &first, "process");
		if (ev->process != NULL)
			write_process(out, ev->process);
		else
			fputs_unlocked("null", out);
	}
	if (ev->package_check != UW_PKG_NONE) {
		jsonw_key(out, &first, "package");
		if (ev->package != NULL)
			write_package(out, ev->package);
		else
			fputs_unlocked("null", out);
		jsonw_str(out, &first, "package_check",
		    package_check_name(ev->package_check));
	}
	if (ev->incident != 0)
		jsonw_uint(out, &first, "incident", ev->incident);
	if (ev->sha256 != NULL)
		jsonw_str(out, &first, "sha256", ev->sha256);
	if (ev->verdict != NULL) {
		jsonw_key(out, &first, "verdict");
		write_verdict(out, ev->verdict);
	}
	if (ev->time_ns != 0)
		jsonw_int(out, &first, "time", ev->time_ns);
	if (ev->id != 0)
		jsonw_uint(out, &first, "id", ev->id);
	fputs_unlocked("}\n", out);
	return ferror(out) ? -EIO : 0;
}
