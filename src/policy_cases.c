/*
 * policy_cases.c - the authoring tools' engine room: case files run
 * through the production loader, sandbox and evaluation, and the
 * synthetic events of `policy check`.
 *
 * A case file returns a list of cases:
 *
 *   return {
 *     { name = "a new binary in /usr/local/bin is high",
 *       event = { op = "added", path = "/usr/local/bin/x",
 *                 current = { mode = "0755", size = 10 } },
 *       expect = { severity = "high", action = "alert",
 *                  policy = "new-executables" } },
 *     { name = "a log file is nobody's business",
 *       event = { op = "added", path = "/var/log/app.log" },
 *       expect = false },
 *   }
 *
 * `expect = false` means no policy has an opinion; `expect.policy` and
 * `expect.reason` (a plain substring) are optional, and a case fails when
 * any policy failed unless `expect.failed = true`.  Modes may be
 * numbers or octal strings.  An event of op "error" (an entry the watcher
 * could not classify) gives the reason in `error`, and has no current
 * record unless the case gives one.  Each case prints one TAP line with
 * the instructions and memory its evaluation used.
 *
 * Case files run in the policies' sandbox, under the load limits, and
 * their tables are read by raw access in protected mode: a case that
 * is not what it should be fails, it never takes the run down.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>

#include "names.h"
#include "policy.h"
#include "util.h"

#define MAX_CASE_FILE (1u << 20)
/* Labels a case event may carry: more than the engine shows
 * (UW_LABEL_COUNT_MAX), so that cases can test its cap. */
#define MAX_LABELS (2 * UW_LABEL_COUNT_MAX)

/* The C event a case describes, with storage for its parts. */
struct case_event {
	struct uw_event ev;
	struct uw_record current, baseline;
	struct uw_container ctr;
	struct uw_process proc;
	struct uw_package pkg;
	struct uw_label labels[MAX_LABELS];
	unsigned char cur_caps[64], base_caps[64];
};

/* One case on its way through: read (read_case), judged, checked
 * (check_case). */
struct case_run {
	struct case_event ce;
	const struct uw_verdict *verdict;
	size_t index;
	char name[256];
	char why[1024];
	int rc;
};

/* t[key] when it is a string, else dflt.  Only real strings: a number
 * would be converted into a copy that dies when popped. */
static const char *
opt_string(lua_State *L, int t, const char *key, const char *dflt)
{
	const char *s;

	s = policy_raw_field(L, t, key) == LUA_TSTRING ? lua_tostring(L, -1) :
	    dflt;
	lua_pop(L, 1);	/* the string stays alive in the case table */
	return s;
}

/* t[key] as an integer (as lua_tointeger reads it), or dflt. */
static lua_Integer
opt_integer_or(lua_State *L, int t, const char *key, lua_Integer dflt)
{
	lua_Integer v;
	int is;

	policy_raw_field(L, t, key);
	v = lua_tointegerx(L, -1, &is);
	lua_pop(L, 1);
	return is ? v : dflt;
}

/* t[key] as an integer (0 when it is none). */
static lua_Integer
opt_integer(lua_State *L, int t, const char *key)
{
	return opt_integer_or(L, t, key, 0);
}

/* Fill a record from the table at `t`; mode may be "0755" or 493. */
static int
read_record(lua_State *L, int t, struct uw_record *r, unsigned char *caps,
    const char *type, char *why, size_t whylen)
{
	const char *s;
	size_t len;
	int n;
	char *end;
	long v;

	memset(r, 0, sizeof(*r));
	r->type = UW_TYPE_FILE;
	s = opt_string(L, t, "type", type);
	if (file_type_from_name(s) > 0)
		r->type = (enum uw_file_type)file_type_from_name(s);
	policy_raw_field(L, t, "mode");
	if (lua_type(L, -1) == LUA_TSTRING) {
		v = strtol(lua_tostring(L, -1), &end, 8);
		if (*end != '\0' || v < 0 || v > 07777) {
			snprintf(why, whylen, "bad mode '%s' (octal, e.g. "
			    "\"0755\")", lua_tostring(L, -1));
			lua_pop(L, 1);
			return -1;
		}
		r->mode = (unsigned)v;
	} else if (lua_isinteger(L, -1)) {
		r->mode = (unsigned)lua_tointeger(L, -1) & 07777;
	} else {
		r->mode = r->type == UW_TYPE_DIR ? 0755 : 0644;
	}
	lua_pop(L, 1);
	r->uid = (uint32_t)opt_integer(L, t, "uid");
	r->gid = (uint32_t)opt_integer(L, t, "gid");
	r->size = (uint64_t)opt_integer(L, t, "size");
	r->mtime_ns = opt_integer(L, t, "mtime");
	s = policy_raw_field(L, t, "hash") == LUA_TSTRING ?
	    lua_tolstring(L, -1, &len) : NULL;
	if (s != NULL && len == 2 * UW_HASH_LEN &&
	    hex_decode(s, len, r->hash, UW_HASH_LEN) == UW_HASH_LEN)
		r->flags |= UW_REC_HASHED;
	lua_pop(L, 1);
	s = policy_raw_field(L, t, "link") == LUA_TSTRING ?
	    lua_tolstring(L, -1, &len) : NULL;
	if (s != NULL) {
		r->link = (const unsigned char *)s;
		r->link_len = len;
		r->type = UW_TYPE_SYMLINK;
	}
	lua_pop(L, 1);
	s = policy_raw_field(L, t, "caps") == LUA_TSTRING ?
	    lua_tolstring(L, -1, &len) : NULL;
	if (s != NULL && (n = hex_decode(s, len, caps, 64)) >= 0) {
		r->caps = caps;
		r->caps_len = (size_t)n;
	}
	lua_pop(L, 1);
	return 0;
}

/* The container of the event table at `ev_idx` (its "container" field,
 * else a default one). */
static int
read_container(lua_State *L, int ev_idx, struct case_event *ce, char *why,
    size_t whylen)
{
	int c, labels;

	ce->ctr.id = "case";
	ce->ctr.name = "case";
	ce->ctr.image = "case:1";
	ce->ctr.runtime = "test";
	ce->ctr.image_id = ce->ctr.pod = ce->ctr.pod_namespace = "";
	ce->ctr.image_key = ce->ctr.upper = ce->ctr.mount_point = "";
	ce->ctr.cgroup_v1_freezer = ce->ctr.cgroup_v2 = "";
	ce->ctr.labels = ce->labels;
	ce->ev.container = &ce->ctr;
	if (policy_raw_field(L, ev_idx, "container") == LUA_TNIL)
		return 0;
	c = lua_gettop(L);
	if (!policy_plain_table(L, c)) {
		snprintf(why, whylen, "event.container must be a table");
		return -1;
	}
	ce->ctr.id = opt_string(L, c, "id", ce->ctr.id);
	ce->ctr.name = opt_string(L, c, "name", ce->ctr.name);
	ce->ctr.image = opt_string(L, c, "image", ce->ctr.image);
	ce->ctr.image_id = opt_string(L, c, "image_id", "");
	ce->ctr.runtime = opt_string(L, c, "runtime", "test");
	ce->ctr.pod = opt_string(L, c, "pod", "");
	ce->ctr.pod_namespace = opt_string(L, c, "namespace", "");
	policy_raw_field(L, c, "labels_truncated");
	ce->ctr.labels_truncated = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (policy_raw_field(L, c, "labels") == LUA_TNIL)
		return 0;
	labels = lua_gettop(L);
	if (!policy_plain_table(L, labels)) {
		snprintf(why, whylen, "event.container.labels must be a table "
		    "of strings");
		return -1;
	}
	lua_pushnil(L);
	while (lua_next(L, labels) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING ||
		    lua_type(L, -1) != LUA_TSTRING) {
			snprintf(why, whylen, "event.container.labels must be "
			    "a table of strings");
			return -1;
		}
		if (ce->ctr.label_count == MAX_LABELS) {
			/* as discovery does past its caps */
			ce->ctr.labels_truncated = 1;
		} else {
			ce->labels[ce->ctr.label_count].key =
			    lua_tostring(L, -2);
			ce->labels[ce->ctr.label_count].value =
			    lua_tostring(L, -1);
			ce->ctr.label_count++;
		}
		lua_pop(L, 1);
	}
	return 0;
}

/* The writer of the event table at `ev_idx` (its "process" field), if it
 * has one: pid, comm, exe, cmdline, uid, container, exe_drift. */
static int
read_process(lua_State *L, int ev_idx, struct case_event *ce, char *why,
    size_t whylen)
{
	struct uw_process *p = &ce->proc;
	int t;

	if (policy_raw_field(L, ev_idx, "process") == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	t = lua_gettop(L);
	if (!policy_plain_table(L, t)) {
		snprintf(why, whylen, "event.process must be a table");
		return -1;
	}
	p->pid = (int)opt_integer(L, t, "pid");
	p->comm = opt_string(L, t, "comm", NULL);
	p->exe = opt_string(L, t, "exe", NULL);
	p->cmdline = opt_string(L, t, "cmdline", NULL);
	p->container_id = opt_string(L, t, "container", NULL);
	policy_raw_field(L, t, "uid");
	p->uid = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
	lua_pop(L, 1);
	policy_raw_field(L, t, "exe_drift");
	p->exe_drift = lua_isboolean(L, -1) ? lua_toboolean(L, -1) : -1;
	lua_pop(L, 1);
	ce->ev.process = p;
	/* the table stays on the stack: its strings live as long */
	return 0;
}

/* event.package and event.package_check, as the watcher gives them. */
static int
read_package(lua_State *L, int ev_idx, struct case_event *ce, char *why,
    size_t whylen)
{
	const char *check = opt_string(L, ev_idx, "package_check", NULL);
	struct uw_package *p = &ce->pkg;
	int t, c;

	if (check != NULL) {
		c = package_check_from_name(check);
		if (c <= 0) {
			snprintf(why, whylen, "event.package_check is match, "
			    "mismatch, unowned or unknown");
			return -1;
		}
		ce->ev.package_check = (enum uw_package_check)c;
	}
	if (policy_raw_field(L, ev_idx, "package") == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	t = lua_gettop(L);
	if (!policy_plain_table(L, t)) {
		snprintf(why, whylen, "event.package must be a table");
		return -1;
	}
	p->manager = opt_string(L, t, "manager", "dpkg");
	p->name = opt_string(L, t, "name", NULL);
	p->version = opt_string(L, t, "version", "");
	policy_raw_field(L, t, "database");
	p->database = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (!p->database && p->name == NULL) {
		snprintf(why, whylen, "event.package needs a name (or "
		    "database = true)");
		return -1;
	}
	ce->ev.package = p;
	if (ce->ev.package_check == UW_PKG_NONE)
		ce->ev.package_check = UW_PKG_UNKNOWN;
	/* the table stays on the stack: its strings live as long */
	return 0;
}

/* The event of the case table at `t` (its "event" field). */
static int
read_event(lua_State *L, int t, struct case_event *ce, char *why,
    size_t whylen)
{
	const char *op, *type;
	size_t len;
	int ev_idx, i;

	memset(ce, 0, sizeof(*ce));
	if (policy_raw_field(L, t, "event") != LUA_TTABLE ||
	    !policy_plain_table(L, -1)) {
		snprintf(why, whylen, "no event table");
		return -1;
	}
	ev_idx = lua_gettop(L);
	op = opt_string(L, ev_idx, "op", NULL);
	for (i = UW_OP_ADDED; op != NULL && i <= UW_OP_EXEC; i++)
		if (strcmp(op, op_name((enum uw_op)i)) == 0)
			ce->ev.op = (enum uw_op)i;
	if (ce->ev.op == 0) {
		snprintf(why, whylen, "event.op must be added, modified, "
		    "metadata, deleted, replaced, error or exec");
		return -1;
	}
	ce->ev.error = opt_string(L, ev_idx, "error", NULL);
	{
		const char *layer = opt_string(L, ev_idx, "layer", "upper");

		if (strcmp(layer, "lower") != 0 && strcmp(layer, "upper") != 0) {
			snprintf(why, whylen, "event.layer is upper or lower");
			return -1;
		}
		ce->ev.lower = strcmp(layer, "lower") == 0;
	}
	if ((ce->ev.op == UW_OP_ERROR) != (ce->ev.error != NULL)) {
		snprintf(why, whylen, "event.error (a string) goes with op "
		    "error, and only with it");
		return -1;
	}
	policy_raw_field(L, ev_idx, "path");
	ce->ev.path = lua_type(L, -1) == LUA_TSTRING ?
	    (const unsigned char *)lua_tolstring(L, -1, &len) : NULL;
	ce->ev.path_len = ce->ev.path != NULL ? len : 0;
	lua_pop(L, 1);
	if (ce->ev.path == NULL || ce->ev.path_len == 0 ||
	    ce->ev.path[0] != '/') {
		snprintf(why, whylen, "event.path must be an absolute path");
		return -1;
	}
	type = opt_string(L, ev_idx, "type", "file");
	if (policy_raw_field(L, ev_idx, "current") == LUA_TTABLE) {
		if (read_record(L, lua_gettop(L), &ce->current, ce->cur_caps,
		    type, why, whylen) < 0)
			return -1;
		ce->current.path = ce->ev.path;
		ce->current.path_len = ce->ev.path_len;
		ce->ev.current = &ce->current;
	} else if (ce->ev.op != UW_OP_DELETED && ce->ev.op != UW_OP_ERROR) {
		/* a default current record: the file as it is now (an
		 * entry that could not be read has none) */
		memset(&ce->current, 0, sizeof(ce->current));
		ce->current.type = UW_TYPE_FILE;
		ce->current.mode = 0644;
		ce->ev.current = &ce->current;
	}
	lua_pop(L, 1);
	if (policy_raw_field(L, ev_idx, "baseline") == LUA_TTABLE) {
		if (read_record(L, lua_gettop(L), &ce->baseline,
		    ce->base_caps, type, why, whylen) < 0)
			return -1;
		ce->ev.baseline = &ce->baseline;
	}
	lua_pop(L, 1);
	ce->ev.type = ce->ev.current ? ce->ev.current->type :
	    ce->ev.baseline ? ce->ev.baseline->type : UW_TYPE_FILE;
	if (file_type_from_name(type) > 0)
		ce->ev.type = (enum uw_file_type)file_type_from_name(type);
	if (read_container(L, ev_idx, ce, why, whylen) < 0 ||
	    read_process(L, ev_idx, ce, why, whylen) < 0 ||
	    read_package(L, ev_idx, ce, why, whylen) < 0)
		return -1;
	policy_raw_field(L, ev_idx, "incident");
	ce->ev.incident = lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0 ?
	    (uint64_t)lua_tointeger(L, -1) : 0;
	lua_pop(L, 1);
	ce->ev.time_ns = opt_integer_or(L, ev_idx, "time", 1);
	ce->ev.id = (uint64_t)opt_integer_or(L, ev_idx, "id", 1);
	return 0;
}

/* Does the verdict meet the case's expectation (the table at `t`'s
 * "expect")?  Writes what differs into why. */
static int
expectation_met(lua_State *L, int t, const struct uw_verdict *v, char *why,
    size_t whylen)
{
	const char *sev, *act, *pol, *sub;
	size_t i;
	int found, may_fail;

	policy_raw_field(L, t, "expect");
	if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
		lua_pop(L, 1);
		if (v->reason_count == 0)
			return 1;
		snprintf(why, whylen, "expected no verdict, got %s/%s from "
		    "%s: %s", severity_name(v->severity),
		    action_name(v->action), v->reasons[0].policy,
		    v->reasons[0].reason);
		return 0;
	}
	if (!policy_plain_table(L, -1)) {
		lua_pop(L, 1);
		snprintf(why, whylen, "the case has no expect table (use "
		    "expect = false for no verdict)");
		return -1;
	}
	t = lua_gettop(L);
	sev = opt_string(L, t, "severity", NULL);
	act = opt_string(L, t, "action", NULL);
	pol = opt_string(L, t, "policy", NULL);
	sub = opt_string(L, t, "reason", NULL);
	policy_raw_field(L, t, "failed");
	may_fail = lua_toboolean(L, -1);
	lua_pop(L, 2);
	if ((sev != NULL && severity_from_name(sev) < 0) ||
	    (act != NULL && action_from_name(act) < 0)) {
		snprintf(why, whylen, "unknown severity or action in expect");
		return -1;
	}
	if (v->reason_count == 0) {
		snprintf(why, whylen, "expected %s/%s, got no verdict",
		    sev ? sev : "*", act ? act : "*");
		return 0;
	}
	if ((sev != NULL && strcmp(sev, severity_name(v->severity))) ||
	    (act != NULL && strcmp(act, action_name(v->action)))) {
		snprintf(why, whylen, "expected %s/%s, got %s/%s (%s: %s)",
		    sev ? sev : "*", act ? act : "*",
		    severity_name(v->severity), action_name(v->action),
		    v->reasons[0].policy, v->reasons[0].reason);
		return 0;
	}
	for (i = 0, found = pol == NULL && sub == NULL; i < v->reason_count &&
	    !found; i++)
		found = (pol == NULL || strcmp(pol, v->reasons[i].policy) ==
		    0) && (sub == NULL || strstr(v->reasons[i].reason, sub));
	if (!found) {
		snprintf(why, whylen, "no reason from policy %s containing "
		    "'%s'", pol ? pol : "*", sub ? sub : "");
		return 0;
	}
	for (i = 0; i < v->reason_count && !may_fail; i++) {
		if (v->reasons[i].failed) {
			snprintf(why, whylen, "a policy failed: %s",
			    v->reasons[i].reason);
			return 0;
		}
	}
	return 1;
}

/* Run a case file in the sandbox; its list of cases is left on the
 * stack. */
static int
load_case_file(struct uw_policy_set *set, const char *file,
    struct uw_error *err)
{
	lua_State *L = policy_lua(set);
	struct stat st;
	size_t len;
	char *src;
	FILE *f;
	int rc;

	f = fopen(file, "re");
	if (f == NULL)
		return seterr(err, -errno, "%s: %s", file, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || st.st_size > MAX_CASE_FILE) {
		fclose(f);
		return seterr(err, -EFBIG, "%s: too big", file);
	}
	src = malloc((size_t)st.st_size + 1);
	if (src == NULL) {
		fclose(f);
		return seterr(err, -ENOMEM, "out of memory");
	}
	len = fread(src, 1, (size_t)st.st_size, f);
	fclose(f);
	rc = policy_run_chunk(set, file, src, len, err);
	free(src);
	if (rc < 0)
		return rc;
	if (!policy_plain_table(L, -1)) {
		lua_pop(L, 1);
		return seterr(err, -EINVAL, "%s: a case file must return a "
		    "list of cases (did you forget 'return'?)", file);
	}
	return 0;
}

/* Protected: the name and event of the case (argument 2) into the
 * struct case_run (argument 1); rc 0, or -1 with why. */
static int
read_case(lua_State *L)
{
	struct case_run *r = lua_touserdata(L, 1);

	r->rc = -1;
	if (!policy_plain_table(L, 2)) {
		snprintf(r->name, sizeof(r->name), "(not a table)");
		snprintf(r->why, sizeof(r->why), "case %zu is not a table",
		    r->index);
		return 0;
	}
	snprintf(r->name, sizeof(r->name), "%s", opt_string(L, 2, "name",
	    "(unnamed)"));
	r->rc = read_event(L, 2, &r->ce, r->why, sizeof(r->why));
	return 0;
}

/* Protected: does r->verdict meet the case's (argument 2) expectation?
 * rc 1, or 0 / -1 with why. */
static int
check_case(lua_State *L)
{
	struct case_run *r = lua_touserdata(L, 1);

	r->rc = expectation_met(L, 2, r->verdict, r->why, sizeof(r->why));
	return 0;
}

/* Run fn(r, case at `ci`) in protected mode; an error (memory) is the
 * case's failure. */
static void
case_step(lua_State *L, lua_CFunction fn, struct case_run *r, int ci)
{
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, r);
	lua_pushvalue(L, ci);
	if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
		snprintf(r->why, sizeof(r->why), "%s",
		    lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) :
		    "error");
		r->rc = -1;
		lua_pop(L, 1);
	}
}

/*
 * Run the cases of one case file against the set, one TAP line each on
 * `out`, adding to *total and *failed.  Returns 0 (failed cases
 * included), or a negative error when the file cannot be loaded or an
 * evaluation runs out of memory.
 */
static int
run_file(struct uw_policy_set *set, const char *file, FILE *out,
    int *total, int *failed, struct uw_error *err)
{
	lua_State *L = policy_lua(set);
	struct case_run *r;
	struct uw_verdict v;
	uint64_t steps;
	size_t mem, n, i;
	int top = lua_gettop(L), cases, rc, ok, ci;

	r = malloc(sizeof(*r));
	if (r == NULL)
		return seterr(err, -ENOMEM, "out of memory");
	rc = load_case_file(set, file, err);
	if (rc < 0)
		goto out;
	cases = lua_gettop(L);
	n = (size_t)lua_rawlen(L, cases);
	fprintf(out, "# %s: %zu cases\n", file, n);
	/* Count every instruction, not every thousandth, so authors see
	 * what each case costs. */
	policy_set_hook_period(set, 1);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, cases, (lua_Integer)i);
		ci = lua_gettop(L);
		(*total)++;
		memset(r, 0, sizeof(*r));
		r->index = i;
		ok = 0;
		steps = 0;
		mem = 0;
		case_step(L, read_case, r, ci);
		if (r->rc == 0) {
			rc = policy_evaluate(set, &r->ce.ev, UW_ACT_KILL, &v,
			    err);
			if (rc < 0)
				goto out;
			policy_last_usage(set, &steps, &mem);
			r->verdict = &v;
			case_step(L, check_case, r, ci);
			ok = r->rc == 1;
		}
		lua_settop(L, cases);
		if (!ok)
			(*failed)++;
		fprintf(out, "%s %d - %s (instructions: %llu, memory: %zu "
		    "KiB)\n", ok ? "ok" : "not ok", *total,
		    r->name[0] != '\0' ? r->name : "(unnamed)",
		    (unsigned long long)steps, (mem + 1023) / 1024);
		if (!ok)
			fprintf(out, "#   %s: %s\n", file, r->why);
	}
	rc = 0;
out:
	policy_set_hook_period(set, 0);
	lua_settop(L, top);
	free(r);
	return rc;
}

/* Run the case files `paths` name (policy.h). */
int
policy_run_cases(struct uw_policy_set *set, const char *const *paths,
    size_t path_count, FILE *out, int *total, int *failed,
    struct uw_error *err)
{
	struct stat st;
	char **files = NULL;
	size_t count = 0, i;
	int rc = 0;

	for (i = 0; i < path_count && rc == 0; i++) {
		if (stat(paths[i], &st) != 0) {
			rc = seterr(err, -errno, "%s: %s", paths[i],
			    strerror(errno));
			break;
		}
		rc = policy_list_lua(paths[i], &files, &count, err);
	}
	for (i = 0; rc == 0 && i < count; i++)
		rc = run_file(set, files[i], out, total, failed, err);
	for (i = 0; i < count; i++)
		free(files[i]);
	free(files);
	return rc;
}

/* Judge synthetic events with every policy, prefilter off, and report
 * the failures (policy.h). */
int
policy_self_check(struct uw_policy_set *set, FILE *out)
{
	static const char *const paths[] = {
		"/usr/local/bin/upperwatch-check", "/etc/passwd",
		"/tmp/x", "/"
	};
	struct uw_container ctr;
	struct uw_record cur, base;
	struct uw_event ev;
	struct uw_verdict v;
	struct uw_error err;
	size_t i, k;
	int op, failures = 0;

	memset(&ctr, 0, sizeof(ctr));
	ctr.id = ctr.name = "check";
	ctr.image = "check:1";
	ctr.runtime = "test";
	ctr.image_id = ctr.pod = ctr.pod_namespace = ctr.image_key = "";
	ctr.upper = ctr.mount_point = ctr.cgroup_v1_freezer = "";
	ctr.cgroup_v2 = "";
	for (op = UW_OP_ADDED; op <= UW_OP_EXEC; op++) {
		for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
			memset(&ev, 0, sizeof(ev));
			memset(&cur, 0, sizeof(cur));
			memset(&base, 0, sizeof(base));
			cur.type = base.type = UW_TYPE_FILE;
			cur.mode = 04755;
			base.mode = 0644;
			cur.size = 4096;
			base.size = 100;
			ev.op = (enum uw_op)op;
			ev.path = (const unsigned char *)paths[k];
			ev.path_len = strlen(paths[k]);
			ev.type = UW_TYPE_FILE;
			ev.current = op == UW_OP_DELETED ? NULL : &cur;
			ev.baseline = op == UW_OP_ADDED ? NULL : &base;
			if (op == UW_OP_ERROR) {
				/* an entry that could not be read: no
				 * record, only the reason */
				ev.current = ev.baseline = NULL;
				ev.error = "it changed while it was read";
			}
			ev.container = &ctr;
			ev.time_ns = 1;
			ev.id = 1;
			if (policy_evaluate_all(set, &ev, 0, UW_ACT_KILL, &v,
			    &err) < 0) {
				fprintf(out, "error: %s\n", err.msg);
				return failures + 1;
			}
			for (i = 0; i < v.reason_count; i++) {
				if (!v.reasons[i].failed)
					continue;
				failures++;
				fprintf(out, "%s: on %s %s: %s\n",
				    v.reasons[i].policy,
				    op_name(ev.op), paths[k],
				    v.reasons[i].reason);
			}
		}
	}
	return failures;
}
