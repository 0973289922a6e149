/*
 * pattern.h - Lua 5.4 pattern matching (string.find, string.match,
 * string.gmatch, string.gsub) whose work is bounded, for policies.
 *
 * Stock Lua matches patterns in C, where the policy sandbox's
 * instruction-count hook never fires, and backtracks without limit:
 * ('a'):rep(512):find('.-.-.-b') runs for seconds.  These functions
 * follow the Lua 5.4 manual (§6.4.1, and the specs of the four functions
 * in §6.4) and give stock results, errors included, with two
 * differences: past a budget of work they fail with "pattern too complex
 * (more than N steps)" where stock would go on, and where stock's
 * nesting limit refuses a pattern ("pattern too complex") they refuse
 * the same pattern with "pattern too complex (too deep)".  A step is one
 * pattern item tried at one position or one subject byte scanned, so
 * the budget also caps ordinary work: about a megabyte of subject per
 * call (per iteration for gmatch, for the whole call for gsub).
 */
#ifndef UW_PATTERN_H
#define UW_PATTERN_H

#include <lua.h>

/* Longest backtracking work one pattern call may do before it fails
 * with "pattern too complex". */
#if !defined(PATTERN_MAX_STEPS)
#define PATTERN_MAX_STEPS 1000000
#endif

/* Set find, match, gmatch and gsub, bounded, into the table at index
 * `idx` (a policy's copy of the string library). */
void pattern_register(lua_State *L, int idx);

#endif /* UW_PATTERN_H */
