/*
 * glob.c - glob matching as a set of live pattern positions.
 *
 * The pattern is compiled into a small list of tokens; matching keeps the
 * set of tokens the path may be at (a bitmap) and advances the whole set
 * one path byte at a time, so the work is O(path bytes * tokens) whatever
 * the pattern: `a*a*a*a*b` against a long run of `a` cannot blow up the
 * way a backtracking matcher does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"

enum tok_kind {
	T_BYTE,		/* one given byte */
	T_ANY,		/* ? */
	T_STAR,		/* * */
	T_GLOBSTAR,	/* ** */
	T_GLOBDIRS,	/* ** / : zero or more whole components */
	T_SET		/* [...] */
};

struct tok {
	enum tok_kind kind;
	unsigned char byte;
	unsigned char set[32];	/* T_SET: bitmap of accepted bytes */
};

/* Parse a bracket expression at pattern[*i] (just past '['). */
static int
parse_set(const char *p, size_t len, size_t *i, struct tok *t)
{
	int negate = 0, first = 1;
	unsigned lo, hi, c;
	size_t j = *i;

	memset(t->set, 0, sizeof(t->set));
	if (j < len && (p[j] == '!' || p[j] == '^')) {
		negate = 1;
		j++;
	}
	for (;;) {
		if (j >= len)
			return -1;
		if (p[j] == ']' && !first)
			break;
		first = 0;
		if (p[j] == '\\') {
			if (++j >= len)
				return -1;
		}
		lo = (unsigned char)p[j++];
		hi = lo;
		if (j + 1 < len && p[j] == '-' && p[j + 1] != ']') {
			j++;
			if (p[j] == '\\' && ++j >= len)
				return -1;
			hi = (unsigned char)p[j++];
		}
		for (c = lo; c <= hi; c++)
			t->set[c >> 3] |= (unsigned char)(1u << (c & 7));
	}
	if (negate)
		for (c = 0; c < 32; c++)
			t->set[c] = (unsigned char)~t->set[c];
	/* A set never matches '/': it stands for one name byte. */
	t->set['/' >> 3] &= (unsigned char)~(1u << ('/' & 7));
	*i = j + 1;
	return 0;
}

/* Compile into toks (at most len + 1 of them); returns the count or -1. */
static long
compile(const char *p, size_t len, struct tok *toks)
{
	size_t i = 0, n = 0;

	while (i < len) {
		struct tok *t = &toks[n];

		if (p[i] == '*') {
			if (i + 1 < len && p[i + 1] == '*') {
				while (i < len && p[i] == '*')
					i++;
				t->kind = T_GLOBSTAR;
				/* "**" + "/" after a "/" (or first): zero or
				 * more whole components, so that "a/ ** /b"
				 * matches "a/b" and "a/x/y/b" but not "a/xb". */
				if (i < len && p[i] == '/' && (n == 0 ||
				    (toks[n - 1].kind == T_BYTE &&
				    toks[n - 1].byte == '/'))) {
					t->kind = T_GLOBDIRS;
					i++;
				}
			} else {
				t->kind = T_STAR;
				i++;
			}
		} else if (p[i] == '?') {
			t->kind = T_ANY;
			i++;
		} else if (p[i] == '[') {
			i++;
			t->kind = T_SET;
			if (parse_set(p, len, &i, t) < 0)
				return -1;
		} else {
			if (p[i] == '\\' && ++i >= len)
				return -1;
			t->kind = T_BYTE;
			t->byte = (unsigned char)p[i++];
		}
		n++;
	}
	return (long)n;
}

#define BITS(n) (((n) + 63) / 64)

static void
set_bit(uint64_t *s, size_t i)
{
	s[i / 64] |= (uint64_t)1 << (i % 64);
}

static int
has_bit(const uint64_t *s, size_t i)
{
	return (s[i / 64] >> (i % 64)) & 1;
}

/* Add position i and every position reachable from it by an empty match
 * (stars and globstars may match nothing). */
static void
close_over(const struct tok *toks, size_t n, uint64_t *s, size_t i)
{
	for (;;) {
		set_bit(s, i);
		if (i < n && (toks[i].kind == T_STAR ||
		    toks[i].kind == T_GLOBSTAR || toks[i].kind == T_GLOBDIRS))
			i++;
		else
			return;
	}
}

static int
tok_accepts(const struct tok *t, unsigned char c)
{
	switch (t->kind) {
	case T_BYTE:
		return t->byte == c;
	case T_ANY:
		return c != '/';
	case T_SET:
		return (t->set[c >> 3] >> (c & 7)) & 1;
	default:
		return 0;
	}
}

struct glob {
	size_t count;		/* tokens */
	size_t prefix;		/* leading tokens that are plain bytes */
	int literal;		/* nothing but plain bytes */
	enum {
		TAIL_NFA,	/* the rest needs the NFA */
		TAIL_ANY,	/* the rest is "**": anything */
		TAIL_NAME	/* the rest is "*": anything but a '/' */
	} tail;
	unsigned char *bytes;	/* those bytes */
	/* The longest run of plain bytes after the prefix: a path that
	 * matches has it somewhere past its prefix, as it is. */
	const unsigned char *needle;
	size_t needle_len;
	struct tok toks[];
};

/* Set g's needle (in g->bytes, after the prefix): its longest run of
 * plain bytes after the prefix, if any is two bytes or more. */
static void
find_needle(struct glob *g)
{
	size_t i, run = 0, best = 0, best_at = 0;

	for (i = g->prefix; i < g->count; i++) {
		if (g->toks[i].kind != T_BYTE) {
			run = 0;
			continue;
		}
		if (++run > best) {
			best = run;
			best_at = i + 1 - run;
		}
	}
	g->needle = g->bytes + g->prefix;
	g->needle_len = best >= 2 ? best : 0;
	for (i = 0; i < g->needle_len; i++)
		g->bytes[g->prefix + i] = g->toks[best_at + i].byte;
}

struct glob *
glob_compile(const char *pattern, size_t len)
{
	struct glob *g;
	long n;

	if (len > GLOB_MAX_PATTERN)
		return NULL;
	g = malloc(sizeof(*g) + (len + 1) * sizeof(g->toks[0]));
	if (g == NULL)
		return NULL;
	n = compile(pattern, len, g->toks);
	if (n < 0) {
		free(g);
		return NULL;
	}
	g->count = (size_t)n;
	/* Most patterns start with a plain prefix ("/etc/ssh/"): checking
	 * it with memcmp first rejects most paths without the NFA. */
	for (g->prefix = 0; g->prefix < g->count &&
	    g->toks[g->prefix].kind == T_BYTE; g->prefix++)
		;
	g->literal = g->prefix == g->count;
	/* The commonest shapes, a prefix and one wildcard ("/usr/lib/"
	 * then "**", "/etc/cron" then "*"), are decided without the NFA. */
	g->tail = TAIL_NFA;
	if (g->count == g->prefix + 1 && g->toks[g->prefix].kind ==
	    T_GLOBSTAR)
		g->tail = TAIL_ANY;
	else if (g->count == g->prefix + 1 && g->toks[g->prefix].kind ==
	    T_STAR)
		g->tail = TAIL_NAME;
	g->bytes = malloc(g->prefix + g->count + 1);
	if (g->bytes == NULL) {
		free(g);
		return NULL;
	}
	for (n = 0; (size_t)n < g->prefix; n++)
		g->bytes[n] = g->toks[n].byte;
	find_needle(g);
	return g;
}

void
glob_free(struct glob *g)
{
	if (g != NULL)
		free(g->bytes);
	free(g);
}

size_t
glob_prefix(const struct glob *g, const unsigned char **bytes)
{
	*bytes = g->bytes;
	return g->prefix;
}

#define STACK_WORDS 16		/* patterns of up to 1023 tokens */

int
glob_exec(const struct glob *g, const unsigned char *path, size_t path_len)
{
	const struct tok *toks = g->toks;
	uint64_t stack[2 * STACK_WORDS], *cur, *next, *heap = NULL;
	size_t n = g->count, words = BITS(n + 1), k, i;
	int ret;

	/* Its last byte first: most paths differ there already. */
	if (path_len < g->prefix || (g->prefix > 0 && path[g->prefix - 1] !=
	    g->bytes[g->prefix - 1]) || memcmp(path, g->bytes,
	    g->prefix) != 0)
		return 0;
	if (g->literal)
		return path_len == g->prefix;
	if (g->tail == TAIL_ANY)
		return 1;
	if (g->tail == TAIL_NAME)
		return memchr(path + g->prefix, '/', path_len - g->prefix) ==
		    NULL;
	if (g->needle_len > 0 && memmem(path + g->prefix, path_len -
	    g->prefix, g->needle, g->needle_len) == NULL)
		return 0;
	if (words <= STACK_WORDS) {
		cur = stack;
	} else {
		heap = malloc(2 * words * sizeof(*heap));
		if (heap == NULL)
			return -1;
		cur = heap;
	}
	next = cur + words;
	memset(cur, 0, words * sizeof(*cur));
	close_over(toks, n, cur, 0);
	for (k = 0; k < path_len; k++) {
		unsigned char c = path[k];
		int any = 0;

		memset(next, 0, words * sizeof(*next));
		for (i = 0; i < n; i++) {
			if (!has_bit(cur, i))
				continue;
			switch (toks[i].kind) {
			case T_STAR:
				if (c != '/') {
					close_over(toks, n, next, i);
					any = 1;
				}
				break;
			case T_GLOBSTAR:
				close_over(toks, n, next, i);
				any = 1;
				break;
			case T_GLOBDIRS:
				/* Inside a component it may only go on; at
				 * its end it may also stop. */
				if (c == '/')
					close_over(toks, n, next, i);
				else
					set_bit(next, i);
				any = 1;
				break;
			default:
				if (tok_accepts(&toks[i], c)) {
					close_over(toks, n, next, i + 1);
					any = 1;
				}
			}
		}
		if (!any) {
			free(heap);
			return 0;
		}
		memcpy(cur, next, words * sizeof(*cur));
	}
	ret = has_bit(cur, n);
	free(heap);
	return ret;
}

int
glob_match(const char *pattern, size_t pattern_len,
    const unsigned char *path, size_t path_len)
{
	struct glob *g;
	int ret;

	g = glob_compile(pattern, pattern_len);
	if (g == NULL)
		return -1;
	ret = glob_exec(g, path, path_len);
	glob_free(g);
	return ret;
}

int
glob_check(const char *pattern, size_t pattern_len)
{
	struct tok *toks;
	long n;

	if (pattern_len > GLOB_MAX_PATTERN)
		return -1;
	toks = malloc((pattern_len + 1) * sizeof(*toks));
	if (toks == NULL)
		return -1;
	n = compile(pattern, pattern_len, toks);
	free(toks);
	return n < 0 ? -1 : 0;
}
