/*
 * test_container.c - the one rule by which a word names a container
 * (watch --container, diff --container, baseline --container, resume),
 * and the deep copy the watcher and the CLI keep of a container.
 */
#include "check.h"
#include "discover.h"

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

int
main(void)
{
	test_match_kinds_rank_id_name_prefix();
	test_copy_is_deep_and_keeps_set_cgroups();
	return check_done();
}
