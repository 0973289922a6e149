/*
 * pathset.c - the set of container paths the watcher keeps: see
 * pathset.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "pathset.h"

#define TOMB ((unsigned char *)1)	/* a removed entry's key */

static uint64_t
hash_key(const unsigned char *key, size_t len)
{
	return XXH3_64bits(key, len);
}

void
pathset_free(struct pathset *s)
{
	size_t i;

	for (i = 0; i < s->size; i++)
		if (s->v[i].key != NULL && s->v[i].key != TOMB)
			free(s->v[i].key);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
grow(struct pathset *s)
{
	struct pathset n;
	size_t i, k;

	memset(&n, 0, sizeof(n));
	n.size = s->size ? s->size * 2 : 1024;
	if (s->count * 4 < s->size)
		n.size = s->size;	/* mostly tombstones: same size */
	n.v = calloc(n.size, sizeof(*n.v));
	if (n.v == NULL)
		return -ENOMEM;
	for (i = 0; i < s->size; i++) {
		if (s->v[i].key == NULL || s->v[i].key == TOMB)
			continue;
		/* keys are distinct: the first free slot, by the kept hash */
		for (k = s->v[i].hash & (n.size - 1); n.v[k].key != NULL;
		    k = (k + 1) & (n.size - 1))
			;
		n.v[k] = s->v[i];
		n.count++;
		n.used++;
	}
	free(s->v);
	*s = n;
	return 0;
}

/* Find `key`; with create, add a copy. */
struct pathset_entry *
pathset_get(struct pathset *s, const unsigned char *key, size_t len, int create)
{
	struct pathset_entry *e, *tomb = NULL;
	unsigned char *copy;
	uint64_t h;
	size_t i;

	/* Linear probing stays short at half load, tombstones counted. */
	if (s->size == 0 || (create && (s->used + 1) * 2 > s->size)) {
		if (!create)
			return NULL;
		if (grow(s) < 0)
			return NULL;
	}
	h = hash_key(key, len);
	for (i = h & (s->size - 1);; i = (i + 1) & (s->size - 1)) {
		e = &s->v[i];
		if (e->key == NULL)
			break;
		if (e->key == TOMB) {
			if (tomb == NULL)
				tomb = e;
			continue;
		}
		if (e->hash == h && e->len == len &&
		    memcmp(e->key, key, len) == 0)
			return e;
	}
	if (!create)
		return NULL;
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return NULL;	/* the set as it was */
	if (tomb != NULL)
		e = tomb;
	else
		s->used++;
	memset(e, 0, sizeof(*e));
	e->key = copy;
	memcpy(e->key, key, len);
	e->len = len;
	e->hash = h;
	s->count++;
	return e;
}

void
pathset_del(struct pathset *s, struct pathset_entry *e)
{
	free(e->key);
	e->key = TOMB;
	s->count--;
}

int
pathset_live(const struct pathset_entry *e)
{
	return e->key != NULL && e->key != TOMB;
}

struct pathset_entry *
pathset_next(struct pathset *s, size_t *i)
{
	while (*i < s->size) {
		struct pathset_entry *e = &s->v[(*i)++];

		if (pathset_live(e))
			return e;
	}
	return NULL;
}
