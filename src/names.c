/*
 * names.c - the words for ops, file types, severities, actions and
 * package checks (see names.h), and the public names functions of
 * upperwatch.h, which are these same tables.
 */
#include <string.h>

#include "names.h"

/* Indexed by enum value; a NULL slot is a value outside the set. */
static const char *const op_names[] = {
	NULL, "added", "modified", "metadata", "deleted", "replaced", "error",
	"exec"
};
static const char *const type_names[] = {
	NULL, "file", "dir", "symlink", "fifo", "socket", "chardev",
	"blockdev"
};
static const char *const severity_names[] = {
	"info", "low", "medium", "high", "critical"
};
static const char *const action_names[] = {
	"log", "alert", "deny", "pause", "kill"
};
static const char *const package_check_names[] = {
	NULL, "unknown", "match", "mismatch", "unowned"
};

#define NAMES_COUNT(names) (sizeof(names) / sizeof((names)[0]))

static const char *
name_of(const char *const *names, size_t count, int value)
{
	if (value < 0 || (size_t)value >= count || names[value] == NULL)
		return "unknown";
	return names[value];
}

static int
value_of(const char *const *names, size_t count, const char *name)
{
	size_t i;

	/* (the first byte first: every verdict names a severity and an
	 * action, and most names of a set differ there) */
	for (i = 0; name != NULL && i < count; i++)
		if (names[i] != NULL && names[i][0] == name[0] &&
		    strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *
op_name(enum uw_op op)
{
	return name_of(op_names, NAMES_COUNT(op_names), (int)op);
}

const char *
file_type_name(enum uw_file_type type)
{
	return name_of(type_names, NAMES_COUNT(type_names), (int)type);
}

const char *
severity_name(enum uw_severity severity)
{
	return name_of(severity_names, NAMES_COUNT(severity_names),
	    (int)severity);
}

const char *
action_name(enum uw_action action)
{
	return name_of(action_names, NAMES_COUNT(action_names),
	    (int)action);
}

const char *
package_check_name(enum uw_package_check check)
{
	return name_of(package_check_names, NAMES_COUNT(package_check_names),
	    (int)check);
}

int
package_check_from_name(const char *name)
{
	return value_of(package_check_names,
	    NAMES_COUNT(package_check_names), name);
}

int
op_from_name(const char *name)
{
	return value_of(op_names, NAMES_COUNT(op_names), name);
}

int
file_type_from_name(const char *name)
{
	return value_of(type_names, NAMES_COUNT(type_names), name);
}

int
severity_from_name(const char *name)
{
	return value_of(severity_names, NAMES_COUNT(severity_names), name);
}

int
action_from_name(const char *name)
{
	return value_of(action_names, NAMES_COUNT(action_names), name);
}

/* ---- the public door ---- */

UW_API const char *
uw_op_name(enum uw_op op)
{
	return op_name(op);
}

UW_API int
uw_op_from_name(const char *name)
{
	return op_from_name(name);
}

UW_API const char *
uw_file_type_name(enum uw_file_type type)
{
	return file_type_name(type);
}

UW_API int
uw_file_type_from_name(const char *name)
{
	return file_type_from_name(name);
}

UW_API const char *
uw_severity_name(enum uw_severity severity)
{
	return severity_name(severity);
}

UW_API const char *
uw_action_name(enum uw_action action)
{
	return action_name(action);
}

UW_API int
uw_severity_from_name(const char *name)
{
	return severity_from_name(name);
}

UW_API int
uw_action_from_name(const char *name)
{
	return action_from_name(name);
}

UW_API const char *
uw_package_check_name(enum uw_package_check check)
{
	return package_check_name(check);
}
