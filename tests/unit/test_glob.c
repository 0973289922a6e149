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

	/* A prefix and one trailing wildcard is decided without the NFA:
	 * it must say what the NFA says for the same pattern made too
	 * complex for the shortcut ("[n]" for "n"). */
	{
		static const char *const paths[] = {
			"/etc/cron", "/etc/crontab", "/etc/cron.d",
			"/etc/cron.d/job", "/etc/cro", "/etc/cronx/",
			"/etc/cron/", "/etc/crond/a/b", "/etcxcron", "",
		};
		size_t i;

		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			CHECK(m("/etc/cron*", paths[i]) ==
			    m("/etc/cro[n]*", paths[i]),
			    "'/etc/cron*' on '%s' as the NFA says", paths[i]);
			CHECK(m("/etc/cron**", paths[i]) ==
			    m("/etc/cro[n]**", paths[i]),
			    "'/etc/cron**' on '%s' as the NFA says",
			    paths[i]);
		}
	}
	/* A pattern with a run of plain bytes after its prefix rejects
	 * a path without that run before the NFA: the same answers as a
	 * pattern with no such run ("[_]" for "_"). */
	{
		static const char *const pairs[][2] = {
			{ "**/__pycache__/**", "**/[_]_[p]y[c]a[c]h[e]_[_]/**" },
			{ "/home/*/.ssh/**", "/home/*/[.]s[s]h/**" },
			{ "/usr/**/bin/*", "/usr/**/[b]i[n]/*" },
			{ "*.so*", "*[.]s[o]*" },
		};
		static const char *const paths[] = {
			"/usr/lib/python3/__pycache__/x.pyc",
			"/__pycache__/", "__pycache__/x", "/a/__pycache__",
			"/a/x__pycache__/b", "/home/u/.ssh/id", "/home/u/.ssh",
			"/home/u/v/.ssh/x", "/home/.ssh/x", "/usr/bin/ls",
			"/usr/local/bin/x", "/usr/bin", "/lib/libc.so.6",
			"/lib/libc.s", "", "/",
		};
		size_t i, j;

		for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
			for (j = 0; j < sizeof(paths) / sizeof(paths[0]); j++)
				CHECK(m(pairs[i][0], paths[j]) ==
				    m(pairs[i][1], paths[j]),
				    "'%s' on '%s' as '%s' says", pairs[i][0],
				    paths[j], pairs[i][1]);
	}
	YES("**/__pycache__/**", "/usr/lib/python3/__pycache__/x.pyc");
	NO("**/__pycache__/**", "/usr/lib/python3/x__pycache__/x.pyc");
	YES("/etc/cron*", "/etc/crontab");
	NO("/etc/cron*", "/etc/cron.d/job");
	YES("/etc/**", "/etc/");
	YES("/usr/lib/**", "/usr/lib/x86_64-linux-gnu/libc.so.6");
	NO("/usr/lib/**", "/usr/lib");

	/* Backtracking matchers take exponential or polynomial time here. */
	memset(big, 'a', sizeof(big) - 1);
	CHECK(m("*a*a*a*a*a*a*a*a*a*b", big) == 0,
	    "a 100 kB name against a star-heavy pattern");
	CHECK(m("**a**a**a**a**a**a**b", big) == 0,
	    "and against a globstar-heavy one");
	return check_done();
}
