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
 * functions are replaced by bounded ones (lua_pattern.c): the hook cannot
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
#include <lualib.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "glob.h"
#include "lua_pattern.h"
#include "policy.h"
#include "util.h"

#if !defined(POLICY_HOOK_EVERY)
#define POLICY_HOOK_EVERY 1000		/* instructions between checks */
#endif
#define DEFAULT_MEMORY (16u << 20)
#define DEFAULT_INSTRUCTIONS 1000000
#define DEFAULT_DEADLINE_US 20000
#define DEFAULT_QUARANTINE 5
#define LOAD_INSTRUCTIONS 50000000	/* running a file at load */
#define LOAD_DEADLINE_US 500000
#define MAX_FILE_BYTES (1u << 20)
#define MAX_POLICIES 1024
#define MAX_GLOBS 256
#define MAX_TAGS 32
#define MAX_REASON 1024
#define LOG_BURST 10			/* log lines per policy and second */
/* Room above the cap to build an error message after hitting it. */
#define ERROR_SLACK (64u << 10)

/* Why a call into Lua stopped. */
enum limit { LIMIT_NONE, LIMIT_CPU, LIMIT_TIME };

struct policy {
	char *name;
	char *file;
	int evaluate_ref;		/* registry ref of evaluate */
	char **globs;			/* match.paths */
	struct glob **compiled;
	size_t glob_count;
	unsigned op_mask;		/* match.ops: 1 << op; 0 = all */
	unsigned failures;		/* consecutive */
	int quarantined;
	int64_t log_window_ns;
	unsigned log_count;
	/* counters */
	uint64_t runs, errors_runtime, errors_cpu, errors_memory,
	    errors_verdict;
};

struct reason_store {
	char *text;
	char **tags;
	size_t tag_count;
};

#define GLOB_CACHE 128

struct glob_slot {
	char *pattern;
	size_t len;
	struct glob *g;
};

struct uw_policy_set {
	lua_State *L;
	struct glob_slot glob_cache[GLOB_CACHE];
	size_t mem_used, mem_limit, mem_peak;
	int mem_failed;			/* the allocator refused */
	int slack;			/* allow ERROR_SLACK above the cap */
	uint64_t budget;		/* instructions for this call */
	int hook_period;		/* instructions between hook calls */
	uint64_t steps;			/* used so far in this call */
	int64_t deadline_ns;
	enum limit limit_hit;
	struct uw_policy_limits limits;
	struct policy *policies;
	size_t count;
	struct policy *running;		/* for log() and messages */
	char digest[2 * 16 + 1];
	void (*log)(const char *policy, const char *line, void *arg);
	void *log_arg;
	void (*notice)(const char *msg, void *arg);
	void *notice_arg;
	/* the last verdict */
	struct uw_reason *reasons;
	struct reason_store *store;
	size_t reason_count, reason_alloc;
	/* for `policy test`: what the last evaluation used */
	uint64_t eval_steps;
	size_t eval_peak;
	int event_ref;			/* the event being judged */
	size_t ctr_views;		/* in the container view cache */
};

/* Container views kept for reuse (a watcher's events come from a few),
 * keyed by all their fields when those take at most CTR_KEY_MAX bytes. */
#define CTR_VIEW_CACHE 32
#define CTR_KEY_MAX 16384
#define CTR_VIEW_KEY "upperwatch.containers"

static const char *const severity_names[] = {
	"info", "low", "medium", "high", "critical", NULL
};
static const char *const action_names[] = {
	"log", "alert", "pause", "kill", NULL
};
static const char *const op_names[] = {
	"", "added", "modified", "metadata", "deleted", "replaced", NULL
};

UW_API const char *
uw_severity_name(enum uw_severity s)
{
	return (unsigned)s <= UW_SEV_CRITICAL ? severity_names[s] : "unknown";
}

UW_API const char *
uw_action_name(enum uw_action a)
{
	return (unsigned)a <= UW_ACT_KILL ? action_names[a] : "unknown";
}

static int
name_index(const char *const *names, const char *name)
{
	int i;

	for (i = 0; name != NULL && names[i] != NULL; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

UW_API int
uw_severity_from_name(const char *name)
{
	return name_index(severity_names, name);
}

UW_API int
uw_action_from_name(const char *name)
{
	return name_index(action_names, name);
}

/* ---- allocator and hook ---- */

/*
 * lua_Alloc with a cap: growth past mem_limit is refused (Lua then runs
 * an emergency collection and retries once); shrinking never is.  When
 * ptr is NULL, osize is a type tag, not a size (Lua 5.4 manual).
 */
static void *
policy_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct uw_policy_set *set = ud;
	size_t limit = set->mem_limit + (set->slack ? ERROR_SLACK : 0);
	void *p;

	if (ptr == NULL)
		osize = 0;
	if (nsize == 0) {
		free(ptr);
		set->mem_used -= osize;
		return NULL;
	}
	if (nsize > osize && set->mem_used - osize + nsize > limit) {
		set->mem_failed = 1;
		return NULL;
	}
	p = realloc(ptr, nsize);
	if (p == NULL) {
		set->mem_failed = 1;
		return NULL;
	}
	set->mem_used = set->mem_used - osize + nsize;
	if (set->mem_used > set->mem_peak)
		set->mem_peak = set->mem_used;
	return p;
}

static void
policy_hook(lua_State *L, lua_Debug *ar)
{
	struct uw_policy_set *set;

	(void)ar;
	lua_getallocf(L, (void **)&set);
	set->steps += (uint64_t)set->hook_period;
	if (set->limit_hit == LIMIT_NONE) {
		if (set->steps > set->budget)
			set->limit_hit = LIMIT_CPU;
		else if (uw_now_mono_ns() > set->deadline_ns)
			set->limit_hit = LIMIT_TIME;
	}
	if (set->limit_hit != LIMIT_NONE) {
		/* Sticky: fire at every instruction from now on. */
		lua_sethook(L, policy_hook, LUA_MASKCOUNT, 1);
		luaL_error(L, set->limit_hit == LIMIT_CPU ?
		    "instruction budget exceeded" :
		    "wall-clock deadline exceeded");
	}
}

static void
arm(struct uw_policy_set *set, uint64_t budget, unsigned deadline_us)
{
	set->steps = 0;
	set->budget = budget;
	/* Counting every instruction (policy test) is far slower: the
	 * deadline stretches with it, so the budget still decides. */
	set->deadline_ns = uw_now_mono_ns() + (int64_t)deadline_us * 1000 *
	    (set->hook_period < 10 ? 100 : 1);
	set->limit_hit = LIMIT_NONE;
	set->mem_failed = 0;
	set->mem_peak = set->mem_used;
	lua_sethook(set->L, policy_hook, LUA_MASKCOUNT, set->hook_period);
}

static void
disarm(struct uw_policy_set *set)
{
	lua_sethook(set->L, NULL, 0, 0);
	set->eval_steps += set->steps;
	if (set->mem_peak > set->eval_peak)
		set->eval_peak = set->mem_peak;
}

static int
msgh(lua_State *L)
{
	struct uw_policy_set *set;

	lua_getallocf(L, (void **)&set);
	set->slack = 1;		/* room to say what went wrong */
	if (!lua_isstring(L, 1))
		lua_pushstring(L, "(error object is not a string)");
	return 1;
}

/* ---- the sandbox ---- */

static int
blocked(lua_State *L)
{
	return luaL_error(L, "%s is not available to policies",
	    lua_tostring(L, lua_upvalueindex(1)));
}

static void
set_blocked(lua_State *L, int table, const char *field, const char *what)
{
	lua_pushstring(L, what);
	lua_pushcclosure(L, blocked, 1);
	lua_setfield(L, table, field);
}

/* A table whose every field is `what.<field> is not available`. */
static int
blocked_index(lua_State *L)
{
	return luaL_error(L, "%s.%s is not available to policies",
	    lua_tostring(L, lua_upvalueindex(1)), luaL_optstring(L, 2, "?"));
}

static void
set_blocked_table(lua_State *L, int table, const char *name)
{
	lua_newtable(L);
	lua_newtable(L);
	lua_pushstring(L, name);
	lua_pushcclosure(L, blocked_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushstring(L, name);
	lua_pushcclosure(L, blocked_index, 1);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_setfield(L, table, name);
}

static int
strict_index(lua_State *L)
{
	return luaL_error(L, "undefined global '%s'", luaL_optstring(L, 2,
	    "?"));
}

static int
strict_newindex(lua_State *L)
{
	return luaL_error(L, "policies may not create globals ('%s')",
	    luaL_optstring(L, 2, "?"));
}

/* require: only "upperwatch". */
static int
policy_require(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);

	if (strcmp(name, "upperwatch") != 0)
		return luaL_error(L, "require of '%s' is not available to "
		    "policies (only \"upperwatch\")", name);
	lua_getfield(L, LUA_REGISTRYINDEX, "upperwatch.module");
	return 1;
}

/* Copy the allowed fields of library `lib` (in the registry's loaded
 * table) into a new table on the stack. */
static void
copy_lib(lua_State *L, const char *lib, const char *const *fields)
{
	int i;

	lua_newtable(L);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getfield(L, -1, lib);
	for (i = 0; fields[i] != NULL; i++) {
		lua_getfield(L, -1, fields[i]);
		lua_setfield(L, -4, fields[i]);
	}
	lua_pop(L, 2);
}

static const char *const base_allowed[] = {
	"assert", "error", "ipairs", "next", "pairs", "select", "tonumber",
	"tostring", "type", "rawequal", "rawget", "rawlen", NULL
};
static const char *const base_blocked[] = {
	"load", "loadfile", "dofile", "pcall", "xpcall", "setmetatable",
	"getmetatable", "rawset", "collectgarbage", "print", NULL
};
static const char *const string_allowed[] = {
	"byte", "char", "format", "len", "lower", "rep", "reverse", "sub",
	"upper", NULL
};
static const char *const table_allowed[] = {
	"concat", "insert", "move", "remove", "sort", "unpack", NULL
};
static const char *const math_allowed[] = {
	"abs", "ceil", "floor", "fmod", "max", "min", "tointeger", "type",
	"ult", "huge", "pi", "maxinteger", "mininteger", NULL
};
static const char *const utf8_allowed[] = {
	"char", "charpattern", "codes", "codepoint", "len", "offset", NULL
};

/* The string library policies get: allowed functions, bounded patterns,
 * and a stub for dump. */
static void
push_string_lib(lua_State *L)
{
	copy_lib(L, LUA_STRLIBNAME, string_allowed);
	lua_pattern_register(L, lua_gettop(L));
	set_blocked(L, lua_gettop(L), "dump", "string.dump");
	set_blocked(L, lua_gettop(L), "pack", "string.pack");
	set_blocked(L, lua_gettop(L), "unpack", "string.unpack");
	set_blocked(L, lua_gettop(L), "packsize", "string.packsize");
}

/* A fresh environment for one policy (or case file), on the stack. */
void
policy_push_env(lua_State *L)
{
	int env, i;

	lua_newtable(L);
	env = lua_gettop(L);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getfield(L, -1, LUA_GNAME);
	for (i = 0; base_allowed[i] != NULL; i++) {
		lua_getfield(L, -1, base_allowed[i]);
		lua_setfield(L, env, base_allowed[i]);
	}
	lua_pop(L, 2);
	for (i = 0; base_blocked[i] != NULL; i++)
		set_blocked(L, env, base_blocked[i], base_blocked[i]);
	lua_pushcfunction(L, policy_require);
	lua_setfield(L, env, "require");
	push_string_lib(L);
	lua_setfield(L, env, "string");
	copy_lib(L, LUA_TABLIBNAME, table_allowed);
	lua_setfield(L, env, "table");
	copy_lib(L, LUA_MATHLIBNAME, math_allowed);
	lua_setfield(L, env, "math");
	copy_lib(L, LUA_UTF8LIBNAME, utf8_allowed);
	lua_setfield(L, env, "utf8");
	set_blocked_table(L, env, "os");
	set_blocked_table(L, env, "io");
	set_blocked_table(L, env, "debug");
	set_blocked_table(L, env, "package");
	set_blocked_table(L, env, "coroutine");
	lua_getfield(L, LUA_REGISTRYINDEX, "upperwatch.module");
	lua_setfield(L, env, "upperwatch");
	lua_pushvalue(L, env);
	lua_setfield(L, env, "_G");
	/* Strict globals, and no way to reach this metatable. */
	lua_newtable(L);
	lua_pushcfunction(L, strict_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, strict_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, env);
}

/* ---- the upperwatch module (C helpers, linear time, no I/O) ---- */

static size_t
trim_slashes(const char *s, size_t len)
{
	while (len > 1 && s[len - 1] == '/')
		len--;
	return len;
}

/* upperwatch.glob(path, pattern): does path match the glob?  Policies
 * use a handful of constant patterns: compiled ones are kept, by slot. */
static int
m_glob(lua_State *L)
{
	struct uw_policy_set *set;
	struct glob_slot *slot;
	size_t plen, glen;
	const char *path = luaL_checklstring(L, 1, &plen);
	const char *pat = luaL_checklstring(L, 2, &glen);
	int rc;

	lua_getallocf(L, (void **)&set);
	slot = &set->glob_cache[XXH3_64bits(pat, glen) % GLOB_CACHE];
	if (slot->g == NULL || slot->len != glen ||
	    memcmp(slot->pattern, pat, glen) != 0) {
		glob_free(slot->g);
		free(slot->pattern);
		slot->g = glob_compile(pat, glen);
		slot->pattern = malloc(glen + 1);
		slot->len = glen;
		if (slot->g == NULL || slot->pattern == NULL) {
			glob_free(slot->g);
			free(slot->pattern);
			slot->g = NULL;
			slot->pattern = NULL;
			return luaL_error(L, "bad glob pattern '%s'", pat);
		}
		memcpy(slot->pattern, pat, glen + 1);
	}
	rc = glob_exec(slot->g, (const unsigned char *)path, plen);
	if (rc < 0)
		return luaL_error(L, "bad glob pattern '%s'", pat);
	lua_pushboolean(L, rc);
	return 1;
}

/* upperwatch.under(path, dir): is path dir itself or below it, by whole
 * components ("/etc" is not under "/et")? */
static int
m_under(lua_State *L)
{
	size_t plen, dlen;
	const char *path = luaL_checklstring(L, 1, &plen);
	const char *dir = luaL_checklstring(L, 2, &dlen);

	plen = trim_slashes(path, plen);
	dlen = trim_slashes(dir, dlen);
	if (dlen == 1 && dir[0] == '/') {
		lua_pushboolean(L, plen > 0 && path[0] == '/');
		return 1;
	}
	lua_pushboolean(L, plen >= dlen && memcmp(path, dir, dlen) == 0 &&
	    (plen == dlen || path[dlen] == '/'));
	return 1;
}

/* upperwatch.basename(path): the last component. */
static int
m_basename(lua_State *L)
{
	size_t len;
	const char *path = luaL_checklstring(L, 1, &len), *slash;

	len = trim_slashes(path, len);
	slash = len > 1 ? memrchr(path, '/', len) : NULL;
	if (slash == NULL)
		lua_pushlstring(L, path, len);
	else
		lua_pushlstring(L, slash + 1, len - (size_t)(slash - path) - 1);
	return 1;
}

/* upperwatch.dirname(path): all but the last component ("/" for "/x"). */
static int
m_dirname(lua_State *L)
{
	size_t len;
	const char *path = luaL_checklstring(L, 1, &len), *slash;

	len = trim_slashes(path, len);
	slash = memrchr(path, '/', len);
	if (slash == NULL)
		lua_pushliteral(L, ".");
	else if (slash == path)
		lua_pushliteral(L, "/");
	else
		lua_pushlstring(L, path, (size_t)(slash - path));
	return 1;
}

/* upperwatch.ext(path): the extension without the dot, or "". */
static int
m_ext(lua_State *L)
{
	size_t len, i;
	const char *path = luaL_checklstring(L, 1, &len);

	len = trim_slashes(path, len);
	for (i = len; i > 0; i--) {
		if (path[i - 1] == '/')
			break;
		if (path[i - 1] == '.') {
			/* a leading dot names a hidden file, not a type */
			if (i - 1 == 0 || path[i - 2] == '/')
				break;
			lua_pushlstring(L, path + i, len - i);
			return 1;
		}
	}
	lua_pushliteral(L, "");
	return 1;
}

/* upperwatch.runtime_file(path): is it a file the container runtime
 * writes into every container at start (Docker, containerd, Podman,
 * CRI-O)?  Podman writes some with mode 0755: policies on executables
 * must not mistake them for dropped programs. */
static int
m_runtime_file(lua_State *L)
{
	static const char *const files[] = {
		"/etc/hostname", "/etc/hosts", "/etc/resolv.conf",
		"/etc/mtab", "/run/.containerenv", "/.containerenv",
		"/etc/.pwd.lock", "/run/secrets", NULL
	};
	size_t len, i, n;
	const char *path = luaL_checklstring(L, 1, &len);

	for (i = 0; files[i] != NULL; i++) {
		n = strlen(files[i]);
		if (len >= n && memcmp(path, files[i], n) == 0 &&
		    (len == n || (path[n] == '/' &&
		    strcmp(files[i], "/run/secrets") == 0))) {
			lua_pushboolean(L, 1);
			return 1;
		}
	}
	lua_pushboolean(L, 0);
	return 1;
}

static lua_Integer
mode_arg(lua_State *L)
{
	if (lua_isnoneornil(L, 1))
		return 0;	/* no record: no bits */
	return luaL_checkinteger(L, 1);
}

static int
m_setuid(lua_State *L)
{
	lua_pushboolean(L, (mode_arg(L) & 04000) != 0);
	return 1;
}

static int
m_setgid(lua_State *L)
{
	lua_pushboolean(L, (mode_arg(L) & 02000) != 0);
	return 1;
}

static int
m_world_writable(lua_State *L)
{
	lua_pushboolean(L, (mode_arg(L) & 0002) != 0);
	return 1;
}

static int
m_executable(lua_State *L)
{
	lua_pushboolean(L, (mode_arg(L) & 0111) != 0);
	return 1;
}

/* upperwatch.log(fmt, ...): a line for the operator, rate-limited and
 * tagged with the policy's name. */
static int
m_log(lua_State *L)
{
	struct uw_policy_set *set;
	struct policy *p;
	int64_t now = uw_now_mono_ns();
	const char *line;
	int n = lua_gettop(L);

	lua_getallocf(L, (void **)&set);
	p = set->running;
	/* string.format from the policy's own (bounded) library */
	lua_getfield(L, LUA_REGISTRYINDEX, "upperwatch.format");
	lua_insert(L, 1);
	lua_call(L, n, 1);
	line = lua_tostring(L, -1);
	if (line == NULL || set->log == NULL)
		return 0;
	if (p != NULL) {
		if (now - p->log_window_ns > 1000000000) {
			p->log_window_ns = now;
			p->log_count = 0;
		}
		if (++p->log_count > LOG_BURST)
			return 0;
	}
	set->log(p != NULL ? p->name : "(load)", line, set->log_arg);
	return 0;
}

/* upperwatch.verdict(severity, action, reason[, {tags = {...}}]): a
 * verdict table; an unknown severity or action is an error. */
static int
m_verdict(lua_State *L)
{
	const char *sev = luaL_checkstring(L, 1);
	const char *act = luaL_checkstring(L, 2);
	size_t rlen, i, n;

	luaL_checklstring(L, 3, &rlen);
	if (uw_severity_from_name(sev) < 0)
		return luaL_error(L, "unknown severity '%s' (info, low, "
		    "medium, high, critical)", sev);
	if (uw_action_from_name(act) < 0)
		return luaL_error(L, "unknown action '%s' (log, alert, pause, "
		    "kill)", act);
	lua_createtable(L, 0, 4);
	lua_pushvalue(L, 1);
	lua_setfield(L, -2, "severity");
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, "action");
	lua_pushvalue(L, 3);
	lua_setfield(L, -2, "reason");
	lua_newtable(L);
	if (!lua_isnoneornil(L, 4)) {
		luaL_checktype(L, 4, LUA_TTABLE);
		if (lua_getfield(L, 4, "tags") != LUA_TNIL) {
			luaL_argcheck(L, lua_istable(L, -1), 4,
			    "tags must be a list of strings");
			n = (size_t)lua_rawlen(L, -1);
			for (i = 1; i <= n && i <= MAX_TAGS; i++) {
				if (lua_rawgeti(L, -1, (lua_Integer)i) !=
				    LUA_TSTRING)
					return luaL_error(L, "tags must be a "
					    "list of strings");
				lua_rawseti(L, -3, (lua_Integer)i);
			}
		}
		lua_pop(L, 1);
	}
	lua_setfield(L, -2, "tags");
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, "_verdict");
	return 1;
}

static const luaL_Reg module_funcs[] = {
	{ "glob", m_glob },
	{ "under", m_under },
	{ "basename", m_basename },
	{ "dirname", m_dirname },
	{ "ext", m_ext },
	{ "setuid", m_setuid },
	{ "setgid", m_setgid },
	{ "world_writable", m_world_writable },
	{ "executable", m_executable },
	{ "runtime_file", m_runtime_file },
	{ "log", m_log },
	{ "verdict", m_verdict },
	{ NULL, NULL }
};

/* Open what the sandbox copies from, and build the module.  Runs in
 * protected mode (lua_pcall) so a memory failure is an error. */
static int
open_state(lua_State *L)
{
	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
	lua_pop(L, 5);
	/* The module, shared read-only in spirit: policies cannot reach
	 * rawset or setmetatable, and assignment is refused. */
	/* Policies see an empty proxy: reads go to the functions, every
	 * assignment (even over an existing name) is refused, and without
	 * rawset or getmetatable nobody reaches the table behind it. */
	lua_newtable(L);
	lua_newtable(L);
	luaL_newlib(L, module_funcs);
	lua_setfield(L, -2, "__index");
	lua_pushstring(L, "upperwatch");
	lua_pushcclosure(L, blocked_index, 1);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, "upperwatch.module");
	/* The string metatable: methods ("x"):upper() go to a bounded copy
	 * no policy can reach or change. */
	push_string_lib(L);
	lua_getfield(L, -1, "format");
	lua_setfield(L, LUA_REGISTRYINDEX, "upperwatch.format");
	lua_pushliteral(L, "");
	lua_newtable(L);
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_pop(L, 2);
	return 0;
}

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

UW_API void
uw_policy_free(struct uw_policy_set *set)
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
	for (i = 0; i < GLOB_CACHE; i++) {
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
		uw_fail(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_FILE_BYTES) {
		fclose(f);
		uw_fail(err, -EINVAL, "%s: not a regular file of at most %u "
		    "bytes", path, MAX_FILE_BYTES);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fclose(f);
		uw_fail(err, -ENOMEM, "out of memory");
		return NULL;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Where a Lua error message should point: it starts "file:line:" when
 * Lua knew the line; else prefix the file. */
static int
lua_fail(struct uw_error *err, const char *file, const char *msg)
{
	size_t flen = strlen(file);

	if (msg == NULL)
		msg = "unknown error";
	if (strncmp(msg, file, flen) == 0 && msg[flen] == ':')
		return uw_fail(err, -EINVAL, "%s", msg);
	return uw_fail(err, -EINVAL, "%s: %s", file, msg);
}

/* Take match = { paths = {...}, ops = {...} } (table at top). */
static int
load_match(lua_State *L, struct policy *p, const char *file,
    struct uw_error *err)
{
	size_t i, n, len;
	const char *s;
	int op;

	if (lua_getfield(L, -1, "paths") != LUA_TNIL) {
		if (!lua_istable(L, -1))
			return uw_fail(err, -EINVAL, "%s: match.paths must be "
			    "a list of globs", file);
		n = (size_t)lua_rawlen(L, -1);
		if (n > MAX_GLOBS)
			return uw_fail(err, -EINVAL, "%s: at most %d globs in "
			    "match.paths", file, MAX_GLOBS);
		p->globs = calloc(n + 1, sizeof(*p->globs));
		p->compiled = calloc(n + 1, sizeof(*p->compiled));
		if (p->globs == NULL || p->compiled == NULL)
			return uw_fail(err, -ENOMEM, "out of memory");
		for (i = 1; i <= n; i++) {
			if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING)
				return uw_fail(err, -EINVAL, "%s: match.paths"
				    "[%zu] is not a string", file, i);
			s = lua_tolstring(L, -1, &len);
			if (glob_check(s, len) < 0)
				return uw_fail(err, -EINVAL, "%s: bad glob "
				    "'%s' in match.paths", file, s);
			p->globs[p->glob_count] = strdup(s);
			p->compiled[p->glob_count] = glob_compile(s, len);
			if (p->globs[p->glob_count] == NULL ||
			    p->compiled[p->glob_count] == NULL)
				return uw_fail(err, -ENOMEM, "out of memory");
			p->glob_count++;
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	if (lua_getfield(L, -1, "ops") != LUA_TNIL) {
		if (!lua_istable(L, -1))
			return uw_fail(err, -EINVAL, "%s: match.ops must be a "
			    "list of ops", file);
		n = (size_t)lua_rawlen(L, -1);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, (lua_Integer)i);
			s = lua_tostring(L, -1);
			op = s != NULL ? name_index(op_names, s) : -1;
			if (op <= 0)
				return uw_fail(err, -EINVAL, "%s: unknown op "
				    "'%s' in match.ops (added, modified, "
				    "metadata, deleted, replaced)", file,
				    s ? s : "?");
			p->op_mask |= 1u << op;
			lua_pop(L, 1);
		}
		if (p->op_mask == 0)
			return uw_fail(err, -EINVAL, "%s: match.ops is empty",
			    file);
	}
	lua_pop(L, 1);
	return 0;
}

/* Run a policy file and check the table it returns. */
static int
load_one(struct uw_policy_set *set, const char *file, const char *src,
    size_t len, struct uw_error *err)
{
	lua_State *L = set->L;
	struct policy *p;
	char chunkname[PATH_MAX + 2];
	const char *s;
	size_t i;
	int rc, top = lua_gettop(L);

	if (set->count == MAX_POLICIES)
		return uw_fail(err, -E2BIG, "at most %d policies",
		    MAX_POLICIES);
	p = &set->policies[set->count];
	memset(p, 0, sizeof(*p));
	p->evaluate_ref = LUA_NOREF;
	snprintf(chunkname, sizeof(chunkname), "@%s", file);
	lua_pushcfunction(L, msgh);
	/* Text only: a precompiled chunk can break the VM's invariants. */
	rc = luaL_loadbufferx(L, src, len, chunkname, "t");
	if (rc != LUA_OK) {
		rc = lua_fail(err, file, lua_tostring(L, -1));
		goto out;
	}
	policy_push_env(L);
	if (lua_setupvalue(L, -2, 1) == NULL)
		lua_pop(L, 1);
	set->running = NULL;
	set->slack = 0;
	arm(set, LOAD_INSTRUCTIONS, LOAD_DEADLINE_US);
	rc = lua_pcall(L, 0, 1, top + 1);
	disarm(set);
	set->slack = 0;
	if (rc != LUA_OK) {
		rc = lua_fail(err, file, rc == LUA_ERRMEM ?
		    "memory limit reached while loading" : lua_tostring(L, -1));
		goto out;
	}
	if (!lua_istable(L, -1)) {
		rc = uw_fail(err, -EINVAL, "%s: a policy file must return a "
		    "table (did you forget 'return'?)", file);
		goto out;
	}
	if (lua_getfield(L, -1, "name") != LUA_TSTRING ||
	    lua_rawlen(L, -1) == 0) {
		rc = uw_fail(err, -EINVAL, "%s: the policy has no name "
		    "(a non-empty string)", file);
		goto out;
	}
	s = lua_tostring(L, -1);
	for (i = 0; i < set->count; i++) {
		if (strcmp(set->policies[i].name, s) == 0) {
			rc = uw_fail(err, -EINVAL, "%s: policy name '%s' is "
			    "also used by %s", file, s,
			    set->policies[i].file);
			goto out;
		}
	}
	p->name = strdup(s);
	p->file = strdup(file);
	if (p->name == NULL || p->file == NULL) {
		rc = uw_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, -1, "description") != LUA_TSTRING) {
		rc = uw_fail(err, -EINVAL, "%s: policy '%s' has no "
		    "description (a string)", file, p->name);
		goto out;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, -1, "match") != LUA_TNIL) {
		if (!lua_istable(L, -1)) {
			rc = uw_fail(err, -EINVAL, "%s: match must be a table",
			    file);
			goto out;
		}
		rc = load_match(L, p, file, err);
		if (rc < 0)
			goto out;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, -1, "evaluate") != LUA_TFUNCTION) {
		rc = uw_fail(err, -EINVAL, "%s: policy '%s' has no evaluate "
		    "function", file, p->name);
		goto out;
	}
	p->evaluate_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	set->count++;
	rc = 0;
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
		return uw_fail(err, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		v = realloc(*files, (*count + 1) * sizeof(*v));
		if (v == NULL)
			return uw_fail(err, -ENOMEM, "out of memory");
		*files = v;
		v[*count] = strdup(path);
		if (v[*count] == NULL)
			return uw_fail(err, -ENOMEM, "out of memory");
		(*count)++;
		return 0;
	}
	dh = opendir(path);
	if (dh == NULL)
		return uw_fail(err, -errno, "%s: %s", path, strerror(errno));
	while ((de = readdir(dh)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".lua") != 0)
			continue;
		v = realloc(*files, (*count + 1) * sizeof(*v));
		if (v == NULL) {
			closedir(dh);
			return uw_fail(err, -ENOMEM, "out of memory");
		}
		*files = v;
		if (asprintf(&v[*count], "%s/%s", path, de->d_name) < 0) {
			closedir(dh);
			return uw_fail(err, -ENOMEM, "out of memory");
		}
		(*count)++;
	}
	closedir(dh);
	qsort(*files + start, *count - start, sizeof(**files), cmp_str);
	return 0;
}

UW_API struct uw_policy_set *
uw_policy_load(const char *const *paths, size_t path_count,
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
		uw_fail(err, -ENOMEM, "out of memory");
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
	set->hook_period = POLICY_HOOK_EVERY;
	set->log = log;
	set->log_arg = log_arg;
	set->L = lua_newstate(policy_alloc, set);
	if (set->L == NULL) {
		uw_fail(err, -ENOMEM, "cannot create a Lua state");
		goto fail;
	}
	lua_pushcfunction(set->L, open_state);
	if (lua_pcall(set->L, 0, 0, 0) != LUA_OK) {
		uw_fail(err, -ENOMEM, "cannot set up the policy sandbox: %s",
		    lua_tostring(set->L, -1));
		goto fail;
	}
	for (i = 0; i < path_count && rc == 0; i++)
		rc = policy_list_lua(paths[i], &files, &count, err);
	if (rc < 0)
		goto fail;
	if (count == 0) {
		uw_fail(err, -ENOENT, "no policy files (*.lua) in %s",
		    path_count > 0 ? paths[0] : "(nothing given)");
		goto fail;
	}
	set->policies = calloc(count, sizeof(*set->policies));
	if (set->policies == NULL) {
		uw_fail(err, -ENOMEM, "out of memory");
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
	uw_hex(set->digest, canon, sizeof(canon));
	for (i = 0; i < count; i++)
		free(files[i]);
	free(files);
	return set;
fail:
	for (i = 0; i < count; i++)
		free(files[i]);
	free(files);
	uw_policy_free(set);
	return NULL;
}

UW_API const char *
uw_policy_digest(const struct uw_policy_set *set)
{
	return set->digest;
}

UW_API size_t
uw_policy_count(const struct uw_policy_set *set)
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

/* ---- the event as a Lua table ---- */

static void
push_bytes_field(lua_State *L, const char *key, const unsigned char *b,
    size_t len)
{
	lua_pushlstring(L, (const char *)b, len);
	lua_setfield(L, -2, key);
}

static void
push_record(lua_State *L, const struct uw_record *r)
{
	char hex[2 * 64 + 1];

	lua_createtable(L, 0, 9);
	lua_pushstring(L, uw_file_type_name(r->type));
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, r->mode);
	lua_setfield(L, -2, "mode");
	lua_pushinteger(L, r->uid);
	lua_setfield(L, -2, "uid");
	lua_pushinteger(L, r->gid);
	lua_setfield(L, -2, "gid");
	lua_pushinteger(L, (lua_Integer)r->size);
	lua_setfield(L, -2, "size");
	lua_pushinteger(L, r->mtime_ns);
	lua_setfield(L, -2, "mtime");
	if (r->flags & UW_REC_HASHED) {
		uw_hex(hex, r->hash, UW_HASH_LEN);
		lua_pushstring(L, hex);
		lua_setfield(L, -2, "hash");
	}
	if (r->link != NULL)
		push_bytes_field(L, "link", r->link, r->link_len);
	if (r->caps != NULL && r->caps_len <= 64) {
		uw_hex(hex, r->caps, r->caps_len);
		lua_pushstring(L, hex);
		lua_setfield(L, -2, "caps");
	}
}

static void
push_str_field(lua_State *L, const char *key, const char *value)
{
	lua_pushstring(L, value != NULL ? value : "");
	lua_setfield(L, -2, key);
}

static int
ro_newindex(lua_State *L)
{
	return luaL_error(L, "the event is read-only (field '%s')",
	    luaL_optstring(L, 2, "?"));
}

/* The table behind a read-only view (argument 1), pushed. */
static void
push_sealed(lua_State *L)
{
	if (!lua_getmetatable(L, 1))
		lua_newtable(L);
	lua_getfield(L, -1, "__index");
	lua_remove(L, -2);
}

static int
ro_pairs(lua_State *L)
{
	lua_getglobal(L, "next");	/* the state's own, not a policy's */
	push_sealed(L);
	lua_pushnil(L);
	return 3;
}

static int
ro_len(lua_State *L)
{
	push_sealed(L);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
	return 1;
}

/*
 * Replace the table on top of the stack by a read-only view of it: reads
 * (fields, pairs, ipairs, #) see the table, writes fail.  One event is
 * built once and shared by every policy that judges it, so no policy
 * can change what the next one sees.  Two tables per view; the
 * metamethods are light C functions (no allocation).
 */
static void
seal(lua_State *L)
{
	lua_newtable(L);			/* the view */
	lua_createtable(L, 0, 5);		/* its metatable */
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, ro_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushcfunction(L, ro_pairs);
	lua_setfield(L, -2, "__pairs");
	lua_pushcfunction(L, ro_len);
	lua_setfield(L, -2, "__len");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_remove(L, -2);
}

static void
add_key_field(luaL_Buffer *b, const char *v)
{
	size_t len = v != NULL ? strlen(v) : 0;
	uint32_t n = (uint32_t)len;

	luaL_addlstring(b, (const char *)&n, sizeof(n));
	luaL_addlstring(b, v != NULL ? v : "", len);
}

/* What a container's view is built from, every field length-prefixed:
 * the cache key (compared whole: no hash to collide). */
static void
push_container_key(lua_State *L, const struct uw_container *c)
{
	luaL_Buffer b;
	size_t i;

	luaL_buffinit(L, &b);
	add_key_field(&b, c->id);
	add_key_field(&b, c->name);
	add_key_field(&b, c->image);
	add_key_field(&b, c->image_id);
	add_key_field(&b, c->runtime);
	add_key_field(&b, c->pod);
	add_key_field(&b, c->pod_namespace);
	for (i = 0; i < c->label_count; i++) {
		add_key_field(&b, c->labels[i].key);
		add_key_field(&b, c->labels[i].value);
	}
	luaL_pushresult(&b);
}

static void
push_container(lua_State *L, const struct uw_container *c)
{
	size_t i;

	lua_createtable(L, 0, 8);
	if (c != NULL) {
		push_str_field(L, "id", c->id);
		push_str_field(L, "name", c->name);
		push_str_field(L, "image", c->image);
		push_str_field(L, "image_id", c->image_id);
		push_str_field(L, "runtime", c->runtime);
		push_str_field(L, "pod", c->pod);
		push_str_field(L, "namespace", c->pod_namespace);
		lua_createtable(L, 0, (int)c->label_count);
		for (i = 0; i < c->label_count; i++)
			push_str_field(L, c->labels[i].key,
			    c->labels[i].value);
		seal(L);
		lua_setfield(L, -2, "labels");
	} else {
		lua_newtable(L);
		seal(L);
		lua_setfield(L, -2, "labels");
	}
	seal(L);
}

/*
 * The container's view, from the cache when an event of the same
 * container (same fields) built it: four tables and a dozen strings
 * less per event.  The cache starts over when full.
 */
static void
push_container_view(lua_State *L, const struct uw_container *c)
{
	struct uw_policy_set *set;
	void *ud;
	int tbl;

	if (c == NULL) {
		push_container(L, c);
		return;
	}
	lua_getallocf(L, &ud);
	set = ud;
	if (lua_getfield(L, LUA_REGISTRYINDEX, CTR_VIEW_KEY) != LUA_TTABLE ||
	    set->ctr_views >= CTR_VIEW_CACHE) {
		lua_pop(L, 1);
		lua_createtable(L, 0, CTR_VIEW_CACHE);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, CTR_VIEW_KEY);
		set->ctr_views = 0;
	}
	tbl = lua_gettop(L);
	push_container_key(L, c);			/* tbl key */
	if (lua_rawlen(L, -1) > CTR_KEY_MAX) {
		lua_pop(L, 2);		/* huge labels: not worth keeping */
		push_container(L, c);
		return;
	}
	lua_pushvalue(L, -1);
	if (lua_rawget(L, tbl) == LUA_TNIL) {		/* tbl key view */
		lua_pop(L, 1);
		push_container(L, c);
		lua_pushvalue(L, -2);
		lua_pushvalue(L, -2);
		lua_rawset(L, tbl);
		set->ctr_views++;
	}
	lua_replace(L, tbl);				/* view key */
	lua_pop(L, 1);
}

/* The DESIGN §4 fields, as read-only tables. */
static int
push_event(lua_State *L)
{
	const struct uw_event *ev = lua_touserdata(L, 1);

	lua_createtable(L, 0, 8);
	lua_pushstring(L, uw_op_name(ev->op));
	lua_setfield(L, -2, "op");
	push_bytes_field(L, "path", ev->path, ev->path_len);
	lua_pushstring(L, uw_file_type_name(ev->type));
	lua_setfield(L, -2, "type");
	if (ev->current != NULL) {
		push_record(L, ev->current);
		seal(L);
		lua_setfield(L, -2, "current");
	}
	if (ev->baseline != NULL) {
		push_record(L, ev->baseline);
		seal(L);
		lua_setfield(L, -2, "baseline");
	}
	push_container_view(L, ev->container);
	lua_setfield(L, -2, "container");
	lua_pushinteger(L, ev->time_ns);
	lua_setfield(L, -2, "time");
	lua_pushinteger(L, (lua_Integer)ev->id);
	lua_setfield(L, -2, "id");
	seal(L);
	return 1;
}

/* Protected: evaluate(event) -> verdict or nil; the event is the
 * set's shared one (registry ref in arg 1). */
static int
call_evaluate(lua_State *L)
{
	int ref = (int)lua_tointeger(L, 2);

	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, (int)lua_tointeger(L, 1));
	lua_call(L, 1, 1);
	return 1;
}

/* ---- evaluation ---- */

static int
reason_add(struct uw_policy_set *set, const struct policy *p,
    enum uw_severity sev, enum uw_action act, const char *text, int failed)
{
	struct uw_reason *r;
	struct reason_store *st;
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
	st->text = strndup(text, MAX_REASON);
	if (st->text == NULL)
		return -ENOMEM;
	r->policy = p->name;
	r->severity = sev;
	r->action = act;
	r->reason = st->text;
	r->failed = failed;
	set->reason_count++;
	return 0;
}

/* Read the returned verdict (at the top); -1 if malformed. */
static int
take_verdict(struct uw_policy_set *set, const struct policy *p)
{
	lua_State *L = set->L;
	struct reason_store *st;
	const char *sev, *act, *reason, *tag;
	size_t i, n;
	int s, a;

	if (!lua_istable(L, -1))
		return -1;
	lua_getfield(L, -1, "severity");
	lua_getfield(L, -2, "action");
	lua_getfield(L, -3, "reason");
	sev = lua_tostring(L, -3);
	act = lua_tostring(L, -2);
	reason = lua_tostring(L, -1);
	s = uw_severity_from_name(sev);
	a = uw_action_from_name(act);
	if (s < 0 || a < 0 || reason == NULL || lua_type(L, -3) !=
	    LUA_TSTRING || lua_type(L, -2) != LUA_TSTRING) {
		lua_pop(L, 3);
		return -1;
	}
	if (reason_add(set, p, (enum uw_severity)s, (enum uw_action)a, reason,
	    0) < 0) {
		lua_pop(L, 3);
		return -2;
	}
	lua_pop(L, 3);
	st = &set->store[set->reason_count - 1];
	if (lua_getfield(L, -1, "tags") == LUA_TTABLE) {
		n = (size_t)lua_rawlen(L, -1);
		if (n > MAX_TAGS)
			n = MAX_TAGS;
		st->tags = calloc(n + 1, sizeof(*st->tags));
		for (i = 1; st->tags != NULL && i <= n; i++) {
			lua_rawgeti(L, -1, (lua_Integer)i);
			tag = lua_tostring(L, -1);
			if (tag != NULL) {
				st->tags[st->tag_count] = strdup(tag);
				if (st->tags[st->tag_count] != NULL)
					st->tag_count++;
			}
			lua_pop(L, 1);
		}
		set->reasons[set->reason_count - 1].tags =
		    (const char *const *)st->tags;
		set->reasons[set->reason_count - 1].tag_count = st->tag_count;
	}
	lua_pop(L, 1);
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
	char text[MAX_REASON];

	snprintf(text, sizeof(text), "policy %s failed: %s", p->name, cause);
	(void)reason_add(set, p, UW_SEV_MEDIUM, UW_ACT_ALERT, text, 1);
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

/* Run one policy on the event; its reason (if any) is appended. */
static int
run_policy(struct uw_policy_set *set, struct policy *p,
    const struct uw_event *ev)
{
	lua_State *L = set->L;
	int rc, top = lua_gettop(L), vr;

	p->runs++;
	set->running = p;
	set->slack = 0;
	(void)ev;
	lua_pushcfunction(L, msgh);
	lua_pushcfunction(L, call_evaluate);
	lua_pushinteger(L, set->event_ref);
	lua_pushinteger(L, p->evaluate_ref);
	arm(set, set->limits.instructions, set->limits.deadline_us);
	rc = lua_pcall(L, 2, 1, top + 1);
	disarm(set);
	set->slack = 0;
	set->running = NULL;
	if (rc == LUA_OK) {
		if (lua_isnil(L, -1)) {
			p->failures = 0;
		} else {
			vr = take_verdict(set, p);
			if (vr == -1) {
				p->errors_verdict++;
				failed(set, p, "malformed verdict (use "
				    "upperwatch.verdict(severity, action, "
				    "reason))");
			} else if (vr == 0) {
				p->failures = 0;
			}
		}
	} else if (set->limit_hit == LIMIT_CPU) {
		p->errors_cpu++;
		failed(set, p, "instruction budget exceeded");
	} else if (set->limit_hit == LIMIT_TIME) {
		p->errors_cpu++;
		failed(set, p, "wall-clock deadline exceeded");
	} else if (rc == LUA_ERRMEM || set->mem_failed) {
		p->errors_memory++;
		failed(set, p, "memory limit reached");
	} else {
		p->errors_runtime++;
		failed(set, p, lua_tostring(L, -1) ? lua_tostring(L, -1) :
		    "error");
	}
	lua_settop(L, top);
	if (rc != LUA_OK)
		lua_gc(L, LUA_GCCOLLECT);
	return 0;
}

UW_API int
uw_policy_evaluate(struct uw_policy_set *set, const struct uw_event *ev,
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
	size_t i;

	free_reasons(set);
	memset(verdict, 0, sizeof(*verdict));
	verdict->policy_set = set->digest;
	set->eval_steps = 0;
	set->eval_peak = set->mem_used;
	/* Built once, in protected mode (the memory cap applies), shared
	 * read-only by every policy. */
	set->event_ref = LUA_NOREF;
	lua_pushcfunction(set->L, push_event);
	lua_pushlightuserdata(set->L, (void *)ev);
	set->mem_failed = 0;
	if (lua_pcall(set->L, 1, 1, 0) == LUA_OK) {
		set->event_ref = luaL_ref(set->L, LUA_REGISTRYINDEX);
	} else {
		lua_pop(set->L, 1);
		lua_gc(set->L, LUA_GCCOLLECT);
	}
	for (i = 0; i < set->count; i++) {
		struct policy *p = &set->policies[i];

		if (p->quarantined || (prefilter &&
		    !policy_matches(set, i, ev)))
			continue;
		if (set->event_ref == LUA_NOREF) {
			p->errors_memory++;
			failed(set, p, "memory limit reached (the event)");
			continue;
		}
		if (run_policy(set, p, ev) < 0) {
			luaL_unref(set->L, LUA_REGISTRYINDEX, set->event_ref);
			return uw_fail(err, -ENOMEM, "out of memory");
		}
	}
	if (set->event_ref != LUA_NOREF)
		luaL_unref(set->L, LUA_REGISTRYINDEX, set->event_ref);
	set->event_ref = LUA_NOREF;
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
policy_set_hook_period(struct uw_policy_set *set, int period)
{
	set->hook_period = period > 0 ? period : POLICY_HOOK_EVERY;
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
