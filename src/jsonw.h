/*
 * jsonw.h - writing JSON values to a stdio stream, for machine output.
 *
 * Strings are bytes: valid UTF-8 is written as is (control characters
 * escaped), and a byte string that is not valid UTF-8 is written with
 * U+FFFD in place of each invalid byte, the exact bytes then given in hex
 * under the same key with "_hex" appended (jsonw_bytes).
 *
 * These writers, and event.c's, use stdio's unlocked calls: a value is
 * dozens of small writes, and taking the stream's lock for each was a
 * twentieth of the watcher's time.  A stream another thread may write
 * at the same time must be held with flockfile around them, as the
 * API's event writers (api.c) hold the stream they are given; the
 * library's own JSON goes to streams only one thread writes (memory
 * streams, stdout of a command).
 */
#ifndef UW_JSONW_H
#define UW_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write `len` bytes as a JSON string (with quotes); returns 1 if some
 * bytes were not valid UTF-8 and were replaced. */
int jsonw_string(FILE *out, const unsigned char *bytes, size_t len);

/* `"key":"value"` with a leading comma unless *first; adds "key_hex" when
 * the value is not valid UTF-8. */
void jsonw_bytes(FILE *out, int *first, const char *key,
    const unsigned char *bytes, size_t len);
void jsonw_str(FILE *out, int *first, const char *key,
    const char *value);
void jsonw_int(FILE *out, int *first, const char *key, int64_t value);
void jsonw_uint(FILE *out, int *first, const char *key,
    uint64_t value);
void jsonw_double(FILE *out, int *first, const char *key,
    double value);
void jsonw_bool(FILE *out, int *first, const char *key, int value);
/* `"key":` with a leading comma unless *first, for a nested value. */
void jsonw_key(FILE *out, int *first, const char *key);

#endif /* UW_JSONW_H */
