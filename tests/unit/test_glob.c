/*
 * test_glob.c - glob matching: each syntax element, anchoring, bytes
 * that are not UTF-8, and patterns that make backtracking matchers blow
 * up (exponential in the stars) answered: the test would time out.
 */
#include <stdint.h>
#include <stdio.h>
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

static uint64_t seed = 88172645463325252ull;

/* xorshift64: the same draws on every run. */
static unsigned
draw(unsigned n)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (unsigned)(seed % n);
}

/* A random pattern or path of up to `max` pieces into out (NUL
 * terminated); long ones share long prefixes ("/aaaa..."), so that the
 * set's depth cap is crossed. */
static void
random_text(char *out, size_t size, unsigned max, int pattern)
{
	static const char *const pieces[] = {
		"/", "a", "b", ".", "/a", "/b", "ab", "*", "**", "?",
		"[ab]", "\\*", "/**/",
	};
	unsigned n = draw(max + 1), i, kinds = pattern ? 13 : 7;
	size_t len = 0, l;

	out[0] = '\0';
	if (size > 80 && draw(4) == 0) {
		memset(out, 'a', 70);
		out[0] = '/';
		len = 60 + draw(11);
		out[len] = '\0';
	}
	for (i = 0; i < n; i++) {
		const char *p = pieces[draw(kinds)];

		l = strlen(p);
		if (len + l + 1 > size)
			break;
		memcpy(out + len, p, l + 1);
		len += l;
	}
}

/* A set of patterns says what trying each of them says, on random
 * patterns and paths: prefixes shared, nested, empty, past the depth
 * the set indexes, and paths that stop inside a prefix. */
static void
check_sets(void)
{
	char pats[12][128], path[128];
	struct glob *g[12];
	struct glob_set *s;
	unsigned round, n, i, j, wrong = 0, hits = 0, tries = 0;
	int want, got;

	for (round = 0; round < 400; round++) {
		n = 1 + draw(12);
		for (i = 0; i < n; i++) {
			do
				random_text(pats[i], sizeof(pats[i]), 6, 1);
			while ((g[i] = glob_compile(pats[i],
			    strlen(pats[i]))) == NULL);
		}
		s = glob_set_new(g, n);
		if (s == NULL && wrong++ < 5)
			CHECK(0, "a set of %u patterns made", n);
		for (j = 0; s != NULL && j < 200; j++) {
			/* half the paths start as one of the patterns */
			if (draw(2) == 0) {
				random_text(path, sizeof(path), 8, 0);
			} else {
				i = draw(n);
				snprintf(path, sizeof(path), "%.*s",
				    (int)draw((unsigned)strlen(pats[i]) + 1),
				    pats[i]);
				random_text(path + strlen(path), sizeof(path) -
				    strlen(path), 3, 0);
			}
			want = 0;
			for (i = 0; i < n; i++)
				if (glob_exec(g[i], (const unsigned char *)path,
				    strlen(path)) == 1)
					want = 1;
			got = glob_set_exec(s, (const unsigned char *)path,
			    strlen(path));
			tries++;
			hits += want;
			if (got != want && wrong++ < 5)
				CHECK(0, "set of %u ('%s'...) on '%s': %d, "
				    "its patterns say %d", n, pats[0], path,
				    got, want);
		}
		glob_set_free(s);
		for (i = 0; i < n; i++)
			glob_free(g[i]);
	}
	CHECK(wrong == 0, "%u of %u random paths matched a set as its "
	    "patterns say", tries - wrong, tries);
	CHECK(hits > tries / 20 && hits < tries - tries / 20,
	    "the random paths both match (%u) and do not", hits);
}

/* A set on a few patterns of the shapes policies use. */
static void
check_set_examples(void)
{
	static const char *const pats[] = {
		"/etc/passwd", "/etc/ssh/**", "/home/*/.ssh",
		"**/.bashrc", "/etc/cron*",
	};
	static const struct { const char *path, *what; int want; } tries[] = {
		{ "/etc/ssh/sshd_config", "a path under one prefix", 1 },
		{ "/root/.bashrc", "a path by a pattern with no prefix", 1 },
		{ "/etc/hostname", "a path under none", 0 },
		{ "/etc", "a path that stops inside the prefixes", 0 },
	};
	struct glob *g[5];
	struct glob_set *s;
	size_t i;

	for (i = 0; i < 5; i++)
		g[i] = glob_compile(pats[i], strlen(pats[i]));
	s = glob_set_new(g, 5);
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		CHECK(s != NULL && glob_set_exec(s,
		    (const unsigned char *)tries[i].path,
		    strlen(tries[i].path)) == tries[i].want,
		    "a set %s %s (%s)", tries[i].want ? "matches" :
		    "does not match", tries[i].what, tries[i].path);
	glob_set_free(s);
	for (i = 0; i < 5; i++)
		glob_free(g[i]);
}

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

	check_sets();
	check_set_examples();

	/* Backtracking matchers take exponential or polynomial time here. */
	memset(big, 'a', sizeof(big) - 1);
	CHECK(m("*a*a*a*a*a*a*a*a*a*b", big) == 0,
	    "a 100 kB name against a star-heavy pattern");
	CHECK(m("**a**a**a**a**a**a**b", big) == 0,
	    "and against a globstar-heavy one");
	return check_done();
}
