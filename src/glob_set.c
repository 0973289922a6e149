/*
 * glob_set.c - many patterns matched against one path together.
 *
 * Matching is anchored, so a path can only match a pattern whose plain
 * prefix it starts with ("/etc/ssh/" for every pattern under it).  The
 * set keeps the patterns' prefixes in a byte trie; a path walks it as
 * far as its bytes go, and only the patterns hung on the nodes it
 * passes are run.
 * A policy's list of thirty paths under /etc, /root and /home then costs
 * an event under /var a walk of a byte or two and no pattern at all.
 *
 * A prefix counts for at most GS_DEPTH bytes: a longer one is hung at
 * that depth, where the pattern itself checks the rest.  A pattern with
 * no plain prefix ("**" then anything) hangs on the root and is always
 * run.  The set borrows the patterns; they outlive it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "glob.h"

#define GS_DEPTH 64

struct gs_node {
	uint32_t child;		/* first child; 0: none (the root is 0) */
	uint32_t sibling;	/* next child of the same parent; 0: none */
	uint32_t first;		/* its patterns: order[first ... +count) */
	uint32_t count;
	unsigned char byte;	/* the byte that leads here */
};

struct glob_set {
	struct gs_node *nodes;
	const struct glob **order;	/* the patterns, by node */
};

/* The child of node `at` reached by byte c; 0 if none. */
static uint32_t
child_of(const struct gs_node *nodes, uint32_t at, unsigned char c)
{
	uint32_t k;

	for (k = nodes[at].child; k != 0 && nodes[k].byte != c;
	    k = nodes[k].sibling)
		;
	return k;
}

/* Hang the prefix bytes[0..len) in the trie of *used nodes (room made
 * by the caller); the node it ends at. */
static uint32_t
insert(struct gs_node *nodes, uint32_t *used, const unsigned char *bytes,
    size_t len)
{
	uint32_t at = 0, k;
	size_t i;

	for (i = 0; i < len && i < GS_DEPTH; i++) {
		k = child_of(nodes, at, bytes[i]);
		if (k == 0) {
			k = (*used)++;
			nodes[k].byte = bytes[i];
			nodes[k].child = 0;
			nodes[k].sibling = nodes[at].child;
			nodes[k].first = nodes[k].count = 0;
			nodes[at].child = k;
		}
		at = k;
	}
	return at;
}

struct glob_set *
glob_set_new(struct glob *const *globs, size_t n)
{
	struct glob_set *s;
	const unsigned char *bytes;
	uint32_t used = 1, *end = NULL, sum = 0, k;
	size_t i, len, room = 1;

	/* a node per prefix byte at most (indexes are 32-bit) */
	for (i = 0; i < n; i++) {
		len = glob_prefix(globs[i], &bytes);
		room += len < GS_DEPTH ? len : GS_DEPTH;
	}
	if (room > UINT32_MAX || n > UINT32_MAX)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->nodes = calloc(room, sizeof(*s->nodes));
	s->order = calloc(n + 1, sizeof(*s->order));
	end = calloc(n + 1, sizeof(*end));
	if (s->nodes == NULL || s->order == NULL || end == NULL) {
		free(end);
		glob_set_free(s);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		len = glob_prefix(globs[i], &bytes);
		end[i] = insert(s->nodes, &used, bytes, len);
		s->nodes[end[i]].count++;
	}
	for (k = 0; k < used; k++) {
		s->nodes[k].first = sum;
		sum += s->nodes[k].count;
		s->nodes[k].count = 0;
	}
	for (i = 0; i < n; i++) {
		k = end[i];
		s->order[s->nodes[k].first + s->nodes[k].count++] = globs[i];
	}
	free(end);
	return s;
}

void
glob_set_free(struct glob_set *s)
{
	if (s == NULL)
		return;
	free(s->nodes);
	free(s->order);
	free(s);
}

int
glob_set_exec(const struct glob_set *s, const unsigned char *path,
    size_t path_len)
{
	const struct gs_node *node;
	uint32_t at = 0, j;
	size_t k = 0;
	int rc = 0, r;

	for (;;) {
		node = &s->nodes[at];
		for (j = node->first; j < node->first + node->count; j++) {
			r = glob_exec(s->order[j], path, path_len);
			if (r == 1)
				return 1;
			if (r < 0)
				rc = -1;
		}
		if (k == path_len || k == GS_DEPTH)
			return rc;
		at = child_of(s->nodes, at, path[k++]);
		if (at == 0)
			return rc;
	}
}
