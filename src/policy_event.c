/*
 * policy_event.c - the event as policies see it: read-only views of the
 * drift event (DESIGN §4) and its records; its container's view comes
 * from policy_container.c.
 *
 * An event is built once per evaluation, in protected mode under the
 * memory cap, into a registry slot, and shared by every policy that
 * judges it; a container's view is kept and shared by its events.  So
 * that no policy can change what the next one sees, every table reaches
 * Lua as a view, and this file is the only one that knows what a view
 * looks like: it also gives the sandbox the view-aware next, rawget and
 * rawlen, and the guards that keep the table library from writing one.
 */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "names.h"
#include "policy_int.h"
#include "util.h"

/* ---- read-only views ---- */

/*
 * The event reaches policies as views: an empty table whose metatable
 * sends reads (fields, ipairs) to a hidden table and refuses writes.
 * A view is recognised by its metatable's __newindex being ro_newindex:
 * policies cannot make or reach a metatable (no setmetatable,
 * getmetatable or debug), so they cannot forge one.  Nothing a policy
 * can call hands out a hidden table: pairs and next iterate views,
 * rawget and rawlen see through them, the table library refuses to write
 * them, and every value in a hidden table is a string, a number, a
 * boolean or another view.
 */

/* __newindex of every view: refuse the write, naming the field. */
static int
ro_newindex(lua_State *L)
{
	int t = lua_type(L, 2);

	return luaL_error(L, "the event is read-only (field '%s')",
	    t == LUA_TSTRING || t == LUA_TNUMBER ? lua_tostring(L, 2) :
	    luaL_typename(L, 2));
}

/* What push_hidden found. */
enum view_kind {
	NOT_VIEW,
	VIEW_TABLE,	/* a view of a hidden table, pushed */
	VIEW_RECORD	/* a record's view: no table behind it (record_index) */
};

static int record_index(lua_State *L);

/* If the value at idx is a view of a hidden table, push that table and
 * return VIEW_TABLE; else push nothing and return VIEW_RECORD for a
 * record's view, NOT_VIEW for anything else.  Allocates nothing. */
static enum view_kind
push_hidden(lua_State *L, int idx)
{
	if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
		return NOT_VIEW;
	lua_pushliteral(L, "__newindex");	/* interned: no allocation */
	if (lua_rawget(L, -2) != LUA_TFUNCTION ||
	    lua_tocfunction(L, -1) != ro_newindex) {
		lua_pop(L, 2);
		return NOT_VIEW;
	}
	lua_pushliteral(L, "__index");
	if (lua_rawget(L, -3) != LUA_TTABLE) {
		lua_pop(L, 3);
		return VIEW_RECORD;
	}
	lua_replace(L, -3);
	lua_pop(L, 1);
	return VIEW_TABLE;
}

static int is_event(lua_State *L, int h);
static int event_next(lua_State *L);
static int record_next(lua_State *L);

/* next(t[, k]) for policies: a view's hidden table is walked in its
 * place, so the keys and values (views again) come out, never the table
 * behind them. */
int
policy_view_next(lua_State *L)
{
	enum view_kind kind;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	kind = push_hidden(L, 1);
	if (kind == VIEW_RECORD)
		return record_next(L);
	if (kind == VIEW_TABLE) {
		lua_replace(L, 1);
		if (is_event(L, 1))
			return event_next(L);
	}
	if (lua_next(L, 1))
		return 2;
	lua_pushnil(L);
	return 1;
}

/* pairs(t) for policies: policy_view_next over t itself (for a view,
 * the state a policy gets back is the view, not its hidden table).  A
 * view needs no __pairs of its own: policies get no other pairs. */
int
policy_view_pairs(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	lua_pushcfunction(L, policy_view_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* rawget(t, k) for policies: through a view to its hidden table. */
int
policy_view_rawget(lua_State *L)
{
	enum view_kind kind;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	lua_settop(L, 2);
	kind = push_hidden(L, 1);
	if (kind == VIEW_RECORD)
		return record_index(L);
	if (kind == VIEW_TABLE) {
		/* a hidden table's only metamethod: an event's records,
		 * package, time and id */
		lua_replace(L, 1);
		lua_gettable(L, 1);
		return 1;
	}
	lua_rawget(L, 1);
	return 1;
}

/* rawlen(v) for policies: a view's length is its hidden table's. */
int
policy_view_rawlen(lua_State *L)
{
	int t = lua_type(L, 1);

	luaL_argexpected(L, t == LUA_TTABLE || t == LUA_TSTRING, 1,
	    "table or string");
	if (push_hidden(L, 1) == VIEW_TABLE)
		lua_replace(L, 1);	/* (a record's view is empty: 0) */
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
	return 1;
}

/*
 * table.sort, insert, remove and move, refusing a view as the table they
 * write (upvalue 3: its argument; move's is 5, else its first).  A view
 * is empty, so some of them would quietly do nothing (sorting a record):
 * say so instead.  Upvalue 1 is the library's function, called in place.
 */
static int
table_guard(lua_State *L)
{
	lua_CFunction real = lua_tocfunction(L, lua_upvalueindex(1));
	int dest = (int)lua_tointeger(L, lua_upvalueindex(3));

	if (dest > 1 && lua_isnoneornil(L, dest))
		dest = 1;
	if (push_hidden(L, dest) != NOT_VIEW)
		return luaL_error(L, "the event is read-only (table.%s)",
		    lua_tostring(L, lua_upvalueindex(2)));
	return real(L);
}

/* Wrap the table library's writers (the table at idx) in table_guard. */
void
policy_guard_table_lib(lua_State *L, int idx)
{
	static const char *const writers[] = {
		"sort", "insert", "remove", "move", NULL
	};
	int i;

	for (i = 0; writers[i] != NULL; i++) {
		lua_getfield(L, idx, writers[i]);
		lua_pushstring(L, writers[i]);
		lua_pushinteger(L, strcmp(writers[i], "move") == 0 ? 5 : 1);
		lua_pushcclosure(L, table_guard, 3);
		lua_setfield(L, idx, writers[i]);
	}
}

/*
 * The keys the event is built with.  push_event, which builds it, holds
 * them as its upvalues (K_*), so that setting a field copies a string
 * Lua already has rather than finding a C string's in the state's cache
 * (a strcmp per field, the costliest part of a field set).
 */
enum event_key {
	K_OP = 1, K_PATH, K_TYPE, K_ERROR, K_LAYER, K_CONTAINER, K_PROCESS,
	K_PACKAGE_CHECK, K_INCIDENT, K_INDEX, K_NEWINDEX, K_PID, K_UID,
	K_COMM, K_EXE, K_CMDLINE, K_EXE_DRIFT, K_END
};

static const char *const event_keys[K_END] = {
	NULL, "op", "path", "type", "error", "layer", "container", "process",
	"package_check", "incident", "__index", "__newindex", "pid", "uid",
	"comm", "exe", "cmdline", "exe_drift"
};

/* Push key event_keys[k], of a field whose value is pushed next and set
 * with lua_rawset(L, -3): with `up`, push_event's upvalue k (no lookup
 * in the state's string cache), without, found by name. */
static void
push_key(lua_State *L, int up, enum event_key k)
{
	if (up)
		lua_pushvalue(L, lua_upvalueindex(k));
	else
		lua_pushstring(L, event_keys[k]);
}

/* Replace the value on top of the stack (a hidden table, or a record
 * view's record_index) by a view's metatable reading through it: the
 * one place that says what makes a view (push_hidden).  `up`: called
 * by push_event (push_key). */
static void
push_view_mt(lua_State *L, int up)
{
	lua_createtable(L, 0, 2);
	push_key(L, up, K_INDEX);
	lua_pushvalue(L, -3);
	lua_rawset(L, -3);
	push_key(L, up, K_NEWINDEX);
	lua_pushcfunction(L, ro_newindex);
	lua_rawset(L, -3);
	lua_replace(L, -2);
}

/*
 * Replace the table on top of the stack by a read-only view of it.  One
 * event is built once and shared by every policy that judges it (and a
 * container's view by its events), so no policy can change what the
 * next one sees.  Two tables per view; the metamethods are light C
 * functions (no allocation).  No view holds a list (every key is a
 * string), so # of one is 0 like its hidden table's without a __len.
 * Two metamethods, a hash part of two slots: no __pairs (the sandbox's
 * pairs walks views itself) and no __metatable (policies have neither
 * getmetatable nor setmetatable).
 *
 * policy_seal; `up`: called by push_event (push_key).
 */
static void
seal(lua_State *L, int up)
{
	lua_newtable(L);			/* the view */
	lua_pushvalue(L, -2);
	push_view_mt(L, up);
	lua_setmetatable(L, -2);
	lua_replace(L, -2);
}

void
policy_seal(lua_State *L)
{
	seal(L, 0);
}

/* ---- the event as a Lua table ---- */

/*
 * The records (current, baseline) would be the costliest part of an
 * event (three tables and up to nine fields each), and policies read a
 * field or two of them, so they are never made into tables.  What they
 * are made from is copied into a userdata when the event is built, kept
 * in the event's hidden table under a key no policy can make (a light
 * userdata), so an event kept past its evaluation still reads right.
 * The hidden table's metatable, the same for every event, makes a
 * record's view on the first read of its field and stores it there;
 * rawget reads through it, and a walk of an event follows a fixed list
 * of fields (event_next).
 *
 * A record's view is an empty table that holds the userdata under a
 * light-userdata key saying which record it is, with a metatable shared
 * by every record's view: its __index (record_index) reads the field
 * from the userdata on each read, its walk (record_next) follows
 * record_fields.  One small table per record, where a hidden table, a
 * view and a metatable were.
 *
 * The package (its view, like the event's: ev.package) is copied into
 * the same userdata and made on its first read too: most policies never
 * read it, and a view costs two tables.
 */
struct lazy_records {
	int64_t time_ns;		/* ev.time and ev.id: read from here, */
	uint64_t id;			/* few policies read them */
	unsigned char has[2];		/* current, baseline */
	unsigned char has_package;
	struct uw_record rec[2];	/* link and caps point into data */
	struct uw_package package;	/* its strings too */
	unsigned char data[];
};

static const char *const lazy_names[2] = { "current", "baseline" };
static const char lazy_key;		/* &lazy_key: the userdata's key */
static const char lazy_mt_key;		/* &lazy_mt_key: in the registry */
static const char record_keys[2];	/* &record_keys[which]: in a view */
static const char record_mt_key;	/* &record_mt_key: in the registry */

/* A record's fields, in the order a walk gives them. */
static const char *const record_fields[] = {
	"type", "mode", "uid", "gid", "size", "mtime", "hash", "link", "caps",
	NULL
};

/* The record a record's view (at v) reads from, or NULL. */
static const struct uw_record *
record_of(lua_State *L, int v)
{
	const struct lazy_records *lr;
	int which;

	for (which = 0; which < 2; which++) {
		if (lua_rawgetp(L, v, &record_keys[which]) == LUA_TUSERDATA) {
			lr = lua_touserdata(L, -1);
			lua_pop(L, 1);	/* the view holds it */
			return &lr->rec[which];
		}
		lua_pop(L, 1);
	}
	return NULL;
}

/* Push field i of record_fields of r and return 1, or push nothing and
 * return 0 when r has none: hash and caps as hex, link as its bytes. */
static int
push_record_field(lua_State *L, const struct uw_record *r, size_t i)
{
	char hex[2 * 64 + 1];

	switch (i) {
	case 0: lua_pushstring(L, file_type_name(r->type)); break;
	case 1: lua_pushinteger(L, r->mode); break;
	case 2: lua_pushinteger(L, r->uid); break;
	case 3: lua_pushinteger(L, r->gid); break;
	case 4: lua_pushinteger(L, (lua_Integer)r->size); break;
	case 5: lua_pushinteger(L, r->mtime_ns); break;
	case 6:
		if (!(r->flags & UW_REC_HASHED))
			return 0;
		hex_encode(hex, r->hash, UW_HASH_LEN);
		lua_pushlstring(L, hex, 2 * UW_HASH_LEN);
		break;
	case 7:
		if (r->link == NULL)
			return 0;
		lua_pushlstring(L, (const char *)r->link, r->link_len);
		break;
	case 8:
		if (r->caps == NULL)	/* (lazy_copy kept only <= 64) */
			return 0;
		hex_encode(hex, r->caps, r->caps_len);
		lua_pushlstring(L, hex, 2 * r->caps_len);
		break;
	default:
		return 0;
	}
	return 1;
}

/* The index in `fields` of the string at idx, or -1. */
static int
field_index(lua_State *L, int idx, const char *const *fields)
{
	size_t len;
	const char *k;
	int i;

	if (lua_type(L, idx) != LUA_TSTRING)
		return -1;
	k = lua_tolstring(L, idx, &len);
	for (i = 0; fields[i] != NULL; i++)
		if (strlen(fields[i]) == len && memcmp(fields[i], k, len) == 0)
			return i;
	return -1;
}

/* __index of a record's view (argument 1), and rawget through it: the
 * field (argument 2), or nil. */
static int
record_index(lua_State *L)
{
	const struct uw_record *r = record_of(L, 1);
	int i = field_index(L, 2, record_fields);

	if (r == NULL || i < 0 || !push_record_field(L, r, (size_t)i))
		lua_pushnil(L);
	return 1;
}

/* Where a walk of `fields` goes on after the key at idx (nil: from the
 * first); a key not in `fields` is an error, as next's is. */
static int
field_after(lua_State *L, int idx, const char *const *fields)
{
	int i;

	if (lua_isnil(L, idx))
		return 0;
	i = field_index(L, idx, fields);
	if (i < 0)
		return luaL_error(L, "invalid key to 'next'");
	return i + 1;
}

/* next(view, k) on a record's view (argument 1): the field after k
 * (nil: the first) in record_fields that the record has. */
static int
record_next(lua_State *L)
{
	const struct uw_record *r = record_of(L, 1);
	int i = field_after(L, 2, record_fields);

	for (; r != NULL && record_fields[i] != NULL; i++) {
		lua_pushstring(L, record_fields[i]);
		if (push_record_field(L, r, (size_t)i))
			return 2;
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	return 1;
}

/* Push the metatable of every record's view, made the first time. */
static void
push_record_mt(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &record_mt_key) == LUA_TTABLE)
		return;
	lua_pop(L, 1);
	lua_pushcfunction(L, record_index);
	push_view_mt(L, 0);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &record_mt_key);
}

/* Push record `which` (0 current, 1 baseline) of the event whose hidden
 * table is at h (absolute) as a view, stored in h too; or nil. */
static void
lazy_make(lua_State *L, int h, int which)
{
	const struct lazy_records *lr;

	if (lua_rawgetp(L, h, &lazy_key) != LUA_TUSERDATA) {
		lua_pop(L, 1);
		lua_pushnil(L);
		return;
	}
	lr = lua_touserdata(L, -1);
	if (!lr->has[which]) {
		lua_pop(L, 1);
		lua_pushnil(L);
		return;
	}
	lua_createtable(L, 0, 1);		/* the view */
	lua_insert(L, -2);
	lua_rawsetp(L, -2, &record_keys[which]);
	push_record_mt(L);
	lua_setmetatable(L, -2);
	lua_pushstring(L, lazy_names[which]);
	lua_pushvalue(L, -2);
	lua_rawset(L, h);
}

static void push_package(lua_State *L, const struct uw_package *p);

/* Push the package of the event whose hidden table is at h (absolute)
 * as a view, stored in h too; or nil. */
static void
lazy_package(lua_State *L, int h)
{
	const struct lazy_records *lr = NULL;

	if (lua_rawgetp(L, h, &lazy_key) == LUA_TUSERDATA)
		lr = lua_touserdata(L, -1);
	if (lr == NULL || !lr->has_package) {
		lua_pop(L, 1);
		lua_pushnil(L);
		return;
	}
	push_package(L, &lr->package);
	policy_seal(L);
	lua_remove(L, -2);
	lua_pushliteral(L, "package");
	lua_pushvalue(L, -2);
	lua_rawset(L, h);
}

/* What lazy_index makes: a record (its index in rec[]), the package, or
 * the time or the id. */
enum lazy_field {
	LAZY_CURRENT, LAZY_BASELINE, LAZY_PACKAGE, LAZY_TIME, LAZY_ID
};

/* Push ev.time or ev.id of the event whose hidden table is at h
 * (absolute). */
static void
lazy_number(lua_State *L, int h, enum lazy_field which)
{
	const struct lazy_records *lr;

	lua_rawgetp(L, h, &lazy_key);
	lr = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (lr == NULL)
		lua_pushnil(L);
	else
		lua_pushinteger(L, which == LAZY_TIME ? lr->time_ns :
		    (lua_Integer)lr->id);
}

/* __index of an event's hidden table: a record or the package, not
 * made yet; the time or the id. */
static int
lazy_index(lua_State *L)
{
	size_t len;
	const char *k;
	int which = -1;

	if (lua_type(L, 2) == LUA_TSTRING) {
		k = lua_tolstring(L, 2, &len);
		if (len == 7 && memcmp(k, "current", 7) == 0)
			which = LAZY_CURRENT;
		else if (len == 8 && memcmp(k, "baseline", 8) == 0)
			which = LAZY_BASELINE;
		else if (len == 7 && memcmp(k, "package", 7) == 0)
			which = LAZY_PACKAGE;
		else if (len == 4 && memcmp(k, "time", 4) == 0)
			which = LAZY_TIME;
		else if (len == 2 && memcmp(k, "id", 2) == 0)
			which = LAZY_ID;
	}
	if (which < 0)
		lua_pushnil(L);
	else if (which == LAZY_PACKAGE)
		lazy_package(L, 1);
	else if (which >= LAZY_TIME)
		lazy_number(L, 1, (enum lazy_field)which);
	else
		lazy_make(L, 1, which);
	return 1;
}

/* Is the hidden table at h an event's (its metatable lazy_index's)? */
static int
is_event(lua_State *L, int h)
{
	int yes;

	if (!lua_getmetatable(L, h))
		return 0;
	lua_rawgetp(L, LUA_REGISTRYINDEX, &lazy_mt_key);
	yes = lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	return yes;
}

/*
 * Every field an event can have, in the order a walk gives them.  A
 * walk of an event (next, pairs) follows this list, not the table: the
 * order of a table's keys follows the order they went in, and records
 * go in when a policy first reads them, so one policy could otherwise
 * change the order the next one sees.
 */
static const char *const event_fields[] = {
	"op", "path", "type", "current", "baseline", "error", "layer",
	"container", "process", "package", "package_check", "incident",
	"time", "id", NULL
};

/* next(ev, k) on an event's hidden table (argument 1): the field after
 * k (nil: the first) in event_fields that the event has. */
static int
event_next(lua_State *L)
{
	int i = field_after(L, 2, event_fields);

	for (; event_fields[i] != NULL; i++) {
		lua_pushstring(L, event_fields[i]);
		if (lua_gettable(L, 1) != LUA_TNIL) {	/* records: lazy */
			lua_pushstring(L, event_fields[i]);
			lua_insert(L, -2);
			return 2;
		}
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	return 1;
}

/* Copy a record into r, and the bytes it points to to *tail, which
 * moves on past them. */
static void
lazy_copy(struct uw_record *r, const struct uw_record *from,
    unsigned char **tail)
{
	*r = *from;
	r->path = NULL;
	r->path_len = 0;
	if (from->link != NULL) {
		memcpy(*tail, from->link, from->link_len);
		r->link = *tail;
		*tail += from->link_len;
	}
	if (from->caps != NULL && from->caps_len <= 64) {
		memcpy(*tail, from->caps, from->caps_len);
		r->caps = *tail;
		*tail += from->caps_len;
	} else {
		r->caps = NULL;
		r->caps_len = 0;
	}
}

/* The bytes lazy_copy takes from r. */
static size_t
lazy_bytes(const struct uw_record *r)
{
	if (r == NULL)
		return 0;
	return (r->link != NULL ? r->link_len : 0) +
	    (r->caps != NULL && r->caps_len <= 64 ? r->caps_len : 0);
}

/* The event's package, when policies see one (else NULL). */
static const struct uw_package *
event_package(const struct uw_event *ev)
{
	return ev->package_check != UW_PKG_NONE ? ev->package : NULL;
}

/* Copy string s (NULL stays NULL) to *tail, which moves on past it. */
static const char *
lazy_str(const char *s, unsigned char **tail)
{
	char *to = (char *)*tail;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(to, s, n);
	*tail += n;
	return to;
}

/* The bytes lazy_str takes for s. */
static size_t
lazy_str_bytes(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Give the event's hidden table (on top of the stack) its records and
 * its package, to be made when read, and its time and id. */
static void
push_lazy_records(lua_State *L, const struct uw_event *ev)
{
	const struct uw_record *from[2] = { ev->current, ev->baseline };
	const struct uw_package *pkg = event_package(ev);
	struct lazy_records *lr;
	unsigned char *tail;
	int which;

	lr = lua_newuserdatauv(L, sizeof(*lr) + lazy_bytes(from[0]) +
	    lazy_bytes(from[1]) + (pkg == NULL ? 0 :
	    lazy_str_bytes(pkg->manager) + lazy_str_bytes(pkg->name) +
	    lazy_str_bytes(pkg->version)), 0);
	lr->time_ns = ev->time_ns;
	lr->id = ev->id;
	tail = lr->data;
	for (which = 0; which < 2; which++) {
		lr->has[which] = from[which] != NULL;
		if (from[which] != NULL)
			lazy_copy(&lr->rec[which], from[which], &tail);
	}
	lr->has_package = pkg != NULL;
	if (pkg != NULL) {
		lr->package = *pkg;
		lr->package.manager = lazy_str(pkg->manager, &tail);
		lr->package.name = lazy_str(pkg->name, &tail);
		lr->package.version = lazy_str(pkg->version, &tail);
	}
	lua_rawsetp(L, -2, &lazy_key);
	/* also what marks it an event's (is_event) */
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &lazy_mt_key) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_createtable(L, 0, 1);
		lua_pushcfunction(L, lazy_index);
		lua_setfield(L, -2, "__index");
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &lazy_mt_key);
	}
	lua_setmetatable(L, -2);
}

/* t[key] = value ("" for NULL), t on top of the stack. */
void
policy_str_field(lua_State *L, const char *key, const char *value)
{
	lua_pushstring(L, value != NULL ? value : "");
	lua_setfield(L, -2, key);
}

/* The writer's view: only what is known (a field it took with it is
 * absent).  Called by push_event (push_key). */
static void
push_process(lua_State *L, const struct uw_process *p)
{
	lua_createtable(L, 0, 7);
	push_key(L, 1, K_PID);
	lua_pushinteger(L, p->pid);
	lua_rawset(L, -3);
	if (p->uid >= 0) {
		push_key(L, 1, K_UID);
		lua_pushinteger(L, p->uid);
		lua_rawset(L, -3);
	}
	if (p->comm != NULL) {
		push_key(L, 1, K_COMM);
		lua_pushstring(L, p->comm);
		lua_rawset(L, -3);
	}
	if (p->exe != NULL) {
		push_key(L, 1, K_EXE);
		lua_pushstring(L, p->exe);
		lua_rawset(L, -3);
	}
	if (p->cmdline != NULL) {
		push_key(L, 1, K_CMDLINE);
		lua_pushstring(L, p->cmdline);
		lua_rawset(L, -3);
	}
	if (p->container_id != NULL) {
		push_key(L, 1, K_CONTAINER);
		lua_pushstring(L, p->container_id);
		lua_rawset(L, -3);
	}
	if (p->exe_drift >= 0) {
		push_key(L, 1, K_EXE_DRIFT);
		lua_pushboolean(L, p->exe_drift);
		lua_rawset(L, -3);
	}
}

/* The owner of the event's path: manager, name, version (or database). */
static void
push_package(lua_State *L, const struct uw_package *p)
{
	lua_createtable(L, 0, 3);
	lua_pushstring(L, p->manager);
	lua_setfield(L, -2, "manager");
	if (p->database) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "database");
		return;
	}
	lua_pushstring(L, p->name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, p->version);
	lua_setfield(L, -2, "version");
}

/* The slots an event's hidden table needs: its fields, and the records
 * a policy may read (made then, set in it: room for them now spares a
 * rehash of the whole table then). */
static int
event_slots(const struct uw_event *ev)
{
	int n = 6;	/* op path type layer container, the userdata */

	n += (ev->current != NULL) + (ev->baseline != NULL);
	n += (ev->error != NULL) + (ev->process != NULL) +
	    (ev->incident != 0);
	if (ev->package_check != UW_PKG_NONE)
		n += 1 + (ev->package != NULL);
	return n;
}

/*
 * Protected: the DESIGN §4 fields of the event (argument 1) as read-only
 * views, stored in the set's event slot.  Only memory can fail here.
 * A field set here must be in event_fields too, or no walk shows it.
 */
static int
push_event(lua_State *L)
{
	const struct uw_event *ev = lua_touserdata(L, 1);
	struct uw_policy_set *set;

	lua_getallocf(L, (void **)&set);
	lua_createtable(L, 0, event_slots(ev));
	push_key(L, 1, K_OP);
	lua_pushstring(L, op_name(ev->op));
	lua_rawset(L, -3);
	push_key(L, 1, K_PATH);
	lua_pushlstring(L, (const char *)ev->path, ev->path_len);
	lua_rawset(L, -3);
	push_key(L, 1, K_TYPE);
	lua_pushstring(L, file_type_name(ev->type));
	lua_rawset(L, -3);
	push_lazy_records(L, ev);
	if (ev->error != NULL) {
		push_key(L, 1, K_ERROR);
		lua_pushlstring(L, ev->error, strnlen(ev->error,
		    POLICY_MAX_REASON));
		lua_rawset(L, -3);
	}
	push_key(L, 1, K_LAYER);
	lua_pushstring(L, ev->lower ? "lower" : "upper");
	lua_rawset(L, -3);
	push_key(L, 1, K_CONTAINER);
	policy_container_view(L, ev->container);
	lua_rawset(L, -3);
	if (ev->process != NULL) {
		push_key(L, 1, K_PROCESS);
		push_process(L, ev->process);
		seal(L, 1);
		lua_rawset(L, -3);
	}
	if (ev->package_check != UW_PKG_NONE) {
		/* (the package: lazy, push_lazy_records) */
		push_key(L, 1, K_PACKAGE_CHECK);
		lua_pushstring(L, package_check_name(ev->package_check));
		lua_rawset(L, -3);
	}
	if (ev->incident != 0) {
		push_key(L, 1, K_INCIDENT);
		lua_pushinteger(L, (lua_Integer)ev->incident);
		lua_rawset(L, -3);
	}
	/* (the time and the id: lazy, push_lazy_records) */
	seal(L, 1);
	lua_rawseti(L, LUA_REGISTRYINDEX, set->event_slot);
	return 0;
}

/* Protected: fn with upvalues keys[1 .. n - 1] (keys[0] unused), kept
 * in the registry; the ref. */
int
policy_keyed_closure(lua_State *L, lua_CFunction fn,
    const char *const *keys, int n)
{
	int k;

	for (k = 1; k < n; k++)
		lua_pushstring(L, keys[k]);
	lua_pushcclosure(L, fn, n - 1);
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Protected (the state's set-up): push_event with its keys, kept in the
 * registry; the ref. */
int
policy_event_builder(lua_State *L)
{
	return policy_keyed_closure(L, push_event, event_keys, K_END);
}

/*
 * Build the event into the set's slot, in protected mode, where the
 * memory cap applies.  Returns 0, or -1 when it does not fit: that is the
 * event's failure, no policy's.
 */
int
policy_build_event(struct uw_policy_set *set, const struct uw_event *ev)
{
	lua_State *L = set->L;

	set->slack = 0;
	set->mem_failed = 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, set->event_builder);
	lua_pushlightuserdata(L, (void *)ev);
	if (lua_pcall(L, 1, 0, 0) == LUA_OK)
		return 0;
	lua_pop(L, 1);
	lua_gc(L, LUA_GCCOLLECT);
	set->events_unjudged++;
	return -1;
}
