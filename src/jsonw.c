/*
 * jsonw.c - JSON output of byte strings and scalars.
 */
#include <string.h>

#include "jsonw.h"
#include "util.h"

int
jsonw_string(FILE *out, const unsigned char *bytes, size_t len)
{
	size_t i = 0, run = 0, n;
	unsigned char c;
	int lossy = 0;

	putc_unlocked('"', out);
	/* Plain runs go out in one fwrite; only what needs escaping is
	 * written byte by byte. */
	while (i < len) {
		c = bytes[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			n = utf8_seq_len(bytes + i, len - i);
			if (n > 0) {
				i += n;
				continue;
			}
		}
		fwrite_unlocked(bytes + run, 1, i - run, out);
		if (c == '"' || c == '\\') {
			putc_unlocked('\\', out);
			putc_unlocked(c, out);
		} else if (c == '\n') {
			fputs_unlocked("\\n", out);
		} else if (c == '\t') {
			fputs_unlocked("\\t", out);
		} else if (c < 0x80) {
			fprintf(out, "\\u%04x", c);
		} else {
			fputs_unlocked("\\ufffd", out);
			lossy = 1;
		}
		run = ++i;
	}
	fwrite_unlocked(bytes + run, 1, i - run, out);
	putc_unlocked('"', out);
	return lossy;
}

void
jsonw_key(FILE *out, int *first, const char *key)
{
	if (!*first)
		putc_unlocked(',', out);
	*first = 0;
	jsonw_string(out, (const unsigned char *)key, strlen(key));
	putc_unlocked(':', out);
}

void
jsonw_bytes(FILE *out, int *first, const char *key,
    const unsigned char *bytes, size_t len)
{
	char hexkey[64];
	size_t i;

	jsonw_key(out, first, key);
	if (!jsonw_string(out, bytes, len))
		return;
	snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
	jsonw_key(out, first, hexkey);
	putc_unlocked('"', out);
	for (i = 0; i < len; i++)
		fprintf(out, "%02x", bytes[i]);
	putc_unlocked('"', out);
}

void
jsonw_str(FILE *out, int *first, const char *key, const char *value)
{
	jsonw_bytes(out, first, key, (const unsigned char *)value,
	    strlen(value));
}

/* Decimal digits of v, written without printf (hot in the watcher). */
static void
put_u64(FILE *out, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	fwrite_unlocked(buf + i, 1, sizeof(buf) - i, out);
}

void
jsonw_int(FILE *out, int *first, const char *key, int64_t value)
{
	jsonw_key(out, first, key);
	if (value < 0) {
		putc_unlocked('-', out);
		put_u64(out, (uint64_t)0 - (uint64_t)value);
	} else {
		put_u64(out, (uint64_t)value);
	}
}

void
jsonw_uint(FILE *out, int *first, const char *key, uint64_t value)
{
	jsonw_key(out, first, key);
	put_u64(out, value);
}

void
jsonw_double(FILE *out, int *first, const char *key, double value)
{
	jsonw_key(out, first, key);
	fprintf(out, "%.3f", value);
}

void
jsonw_bool(FILE *out, int *first, const char *key, int value)
{
	jsonw_key(out, first, key);
	fputs_unlocked(value ? "true" : "false", out);
}
