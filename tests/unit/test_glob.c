/*
 * test_glob.c - glob matching: each syntax element, anchoring, bytes
 * that are not UTF-8, and patterns that make backtracking matchers blow
 * up (exponential in the stars) answered: the test would time out.
 */
#include <string.h>

#include "check.h"
#include "glob.h"

static int
m(const char *pattern, const char *path)
{
	return glob_match(pattern, strlen(pattern),
	    (const unsigned char *)path, strlen(path));
}

#define YES(p, s) CHECK(m(p, s) == 1, "'%s' matches '%s'", p, s)
#define NO(p, s) CHECK(m(p, s) == 0, "'%s' does not match '%s'", p, s)

int
main(void)
{
	static char big[100001];

	YES("/etc/passwd", "/etc/passwd");
	NO("/etc/passwd", "/etc/passwd2");
	NO("/etc/passwd", "/x/etc/passwd");
	YES("/etc/*.conf", "/etc/app.conf");
	NO("/etc/*.conf", "/etc/sub/app.conf");
	YES("/etc/*", "/etc/");
	YES("/etc/????", "/etc/abcd");
	NO("/etc/????", "/etc/ab/d");
	YES("/etc/**", "/etc/a/b/c");
	NO("/etc/**", "/etcx/a");
	YES("/usr/**/bin/*", "/usr/bin/ls");
	YES("/usr/**/bin/*", "/usr/local/bin/ls");
	YES("/usr/**/bin/*", "/usr/a/b/c/bin/ls");
	NO("/usr/**/bin/*", "/usr/xbin/ls");
	YES("**/.ssh/*", "/root/.ssh/authorized_keys");
	YES("**", "/anything/at/all");
	YES("/lib/*.so*", "/lib/libc.so.6");
	YES("/bin/[a-c]at", "/bin/cat");
	NO("/bin/[a-c]at", "/bin/rat");
	YES("/bin/[!a-c]at", "/bin/rat");
	YES("/bin/[^a-c]at", "/bin/rat");
	NO("/bin/[!a-c]at", "/bin/bat");
	NO("/a[/]b", "/a/b");
	YES("/a[]]b", "/a]b");
	YES("/x\\*y", "/x*y");
	NO("/x\\*y", "/xzy");
	YES("/caf\xc3\xa9", "/caf\xc3\xa9");
	YES("/?\xfe", "/\xff\xfe");
	CHECK(m("/a[bc", "/ab") == -1, "an unclosed '[' is an error");
	CHECK(m("/a\\", "/a") == -1, "a trailing '\\' is an error");
	CHECK(glob_check("/etc/[a-z]*", 11) == 0, "glob_check accepts");
	CHECK(glob_check("/etc/[a-z", 9) == -1, "glob_check refuses");

	/* Backtracking matchers take exponential or polynomial time here. */
	memset(big, 'a', sizeof(big) - 1);
	CHECK(m("*a*a*a*a*a*a*a*a*a*b", big) == 0,
	    "a 100 kB name against a star-heavy pattern");
	CHECK(m("**a**a**a**a**a**a**b", big) == 0,
	    "and against a globstar-heavy one");
	return check_done();
}
