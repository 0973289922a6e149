#!/bin/bash
# ocsf: `--format ocsf` on watch, events and diff writes OCSF 1.3.0 that
# validates against the release's own schema files (vendored in
# tests/ocsf/schema-1.3.0, Apache 2.0, checked by tests/ocsf/validate.py).
#
#   - The daemon watches an overlay upper dir with the default policies
#     and --format ocsf: a new executable (high: a File System Activity
#     Create line, then a Detection Finding whose evidence is it, with
#     the file's SHA-256 in file.hashes), a config edit (Update, no
#     finding), a chmod (Set Attributes), a delete (Delete), and a file
#     whose name holds a newline, "<script>" and a byte that is not UTF-8
#     (its exact bytes in unmapped.upperwatch.path_hex).  Every line
#     validates.
#   - `events --format ocsf` rewrites the journal into the same classes
#     (and validates); `diff --format ocsf` too.
#   - The validator is not a rubber stamp: events with a required field
#     gone, an activity_id out of its enum, an attribute of no class and a
#     wrong type are each refused.
# Needs root (mount), python3, jq.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd python3 jq sha256sum
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SCHEMA=$SRC/tests/ocsf/schema-1.3.0
VALIDATE=$SRC/tests/ocsf/validate.py
[ -f "$SCHEMA/dictionary.json" ] || skip "no vendored OCSF schema at $SCHEMA"

validates() { python3 "$VALIDATE" "$SCHEMA" "$1" >"$S/validate.out" 2>&1; }

mkdir -p "$S/l/etc" "$S/l/usr/bin" "$S/u" "$S/w" "$S/m"
echo v1 >"$S/l/etc/app.conf"
echo old >"$S/l/etc/motd"
printf '#!/bin/sh\n' >"$S/l/usr/bin/tool" && chmod 644 "$S/l/usr/bin/tool"
"$UPPERWATCH" --db "$S/db" baseline -q --image oc --rootfs "$S/l" >/dev/null ||
	{ fail "baseline"; finish; }
mount_overlay "$S/l" "$S/u" "$S/w" "$S/m"

start_upperwatch W "$S/out.jsonl" "$S/err.log" --db "$S/db" watch --upper "$S/u" \
	--image oc --format ocsf --output "$S/out.jsonl"
wait_until 10 grep -q "watching container" "$S/err.log" || { fail "watch did not start: $(cat "$S/err.log")"; finish; }

printf '#!/bin/sh\necho dropped\n' >"$S/m/usr/bin/dropped" && chmod 755 "$S/m/usr/bin/dropped"
echo v2 >>"$S/m/etc/app.conf"
chmod 600 "$S/m/etc/motd"
rm "$S/m/usr/bin/tool"
BAD=$(printf 'evil\n<script>\xff')
echo x >"$S/m/etc/$BAD"

n1001() { jq -s '[.[] | select(.class_uid == 1001)] | length' "$S/out.jsonl" 2>/dev/null || echo 0; }
five() { [ "$(n1001)" -ge 5 ]; }
check "five File System Activity events" wait_until 10 five
stop_bg "$W"

if validates "$S/out.jsonl"; then
	pass "every line of watch --format ocsf validates"
else
	fail "watch --format ocsf does not validate"
	sed 's/^/# /' "$S/validate.out" | tail -n 5 >&2
fi
act() { jq -r --arg p "$1" 'select(.class_uid == 1001 and .file.path == $p) | .activity_name' "$S/out.jsonl" | tail -n 1; }
expect_eq "a new file: Create" Create "$(act /usr/bin/dropped)"
expect_eq "an edit: Update" Update "$(act /etc/app.conf)"
expect_eq "a chmod: Set Attributes" "Set Attributes" "$(act /etc/motd)"
expect_eq "a delete: Delete" Delete "$(act /usr/bin/tool)"
fin=$(jq -c 'select(.class_uid == 2004 and .evidences[0].file.path == "/usr/bin/dropped")' "$S/out.jsonl" | tail -n 1)
check "the dropped executable has a Detection Finding" test -n "$fin"
expect_eq "its evidence is the File System Activity" 1001 "$(jq -r '.evidences[0].data.class_uid' <<<"$fin")"
expect_eq "its severity" High "$(jq -r .severity <<<"$fin")"
expect_eq "the finding's analytic is the policy" executables "$(jq -r .finding_info.analytic.name <<<"$fin")"
expect_eq "file.hashes has the file's SHA-256" \
	"$(printf '#!/bin/sh\necho dropped\n' | sha256sum | cut -d' ' -f1)" \
	"$(jq -r '.evidences[0].file.hashes[] | select(.algorithm_id == 3) | .value' <<<"$fin")"
expect_eq "a low event has no finding" "" \
	"$(jq -c 'select(.class_uid == 2004 and .evidences[0].file.path == "/etc/app.conf")' "$S/out.jsonl")"
hex=$(printf '%s' "/etc/$BAD" | od -An -tx1 | tr -d ' \n')
expect_eq "a name that is not UTF-8: its exact bytes in unmapped" "$hex" \
	"$(jq -r 'select(.class_uid == 1001 and (.file.path | startswith("/etc/evil"))) | .unmapped.upperwatch.path_hex' "$S/out.jsonl" | head -n 1)"
check "and no raw newline in any line" test "$(wc -l <"$S/out.jsonl")" = "$(jq -c . "$S/out.jsonl" | wc -l)"

# ---- the journal and diff, rewritten -------------------------------------------

"$UPPERWATCH" --db "$S/db" events --format ocsf >"$S/events.jsonl" 2>"$S/events.err"
expect_eq "events --format ocsf exits 0" 0 "$?"
check "every line of events --format ocsf validates" validates "$S/events.jsonl"
expect_eq "one File System Activity per journaled event" \
	"$("$UPPERWATCH" --db "$S/db" events --json | wc -l)" \
	"$(jq -s '[.[] | select(.class_uid == 1001)] | length' "$S/events.jsonl")"
check "the journal's verdicts give the finding" \
	test -n "$(jq -c 'select(.class_uid == 2004 and .evidences[0].file.path == "/usr/bin/dropped")' "$S/events.jsonl")"
"$UPPERWATCH" --db "$S/db" diff --image oc --format ocsf "$S/u" >"$S/diff.jsonl" 2>"$S/diff.err"
expect_eq "diff --format ocsf: drift found (exit 1)" 1 "$?"
check "every line of diff --format ocsf validates" validates "$S/diff.jsonl"

# ---- the validator refuses what is not OCSF ---------------------------------------------

line=$(jq -c 'select(.class_uid == 1001)' "$S/out.jsonl" | head -n 1)
refused() { # DESC JQ_FILTER EXPECTED_TEXT
	jq -c "$2" <<<"$line" >"$S/bad.jsonl"
	if validates "$S/bad.jsonl"; then
		fail "the validator let through $1"
	elif grep -q "$3" "$S/validate.out"; then
		pass "the validator refuses $1"
	else
		fail "the validator refused $1 for another reason: $(head -n 2 "$S/validate.out")"
	fi
}
refused "a missing file" 'del(.file)' "file: required, absent"
refused "an activity_id out of its enum" '.activity_id = 42 | .type_uid = 100142' "activity_id: 42 is not in its enum"
refused "an attribute of no class" '.shell = "x"' "shell: not an attribute"
refused "a wrong type" '.time = "yesterday"' "time: not an integer"
refused "a type_uid that does not add up" '.type_uid = 100199' "type_uid: not class_uid"
finish
