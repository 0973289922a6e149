/*
 * test_policy_keep.c - an event a policy keeps reads as itself later.
 *
 * An event's records (current, baseline), its time and id are made when
 * a policy first reads them, from a copy the engine takes when the event
 * is judged.  The daemon reuses its buffers from one event to the next
 * (the path, the records, the writer, the container), so a field made
 * from the caller's memory rather than the copy would show the next
 * event's bytes.  Here the caller does the same: one set of buffers,
 * overwritten for each event, and a policy that keeps each event unread
 * and reads the one before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "upperwatch.h"

static const char keeper[] =
    "local uw = require('upperwatch')\n"
    "local kept\n"
    "return {\n"
    "  name = 'keeper', description = 'reads the last event it kept',\n"
    "  evaluate = function(ev)\n"
    "    local was = kept\n"
    "    kept = ev\n"
    "    if was == nil then return uw.verdict('low', 'log', 'first') end\n"
    "    local c, b, p = was.current, was.baseline, was.process\n"
    "    return uw.verdict('low', 'log', string.format(\n"
    "      '%s %s %s %s %s/%s %s %s %s %s %s %s %s %s',\n"
    "      was.op, was.path, was.type, was.layer, was.container.id,\n"
    "      was.container.labels.tier, tostring(c and c.link),\n"
    "      tostring(c and c.size), tostring(b and b.hash),\n"
    "      tostring(p and p.comm), tostring(p and p.exe),\n"
    "      tostring(was.error), tostring(was.time), tostring(was.id)))\n"
    "  end,\n"
    "}\n";

/* The caller's buffers, shared by every event it judges. */
struct bufs {
	char path[64], link[64], comm[16], exe[64], error[64];
	char id[32], tier[16];
	struct uw_record cur, base;
	struct uw_process proc;
	struct uw_label label;
	struct uw_container ctr;
	struct uw_event ev;
};

/* Fill the buffers with event number n (1, 2 or 3). */
static void
fill(struct bufs *b, int n)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->path, sizeof(b->path), "/event/%d/file", n);
	snprintf(b->link, sizeof(b->link), "/target/%d", n);
	snprintf(b->comm, sizeof(b->comm), "comm%d", n);
	snprintf(b->exe, sizeof(b->exe), "/bin/exe%d", n);
	snprintf(b->error, sizeof(b->error), "error %d", n);
	snprintf(b->id, sizeof(b->id), "container%d", n);
	snprintf(b->tier, sizeof(b->tier), "tier%d", n);
	b->cur.type = UW_TYPE_SYMLINK;
	b->cur.size = (uint64_t)n * 100;
	b->cur.link = (const unsigned char *)b->link;
	b->cur.link_len = strlen(b->link);
	b->base.type = UW_TYPE_SYMLINK;
	b->base.flags = UW_REC_HASHED;
	memset(b->base.hash, 0x10 * n, UW_HASH_LEN);
	b->proc.pid = n;
	b->proc.uid = n;
	b->proc.comm = b->comm;
	b->proc.exe = b->exe;
	b->proc.exe_drift = -1;
	b->label.key = "tier";
	b->label.value = b->tier;
	b->ctr.id = b->id;
	b->ctr.labels = &b->label;
	b->ctr.label_count = 1;
	b->ev.op = n == 2 ? UW_OP_ERROR : UW_OP_MODIFIED;
	b->ev.path = (const unsigned char *)b->path;
	b->ev.path_len = strlen(b->path);
	b->ev.type = UW_TYPE_SYMLINK;
	b->ev.current = &b->cur;
	b->ev.baseline = &b->base;
	b->ev.container = &b->ctr;
	b->ev.process = &b->proc;
	b->ev.error = n == 2 ? b->error : NULL;
	b->ev.time_ns = n * 1000;
	b->ev.id = (uint64_t)n;
}

/* Judge event n from the shared buffers; the keeper's reason. */
static const char *
judge(struct uw_policy_set *set, struct bufs *b, int n)
{
	static char reason[512];
	struct uw_verdict v;
	struct uw_error err;

	fill(b, n);
	if (uw_policy_evaluate(set, &b->ev, UW_ACT_KILL, &v, &err) < 0 ||
	    v.reason_count != 1)
		return "(not judged)";
	snprintf(reason, sizeof(reason), "%s", v.reasons[0].reason);
	memset(b, 0xa5, sizeof(*b));	/* the caller moves on */
	return reason;
}

int
main(void)
{
	char dir[] = "/tmp/uw-test-keep.XXXXXX", file[64];
	const char *paths[1] = { file };
	struct uw_policy_set *set;
	struct uw_error err;
	struct bufs *b = calloc(1, sizeof(*b));
	FILE *f;

	if (b == NULL || mkdtemp(dir) == NULL)
		return 99;
	snprintf(file, sizeof(file), "%s/keeper.lua", dir);
	f = fopen(file, "w");
	if (f == NULL || fputs(keeper, f) < 0 || fclose(f) != 0)
		return 99;
	set = uw_policy_load(paths, 1, NULL, NULL, NULL, &err);
	unlink(file);		/* loaded: the set keeps no path open */
	rmdir(dir);
	CHECK(set != NULL, "the keeper loads");
	if (set == NULL)
		return check_done();
	CHECK_STR(judge(set, b, 1), "first", "the first event: nothing kept");
	CHECK_STR(judge(set, b, 2),
	    "modified /event/1/file symlink upper container1/tier1 "
	    "/target/1 100 10101010101010101010101010101010 comm1 "
	    "/bin/exe1 nil 1000 1",
	    "the first event, kept unread, read while the second is judged");
	CHECK_STR(judge(set, b, 3),
	    "error /event/2/file symlink upper container2/tier2 "
	    "/target/2 200 20202020202020202020202020202020 comm2 "
	    "/bin/exe2 error 2 2000 2",
	    "the second, read while the third is judged");
	uw_policy_free(set);
	free(b);
	return check_done();
}
