/*
 * upperwalk.c - the depth-first walk over an upper subtree that the diff
 * and the watcher's scans share: a stack of open dirs (as drift_entry
 * left them, each with its listing), the container path of the entry
 * being looked at, and that entry's drift_dir.  Nothing here reads an
 * entry or decides what it is: the caller does, with drift_entry, and
 * hands back the child dir it wants to go down into.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "upperwalk.h"

/* One dir on the stack. */
struct frame {
	struct drift_child dir;	/* fd, flags, baseline path, listing */
	size_t path_len;	/* of the dir's container path */
	size_t next;		/* the next of its names to yield */
	size_t *order;		/* its names in byte order, or NULL */
};

struct upperwalk {
	unsigned flags;		/* enum upperwalk_flag */
	struct frame *frames;	/* WALK_MAX_DEPTH + 1 of them */
	size_t depth;		/* frames in use */
	size_t base;		/* components in the top dir's path */
	struct buf path;	/* the container path of the last entry */
	int have_entry;		/* the last upperwalk_next yielded one */
	struct drift_child child;	/* from upperwalk_child */
	int child_live;
};

/* Byte order of two names of one listing (qsort_r's context). */
static int
cmp_names(const void *a, const void *b, void *arg)
{
	const struct walk_names *names = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	size_t x = names->v[i].len, y = names->v[j].len;
	int c;

	c = memcmp(walk_name_str(names, i), walk_name_str(names, j),
	    x < y ? x : y);
	if (c != 0)
		return c;
	return x < y ? -1 : x > y;
}

/* The indexes of `names` in byte order, into *order (malloc'd).  0 or
 * -ENOMEM. */
static int
sort_names(const struct walk_names *names, size_t **order)
{
	size_t i, n = names->count;

	*order = malloc((n ? n : 1) * sizeof(**order));
	if (*order == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		(*order)[i] = i;
	qsort_r(*order, n, sizeof(**order), cmp_names, (void *)names);
	return 0;
}

/* Free the child from upperwalk_child, if there is one. */
static void
child_drop(struct upperwalk *walk)
{
	if (!walk->child_live)
		return;
	drift_child_free(&walk->child);
	walk->child_live = 0;
}

/* Close the dir on top of the stack and leave it. */
static void
frame_pop(struct upperwalk *walk)
{
	struct frame *f = &walk->frames[--walk->depth];

	drift_child_free(&f->dir);
	free(f->order);
	f->order = NULL;
}

struct upperwalk *
upperwalk_new(struct drift_child *top, const unsigned char *path,
    size_t path_len, unsigned flags)
{
	struct upperwalk *walk;
	size_t *order = NULL;

	walk = calloc(1, sizeof(*walk));
	if (walk == NULL)
		return NULL;
	walk->flags = flags;
	buf_init(&walk->path, WALK_MAX_PATH);
	walk->frames = calloc(WALK_MAX_DEPTH + 1, sizeof(*walk->frames));
	if (walk->frames == NULL || buf_add(&walk->path, path, path_len) < 0)
		goto fail;
	if ((flags & UPPERWALK_SORTED) && sort_names(&top->names, &order) < 0)
		goto fail;
	if (path_len == 1 && path[0] == '/')
		walk->path.len = 0;	/* the root: children are "/name" */
	walk->base = walk_path_depth(walk->path.data, walk->path.len);
	walk->frames[0].dir = *top;
	walk->frames[0].path_len = walk->path.len;
	walk->frames[0].order = order;
	walk->depth = 1;
	drift_child_init(top);
	return walk;
fail:
	free(walk->frames);
	buf_free(&walk->path);
	free(walk);
	return NULL;
}

void
upperwalk_free(struct upperwalk *walk)
{
	if (walk == NULL)
		return;
	child_drop(walk);
	while (walk->depth > 0)
		frame_pop(walk);
	free(walk->frames);
	buf_free(&walk->path);
	free(walk);
}

int
upperwalk_next(struct upperwalk *walk, struct upperwalk_entry *entry)
{
	struct frame *f;
	const char *name;
	size_t idx, len;

	child_drop(walk);
	walk->have_entry = 0;
	while (walk->depth > 0) {
		f = &walk->frames[walk->depth - 1];
		if (f->next == f->dir.names.count) {
			frame_pop(walk);
			continue;
		}
		idx = f->order != NULL ? f->order[f->next] : f->next;
		f->next++;
		name = walk_name_str(&f->dir.names, idx);
		len = f->dir.names.v[idx].len;
		walk->path.len = f->path_len;
		if (buf_addc(&walk->path, '/') < 0 ||
		    buf_add(&walk->path, name, len) < 0) {
			if (walk->flags & UPPERWALK_SKIP_LONG)
				continue;
			return -ENAMETOOLONG;
		}
		drift_dir_from_child(&entry->dir, &f->dir, walk->path.data,
		    f->path_len);
		entry->name = name;
		entry->name_len = len;
		entry->d_type = f->dir.names.v[idx].d_type;
		entry->path = walk->path.data;
		entry->path_len = walk->path.len;
		entry->depth = walk->base + walk->depth;
		walk->have_entry = 1;
		return 1;
	}
	return 0;
}

struct drift_child *
upperwalk_child(struct upperwalk *walk)
{
	child_drop(walk);
	drift_child_init(&walk->child);
	walk->child_live = 1;
	return &walk->child;
}

int
upperwalk_descend(struct upperwalk *walk)
{
	struct frame *f;
	size_t *order = NULL;
	int rc = 0;

	if (!walk->have_entry || !walk->child_live || walk->child.fd < 0)
		rc = -EINVAL;
	else if (walk->depth == WALK_MAX_DEPTH + 1)
		rc = -ELOOP;
	else if (walk->flags & UPPERWALK_SORTED)
		rc = sort_names(&walk->child.names, &order);
	if (rc < 0) {
		child_drop(walk);
		return rc;
	}
	f = &walk->frames[walk->depth++];
	f->dir = walk->child;
	f->path_len = walk->path.len;
	f->next = 0;
	f->order = order;
	drift_child_init(&walk->child);
	walk->child_live = 0;
	walk->have_entry = 0;
	return 0;
}
