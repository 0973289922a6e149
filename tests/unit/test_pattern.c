/*
 * test_pattern.c - src/pattern.c against stock Lua 5.4.
 *
 * A differential test: one state keeps stock string.find, match, gmatch
 * and gsub, another has ours in its string table, and the same small Lua
 * driver runs each call in both under pcall and serializes what came
 * back (values with their types, or the error message).  Patterns and
 * subjects are generated from a seeded PRNG over a small alphabet, with
 * every class, set form, quantifier, anchor, capture kind, %b, %f,
 * back-reference and malformed form; the results must be byte for byte
 * the same.  Left out of the comparison, and counted: calls where stock
 * itself gives up ("pattern too complex", its nesting limit; ours must
 * give up then too) and calls where ours runs out of steps.  Then the
 * bounds themselves: patterns that make stock backtrack for seconds fail
 * fast with "pattern too complex", ordinary work on large inputs does
 * not, and a capped allocator turns a huge result into a memory error.
 *
 * Usage: test_pattern [seed [combinations]]
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "check.h"
#include "pattern.h"

#define DEFAULT_SEED UINT64_C(0x5eed1e55c0ffee)
#define DEFAULT_COMBINATIONS 60000

/* Calls per (pattern, subject, init): find, plain find, match, gmatch,
 * gsub. */
enum op {
	OP_FIND = 1,
	OP_FIND_PLAIN,
	OP_MATCH,
	OP_GMATCH,
	OP_GSUB,
	OP_COUNT = OP_GSUB
};

static const char *const op_name[] = {
	[OP_FIND] = "find", [OP_FIND_PLAIN] = "find plain",
	[OP_MATCH] = "match", [OP_GMATCH] = "gmatch", [OP_GSUB] = "gsub",
};

/*
 * The driver, loaded in both states.  It returns run(op, s, p, a, r):
 * the call's results serialized, "ok|count|values..." or
 * "error|1|message", each value tagged with its type so that 1 and "1"
 * differ.  gmatch results are every iteration's, one per line.  gsub
 * takes a as n and r as the index of a replacement in REPL (strings with
 * every escape, a table, a function, a number).  It also sets the global
 * `pack` for the fixed checks.
 */
static const char driver_lua[] =
    "local find, match, gmatch, gsub = string.find, string.match,\n"
    "    string.gmatch, string.gsub\n"
    "local pcall, select, type, tostring = pcall, select, type, tostring\n"
    "local concat, tpack, unpack = table.concat, table.pack, table.unpack\n"
    "local mtype = math.type\n"
    "local function enc(v)\n"
    "  local t = type(v)\n"
    "  if t == 'string' then return 's' .. #v .. ':' .. v end\n"
    "  if t == 'number' then\n"
    "    return (mtype(v) == 'integer' and 'i' or 'f') .. tostring(v)\n"
    "  end\n"
    "  return t .. ':' .. tostring(v)\n"
    "end\n"
    "local function pack(ok, ...)\n"
    "  local out = { ok and 'ok' or 'error', tostring(select('#', ...)) }\n"
    "  for i = 1, select('#', ...) do\n"
    "    out[#out + 1] = enc((select(i, ...)))\n"
    "  end\n"
    "  return concat(out, '|')\n"
    "end\n"
    "local function all(s, p, init)\n"
    "  local out, it = {}, gmatch(s, p, init)\n"
    "  while #out < 100 do\n"
    "    local r = tpack(it())\n"
    "    if r[1] == nil then break end\n"
    "    out[#out + 1] = pack(true, unpack(r, 1, r.n))\n"
    "  end\n"
    "  return concat(out, '\\n')\n"
    "end\n"
    "local T = { a = '<A>', ab = false, b = 7, aa = {}, [1] = '#1',\n"
    "  [2] = 2.5, [3] = true, ['('] = 'P', [''] = 'E' }\n"
    "local function F(...)\n"
    "  local a = ...\n"
    "  if a == 'b' then return nil end\n"
    "  if a == 'c' then return false end\n"
    "  if a == 'aa' then return {} end\n"
    "  if a == 1 then return 1.5 end\n"
    "  local parts = {}\n"
    "  for i = 1, select('#', ...) do\n"
    "    parts[i] = tostring((select(i, ...)))\n"
    "  end\n"
    "  return '[' .. concat(parts, ',') .. ']'\n"
    "end\n"
    "local REPL = { '<%0>', '%1-%2', 'x', '%%%1', '', '%', '%9', '%a',\n"
    "  T, F, 7, '%2%1%0', '[%3]', 'a%%b%1' }\n"
    "_G.pack = pack\n"
    "return function(op, s, p, a, r)\n"
    "  if op == 1 then return pack(pcall(find, s, p, a)) end\n"
    "  if op == 2 then return pack(pcall(find, s, p, a, true)) end\n"
    "  if op == 3 then return pack(pcall(match, s, p, a)) end\n"
    "  if op == 4 then return pack(pcall(all, s, p, a)) end\n"
    "  return pack(pcall(gsub, s, p, REPL[r], a))\n"
    "end\n";

/* Number of replacements in the driver's REPL (index 0 passes nil). */
#define REPL_COUNT 14

/* splitmix64: small, seedable, the same sequence everywhere. */
struct rng {
	uint64_t state;
};

static uint64_t
rng_next(struct rng *r)
{
	uint64_t z;

	r->state += UINT64_C(0x9e3779b97f4a7c15);
	z = r->state;
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A uniform value in [0, n). */
static unsigned
rng_below(struct rng *r, unsigned n)
{
	return (unsigned)(rng_next(r) % n);
}

/* A byte picked from `chars` (len bytes, which may include NUL). */
static char
rng_pick(struct rng *r, const char *chars, size_t len)
{
	return chars[rng_below(r, (unsigned)len)];
}

#define PICK(r, lit) rng_pick((r), (lit), sizeof(lit) - 1)

/* A byte string under construction; bytes past the cap are dropped. */
struct text {
	char bytes[256];
	size_t len;
};

static void
text_add(struct text *t, char c)
{
	if (t->len < sizeof(t->bytes))
		t->bytes[t->len++] = c;
}

static void
text_adds(struct text *t, const char *s)
{
	while (*s != '\0')
		text_add(t, *s++);
}

/* An argument for the driver. */
enum val_type { V_NONE, V_INT, V_FLOAT, V_STRING };

struct val {
	enum val_type type;
	lua_Integer i;
	double f;
	const char *s;
	size_t len;
};

static void
val_push(lua_State *L, const struct val *v)
{
	switch (v->type) {
	case V_INT:
		lua_pushinteger(L, v->i);
		break;
	case V_FLOAT:
		lua_pushnumber(L, v->f);
		break;
	case V_STRING:
		lua_pushlstring(L, v->s, v->len);
		break;
	default:
		lua_pushnil(L);
		break;
	}
}

/* ---- generators ---- */

/* One element of a set body. */
static void
gen_set_element(struct rng *r, struct text *t)
{
	switch (rng_below(r, 7)) {
	case 0:
	case 1:
		text_add(t, PICK(r, "abcA1 .^-_\xe9"));
		break;
	case 2:
		text_add(t, PICK(r, "abc019AZ%"));
		text_add(t, '-');
		text_add(t, PICK(r, "abc019AZ]%"));
		break;
	case 3:
		text_add(t, '%');
		text_add(t, PICK(r, "acdglpsuwxACDGLPSUWXqz"));
		break;
	case 4:
		text_add(t, '%');
		text_add(t, PICK(r, "]-%^[.\0"));
		break;
	case 5:
		text_add(t, '-');
		break;
	default:
		text_add(t, PICK(r, "aab\0\n()"));
		break;
	}
}

/* A set "[...]", now and then complemented, with ']' first, or left
 * unclosed. */
static void
gen_set(struct rng *r, struct text *t)
{
	unsigned n, i;

	text_add(t, '[');
	if (rng_below(r, 4) == 0)
		text_add(t, '^');
	if (rng_below(r, 6) == 0)
		text_add(t, ']');
	n = 1 + rng_below(r, 4);
	for (i = 0; i < n; i++)
		gen_set_element(r, t);
	if (rng_below(r, 30) != 0)
		text_add(t, ']');
}

/* A single-byte class: a byte, '.', %class, %escape or a set. */
static void
gen_class(struct rng *r, struct text *t)
{
	switch (rng_below(r, 10)) {
	case 0:
	case 1:
	case 2:
		text_add(t, PICK(r, "aaabbcAB1 _\n\xe9"));
		break;
	case 3:
		text_add(t, '.');
		break;
	case 4:
		text_add(t, '%');
		text_add(t, PICK(r, "acdglpsuwxACDGLPSUWX"));
		break;
	case 5:
		text_add(t, '%');
		text_add(t, PICK(r, "qzQZBF.%[]()-*+?$^\0 "));
		break;
	case 6:
	case 7:
		gen_set(r, t);
		break;
	case 8:
		text_add(t, PICK(r, "]^$"));
		break;
	default:
		text_add(t, PICK(r, "ab\0()[]%-."));
		break;
	}
}

static void gen_items(struct rng *r, struct text *t, unsigned nest);

/* One pattern item, possibly a capture group of several (up to `nest`
 * levels deep). */
static void
gen_item(struct rng *r, struct text *t, unsigned nest)
{
	switch (rng_below(r, 22)) {
	case 10:
	case 11:
	case 12:
		if (nest < 3) {
			text_add(t, '(');
			gen_items(r, t, nest + 1);
			text_add(t, ')');
			break;
		}
		/* FALLTHROUGH */
	case 13:
		text_adds(t, "()");
		break;
	case 14:
		text_add(t, '%');
		text_add(t, PICK(r, "111111222301239"));
		break;
	case 15:
		text_adds(t, "%b");
		text_add(t, PICK(r, "((([ab'"));
		text_add(t, PICK(r, ")))]ba'"));
		break;
	case 16:
		text_adds(t, "%f");
		gen_set(r, t);
		break;
	case 17:
		text_add(t, PICK(r, "$^"));
		break;
	case 18:
		text_add(t, PICK(r, "()[]%^$*+-?.ab"));
		break;
	case 19:
		text_add(t, PICK(r, "()"));
		break;
	default:
		gen_class(r, t);
		if (rng_below(r, 2) == 0)
			text_add(t, PICK(r, "*+-?"));
		break;
	}
}

static void
gen_items(struct rng *r, struct text *t, unsigned nest)
{
	unsigned n = rng_below(r, nest == 0 ? 6 : 4);
	unsigned i;

	for (i = 0; i < n; i++)
		gen_item(r, t, nest);
}

/* Patterns as policies write them, and subjects they meet. */
static const char *const real_patterns[] = {
	"^/etc/.-%.conf$", "(%w+)=(%w+)", "%f[%w]%w+", "%b()", "(.-)%1",
	"^(%s*)(.-)(%s*)$", "[%w_]+", "()a()", "^[^/]+", "%.%a+$",
	"(%d+)%.(%d+)", "[%z\1-\31]", "%s*$", "(a*(.)%w(%s*))", "a-b",
	"^(.-)/([^/]*)$", "([\"'])(.-)%1", "%f[%a]%a+%f[%A]", ".-", "x*",
};
static const char *const real_subjects[] = {
	"/etc/ssh/sshd_config", "/etc/app.conf", "key=value other=1",
	"  padded  ", "f(a(b)c)d", "say \"hi\" now", "v1.22.3",
	"/root/.ssh/authorized_keys", "hello world from Lua", "",
	"THE (quick) fox", "aaab", "abab", "a.b.c",
};

/* A pattern: mostly generated items, sometimes anchored, sometimes with
 * a malformed tail, sometimes one a policy would write. */
static void
gen_pattern(struct rng *r, struct text *t)
{
	static const char *const bad_tails[] = {
		"%", "%b", "%bx", "%f", "%fa", "[", "[^", "[%", "[a%]",
		"%f[a", "(", ")", "%f", "[]", "[^]",
	};

	t->len = 0;
	if (rng_below(r, 10) == 0) {
		text_adds(t, real_patterns[rng_below(r,
		    sizeof(real_patterns) / sizeof(real_patterns[0]))]);
		return;
	}
	if (rng_below(r, 6) == 0)
		text_add(t, '^');
	gen_items(r, t, 0);
	if (rng_below(r, 6) == 0)
		text_add(t, '$');
	if (rng_below(r, 20) == 0)
		text_adds(t, bad_tails[rng_below(r,
		    sizeof(bad_tails) / sizeof(bad_tails[0]))]);
}

/* A subject: up to `max` bytes of a small alphabet (NUL and a non-ASCII
 * byte included), or one a policy would see. */
static void
gen_subject(struct rng *r, struct text *t, unsigned max)
{
	unsigned n, i;

	t->len = 0;
	if (rng_below(r, 10) == 0) {
		text_adds(t, real_subjects[rng_below(r,
		    sizeof(real_subjects) / sizeof(real_subjects[0]))]);
		return;
	}
	n = rng_below(r, max + 1);
	for (i = 0; i < n; i++)
		text_add(t, PICK(r,
		    "aaaaaabbbbbcAB1 .()[]%-_\n\0\xe9'\""));
}

/* init for find, match, gmatch: usually none or in range; sometimes 0,
 * extremes, a float or a string. */
static void
gen_init(struct rng *r, size_t len, struct val *v)
{
	unsigned span = (unsigned)len * 2 + 7;

	v->type = V_INT;
	switch (rng_below(r, 14)) {
	case 0: case 1: case 2: case 3: case 4:
		v->type = V_NONE;
		break;
	case 9:
		v->i = 0;
		break;
	case 10:
		v->i = rng_below(r, 2) ? LUA_MININTEGER : LUA_MAXINTEGER;
		break;
	case 11:
		v->type = V_FLOAT;
		v->f = rng_below(r, 2) ? 2.0 : 1.5;
		break;
	case 12:
		v->type = V_STRING;
		v->s = rng_below(r, 2) ? "2" : "x";
		v->len = 1;
		break;
	default:
		v->i = (lua_Integer)rng_below(r, span) - (lua_Integer)len - 3;
		break;
	}
}

/* n for gsub: usually none, else small (negative included) or a float. */
static void
gen_max(struct rng *r, struct val *v)
{
	v->type = V_INT;
	switch (rng_below(r, 8)) {
	case 0: case 1: case 2: case 3:
		v->type = V_NONE;
		break;
	case 4:
		v->type = V_FLOAT;
		v->f = rng_below(r, 2) ? 1.0 : 1.5;
		break;
	default:
		v->i = (lua_Integer)rng_below(r, 6) - 1;
		break;
	}
}

/* ---- the two states ---- */

struct tally {
	long compared[OP_COUNT + 1];
	long mismatched;
	long stock_limit;	/* stock gave up: not compared */
	long stock_limit_ours_not;	/* ...and ours did not */
	long ours_budget;	/* ours ran out of steps: not compared */
	int shown;
};

/* A state with the standard libraries and the driver at index 1;
 * with_ours puts our functions in its string table. */
static lua_State *
state_new(int with_ours)
{
	lua_State *L = luaL_newstate();

	if (L == NULL)
		return NULL;
	luaL_openlibs(L);
	if (with_ours) {
		lua_getglobal(L, "string");
		pattern_register(L, -1);
		lua_pop(L, 1);
	}
	if (luaL_loadstring(L, driver_lua) != LUA_OK ||
	    lua_pcall(L, 0, 1, 0) != LUA_OK) {
		fprintf(stderr, "driver: %s\n", lua_tostring(L, -1));
		exit(2);
	}
	return L;
}

/* Run the driver in L; the serialized result stays on the stack (pop it
 * after use). */
static const char *
state_run(lua_State *L, enum op op, const struct val *s, const struct val *p,
    const struct val *a, int repl, size_t *len)
{
	lua_pushvalue(L, 1);
	lua_pushinteger(L, op);
	val_push(L, s);
	val_push(L, p);
	val_push(L, a);
	lua_pushinteger(L, repl);
	if (lua_pcall(L, 5, 1, 0) != LUA_OK) {
		fprintf(stderr, "driver failed: %s\n", lua_tostring(L, -1));
		exit(2);
	}
	return lua_tolstring(L, -1, len);
}

/* Print bytes as a TAP comment-safe quoted string. */
static void
print_bytes(const char *s, size_t len)
{
	size_t i;

	putchar('"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 32 || c >= 127 || c == '"' || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_val(const struct val *v)
{
	switch (v->type) {
	case V_INT:
		printf("%lld", (long long)v->i);
		break;
	case V_FLOAT:
		printf("%g", v->f);
		break;
	case V_STRING:
		print_bytes(v->s, v->len);
		break;
	default:
		fputs("nil", stdout);
		break;
	}
}

static int
contains(const char *s, size_t len, const char *what)
{
	size_t n = strlen(what);
	size_t i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(s + i, what, n) == 0)
			return 1;
	return 0;
}

/* Run one call in both states and compare, or count it as left out. */
static void
compare_one(lua_State *stock, lua_State *ours, struct tally *tally,
    enum op op, const struct val *s, const struct val *p,
    const struct val *a, int repl)
{
	size_t want_len, got_len;
	const char *want = state_run(stock, op, s, p, a, repl, &want_len);
	const char *got = state_run(ours, op, s, p, a, repl, &got_len);

	if (strncmp(want, "error|", 6) == 0 &&
	    contains(want, want_len, "pattern too complex")) {
		tally->stock_limit++;
		if (!contains(got, got_len, "pattern too complex"))
			tally->stock_limit_ours_not++;
	} else if (contains(got, got_len, "pattern too complex (more than")) {
		tally->ours_budget++;
	} else {
		tally->compared[op]++;
		if (want_len != got_len || memcmp(want, got, got_len) != 0) {
			tally->mismatched++;
			if (tally->shown++ < 20) {
				printf("# MISMATCH %s s=", op_name[op]);
				print_val(s);
				fputs(" p=", stdout);
				print_val(p);
				fputs(" a=", stdout);
				print_val(a);
				printf(" repl=%d\n#   stock: ", repl);
				print_bytes(want, want_len);
				fputs("\n#   ours:  ", stdout);
				print_bytes(got, got_len);
				putchar('\n');
			}
		}
	}
	lua_pop(stock, 1);
	lua_pop(ours, 1);
}

/* All five calls for one (subject, pattern, init). */
static void
compare_all(lua_State *stock, lua_State *ours, struct tally *tally,
    struct rng *r, const struct val *s, const struct val *p,
    const struct val *init)
{
	struct val max;
	enum op op;

	for (op = OP_FIND; op <= OP_GMATCH; op++)
		compare_one(stock, ours, tally, op, s, p, init, 0);
	gen_max(r, &max);
	compare_one(stock, ours, tally, OP_GSUB, s, p, &max,
	    (int)rng_below(r, REPL_COUNT * 8) / 8 +
	    (rng_below(r, 40) != 0));
}

/* How many bytes of p could be quantifiers: a rough measure of how
 * much stock may backtrack. */
static unsigned
quantifiers(const struct text *p)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < p->len; i++)
		n += memchr("*+-?", p->bytes[i], 4) != NULL;
	return n;
}

/*
 * The generated combinations: subjects of up to 12 bytes, or, with
 * `long_subjects`, up to 64 bytes for patterns with at most three
 * quantifiers (more could keep stock busy for long).
 */
static void
run_generated(lua_State *stock, lua_State *ours, struct tally *tally,
    uint64_t seed, long combinations, int long_subjects)
{
	struct rng r = { seed };
	struct text pattern, subject;
	long k;

	for (k = 0; k < combinations; k++) {
		struct val s = { V_STRING, 0, 0, NULL, 0 };
		struct val p = { V_STRING, 0, 0, NULL, 0 };
		struct val init;

		do
			gen_pattern(&r, &pattern);
		while (long_subjects && quantifiers(&pattern) > 3);
		gen_subject(&r, &subject, long_subjects ? 64 : 12);
		s.s = subject.bytes;
		s.len = subject.len;
		p.s = pattern.bytes;
		p.len = pattern.len;
		/* Numbers are coerced to strings, as in stock. */
		if (rng_below(&r, 50) == 0) {
			s.type = V_INT;
			s.i = (lua_Integer)rng_below(&r, 100000);
		}
		if (rng_below(&r, 100) == 0) {
			p.type = V_INT;
			p.i = (lua_Integer)rng_below(&r, 100);
		}
		gen_init(&r, s.type == V_STRING ? s.len : 5, &init);
		compare_all(stock, ours, tally, &r, &s, &p, &init);
	}
}

/*
 * Patterns at stock's nesting limit: k repetitions of "a?", "a*", "a-",
 * "%f[a]a?" or "(a)" against runs of 'a' (units that can always match
 * empty: stock backtracks exponentially over "a+" repeated).  Both must
 * refuse the same ones (stock's refusals are left out of the comparison,
 * but ours must refuse them too).
 */
static void
run_depth(lua_State *stock, lua_State *ours, struct tally *tally)
{
	static const char *const units[] = { "a?", "a*", "a-", "%f[a]a?",
	    "(a)" };
	static char pattern[2048], subject[512];
	struct rng r = { 7 };
	size_t u;
	int k;

	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		for (k = 185; k <= 215; k++) {
			struct val s = { V_STRING, 0, 0, subject, 0 };
			struct val p = { V_STRING, 0, 0, pattern, 0 };
			struct val init = { V_NONE, 0, 0, NULL, 0 };
			size_t n = strlen(units[u]);
			int i;

			p.len = 0;
			for (i = 0; i < k; i++) {
				memcpy(pattern + p.len, units[u], n);
				p.len += n;
			}
			s.len = (size_t)k + (size_t)(k % 3) - 1;
			memset(subject, 'a', s.len);
			compare_all(stock, ours, tally, &r, &s, &p, &init);
		}
	}
}

/* ---- fixed checks ---- */

/* Evaluate Lua `code` (an expression list) in L under pcall, serialized
 * by the driver's pack; the result is copied to buf. */
static const char *
eval(lua_State *L, const char *code, char *buf, size_t size)
{
	char chunk[1024];
	const char *res;

	snprintf(chunk, sizeof(chunk),
	    "return pack(pcall(function() return %s end))", code);
	if (luaL_loadstring(L, chunk) != LUA_OK ||
	    lua_pcall(L, 0, 1, 0) != LUA_OK) {
		snprintf(buf, size, "lua: %s", lua_tostring(L, -1));
		lua_pop(L, 1);
		return buf;
	}
	res = lua_tostring(L, -1);
	snprintf(buf, size, "%s", res != NULL ? res : "(null)");
	lua_pop(L, 1);
	return buf;
}

#define EVAL_IS(L, code, want) do {					\
	char buf_[512];							\
	CHECK_STR(eval((L), (code), buf_, sizeof(buf_)), (want), code);	\
} while (0)

/* `code` raised an error whose message (after the position of the Lua
 * caller) is `msg`. */
#define EVAL_ERR(L, code, msg) do {					\
	char buf_[512];							\
	const char *got_ = eval((L), (code), buf_, sizeof(buf_));	\
	size_t gl_ = strlen(got_), ml_ = strlen(msg);			\
	CHECK(strncmp(got_, "error|", 6) == 0 && gl_ >= ml_ &&		\
	    strcmp(got_ + gl_ - ml_, (msg)) == 0,			\
	    "%s fails with \"%s\" (got %s)", code, msg, got_);		\
} while (0)

#define TOO_COMPLEX "pattern too complex (more than 1000000 steps)"

/* The manual's examples and the 5.4 empty-match rules, by value. */
static void
check_examples(lua_State *L)
{
	EVAL_IS(L, "string.gsub('hello world', '(%w+)', '%1 %1')",
	    "ok|2|s23:hello hello world world|i2");
	EVAL_IS(L, "string.gsub('hello world', '%w+', '%0 %0', 1)",
	    "ok|2|s17:hello hello world|i1");
	EVAL_IS(L, "string.gsub('hello world from Lua', "
	    "'(%w+)%s*(%w+)', '%2 %1')", "ok|2|s20:world hello Lua from|i2");
	EVAL_IS(L, "string.gsub('$name-$version.tar.gz', '%$(%w+)', "
	    "{name = 'lua', version = '5.4'})", "ok|2|s14:lua-5.4.tar.gz|i2");
	EVAL_IS(L, "string.gsub('hello world', '%w*', 'x')",
	    "ok|2|s3:x x|i2");
	EVAL_IS(L, "string.gsub('abc', '()', '%1')", "ok|2|s7:1a2b3c4|i4");
	EVAL_IS(L, "string.gsub('abc', '', '-')", "ok|2|s7:-a-b-c-|i4");
	EVAL_IS(L, "string.gsub('THE (quick) fox', '%f[%a]%a+', 'x')",
	    "ok|2|s7:x (x) x|i3");
	EVAL_IS(L, "string.find('THE (quick) fox', '%((%a+)%)')",
	    "ok|3|i5|i11|s5:quick");
	EVAL_IS(L, "string.match('f(a(b)c)d', '%b()')", "ok|1|s7:(a(b)c)");
	EVAL_IS(L, "string.match('say \"hi\" now', '([\"\\'])(.-)%1')",
	    "ok|2|s1:\"|s2:hi");
	EVAL_IS(L, "string.match('  key = value  ', "
	    "'^%s*(%w+)%s*=%s*(%w+)')", "ok|2|s3:key|s5:value");
	EVAL_IS(L, "string.find('a\\0b', '\\0', 1, true)", "ok|2|i2|i2");
	EVAL_IS(L, "string.byte(string.match('a\\0b', 'a(%c)b'))",
	    "ok|1|i0");
	EVAL_IS(L, "string.find(12345, 34)", "ok|2|i3|i4");
	EVAL_IS(L, "string.find('abc', 'b', -1)", "ok|1|nil:nil");
	EVAL_IS(L, "string.find('abc', '', 10)", "ok|1|nil:nil");
	EVAL_IS(L, "string.find('abc', '', 4)", "ok|2|i4|i3");
	EVAL_IS(L, "select('#', string.gmatch('abcabc', 'b', 4)())",
	    "ok|1|i1");
	EVAL_IS(L, "string.gmatch('^a^a', '^a')()", "ok|1|s2:^a");
	EVAL_IS(L, "string.find('b', 'a[')", "ok|1|nil:nil");
	EVAL_ERR(L, "string.find('a', 'a[')",
	    "malformed pattern (missing ']')");
	EVAL_IS(L, "string.gsub('abc', '(a', 'x')", "ok|2|s3:xbc|i1");
	EVAL_ERR(L, "string.find('abc', '(a')", "unfinished capture");
}

/* The bounds: what takes stock seconds fails fast; ordinary work on
 * large inputs does not fail. */
static void
check_bounds(lua_State *L)
{
	EVAL_ERR(L, "('a'):rep(512):find('.-.-.-b')", TOO_COMPLEX);
	EVAL_ERR(L, "('a'):rep(100000):find('a-b')", TOO_COMPLEX);
	EVAL_ERR(L, "('a'):rep(100000):match('(.-)%1b')", TOO_COMPLEX);
	EVAL_ERR(L, "('a'):rep(3000):find('(.*)%1b')", TOO_COMPLEX);
	EVAL_ERR(L, "('('):rep(100000):find('%b()')", TOO_COMPLEX);
	EVAL_ERR(L, "('a'):rep(100000):find(('a*'):rep(20) .. 'b')",
	    TOO_COMPLEX);
	EVAL_ERR(L, "string.gmatch(('a'):rep(512), '.-.-.-b')()", TOO_COMPLEX);
	/* Each attempt is cheap; the total over one gsub is bounded. */
	EVAL_ERR(L, "('a'):rep(3000):gsub('a-b', '')", TOO_COMPLEX);

	EVAL_IS(L, "('x'):rep(100000):find('%d')", "ok|1|nil:nil");
	EVAL_IS(L, "('x'):rep(100000):find('xy', 1, true)", "ok|1|nil:nil");
	EVAL_IS(L, "#('x'):rep(200000):match('^x*$')", "ok|1|i200000");
	EVAL_IS(L, "#(('ab '):rep(30000):gsub('%s+', '_'))", "ok|1|i90000");
	EVAL_IS(L, "select(2, ('ab '):rep(30000):gsub('%a+', '%0'))",
	    "ok|1|i30000");
	EVAL_IS(L, "#(('/etc/' .. ('d/'):rep(2000) .. 'x.conf')"
	    ":match('^/etc/.-%.conf$'))", "ok|1|i4011");
	EVAL_IS(L, "(function() local n = 0 for w in "
	    "(('word '):rep(20000)):gmatch('%a+') do n = n + 1 end "
	    "return n end)()", "ok|1|i20000");
	/* Nesting up to stock's limit works; one more level is refused,
	 * as stock refuses it. */
	EVAL_IS(L, "#('a'):rep(199):match(('a?'):rep(199))", "ok|1|i199");
	EVAL_ERR(L, "('a'):rep(200):match(('a?'):rep(200))",
	    "pattern too complex (too deep)");
	EVAL_ERR(L, "string.find('', ('()'):rep(33))", "too many captures");
}

/* An allocator that refuses to go past a cap, like the sandbox's. */
struct capped {
	size_t used, cap;
};

static void *
capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct capped *c = ud;
	size_t old = ptr != NULL ? osize : 0;
	void *p;

	if (nsize == 0) {
		free(ptr);
		c->used -= old;
		return NULL;
	}
	if (nsize > old && c->used + (nsize - old) > c->cap)
		return NULL;
	p = realloc(ptr, nsize);
	if (p != NULL)
		c->used = c->used - old + nsize;
	return p;
}

/* Results are built in the state's memory: a huge gsub result is a
 * memory error under a cap, and the state goes on working. */
static void
check_memory_cap(void)
{
	struct capped cap = { 0, 4u << 20 };
	lua_State *L = lua_newstate(capped_alloc, &cap);
	char buf[512];

	CHECK(L != NULL, "capped state created");
	if (L == NULL)
		return;
	luaL_openlibs(L);
	lua_getglobal(L, "string");
	pattern_register(L, -1);
	lua_pop(L, 1);
	if (luaL_loadstring(L, driver_lua) != LUA_OK ||
	    lua_pcall(L, 0, 1, 0) != LUA_OK) {
		CHECK(0, "driver loads under the cap");
		lua_close(L);
		return;
	}
	CHECK_STR(eval(L, "('x'):rep(2000):gsub('x', ('y'):rep(10000))",
	    buf, sizeof(buf)), "error|1|s17:not enough memory",
	    "gsub past the memory cap fails with a memory error");
	CHECK_STR(eval(L, "#(('x'):rep(1000):gsub('x', 'yy'))", buf,
	    sizeof(buf)), "ok|1|i2000", "the capped state works after it");
	lua_close(L);
}

/* pattern_register takes a relative index and sets all four. */
static void
check_register(void)
{
	lua_State *L = luaL_newstate();
	static const char *const names[] = { "find", "match", "gmatch",
	    "gsub" };
	size_t i;

	lua_newtable(L);
	lua_pushinteger(L, 42);
	pattern_register(L, -2);
	CHECK_INT(lua_gettop(L), 2, "register leaves the stack as it was");
	for (i = 0; i < 4; i++) {
		lua_getfield(L, 1, names[i]);
		CHECK(lua_iscfunction(L, -1), "register sets %s", names[i]);
		lua_pop(L, 1);
	}
	lua_close(L);
}

int
main(int argc, char **argv)
{
	uint64_t seed = DEFAULT_SEED;
	long combinations = DEFAULT_COMBINATIONS;
	lua_State *stock, *ours;
	struct tally tally;
	long total = 0;
	int op;

	if (argc > 1)
		seed = strtoull(argv[1], NULL, 0);
	if (argc > 2)
		combinations = strtol(argv[2], NULL, 0);
	memset(&tally, 0, sizeof(tally));
	stock = state_new(0);
	ours = state_new(1);
	CHECK(stock != NULL && ours != NULL, "states created");
	if (stock == NULL || ours == NULL)
		return check_done();

	run_generated(stock, ours, &tally, seed, combinations, 0);
	run_generated(stock, ours, &tally, seed + 1, combinations / 4, 1);
	run_depth(stock, ours, &tally);
	for (op = OP_FIND; op <= OP_COUNT; op++) {
		total += tally.compared[op];
		printf("# %s: %ld calls compared\n", op_name[op],
		    tally.compared[op]);
	}
	printf("# seed %#" PRIx64 ": %ld + %ld combinations, %ld calls "
	    "compared, %ld mismatched; left out: %ld where stock gave up, "
	    "%ld where ours ran out of steps\n", seed, combinations,
	    combinations / 4, total, tally.mismatched, tally.stock_limit,
	    tally.ours_budget);
	CHECK(total >= combinations * 5, "compared %ld calls", total);
	CHECK_INT(tally.mismatched, 0, "results identical to stock Lua");
	CHECK_INT(tally.stock_limit_ours_not, 0,
	    "ours refuses whatever stock refuses as too complex");
	CHECK(tally.stock_limit > 0, "stock's nesting limit was reached "
	    "(%ld calls)", tally.stock_limit);

	check_examples(ours);
	check_examples(stock);
	check_bounds(ours);
	check_memory_cap();
	check_register();
	lua_close(stock);
	lua_close(ours);
	return check_done();
}
