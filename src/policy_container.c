/*
 * policy_container.c - the container as policies see it: a read-only
 * view of its fields and labels (DESIGN §4), capped as discovery caps
 * them, and kept for reuse: a watcher's events come from a few
 * containers, so most events find their container's view made.
 *
 * A view is kept with the bytes it was built from (every field and
 * label as the container holds them, length-prefixed: the key), compared
 * whole, never by a hash that could collide; at most POLICY_CTR_VIEWS of
 * them, each at most POLICY_CTR_KEY_MAX bytes (struct uw_policy_set's
 * ctr_views).  The key is what the view is made from, before the caps:
 * the same key makes the same view, and comparing it needs no walk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "policy_int.h"
#include "util.h"

/*
 * Walking the labels the event shows: discovery's caps (UW_LABEL_*),
 * applied again so that a caller of the API that does not cap cannot make
 * every event too big to judge, and the same way, so that labels
 * discovery kept are all kept: a value is cut at UW_LABEL_VALUE_MAX bytes
 * (on a UTF-8 boundary), and a label past UW_LABEL_COUNT_MAX labels or
 * UW_LABELS_MAX bytes (key and value) in all is left out.  `truncated` is
 * set when anything was (here or by discovery), once the walk is done.
 */
struct label_walk {
	size_t next;
	struct label_caps caps;
};

/* Start a walk over c's labels. */
static void
label_walk_init(const struct uw_container *c, struct label_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->caps.truncated = c->labels_truncated != 0;
}

/* The next label shown: its index and the length of its value shown;
 * 0 when there are no more. */
static int
label_next(const struct uw_container *c, struct label_walk *w,
    size_t *index, size_t *vlen)
{
	const struct uw_label *l;

	while (w->next < c->label_count) {
		l = &c->labels[w->next++];
		if (l->key == NULL) {
			w->caps.truncated = 1;
			continue;
		}
		if (!label_fit(&w->caps, strnlen(l->key,
		    UW_LABEL_VALUE_MAX + 1), l->value, vlen))
			continue;
		*index = w->next - 1;
		return 1;
	}
	return 0;
}

/*
 * Where a container's cache key goes as it is walked (container_key):
 * appended to `out`, or, with out NULL, compared with a kept key (`cmp`,
 * cmp_len bytes) as it goes, so that a hit costs no copy and a miss
 * stops at the first byte that differs.
 */
struct key_sink {
	struct buf *out;
	const unsigned char *cmp;
	size_t cmp_len, pos;
};

/* The length that stands for a NULL string in a key. */
#define KEY_NULL UINT32_MAX

/* Add 32-bit n to a cache key; or, comparing, check it is next in the
 * kept key.  0, -E2BIG (too big to keep), -ENOMEM, or -ESRCH at the
 * first difference. */
static int
key_num(struct key_sink *k, uint32_t n)
{
	if (k->out == NULL) {
		if (k->cmp_len - k->pos < sizeof(n) ||
		    memcmp(k->cmp + k->pos, &n, sizeof(n)) != 0)
			return -ESRCH;
		k->pos += sizeof(n);
		return 0;
	}
	if (k->out->len + sizeof(n) > POLICY_CTR_KEY_MAX)
		return -E2BIG;
	return buf_add(k->out, &n, sizeof(n)) < 0 ? -ENOMEM : 0;
}

/* Add C string v (NULL: no bytes, length KEY_NULL) to a cache key, after
 * its length, so that fields cannot run into one another; or, comparing,
 * check it is next in the kept key, in one pass over v (whose bytes are
 * read no further than its NUL).  As key_num. */
static int
key_str(struct key_sink *k, const char *v)
{
	size_t len = 0;
	uint32_t n;
	int rc;

	if (k->out == NULL) {
		if (k->cmp_len - k->pos < sizeof(n))
			return -ESRCH;
		memcpy(&n, k->cmp + k->pos, sizeof(n));
		k->pos += sizeof(n);
		if (v == NULL || n == KEY_NULL)
			return v == NULL && n == KEY_NULL ? 0 : -ESRCH;
		/* (a kept string has no NUL: v stops in it or after it) */
		if (k->cmp_len - k->pos < n || strncmp(v,
		    (const char *)k->cmp + k->pos, n) != 0 || v[n] != '\0')
			return -ESRCH;
		k->pos += n;
		return 0;
	}
	if (v != NULL)
		len = strnlen(v, POLICY_CTR_KEY_MAX + 1);
	if (len > POLICY_CTR_KEY_MAX)
		return -E2BIG;
	rc = key_num(k, v != NULL ? (uint32_t)len : KEY_NULL);
	if (rc == 0 && len > POLICY_CTR_KEY_MAX - k->out->len)
		return -E2BIG;
	if (rc == 0 && len > 0 && buf_add(k->out, v, len) < 0)
		return -ENOMEM;
	return rc;
}

/* What a container's view is made from, into k: the cache key (compared
 * whole: no hash to collide), every field and label as c holds them and
 * labels_truncated.  0, or <0 when it is too big to be worth keeping (or
 * no memory), or differs from the key k compares with. */
static int
container_key(struct key_sink *k, const struct uw_container *c)
{
	const char *const fields[] = { c->id, c->name, c->image,
	    c->image_id, c->runtime, c->pod, c->pod_namespace };
	size_t i;
	int rc = 0;

	/* (a label takes 8 bytes of a key at least) */
	if (c->label_count > POLICY_CTR_KEY_MAX / 8)
		return -E2BIG;
	for (i = 0; rc == 0 && i < sizeof(fields) / sizeof(fields[0]); i++)
		rc = key_str(k, fields[i]);
	if (rc == 0)
		rc = key_num(k, (uint32_t)c->label_count);
	for (i = 0; rc == 0 && i < c->label_count; i++) {
		rc = key_str(k, c->labels[i].key);
		if (rc == 0)
			rc = key_str(k, c->labels[i].value);
	}
	if (rc == 0)
		rc = key_num(k, c->labels_truncated != 0);
	if (rc == 0 && k->out == NULL && k->pos != k->cmp_len)
		rc = -ESRCH;
	return rc;
}

/* Is c what the kept view v was built from? */
static int
container_is(const struct policy_ctr_view *v, const struct uw_container *c)
{
	struct key_sink k = { NULL, v->key, v->len, 0 };

	return container_key(&k, c) == 0;
}

/* Push a new view of container c: its fields, labels (as label_next
 * shows them) and labels_truncated; for NULL, no labels and no fields. */
static void
push_container(lua_State *L, const struct uw_container *c)
{
	struct label_walk w;
	size_t i, vlen;

	lua_createtable(L, 0, 9);
	if (c != NULL) {
		policy_str_field(L, "id", c->id);
		policy_str_field(L, "name", c->name);
		policy_str_field(L, "image", c->image);
		policy_str_field(L, "image_id", c->image_id);
		policy_str_field(L, "runtime", c->runtime);
		policy_str_field(L, "pod", c->pod);
		policy_str_field(L, "namespace", c->pod_namespace);
		label_walk_init(c, &w);
		lua_createtable(L, 0, (int)(c->label_count <
		    UW_LABEL_COUNT_MAX ? c->label_count : UW_LABEL_COUNT_MAX));
		while (label_next(c, &w, &i, &vlen)) {
			lua_pushlstring(L, vlen > 0 ? c->labels[i].value : "",
			    vlen);
			lua_setfield(L, -2, c->labels[i].key);
		}
		lua_pushboolean(L, w.caps.truncated);
	} else {
		lua_newtable(L);
		lua_pushboolean(L, 0);
	}
	lua_setfield(L, -3, "labels_truncated");
	policy_seal(L);
	lua_setfield(L, -2, "labels");
	policy_seal(L);
}

/* Forget every kept container view (the set's Lua state may be gone). */
void
policy_ctr_views_clear(struct uw_policy_set *set, int unref)
{
	size_t i;

	for (i = 0; i < set->ctr_view_count; i++) {
		if (unref)
			luaL_unref(set->L, LUA_REGISTRYINDEX,
			    set->ctr_views[i].ref);
		free(set->ctr_views[i].key);
	}
	set->ctr_view_count = 0;
}

/*
 * The container's view, from the cache when an event of the same
 * container (same fields) built it: four tables and a dozen strings
 * less per event.  The kept keys are compared with the container's
 * fields in place, the last one used first, so a hit copies nothing and
 * allocates nothing in Lua.  The cache starts over when full.
 */
void
policy_container_view(lua_State *L, const struct uw_container *c)
{
	struct uw_policy_set *set;
	struct policy_ctr_view *v;
	struct key_sink k;
	unsigned char *copy;
	size_t i, n;
	void *ud;
	int ref;

	lua_getallocf(L, &ud);
	set = ud;
	if (c == NULL) {
		push_container(L, c);
		return;
	}
	n = set->ctr_view_count;
	for (i = 0; i < n; i++) {
		v = &set->ctr_views[(set->ctr_view_last + i) % n];
		if (container_is(v, c)) {
			set->ctr_view_last = (size_t)(v - set->ctr_views);
			lua_rawgeti(L, LUA_REGISTRYINDEX, v->ref);
			return;
		}
	}
	buf_reset(&set->ctr_key);
	k.out = &set->ctr_key;
	if (container_key(&k, c) < 0) {
		push_container(L, c);	/* huge labels: not worth keeping */
		return;
	}
	push_container(L, c);
	if (set->ctr_view_count >= POLICY_CTR_VIEWS)
		policy_ctr_views_clear(set, 1);
	lua_pushvalue(L, -1);
	ref = luaL_ref(L, LUA_REGISTRYINDEX);	/* may raise: nothing held */
	copy = malloc(set->ctr_key.len);
	if (copy == NULL) {
		luaL_unref(L, LUA_REGISTRYINDEX, ref);
		return;
	}
	memcpy(copy, set->ctr_key.data, set->ctr_key.len);
	set->ctr_view_last = set->ctr_view_count;
	v = &set->ctr_views[set->ctr_view_count++];
	v->key = copy;
	v->len = set->ctr_key.len;
	v->ref = ref;
}
