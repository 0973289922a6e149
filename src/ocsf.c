/*
 * ocsf.c - a drift event in OCSF 1.3.0, the schema SIEMs ingest: a File
 * System Activity (class 1001) line, and for a verdict of alert or above
 * a Detection Finding (class 2004) line whose evidence is that event.
 *
 * What OCSF has a place for goes there (file, actor.process, the
 * container under device with the "container" profile, severity,
 * metadata.product); what it has not (the op, what changed, the
 * package check, the incident) goes under unmapped.upperwatch.  Strings
 * are the container's bytes: what is not UTF-8 gets U+FFFD in OCSF's
 * fields, and a path's exact bytes are in unmapped.upperwatch.path_hex.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "jsonw.h"
#include "names.h"
#include "ocsf.h"
#include "util.h"

#define OCSF_VERSION "1.3.0"

/* OCSF severity_id and its caption, from ours. */
static const char *const severity_captions[] = {
	"Informational", "Low", "Medium", "High", "Critical"
};

struct ocsf_activity {
	int id;
	const char *name;
};

static struct ocsf_activity
activity_of(const struct uw_event *ev)
{
	struct ocsf_activity a = { 99, "Other" };

	switch (ev->op) {
	case UW_OP_ADDED:
		a.id = 1;
		a.name = "Create";
		break;
	case UW_OP_MODIFIED:
	case UW_OP_REPLACED:
		a.id = 3;
		a.name = "Update";
		break;
	case UW_OP_DELETED:
		a.id = 4;
		a.name = "Delete";
		break;
	case UW_OP_METADATA:
		a.id = 6;
		a.name = "Set Attributes";
		break;
	case UW_OP_EXEC:
		a.name = "Exec";
		break;
	default:
		a.name = "Error";
		break;
	}
	if (ev->redirect != NULL && ev->type == UW_TYPE_DIR &&
	    ev->op == UW_OP_ADDED) {
		a.id = 5;
		a.name = "Rename";
	}
	return a;
}

/* OCSF file type_id of ours, and its caption. */
static int
file_type_id(enum uw_file_type t)
{
	switch (t) {
	case UW_TYPE_FILE: return 1;
	case UW_TYPE_DIR: return 2;
	case UW_TYPE_CHARDEV: return 3;
	case UW_TYPE_BLOCKDEV: return 4;
	case UW_TYPE_SOCKET: return 5;
	case UW_TYPE_FIFO: return 6;
	case UW_TYPE_SYMLINK: return 7;
	default: return 0;
	}
}

static const char *const file_type_captions[] = {
	"Unknown", "Regular File", "Folder", "Character Device",
	"Block Device", "Local Socket", "Named Pipe", "Symbolic Link",
};

/* A container we know (an offline diff has only its image). */
static const struct uw_container *
container_of(const struct uw_event *ev)
{
	const struct uw_container *c = ev->container;

	return c != NULL && c->id != NULL && c->id[0] != '\0' ? c : NULL;
}

/* "key":"bytes" (U+FFFD for what is not UTF-8); 1 when bytes were
 * replaced. */
static int
ostr(FILE *out, int *first, const char *key, const void *bytes, size_t len)
{
	jsonw_key(out, first, key);
	return jsonw_string(out, bytes, len);
}

static void
ostrz(FILE *out, int *first, const char *key, const char *s)
{
	if (s != NULL)
		ostr(out, first, key, s, strlen(s));
}

static void
write_metadata(FILE *out, int *first, const struct uw_event *ev)
{
	int m = 1, p = 1;
	char uid[32];

	jsonw_key(out, first, "metadata");
	fputc('{', out);
	jsonw_str(out, &m, "version", OCSF_VERSION);
	jsonw_key(out, &m, "product");
	fputc('{', out);
	jsonw_str(out, &p, "name", "upperwatch");
	jsonw_str(out, &p, "vendor_name", "upperwatch");
	jsonw_str(out, &p, "version", UW_VERSION);
	fputc('}', out);
	fputs(container_of(ev) != NULL ?
	    ",\"profiles\":[\"host\",\"container\"]" :
	    ",\"profiles\":[\"host\"]", out);
	if (ev->id != 0) {
		snprintf(uid, sizeof(uid), "%llu", (unsigned long long)ev->id);
		jsonw_str(out, &m, "uid", uid);
	}
	jsonw_str(out, &m, "log_name", "upperwatch");
	fputc('}', out);
}

static void
write_container(FILE *out, int *first, const struct uw_container *c)
{
	int k = 1, i = 1;

	jsonw_key(out, first, "container");
	fputc('{', out);
	ostrz(out, &k, "uid", c->id);
	if (c->name != NULL && c->name[0] != '\0')
		ostrz(out, &k, "name", c->name);
	if (c->runtime != NULL && c->runtime[0] != '\0')
		ostrz(out, &k, "runtime", c->runtime);
	jsonw_key(out, &k, "image");
	fputc('{', out);
	ostrz(out, &i, "uid", c->image_id != NULL && c->image_id[0] != '\0' ?
	    c->image_id : c->image_key != NULL && c->image_key[0] != '\0' ?
	    c->image_key : "unknown");
	if (c->image != NULL && c->image[0] != '\0')
		ostrz(out, &i, "name", c->image);
	fputc('}', out);
	if (c->pod != NULL && c->pod[0] != '\0')
		ostrz(out, &k, "pod_uuid", c->pod);
	fputc('}', out);
}

/* The host: device, with the container under it (OCSF's container
 * profile puts it there in 1.3.0). */
static void
write_device(FILE *out, int *first, const struct uw_event *ev)
{
	char host[256];
	int d = 1;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	jsonw_key(out, first, "device");
	fputc('{', out);
	jsonw_int(out, &d, "type_id", 0);
	jsonw_str(out, &d, "type", "Unknown");
	ostrz(out, &d, "hostname", host);
	if (container_of(ev) != NULL)
		write_container(out, &d, container_of(ev));
	fputc('}', out);
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL && s[1] != '\0' ? s + 1 : p;
}

static void
write_process(FILE *out, int *first, const struct uw_process *p)
{
	int k = 1, f = 1;
	char uid[24];

	jsonw_key(out, first, "process");
	fputc('{', out);
	jsonw_int(out, &k, "pid", p->pid);
	ostrz(out, &k, "name", p->comm);
	ostrz(out, &k, "cmd_line", p->cmdline);
	if (p->exe != NULL) {
		jsonw_key(out, &k, "file");
		fputc('{', out);
		ostrz(out, &f, "name", base_name(p->exe));
		ostrz(out, &f, "path", p->exe);
		jsonw_int(out, &f, "type_id", 1);
		fputc('}', out);
	}
	if (p->uid >= 0) {
		snprintf(uid, sizeof(uid), "%lld", (long long)p->uid);
		fputs(",\"user\":{\"uid\":", out);
		jsonw_string(out, (const unsigned char *)uid, strlen(uid));
		fputc('}', out);
	}
	fputc('}', out);
}

/* The actor: the writing process when a fanotify event named it, else
 * the container (something in it), else upperwatch's own look. */
static void
write_actor(FILE *out, int *first, const struct uw_event *ev)
{
	int a = 1;

	jsonw_key(out, first, "actor");
	fputc('{', out);
	if (ev->process != NULL)
		write_process(out, &a, ev->process);
	else if (container_of(ev) != NULL) {
		jsonw_str(out, &a, "app_name", "container");
		ostrz(out, &a, "app_uid", container_of(ev)->id);
	} else
		jsonw_str(out, &a, "app_name", "unknown");
	fputc('}', out);
}

/* The file; 1 when its path is not UTF-8 (its exact bytes go to
 * unmapped). */
static int
write_file(FILE *out, int *first, const struct uw_event *ev)
{
	const struct uw_record *r = ev->current ? ev->current : ev->baseline;
	size_t i;
	int k = 1, bad, o = 1;
	char uid[24];

	for (i = ev->path_len; i > 0 && ev->path[i - 1] != '/'; i--)
		continue;
	jsonw_key(out, first, "file");
	fputc('{', out);
	if (i < ev->path_len)
		ostr(out, &k, "name", ev->path + i, ev->path_len - i);
	else
		jsonw_str(out, &k, "name", "/");
	bad = ostr(out, &k, "path", ev->path, ev->path_len);
	jsonw_int(out, &k, "type_id", file_type_id(ev->type));
	jsonw_str(out, &k, "type", file_type_captions[file_type_id(ev->type)]);
	if (r != NULL) {
		if (ev->type == UW_TYPE_FILE)
			jsonw_uint(out, &k, "size", r->size);
		if (r->mtime_ns != 0)
			jsonw_int(out, &k, "modified_time", r->mtime_ns /
			    1000000);
		snprintf(uid, sizeof(uid), "%u", r->uid);
		jsonw_key(out, &k, "owner");
		fputc('{', out);
		jsonw_str(out, &o, "uid", uid);
		fputc('}', out);
	}
	if (ev->sha256 != NULL)
		fprintf(out, ",\"hashes\":[{\"algorithm_id\":3,\"algorithm\":"
		    "\"SHA-256\",\"value\":\"%s\"}]", ev->sha256);
	fputc('}', out);
	return bad;
}

/* What OCSF has no place for. */
static void
write_unmapped(FILE *out, int *first, const struct uw_event *ev,
    int path_bad)
{
	int u = 1, k = 1;
	char *hex;

	jsonw_key(out, first, "unmapped");
	fputs("{\"upperwatch\":{", out);
	jsonw_str(out, &u, "op", op_name(ev->op));
	if (ev->op == UW_OP_DELETED || ev->op == UW_OP_REPLACED ||
	    ev->redirect != NULL)
		jsonw_uint(out, &u, "count", ev->count);
	if (ev->redirect != NULL)
		ostr(out, &u, "redirect", ev->redirect, ev->redirect_len);
	if (ev->lower)
		jsonw_str(out, &u, "layer", "lower");
	if (ev->error != NULL)
		ostrz(out, &u, "error", ev->error);
	if (ev->op == UW_OP_EXEC)
		jsonw_bool(out, &u, "prevented", ev->prevented);
	if (ev->package_check != UW_PKG_NONE) {
		jsonw_str(out, &u, "package_check",
		    package_check_name(ev->package_check));
		if (ev->package != NULL) {
			jsonw_key(out, &u, "package");
			fputc('{', out);
			ostrz(out, &k, "manager", ev->package->manager);
			if (ev->package->database)
				jsonw_bool(out, &k, "database", 1);
			else {
				ostrz(out, &k, "name", ev->package->name);
				ostrz(out, &k, "version", ev->package->version);
			}
			fputc('}', out);
		}
	}
	if (ev->incident != 0)
		jsonw_uint(out, &u, "incident", ev->incident);
	if (path_bad && (hex = malloc(2 * ev->path_len + 1)) != NULL) {
		hex_encode(hex, ev->path, ev->path_len);
		jsonw_str(out, &u, "path_hex", hex);
		free(hex);
	}
	fputs("}}", out);
}

static int64_t
time_ms(const struct uw_event *ev)
{
	return (ev->time_ns != 0 ? ev->time_ns : now_real_ns()) / 1000000;
}

static void
write_severity(FILE *out, int *first, const struct uw_event *ev)
{
	int s = ev->verdict != NULL ? (int)ev->verdict->severity : 0;

	if (s < 0 || s > UW_SEV_CRITICAL)
		s = 0;
	jsonw_int(out, first, "severity_id", s + 1);
	jsonw_str(out, first, "severity", severity_captions[s]);
}

/* The File System Activity object, without a newline. */
static void
write_activity(FILE *out, const struct uw_event *ev)
{
	struct ocsf_activity a = activity_of(ev);
	char type_name[64], msg[64];
	int first = 1, bad;

	fputc('{', out);
	jsonw_int(out, &first, "class_uid", 1001);
	jsonw_str(out, &first, "class_name", "File System Activity");
	jsonw_int(out, &first, "category_uid", 1);
	jsonw_str(out, &first, "category_name", "System Activity");
	jsonw_int(out, &first, "activity_id", a.id);
	jsonw_str(out, &first, "activity_name", a.name);
	jsonw_int(out, &first, "type_uid", 100100 + a.id);
	snprintf(type_name, sizeof(type_name), "File System Activity: %s",
	    a.name);
	jsonw_str(out, &first, "type_name", type_name);
	jsonw_int(out, &first, "time", time_ms(ev));
	write_severity(out, &first, ev);
	snprintf(msg, sizeof(msg), "%s %s", op_name(ev->op),
	    file_type_name(ev->type));
	jsonw_str(out, &first, "message", msg);
	write_metadata(out, &first, ev);
	write_actor(out, &first, ev);
	write_device(out, &first, ev);
	bad = write_file(out, &first, ev);
	write_unmapped(out, &first, ev, bad);
	fputc('}', out);
}

/* The Detection Finding of a verdict of alert or above. */
static void
write_finding(FILE *out, const struct uw_event *ev)
{
	const struct uw_verdict *v = ev->verdict;
	const struct uw_reason *top = NULL;
	char uid[48];
	size_t i, t;
	int first = 1, fi = 1, an = 1, e = 1, tagged = 0;

	for (i = 0; i < v->reason_count; i++)
		if (top == NULL || v->reasons[i].severity > top->severity)
			top = &v->reasons[i];
	fputc('{', out);
	jsonw_int(out, &first, "class_uid", 2004);
	jsonw_str(out, &first, "class_name", "Detection Finding");
	jsonw_int(out, &first, "category_uid", 2);
	jsonw_str(out, &first, "category_name", "Findings");
	jsonw_int(out, &first, "activity_id", 1);
	jsonw_str(out, &first, "activity_name", "Create");
	jsonw_int(out, &first, "type_uid", 200401);
	jsonw_str(out, &first, "type_name", "Detection Finding: Create");
	jsonw_int(out, &first, "time", time_ms(ev));
	write_severity(out, &first, ev);
	jsonw_int(out, &first, "status_id", 1);
	jsonw_str(out, &first, "status", "New");
	write_metadata(out, &first, ev);
	jsonw_key(out, &first, "finding_info");
	fputc('{', out);
	snprintf(uid, sizeof(uid), "upperwatch-%llu-%lld",
	    (unsigned long long)ev->id, (long long)time_ms(ev));
	jsonw_str(out, &fi, "uid", uid);
	ostrz(out, &fi, "title", top != NULL && top->reason != NULL ?
	    top->reason : "container drift");
	jsonw_key(out, &fi, "types");
	fputc('[', out);
	for (i = 0; i < v->reason_count; i++)
		for (t = 0; t < v->reasons[i].tag_count; t++) {
			if (tagged++)
				fputc(',', out);
			jsonw_string(out, (const unsigned char *)
			    v->reasons[i].tags[t], strlen(v->reasons[i].tags[t]));
		}
	fputc(']', out);
	jsonw_key(out, &fi, "analytic");
	fputc('{', out);
	ostrz(out, &an, "name", top != NULL && top->policy != NULL ?
	    top->policy : "upperwatch");
	jsonw_int(out, &an, "type_id", 1);
	jsonw_str(out, &an, "type", "Rule");
	if (v->policy_set != NULL)
		ostrz(out, &an, "version", v->policy_set);
	fputc('}', out);
	fputc('}', out);
	write_device(out, &first, ev);
	jsonw_key(out, &first, "evidences");
	fputs("[{", out);
	(void)write_file(out, &e, ev);
	if (container_of(ev) != NULL)
		write_container(out, &e, container_of(ev));
	if (ev->process != NULL)
		write_process(out, &e, ev->process);
	jsonw_key(out, &e, "data");
	write_activity(out, ev);
	fputs("}]", out);
	jsonw_key(out, &first, "unmapped");
	fprintf(out, "{\"upperwatch\":{\"action\":\"%s\"}}",
	    action_name(v->action));
	fputc('}', out);
}

char *
ocsf_finding_text(const struct uw_event *ev)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	if (ev->verdict == NULL)
		return NULL;
	mem = open_memstream(&buf, &len);
	if (mem == NULL)
		return NULL;
	write_finding(mem, ev);
	if (ferror(mem)) {
		fclose(mem);
		free(buf);
		return NULL;
	}
	if (fclose(mem) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
ocsf_write_event(FILE *out, const struct uw_event *ev)
{
	write_activity(out, ev);
	fputc('\n', out);
	if (ev->verdict != NULL && ev->verdict->action >= UW_ACT_ALERT) {
		write_finding(out, ev);
		fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}
