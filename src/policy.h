/*
 * policy.h - the policy engine's parts beyond the public API: the
 * prefilter, what an evaluation used, the sandbox for case files.
 * lua.h stays inside the policy and pattern files (policy*.[ch],
 * pattern*.[ch]); this header only names lua_State.
 */
#ifndef UW_POLICY_H
#define UW_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "upperwatch.h"

struct lua_State;
struct store;

/* The engine behind uw_policy_load, uw_policy_free, uw_policy_digest,
 * uw_policy_count and uw_policy_evaluate (upperwatch.h has their
 * contracts). */
struct uw_policy_set *policy_load(const char *const *paths,
    size_t path_count, const struct uw_policy_limits *limits,
    void (*log)(const char *policy, const char *line, void *arg),
    void *log_arg, struct uw_error *err) UW_WARN_UNUSED;
void policy_free(struct uw_policy_set *set);
const char *policy_digest(const struct uw_policy_set *set);
size_t policy_count(const struct uw_policy_set *set);
int policy_evaluate(struct uw_policy_set *set, const struct uw_event *ev,
    enum uw_action max_action, struct uw_verdict *verdict,
    struct uw_error *err) UW_WARN_UNUSED;

/* uw_policy_replay: judge journaled events of `store` again (replay.c). */
/* A journaled event's JSON line written as OCSF (ocsf.h), with its
 * verdict as it was journaled: 0, -EINVAL when it is no event, -EIO. */
int replay_write_ocsf(FILE *out, const char *json_line);

int policy_replay(struct store *store, struct uw_policy_set *set,
    const char *container, int64_t since_ns, enum uw_action max_action,
    int (*cb)(const struct uw_journal_entry *e, int old_severity,
    int old_action, const struct uw_verdict *now, void *arg), void *arg,
    struct uw_error *err) UW_WARN_UNUSED;

/* Append the files `path` names (itself, or a dir's *.lua in name
 * order) to the growing array *files. */
int policy_list_lua(const char *path, char ***files, size_t *count,
    struct uw_error *err) UW_WARN_UNUSED;

/* Where quarantine alerts go. */
void policy_set_notice(struct uw_policy_set *set,
    void (*notice)(const char *msg, void *arg), void *arg);

/* What uw.package(path) asks for a path other than the event's own: 1
 * and *out (strings living till the next call) when a package owns it,
 * 0 when none.  Set before each evaluation (the container's); NULL: no
 * other path is known. */
void policy_set_packages(struct uw_policy_set *set,
    int (*package_of)(void *arg, const unsigned char *path, size_t len,
    struct uw_package *out), void *arg);

/* Does policy `i`'s C prefilter (its match lists) pass `ev`? */
int policy_matches(const struct uw_policy_set *set, size_t i,
    const struct uw_event *ev);

/* policy_evaluate, with the C prefilter on or off. */
int policy_evaluate_all(struct uw_policy_set *set, const struct uw_event *ev,
    int prefilter, enum uw_action max_action, struct uw_verdict *verdict,
    struct uw_error *err) UW_WARN_UNUSED;

/* Count instructions every `period` (0: the default, 1000; 1: exact,
 * for tests). */
void policy_set_hook_period(struct uw_policy_set *set, int period);

/* Instructions (in hook periods) and peak Lua memory of the last
 * policy_evaluate. */
void policy_last_usage(const struct uw_policy_set *set,
    uint64_t *instructions, size_t *memory);

/* The set's Lua state. */
struct lua_State *policy_lua(struct uw_policy_set *set);

/* Push t[key] (t an absolute index) by raw access, no metamethod; return
 * its type.  Allocates (the key): protected mode only. */
int policy_raw_field(struct lua_State *L, int t, const char *key);

/* Is the value at idx a table without a metatable: one a policy or case
 * file built, not _ENV, a library stub, the module or an event view? */
int policy_plain_table(struct lua_State *L, int idx);

/*
 * Load `src` (text only, named `file`) and run it in a fresh sandbox
 * environment under the load limits, all in protected mode; its first
 * result is left on the stack.  Returns 0, or a negative error with the
 * message (file:line when Lua knows it) in err and the stack as it was.
 */
int policy_run_chunk(struct uw_policy_set *set, const char *file,
    const char *src, size_t len, struct uw_error *err) UW_WARN_UNUSED;

/*
 * Run the case files in `paths` (files or dirs of *.lua) against the set,
 * printing TAP to `out`.  Adds to *total and *failed.  Returns 0, or a
 * negative error when a case file cannot be loaded (err says where).
 */
int policy_run_cases(struct uw_policy_set *set, const char *const *paths,
    size_t path_count, FILE *out, int *total, int *failed,
    struct uw_error *err) UW_WARN_UNUSED;

/* Judge one synthetic event of each op with every policy, prefilter off;
 * report any policy that fails on them.  Returns the number of
 * failures. */
int policy_self_check(struct uw_policy_set *set, FILE *out);

#endif /* UW_POLICY_H */
