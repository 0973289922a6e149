#!/bin/bash
# evasion_labels: a container's owner sets its labels (annotations), and
# huge ones must neither fail every policy for every container nor get
# policies quarantined.
#
# Two runc containers of one busybox layer, uwt-evlab-<pid>-big (one
# annotation of 1 MiB and 600 small ones) and uwt-evlab-<pid>-small (one
# small annotation), watched by one host daemon (`watch`, its own db, the
# shipped default policies).  In each, /etc/shadow is written 7 times
# (more than the 5 failures that quarantine a policy):
#   - every event of the big container carries container.labels_truncated
#     true, no value over UW_LABEL_VALUE_MAX (4096) bytes (the 1 MiB one
#     cut to it, when kept), at most 256 labels, and sensitive-files'
#     critical verdict (not "memory limit" nor any failed reason);
#   - no policy is quarantined (no such notice), and the small container's
#     events are judged the same and carry no labels_truncated;
#   - control: runc state of the big container holds the 1 MiB value
#     whole, so the cut is upperwatch's.
#
# Needs root, runc, a static busybox, jq.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq timeout head
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-evlab-$$
BIG=$P-big SMALL=$P-small
RS=$(realpath "$S")
L1=$RS/layers/1
EV=$S/events.jsonl ERR=$S/watch.err

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

busybox_layer "$L1" sh sleep echo cat >/dev/null || { fail "busybox layer"; finish; }
mkdir -p "$L1"/{etc,proc,sys,dev,tmp,root}
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
echo 'root:*:19000:0:99999:7:::' >"$L1/etc/shadow"
chmod 640 "$L1/etc/shadow"

# The annotations: one of 1 MiB, and 600 more (over the 256-label cap).
head -c 1048576 /dev/zero | tr '\0' 'x' >"$S/big.value"
{
	printf '.annotations = '
	jq -n --rawfile v "$S/big.value" '
		{ "io.kubernetes.container.name": "big", "huge": $v }
		+ ([range(600)] | map({ key: "k\(.)", value: "v\(.)" }) | from_entries)'
} >"$S/big.jq" || { fail "building the annotations"; finish; }
echo '.annotations = {"io.kubernetes.container.name": "small", "team": "a"}' >"$S/small.jq"

start_ctr() {
	run_container "$RS/$1" "$1" "$L1" "/$P/$1" \
		"echo up > /tmp/started; while true; do sleep 1; done" "@$2" &&
		wait_until 10 test -s "$RS/$1/upper/tmp/started"
}
start_ctr "$BIG" "$S/big.jq" || { fail "starting $BIG"; finish; }
start_ctr "$SMALL" "$S/small.jq" || { fail "starting $SMALL"; finish; }

len=$(runc state "$BIG" | jq -r '[.annotations.huge // empty | length] | .[0] // 0')
expect_eq "control: runc keeps the 1 MiB annotation whole" 1048576 "$len"

start_upperwatch W "$EV" "$ERR" --db "$S/db" watch
for c in "$BIG" "$SMALL"; do
	wait_until 30 grep -q "watching container $c " "$ERR" ||
		fail "the host daemon does not watch $c: $(tail -n 3 "$ERR")"
done

for i in 1 2 3 4 5 6 7; do
	for c in "$BIG" "$SMALL"; do
		runc exec "$c" sh -c "echo 'root:x$i:19000:0:99999:7:::' > /etc/shadow" ||
			fail "writing /etc/shadow in $c"
	done
	sleep 0.3	# each write its own event
done

# events_of ID: the /etc/shadow events of that container.
events_of() {
	jq -c --arg id "$1" 'select(.container.id == $id and .path == "/etc/shadow")' "$EV" 2>/dev/null
}
seven() { [ "$(events_of "$BIG" | wc -l)" -ge 7 ] && [ "$(events_of "$SMALL" | wc -l)" -ge 7 ]; }
wait_until 15 seven || fail "not 7 /etc/shadow events for each: $(events_of "$BIG" | wc -l) and $(events_of "$SMALL" | wc -l)"

expect_eq "$BIG: every event says its labels were cut" true \
    "$(events_of "$BIG" | jq -s 'length > 0 and all(.container.labels_truncated == true)')"
# (runc lists annotations in no set order: "huge" may be one of those
# left out past the 256-label cap, or cut)
expect_eq "$BIG: no label value longer than 4096 bytes; huge cut to 4096 if kept" true \
    "$(events_of "$BIG" | head -n 1 | jq '[.container.labels[] | length] | max <= 4096' 2>&1)$(
    events_of "$BIG" | head -n 1 | jq -r 'if .container.labels | has("huge") then
	(if (.container.labels.huge | length) == 4096 then "" else " (huge: \(.container.labels.huge | length))" end)
	else "" end')"
check "$BIG: at most 256 labels" \
    test "$(events_of "$BIG" | head -n 1 | jq '.container.labels | length')" -le 256
expect_eq "$BIG: every event judged critical by sensitive-files, no policy failed" true \
    "$(events_of "$BIG" | jq -s 'length > 0 and all(.verdict.severity == "critical" and
	any(.verdict.reasons[]; .policy == "sensitive-files") and
	all(.verdict.reasons[]; (.failed // false) == false))')"
expect_eq "$SMALL: judged the same" true \
    "$(events_of "$SMALL" | jq -s 'length > 0 and all(.verdict.severity == "critical" and
	any(.verdict.reasons[]; .policy == "sensitive-files"))')"
expect_eq "$SMALL: no labels_truncated" true \
    "$(events_of "$SMALL" | jq -s 'all(has("labels_truncated") | not) and
	all(.container | has("labels_truncated") | not)')"
check "no policy was quarantined" bash -c "! grep -qi quarantin '$ERR'"
check "the daemon still runs" alive "$W"
stop_bg "$W"
expect_eq "SIGTERM: exit 0" 0 "$BG_STATUS"
finish
