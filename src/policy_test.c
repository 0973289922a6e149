/*
 * policy_test.c - the authoring tools' engine room: case files run
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
 * numbers or octal strings.  Each case prints one TAP line with the
 * instructions and memory its evaluation used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>

#include "policy.h"
#include "util.h"

#define MAX_CASE_FILE (1u << 20)
#define MAX_LABELS 64

/* The C event a case describes, with storage for its parts. */
struct case_event {
	struct uw_event ev;
	struct uw_record current, baseline;
	struct uw_container ctr;
	struct uw_label labels[MAX_LABELS];
	unsigned char cur_caps[64], base_caps[64];
};

static const char *
opt_string(lua_State *L, int t, const char *key, const char *dflt)
{
	const char *s;

	lua_getfield(L, t, key);
	s = lua_isstring(L, -1) ? lua_tostring(L, -1) : dflt;
	lua_pop(L, 1);	/* the string stays alive in the case table */
	return s;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Fill a record from the table at `t`; mode may be "0755" or 493. */
static int
read_record(lua_State *L, int t, struct uw_record *r, unsigned char *caps,
    const char *type, char *why, size_t whylen)
{
	const char *s;
	size_t len, i;
	char *end;
	long v;

	memset(r, 0, sizeof(*r));
	r->type = UW_TYPE_FILE;
	s = opt_string(L, t, "type", type);
	for (i = UW_TYPE_FILE; i <= UW_TYPE_BLOCKDEV; i++)
		if (strcmp(s, uw_file_type_name((enum uw_file_type)i)) == 0)
			r->type = (enum uw_file_type)i;
	lua_getfield(L, t, "mode");
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
	lua_getfield(L, t, "uid");
	r->uid = (uint32_t)lua_tointeger(L, -1);
	lua_getfield(L, t, "gid");
	r->gid = (uint32_t)lua_tointeger(L, -1);
	lua_getfield(L, t, "size");
	r->size = (uint64_t)lua_tointeger(L, -1);
	lua_getfield(L, t, "mtime");
	r->mtime_ns = lua_tointeger(L, -1);
	lua_pop(L, 4);
	lua_getfield(L, t, "hash");
	s = lua_tolstring(L, -1, &len);
	if (s != NULL && len == 2 * UW_HASH_LEN) {
		for (i = 0; i < UW_HASH_LEN; i++)
			r->hash[i] = (unsigned char)(hexval(s[2 * i]) << 4 |
			    hexval(s[2 * i + 1]));
		r->flags |= UW_REC_HASHED;
	}
	lua_pop(L, 1);
	lua_getfield(L, t, "link");
	s = lua_tolstring(L, -1, &len);
	if (s != NULL) {
		r->link = (const unsigned char *)s;
		r->link_len = len;
		r->type = UW_TYPE_SYMLINK;
	}
	lua_pop(L, 1);
	lua_getfield(L, t, "caps");
	s = lua_tolstring(L, -1, &len);
	if (s != NULL && len % 2 == 0 && len / 2 <= 64) {
		for (i = 0; i < len / 2; i++)
			caps[i] = (unsigned char)(hexval(s[2 * i]) << 4 |
			    hexval(s[2 * i + 1]));
		r->caps = caps;
		r->caps_len = len / 2;
	}
	lua_pop(L, 1);
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
	if (lua_getfield(L, t, "event") != LUA_TTABLE) {
		snprintf(why, whylen, "no event table");
		return -1;
	}
	ev_idx = lua_gettop(L);
	op = opt_string(L, ev_idx, "op", NULL);
	for (i = UW_OP_ADDED; op != NULL && i <= UW_OP_REPLACED; i++)
		if (strcmp(op, uw_op_name((enum uw_op)i)) == 0)
			ce->ev.op = (enum uw_op)i;
	if (ce->ev.op == 0) {
		snprintf(why, whylen, "event.op must be added, modified, "
		    "metadata, deleted or replaced");
		return -1;
	}
	lua_getfield(L, ev_idx, "path");
	ce->ev.path = (const unsigned char *)lua_tolstring(L, -1, &len);
	ce->ev.path_len = len;
	lua_pop(L, 1);
	if (ce->ev.path == NULL || len == 0 || ce->ev.path[0] != '/') {
		snprintf(why, whylen, "event.path must be an absolute path");
		return -1;
	}
	type = opt_string(L, ev_idx, "type", "file");
	if (lua_getfield(L, ev_idx, "current") == LUA_TTABLE) {
		if (read_record(L, lua_gettop(L), &ce->current, ce->cur_caps,
		    type, why, whylen) < 0)
			return -1;
		ce->current.path = ce->ev.path;
		ce->current.path_len = ce->ev.path_len;
		ce->ev.current = &ce->current;
	} else if (ce->ev.op != UW_OP_DELETED) {
		/* a default current record: the file as it is now */
		memset(&ce->current, 0, sizeof(ce->current));
		ce->current.type = UW_TYPE_FILE;
		ce->current.mode = 0644;
		ce->ev.current = &ce->current;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, ev_idx, "baseline") == LUA_TTABLE) {
		if (read_record(L, lua_gettop(L), &ce->baseline,
		    ce->base_caps, type, why, whylen) < 0)
			return -1;
		ce->ev.baseline = &ce->baseline;
	}
	lua_pop(L, 1);
	ce->ev.type = ce->ev.current ? ce->ev.current->type :
	    ce->ev.baseline ? ce->ev.baseline->type : UW_TYPE_FILE;
	for (i = UW_TYPE_FILE; i <= UW_TYPE_BLOCKDEV; i++)
		if (strcmp(type, uw_file_type_name((enum uw_file_type)i)) == 0)
			ce->ev.type = (enum uw_file_type)i;
	ce->ctr.id = "case";
	ce->ctr.name = "case";
	ce->ctr.image = "case:1";
	ce->ctr.runtime = "test";
	ce->ctr.image_id = ce->ctr.pod = ce->ctr.pod_namespace = "";
	ce->ctr.image_key = ce->ctr.upper = ce->ctr.mount_point = "";
	ce->ctr.cgroup_v1_freezer = ce->ctr.cgroup_v2 = "";
	if (lua_getfield(L, ev_idx, "container") == LUA_TTABLE) {
		int c = lua_gettop(L);

		ce->ctr.id = opt_string(L, c, "id", ce->ctr.id);
		ce->ctr.name = opt_string(L, c, "name", ce->ctr.name);
		ce->ctr.image = opt_string(L, c, "image", ce->ctr.image);
		ce->ctr.image_id = opt_string(L, c, "image_id", "");
		ce->ctr.runtime = opt_string(L, c, "runtime", "test");
		ce->ctr.pod = opt_string(L, c, "pod", "");
		ce->ctr.pod_namespace = opt_string(L, c, "namespace", "");
		if (lua_getfield(L, c, "labels") == LUA_TTABLE) {
			lua_pushnil(L);
			while (lua_next(L, -2) != 0 &&
			    ce->ctr.label_count < MAX_LABELS) {
				if (lua_type(L, -2) == LUA_TSTRING &&
				    lua_type(L, -1) == LUA_TSTRING) {
					ce->labels[ce->ctr.label_count].key =
					    lua_tostring(L, -2);
					ce->labels[ce->ctr.label_count].value =
					    lua_tostring(L, -1);
					ce->ctr.label_count++;
				}
				lua_pop(L, 1);
			}
		}
		lua_pop(L, 1);
		ce->ctr.labels = ce->labels;
	}
	lua_pop(L, 1);
	ce->ev.container = &ce->ctr;
	ce->ev.time_ns = 1;
	ce->ev.id = 1;
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

	lua_getfield(L, t, "expect");
	if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
		lua_pop(L, 1);
		if (v->reason_count == 0)
			return 1;
		snprintf(why, whylen, "expected no verdict, got %s/%s from "
		    "%s: %s", uw_severity_name(v->severity),
		    uw_action_name(v->action), v->reasons[0].policy,
		    v->reasons[0].reason);
		return 0;
	}
	if (!lua_istable(L, -1)) {
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
	lua_getfield(L, t, "failed");
	may_fail = lua_toboolean(L, -1);
	lua_pop(L, 2);
	if ((sev != NULL && uw_severity_from_name(sev) < 0) ||
	    (act != NULL && uw_action_from_name(act) < 0)) {
		snprintf(why, whylen, "unknown severity or action in expect");
		return -1;
	}
	if (v->reason_count == 0) {
		snprintf(why, whylen, "expected %s/%s, got no verdict",
		    sev ? sev : "*", act ? act : "*");
		return 0;
	}
	if ((sev != NULL && strcmp(sev, uw_severity_name(v->severity))) ||
	    (act != NULL && strcmp(act, uw_action_name(v->action)))) {
		snprintf(why, whylen, "expected %s/%s, got %s/%s (%s: %s)",
		    sev ? sev : "*", act ? act : "*",
		    uw_severity_name(v->severity), uw_action_name(v->action),
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

static int
load_case_file(lua_State *L, const char *file, struct uw_error *err)
{
	char chunkname[PATH_MAX + 2], *src;
	struct stat st;
	size_t len;
	FILE *f;
	int rc;

	f = fopen(file, "re");
	if (f == NULL)
		return uw_fail(err, -errno, "%s: %s", file, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || st.st_size > MAX_CASE_FILE) {
		fclose(f);
		return uw_fail(err, -EFBIG, "%s: too big", file);
	}
	src = malloc((size_t)st.st_size + 1);
	if (src == NULL) {
		fclose(f);
		return uw_fail(err, -ENOMEM, "out of memory");
	}
	len = fread(src, 1, (size_t)st.st_size, f);
	fclose(f);
	snprintf(chunkname, sizeof(chunkname), "@%s", file);
	rc = luaL_loadbufferx(L, src, len, chunkname, "t");
	free(src);
	if (rc != LUA_OK)
		return uw_fail(err, -EINVAL, "%s", lua_tostring(L, -1));
	policy_push_env(L);
	if (lua_setupvalue(L, -2, 1) == NULL)
		lua_pop(L, 1);
	lua_sethook(L, NULL, 0, 0);
	rc = lua_pcall(L, 0, 1, 0);
	if (rc != LUA_OK)
		return uw_fail(err, -EINVAL, "%s", lua_tostring(L, -1));
	if (!lua_istable(L, -1))
		return uw_fail(err, -EINVAL, "%s: a case file must return a "
		    "list of cases (did you forget 'return'?)", file);
	return 0;
}

static int
run_file(struct uw_policy_set *set, const char *file, FILE *out,
    int *total, int *failed, struct uw_error *err)
{
	lua_State *L = policy_lua(set);
	struct case_event ce;
	struct uw_verdict v;
	char why[1024], name[256];
	uint64_t steps;
	size_t mem, n, i;
	int top = lua_gettop(L), cases, rc, ok, ci;

	rc = load_case_file(L, file, err);
	if (rc < 0) {
		lua_settop(L, top);
		return rc;
	}
	cases = lua_gettop(L);
	n = (size_t)lua_rawlen(L, cases);
	fprintf(out, "# %s: %zu cases\n", file, n);
	/* Count every instruction, not every thousandth, so authors see
	 * what each case costs. */
	policy_set_hook_period(set, 1);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, cases, (lua_Integer)i);
		ci = lua_gettop(L);
		snprintf(name, sizeof(name), "%s", lua_istable(L, -1) ?
		    opt_string(L, lua_gettop(L), "name", "(unnamed)") :
		    "(not a table)");
		(*total)++;
		why[0] = '\0';
		ok = 0;
		steps = 0;
		mem = 0;
		if (!lua_istable(L, -1)) {
			snprintf(why, sizeof(why), "case %zu is not a table",
			    i);
		} else if (read_event(L, lua_gettop(L), &ce, why,
		    sizeof(why)) == 0) {
			rc = uw_policy_evaluate(set, &ce.ev, UW_ACT_KILL, &v,
			    err);
			if (rc < 0) {
				lua_settop(L, top);
				return rc;
			}
			policy_last_usage(set, &steps, &mem);
			ok = expectation_met(L, ci, &v, why, sizeof(why)) ==
			    1;
		}
		lua_settop(L, cases);
		if (!ok)
			(*failed)++;
		fprintf(out, "%s %d - %s (instructions: %llu, memory: %zu "
		    "KiB)\n", ok ? "ok" : "not ok", *total, name,
		    (unsigned long long)steps, (mem + 1023) / 1024);
		if (!ok)
			fprintf(out, "#   %s: %s\n", file, why);
	}
	policy_set_hook_period(set, 0);
	lua_settop(L, top);
	return 0;
}

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
			rc = uw_fail(err, -errno, "%s: %s", paths[i],
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
	for (op = UW_OP_ADDED; op <= UW_OP_REPLACED; op++) {
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
				    uw_op_name(ev.op), paths[k],
				    v.reasons[i].reason);
			}
		}
	}
	return failures;
}

UW_API int
uw_policy_check(struct uw_policy_set *set, FILE *out)
{
	return policy_self_check(set, out);
}

UW_API int
uw_policy_test(struct uw_policy_set *set, const char *const *case_paths,
    size_t path_count, FILE *out, int *total, int *failed,
    struct uw_error *err)
{
	return policy_run_cases(set, case_paths, path_count, out, total,
	    failed, err);
}
