#!/bin/bash
# watch_runc: `upperwatch watch` on real runc containers must report each
# change a container makes, once, within 2 s, under the container's id,
# and journal exactly what it printed.
#
# Containers (all named uwt-watch-<pid>-*; cgroups under /<that prefix>):
#   c1  runc on an overlay this test mounts (notes §8.1: layer 2 modifies
#       /etc/app.conf, whites out /bin/stat, makes /opt/data opaque).
#       Watched with `watch --container c1`:
#         - the start-up scan reports /tmp/started (written before);
#         - runc exec, one at a time, each event awaited (op, path,
#           container.id) within 2 s: create a file, append to an image
#           file, chmod an image file, rm an image file, replace an image
#           dir (rm -rf, mkdir, a file in it);
#         - the race: 20 x `mkdir -p` of a 10-deep tree, then a file in
#           each of its dirs (deepest first), as fast as busybox sh goes:
#           all 400 entries reported;
#         - then the exact set: nothing else, each path once, and
#           `events --json --container c1` prints the same lines;
#         - restart: SIGTERM (exit 0), changes made while it is down,
#           start again: those changes reported once, nothing repeated;
#           and again with no change: nothing reported.
#   c2  a second runc container of the same layers, started while the
#       host daemon (`watch`, no arguments, its own db) runs: its
#       "watching container" notice within 5 s, a change reported with
#       its id, and after runc kill + umount its "is gone; N watches
#       released" notice, N checked against the daemon's inotify fdinfo
#       (watches on c2's upper dirs before and after, and the total back
#       to where it was).  The host daemon sees every container on this
#       machine: only ours are asserted about.
#
# Needs root, runc, a static busybox, setfattr, jq.  UWT_KEEP=DIR keeps a
# copy of the scratch dir (events, notices, dbs) for a post-mortem.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox setfattr jq timeout mknod
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-watch-$$
C1=$P-c1 C2=$P-c2
RS=$(realpath "$S")
L1=$RS/layers/1 L2=$RS/layers/2
EV=$S/events.jsonl ERR=$S/watch.err
HEV=$S/host.jsonl HERR=$S/host.err

# Our cgroup dirs (runc leaves none behind when it deletes cleanly).
cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- helpers ---------------------------------------------------------------

# start_runc CID: a container on the image's layers (run_container);
# waits until its init has run (/tmp/started is in the upper).
start_runc() {
	run_container "$RS/$1" "$1" "$L2:$L1" "/$P/$1" \
		"echo up > /tmp/started; while true; do sleep 1; done" &&
		wait_until 10 test -s "$RS/$1/upper/tmp/started"
}

# xc CID COMMAND: run COMMAND with sh -c in container CID.
xc() { runc_sh "$1" "$2"; }

# notice_for UPPER ERRFILE: the id a "watching container" notice gave the
# container with that upper dir (first such notice).
notice_for() {
	sed -n "s|^.* upperwatch: watching container \([^ ]*\) (.*) upper $1\$|\1|p" "$2" | head -n 1
}

# more_than N PATTERN FILE: more than N lines of FILE have PATTERN.
more_than() { [ "$(grep -c -e "$2" "$3")" -gt "$1" ]; }

# lines FILE FROM: the lines of FILE after line FROM.
lines() { tail -n +"$(($2 + 1))" "$1"; }

# has_event FILE FROM OP PATH ID: a line after FROM says OP PATH for ID
# (for any container when ID is "").
has_event() {
	lines "$1" "$2" | jq -c --arg op "$3" --arg p "$4" --arg id "$5" \
	    'select(.op == $op and .path == $p and ($id == "" or .container.id == $id))' 2>/dev/null |
	    grep -q .
}

# expect_event DESC FILE FROM T0 OP PATH ID: wait (2 s from T0, an
# EPOCHREALTIME) until that event is printed; pass with the delay.
expect_event() {
	local what=$1 f=$2 from=$3 t0=$4 op=$5 p=$6 id=$7 dt
	if wait_until 5 has_event "$f" "$from" "$op" "$p" "$id"; then
		dt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
		if awk -v d="$dt" 'BEGIN { exit !(d <= 2.0) }'; then
			pass "$what: $op $p reported in ${dt} s"
		else
			fail "$what: $op $p reported, but only after ${dt} s (> 2 s)"
		fi
	else
		fail "$what: no '$op $p' event for $id within 5 s; got: $(lines "$f" "$from" |
		    jq -r '"\(.op) \(.path) \(.container.id)"' 2>/dev/null | tail -n 5 | tr '\n' ';')"
	fi
}

# opset FILE FROM: "op path id" of each event after FROM, sorted.
# A race file seen empty (its writer stalled between the create and the
# write for longer than the quiet period, as a loaded machine does) is a
# true report, followed by the one with its content: only the latter
# counts in the sets below.
opset() {
	lines "$1" "$2" | jq -r 'select((.path | startswith("/race")) and
	    .type == "file" and .current.size == 0 | not) |
	    "\(.op) \(.path) \(.container.id)"' 2>/dev/null | sort
}

# settled FILE: the file did not grow for 1 s.
settled() {
	local a b
	a=$(wc -l <"$1")
	sleep 1
	b=$(wc -l <"$1")
	[ "$a" = "$b" ]
}

# ---- the image layers (notes §8.1, plus /etc/motd to delete) ---------------

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,opt/data} "$L2"/{etc,bin,opt/data}
(
	set -e
	busybox_layer "$L1" sh ls cat echo sleep touch rm mkdir mv chmod ln head stat
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	echo v1 >"$L1/etc/app.conf"
	echo hello >"$L1/etc/motd"
	echo old >"$L1/opt/data/old.txt"
	echo v2 >"$L2/etc/app.conf"
	mknod "$L2/bin/stat" c 0 0
	setfattr -n trusted.overlay.opaque -v y "$L2/opt/data"
	echo new >"$L2/opt/data/new.txt"
) || fail "building the layers failed"

# ---- c1 under `watch --container` ------------------------------------------

check "$C1: runc container started" start_runc "$C1"
runc state "$C1" >/dev/null 2>&1 || { fail "$C1 is not running; cannot go on"; finish; }

start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C1" --output "$EV"
if wait_until 20 grep -q "watching container $C1 " "$ERR"; then
	pass "watch --container: 'watching container $C1' notice"
else
	fail "watch --container: no 'watching container' notice within 20 s: $(head -c 600 "$ERR")"
	finish
fi
expect_event "start-up scan" "$EV" 0 "$EPOCHREALTIME" added /tmp/started "$C1"

# act DESC COMMAND OP PATH [OP PATH]...: run COMMAND in c1, then expect
# each event within 2 s of its end.
act() {
	local what=$1 cmd=$2 from t0
	shift 2
	from=$(wc -l <"$EV")
	xc "$C1" "$cmd" || fail "$what: runc exec failed"
	t0=$EPOCHREALTIME
	while [ $# -ge 2 ]; do
		expect_event "$what" "$EV" "$from" "$t0" "$1" "$2" "$C1"
		shift 2
	done
}
act "create a file" 'echo new > /root/created' added /root/created
act "append to an image file" 'echo more >> /etc/app.conf' modified /etc/app.conf
act "chmod an image file" 'chmod 600 /etc/passwd' metadata /etc/passwd
act "delete an image file" 'rm /etc/motd' deleted /etc/motd
act "replace an image dir" 'rm -rf /opt/data; mkdir /opt/data; echo n > /opt/data/x' \
    replaced /opt/data added /opt/data/x
expect_eq "the replaced dir: type dir, count 1 (the image's new.txt)" '"dir" 1' \
    "$(jq -r 'select(.path == "/opt/data") | "\(.type|tojson) \(.count)"' "$EV" | tail -n 1)"

# The race: new dirs filled before a watch can land on them.
RACE='for i in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20; do
	t=/race$i
	mkdir -p $t/d1/d2/d3/d4/d5/d6/d7/d8/d9 || exit 1
	for d in $t/d1/d2/d3/d4/d5/d6/d7/d8/d9 $t/d1/d2/d3/d4/d5/d6/d7/d8 \
	    $t/d1/d2/d3/d4/d5/d6/d7 $t/d1/d2/d3/d4/d5/d6 $t/d1/d2/d3/d4/d5 \
	    $t/d1/d2/d3/d4 $t/d1/d2/d3 $t/d1/d2 $t/d1 $t; do
		echo x > $d/f || exit 1
	done
done'
RACE_WANT=$S/race.want
for i in $(seq -w 1 20); do
	d=/race$i
	echo "added $d $C1"
	echo "added $d/f $C1"
	for l in 1 2 3 4 5 6 7 8 9; do
		d=$d/d$l
		echo "added $d $C1"
		echo "added $d/f $C1"
	done
done | sort >"$RACE_WANT"
from=$(wc -l <"$EV")
xc "$C1" "$RACE" || fail "race: runc exec failed"
t0=$EPOCHREALTIME
race_done() { [ "$(opset "$EV" "$from" | grep -c ' /race')" -ge 400 ]; }
if wait_until 10 race_done; then
	pass "race: 400 entries reported in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
fi
settled "$EV"
opset "$EV" "$from" | grep ' /race' >"$S/race.got"
check "race: every dir and file of the 20 trees reported, each once (400)" \
    cmp -s "$RACE_WANT" "$S/race.got"
if ! cmp -s "$RACE_WANT" "$S/race.got"; then
	echo "# race, want vs got:" >&2
	diff "$RACE_WANT" "$S/race.got" | head -n 20 >&2
fi

# The exact set so far.
settled "$EV"
{
	printf '%s\n' "added /tmp/started" "added /root/created" "modified /etc/app.conf" \
	    "metadata /etc/passwd" "deleted /etc/motd" "replaced /opt/data" "added /opt/data/x" |
	    sed "s/\$/ $C1/"
	cat "$RACE_WANT"
} | sort >"$S/want1"
opset "$EV" 0 >"$S/got1"
if cmp -s "$S/want1" "$S/got1"; then
	pass "watch --container: exactly the expected $(wc -l <"$S/want1") events, each path once"
else
	fail "watch --container: the events are not the expected set: $(diff "$S/want1" "$S/got1" | grep '^[<>]' | head -n 10 | tr '\n' ';')"
fi
expect_eq "every line is JSON with time and id" "$(wc -l <"$EV")" \
    "$(jq -c 'select((.time|type) == "number" and (.id|type) == "number")' "$EV" 2>/dev/null | wc -l)"
expect_eq "ids are unique and increasing" "$(jq -r .id "$EV" | sort -n | uniq | tr '\n' ' ')" \
    "$(jq -r .id "$EV" | tr '\n' ' ')"

# journal == what was printed (the daemon commits within 100 ms)
journal_same() {
	timeout 30 "$UPPERWATCH" --db "$1" events --json --container "$2" >"$S/journal" 2>"$S/journal.err" &&
	    cmp -s "$3" "$S/journal"
}
if wait_until 5 journal_same "$S/db" "$C1" "$EV"; then
	pass "events --json --container $C1: the same lines, same ids"
else
	fail "events --json --container $C1 differs from the output: $(diff <(jq -r '"\(.id) \(.op) \(.path)"' "$EV") \
	    <(jq -r '"\(.id) \(.op) \(.path)"' "$S/journal") | head -n 10 | tr '\n' ';') $(head -c 200 "$S/journal.err")"
fi
timeout 30 "$UPPERWATCH" --db "$S/db" events --container "$C1" >"$S/journal.txt" 2>&1
expect_eq "events (text): one line per event" "$(wc -l <"$EV")" "$(wc -l <"$S/journal.txt")"

# ---- restart ---------------------------------------------------------------

check "watch process still running" alive "$W"
stop_bg "$W"
expect_eq "SIGTERM: watch exits 0" 0 "$BG_STATUS"
MAXID=$(jq -r .id "$EV" | sort -n | tail -n 1)
N1=$(wc -l <"$EV")
xc "$C1" 'echo again >> /etc/app.conf; echo o > /etc/offline; rm /bin/ls; echo l > /race01/d1/later' ||
    fail "restart: changes while down failed"

start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C1" --output "$EV"
wait_until 20 more_than 1 "watching container $C1 " "$ERR" ||
    fail "restart: no second 'watching container' notice"
# Drift made while it was down: reported by the start-up scan.
t0=$EPOCHREALTIME
for e in "modified /etc/app.conf" "added /etc/offline" "deleted /bin/ls" "added /race01/d1/later"; do
	expect_event "restart: made while down" "$EV" "$N1" "$t0" ${e% *} ${e#* } "$C1"
done
# A sentinel made after the start: once it is printed, the start-up scan
# is over.
xc "$C1" 'echo s > /tmp/sentinel' || fail "restart: sentinel"
expect_event "restart: a change after the start" "$EV" "$N1" "$EPOCHREALTIME" added /tmp/sentinel "$C1"
settled "$EV"
printf '%s\n' "modified /etc/app.conf" "added /etc/offline" "deleted /bin/ls" \
    "added /race01/d1/later" "added /tmp/sentinel" | sed "s/\$/ $C1/" | sort >"$S/want2"
opset "$EV" "$N1" >"$S/got2"
if cmp -s "$S/want2" "$S/got2"; then
	pass "restart: exactly the changes made since, nothing reported before repeated"
else
	fail "restart: want $(tr '\n' ';' <"$S/want2") got $(tr '\n' ';' <"$S/got2")"
fi
expect_eq "restart: ids continue after $MAXID" "" \
    "$(lines "$EV" "$N1" | jq -r --argjson m "$MAXID" 'select(.id <= $m) | .id')"
stop_bg "$W"
expect_eq "restart: SIGTERM, exit 0" 0 "$BG_STATUS"

# Again, with no change at all.
N2=$(wc -l <"$EV")
NOTICES=$(grep -c "watching container $C1 " "$ERR")
start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C1" --output "$EV"
wait_until 20 more_than "$NOTICES" "watching container $C1 " "$ERR" ||
    fail "restart without changes: no 'watching container' notice"
sleep 1.5	# the start-up scan runs before the first signal is looked at
stop_bg "$W"
expect_eq "restart without changes: SIGTERM, exit 0" 0 "$BG_STATUS"
expect_eq "restart without changes: nothing reported" "" "$(lines "$EV" "$N2" | jq -r '"\(.op) \(.path)"')"
if journal_same "$S/db" "$C1" "$EV"; then
	pass "after the restarts: events --json --container $C1 == everything printed"
else
	fail "after the restarts: the journal differs from the output"
fi

# ---- the host daemon and a second container ---------------------------------

start_upperwatch H "$HEV" "$HERR" --db "$S/db2" watch --output "$HEV"
if wait_until 30 grep -q "watching container $C1 " "$HERR"; then
	pass "host daemon: found $C1"
else
	fail "host daemon: no 'watching container $C1' notice within 30 s: $(head -c 600 "$HERR")"
fi
# its start-up scan of c1 reports c1's drift into the new journal
wait_until 10 has_event "$HEV" 0 added /tmp/sentinel "$C1" ||
    fail "host daemon: c1's drift not reported by the start-up scan"
settled "$HEV"
inotify_watches "$H" | sort >"$S/wds.before"
HN=$(wc -l <"$HERR")
t0=$EPOCHREALTIME
check "$C2: runc container started (same layers)" start_runc "$C2"
U2=$RS/$C2/upper
if wait_until 5 grep -q " upper $U2\$" "$HERR"; then
	pass "host daemon: a 'watching container' notice for $C2's upper in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
else
	fail "host daemon: no 'watching container' notice for $U2 within 5 s"
fi
ID2=$(notice_for "$U2" "$HERR")
expect_eq "host daemon: the notice names $C2 by its runc id" "$C2" "$ID2"
expect_eq "host daemon: $C2's runtime is runc" runc \
    "$(sed -n "s|^.* upperwatch: watching container [^ ]* ([^,]*, \([^)]*\)) upper $U2\$|\1|p" "$HERR" | head -n 1)"
[ -n "$ID2" ] || ID2=$C2
from=$(wc -l <"$HEV")
xc "$C2" 'echo c2 > /etc/c2file' || fail "$C2: runc exec failed"
expect_event "host daemon: $C2's change" "$HEV" "$from" "$EPOCHREALTIME" added /etc/c2file ""
expect_eq "host daemon: $C2's change reported with its id and runtime" "$C2 runc" \
    "$(lines "$HEV" "$from" | jq -r 'select(.path == "/etc/c2file") | "\(.container.id) \(.container.runtime)"' | head -n 1)"
# A scratch tree made and removed again, as a build does.
xc "$C2" 'mkdir -p /scratch/a/b && echo x > /scratch/a/b/f' || fail "$C2: scratch tree"
expect_event "host daemon: $C2 scratch tree" "$HEV" "$from" "$EPOCHREALTIME" added /scratch/a/b/f "$ID2"
xc "$C2" 'rm -rf /scratch/a' || fail "$C2: rm -rf of the scratch tree"
sleep 1
dir_keys "$U2" | sort >"$S/c2.dirs"
inotify_watches "$H" | sort >"$S/wds.during"
MINE=$(comm -12 "$S/wds.during" "$S/c2.dirs" | wc -l)
expect_eq "host daemon: every dir of $C2's upper is watched (fdinfo)" "$(wc -l <"$S/c2.dirs")" "$MINE"

# stop c2: runc kill, runc run exits and deletes it, umount
runc kill "$C2" KILL 2>/dev/null
wait_until 10 sh -c "! runc state '$C2' >/dev/null 2>&1" || fail "$C2: still there after runc kill"
umount "$RS/$C2/bundle/rootfs" || fail "$C2: umount"
if wait_until 5 grep -q "container $ID2 is gone; " "$HERR"; then
	pass "host daemon: '$ID2 is gone' notice"
else
	fail "host daemon: no 'container $ID2 is gone' notice within 5 s"
fi
printf '%s\n' "added /tmp/started" "added /etc/c2file" "added /scratch" "added /scratch/a" \
    "added /scratch/a/b" "added /scratch/a/b/f" | sed "s|\$| $ID2|" | sort >"$S/want.c2"
jq -r --arg id "$ID2" 'select(.container.id == $id) | "\(.op) \(.path) \(.container.id)"' "$HEV" | sort >"$S/got.c2"
if cmp -s "$S/want.c2" "$S/got.c2"; then
	pass "host daemon: exactly the expected 6 events for $C2, each once"
else
	fail "host daemon: $C2's events: want $(cut -d' ' -f1,2 "$S/want.c2" | tr '\n' ';') got $(cut -d' ' -f1,2 "$S/got.c2" | tr '\n' ';')"
fi
NGONE=$(sed -n "s|^.* upperwatch: container $ID2 is gone; \([0-9]*\) watches released\$|\1|p" "$HERR" | head -n 1)
expect_eq "host daemon: 'N watches released' == the watches it held on $C2's upper (fdinfo)" "$MINE" "$NGONE"
sleep 0.5
inotify_watches "$H" | sort >"$S/wds.after"
expect_eq "host daemon: no watch left on $C2's upper dirs" 0 "$(comm -12 "$S/wds.after" "$S/c2.dirs" | wc -l)"
# The total count, unless other people's containers changed theirs.
others_before=$(comm -23 "$S/wds.before" "$S/c2.dirs" | md5sum)
others_after=$(comm -23 "$S/wds.after" "$S/c2.dirs" | md5sum)
echo "# inotify watches of the host daemon: before $C2 $(wc -l <"$S/wds.before"), with it $(wc -l <"$S/wds.during"), after $(wc -l <"$S/wds.after")"
if [ "$others_before" = "$others_after" ]; then
	expect_eq "host daemon: the watch count is back to where it was" \
	    "$(wc -l <"$S/wds.before")" "$(wc -l <"$S/wds.after")"
	expect_eq "host daemon: the total grew by the watches on $C2's dirs while it ran" "$MINE" \
	    "$(($(wc -l <"$S/wds.during") - $(wc -l <"$S/wds.before")))"
else
	echo "# other containers' watches changed meanwhile; total counts not compared" >&2
	lines "$HERR" "$HN" | grep -v -e "$C2" -e "$ID2" | sed 's/^/#   /' | head -n 10 >&2
fi
check "host daemon still running" alive "$H"
stop_bg "$H"
expect_eq "host daemon: SIGTERM, exit 0" 0 "$BG_STATUS"
grep -F "\"container\":{\"id\":\"$C1\"," "$HEV" >"$S/host.c1"
if journal_same "$S/db2" "$C1" "$S/host.c1"; then
	pass "host daemon: events --json --container $C1 == what it printed for $C1"
else
	fail "host daemon: the journal of $C1 differs from what it printed"
fi

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
