/*
 * policy_module.c - the upperwatch module policies require: helpers in
 * C for paths (glob, under, basename, dirname, ext, runtime_file) and
 * modes (setuid, setgid, world_writable, executable), a rate-limited
 * log, and the verdict constructor.  Each runs in time linear in its
 * arguments and does no I/O, so the instruction budget, which cannot
 * see inside C, still bounds a policy; each raises on bad arguments
 * like any Lua function.  Policies reach the module through a read-only
 * proxy the sandbox (policy_sandbox.c) builds around the table
 * policy_module_new makes.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "glob.h"
#include "names.h"
#include "policy_int.h"
#include "util.h"

#define LOG_BURST 10			/* log lines per policy and second */

/* The length of s without its trailing slashes, keeping a lone "/". */
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
	struct policy_glob_slot *slot;
	size_t plen, glen;
	const char *path = luaL_checklstring(L, 1, &plen);
	const char *pat = luaL_checklstring(L, 2, &glen);
	int rc;

	lua_getallocf(L, (void **)&set);
	slot = &set->glob_cache[XXH3_64bits(pat, glen) % POLICY_GLOB_CACHE];
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
#define F(s, below) { s, sizeof(s) - 1, below }
	/* (below: what lies under it is the runtime's too) */
	static const struct { const char *s; size_t n; int below; } files[] = {
		F("/etc/hostname", 0), F("/etc/hosts", 0),
		F("/etc/resolv.conf", 0), F("/etc/mtab", 0),
		F("/run/.containerenv", 0), F("/.containerenv", 0),
		F("/etc/.pwd.lock", 0), F("/run/secrets", 1),
	};
#undef F
	size_t len, i, n;
	const char *path = luaL_checklstring(L, 1, &len);

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		n = files[i].n;
		if ((len == n || (len > n && files[i].below &&
		    path[n] == '/')) && memcmp(path, files[i].s, n) == 0) {
			lua_pushboolean(L, 1);
			return 1;
		}
	}
	lua_pushboolean(L, 0);
	return 1;
}

/* Argument 1 as mode bits: 0 for nil (a record the event lacks). */
static lua_Integer
mode_arg(lua_State *L)
{
	if (lua_isnoneornil(L, 1))
		return 0;	/* no record: no bits */
	return luaL_checkinteger(L, 1);
}

/* upperwatch.setuid(mode): is the set-user-ID bit set? */
static int
m_setuid(lua_State *L)
{
	lua_pushboolean(L, (mode_arg(L) & 04000) != 0);
	return 1;
}

/* upperwatch.setgid(mode): is the set-group-ID bit set? */
static int
m_setgid(lua_State *L)
{
	lua_pushboolean(L, (mode_arg(L) & 02000) != 0);
	return 1;
}

/* upperwatch.world_writable(mode): may others write? */
static int
m_world_writable(lua_State *L)
{
	lua_pushboolean(L, (mode_arg(L) & 0002) != 0);
	return 1;
}

/* upperwatch.executable(mode): is any execute bit set? */
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
	int64_t now = now_mono_ns();
	const char *line;
	int n = lua_gettop(L);

	lua_getallocf(L, (void **)&set);
	p = set->running;
	/* string.format from the policy's own (bounded) library */
	lua_getfield(L, LUA_REGISTRYINDEX, POLICY_FORMAT_KEY);
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

/* upperwatch.package(path): the package that owns `path` in the event's
 * container ({manager, name, version}), or nil.  The event's own path
 * gives ev.package. */
static int
m_package(lua_State *L)
{
	struct uw_policy_set *set;
	struct uw_package pkg;
	const char *path, *evpath;
	size_t len, evlen;

	path = luaL_checklstring(L, 1, &len);
	lua_getallocf(L, (void **)&set);
	/* the event: a read-only view whose fields are its metatable's
	 * __index (policy_event.c's seal) */
	lua_rawgeti(L, LUA_REGISTRYINDEX, set->event_slot);
	if (lua_type(L, -1) == LUA_TTABLE && lua_getmetatable(L, -1) &&
	    policy_raw_field(L, lua_gettop(L), "__index") == LUA_TTABLE) {
		int ev = lua_gettop(L);

		policy_raw_field(L, ev, "path");
		evpath = lua_tolstring(L, -1, &evlen);
		if (evpath != NULL && evlen == len &&
		    memcmp(evpath, path, len) == 0) {
			/* not raw: the package is made on its first read,
			 * by the hidden table's own (C) __index */
			lua_pushliteral(L, "package");
			lua_gettable(L, ev);
			return 1;
		}
	}
	if (set->package_of == NULL ||
	    set->package_of(set->package_arg, (const unsigned char *)path,
	    len, &pkg) != 1) {
		lua_pushnil(L);
		return 1;
	}
	lua_createtable(L, 0, 3);
	lua_pushstring(L, pkg.manager);
	lua_setfield(L, -2, "manager");
	lua_pushstring(L, pkg.name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, pkg.version);
	lua_setfield(L, -2, "version");
	return 1;
}

/* upperwatch.verdict(severity, action, reason[, {tags = {...}}]): a
 * verdict table; an unknown severity or action is an error. */
static int
m_verdict(lua_State *L)
{
	const char *sev = luaL_checkstring(L, 1);
	const char *act = luaL_checkstring(L, 2);
	size_t rlen, i, n = 0;

	luaL_checklstring(L, 3, &rlen);
	if (severity_from_name(sev) < 0)
		return luaL_error(L, "unknown severity '%s' (info, low, "
		    "medium, high, critical)", sev);
	if (action_from_name(act) < 0)
		return luaL_error(L, "unknown action '%s' (log, alert, deny, "
		    "pause, kill)", act);
	lua_settop(L, 4);
	if (!lua_isnil(L, 4)) {
		luaL_checktype(L, 4, LUA_TTABLE);
		if (lua_getfield(L, 4, "tags") != LUA_TNIL) {
			luaL_argcheck(L, lua_istable(L, -1), 4,
			    "tags must be a list of strings");
			n = (size_t)lua_rawlen(L, -1);
			if (n > POLICY_MAX_TAGS)
				n = POLICY_MAX_TAGS;
		}
		lua_replace(L, 4);	/* the tags given, or nil */
	}
	/* Sized to what goes in: no table grows on the way. */
	lua_createtable(L, 0, 4);
	lua_pushvalue(L, 1);
	lua_setfield(L, -2, "severity");
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, "action");
	lua_pushvalue(L, 3);
	lua_setfield(L, -2, "reason");
	lua_createtable(L, (int)n, 0);
	for (i = 1; i <= n; i++) {
		if (lua_rawgeti(L, 4, (lua_Integer)i) != LUA_TSTRING)
			return luaL_error(L, "tags must be a list of strings");
		lua_rawseti(L, -2, (lua_Integer)i);
	}
	lua_setfield(L, -2, "tags");
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
	{ "package", m_package },
	{ "log", m_log },
	{ "verdict", m_verdict },
	{ NULL, NULL }
};

/* Push a new table of the module's functions: what the proxy policies
 * see reads from.  Allocates: protected mode only. */
void
policy_module_new(lua_State *L)
{
	luaL_newlib(L, module_funcs);
}
