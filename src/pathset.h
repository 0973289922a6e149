/*
 * pathset.h - a set of byte strings (container paths) with a few fields
 * each: the watcher's queue of paths waiting for quiet, and what it last
 * reported of each path.  Open addressing with linear probing, at most
 * half full (tombstones counted), each key's hash kept so that growing
 * never hashes again and most probes end without a memcmp.
 */
#ifndef UW_PATHSET_H
#define UW_PATHSET_H

#include <stddef.h>
#include <stdint.h>

struct pathset_entry {
	unsigned char *key;	/* owned; see pathset_next for the live ones */
	size_t len;
	uint64_t hash;		/* of key */
	/* the user's: */
	int64_t first_ns, last_ns;
	unsigned flags;
	unsigned gen;
	uint64_t proc;		/* the writer's fanotify serial, 0: none */
	int64_t at_ns;		/* reported: when it was last handed out */
};

struct pathset {
	struct pathset_entry *v;
	size_t size, count, used;	/* used counts tombstones too */
};

/* A zeroed struct pathset is an empty set. */
void pathset_free(struct pathset *s);

/* The entry of `key`, or NULL; with `create`, a new zeroed entry (a copy
 * of the key) when there is none, or NULL when out of memory (the set
 * is then as it was). */
struct pathset_entry *pathset_get(struct pathset *s, const unsigned char *key,
    size_t len, int create);

/* Remove an entry (its key is freed; its slot stays valid to look at
 * while the set is walked: entries never move but when it grows). */
void pathset_del(struct pathset *s, struct pathset_entry *e);

/* Is `e` (an entry of the set) present, not removed? */
int pathset_live(const struct pathset_entry *e);

/* Walking the set: the next live entry from slot *i on (which is then
 * past it), or NULL at the end.  Entries may be removed, not added,
 * during a walk. */
struct pathset_entry *pathset_next(struct pathset *s, size_t *i);

#endif /* UW_PATHSET_H */
