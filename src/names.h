/*
 * names.h - the words for every closed set of the event contract: ops,
 * file types, severities and actions, and back.  One table per set, so
 * the JSON writer, the journal reader, the Lua event and the CLI can
 * never spell one differently.
 */
#ifndef UW_NAMES_H
#define UW_NAMES_H

#include "upperwatch.h"

/* The name, or "unknown" for a value outside the set. */
const char *op_name(enum uw_op op);
const char *file_type_name(enum uw_file_type type);
const char *severity_name(enum uw_severity severity);
const char *action_name(enum uw_action action);
const char *package_check_name(enum uw_package_check check);

/* The value, or -1 for NULL or an unknown name. */
int op_from_name(const char *name);
int file_type_from_name(const char *name);
int severity_from_name(const char *name);
int action_from_name(const char *name);
int package_check_from_name(const char *name);

#endif /* UW_NAMES_H */
