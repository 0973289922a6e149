/*
 * policy_sandbox.c - the sandbox policies run in, and the limits on
 * every call into Lua.
 *
 * One lua_State per policy set, made with our allocator (a memory cap for
 * the whole set) and never given the standard library wholesale: each
 * policy gets a fresh environment holding an allow-list of functions, a
 * strict-globals metatable, stubs that explain what is missing, and the
 * upperwatch module (policy_module.c).  Every call into Lua runs with a
 * count hook that checks an instruction budget and a wall-clock deadline
 * and, once hit, stays armed at every instruction so nothing can swallow
 * the error (no pcall, xpcall or coroutine reaches a policy anyway).
 * Lua's own pattern functions are replaced by bounded ones (pattern.c):
 * the hook cannot stop C code.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "pattern.h"
#include "policy_int.h"
#include "util.h"

#if !defined(POLICY_HOOK_EVERY)
#define POLICY_HOOK_EVERY 1000		/* instructions between checks */
#endif
#define LOAD_INSTRUCTIONS 50000000	/* running a file at load */
#define LOAD_DEADLINE_US 500000
/* Room above the cap to build an error message after hitting it. */
#define ERROR_SLACK (64u << 10)
/* Registry keys. */
#define ERRERR_KEY "upperwatch.errerr"

/* ---- allocator and hook ---- */

/*
 * Small blocks are most of what Lua allocates for an event (tables,
 * their nodes, strings, userdata), and all of it is freed again within
 * a collection or two: a free list per size class hands them back out
 * without malloc's bookkeeping, which measured about a seventh of the
 * cost of building an event.  A class's blocks are malloc'ed at the
 * class's size, so any block of the class fits the next request; the
 * lists hold at most POLICY_BLOCK_CACHE bytes, past that a block goes
 * back to free().
 */
static size_t
block_class(size_t size)
{
	return (size + POLICY_BLOCK_GRAIN - 1) / POLICY_BLOCK_GRAIN;
}

static void *
block_get(struct uw_policy_set *set, size_t size)
{
	size_t c = block_class(size);
	void *p;

	if (c >= POLICY_BLOCK_CLASSES)
		return malloc(size);
	p = set->free_blocks[c];
	if (p == NULL)
		return malloc(c * POLICY_BLOCK_GRAIN);
	memcpy(&set->free_blocks[c], p, sizeof(p));	/* its next */
	set->free_block_bytes -= c * POLICY_BLOCK_GRAIN;
	return p;
}

static void
block_put(struct uw_policy_set *set, void *p, size_t size)
{
	size_t c = block_class(size);

	if (c == 0 || c >= POLICY_BLOCK_CLASSES ||
	    set->free_block_bytes + c * POLICY_BLOCK_GRAIN >
	    POLICY_BLOCK_CACHE) {
		free(p);
		return;
	}
	memcpy(p, &set->free_blocks[c], sizeof(p));
	set->free_blocks[c] = p;
	set->free_block_bytes += c * POLICY_BLOCK_GRAIN;
}

void
policy_blocks_free(struct uw_policy_set *set)
{
	void *p, *next;
	size_t c;

	for (c = 0; c < POLICY_BLOCK_CLASSES; c++) {
		for (p = set->free_blocks[c]; p != NULL; p = next) {
			memcpy(&next, p, sizeof(next));
			free(p);
		}
		set->free_blocks[c] = NULL;
	}
	set->free_block_bytes = 0;
}

/* Move a block to a new size: in place within its class, by realloc
 * between big sizes, else by a copy into a block of the new size. */
static void *
block_resize(struct uw_policy_set *set, void *ptr, size_t osize,
    size_t nsize)
{
	size_t oc = block_class(osize), nc = block_class(nsize);
	void *p;

	if (oc == nc && oc < POLICY_BLOCK_CLASSES)
		return ptr;
	if (oc >= POLICY_BLOCK_CLASSES && nc >= POLICY_BLOCK_CLASSES)
		return realloc(ptr, nsize);
	p = block_get(set, nsize);
	if (p == NULL)
		return NULL;
	memcpy(p, ptr, osize < nsize ? osize : nsize);
	block_put(set, ptr, osize);
	return p;
}

/*
 * lua_Alloc with a cap: growth past mem_limit is refused (Lua then runs
 * an emergency collection and retries once); shrinking never is.  When
 * ptr is NULL, osize is a type tag, not a size (Lua 5.4 manual).  The
 * cap counts the bytes Lua asked for, not the blocks kept for reuse.
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
		if (ptr != NULL)
			block_put(set, ptr, osize);
		set->mem_used -= osize;
		return NULL;
	}
	if (nsize > osize && set->mem_used - osize + nsize > limit) {
		set->mem_failed = 1;
		return NULL;
	}
	p = ptr == NULL ? block_get(set, nsize) :
	    block_resize(set, ptr, osize, nsize);
	if (p == NULL && nsize <= osize)
		p = ptr;	/* a shrink never fails: the block is big enough */
	if (p == NULL) {
		set->mem_failed = 1;
		return NULL;
	}
	set->mem_used = set->mem_used - osize + nsize;
	if (set->mem_used > set->mem_peak)
		set->mem_peak = set->mem_used;
	return p;
}

/*
 * The count hook: every hook_period instructions, charge them and check
 * the budget and the deadline; once either is hit, raise, and re-arm at
 * every instruction so that the error comes back however it is caught.
 */
static void
policy_hook(lua_State *L, lua_Debug *ar)
{
	struct uw_policy_set *set;

	(void)ar;
	lua_getallocf(L, (void **)&set);
	set->steps += (uint64_t)set->hook_period;
	if (set->limit_hit == POLICY_LIMIT_NONE) {
		if (set->steps > set->budget)
			set->limit_hit = POLICY_LIMIT_CPU;
		else if (set->deadline_ns == 0)
			set->deadline_ns = now_mono_ns() + set->deadline_span;
		else if (now_mono_ns() > set->deadline_ns)
			set->limit_hit = POLICY_LIMIT_TIME;
	}
	if (set->limit_hit != POLICY_LIMIT_NONE) {
		/* Sticky: fire at every instruction from now on. */
		lua_sethook(L, policy_hook, LUA_MASKCOUNT, 1);
		luaL_error(L, set->limit_hit == POLICY_LIMIT_CPU ?
		    "instruction budget exceeded" :
		    "wall-clock deadline exceeded");
	}
}

/*
 * Arm the limits for one call into Lua: `budget` instructions (counted
 * every hook_period) and `deadline_us` of wall clock; clear the last
 * call's limit and memory failure, and start its memory peak.  The
 * deadline runs from the hook's first call, hook_period instructions
 * in (microseconds): most calls end before it, and so never read the
 * clock.
 */
void
policy_arm(struct uw_policy_set *set, uint64_t budget, unsigned deadline_us)
{
	set->steps = 0;
	set->budget = budget;
	/* Counting every instruction (policy test) is far slower: the
	 * deadline stretches with it, so the budget still decides. */
	set->deadline_span = (int64_t)deadline_us * 1000 *
	    (set->hook_period < 10 ? 100 : 1);
	set->deadline_ns = 0;
	set->limit_hit = POLICY_LIMIT_NONE;
	set->mem_failed = 0;
	set->mem_peak = set->mem_used;
	lua_sethook(set->L, policy_hook, LUA_MASKCOUNT, set->hook_period);
}

/* Take the hook off after a call, and add what the call used to the
 * evaluation's counts (policy_last_usage). */
void
policy_disarm(struct uw_policy_set *set)
{
	lua_sethook(set->L, NULL, 0, 0);
	set->eval_steps += set->steps;
	if (set->mem_peak > set->eval_peak)
		set->eval_peak = set->mem_peak;
}

/*
 * The message handler of every call into policy code: the error object
 * becomes a string here, in protected mode, so that reading it after
 * lua_pcall returns never converts (allocates) outside protection.
 */
int
policy_msgh(lua_State *L)
{
	struct uw_policy_set *set;

	lua_getallocf(L, (void **)&set);
	set->slack = 1;		/* room to say what went wrong */
	if (lua_type(L, 1) == LUA_TNUMBER)
		lua_tostring(L, 1);
	else if (lua_type(L, 1) != LUA_TSTRING)
		lua_pushfstring(L, "(error object is a %s value)",
		    luaL_typename(L, 1));
	return 1;
}

/* The error message at idx when it is a string (policy_msgh made sure),
 * or a stand-in: never converts, so never allocates. */
const char *
policy_error_text(lua_State *L, int idx)
{
	return lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) :
	    "(error object is not a string)";
}

/*
 * lua_atpanic handler: Lua calls it on an error outside any protected
 * call, then aborts.  Every call into the state runs under lua_pcall,
 * and what runs outside (pushing light C functions and light userdata,
 * reading strings, clearing the event slot) neither raises nor
 * allocates, so this is a broken invariant: one line, then the abort.
 */
static int
policy_panic(lua_State *L)
{
	fprintf(stderr, "upperwatch: fatal: unprotected error in the policy "
	    "engine: %s\n", policy_error_text(L, -1));
	fflush(stderr);
	return 0;
}

/* ---- the sandbox ---- */

/* A stub left where a function is not allowed: raise, naming it
 * (upvalue 1). */
static int
blocked(lua_State *L)
{
	return luaL_error(L, "%s is not available to policies",
	    lua_tostring(L, lua_upvalueindex(1)));
}

/* t[field] = a stub that raises "`what` is not available" (t at
 * index `table`). */
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

/* t[name] = a table whose every read and write raises "name.<field> is
 * not available" (t at index `table`). */
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

/* __index of a policy's _ENV: reading an unknown global raises. */
static int
strict_index(lua_State *L)
{
	return luaL_error(L, "undefined global '%s'", luaL_optstring(L, 2,
	    "?"));
}

/* __newindex of a policy's _ENV: creating a global raises. */
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
	lua_getfield(L, LUA_REGISTRYINDEX, POLICY_MODULE_KEY);
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

/* next, pairs, rawget and rawlen are the view-aware ones (policy_push_env). */
static const char *const base_allowed[] = {
	"assert", "error", "ipairs", "select", "tonumber",
	"tostring", "type", "rawequal", NULL
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
	pattern_register(L, lua_gettop(L));
	set_blocked(L, lua_gettop(L), "dump", "string.dump");
	set_blocked(L, lua_gettop(L), "pack", "string.pack");
	set_blocked(L, lua_gettop(L), "unpack", "string.unpack");
	set_blocked(L, lua_gettop(L), "packsize", "string.packsize");
}

/* A fresh environment for one policy (or case file), on the stack.
 * Allocates: call it in protected mode only. */
static void
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
	lua_pushcfunction(L, policy_view_next);
	lua_setfield(L, env, "next");
	lua_pushcfunction(L, policy_view_pairs);
	lua_setfield(L, env, "pairs");
	lua_pushcfunction(L, policy_view_rawget);
	lua_setfield(L, env, "rawget");
	lua_pushcfunction(L, policy_view_rawlen);
	lua_setfield(L, env, "rawlen");
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
	lua_getfield(L, LUA_REGISTRYINDEX, POLICY_MODULE_KEY);
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

/* Open what the sandbox copies from, and build the module.  Runs in
 * protected mode (lua_pcall) so a memory failure is an error. */
static int
open_state(lua_State *L)
{
	struct uw_policy_set *set;

	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
	/* Every env copies its table library from this one. */
	policy_guard_table_lib(L, lua_gettop(L) - 2);
	lua_pop(L, 5);
	/* The error object Lua makes, outside any protection, when a message
	 * handler fails: interned now, so that making it then finds it
	 * instead of allocating past the cap (and panicking). */
	lua_pushliteral(L, "error in error handling");
	lua_setfield(L, LUA_REGISTRYINDEX, ERRERR_KEY);
	/* The slot of the event being judged (false between events). */
	lua_getallocf(L, (void **)&set);
	lua_pushboolean(L, 0);
	set->event_slot = luaL_ref(L, LUA_REGISTRYINDEX);
	set->event_builder = policy_event_builder(L);
	set->evaluator = policy_evaluator(L);
	/* The module, shared read-only in spirit: policies cannot reach
	 * rawset or setmetatable, and assignment is refused. */
	/* Policies see an empty proxy: reads go to the functions, every
	 * assignment (even over an existing name) is refused, and without
	 * rawset or getmetatable nobody reaches the table behind it. */
	lua_newtable(L);
	lua_newtable(L);
	policy_module_new(L);
	lua_setfield(L, -2, "__index");
	lua_pushstring(L, "upperwatch");
	lua_pushcclosure(L, blocked_index, 1);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, POLICY_MODULE_KEY);
	/* The string metatable: methods ("x"):upper() go to a bounded copy
	 * no policy can reach or change. */
	push_string_lib(L);
	lua_getfield(L, -1, "format");
	lua_setfield(L, LUA_REGISTRYINDEX, POLICY_FORMAT_KEY);
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

/*
 * Make the set's Lua state: our allocator, the panic handler, the
 * libraries the sandbox copies from, the module, the string metatable.
 * Returns 0, or a negative error (err says why) with set->L left for
 * policy_free to close when it was made.
 */
int
policy_sandbox_open(struct uw_policy_set *set, struct uw_error *err)
{
	set->hook_period = POLICY_HOOK_EVERY;
	set->L = lua_newstate(policy_alloc, set);
	if (set->L == NULL)
		return seterr(err, -ENOMEM, "cannot create a Lua state");
	lua_atpanic(set->L, policy_panic);
	/* Generational: an event and its views die young, by the
	 * thousand a second; a full sweep for them cost 13% of a trivial
	 * policy's call.  No table of the state is weak and nothing has a
	 * finalizer (policies cannot set a metatable). */
	lua_gc(set->L, LUA_GCGEN, 0, 0);
	lua_pushcfunction(set->L, open_state);
	if (lua_pcall(set->L, 0, 0, 0) != LUA_OK)
		return seterr(err, -ENOMEM, "cannot set up the policy "
		    "sandbox: %s", policy_error_text(set->L, -1));
	return 0;
}

/* ---- running a chunk ---- */

/* Where a Lua error message should point: it starts "file:line:" when
 * Lua knew the line; else prefix the file. */
static int
chunk_error(struct uw_error *err, const char *file, const char *msg)
{
	size_t flen = strlen(file);

	if (msg == NULL)
		msg = "unknown error";
	if (strncmp(msg, file, flen) == 0 && msg[flen] == ':')
		return seterr(err, -EINVAL, "%s", msg);
	return seterr(err, -EINVAL, "%s: %s", file, msg);
}

/*
 * Protected: give the chunk (argument 1) a fresh sandbox environment as
 * its _ENV and run it; its first result is returned.
 */
static int
run_chunk(lua_State *L)
{
	lua_settop(L, 1);
	policy_push_env(L);
	if (lua_setupvalue(L, 1, 1) == NULL)
		lua_pop(L, 1);
	lua_call(L, 0, 1);
	return 1;
}

/* Load and run a policy or case file's text in a fresh sandbox
 * environment, under the load limits: see policy.h. */
int
policy_run_chunk(struct uw_policy_set *set, const char *file,
    const char *src, size_t len, struct uw_error *err)
{
	lua_State *L = set->L;
	char chunkname[PATH_MAX + 2];
	int rc, top = lua_gettop(L);

	snprintf(chunkname, sizeof(chunkname), "@%s", file);
	set->running = NULL;
	set->slack = 0;
	/* Text only: a precompiled chunk can break the VM's invariants.
	 * lua_load protects itself. */
	rc = luaL_loadbufferx(L, src, len, chunkname, "t");
	if (rc != LUA_OK) {
		rc = chunk_error(err, file, rc == LUA_ERRMEM ?
		    "memory limit reached while loading" :
		    policy_error_text(L, -1));
		goto out;
	}
	lua_pushcfunction(L, policy_msgh);
	lua_pushcfunction(L, run_chunk);
	lua_rotate(L, top + 1, 2);	/* policy_msgh run_chunk chunk */
	policy_arm(set, LOAD_INSTRUCTIONS, LOAD_DEADLINE_US);
	rc = lua_pcall(L, 1, 1, top + 1);
	policy_disarm(set);
	set->slack = 0;
	if (rc != LUA_OK) {
		rc = chunk_error(err, file, rc == LUA_ERRMEM ?
		    "memory limit reached while loading" :
		    policy_error_text(L, -1));
		goto out;
	}
	lua_remove(L, top + 1);		/* policy_msgh */
	return 0;
out:
	lua_settop(L, top);
	return rc;
}

/* See policy.h. */
void
policy_set_hook_period(struct uw_policy_set *set, int period)
{
	set->hook_period = period > 0 ? period : POLICY_HOOK_EVERY;
}
