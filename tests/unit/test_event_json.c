/*
 * test_event_json.c - uw_event_write_json on a stream that threads
 * share.
 *
 * The JSON writers use stdio's unlocked calls (jsonw.h), so the API's
 * writer holds the stream it is given for the whole event: two threads
 * writing events to one stream must give whole lines, one event each,
 * never bytes of one inside the other.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "upperwatch.h"

#define EVENTS 3000

struct writer {
	FILE *out;
	char tag;		/* 'a' or 'b': its paths are all that letter */
	int failed;
};

static void *
write_events(void *arg)
{
	struct writer *w = arg;
	unsigned char path[200];
	struct uw_event ev;
	int i;

	memset(path, w->tag, sizeof(path));
	path[0] = '/';
	memset(&ev, 0, sizeof(ev));
	ev.op = UW_OP_ADDED;
	ev.type = UW_TYPE_FILE;
	ev.path = path;
	ev.path_len = sizeof(path);
	for (i = 0; i < EVENTS; i++) {
		ev.id = (uint64_t)i + 1;
		if (uw_event_write_json(w->out, &ev) < 0)
			w->failed = 1;
	}
	return NULL;
}

/* Is line (without its newline) one whole event of one writer? */
static int
whole(const char *line, size_t len)
{
	const char *p = strstr(line, "\"path\":\"/");
	size_t i;

	if (len < 2 || line[0] != '{' || line[len - 1] != '}' || p == NULL ||
	    strstr(p + 1, "\"path\"") != NULL)
		return 0;
	p += strlen("\"path\":\"/");	/* then 199 of one letter */
	for (i = 1; i < 199; i++)
		if (p[i] != p[0])
			return 0;
	return (p[0] == 'a' || p[0] == 'b') && p[i] == '"';
}

int
main(void)
{
	struct writer a = { NULL, 'a', 0 }, b = { NULL, 'b', 0 };
	pthread_t ta, tb;
	char *line = NULL;
	size_t cap = 0, lines = 0, good = 0;
	ssize_t n;
	FILE *f = tmpfile();

	if (f == NULL)
		return 99;
	setvbuf(f, NULL, _IOFBF, 512);	/* small: the threads meet often */
	a.out = b.out = f;
	if (pthread_create(&ta, NULL, write_events, &a) != 0 ||
	    pthread_create(&tb, NULL, write_events, &b) != 0)
		return 99;
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK(!a.failed && !b.failed, "every write succeeds");
	rewind(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		lines++;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		good += whole(line, (size_t)n);
	}
	CHECK_INT(lines, 2 * EVENTS, "one line per event");
	CHECK_INT(good, 2 * EVENTS, "each line is one whole event");
	free(line);
	fclose(f);
	return check_done();
}
