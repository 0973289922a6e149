/*
 * pattern.c - string.find, string.match, string.gmatch and string.gsub
 * for policies, as the Lua 5.4 manual specifies them (§6.4), on the
 * bounded matcher of pattern_match.c.  Here are what the manual says
 * around the matching: arguments and init offsets, find's plain search,
 * '^' anchors, captures handed back as values, gmatch's iterator state
 * and gsub's replacement forms.  The matcher charges the step budget;
 * the plain search here is glibc's linear memmem, and pushing captures
 * or building gsub's result allocates from the policies' capped Lua
 * state, so neither escapes the limits.
 */
#include <stddef.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "pattern.h"
#include "pattern_int.h"

/* Bytes that make find() match a pattern rather than search plainly. */
static const char pat_specials[] = "^$*+?.([%-";

/* {======================================================================
 * Captures and the Lua functions
 * ======================================================================= */

/*
 * Check capture `i` of the match [s, e) and return its length with its
 * start in *start, or PATTERN_CAP_POSITION (start is then the
 * position).  With no captures, capture 0 is the whole match.  Raises
 * "invalid capture index" for a capture the pattern lacks, "unfinished
 * capture" for one never closed.
 */
static ptrdiff_t
pat_capture_get(const struct pattern_state *st, int i, size_t s, size_t e,
    size_t *start)
{
	if (i >= st->level) {
		if (i != 0)
			luaL_error(st->L, "invalid capture index %%%d", i + 1);
		*start = s;
		return (ptrdiff_t)(e - s);
	}
	if (st->capture[i].len == PATTERN_CAP_OPEN)
		luaL_error(st->L, "unfinished capture");
	*start = st->capture[i].start;
	return st->capture[i].len;
}

/* Push capture `i` of the match [s, e): its text, or its 1-based
 * position for "()". */
static void
pat_push_capture(const struct pattern_state *st, int i, size_t s, size_t e)
{
	size_t start;
	ptrdiff_t len = pat_capture_get(st, i, s, e, &start);

	if (len == PATTERN_CAP_POSITION)
		lua_pushinteger(st->L, (lua_Integer)start + 1);
	else
		lua_pushlstring(st->L, (const char *)st->subject + start,
		    (size_t)len);
}

/*
 * Push the captures of the match [s, e) and return how many.  With no
 * captures, `whole` says whether to push the whole match (match, gmatch,
 * gsub's function) or nothing (find, which returns positions first).
 */
static int
pat_push_captures(const struct pattern_state *st, size_t s, size_t e, int whole)
{
	int count = st->level == 0 && whole ? 1 : st->level;
	int i;

	luaL_checkstack(st->L, count, "too many captures");
	for (i = 0; i < count; i++)
		pat_push_capture(st, i, s, e);
	return count;
}

/*
 * The 0-based offset where a search starts, from a 1-based `init` that
 * counts from the end when negative (-1: the last byte); 0 and values
 * before the start mean the start.  May exceed `len`.
 */
static size_t
pat_start_offset(lua_Integer init, size_t len)
{
	if (init > 0)
		return (size_t)init - 1;
	if (init == 0 || init < -(lua_Integer)len)
		return 0;
	return len - (size_t)-init;
}

/* 1 if p has none of the bytes that make a pattern special. */
static int
pat_is_plain(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (memchr(pat_specials, (unsigned char)p[i],
		    sizeof(pat_specials) - 1) != NULL)
			return 0;
	return 1;
}

/*
 * string.find (find = 1) and string.match (find = 0), as the manual
 * says: search s for pattern from init (default 1; negative counts from
 * the end; past the end + 1 finds nothing).  find returns the start, the
 * end and the captures, and with plain true, or with a pattern that has
 * no special byte, searches for the bytes as they are; match returns the
 * captures (or the whole match).  A leading '^' anchors at init.
 * Nothing found: one nil.
 */
static int
pat_find_aux(lua_State *L, int find)
{
	size_t len, plen, at, e;
	const char *s = luaL_checklstring(L, 1, &len);
	const char *p = luaL_checklstring(L, 2, &plen);
	size_t init = pat_start_offset(luaL_optinteger(L, 3, 1), len);
	struct pattern_state st;
	int anchored;

	if (init > len) {
		luaL_pushfail(L);
		return 1;
	}
	if (find && (lua_toboolean(L, 4) || pat_is_plain(p, plen))) {
		/* glibc's memmem is linear; an empty p is found at init. */
		const char *hit = memmem(s + init, len - init, p, plen);

		if (hit == NULL) {
			luaL_pushfail(L);
			return 1;
		}
		lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
		lua_pushinteger(L, (lua_Integer)(hit - s + plen));
		return 2;
	}
	anchored = plen > 0 && p[0] == '^';
	if (anchored) {
		p++;
		plen--;
	}
	pattern_state_init(&st, L, s, len, pattern_compile(L, p, plen));
	for (at = init;; at++) {
		if (!anchored)
			at = pattern_next_start(&st, at);
		if (pattern_run(&st, at, &e)) {
			if (!find)
				return pat_push_captures(&st, at, e, 1);
			lua_pushinteger(L, (lua_Integer)at + 1);
			lua_pushinteger(L, (lua_Integer)e);
			return 2 + pat_push_captures(&st, at, e, 0);
		}
		if (anchored || at >= len)
			break;
	}
	luaL_pushfail(L);
	return 1;
}

/* string.find(s, pattern [, init [, plain]]); see pat_find_aux. */
static int
pat_find(lua_State *L)
{
	return pat_find_aux(L, 1);
}

/* string.match(s, pattern [, init]); see pat_find_aux. */
static int
pat_match(lua_State *L)
{
	return pat_find_aux(L, 0);
}

/*
 * The iterator gmatch returns.  Upvalues: the subject, the parsed
 * pattern, the offset to go on from, and the end of the last match (-1
 * before the first).  Each call returns the captures of the next match,
 * skipping an empty match where the last one ended, or nothing when none
 * is left.  The step budget is per call.
 */
static int
pat_gmatch_next(lua_State *L)
{
	size_t len, at, e;
	const char *s = lua_tolstring(L, lua_upvalueindex(1), &len);
	struct pattern_prog *prog = lua_touserdata(L, lua_upvalueindex(2));
	lua_Integer from = lua_tointeger(L, lua_upvalueindex(3));
	lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
	struct pattern_state st;

	pattern_state_init(&st, L, s, len, prog);
	for (at = (size_t)from; at <= len; at++) {
		at = pattern_next_start(&st, at);
		if (pattern_run(&st, at, &e) &&
		    (last < 0 || e != (size_t)last)) {
			lua_pushinteger(L, (lua_Integer)e);
			lua_copy(L, -1, lua_upvalueindex(3));
			lua_replace(L, lua_upvalueindex(4));
			return pat_push_captures(&st, at, e, 1);
		}
	}
	lua_pushinteger(L, (lua_Integer)len + 1);
	lua_replace(L, lua_upvalueindex(3));
	return 0;
}

/*
 * string.gmatch(s, pattern [, init]): an iterator over the matches of
 * pattern in s from init (as in find).  A '^' is an ordinary byte here,
 * as the manual says (an anchor would stop the iteration).  Pattern
 * errors are raised by the iterator, when matching reaches them.
 */
static int
pat_gmatch(lua_State *L)
{
	size_t len, plen;
	const char *p;
	size_t init;

	luaL_checklstring(L, 1, &len);
	p = luaL_checklstring(L, 2, &plen);
	init = pat_start_offset(luaL_optinteger(L, 3, 1), len);
	if (init > len)
		init = len + 1;
	lua_pushvalue(L, 1);
	pattern_compile(L, p, plen);
	lua_pushinteger(L, (lua_Integer)init);
	lua_pushinteger(L, -1);
	lua_pushcclosure(L, pat_gmatch_next, 4);
	return 1;
}

/*
 * Add capture `i` of the match [s, e) to b, for "%1" to "%9" in a gsub
 * replacement string.
 */
static void
pat_add_capture(const struct pattern_state *st, luaL_Buffer *b, int i, size_t s,
    size_t e)
{
	size_t start;
	ptrdiff_t len = pat_capture_get(st, i, s, e, &start);

	if (len == PATTERN_CAP_POSITION) {
		lua_pushinteger(st->L, (lua_Integer)start + 1);
		luaL_addvalue(b);
	} else {
		luaL_addlstring(b, (const char *)st->subject + start,
		    (size_t)len);
	}
}

/*
 * Add gsub's replacement string (argument 3) for the match [s, e) to b:
 * "%0" is the match, "%1" to "%9" the captures (%1 is the match when
 * there are none), "%%" a '%'; any other '%' is an error.
 */
static void
pat_add_template(const struct pattern_state *st, luaL_Buffer *b, size_t s,
    size_t e)
{
	size_t len;
	const char *text = lua_tolstring(st->L, 3, &len);
	size_t at = 0;

	while (at < len) {
		const char *esc = memchr(text + at, '%', len - at);
		size_t stop;
		unsigned char c;

		if (esc == NULL) {
			luaL_addlstring(b, text + at, len - at);
			break;
		}
		stop = (size_t)(esc - text);
		luaL_addlstring(b, text + at, stop - at);
		c = stop + 1 < len ? (unsigned char)text[stop + 1] : 0;
		if (c == '%')
			luaL_addchar(b, '%');
		else if (c == '0')
			luaL_addlstring(b, (const char *)st->subject + s,
			    e - s);
		else if (c >= '1' && c <= '9')
			pat_add_capture(st, b, c - '1', s, e);
		else
			luaL_error(st->L,
			    "invalid use of '%%' in replacement string");
		at = stop + 2;
	}
}

/*
 * Add gsub's replacement for the match [s, e) to b; return 1 if that
 * changed the text.  A string (or number) is a template; a table is
 * indexed by the first capture (or the match); a function is called
 * with the captures (or the match).  A table or function result of
 * false or nil keeps the match; anything but a string or number is an
 * error.
 */
static int
pat_add_value(const struct pattern_state *st, luaL_Buffer *b, size_t s,
    size_t e, int repl_type)
{
	lua_State *L = st->L;

	if (repl_type == LUA_TFUNCTION) {
		int nargs;

		lua_pushvalue(L, 3);
		nargs = pat_push_captures(st, s, e, 1);
		lua_call(L, nargs, 1);
	} else if (repl_type == LUA_TTABLE) {
		pat_push_capture(st, 0, s, e);
		lua_gettable(L, 3);
	} else {
		pat_add_template(st, b, s, e);
		return 1;
	}
	if (!lua_toboolean(L, -1)) {
		lua_pop(L, 1);
		luaL_addlstring(b, (const char *)st->subject + s, e - s);
		return 0;
	}
	if (!lua_isstring(L, -1))
		return luaL_error(L, "invalid replacement value (a %s)",
		    luaL_typename(L, -1));
	luaL_addvalue(b);
	return 1;
}

/*
 * string.gsub(s, pattern, repl [, n]): s with each match (at most n,
 * default all) replaced (see pat_add_value), and the number of matches.
 * After a match, an empty match where it ended is not taken, and the
 * search goes on one byte further.  A leading '^' anchors at the start
 * (one replacement at most).  When nothing changed, s itself is
 * returned.  The step budget covers the whole call.
 */
static int
pat_gsub(lua_State *L)
{
	size_t len, plen, e = 0;
	const char *s = luaL_checklstring(L, 1, &len);
	const char *p = luaL_checklstring(L, 2, &plen);
	int repl_type = lua_type(L, 3);
	lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)len + 1);
	lua_Integer n = 0;
	size_t at = 0, last = 0;
	int anchored, changed = 0, have_last = 0;
	struct pattern_state st;
	luaL_Buffer b;

	luaL_argexpected(L, repl_type == LUA_TNUMBER ||
	    repl_type == LUA_TSTRING || repl_type == LUA_TFUNCTION ||
	    repl_type == LUA_TTABLE, 3, "string/function/table");
	anchored = plen > 0 && p[0] == '^';
	if (anchored) {
		p++;
		plen--;
	}
	pattern_state_init(&st, L, s, len, pattern_compile(L, p, plen));
	luaL_buffinit(L, &b);
	while (n < max_n) {
		if (!anchored) {
			size_t next = pattern_next_start(&st, at);

			luaL_addlstring(&b, s + at, next - at);
			at = next;
		}
		if (pattern_run(&st, at, &e) && (!have_last || e != last)) {
			n++;
			changed |= pat_add_value(&st, &b, at, e, repl_type);
			at = e;
			last = e;
			have_last = 1;
		} else if (at < len) {
			luaL_addchar(&b, s[at]);
			at++;
		} else {
			break;
		}
		if (anchored)
			break;
	}
	if (!changed) {
		lua_pushvalue(L, 1);
	} else {
		luaL_addlstring(&b, s + at, len - at);
		luaL_pushresult(&b);
	}
	lua_pushinteger(L, n);
	return 2;
}

/* }====================================================================== */

/* Set the bounded find, match, gmatch and gsub into the table at idx
 * (pattern.h). */
void
pattern_register(lua_State *L, int idx)
{
	static const luaL_Reg funcs[] = {
		{ "find", pat_find },
		{ "match", pat_match },
		{ "gmatch", pat_gmatch },
		{ "gsub", pat_gsub },
		{ NULL, NULL },
	};
	const luaL_Reg *f;

	idx = lua_absindex(L, idx);
	for (f = funcs; f->name != NULL; f++) {
		lua_pushcfunction(L, f->func);
		lua_setfield(L, idx, f->name);
	}
}
