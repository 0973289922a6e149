/*
 * glob.h - path glob matching in time linear in the path for a given
 * pattern (no backtracking), for excludes and policy prefilters.
 *
 * Syntax: `*` any run of bytes but '/', `?` one byte but '/', `**` any run
 * of bytes including '/' (as a whole component, `a/ ** /b` also matches
 * `a/b`), `[abc]`, `[a-z]`, `[!a-z]` or `[^a-z]` one byte of (not of) the
 * set, `\x` the byte x.  Matching is on bytes and anchored at both ends.
 */
#ifndef UW_GLOB_H
#define UW_GLOB_H

#include <stddef.h>

/* Longest pattern accepted, in bytes. */
#define GLOB_MAX_PATTERN 4096

/* 1 if `path` matches `pattern`, 0 if not, -1 if the pattern is malformed
 * (an unclosed '[' or a trailing '\') or longer than GLOB_MAX_PATTERN. */
int glob_match(const char *pattern, size_t pattern_len,
    const unsigned char *path, size_t path_len);

/* A compiled pattern, to match many paths against: NULL when the pattern
 * is malformed or too long (or memory is short). */
struct glob;
struct glob *glob_compile(const char *pattern, size_t len);
void glob_free(struct glob *g);
/* 1 match, 0 no match, -1 out of memory. */
int glob_exec(const struct glob *g, const unsigned char *path,
    size_t path_len);

/* The plain bytes every path the pattern matches starts with (its
 * prefix up to the first wildcard): their count, and *bytes. */
size_t glob_prefix(const struct glob *g, const unsigned char **bytes);

/* Compiled patterns matched together: a path is only tried against the
 * patterns whose prefix it starts with (glob_set.c).  The set borrows
 * the n patterns, which must outlive it; NULL when memory is short (or
 * the set would hold over 2^32 nodes). */
struct glob_set;
struct glob_set *glob_set_new(struct glob *const *globs, size_t n);
void glob_set_free(struct glob_set *s);
/* 1 if a pattern of the set matches, 0 if none does, -1 if none does
 * and one ran out of memory. */
int glob_set_exec(const struct glob_set *s, const unsigned char *path,
    size_t path_len);

/* 0 if the pattern is well-formed, -1 if not. */
int glob_check(const char *pattern, size_t pattern_len);

#endif /* UW_GLOB_H */
