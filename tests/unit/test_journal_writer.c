/*
 * test_journal_writer.c - the journal's writer thread: what is handed
 * out is written in order and committed by jw_sync, and while the
 * writer cannot write (another connection holds the database's write
 * lock) the watcher is held back by the bytes waiting, not only by their
 * count: a container's long paths must not grow the queue without bound.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "journal_writer.h"
#include "store.h"
#include "upperwatch.h"

#define BIG_JSON (32u << 10)
#define BIG_EVENTS 1000

static char dir[] = "/tmp/uw-test-jw.XXXXXX";
static char dbpath[512];
static char big_json[BIG_JSON + 1];
static atomic_uint handed;
static uint64_t next_id = 1;

/* Hand out one event of json_len bytes of JSON at path /f<id>. */
static int
event(struct jw *jw, size_t json_len)
{
	char path[32];
	uint64_t id = next_id++;

	snprintf(path, sizeof(path), "/f%llu", (unsigned long long)id);
	return jw_event(jw, id, (int64_t)id, "ctr", "added",
	    (const unsigned char *)path, strlen(path), "file", big_json,
	    json_len, "low", "log", "set", "0123456789abcdef");
}

static void *
producer(void *arg)
{
	struct jw *jw = arg;
	int i;

	for (i = 0; i < BIG_EVENTS; i++) {
		if (event(jw, BIG_JSON) < 0)
			break;
		atomic_fetch_add(&handed, 1);
	}
	return NULL;
}

struct seen {
	uint64_t count, last_id;
	int in_order;
};

static int
on_event(uint64_t id, int64_t time_ns, const char *container,
    const char *op, const unsigned char *path, size_t path_len,
    const char *detail, void *arg)
{
	struct seen *s = arg;

	(void)time_ns;
	(void)container;
	(void)op;
	(void)path;
	(void)path_len;
	(void)detail;
	if (id <= s->last_id)
		s->in_order = 0;
	s->last_id = id;
	s->count++;
	return 0;
}

static int
on_state(const unsigned char *path, size_t len, const char *sig, void *arg)
{
	(void)path;
	(void)len;
	(void)sig;
	(*(uint64_t *)arg)++;
	return 0;
}

/* Events and path states in the journal, read on a connection of the
 * test's own. */
static void
count(struct store *store, struct seen *s, uint64_t *states)
{
	struct uw_error err;

	memset(s, 0, sizeof(*s));
	s->in_order = 1;
	*states = 0;
	if (store_events_foreach(store, NULL, 0, NULL, on_event, s, &err) < 0 ||
	    store_state_foreach(store, "ctr", on_state, states, &err) < 0)
		printf("# reading the journal: %s\n", err.msg);
}

int
main(void)
{
	struct uw_error err;
	struct store *store;
	struct seen s;
	struct jw *jw;
	sqlite3 *blocker;
	pthread_t t;
	uint64_t states;
	unsigned got;
	int i, rc;

	memset(big_json, 'x', BIG_JSON);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/db", dir);
	memset(&err, 0, sizeof(err));
	store = store_open(dbpath, 0, &err);
	CHECK(store != NULL, "a fresh database (%s)", err.msg);
	if (store == NULL)
		return check_done();
	rc = jw_start(&jw, dbpath, &err);
	CHECK_INT(rc, 0, "the writer starts");
	if (rc < 0)
		return check_done();

	/* ---- written in order, committed by jw_sync ---- */
	for (i = 0; i < 100; i++)
		event(jw, 10);
	jw_sync(jw);
	count(store, &s, &states);
	CHECK_INT(s.count, 100, "100 events handed out, 100 journaled");
	CHECK(s.in_order, "in the order they were handed out");
	CHECK_INT(states, 100, "with their 100 path states");

	/* ---- held back by bytes while the writer cannot write ---- */
	CHECK_INT(sqlite3_open(dbpath, &blocker), SQLITE_OK,
	    "a second connection");
	CHECK_INT(sqlite3_exec(blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK, "it takes the write lock");
	event(jw, 10);
	jw_commit(jw);		/* the writer takes it, and waits for the lock */
	usleep(100000);		/* (taken: the bound below allows for not) */
	if (pthread_create(&t, NULL, producer, jw) != 0)
		return 1;
	usleep(1000000);
	got = atomic_load(&handed);
	/* the list the writer holds (1 event, or at most JW_QUEUE_BYTES if
	 * it took more before it waited), at most JW_QUEUE_BYTES waiting
	 * (8 MiB: 256 events of 32 KiB), and the watcher's batch (64);
	 * without a bound in bytes, all of them */
	CHECK(got <= 2 * 256 + 64 + 1, "while the writer waits, the watcher "
	    "is held back after %u of %u events of 32 KiB", got, BIG_EVENTS);
	sqlite3_exec(blocker, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(blocker);
	pthread_join(t, NULL);
	CHECK_INT(atomic_load(&handed), BIG_EVENTS,
	    "once the lock is let go, every event is handed out");
	jw_sync(jw);
	count(store, &s, &states);
	CHECK_INT(s.count, 100 + 1 + BIG_EVENTS, "and journaled");
	CHECK(s.in_order, "in order");

	memset(&err, 0, sizeof(err));
	CHECK_INT(jw_stop(jw, &err), 0, "the writer stops with no failure");
	store_close(store);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return check_done();
}
