/*
 * policy_eval.c - judging an event: every policy whose prefilter passes
 * runs on it, under the limits, and the verdicts combine.
 *
 * What evaluate returns is read by raw access only, so a hostile value
 * cannot run code or lie through a metatable; a malformed one is the
 * policy's failure.  Every matching policy runs and the highest severity
 * and action win, with every reason kept; the operator's cap clamps the
 * action.  A policy that fails (runtime error, a limit, a malformed
 * verdict) gives medium/alert naming it, never pause or kill, and is
 * quarantined, with a notice, once it fails quarantine_after times in a
 * row, until the next load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "glob.h"
#include "names.h"
#include "policy_int.h"
#include "util.h"

/* Who a reason comes from when no policy judged (the event failed). */
#define ENGINE_NAME "upperwatch"

/* ---- reading a verdict ---- */

/* What a returned verdict says.  The strings live in the verdict table,
 * which stays on the stack while they are used. */
enum verdict_status { VERDICT_NONE, VERDICT_OK, VERDICT_BAD };

struct verdict_read {
	enum verdict_status status;
	int severity, action;
	const char *reason;
	const char *tags[POLICY_MAX_TAGS];
	size_t tag_count;
	char why[96];			/* VERDICT_BAD: what is wrong */
};

/* One policy call: what call_evaluate needs, and what it found. */
struct eval_call {
	const struct uw_policy_set *set;
	const struct policy *p;
	struct verdict_read v;
};

/* The fields of a verdict: call_evaluate's upvalues, so that reading
 * one copies a string Lua has rather than finding a C string's. */
enum verdict_key { V_SEVERITY = 1, V_ACTION, V_REASON, V_TAGS, V_END };

static const char *const verdict_keys[V_END] = {
	NULL, "severity", "action", "reason", "tags"
};

/* Push a verdict's field k (t absolute) by raw access; its type. */
static int
verdict_field(lua_State *L, int t, enum verdict_key k)
{
	lua_pushvalue(L, lua_upvalueindex(k));
	return lua_rawget(L, t);
}

/* A verdict's field k (t absolute) by raw access: the index of its
 * value by `from_name` when it is a string, else -1. */
static int
verdict_enum(lua_State *L, int t, enum verdict_key k,
    int (*from_name)(const char *))
{
	int i = -1;

	if (verdict_field(L, t, k) == LUA_TSTRING)
		i = from_name(lua_tostring(L, -1));
	lua_pop(L, 1);
	return i;
}

/*
 * Read the value at t (what evaluate returned) as a verdict, by raw
 * access only: no metamethod runs, so a hostile value (_ENV, os, the
 * module, the event, a table with a table or a number where a name
 * belongs) cannot raise, loop or lie through __index; it is just
 * malformed.  Runs in protected mode (call_evaluate): only memory can
 * fail.
 */
static void
read_verdict(lua_State *L, int t, struct verdict_read *v)
{
	size_t i, n;
	int tags;

	v->tag_count = 0;
	if (lua_isnil(L, t)) {
		v->status = VERDICT_NONE;
		return;
	}
	v->status = VERDICT_BAD;
	if (lua_type(L, t) != LUA_TTABLE) {
		snprintf(v->why, sizeof(v->why), "a %s, not a table",
		    luaL_typename(L, t));
		return;
	}
	if (!policy_plain_table(L, t)) {
		snprintf(v->why, sizeof(v->why), "a table with a metatable "
		    "(_ENV, a library, the event?)");
		return;
	}
	v->severity = verdict_enum(L, t, V_SEVERITY, severity_from_name);
	v->action = verdict_enum(L, t, V_ACTION, action_from_name);
	if (v->severity < 0 || v->action < 0) {
		snprintf(v->why, sizeof(v->why), "no %s name",
		    v->severity < 0 ? "severity" : "action");
		return;
	}
	if (verdict_field(L, t, V_REASON) != LUA_TSTRING) {
		lua_pop(L, 1);
		snprintf(v->why, sizeof(v->why), "the reason is not a string");
		return;
	}
	v->reason = lua_tostring(L, -1);
	lua_pop(L, 1);
	if (verdict_field(L, t, V_TAGS) != LUA_TNIL) {
		tags = lua_gettop(L);
		if (!policy_plain_table(L, tags)) {
			snprintf(v->why, sizeof(v->why), "tags is not a list");
			return;
		}
		n = (size_t)lua_rawlen(L, tags);
		for (i = 1; i <= n && i <= POLICY_MAX_TAGS; i++) {
			if (lua_rawgeti(L, tags, (lua_Integer)i) !=
			    LUA_TSTRING) {
				snprintf(v->why, sizeof(v->why), "tags[%zu] is "
				    "not a string", i);
				return;
			}
			v->tags[v->tag_count++] = lua_tostring(L, -1);
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	v->status = VERDICT_OK;
}

/*
 * Protected: evaluate(event), and what it returned read as a verdict
 * (into the struct eval_call in argument 1).  The verdict is returned,
 * keeping its strings alive.  Its upvalues are verdict_keys.
 */
static int
call_evaluate(lua_State *L)
{
	struct eval_call *c = lua_touserdata(L, 1);

	lua_rawgeti(L, LUA_REGISTRYINDEX, c->p->evaluate_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, c->set->event_slot);
	lua_call(L, 1, 1);
	read_verdict(L, lua_gettop(L), &c->v);
	return 1;
}

/* ---- evaluation ---- */

/* Free the reasons of the last verdict (which dies with them). */
void
policy_free_reasons(struct uw_policy_set *set)
{
	size_t i, j;

	for (i = 0; i < set->reason_count; i++) {
		free(set->store[i].text);
		for (j = 0; j < set->store[i].tag_count; j++)
			free(set->store[i].tags[j]);
		free(set->store[i].tags);
	}
	set->reason_count = 0;
}

/* Append a reason from `policy` (a name that outlives the verdict). */
static int
reason_add(struct uw_policy_set *set, const char *policy,
    enum uw_severity sev, enum uw_action act, const char *text, int failed)
{
	struct uw_reason *r;
	struct policy_reason_store *st;
	size_t alloc;

	if (set->reason_count == set->reason_alloc) {
		alloc = set->reason_alloc ? set->reason_alloc * 2 : 8;
		r = realloc(set->reasons, alloc * sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		set->reasons = r;
		st = realloc(set->store, alloc * sizeof(*st));
		if (st == NULL)
			return -ENOMEM;
		set->store = st;
		set->reason_alloc = alloc;
	}
	r = &set->reasons[set->reason_count];
	st = &set->store[set->reason_count];
	memset(r, 0, sizeof(*r));
	memset(st, 0, sizeof(*st));
	st->text = strndup(text, POLICY_MAX_REASON);
	if (st->text == NULL)
		return -ENOMEM;
	r->policy = policy;
	r->severity = sev;
	r->action = act;
	r->reason = st->text;
	r->failed = failed;
	set->reason_count++;
	return 0;
}

/* Keep a well-formed verdict read by call_evaluate (its strings still
 * on the stack). */
static int
take_verdict(struct uw_policy_set *set, const struct policy *p,
    const struct verdict_read *v)
{
	struct policy_reason_store *st;
	struct uw_reason *r;
	size_t i;

	if (reason_add(set, p->name, (enum uw_severity)v->severity,
	    (enum uw_action)v->action, v->reason, 0) < 0)
		return -ENOMEM;
	if (v->tag_count == 0)
		return 0;
	r = &set->reasons[set->reason_count - 1];
	st = &set->store[set->reason_count - 1];
	st->tags = calloc(v->tag_count + 1, sizeof(*st->tags));
	if (st->tags == NULL)
		return -ENOMEM;
	for (i = 0; i < v->tag_count; i++) {
		st->tags[st->tag_count] = strdup(v->tags[i]);
		if (st->tags[st->tag_count] == NULL)
			return -ENOMEM;
		st->tag_count++;
	}
	r->tags = (const char *const *)st->tags;
	r->tag_count = st->tag_count;
	return 0;
}

/* Does the event's path match one of the policy's match.paths globs
 * (or has it none)? */
static int
path_matches(const struct policy *p, const struct uw_event *ev)
{
	return p->glob_count == 0 ||
	    glob_set_exec(p->paths, ev->path, ev->path_len) == 1;
}

/* 1 << v, for a value of an enum an embedder may have set to anything
 * (0: one outside any mask). */
static unsigned
bit(int v)
{
	return v >= 0 && v < 32 ? 1u << v : 0;
}

/* The match.current properties record r has (POLICY_CUR_*); none when
 * there is no record.  Caps of any length count, so a policy that reads
 * cur.caps sees every event where it is set. */
static unsigned
current_has(const struct uw_record *r)
{
	unsigned has = 0;

	if (r == NULL)
		return 0;
	if (r->mode & 0111)
		has |= POLICY_CUR_EXECUTABLE;
	if (r->mode & 04000)
		has |= POLICY_CUR_SETUID;
	if (r->mode & 02000)
		has |= POLICY_CUR_SETGID;
	if (r->mode & 0002)
		has |= POLICY_CUR_WORLD_WRITABLE;
	if (r->caps != NULL)
		has |= POLICY_CUR_CAPS;
	return has;
}

/* Does the C prefilter let this policy see the event? */
int
policy_matches(const struct uw_policy_set *set, size_t i,
    const struct uw_event *ev)
{
	const struct policy *p = &set->policies[i];

	if (p->op_mask != 0 && !(p->op_mask & bit(ev->op)))
		return 0;
	if (p->type_mask != 0 && !(p->type_mask & bit(ev->type)))
		return 0;
	if (p->check_mask != 0 && !(p->check_mask & bit(ev->package_check)))
		return 0;
	if (p->current_mask != 0 && !(p->current_mask &
	    current_has(ev->current)))
		return 0;
	return path_matches(p, ev);
}

/*
 * Record that policy p failed on this event: a medium/alert reason
 * naming it and `cause` (dropped if memory runs out), and, at
 * quarantine_after failures in a row, quarantine it with a notice.
 */
static void
failed(struct uw_policy_set *set, struct policy *p, const char *cause)
{
	char text[POLICY_MAX_REASON];

	snprintf(text, sizeof(text), "policy %s failed: %s", p->name, cause);
	(void)reason_add(set, p->name, UW_SEV_MEDIUM, UW_ACT_ALERT, text, 1);
	if (++p->failures >= set->limits.quarantine_after &&
	    !p->quarantined) {
		p->quarantined = 1;
		if (set->notice != NULL) {
			snprintf(text, sizeof(text), "ALERT: policy %s (%s) "
			    "failed %u times in a row and is quarantined "
			    "until the policies are reloaded; last error: %s",
			    p->name, p->file, p->failures, cause);
			set->notice(text, set->notice_arg);
		}
	}
}

/* Run one policy on the event; its reason (if any) is appended.
 * Returns 0, or -ENOMEM when a reason could not be kept. */
static int
run_policy(struct uw_policy_set *set, struct policy *p)
{
	lua_State *L = set->L;
	struct eval_call call;
	char cause[sizeof(call.v.why) + 128];
	int rc, top = lua_gettop(L), ret = 0;

	p->runs++;
	set->running = p;
	set->slack = 0;
	call.set = set;
	call.p = p;
	lua_pushcfunction(L, policy_msgh);
	lua_rawgeti(L, LUA_REGISTRYINDEX, set->evaluator);
	lua_pushlightuserdata(L, &call);
	policy_arm(set, set->limits.instructions, set->limits.deadline_us);
	rc = lua_pcall(L, 1, 1, top + 1);
	policy_disarm(set);
	set->slack = 0;
	set->running = NULL;
	if (rc == LUA_OK) {
		if (call.v.status == VERDICT_NONE) {
			p->failures = 0;
		} else if (call.v.status == VERDICT_BAD) {
			p->errors_verdict++;
			snprintf(cause, sizeof(cause), "malformed verdict: %s "
			    "(use upperwatch.verdict(severity, action, "
			    "reason))", call.v.why);
			failed(set, p, cause);
		} else {
			ret = take_verdict(set, p, &call.v);
			if (ret == 0)
				p->failures = 0;
		}
	} else if (set->limit_hit == POLICY_LIMIT_CPU) {
		p->errors_cpu++;
		failed(set, p, "instruction budget exceeded");
	} else if (set->limit_hit == POLICY_LIMIT_TIME) {
		p->errors_cpu++;
		failed(set, p, "wall-clock deadline exceeded");
	} else if (rc == LUA_ERRMEM || set->mem_failed) {
		p->errors_memory++;
		failed(set, p, "memory limit reached");
	} else {
		p->errors_runtime++;
		failed(set, p, policy_error_text(L, -1));
	}
	lua_settop(L, top);
	if (rc != LUA_OK)
		lua_gc(L, LUA_GCCOLLECT);
	return ret;
}

/* Protected (the state's set-up): call_evaluate with its keys, kept in
 * the registry; the ref. */
int
policy_evaluator(lua_State *L)
{
	return policy_keyed_closure(L, call_evaluate, verdict_keys, V_END);
}

/* Judge `ev` with the policies whose prefilter passes (upperwatch.h). */
int
policy_evaluate(struct uw_policy_set *set, const struct uw_event *ev,
    enum uw_action max_action, struct uw_verdict *verdict,
    struct uw_error *err)
{
	return policy_evaluate_all(set, ev, 1, max_action, verdict, err);
}

/*
 * Judge `ev` with every policy not quarantined (whose prefilter passes,
 * when `prefilter`), and combine their reasons into *verdict, its action
 * capped at max_action.  The verdict's reasons live until the next
 * evaluation.  Returns 0, or -ENOMEM (err says so).
 */
int
policy_evaluate_all(struct uw_policy_set *set, const struct uw_event *ev,
    int prefilter, enum uw_action max_action, struct uw_verdict *verdict,
    struct uw_error *err)
{
	char text[POLICY_MAX_REASON];
	size_t i;
	int built = 0, rc = 0;

	policy_free_reasons(set);
	memset(verdict, 0, sizeof(*verdict));
	verdict->policy_set = set->digest;
	set->eval_steps = 0;
	set->eval_peak = set->mem_used;
	for (i = 0; i < set->count && rc == 0; i++) {
		struct policy *p = &set->policies[i];

		if (p->quarantined || (prefilter &&
		    !policy_matches(set, i, ev)))
			continue;
		/* Built once, when a policy first wants it, and shared
		 * read-only by every policy that judges it. */
		if (!built) {
			built = 1;
			if (policy_build_event(set, ev) < 0) {
				snprintf(text, sizeof(text), "the event could "
				    "not be judged: the policies' memory "
				    "limit (%zu bytes) was reached while "
				    "building it", set->mem_limit);
				rc = reason_add(set, ENGINE_NAME,
				    UW_SEV_MEDIUM, UW_ACT_ALERT, text, 1);
				break;
			}
		}
		rc = run_policy(set, p);
	}
	/* Let the event go; the slot exists, so this cannot allocate. */
	if (built) {
		lua_pushboolean(set->L, 0);
		lua_rawseti(set->L, LUA_REGISTRYINDEX, set->event_slot);
	}
	if (rc < 0)
		return seterr(err, -ENOMEM, "out of memory");
	for (i = 0; i < set->reason_count; i++) {
		if (set->reasons[i].severity > verdict->severity)
			verdict->severity = set->reasons[i].severity;
		if (set->reasons[i].action > verdict->wanted)
			verdict->wanted = set->reasons[i].action;
	}
	verdict->action = verdict->wanted > max_action ? max_action :
	    verdict->wanted;
	verdict->reasons = set->reasons;
	verdict->reason_count = set->reason_count;
	return 0;
}

/* What the last evaluation used (policy.h). */
void
policy_last_usage(const struct uw_policy_set *set, uint64_t *instructions,
    size_t *memory)
{
	*instructions = set->eval_steps;
	*memory = set->eval_peak;
}
