/*
 * policy.c - the policy engine's front door: loading a policy set and
 * freeing it.
 *
 * A set is the policy files a path names (the file, or a directory's
 * *.lua in name order), each run in its own sandbox environment under
 * the load limits (policy_sandbox.c) and the table it returns checked by
 * raw access: name, description, the match prefilter compiled to C
 * globs and masks (ops, types, current, package_check), the evaluate
 * function.  The set's digest covers
 * every file's name and content.  Any failure frees the half-made set
 * and says which file and why, so a reload that fails keeps the set the
 * caller already runs.  Judging events is policy_eval.c's job.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>

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

/* ---- loading ---- */

/* Free what a policy owns (not the struct: it lives in the set's array);
 * a half-loaded policy is fine. */
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
	glob_set_free(p->paths);
	free(p->globs);
	free(p->compiled);
}

/* Close the set's Lua state and free everything it owns; NULL is a
 * no-op.  A half-made set (a failed load) is fine. */
void
policy_free(struct uw_policy_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	policy_ctr_views_clear(set, 0);
	buf_free(&set->ctr_key);
	if (set->L != NULL)
		lua_close(set->L);
	policy_blocks_free(set);
	for (i = 0; i < set->count; i++)
		policy_free_one(&set->policies[i]);
	free(set->policies);
	policy_free_reasons(set);
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

/* t[key] by raw access, pushed; its type returned (policy.h). */
int
policy_raw_field(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);
	return lua_rawget(L, t);
}

/* Is idx a table without a metatable (policy.h)? */
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

/* The words of match.current, in the order of the POLICY_CUR_* bits. */
static const char *const current_names[] = {
	"executable", "setuid", "setgid", "world_writable", "caps", NULL
};

static int
current_from_name(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && current_names[i] != NULL; i++)
		if (strcmp(current_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* A name's value in a closed set (names.h), or -1. */
typedef int (*value_of_fn)(const char *name);

/* One list of names in match (`key`: ops, types, current,
 * package_check), by raw access: *mask gets 1 << value of each (by
 * `value_of`); `what` is one of them and `known` lists them, for the
 * message.  An absent list leaves *mask 0 (all pass).  Protected mode
 * (check_policy). */
static int
load_names(lua_State *L, int match, const char *key, value_of_fn value_of,
    const char *what, const char *known, unsigned *mask, const char *file,
    struct uw_error *err)
{
	size_t i, n;
	const char *s;
	int v, list;

	if (policy_raw_field(L, match, key) != LUA_TNIL) {
		list = lua_gettop(L);
		if (!policy_plain_table(L, list))
			return seterr(err, -EINVAL, "%s: match.%s must be a "
			    "list of names (%s)", file, key, known);
		n = (size_t)lua_rawlen(L, list);
		for (i = 1; i <= n; i++) {
			s = lua_rawgeti(L, list, (lua_Integer)i) ==
			    LUA_TSTRING ? lua_tostring(L, -1) : NULL;
			v = value_of(s);
			if (v < 0)
				return seterr(err, -EINVAL, "%s: unknown %s "
				    "'%s' in match.%s (%s)", file, what,
				    s != NULL ? shown(s) :
				    luaL_typename(L, -1), key, known);
			*mask |= 1u << v;
			lua_pop(L, 1);
		}
		if (*mask == 0)
			return seterr(err, -EINVAL, "%s: match.%s is empty",
			    file, key);
	}
	lua_pop(L, 1);
	return 0;
}

/* Is every field of match (the plain table at `match`) one of its
 * lists?  A misspelt one would filter nothing and let every event
 * through.  Raw walk; protected mode. */
static int
match_fields_known(lua_State *L, int match, const char *file,
    struct uw_error *err)
{
	static const char *const fields[] = {
		"paths", "ops", "types", "current", "package_check", NULL
	};
	size_t i;

	lua_pushnil(L);
	while (lua_next(L, match) != 0) {
		lua_pop(L, 1);
		for (i = 0; lua_type(L, -1) == LUA_TSTRING &&
		    fields[i] != NULL; i++)
			if (strcmp(lua_tostring(L, -1), fields[i]) == 0)
				break;
		if (lua_type(L, -1) != LUA_TSTRING || fields[i] == NULL)
			return seterr(err, -EINVAL, "%s: unknown field '%s' in "
			    "match (paths, ops, types, current, "
			    "package_check)", file, lua_type(L, -1) ==
			    LUA_TSTRING ? shown(lua_tostring(L, -1)) :
			    luaL_typename(L, -1));
	}
	return 0;
}

/*
 * Take match = { paths = {...}, ops = {...}, types = {...}, current =
 * {...}, package_check = {...} } (the plain table at `match`), by raw
 * access.  Protected mode (check_policy).
 */
static int
load_match(lua_State *L, int match, struct policy *p, const char *file,
    struct uw_error *err)
{
	size_t i, n, len;
	const char *s;
	int list;

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
		p->paths = glob_set_new(p->compiled, p->glob_count);
		if (p->paths == NULL)
			return seterr(err, -ENOMEM, "out of memory");
	}
	lua_pop(L, 1);
	if (load_names(L, match, "ops", op_from_name, "op", "added, "
	    "modified, metadata, deleted, replaced, error, exec",
	    &p->op_mask, file, err) < 0 ||
	    load_names(L, match, "types", file_type_from_name, "type",
	    "file, dir, symlink, fifo, socket, chardev, blockdev",
	    &p->type_mask, file, err) < 0 ||
	    load_names(L, match, "current", current_from_name, "property",
	    "executable, setuid, setgid, world_writable, caps",
	    &p->current_mask, file, err) < 0 ||
	    load_names(L, match, "package_check", package_check_from_name,
	    "check", "match, mismatch, unowned, unknown", &p->check_mask,
	    file, err) < 0)
		return -EINVAL;
	return match_fields_known(L, match, file, err);
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
			    "table (of paths, ops, types, current, "
			    "package_check)", file);
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

/* qsort comparator: two C strings by strcmp. */
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

/*
 * Load the policy files `paths` name into a new set, under `limits` (0
 * fields: the defaults).  Returns the set, or NULL with err saying which
 * file failed and why (upperwatch.h has the contract).
 */
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
	buf_init(&set->ctr_key, POLICY_CTR_KEY_MAX);
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

/* The set's digest: hex XXH3-128 of its files' names and contents. */
const char *
policy_digest(const struct uw_policy_set *set)
{
	return set->digest;
}

/* How many policies the set holds. */
size_t
policy_count(const struct uw_policy_set *set)
{
	return set->count;
}

/* Send quarantine alerts to `notice` (NULL: nowhere). */
void
policy_set_notice(struct uw_policy_set *set,
    void (*notice)(const char *msg, void *arg), void *arg)
{
	set->notice = notice;
	set->notice_arg = arg;
}

void
policy_set_packages(struct uw_policy_set *set,
    int (*package_of)(void *arg, const unsigned char *path, size_t len,
    struct uw_package *out), void *arg)
{
	set->package_of = package_of;
	set->package_arg = arg;
}

/* The set's Lua state, for the case runner (policy_cases.c). */
lua_State *
policy_lua(struct uw_policy_set *set)
{
	return set->L;
}
