/*
 * container.c - one container as discovery found it, held beyond the
 * discovery callback: a deep copy, and the one rule by which a word
 * (--container, upperwatch resume) names a container.
 *
 * The rule: a full id names exactly one container; otherwise a name,
 * otherwise an id prefix of at least 4 characters.  The best kind of
 * match wins ("web-1" is the container named so, never also "web-10"'s
 * id prefix); two matches of that kind are ambiguous.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "discover.h"
#include "util.h"

#define PREFIX_MIN 4

enum uw_container_match
discover_match(const struct uw_container *c, const char *want)
{
	size_t len = strlen(want);

	if (strcmp(c->id, want) == 0)
		return UW_MATCH_ID;
	if (strcmp(c->name, want) == 0)
		return UW_MATCH_NAME;
	if (len >= PREFIX_MIN && strncmp(c->id, want, len) == 0)
		return UW_MATCH_PREFIX;
	return UW_MATCH_NONE;
}

/* The copy, and the strings it owns. */
#define COPY_STRS 12
struct copy {
	struct uw_container pub;
	char *strs[COPY_STRS];
	char **lower;
	struct uw_label *labels;
	size_t label_count;
};

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

void
discover_copy_free(struct uw_container *c)
{
	struct copy *k = (struct copy *)c;
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < COPY_STRS; i++)
		free(k->strs[i]);
	for (i = 0; k->lower != NULL && i < k->pub.lower_count; i++)
		free(k->lower[i]);
	free(k->lower);
	for (i = 0; i < k->label_count; i++) {
		free((char *)k->labels[i].key);
		free((char *)k->labels[i].value);
	}
	free(k->labels);
	free(k);
}

static int
copy_lists(struct copy *k, const struct uw_container *src)
{
	size_t i;

	k->lower = calloc(src->lower_count + 1, sizeof(*k->lower));
	k->labels = calloc(src->label_count + 1, sizeof(*k->labels));
	if (k->lower == NULL || k->labels == NULL)
		return -ENOMEM;
	for (i = 0; i < src->lower_count; i++) {
		k->lower[i] = dup_or_empty(src->lower[i]);
		if (k->lower[i] == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < src->label_count; i++) {
		k->labels[i].key = dup_or_empty(src->labels[i].key);
		k->labels[i].value = dup_or_empty(src->labels[i].value);
		k->label_count++;
		if (k->labels[i].key == NULL || k->labels[i].value == NULL)
			return -ENOMEM;
	}
	k->pub.lower = (const char *const *)k->lower;
	k->pub.labels = k->labels;
	k->pub.label_count = k->label_count;
	return 0;
}

struct uw_container *
discover_copy(const struct uw_container *src)
{
	const char *fields[COPY_STRS] = {
		src->id, src->name, src->runtime, src->image, src->image_id,
		src->image_key, src->pod, src->pod_namespace, src->upper,
		src->cgroup_v2, src->cgroup_v1_freezer, src->mount_point
	};
	const char **dst[COPY_STRS];
	struct copy *k;
	size_t i;

	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	k->pub = *src;
	k->pub.lower = NULL;
	k->pub.labels = NULL;
	k->pub.label_count = 0;
	dst[0] = &k->pub.id;
	dst[1] = &k->pub.name;
	dst[2] = &k->pub.runtime;
	dst[3] = &k->pub.image;
	dst[4] = &k->pub.image_id;
	dst[5] = &k->pub.image_key;
	dst[6] = &k->pub.pod;
	dst[7] = &k->pub.pod_namespace;
	dst[8] = &k->pub.upper;
	dst[9] = &k->pub.cgroup_v2;
	dst[10] = &k->pub.cgroup_v1_freezer;
	dst[11] = &k->pub.mount_point;
	for (i = 0; i < COPY_STRS; i++) {
		k->strs[i] = dup_or_empty(fields[i]);
		if (k->strs[i] == NULL)
			goto fail;
		*dst[i] = k->strs[i];
	}
	if (copy_lists(k, src) < 0)
		goto fail;
	return &k->pub;
fail:
	discover_copy_free(&k->pub);
	return NULL;
}

/* Put a copy of `value` in string slot `slot` (the field `*field`) when
 * that is empty and `value` is not; 0 or -ENOMEM. */
static int
fill_empty(struct copy *k, int slot, const char **field, const char *value)
{
	char *dup;

	if ((*field)[0] != '\0' || value[0] == '\0')
		return 0;
	dup = strdup(value);
	if (dup == NULL)
		return -ENOMEM;
	free(k->strs[slot]);
	k->strs[slot] = dup;
	*field = dup;
	return 0;
}

int
discover_copy_set_cgroups(struct uw_container *c, const char *v2,
    const char *v1)
{
	struct copy *k = (struct copy *)c;

	/* Only an empty one is replaced: pointers to the others, handed out
	 * before, stay valid. */
	if (fill_empty(k, 9, &c->cgroup_v2, v2) < 0 ||
	    fill_empty(k, 10, &c->cgroup_v1_freezer, v1) < 0)
		return -ENOMEM;
	return 0;
}

/* The search: the best kind of match so far, how many of that kind, and
 * a copy of the last one. */
struct find {
	const char *want;
	enum uw_container_match best;
	int count;
	struct uw_container *found;
};

static int
find_one(const struct uw_container *c, void *arg)
{
	struct find *f = arg;
	enum uw_container_match m = discover_match(c, f->want);

	if (m == UW_MATCH_NONE || m < f->best)
		return 0;
	if (m > f->best) {
		f->best = m;
		f->count = 0;
	}
	f->count++;
	discover_copy_free(f->found);
	f->found = discover_copy(c);
	if (f->found == NULL)
		return -ENOMEM;
	return m == UW_MATCH_ID ? 1 : 0;	/* an id is unique */
}

struct uw_container *
discover_find(const char *want, struct uw_error *err)
{
	struct find f = { want, UW_MATCH_NONE, 0, NULL };
	int rc;

	rc = discover_foreach(NULL, find_one, &f, NULL, err);
	if (rc > 0)
		rc = 0;		/* found by its id */
	if (rc == -ENOMEM)
		seterr(err, rc, "out of memory");
	else if (rc == 0 && f.count == 0)
		rc = seterr(err, -ENOENT, "no container %s on this host",
		    want);
	else if (rc == 0 && f.count > 1)
		rc = seterr(err, -EINVAL, "%s names %d containers: give the "
		    "id", want, f.count);
	if (rc < 0) {
		discover_copy_free(f.found);
		return NULL;
	}
	return f.found;
}
