#!/bin/bash
# journal_limit: a container that rewrites files in a loop must not grow
# the host's journal without bound, nor push a severe event out of it.
#
# One runc container (busybox; /usr/bin and /srv in the image), watched by
# `watch --container C --policy policies/default --journal-max-events
# 1000`.
# From inside it: a binary dropped into /usr/bin (high: new executable in
# a program dir), then 50 files of /srv rewritten 6,000 times in all, in
# rounds of 50 with a pause (low each).  Then:
#   - every event is still printed (the limit is the journal's only);
#   - the warning "the journal passed --journal-max-events" is said, and
#     status.json counts journal_pruned_events > 0;
#   - the journal holds at most 1,000 events, at least 900 (pruned down
#     to nine tenths, no further);
#   - the journal still holds the high event of the dropped binary, and
#     the last flood event printed, but not the first flood events: the
#     oldest low ones went first;
#   - a second flood, of 400 files with 3 KB paths (each path's last
#     state is kept, and never pruned), makes no event go but the oldest
#     low ones: the high one stays;
#   - --journal-max-events 0 is a usage error (exit 2).
#
# Needs root, runc, a static busybox, jq, sqlite3.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq sqlite3
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-jl-$$
C=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
EV=$S/events.jsonl ERR=$S/watch.err
DEFPOL=${UW_SOURCE_ROOT:-$SRC}/policies/default
N=6000

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

xc() { runc_sh -t 120 "$C" "$1"; }
journaled() { sql "$S/db" "SELECT count(*) FROM events"; }
# journal_to FILE: the journal as JSON Lines into FILE.
journal_to() {
	timeout 60 "$UPPERWATCH" --db "$S/db" events --json >"$1" 2>"$S/journal.err" ||
		fail "events: $(head -c 300 "$S/journal.err")"
}
# high_kept WHAT FILE: the dropped binary's high event is in FILE.
high_kept() {
	if json_has "$2" '.path == "/usr/bin/dropper"'; then
		pass "$1: the high event is still in the journal ($(wc -l <"$2") events)"
	else
		fail "$1: the high event (id $drop_id) was deleted"
	fi
}
printed() { wc -l <"$EV"; }
# settled: the output has not grown for a second
settled() {
	local a b
	a=$(printed)
	sleep 1
	b=$(printed)
	[ "$a" = "$b" ] && [ "$a" -gt 0 ]
}

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,usr/bin,srv}
busybox_layer "$L1" sh cat cp chmod echo sleep mkdir || { fail "building the layer failed"; finish; }
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"

check "runc container started" run_container "$RS/c1" "$C" "$L1" "/$P/c1" \
	"echo up > /tmp/started; while true; do sleep 1; done"
wait_until 10 test -s "$RS/c1/upper/tmp/started" || { fail "$C did not start"; finish; }

start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C" \
	--policy "$DEFPOL" --journal-max-events 1000 --rescan 3600 --output "$EV"
if ! wait_until 20 grep -q "watching container $C " "$ERR"; then
	fail "no 'watching container' notice within 20 s: $(head -c 600 "$ERR")"
	finish
fi

xc 'cp /bin/busybox /usr/bin/dropper && chmod 755 /usr/bin/dropper' || fail "dropping a binary"
if wait_until 5 json_has "$EV" '.path == "/usr/bin/dropper" and .verdict.severity == "high"'; then
	pass "the dropped binary is reported high"
else
	fail "the dropped binary: $(grep dropper "$EV" | tail -n 1 | head -c 300)"
fi
drop_id=$(jq -r 'select(.path == "/usr/bin/dropper") | .id' "$EV" | head -n 1)

# Each round of 50 writes, a pause longer than the quiet period: each
# write is an event of its own, as a slow loop's would be.
xc "i=0; while [ \$i -lt $N ]; do echo \$i > /srv/f\$((i % 50)); i=\$((i + 1)); [ \$((i % 50)) = 0 ] && sleep 0.05; done; true" ||
	fail "the flood"
wait_until 60 settled || fail "the output did not settle within 60 s"
n_flood=$(jq -r 'select(.path | startswith("/srv/f")) | .id' "$EV" | wc -l)
echo "# $n_flood flood events printed, $(printed) in all"
if [ "$n_flood" -ge 1000 ]; then
	pass "the flood was reported: $n_flood events printed"
else
	fail "only $n_flood flood events printed"
fi

if wait_until 10 grep -q "the journal passed --journal-max-events (1000)" "$ERR"; then
	pass "the limit is said"
else
	fail "no warning about the limit: $(grep -i journal "$ERR" | head -c 300)"
fi
if wait_until 10 sh -c "jq -e '.journal_pruned_events > 0' '$S/status.json' >/dev/null 2>&1"; then
	pass "status: journal_pruned_events $(jq .journal_pruned_events "$S/status.json")"
else
	fail "status: journal_pruned_events $(jq .journal_pruned_events "$S/status.json" 2>&1)"
fi
n=$(journaled)
if [ -n "$n" ] && [ "$n" -le 1000 ] && [ "$n" -ge 900 ]; then
	pass "the journal holds $n events (900 to 1000)"
else
	fail "the journal holds ${n:-?} events"
fi

journal_to "$S/journal"
high_kept flood "$S/journal"
first_flood=$(jq -r 'select(.path | startswith("/srv/f")) | .id' "$EV" | head -n 1)
last_id=$(jq -r '.id' "$EV" | tail -n 1)
if json_has "$S/journal" ".id == $last_id"; then
	pass "the last event printed is in the journal"
else
	fail "the last event printed (id $last_id) is not in the journal"
fi
if json_has "$S/journal" ".id == $first_flood"; then
	fail "the first flood event (id $first_flood) is still in the journal"
else
	pass "the oldest low events were deleted ($(wc -l <"$S/journal") events kept of $(printed))"
fi

# Long paths: each path's last state is kept whatever the limit.
long=$(printf 'd%.0s' $(seq 250))
xc "mkdir -p /srv/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long && cd /srv/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long && i=0; while [ \$i -lt 400 ]; do : > f\$i; i=\$((i + 1)); [ \$((i % 50)) = 0 ] && sleep 0.05; done; true" ||
	fail "the long paths"
wait_until 60 settled || fail "the output did not settle within 60 s"
n_long=$(jq -r "select(.path | startswith(\"/srv/$long/\")) | .id" "$EV" | wc -l)
if [ "$n_long" -ge 400 ]; then
	pass "long paths: $n_long events printed"
else
	fail "long paths: only $n_long events printed"
fi
journal_to "$S/journal2"
high_kept "long paths" "$S/journal2"

stop_bg "$W"
expect_eq "watch stops cleanly" 0 "$BG_STATUS"

"$UPPERWATCH" --db "$S/db" watch --container "$C" --journal-max-events 0 >"$S/out" 2>&1
expect_eq "--journal-max-events 0: exit 2" 2 "$?"
finish
