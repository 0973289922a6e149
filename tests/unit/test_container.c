/*
 * test_container.c - the one rule by which a word names a container
 * (watch --container, diff --container, baseline --container, resume),
 * the deep copy the watcher and the CLI keep of a container, and which
 * container a writer's cgroup puts it in.
 */
#include "check.h"
#include "discover.h"
#include "fanotify.h"

static struct uw_container
ctr(const char *id, const char *name)
{
	struct uw_container c;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.name = name;
	c.runtime = "runc";
	c.image = c.image_id = c.image_key = c.pod = c.pod_namespace = "";
	c.upper = c.mount_point = c.cgroup_v1_freezer = c.cgroup_v2 = "";
	return c;
}

static void
test_match_kinds_rank_id_name_prefix(void)
{
	struct uw_container web1 = ctr("abcdef0123", "web-1");
	struct uw_container web10 = ctr("web-1aaaa", "web-10");

	CHECK_INT(discover_match(&web1, "abcdef0123"), UW_MATCH_ID,
	    "a full id is an id match");
	CHECK_INT(discover_match(&web1, "web-1"), UW_MATCH_NAME,
	    "a name is a name match");
	CHECK_INT(discover_match(&web1, "abcd"), UW_MATCH_PREFIX,
	    "4 characters of the id are a prefix match");
	CHECK_INT(discover_match(&web1, "abc"), UW_MATCH_NONE,
	    "3 characters are too short to name anything");
	CHECK_INT(discover_match(&web10, "web-1"), UW_MATCH_PREFIX,
	    "web-1 is only an id prefix of the other container");
	CHECK(discover_match(&web1, "web-1") > discover_match(&web10,
	    "web-1"), "the name outranks another's id prefix");
	CHECK_INT(discover_match(&web1, "web-"), UW_MATCH_NONE,
	    "a name prefix names nothing");
}

static void
test_copy_is_deep_and_keeps_set_cgroups(void)
{
	char id[] = "0123456789", lower0[] = "/l/0", key[] = "k", val[] = "v";
	const char *lower[] = { lower0 };
	struct uw_label label = { key, val };
	struct uw_container src = ctr(id, "n"), *c;
	const char *v2;

	src.lower = lower;
	src.lower_count = 1;
	src.labels = &label;
	src.label_count = 1;
	src.cgroup_v2 = "/sys/fs/cgroup/a";
	c = discover_copy(&src);
	CHECK(c != NULL, "a container is copied");
	if (c == NULL)
		return;
	memset(id, 'x', sizeof(id) - 1);
	memset(lower0, 'x', sizeof(lower0) - 1);
	memset(val, 'x', sizeof(val) - 1);
	CHECK_STR(c->id, "0123456789", "the id is the copy's own");
	CHECK_STR(c->lower[0], "/l/0", "the layers are the copy's own");
	CHECK_STR(c->labels[0].value, "v", "the labels are the copy's own");
	CHECK_INT(c->lower_count, 1, "the layer count is kept");
	v2 = c->cgroup_v2;
	CHECK_INT(discover_copy_set_cgroups(c, "/sys/fs/cgroup/b", "/v1"), 0,
	    "cgroups are filled in");
	CHECK(c->cgroup_v2 == v2 && strcmp(v2, "/sys/fs/cgroup/a") == 0,
	    "a cgroup already known is kept (pointers to it stay valid)");
	CHECK_STR(c->cgroup_v1_freezer, "/v1", "an empty cgroup is filled");
	discover_copy_free(c);
}

/* The container fan_cgroup_better picks for a process of cgroups v2 /
 * v1 among cs[0..n), in that order; -1 for none. */
static int
pick(struct uw_container *cs, int n, const char *v2, const char *v1)
{
	size_t best = 0;
	int i, got = -1;

	for (i = 0; i < n; i++)
		if (fan_cgroup_better(v2, v1, &cs[i], &best))
			got = i;
	return got;
}

/* A writer is in the container whose cgroup holds it, at any depth below
 * (systemd in a container makes one cgroup per service), by whole names;
 * of two nested containers, the inner one, whatever their order. */
static void
test_writer_cgroup_picks_the_deepest_container(void)
{
	struct uw_container cs[3];

	memset(cs, 0, sizeof(cs));
	cs[0].cgroup_v1_freezer = "/sys/fs/cgroup/freezer/k/c1";
	cs[0].cgroup_v2 = "";
	cs[1].cgroup_v1_freezer = "";
	cs[1].cgroup_v2 = "/sys/fs/cgroup/k/c1/svc/inner";
	cs[2].cgroup_v1_freezer = "";
	cs[2].cgroup_v2 = "/sys/fs/cgroup/k/c2";
	CHECK_INT(pick(cs, 3, "", "/k/c1"), 0, "its own cgroup (v1)");
	CHECK_INT(pick(cs, 3, "", "/k/c1/a/b/c"), 0, "a cgroup below (v1)");
	CHECK_INT(pick(cs, 3, "/k/c2/x", ""), 2, "a cgroup below (v2)");
	CHECK_INT(pick(cs, 3, "", "/k/c10"), -1, "names compared whole");
	CHECK_INT(pick(cs, 3, "/k/c", ""), -1, "no part of a name");
	CHECK_INT(pick(cs, 3, "", "/k"), -1, "an ancestor is no container's");
	CHECK_INT(pick(cs, 3, "/", "/"), -1, "the root is no container's");
	CHECK_INT(pick(cs, 3, "", ""), -1, "no cgroup, no container");
	CHECK_INT(pick(cs, 3, "/k/c1/svc/inner/x", "/k/c1/svc/inner/x"), 1,
	    "the inner of two nested containers");
	CHECK_INT(pick(cs + 1, 1, "/k/c1/svc", ""), -1,
	    "the outer's service is not the inner's");
	/* the inner one first: the outer never wins over it */
	cs[2] = cs[0];
	CHECK_INT(pick(cs + 1, 2, "/k/c1/svc/inner", "/k/c1/svc/inner"), 0,
	    "the inner one, listed first");
}

int
main(void)
{
	test_match_kinds_rank_id_name_prefix();
	test_copy_is_deep_and_keeps_set_cgroups();
	test_writer_cgroup_picks_the_deepest_container();
	return check_done();
}
