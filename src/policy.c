/*
 * policy.c - the Lua policy engine: loading policy files into a sandbox,
 * running them under limits, combining their verdicts.
 *
 * One lua_State per policy set, made with our allocator (a memory cap for
 * the whole set) and never given the standard library wholesale: each
 * policy gets a fresh environment holding an allow-list of functions, a
 * strict-globals metatable, stubs that explain what is missing, and the
 * upperwatch module.  Every call into Lua runs with a count hook that
 * checks an instruction budget and a wall-clock deadline and, once hit,
 * stays armed at every instruction so nothing can swallow the error (no
 * pcall, xpcall or coroutine reaches a policy anyway).  Lua's own pattern
 * functions are replaced by bounded ones (pattern.c): the hook cannot
 * stop C code.  A policy that fails gives medium/alert, never pause or
 * kill, and is quarantined when it keeps failing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "glob.h"
#include "names.h"
#include "policy.h"
#include "policy_int.h"
#include "util.h"

#define DEFAULT_MEMORY (16u << 20)
#define DEFAULT_INSTRUCTIONS 1000000
#define DEFAULT_DEADLINE_US 20000
#define DEFAULT_QUARANTINE 5
#define MAX_FILE_BYTES (1u << 20)
#define MAX_POLICIES 1024
#define MAX_GLOBS 256
#define MAX_NAME 128			/* bytes of a policy's name */
/* Who a reason comes from when no policy judged (the event failed). */
#define ENGINE_NAME "upperwatch"

/* ---- loading ---- */

static void
policy_free_one(struct policy *p)
{
	size_t i;

	free(p->name);
	free(p->file);
	for (i = 0; i < p->glob_count; i++) {
		free(p->globs[i]);
		glob_free(p->compiled[i]);
	}
	free(p->globs);
	free(p->compiled);
}

static void
free_reasons(struct uw_policy_set *set)
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

void
policy_free(struct uw_policy_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	if (set->L != NULL)
		lua_close(set->L);
	for (i = 0; i < set->count; i++)
		policy_free_one(&set->policies[i]);
	free(set->policies);
	free_reasons(set);
	free(set->reasons);
	free(set->store);
	for (i = 0; i < POLICY_GLOB_CACHE; i++) {
		glob_free(set->glob_cache[i].g);
		free(set->glob_cache[i].pattern);
	}
	free(set);
}

/* Read a file whole (capped). */
static char *
read_file(const char *path, size_t *len, struct uw_error *err)
{
	struct stat st;
	FILE *f;
	char *buf;

	f = fopen(path, "re");
	if (f == NULL) {
		seterr(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_FILE_BYTES) {
		fclose(f);
		seterr(err, -EINVAL, "%s: not a regular file of at most %u "
		    "bytes", path, MAX_FILE_BYTES);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fclose(f);
		seterr(err, -ENOMEM, "out of memory");
		return NULL;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

int
policy_raw_field(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);
	return lua_rawget(L, t);
}

int
policy_plain_table(lua_State *L, int idx)
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return 0;
	if (lua_getmetatable(L, idx)) {
		lua_pop(L, 1);
		return 0;
	}
	return 1;
}

/* s, when it shows well in a one-line message; else a stand-in (a
 * policy file's strings may hold anything). */
static const char *
shown(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == 256 || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "(too long or unprintable)";
	return s;
}

/*
 * Take match = { paths = {...}, ops = {...} } (the plain table at
 * `match`), by raw access.  Protected mode (check_policy).
 */
static int
load_match(lua_State *L, int match, struct policy *p, const char *file,
    struct uw_error *err)
{
	size_t i, n, len;
	const char *s;
	int op, list;

	if (policy_raw_field(L, match, "paths") != LUA_TNIL) {
		list = lua_gettop(L);
		if (!policy_plain_table(L, list))
			return seterr(err, -EINVAL, "%s: match.paths must be "
			    "a list of globs", file);
		n = (size_t)lua_rawlen(L, list);
		if (n > MAX_GLOBS)
			return seterr(err, -EINVAL, "%s: at most %d globs in "
			    "match.paths", file, MAX_GLOBS);
		p->globs = calloc(n + 1, sizeof(*p->globs));
		p->compiled = calloc(n + 1, sizeof(*p->compiled));
		if (p->globs == NULL || p->compiled == NULL)
			return seterr(err, -ENOMEM, "out of memory");
		for (i = 1; i <= n; i++) {
			if (lua_rawgeti(L, list, (lua_Integer)i) !=
			    LUA_TSTRING)
				return seterr(err, -EINVAL, "%s: match.paths"
				    "[%zu] is not a string", file, i);
			s = lua_tolstring(L, -1, &len);
			if (glob_check(s, len) < 0)
				return seterr(err, -EINVAL, "%s: bad glob "
				    "'%s' in match.paths", file, shown(s));
			p->globs[p->glob_count] = strdup(s);
			p->compiled[p->glob_count] = glob_compile(s, len);
			/* counted even when half made: freed either way */
			p->glob_count++;
			if (p->globs[p->glob_count - 1] == NULL ||
			    p->compiled[p->glob_count - 1] == NULL)
				return seterr(err, -ENOMEM, "out of memory");
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	if (policy_raw_field(L, match, "ops") != LUA_TNIL) {
		list = lua_gettop(L);
		if (!policy_plain_table(L, list))
			return seterr(err, -EINVAL, "%s: match.ops must be a "
			    "list of ops", file);
		n = (size_t)lua_rawlen(L, list);
		for (i = 1; i <= n; i++) {
			s = lua_rawgeti(L, list, (lua_Integer)i) ==
			    LUA_TSTRING ? lua_tostring(L, -1) : NULL;
			op = op_from_name(s);
			if (op <= 0)
				return seterr(err, -EINVAL, "%s: unknown op "
				    "'%s' in match.ops (added, modified, "
				    "metadata, deleted, replaced, error)",
				    file, s != NULL ? shown(s) :
				    luaL_typename(L, -1));
			p->op_mask |= 1u << op;
			lua_pop(L, 1);
		}
		if (p->op_mask == 0)
			return seterr(err, -EINVAL, "%s: match.ops is empty",
			    file);
	}
	lua_pop(L, 1);
	return 0;
}

/* Does a name read well in one line of a log or a JSON reason (no NUL
 * either: it is kept as a C string)? */
static int
name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > MAX_NAME)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* What check_policy works on. */
struct policy_check {
	struct uw_policy_set *set;
	struct policy *p;
	const char *file;
	struct uw_error *err;
	int rc;
};

/*
 * Protected: check the value a policy file returned (argument 2) and
 * take its fields into the policy (argument 1, a struct policy_check),
 * by raw access only: a table with a metatable (_ENV, a library stub,
 * the module) is refused, so no __index runs here and nothing can raise
 * but a memory error.  The verdict on the file is in rc (0 or a negative
 * error, err saying why in one line).
 */
static int
check_policy(lua_State *L)
{
	struct policy_check *c = lua_touserdata(L, 1);
	struct uw_policy_set *set = c->set;
	struct policy *p = c->p;
	const char *file = c->file, *s;
	size_t i, len;

	c->rc = -EINVAL;
	if (lua_type(L, 2) != LUA_TTABLE) {
		c->rc = seterr(c->err, -EINVAL, "%s: a policy file must "
		    "return a table (did you forget 'return'?)", file);
		return 0;
	}
	if (!policy_plain_table(L, 2)) {
		c->rc = seterr(c->err, -EINVAL, "%s: a policy file must "
		    "return a table it built, not _ENV, a library or the "
		    "upperwatch module", file);
		return 0;
	}
	if (policy_raw_field(L, 2, "name") != LUA_TSTRING) {
		c->rc = seterr(c->err, -EINVAL, "%s: the policy has no name "
		    "(a non-empty string)", file);
		return 0;
	}
	s = lua_tolstring(L, -1, &len);
	if (!name_ok(s, len)) {
		c->rc = seterr(c->err, -EINVAL, "%s: the policy name must be "
		    "1 to %d bytes, without control characters", file,
		    MAX_NAME);
		return 0;
	}
	for (i = 0; i < set->count; i++) {
		if (strcmp(set->policies[i].name, s) == 0) {
			c->rc = seterr(c->err, -EINVAL, "%s: policy name "
			    "'%s' is also used by %s", file, s,
			    set->policies[i].file);
			return 0;
		}
	}
	p->name = strdup(s);
	p->file = strdup(file);
	if (p->name == NULL || p->file == NULL) {
		c->rc = seterr(c->err, -ENOMEM, "out of memory");
		return 0;
	}
	if (policy_raw_field(L, 2, "description") != LUA_TSTRING) {
		c->rc = seterr(c->err, -EINVAL, "%s: policy '%s' has no "
		    "description (a string)", file, p->name);
		return 0;
	}
	if (policy_raw_field(L, 2, "match") != LUA_TNIL) {
		if (!policy_plain_table(L, -1)) {
			c->rc = seterr(c->err, -EINVAL, "%s: match must be a "
			    "table (of paths and ops)", file);
			return 0;
		}
		c->rc = load_match(L, lua_gettop(L), p, file, c->err);
		if (c->rc < 0)
			return 0;
	}
	if (policy_raw_field(L, 2, "evaluate") != LUA_TFUNCTION) {
		c->rc = seterr(c->err, -EINVAL, "%s: policy '%s' has no "
		    "evaluate function", file, p->name);
		return 0;
	}
	p->evaluate_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	c->rc = 0;
	return 0;
}

/* Run a policy file and check the table it returns. */
static int
load_one(struct uw_policy_set *set, const char *file, const char *src,
    size_t len, struct uw_error *err)
{
	lua_State *L = set->L;
	struct policy_check check;
	struct policy *p;
	int rc, top = lua_gettop(L);

	if (set->count == MAX_POLICIES)
		return seterr(err, -E2BIG, "at most %d policies",
		    MAX_POLICIES);
	p = &set->policies[set->count];
	memset(p, 0, sizeof(*p));
	p->evaluate_ref = LUA_NOREF;
	rc = policy_run_chunk(set, file, src, len, err);
	if (rc < 0)
		goto out;
	check.set = set;
	check.p = p;
	check.file = file;
	check.err = err;
	check.rc = -EINVAL;
	lua_pushcfunction(L, check_policy);
	lua_pushlightuserdata(L, &check);
	lua_pushvalue(L, -3);
	if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
		rc = seterr(err, -ENOMEM, "%s: memory limit reached while "
		    "loading", file);
		goto out;
	}
	rc = check.rc;
	if (rc < 0)
		goto out;
	set->count++;
	p = NULL;
out:
	if (p != NULL)
		policy_free_one(p);
	lua_settop(L, top);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The policy files named by `path`: itself, or a dir's *.lua sorted. */
int
policy_list_lua(const char *path, char ***files, size_t *count,
    struct uw_error *err)
{
	struct stat st;
	struct dirent *de;
	DIR *dh;
	char **v;
	size_t start = *count, len;

	if (stat(path, &st) != 0)
		return seterr(err, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		v = realloc(*files, (*count + 1) * sizeof(*v));
		if (v == NULL)
			return seterr(err, -ENOMEM, "out of memory");
		*files = v;
		v[*count] = strdup(path);
		if (v[*count] == NULL)
			return seterr(err, -ENOMEM, "out of memory");
		(*count)++;
		return 0;
	}
	dh = opendir(path);
	if (dh == NULL)
		return seterr(err, -errno, "%s: %s", path, strerror(errno));
	while ((de = readdir(dh)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".lua") != 0)
			continue;
		v = realloc(*files, (*count + 1) * sizeof(*v));
		if (v == NULL) {
			closedir(dh);
			return seterr(err, -ENOMEM, "out of memory");
		}
		*files = v;
		if (asprintf(&v[*count], "%s/%s", path, de->d_name) < 0) {
			closedir(dh);
			return seterr(err, -ENOMEM, "out of memory");
		}
		(*count)++;
	}
	closedir(dh);
	qsort(*files + start, *count - start, sizeof(**files), cmp_str);
	return 0;
}

struct uw_policy_set *
policy_load(const char *const *paths, size_t path_count,
    const struct uw_policy_limits *limits,
    void (*log)(const char *policy, const char *line, void *arg),
    void *log_arg, struct uw_error *err)
{
	struct uw_policy_set *set;
	XXH3_state_t digest;
	XXH128_hash_t h;
	unsigned char canon[16];
	char **files = NULL, *src;
	const char *base;
	size_t count = 0, i, len;
	int rc = 0;

	set = calloc(1, sizeof(*set));
	if (set == NULL) {
		seterr(err, -ENOMEM, "out of memory");
		return NULL;
	}
	if (limits != NULL)
		set->limits = *limits;
	if (set->limits.memory == 0)
		set->limits.memory = DEFAULT_MEMORY;
	if (set->limits.instructions == 0)
		set->limits.instructions = DEFAULT_INSTRUCTIONS;
	if (set->limits.deadline_us == 0)
		set->limits.deadline_us = DEFAULT_DEADLINE_US;
	if (set->limits.quarantine_after == 0)
		set->limits.quarantine_after = DEFAULT_QUARANTINE;
	set->mem_limit = set->limits.memory;
	set->log = log;
	set->log_arg = log_arg;
	if (policy_sandbox_open(set, err) < 0)
		goto fail;
	for (i = 0; i < path_count && rc == 0; i++)
		rc = policy_list_lua(paths[i], &files, &count, err);
	if (rc < 0)
		goto fail;
	if (count == 0) {
		seterr(err, -ENOENT, "no policy files (*.lua) in %s",
		    path_count > 0 ? paths[0] : "(nothing given)");
		goto fail;
	}
	set->policies = calloc(count, sizeof(*set->policies));
	if (set->policies == NULL) {
		seterr(err, -ENOMEM, "out of memory");
		goto fail;
	}
	XXH3_128bits_reset(&digest);
	for (i = 0; i < count; i++) {
		src = read_file(files[i], &len, err);
		if (src == NULL)
			goto fail;
		/* by name and content: the same set digests the same
		 * wherever it is installed */
		base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 :
		    files[i];
		XXH3_128bits_update(&digest, base, strlen(base) + 1);
		XXH3_128bits_update(&digest, src, len);
		rc = load_one(set, files[i], src, len, err);
		free(src);
		if (rc < 0)
			goto fail;
	}
	h = XXH3_128bits_digest(&digest);
	XXH128_canonicalFromHash((XXH128_canonical_t *)canon, h);
	hex_encode(set->digest, canon, sizeof(canon));
	for (i = 0; i < count; i++)
		free(files[i]);
	free(files);
	return set;
fail:
	for (i = 0; i < count; i++)
		free(files[i]);
	free(files);
	policy_free(set);
	return NULL;
}

const char *
policy_digest(const struct uw_policy_set *set)
{
	return set->digest;
}

size_t
policy_count(const struct uw_policy_set *set)
{
	return set->count;
}

void
policy_set_notice(struct uw_policy_set *set,
    void (*notice)(const char *msg, void *arg), void *arg)
{
	set->notice = notice;
	set->notice_arg = arg;
}

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

/* A verdict's field `key` (t absolute) by raw access: the index of its
 * value by `from_name` when it is a string, else -1. */
static int
verdict_enum(lua_State *L, int t, const char *key,
    int (*from_name)(const char *))
{
	int i = -1;

	if (policy_raw_field(L, t, key) == LUA_TSTRING)
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
	v->severity = verdict_enum(L, t, "severity", severity_from_name);
	v->action = verdict_enum(L, t, "action", action_from_name);
	if (v->severity < 0 || v->action < 0) {
		snprintf(v->why, sizeof(v->why), "no %s name",
		    v->severity < 0 ? "severity" : "action");
		return;
	}
	if (policy_raw_field(L, t, "reason") != LUA_TSTRING) {
		lua_pop(L, 1);
		snprintf(v->why, sizeof(v->why), "the reason is not a string");
		return;
	}
	v->reason = lua_tostring(L, -1);
	lua_pop(L, 1);
	if (policy_raw_field(L, t, "tags") != LUA_TNIL) {
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
 * keeping its strings alive.
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

static int
path_matches(const struct policy *p, const struct uw_event *ev)
{
	size_t i;

	if (p->glob_count == 0)
		return 1;
	for (i = 0; i < p->glob_count; i++)
		if (glob_exec(p->compiled[i], ev->path, ev->path_len) == 1)
			return 1;
	return 0;
}

/* Does the C prefilter let this policy see the event? */
int
policy_matches(const struct uw_policy_set *set, size_t i,
    const struct uw_event *ev)
{
	const struct policy *p = &set->policies[i];

	if (p->op_mask != 0 && !(p->op_mask & (1u << ev->op)))
		return 0;
	return path_matches(p, ev);
}

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
	lua_pushcfunction(L, call_evaluate);
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

int
policy_evaluate(struct uw_policy_set *set, const struct uw_event *ev,
    enum uw_action max_action, struct uw_verdict *verdict,
    struct uw_error *err)
{
	return policy_evaluate_all(set, ev, 1, max_action, verdict, err);
}

int
policy_evaluate_all(struct uw_policy_set *set, const struct uw_event *ev,
    int prefilter, enum uw_action max_action, struct uw_verdict *verdict,
    struct uw_error *err)
{
	char text[POLICY_MAX_REASON];
	size_t i;
	int built = 0, rc = 0;

	free_reasons(set);
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

void
policy_last_usage(const struct uw_policy_set *set, uint64_t *instructions,
    size_t *memory)
{
	*instructions = set->eval_steps;
	*memory = set->eval_peak;
}

lua_State *
policy_lua(struct uw_policy_set *set)
{
	return set->L;
}
