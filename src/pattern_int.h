/*
 * pattern_int.h - what the bounded pattern matcher (pattern_match.c)
 * shares with the Lua functions built on it (pattern.c): one call's
 * matching state, and the calls that parse a pattern, find where a match
 * may start and match at a position.  Private to the pattern files.
 */
#ifndef UW_PATTERN_INT_H
#define UW_PATTERN_INT_H

#include <stddef.h>

#include <lua.h>

#include "pattern.h"

/* Captures in one pattern, as stock Lua (LUA_MAXCAPTURES). */
#define PATTERN_MAX_CAPTURES 32

/* Capture lengths that are not lengths. */
#define PATTERN_CAP_OPEN (-1)		/* '(' passed, its ')' not yet */
#define PATTERN_CAP_POSITION (-2)	/* '()': the value is the position */

/* A parsed pattern (pattern_match.c), kept in a Lua userdata. */
struct pattern_prog;

struct pattern_capture {
	size_t start;
	ptrdiff_t len;		/* or PATTERN_CAP_OPEN, PATTERN_CAP_POSITION */
};

/* One call's matching state over one subject. */
struct pattern_state {
	lua_State *L;
	const unsigned char *subject;
	size_t length;
	struct pattern_prog *prog;
	size_t steps;		/* work done in this call */
	int level;		/* captures started */
	int depth;		/* nesting, as stock Lua counts it */
	size_t choice_count;
	size_t trail_count;
	struct pattern_capture capture[PATTERN_MAX_CAPTURES];
};

/*
 * Parse pattern p (len bytes, no leading anchor) into a new userdata,
 * pushed on the stack, and return it.  Its memory counts against the
 * policies' cap (a memory error is raised like for any allocation); a
 * malformed pattern is no error until matching reaches the fault.
 */
struct pattern_prog *pattern_compile(lua_State *L, const char *p,
    size_t len);

/* Start a call's matching of `prog` over subject s (len bytes). */
void pattern_state_init(struct pattern_state *st, lua_State *L,
    const char *s, size_t len, struct pattern_prog *prog);

/* Match at subject position `start`: 1 with the end in *end and the
 * captures in st, or 0.  Raises pattern errors and "pattern too
 * complex". */
int pattern_run(struct pattern_state *st, size_t start, size_t *end);

/* The first position from `from` on (at most the subject's length) at
 * which a match may start. */
size_t pattern_next_start(const struct pattern_state *st, size_t from);

#endif /* UW_PATTERN_INT_H */
