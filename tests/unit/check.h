/*
 * check.h - the unit tests' few macros.  Each test binary prints TAP
 * ("ok N - what" / "not ok N - what") and exits non-zero if a check
 * failed.
 */
#ifndef UW_CHECK_H
#define UW_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_count, check_failed;

/* The rest of a TAP line, each newline in it (a value shown) written as
 * a backslash and an n: a line never ends early, so the harness sees no
 * stray output. */
static inline void
check_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void
check_print(const char *fmt, ...)
{
	char buf[4096];
	const char *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n')
			fputs("\\n", stdout);
		else
			putchar(*p);
	putchar('\n');
}

#define CHECK(cond, ...) do {						\
	check_count++;							\
	if (cond) {							\
		printf("ok %d - ", check_count);			\
	} else {							\
		check_failed++;						\
		printf("not ok %d - %s:%d: ", check_count, __FILE__,	\
		    __LINE__);						\
	}								\
	check_print(__VA_ARGS__);					\
} while (0)

#define CHECK_INT(got, want, what) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	CHECK(g_ == w_, "%s (got %lld, want %lld)", what, g_, w_);	\
} while (0)

#define CHECK_STR(got, want, what) do {					\
	const char *g_ = (got), *w_ = (want);				\
	CHECK(g_ != NULL && strcmp(g_, w_) == 0,			\
	    "%s (got \"%s\", want \"%s\")", what, g_ ? g_ : "(null)", w_);\
} while (0)

static inline int
check_done(void)
{
	printf("1..%d\n", check_count);
	return check_failed ? 1 : 0;
}

#endif /* UW_CHECK_H */
