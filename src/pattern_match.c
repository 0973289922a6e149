/*
 * pattern_match.c - the bounded Lua 5.4 pattern matcher behind
 * pattern.h, written from the reference manual (§6.4, §6.4.1).
 *
 * A pattern is parsed once per call into a list of items: a single-byte
 * class with its quantifier, a capture bracket, the '$' anchor, %bxy,
 * %f[set] or a back-reference.  Sets become 256-bit maps, so testing a
 * byte costs the same whatever the set.  A syntax error becomes an item
 * that raises the error when the matcher reaches it, because Lua reports
 * a malformed pattern only once matching gets there ("a[" against "b"
 * is no error).  Matching is a loop over the items with an explicit
 * stack of choice points (the pending alternatives of '?', '*', '+' and
 * '-') and a trail of closed captures to undo on backtracking, so it
 * never recurses in C.  It tries the alternatives in the order the
 * manual's semantics fix (greedy longest first, '-' shortest first, '?'
 * with the byte first), which is stock Lua's order, so the match, its
 * captures and any error are stock's.  Every item tried and every
 * subject byte scanned costs a step (start positions where the first
 * byte-taking item cannot match are skipped by a free linear scan, as
 * trying them could only fail); past PATTERN_MAX_STEPS in one
 * call (one iteration, for gmatch) the call fails, so no pattern can
 * keep a policy in C for long.  Nesting is limited as stock Lua limits
 * its recursion, with the same count, so the same patterns are refused.
 */
#include <assert.h>
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "pattern.h"
#include "pattern_int.h"

/* Nesting one match may reach, counted as stock Lua counts its C
 * recursion (MAXCCALLS in lstrlib.c): one level for the match, one per
 * capture bracket passed, one per quantifier whose alternatives are
 * pending. */
#if !defined(LUA_PATTERN_MAX_DEPTH)
#define LUA_PATTERN_MAX_DEPTH 200
#endif

enum pat_op {
	PAT_SINGLE,	/* one byte of a class, maybe quantified */
	PAT_OPEN,	/* '(' */
	PAT_POSITION,	/* '()' */
	PAT_CLOSE,	/* ')' */
	PAT_END,	/* '$' as the pattern's last byte */
	PAT_BALANCE,	/* %bxy */
	PAT_FRONTIER,	/* %f[set] */
	PAT_BACKREF,	/* %0 to %9 */
	PAT_MALFORMED	/* a syntax error, raised when reached */
};

enum pat_class {
	CLASS_ANY,	/* '.' */
	CLASS_BYTE,	/* a byte, or %x when x names no class */
	CLASS_NAMED,	/* %a, %D, ...: a <ctype.h> class or its complement */
	CLASS_SET	/* [...] */
};

enum pat_error {
	ERR_ENDS_WITH_ESCAPE,
	ERR_MISSING_BRACKET,
	ERR_BALANCE_ARGS,
	ERR_FRONTIER_BRACKET
};

static const char *const pat_error_text[] = {
	[ERR_ENDS_WITH_ESCAPE] = "malformed pattern (ends with '%')",
	[ERR_MISSING_BRACKET] = "malformed pattern (missing ']')",
	[ERR_BALANCE_ARGS] = "malformed pattern (missing arguments to '%b')",
	[ERR_FRONTIER_BRACKET] = "missing '[' after '%f' in pattern",
};

struct pat_item {
	unsigned char op;	/* enum pat_op */
	unsigned char kind;	/* enum pat_class, for PAT_SINGLE */
	unsigned char rep;	/* 0 or the quantifier: '?', '*', '+', '-' */
	unsigned char arg;	/* byte, class letter, digit, %b opener or
				 * enum pat_error */
	unsigned char close;	/* %b closer */
	size_t set;		/* CLASS_SET and PAT_FRONTIER: index in sets */
};

struct pat_set {
	unsigned char bits[32];
};

enum pat_choice_kind {
	CHOICE_OPTIONAL,	/* '?' took its byte; next: without it */
	CHOICE_GREEDY,		/* '*' or '+': next, one byte fewer */
	CHOICE_LAZY		/* '-': next, one byte more */
};

/* A quantifier's pending alternatives, and what to restore for them. */
struct pat_choice {
	unsigned char kind;	/* enum pat_choice_kind */
	int level;		/* captures started before the item */
	int trail;		/* trail height before the item */
	int depth;		/* depth the alternatives run at */
	size_t item;		/* the quantified item */
	size_t pos;		/* subject position of the latest try */
	size_t floor;		/* CHOICE_GREEDY: the shortest repetition */
};

/*
 * A parsed pattern, in one Lua userdata with its arrays: the items, the
 * sets, and the matcher's scratch stacks.  Each quantified item has at
 * most one choice pending and each ')' at most one trail entry (a match
 * passes an item once), and the depth limit caps both, so the stacks are
 * sized from the pattern and cannot overflow.
 */
struct pattern_prog {
	size_t item_count;
	size_t set_count;
	size_t choice_cap;
	size_t trail_cap;
	struct pat_item *items;
	struct pat_set *sets;
	struct pat_choice *choices;
	unsigned char *trail;	/* indexes of captures closed */
};

/* {======================================================================
 * Classes and sets
 * ======================================================================= */

/*
 * 1 if `letter` names a class after '%' (a c d g l p s u w x, either
 * case, and z: the manual dropped %z, NUL, in 5.2 but stock 5.4 still
 * reads it), 0 if "%letter" stands for the letter itself.
 */
static int
pat_is_class_letter(int letter)
{
	switch (tolower(letter)) {
	case 'a': case 'c': case 'd': case 'g': case 'l':
	case 'p': case 's': case 'u': case 'w': case 'x':
	case 'z':
		return 1;
	default:
		return 0;
	}
}

/*
 * 1 if byte `c` is in class %`letter`, a letter pat_is_class_letter()
 * accepts; an upper-case letter is the complement.  <ctype.h> in the
 * current locale, as stock Lua.
 */
static int
pat_class_has(int c, int letter)
{
	int in;

	switch (tolower(letter)) {
	case 'a':
		in = isalpha(c);
		break;
	case 'c':
		in = iscntrl(c);
		break;
	case 'd':
		in = isdigit(c);
		break;
	case 'g':
		in = isgraph(c);
		break;
	case 'l':
		in = islower(c);
		break;
	case 'p':
		in = ispunct(c);
		break;
	case 's':
		in = isspace(c);
		break;
	case 'u':
		in = isupper(c);
		break;
	case 'w':
		in = isalnum(c);
		break;
	case 'x':
		in = isxdigit(c);
		break;
	default:
		assert(tolower(letter) == 'z');
		in = c == 0;
		break;
	}
	in = in != 0;
	return isupper(letter) ? !in : in;
}

/* 1 if byte `c` is in `set`. */
static int
pat_set_has(const struct pat_set *set, unsigned c)
{
	return (set->bits[c >> 3] >> (c & 7)) & 1;
}

/* Add byte `c` to `set`. */
static void
pat_set_add(struct pat_set *set, unsigned c)
{
	set->bits[c >> 3] |= (unsigned char)(1u << (c & 7));
}

/* Add what "%x" means inside a set: class x, or the byte x itself. */
static void
pat_set_add_escape(struct pat_set *set, unsigned x)
{
	unsigned c;

	if (!pat_is_class_letter((int)x)) {
		pat_set_add(set, x);
		return;
	}
	for (c = 0; c < 256; c++)
		if (pat_class_has((int)c, (int)x))
			pat_set_add(set, c);
}

/*
 * Index just past the ']' that closes the set whose '[' is p[open], or
 * SIZE_MAX if the pattern ends first.  The body's first byte (after an
 * optional '^') never closes it, so "[]]" is the set of ']', and "%x"
 * skips x, so "[%]]" is too.
 */
static size_t
pat_set_end(const char *p, size_t len, size_t open)
{
	size_t at = open + 1;

	if (at < len && p[at] == '^')
		at++;
	for (;;) {
		char c;

		if (at >= len)
			return SIZE_MAX;
		c = p[at];
		at++;
		if (c == '%' && at < len)
			at++;
		if (at < len && p[at] == ']')
			return at + 1;
	}
}

/*
 * Fill `set` with the bytes that the set p[open..close] accepts, p[open]
 * being its '[' and p[close] its ']'.  The body is read left to right as
 * "%x" (see pat_set_add_escape), "a-z" (a range, unless the '-' is the
 * last byte before ']'), or one byte; a leading '^' complements.  As in
 * stock Lua a "%" just before the ']' found by pat_set_end() takes that
 * ']' as its byte ("[a-%%]" holds ']').
 */
static void
pat_set_build(struct pat_set *set, const char *p, size_t open, size_t close)
{
	size_t at = open + 1;
	int negate = 0;
	unsigned c;

	memset(set->bits, 0, sizeof(set->bits));
	if (p[at] == '^') {
		negate = 1;
		at++;
	}
	for (; at < close; at++) {
		unsigned first = (unsigned char)p[at];

		if (first == '%') {
			at++;
			pat_set_add_escape(set, (unsigned char)p[at]);
		} else if (at + 2 < close && p[at + 1] == '-') {
			for (c = first; c <= (unsigned char)p[at + 2]; c++)
				pat_set_add(set, c);
			at += 2;
		} else {
			pat_set_add(set, first);
		}
	}
	if (negate)
		for (c = 0; c < sizeof(set->bits); c++)
			set->bits[c] = (unsigned char)~set->bits[c];
}

/* }====================================================================== */

/* {======================================================================
 * Parsing
 * ======================================================================= */

/* Append `item` to prog (or, when counting, only count it). */
static void
pat_emit(struct pattern_prog *prog, const struct pat_item *item)
{
	if (prog->items != NULL)
		prog->items[prog->item_count] = *item;
	prog->item_count++;
	if (item->op == PAT_SINGLE && item->rep != 0)
		prog->choice_cap++;
	else if (item->op == PAT_CLOSE)
		prog->trail_cap++;
}

/* Give the set p[open..close] an index in prog (building it unless
 * counting) and return it. */
static size_t
pat_new_set(struct pattern_prog *prog, const char *p, size_t open, size_t close)
{
	size_t index = prog->set_count;

	if (prog->sets != NULL)
		pat_set_build(&prog->sets[index], p, open, close);
	prog->set_count++;
	return index;
}

/*
 * Parse the single-byte class at p[at] ('.', "%x", "[set]" or a byte)
 * and its quantifier into `item`; return the index after them.  A
 * trailing '%' or an unclosed '[' makes a PAT_MALFORMED item.
 */
static size_t
pat_parse_single(struct pattern_prog *prog, const char *p, size_t len,
    size_t at, struct pat_item *item)
{
	unsigned char c = (unsigned char)p[at];
	size_t end = at + 1;

	item->op = PAT_SINGLE;
	if (c == '%') {
		if (at + 1 >= len) {
			item->op = PAT_MALFORMED;
			item->arg = ERR_ENDS_WITH_ESCAPE;
			return len;
		}
		item->arg = (unsigned char)p[at + 1];
		item->kind = pat_is_class_letter(item->arg) ? CLASS_NAMED :
		    CLASS_BYTE;
		end = at + 2;
	} else if (c == '[') {
		end = pat_set_end(p, len, at);
		if (end == SIZE_MAX) {
			item->op = PAT_MALFORMED;
			item->arg = ERR_MISSING_BRACKET;
			return len;
		}
		item->kind = CLASS_SET;
		item->set = pat_new_set(prog, p, at, end - 1);
	} else if (c == '.') {
		item->kind = CLASS_ANY;
	} else {
		item->kind = CLASS_BYTE;
		item->arg = c;
	}
	if (end < len && (p[end] == '?' || p[end] == '*' || p[end] == '+' ||
	    p[end] == '-')) {
		item->rep = (unsigned char)p[end];
		end++;
	}
	return end;
}

/*
 * Parse pattern p (len bytes, no leading anchor) into prog.  With
 * prog->items NULL, only count items, sets and stack needs, so that the
 * caller can size the memory; a second pass fills everything in the same
 * order.  Parsing stops after a PAT_MALFORMED item: nothing after a
 * syntax error can be reached.
 */
static void
pat_parse(struct pattern_prog *prog, const char *p, size_t len)
{
	size_t at = 0;

	prog->item_count = 0;
	prog->set_count = 0;
	prog->choice_cap = 0;
	prog->trail_cap = 0;
	while (at < len) {
		struct pat_item item;
		unsigned char c = (unsigned char)p[at];
		unsigned char next = 0;

		if (at + 1 < len)
			next = (unsigned char)p[at + 1];
		memset(&item, 0, sizeof(item));
		if (c == '(' && next == ')') {
			item.op = PAT_POSITION;
			at += 2;
		} else if (c == '(') {
			item.op = PAT_OPEN;
			at++;
		} else if (c == ')') {
			item.op = PAT_CLOSE;
			at++;
		} else if (c == '$' && at + 1 == len) {
			item.op = PAT_END;
			at++;
		} else if (c == '%' && next == 'b') {
			if (at + 3 >= len) {
				item.op = PAT_MALFORMED;
				item.arg = ERR_BALANCE_ARGS;
			} else {
				item.op = PAT_BALANCE;
				item.arg = (unsigned char)p[at + 2];
				item.close = (unsigned char)p[at + 3];
				at += 4;
			}
		} else if (c == '%' && next == 'f') {
			size_t end = SIZE_MAX;

			at += 2;
			item.op = PAT_MALFORMED;
			item.arg = ERR_FRONTIER_BRACKET;
			if (at < len && p[at] == '[') {
				end = pat_set_end(p, len, at);
				item.arg = ERR_MISSING_BRACKET;
			}
			if (end != SIZE_MAX) {
				item.op = PAT_FRONTIER;
				item.set = pat_new_set(prog, p, at, end - 1);
				at = end;
			}
		} else if (c == '%' && next >= '0' && next <= '9') {
			item.op = PAT_BACKREF;
			item.arg = next;
			at += 2;
		} else {
			at = pat_parse_single(prog, p, len, at, &item);
		}
		pat_emit(prog, &item);
		if (item.op == PAT_MALFORMED)
			break;
	}
	if (prog->choice_cap > LUA_PATTERN_MAX_DEPTH)
		prog->choice_cap = LUA_PATTERN_MAX_DEPTH;
	if (prog->trail_cap > LUA_PATTERN_MAX_DEPTH)
		prog->trail_cap = LUA_PATTERN_MAX_DEPTH;
}

/*
 * Parse pattern p into a new userdata, pushed on the stack, and return
 * it.  The memory comes from the state's allocator, so the policy's cap
 * covers it (a memory error is raised like for any allocation).  It is
 * linear in the pattern: at most one item per byte, one 32-byte map per
 * three bytes of sets.
 */
struct pattern_prog *
pattern_compile(lua_State *L, const char *p, size_t len)
{
	struct pattern_prog sizes;
	struct pattern_prog *prog;
	size_t bytes;
	unsigned char *base;

	memset(&sizes, 0, sizeof(sizes));
	pat_parse(&sizes, p, len);
	if (sizes.item_count > SIZE_MAX / 4 / sizeof(struct pat_item))
		luaL_error(L, "pattern too long");
	bytes = sizeof(*prog) + sizes.item_count * sizeof(struct pat_item) +
	    sizes.choice_cap * sizeof(struct pat_choice) +
	    sizes.set_count * sizeof(struct pat_set) + sizes.trail_cap;
	prog = lua_newuserdatauv(L, bytes, 0);
	/* Arrays in decreasing alignment after the header. */
	base = (unsigned char *)(prog + 1);
	prog->items = (struct pat_item *)(void *)base;
	base += sizes.item_count * sizeof(struct pat_item);
	prog->choices = (struct pat_choice *)(void *)base;
	base += sizes.choice_cap * sizeof(struct pat_choice);
	prog->sets = (struct pat_set *)(void *)base;
	base += sizes.set_count * sizeof(struct pat_set);
	prog->trail = base;
	pat_parse(prog, p, len);
	assert(prog->item_count == sizes.item_count);
	assert(prog->set_count == sizes.set_count);
	return prog;
}

/* }====================================================================== */

/* {======================================================================
 * Matching
 * ======================================================================= */

/* Start a call's matching of `prog` over subject s (len bytes). */
void
pattern_state_init(struct pattern_state *st, lua_State *L, const char *s,
    size_t len, struct pattern_prog *prog)
{
	st->L = L;
	st->subject = (const unsigned char *)s;
	st->length = len;
	st->prog = prog;
	st->steps = 0;
	st->level = 0;
	st->depth = 1;
	st->choice_count = 0;
	st->trail_count = 0;
}

/* Count `n` steps of work; raise once the call is over its budget. */
static void
pat_charge(struct pattern_state *st, size_t n)
{
	st->steps += n;
	if (st->steps > (size_t)PATTERN_MAX_STEPS)
		luaL_error(st->L, "pattern too complex (more than %I steps)",
		    (lua_Integer)PATTERN_MAX_STEPS);
}

/*
 * Where a scan of the subject from `from` (at most the subject's length)
 * must stop to stay within the budget: the subject's end, or one byte
 * past what the budget can pay for, so that charging the scan raises.
 */
static size_t
pat_scan_limit(const struct pattern_state *st, size_t from)
{
	size_t room = (size_t)PATTERN_MAX_STEPS - st->steps;

	assert(from <= st->length);
	if (st->length - from > room)
		return from + room + 1;
	return st->length;
}

/* Enter one nesting level; raise past LUA_PATTERN_MAX_DEPTH. */
static void
pat_enter(struct pattern_state *st)
{
	if (st->depth >= LUA_PATTERN_MAX_DEPTH)
		luaL_error(st->L, "pattern too complex (too deep)");
	st->depth++;
}

/* 1 if byte `c` is in the class of single-byte item `item`. */
static int
pat_byte_in(const struct pattern_prog *prog, const struct pat_item *item,
    unsigned c)
{
	switch (item->kind) {
	case CLASS_ANY:
		return 1;
	case CLASS_BYTE:
		return c == item->arg;
	case CLASS_NAMED:
		return pat_class_has((int)c, item->arg);
	default:
		return pat_set_has(&prog->sets[item->set], c);
	}
}

/* 1 if the subject byte at `at` exists and is in `item`'s class. */
static int
pat_byte_at(const struct pattern_state *st, const struct pat_item *item,
    size_t at)
{
	return at < st->length &&
	    pat_byte_in(st->prog, item, st->subject[at]);
}

/*
 * Push a choice point for quantified item number `index`: its next
 * alternative starts at `pos`, and a greedy one goes down to `floor`.
 * The item's own first try runs one level deeper (a level stock Lua
 * spends on a recursive call); a '?' without its byte runs at the
 * item's level.
 */
static void
pat_push_choice(struct pattern_state *st, enum pat_choice_kind kind,
    size_t index, size_t pos, size_t floor)
{
	struct pat_choice *choice;
	int outer = st->depth;

	pat_enter(st);
	assert(st->choice_count < st->prog->choice_cap);
	choice = &st->prog->choices[st->choice_count];
	st->choice_count++;
	choice->kind = (unsigned char)kind;
	choice->level = st->level;
	choice->trail = (int)st->trail_count;
	choice->depth = kind == CHOICE_OPTIONAL ? outer : st->depth;
	choice->item = index;
	choice->pos = pos;
	choice->floor = floor;
}

/*
 * Resume at the latest pending alternative: set *index to the item after
 * the quantified one, *pos to where it starts, and restore the captures
 * and depth it had.  0 when no alternative is left (the attempt failed).
 */
static int
pat_backtrack(struct pattern_state *st, size_t *index, size_t *pos)
{
	struct pattern_prog *prog = st->prog;

	while (st->choice_count > 0) {
		struct pat_choice *choice;
		const struct pat_item *item;
		int keep = 1;

		choice = &prog->choices[st->choice_count - 1];
		item = &prog->items[choice->item];
		if (choice->kind == CHOICE_OPTIONAL) {
			keep = 0;
		} else if (choice->kind == CHOICE_GREEDY) {
			if (choice->pos == choice->floor) {
				st->choice_count--;
				continue;
			}
			choice->pos--;
		} else {
			if (!pat_byte_at(st, item, choice->pos)) {
				st->choice_count--;
				continue;
			}
			choice->pos++;
		}
		st->level = choice->level;
		while (st->trail_count > (size_t)choice->trail) {
			st->trail_count--;
			st->capture[prog->trail[st->trail_count]].len =
			    PATTERN_CAP_OPEN;
		}
		st->depth = choice->depth;
		*index = choice->item + 1;
		*pos = choice->pos;
		if (!keep)
			st->choice_count--;
		return 1;
	}
	return 0;
}

/*
 * Try single-byte item number `index` at *pos.  Without a quantifier it
 * takes one byte; '*' and '+' take the longest run and leave the shorter
 * ones pending; '-' takes none and leaves longer ones pending; '?' takes
 * the byte if it can and leaves "without" pending.  1 on success (with
 * *pos moved), 0 to backtrack.
 */
static int
pat_single(struct pattern_state *st, const struct pat_item *item, size_t index,
    size_t *pos)
{
	size_t at = *pos;
	size_t top, limit;
	int hit = pat_byte_at(st, item, at);

	switch (item->rep) {
	case '?':
		if (hit) {
			pat_push_choice(st, CHOICE_OPTIONAL, index, at, at);
			*pos = at + 1;
		}
		return 1;
	case '*':
	case '+':
		if (!hit)
			return item->rep == '*';
		limit = pat_scan_limit(st, at + 1);
		top = at + 1;
		while (top < limit &&
		    pat_byte_in(st->prog, item, st->subject[top]))
			top++;
		pat_charge(st, top - at);
		pat_push_choice(st, CHOICE_GREEDY, index, top,
		    item->rep == '+' ? at + 1 : at);
		*pos = top;
		return 1;
	case '-':
		if (hit)
			pat_push_choice(st, CHOICE_LAZY, index, at, at);
		return 1;
	default:
		if (!hit)
			return 0;
		*pos = at + 1;
		return 1;
	}
}

/* '(' or '()' at `pos`: start capture number level. */
static void
pat_open(struct pattern_state *st, const struct pat_item *item, size_t pos)
{
	struct pattern_capture *cap;

	if (st->level >= PATTERN_MAX_CAPTURES)
		luaL_error(st->L, "too many captures");
	pat_enter(st);
	cap = &st->capture[st->level];
	cap->start = pos;
	cap->len = item->op == PAT_POSITION ? PATTERN_CAP_POSITION :
	    PATTERN_CAP_OPEN;
	st->level++;
}

/* ')' at `pos`: close the innermost open capture. */
static void
pat_close(struct pattern_state *st, size_t pos)
{
	int open = st->level - 1;

	while (open >= 0 && st->capture[open].len != PATTERN_CAP_OPEN)
		open--;
	if (open < 0)
		luaL_error(st->L, "invalid pattern capture");
	pat_enter(st);
	st->capture[open].len = (ptrdiff_t)(pos - st->capture[open].start);
	assert(st->trail_count < st->prog->trail_cap);
	st->prog->trail[st->trail_count] = (unsigned char)open;
	st->trail_count++;
}

/*
 * %bxy at *pos: the subject must start with x there and run to the y
 * that balances it (a y counts before an x, so "%b''" pairs quotes).
 */
static int
pat_balance(struct pattern_state *st, const struct pat_item *item, size_t *pos)
{
	size_t at = *pos;
	size_t limit, scan;
	size_t nest = 1;

	if (at >= st->length || st->subject[at] != item->arg)
		return 0;
	limit = pat_scan_limit(st, at + 1);
	for (scan = at + 1; scan < limit; scan++) {
		unsigned char c = st->subject[scan];

		if (c == item->close) {
			nest--;
			if (nest == 0)
				break;
		} else if (c == item->arg) {
			nest++;
		}
	}
	pat_charge(st, scan - at);
	if (scan >= limit)
		return 0;
	*pos = scan + 1;
	return 1;
}

/* %f[set] at `pos`: the byte before (NUL at the start) is not in the set
 * and the byte at pos (NUL at the end) is. */
static int
pat_frontier(const struct pattern_state *st, const struct pat_item *item,
    size_t pos)
{
	const struct pat_set *set = &st->prog->sets[item->set];
	unsigned before = pos > 0 ? st->subject[pos - 1] : 0;
	unsigned after = pos < st->length ? st->subject[pos] : 0;

	return !pat_set_has(set, before) && pat_set_has(set, after);
}

/*
 * %1 to %9 at *pos: the subject must repeat that closed capture there.
 * %0, a capture not started or not closed is an error; a position
 * capture never matches (stock Lua reads its length as huge).
 */
static int
pat_backref(struct pattern_state *st, const struct pat_item *item, size_t *pos)
{
	int index = item->arg - '1';
	const struct pattern_capture *cap;
	size_t len;

	if (index < 0 || index >= st->level ||
	    st->capture[index].len == PATTERN_CAP_OPEN)
		luaL_error(st->L, "invalid capture index %%%d", index + 1);
	cap = &st->capture[index];
	if (cap->len == PATTERN_CAP_POSITION)
		return 0;
	len = (size_t)cap->len;
	if (len > st->length - *pos)
		return 0;
	pat_charge(st, len);
	if (memcmp(st->subject + cap->start, st->subject + *pos, len) != 0)
		return 0;
	*pos += len;
	return 1;
}

/*
 * Try item number `index` at *pos: 1 if it matched (*pos moved past
 * it), 0 to backtrack.  Raises the errors that belong to the item.
 */
static int
pat_step(struct pattern_state *st, size_t index, size_t *pos)
{
	const struct pat_item *item = &st->prog->items[index];

	switch (item->op) {
	case PAT_OPEN:
	case PAT_POSITION:
		pat_open(st, item, *pos);
		return 1;
	case PAT_CLOSE:
		pat_close(st, *pos);
		return 1;
	case PAT_END:
		return *pos == st->length;
	case PAT_BALANCE:
		return pat_balance(st, item, pos);
	case PAT_FRONTIER:
		return pat_frontier(st, item, *pos);
	case PAT_BACKREF:
		return pat_backref(st, item, pos);
	case PAT_MALFORMED:
		luaL_error(st->L, "%s", pat_error_text[item->arg]);
		return 0;
	default:
		return pat_single(st, item, index, pos);
	}
}

/*
 * Match the whole program at subject position `start`: 1 with the end in
 * *end and the captures in st, or 0.  Alternatives are tried in the
 * manual's order, so the match found is stock Lua's.  Steps are charged
 * to st, which the caller may share between attempts.
 */
int
pattern_run(struct pattern_state *st, size_t start, size_t *end)
{
	size_t index = 0;
	size_t pos = start;

	st->level = 0;
	st->depth = 1;
	st->choice_count = 0;
	st->trail_count = 0;
	while (index < st->prog->item_count) {
		pat_charge(st, 1);
		if (pat_step(st, index, &pos))
			index++;
		else if (!pat_backtrack(st, &index, &pos))
			return 0;
	}
	*end = pos;
	return 1;
}

/*
 * The first position from `from` on (at most the subject's length) at
 * which a match may start.  Positions are skipped only when the first
 * item that takes bytes must take one (a single-byte item without a
 * quantifier or with '+', or %bxy) and cannot take the byte there; only
 * capture openings may come before it.  An attempt there would fail at
 * once, leaving no capture; an error the openings raise ("too many
 * captures", too deep) is raised at any position, and the attempt at
 * the subject's end is never skipped, so skipping changes no result and
 * saves the steps.
 */
size_t
pattern_next_start(const struct pattern_state *st, size_t from)
{
	const struct pattern_prog *prog = st->prog;
	const struct pat_item *first;
	size_t index = 0;

	while (index < prog->item_count &&
	    (prog->items[index].op == PAT_OPEN ||
	    prog->items[index].op == PAT_POSITION))
		index++;
	if (index == prog->item_count)
		return from;
	first = &prog->items[index];
	if (first->op == PAT_BALANCE) {
		while (from < st->length && st->subject[from] != first->arg)
			from++;
		return from;
	}
	if (first->op != PAT_SINGLE || (first->rep != 0 && first->rep != '+'))
		return from;
	while (from < st->length && !pat_byte_at(st, first, from))
		from++;
	return from;
}

/* }====================================================================== */
