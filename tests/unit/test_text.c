/*
 * test_text.c - escaping names for humans and JSON: UTF-8 validation,
 * no name can forge a line, invalid bytes are kept in hex.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jsonw.h"
#include "overlay.h"
#include "util.h"

static char out[4096];

static const char *
escaped(const char *bytes, size_t len)
{
	FILE *f = fmemopen(out, sizeof(out), "w");

	escape_bytes(f, (const unsigned char *)bytes, len);
	fclose(f);
	return out;
}

static const char *
json_field(const char *bytes, size_t len)
{
	FILE *f = fmemopen(out, sizeof(out), "w");
	int first = 1;

	jsonw_bytes(f, &first, "path", (const unsigned char *)bytes,
	    len);
	fclose(f);
	return out;
}

int
main(void)
{
	const char *target;
	size_t tlen;

	CHECK_INT(utf8_seq_len((const unsigned char *)"a", 1), 1, "ascii");
	CHECK_INT(utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2,
	    "two-byte sequence");
	CHECK_INT(utf8_seq_len((const unsigned char *)"\xc0\xaf", 2), 0,
	    "overlong '/' is invalid");
	CHECK_INT(utf8_seq_len((const unsigned char *)"\xed\xa0\x80", 3), 0,
	    "a surrogate is invalid");
	CHECK_INT(utf8_seq_len((const unsigned char *)"\xe2\x82", 2), 0,
	    "a truncated sequence is invalid");
	CHECK_INT(utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80",
	    4), 0, "above U+10FFFF is invalid");

	CHECK_STR(escaped("a\nb", 3), "a\\nb", "newline escaped");
	CHECK_STR(escaped("a\\nb", 4), "a\\\\nb", "backslash escaped");
	CHECK_STR(escaped("\xff\xfe", 2), "\\xff\\xfe", "invalid bytes as hex");
	CHECK_STR(escaped("caf\xc3\xa9", 5), "caf\xc3\xa9", "UTF-8 kept");
	CHECK_STR(escaped("\x1b[2J", 4), "\\x1b[2J", "escape char escaped");
	CHECK_STR(escaped("\xc2\x9b", 2), "\\xc2\\x9b", "C1 control escaped");
	CHECK(strchr(escaped("x\ny\rz", 5), '\n') == NULL &&
	    strchr(out, '\r') == NULL, "no raw line breaks survive");

	CHECK_STR(json_field("/etc/p\"w", 8), "\"path\":\"/etc/p\\\"w\"",
	    "JSON quote escaped");
	CHECK_STR(json_field("/a\nb", 4), "\"path\":\"/a\\nb\"",
	    "JSON newline escaped");
	CHECK_STR(json_field("/\xff", 2),
	    "\"path\":\"/\\ufffd\",\"path_hex\":\"2fff\"",
	    "invalid UTF-8 gets a lossless _hex twin");
	CHECK_STR(json_field("/\x01", 2), "\"path\":\"/\\u0001\"",
	    "control char as \\u");

	CHECK_INT(overlay_wh_name("file", 4, &target, &tlen), OVERLAY_WH_NONE,
	    "an ordinary name");
	CHECK_INT(overlay_wh_name(".wh.passwd", 10, &target, &tlen),
	    OVERLAY_WH_ENTRY, ".wh.NAME whites out NAME");
	CHECK(tlen == 6 && memcmp(target, "passwd", 6) == 0,
	    ".wh.passwd names passwd");
	CHECK_INT(overlay_wh_name(".wh..wh..opq", 12, &target, &tlen),
	    OVERLAY_WH_OPQ, "the opaque marker");
	CHECK_INT(overlay_wh_name(".wh..wh.plnk", 12, &target, &tlen),
	    OVERLAY_WH_META, "aufs metadata is hidden");
	CHECK_INT(overlay_wh_name(".wh.", 4, &target, &tlen), OVERLAY_WH_META,
	    "a bare prefix names nothing");
	CHECK_INT(overlay_wh_name(".whx", 4, &target, &tlen), OVERLAY_WH_NONE,
	    "a near miss is an ordinary name");
	/* hex_decode: the one hex reader of baselines, journals, cases */
	{
		unsigned char b[4];

		CHECK(hex_decode("0aFf", 4, b, sizeof(b)) == 2 && b[0] == 0x0a &&
		    b[1] == 0xff, "hex_decode reads either case");
		CHECK(hex_decode("0a1", 3, b, sizeof(b)) == -1, "odd length");
		CHECK(hex_decode("0g", 2, b, sizeof(b)) == -1, "no hex digit");
		CHECK(hex_decode("0011223344", 10, b, sizeof(b)) == -1,
		    "more than fits");
		CHECK(hex_decode("", 0, b, sizeof(b)) == 0, "empty: none");
	}
	return check_done();
}
