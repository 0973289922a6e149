/*
 * policy_int.h - what the files of the policy engine share and nothing
 * else sees: the policy set and its policies, the limits a call into Lua
 * runs under, and the calls one part of the engine makes into another.
 * policy.c loads and frees sets, policy_sandbox.c makes their Lua state
 * and runs code in it under limits, policy_event.c builds the read-only
 * event (policy_container.c its container), policy_eval.c judges it, policy_module.c is the upperwatch
 * module; the rest of the program goes through policy.h.  lua.h is fine
 * here: only policy files include this.
 */
#ifndef UW_POLICY_INT_H
#define UW_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "policy.h"
#include "upperwatch.h"
#include "util.h"

/* Bytes of a reason (and of an event's error text) policies see. */
#define POLICY_MAX_REASON 1024
/* Tags of a verdict kept. */
#define POLICY_MAX_TAGS 32
/* Compiled upperwatch.glob patterns kept, by slot. */
#define POLICY_GLOB_CACHE 128
/* Registry keys: the module's proxy, and string.format as policies get
 * it (bounded patterns, no dump) for upperwatch.log. */
#define POLICY_MODULE_KEY "upperwatch.module"
#define POLICY_FORMAT_KEY "upperwatch.format"

/* Why a call into Lua stopped. */
enum policy_limit { POLICY_LIMIT_NONE, POLICY_LIMIT_CPU, POLICY_LIMIT_TIME };

/* match.current: what the event's current record must have (one of). */
#define POLICY_CUR_EXECUTABLE 0x01	/* any execute bit */
#define POLICY_CUR_SETUID 0x02
#define POLICY_CUR_SETGID 0x04
#define POLICY_CUR_WORLD_WRITABLE 0x08
#define POLICY_CUR_CAPS 0x10		/* file capabilities */

/* One loaded policy: what its file declared, and how it has fared. */
struct policy {
	char *name;
	char *file;
	int evaluate_ref;		/* registry ref of evaluate */
	char **globs;			/* match.paths */
	struct glob **compiled;
	size_t glob_count;
	struct glob_set *paths;		/* compiled, matched together */
	unsigned op_mask;		/* match.ops: 1 << op; 0 = all */
	unsigned type_mask;		/* match.types: 1 << type; 0 = all */
	unsigned current_mask;		/* match.current: POLICY_CUR_* */
	unsigned check_mask;		/* match.package_check: 1 << check */
	unsigned failures;		/* consecutive */
	int quarantined;
	int64_t log_window_ns;
	unsigned log_count;
	/* counters */
	uint64_t runs, errors_runtime, errors_cpu, errors_memory,
	    errors_verdict;
};

/* The memory behind one uw_reason of the last verdict. */
struct policy_reason_store {
	char *text;
	char **tags;
	size_t tag_count;
};

/* One compiled upperwatch.glob pattern. */
struct policy_glob_slot {
	char *pattern;
	size_t len;
	struct glob *g;
};

/* A loaded policy set: its Lua state, limits, policies, last verdict. */
/* Container views kept, and the most bytes of fields one is kept for. */
#define POLICY_CTR_VIEWS 32
#define POLICY_CTR_KEY_MAX 16384

/* Small blocks the policies' Lua state freed, kept for its next
 * allocations (policy_alloc): free lists by size class of
 * POLICY_BLOCK_GRAIN bytes, at most POLICY_BLOCK_CACHE bytes in all. */
#define POLICY_BLOCK_GRAIN 16
#define POLICY_BLOCK_CLASSES 17		/* blocks of up to 256 bytes */
#define POLICY_BLOCK_CACHE (1u << 20)

struct uw_policy_set {
	lua_State *L;
	void *free_blocks[POLICY_BLOCK_CLASSES];
	size_t free_block_bytes;
	struct policy_glob_slot glob_cache[POLICY_GLOB_CACHE];
	size_t mem_used, mem_limit, mem_peak;
	int mem_failed;			/* the allocator refused */
	int slack;			/* allow ERROR_SLACK above the cap */
	uint64_t budget;		/* instructions for this call */
	int hook_period;		/* instructions between hook calls */
	uint64_t steps;			/* used so far in this call */
	int64_t deadline_ns;		/* 0: not started (policy_arm) */
	int64_t deadline_span;		/* from the hook's first call */
	enum policy_limit limit_hit;
	struct uw_policy_limits limits;
	struct policy *policies;
	size_t count;
	struct policy *running;		/* for log() and messages */
	char digest[2 * 16 + 1];
	void (*log)(const char *policy, const char *line, void *arg);
	void *log_arg;
	void (*notice)(const char *msg, void *arg);
	void *notice_arg;
	/* uw.package(path) for a path other than the event's: the owner in
	 * the event's container (policy_set_packages); NULL: nil. */
	int (*package_of)(void *arg, const unsigned char *path, size_t len,
	    struct uw_package *out);
	void *package_arg;
	/* the last verdict */
	struct uw_reason *reasons;
	struct policy_reason_store *store;
	size_t reason_count, reason_alloc;
	/* for `policy test`: what the last evaluation used */
	uint64_t eval_steps;
	size_t eval_peak;
	/* The registry slot of the event being judged: made once, in
	 * protected mode, and only overwritten after, so that clearing it
	 * outside protected mode never allocates. */
	int event_slot;
	int event_builder;	/* push_event with its keys (a registry ref) */
	int evaluator;		/* call_evaluate with its keys (a ref) */
	/* Container views kept for reuse (policy_event.c): the bytes they
	 * were built from (compared whole), their registry refs; the one
	 * used last, looked at first. */
	struct policy_ctr_view {
		unsigned char *key;
		size_t len;
		int ref;
	} ctr_views[POLICY_CTR_VIEWS];
	size_t ctr_view_count, ctr_view_last;
	struct buf ctr_key;		/* the key being built */
	uint64_t events_unjudged;	/* the event could not be built */
};

/* ---- the sandbox and the limits (policy_sandbox.c) ---- */

/* Make set->L, with hook_period and mem_limit already set (the limits)
 * and everything the sandbox needs in it.  Returns 0, or a negative
 * error (err says why); policy_free closes a half-made state. */
int policy_sandbox_open(struct uw_policy_set *set, struct uw_error *err)
    UW_WARN_UNUSED;

/* Give back the blocks policy_alloc keeps for reuse (once the Lua state
 * is closed). */
void policy_blocks_free(struct uw_policy_set *set);

/* Before and after each lua_pcall into policy code: the instruction
 * budget and wall-clock deadline (in µs) of the call, and the counts of
 * what it used. */
void policy_arm(struct uw_policy_set *set, uint64_t budget,
    unsigned deadline_us);
void policy_disarm(struct uw_policy_set *set);

/* The message handler of every such lua_pcall: leaves the error as a
 * string, so that policy_error_text can read it without allocating. */
int policy_msgh(lua_State *L);
const char *policy_error_text(lua_State *L, int idx);

/* ---- the read-only event (policy_event.c, policy_container.c) ---- */

/* Replace the table on top of the stack by a read-only view of it. */
void policy_seal(lua_State *L);

/* t[key] = value ("" for NULL), t on top of the stack. */
void policy_str_field(lua_State *L, const char *key, const char *value);

/* Push the view of container c (NULL: one with no fields), kept for
 * the next event of the same container.  Allocates: protected mode. */
void policy_container_view(lua_State *L, const struct uw_container *c);

/* Forget the kept container views, releasing their refs when `unref`
 * (not when the Lua state is about to be closed). */
void policy_ctr_views_clear(struct uw_policy_set *set, int unref);

/* next, rawget and rawlen for policies: a view is walked, read and
 * measured through to its hidden table, which is never handed out. */
int policy_view_next(lua_State *L);
int policy_view_pairs(lua_State *L);
int policy_view_rawget(lua_State *L);
int policy_view_rawlen(lua_State *L);

/* Wrap the writers of the table library at idx (sort, insert, remove,
 * move) so that they refuse a view.  Allocates: protected mode only. */
void policy_guard_table_lib(lua_State *L, int idx);

/* Once per state, in protected mode (its set-up): the C functions that
 * build an event and call a policy, made with the keys they set and
 * read, kept in the registry; each returns its ref. */
int policy_event_builder(lua_State *L);
int policy_evaluator(lua_State *L);
/* What both are made with: fn with upvalues keys[1 .. n - 1]. */
int policy_keyed_closure(lua_State *L, lua_CFunction fn,
    const char *const *keys, int n);

/*
 * Build `ev` as read-only views into the set's event slot, in protected
 * mode under the memory cap.  Returns 0, or -1 when it does not fit
 * (counted in events_unjudged): the event's failure, no policy's.
 */
int policy_build_event(struct uw_policy_set *set, const struct uw_event *ev)
    UW_WARN_UNUSED;

/* ---- evaluation (policy_eval.c) ---- */

/* Free the reasons of the last verdict, which dies with them. */
void policy_free_reasons(struct uw_policy_set *set);

/* ---- the upperwatch module (policy_module.c) ---- */

/* Push a new table of the module's functions.  Allocates: protected
 * mode only. */
void policy_module_new(lua_State *L);

#endif /* UW_POLICY_INT_H */
