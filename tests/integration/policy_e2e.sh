#!/bin/bash
# policy_e2e: the policy engine inside the daemon, on a real runc
# container: each drift event carries the verdict of the set it was judged
# by, journaled as printed; SIGHUP reloads the set between events, and a
# set that does not load leaves the old one in charge; --max-action and
# --dry-run cap what a verdict asks for.
#
# One runc container (uwt-pol-<pid>-c1, notes §8.1: two layers, plus
# /etc/hostname, /etc/motd and an empty /usr/local/bin in the image; its
# cgroups under /uwt-pol-<pid>).
#
#  1. `watch --container c1 --policy DIR` with DIR a copy of the shipped
#     default set:
#       - the "policies loaded" notice names the digest that
#         `policy check DIR` prints; the start-up scan's /tmp/started
#         is low, judged by that set;
#       - an executable dropped into /usr/local/bin: high or above, in
#         the output within 2 s and in the journal (`events --json`)
#         within 2 s, with the digest in .verdict.policy_set;
#       - /etc/hostname edited: info/log, same checks.
#  2. Hot reload.  drift.lua is replaced by one with a syntax error on
#     line 5 and SIGHUP sent: stderr names DIR/drift.lua:5 and says the
#     previous set stays (and `policy check DIR` agrees: exit 2, same
#     file:line); the next events are judged by the old set (its digest,
#     low from container-drift, high for another dropped executable).
#     Then drift.lua is put back and a new policy makes /etc/motd
#     critical; SIGHUP: "policies reloaded: N+1 policies, set NEW" with
#     NEW == `policy check DIR` != the old digest; the next event (an
#     append to /etc/motd) is critical with NEW, and an ordinary one is
#     low with NEW.  Every line's digest: old ones first, then new ones,
#     never mixed.  SIGTERM: exit 0, journal == output.
#  3. Capped actions, with policies/examples/lockdown.lua (which asks for
#     pause and kill), each a short run with its own db: --max-action
#     alert gives "action":"alert" with "wanted":"kill" (new executable)
#     or "wanted":"pause" (drift outside scratch dirs), from the start-up
#     scan and live; --dry-run gives "action":"log" with the same
#     "wanted".  No verdict anywhere has action pause or kill.
#
# The daemon must never pause or kill anything here: no set this test
# runs asks for a response uncapped.  After every phase the container
# must still be running, its init the same process, its cgroups not
# frozen; no "paused"/"killed" notice, no evidence dir beside any db.
# Where the daemon carries out responses (since 3e9a725), a capped one
# must be reported as not done ("... not done: capped at CAP").
#
# Needs root, runc, a static busybox, setfattr, jq.  UWT_KEEP=DIR keeps a
# copy of the scratch dir (outputs, notices, dbs) for a post-mortem.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox setfattr jq timeout mknod
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -f "$SRC/policies/default/drift.lua" ] || skip "no policies/default under $SRC"
[ -f "$SRC/policies/examples/lockdown.lua" ] || skip "no policies/examples/lockdown.lua under $SRC"

umask 022
export LC_ALL=C
P=uwt-pol-$$
C1=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1 L2=$RS/layers/2
PD=$RS/$P-policies	# the daemon's policy dir, changed by the test
LOCK=$SRC/policies/examples/lockdown.lua

# Our cgroup dirs (runc leaves none behind when it deletes cleanly).
cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- helpers ---------------------------------------------------------------

# start_runc CID: a container on the image's layers (run_container);
# waits until its init has run.
start_runc() {
	run_container "$RS/$1" "$1" "$L2:$L1" "/$P/$1" \
		"echo up > /tmp/started; while true; do sleep 1; done" &&
		wait_until 10 test -s "$RS/$1/upper/tmp/started"
}

# xc COMMAND: run COMMAND with sh -c in c1.
xc() { runc_sh "$C1" "$1"; }

lines() { tail -n +"$(($2 + 1))" "$1"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
le2() { awk -v d="$1" 'BEGIN { exit !(d <= 2.0) }'; }

# ev_line FILE FROM OP PATH: the last JSON line after line FROM for OP PATH
# in c1 (empty if none).
ev_line() {
	lines "$1" "$2" | jq -c --arg op "$3" --arg p "$4" --arg id "$C1" \
	    'select(.op == $op and .path == $p and .container.id == $id)' 2>/dev/null | tail -n 1
}
has_event() { [ -n "$(ev_line "$@")" ]; }

# settled FILE: the file did not grow for 1 s.
settled() {
	local a b
	a=$(wc -l <"$1")
	sleep 1
	b=$(wc -l <"$1")
	[ "$a" = "$b" ]
}

# digest_of PATH...: the set digest `policy check` prints.
digest_of() {
	timeout 60 "$UPPERWATCH" policy check "$@" 2>/dev/null |
	    sed -n 's/^[0-9]* policies loaded, set \([0-9a-f]*\);.*/\1/p'
}

# vq LINE FILTER: jq -r FILTER of a JSON line.
vq() { jq -r "$2" <<<"$1" 2>/dev/null; }

# verdict_text LINE: a short form of the verdict, for failure messages.
verdict_text() {
	vq "$1" '.verdict | if . == null then "no verdict" else
	    "\(.severity)/\(.action) wanted=\(.wanted) set=\(.policy_set) [\([.reasons[] | "\(.policy): \(.reason)"] | join("; "))]" end'
}

SEVS='["info","low","medium","high","critical"]'
# sev_at_least LINE SEVERITY: the verdict's severity is SEVERITY or above.
sev_at_least() {
	[ "$(jq -r --argjson s "$SEVS" --arg min "$2" \
	    '.verdict.severity as $sev | ($s | index($min)) as $m | ($s | index($sev)) as $v |
	     if $v != null and $v >= $m then "yes" else "no" end' <<<"$1" 2>/dev/null)" = yes ]
}

# journal_line DB ID: the journal's line of event ID in c1.
journal_line() {
	timeout 30 "$UPPERWATCH" --db "$1" events --json --container "$C1" 2>"$S/journal.err" |
	    jq -c --argjson id "$2" 'select(.id == $id)' 2>/dev/null
}
journal_has() { [ "$(journal_line "$1" "$2")" = "$3" ]; }

# journal_same DB OUT: `events --json --container c1` prints OUT, line
# for line.
journal_same() {
	timeout 30 "$UPPERWATCH" --db "$1" events --json --container "$C1" >"$S/journal" 2>"$S/journal.err" &&
	    cmp -s "$2" "$S/journal"
}

# act DESC OUT COMMAND OP PATH: run COMMAND in c1; expect OP PATH in OUT
# within 2 s of its end.  LINE gets the event's JSON line ("" if it never
# came), T0 the time the command ended.
act() {
	local what=$1 out=$2 cmd=$3 op=$4 p=$5 from dt
	LINE=
	from=$(wc -l <"$out")
	xc "$cmd" || fail "$what: runc exec failed"
	T0=$EPOCHREALTIME
	if wait_until 5 has_event "$out" "$from" "$op" "$p"; then
		dt=$(since "$T0")
		LINE=$(ev_line "$out" "$from" "$op" "$p")
		if le2 "$dt"; then
			pass "$what: $op $p reported in $dt s: $(verdict_text "$LINE")"
		else
			fail "$what: $op $p reported, but only after $dt s (> 2 s)"
		fi
	else
		fail "$what: no '$op $p' event within 5 s; got: $(lines "$out" "$from" |
		    jq -r '"\(.op) \(.path)"' 2>/dev/null | tail -n 5 | tr '\n' ';')"
	fi
}

# journaled DESC DB: the event in LINE is in DB's journal, the same line,
# within 2 s of T0; JLINE gets the journal's line.
journaled() {
	local id dt
	JLINE=
	[ -n "$LINE" ] || { fail "$1: no event, so nothing to find in the journal"; return; }
	id=$(vq "$LINE" .id)
	if wait_until 5 journal_has "$2" "$id" "$LINE"; then
		dt=$(since "$T0")
		JLINE=$(journal_line "$2" "$id")
		if le2 "$dt"; then
			pass "$1: journaled as printed (id $id) within $dt s"
		else
			fail "$1: journaled as printed, but only $dt s after the change (> 2 s)"
		fi
	else
		JLINE=$(journal_line "$2" "$id")
		fail "$1: event $id not journaled as printed within 5 s: journal has [${JLINE:0:300}] $(head -c 200 "$S/journal.err")"
	fi
}

# expect_verdict DESC LINE SEVERITY ACTION WANTED DIGEST [POLICY]: the
# verdict of LINE; WANTED "" means no "wanted" key (nothing was capped);
# POLICY: a policy that must be among the reasons.
expect_verdict() {
	local what=$1 line=$2 got want
	want="$3 $4 ${5:-none} $6${7:+ $7}"
	got=$(jq -r --arg p "${7:-}" '"\(.verdict.severity) \(.verdict.action) \(.verdict.wanted // "none") \(.verdict.policy_set)" +
	    (if $p != "" and any(.verdict.reasons[]?; .policy == $p) then " " + $p else "" end)' <<<"$line" 2>/dev/null)
	if [ "$got" = "$want" ]; then
		pass "$what: verdict $3/$4${5:+ (wanted $5)}, set $6${7:+, by $7}"
	else
		fail "$what: expected [severity action wanted set policy] = [$want], got [$got]: $(verdict_text "$line")"
	fi
}

# untouched WHEN: c1 still runs, with the same init, and is not frozen
# (no response was taken).
INIT=
untouched() {
	local st fz fz2 init
	st=$(runc state "$C1" 2>/dev/null | jq -r .status 2>/dev/null)
	init=$(runc state "$C1" 2>/dev/null | jq -r .pid 2>/dev/null)
	fz=$(cat "/sys/fs/cgroup/freezer/$P/$C1/freezer.state" 2>/dev/null || echo absent)
	fz2=$(cat "/sys/fs/cgroup/unified/$P/$C1/cgroup.freeze" 2>/dev/null || echo absent)
	if [ "$st" = running ] && [ "$init" = "$INIT" ] && [ -d "/proc/$INIT" ] &&
	    [ "$fz" != FROZEN ] && [ "$fz" != FREEZING ] && [ "$fz2" != 1 ]; then
		pass "$1: $C1 untouched (running, init $INIT, freezer $fz, cgroup.freeze $fz2)"
	else
		fail "$1: $C1 was acted on: status [$st], init [$init] (was $INIT), freezer [$fz], cgroup.freeze [$fz2]"
	fi
}

# no_response DESC OUT ERR DB: no verdict in OUT has action pause or
# kill, ERR has no "paused"/"killed" notice, and there is no evidence dir
# beside DB.
no_response() {
	expect_eq "$1: no verdict with action pause or kill" "" \
	    "$(jq -r 'select(.verdict.action == "pause" or .verdict.action == "kill") | "\(.op) \(.path) \(.verdict.action)"' "$2" | head -n 5 | tr '\n' ';')"
	expect_eq "$1: no 'paused'/'killed' notice" "" \
	    "$(grep -E 'upperwatch: container [^ ]* (paused|killed) ' "$3" | head -n 3 | tr '\n' ';')"
	check "$1: no evidence kept beside the db" test ! -e "$(dirname "$4")/evidence"
}

# capped_notice DESC ERR WANTED PATH CAP: if the daemon reports capped
# responses at all, it says WANTED on PATH was not done, capped at CAP.
capped_notice() {
	if grep -q 'not done: capped' "$2"; then
		check "$1: '$3 on $4 not done: capped at $5' notice" \
		    grep -q "container $C1: $3 on $4 not done: capped at $5" "$2"
	else
		echo "# $1: this daemon reports no capped responses (verdicts only)"
	fi
}

# ---- the image layers (notes §8.1, plus the files this test edits) ---------

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,opt/data,usr/local/bin} "$L2"/{etc,bin,opt/data}
(
	set -e
	busybox_layer "$L1" sh ls cat echo sleep touch rm mkdir mv chmod ln head stat cp
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	echo v1 >"$L1/etc/app.conf"
	echo image-host >"$L1/etc/hostname"
	echo hello >"$L1/etc/motd"
	echo old >"$L1/opt/data/old.txt"
	echo v2 >"$L2/etc/app.conf"
	mknod "$L2/bin/stat" c 0 0
	setfattr -n trusted.overlay.opaque -v y "$L2/opt/data"
	echo new >"$L2/opt/data/new.txt"
) || fail "building the layers failed"

mkdir -p "$PD"
cp "$SRC"/policies/default/*.lua "$PD/" || { fail "copying the default set"; finish; }
ND=$(ls "$PD"/*.lua | wc -l)	# policies in the default set
D0=$(digest_of "$PD")
check "policy check DIR prints a digest for the default set's copy ($D0)" test -n "$D0"

check "$C1: runc container started" start_runc "$C1"
runc state "$C1" >/dev/null 2>&1 || { fail "$C1 is not running; cannot go on"; finish; }
INIT=$(runc state "$C1" | jq -r .pid)

# ---- 1. the default set ----------------------------------------------------

EV=$S/events.jsonl ERR=$S/watch.err
start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C1" --policy "$PD" --output "$EV"
if wait_until 20 grep -q "watching container $C1 " "$ERR"; then
	pass "watch --container --policy: 'watching container $C1' notice"
else
	fail "watch: no 'watching container' notice within 20 s: $(head -c 600 "$ERR")"
	finish
fi
expect_eq "the 'policies loaded' notice names the $ND policies and the digest of 'policy check DIR'" \
    "$ND $D0" "$(sed -n 's/^.* upperwatch: policies loaded: \([0-9]*\) policies, set \([0-9a-f]*\)$/\1 \2/p' "$ERR" | head -n 1)"

# The start-up scan: /tmp/started, written by the container's init.
if wait_until 5 has_event "$EV" 0 added /tmp/started; then
	expect_verdict "start-up scan: added /tmp/started" "$(ev_line "$EV" 0 added /tmp/started)" \
	    low log "" "$D0" container-drift
else
	fail "start-up scan: no 'added /tmp/started' within 5 s: $(head -c 300 "$EV")"
fi

act "drop an executable" "$EV" 'cp /bin/busybox /usr/local/bin/x' added /usr/local/bin/x
check "drop an executable: output verdict high or above ($(vq "$LINE" .verdict.severity))" sev_at_least "$LINE" high
expect_verdict "drop an executable: output" "$LINE" high alert "" "$D0" executables
journaled "drop an executable" "$S/db"
check "drop an executable: journal verdict high or above ($(vq "$JLINE" .verdict.severity))" sev_at_least "$JLINE" high
expect_eq "drop an executable: journal .verdict.policy_set" "$D0" "$(vq "$JLINE" .verdict.policy_set)"

act "edit /etc/hostname" "$EV" 'echo changed-host > /etc/hostname' modified /etc/hostname
expect_verdict "edit /etc/hostname: output" "$LINE" info log "" "$D0" container-drift
journaled "edit /etc/hostname" "$S/db"
expect_eq "edit /etc/hostname: journal severity, action and set" "info log $D0" \
    "$(vq "$JLINE" '"\(.verdict.severity) \(.verdict.action) \(.verdict.policy_set)"')"
untouched "after the default set's verdicts"

# ---- 2. hot reload -----------------------------------------------------------

# A syntax error on line 5 of drift.lua; the file is replaced by a rename,
# as an editor or a config manager does.
cp "$PD/drift.lua" "$S/drift.lua.orig"
{ head -n 4 "$S/drift.lua.orig"; echo 'local broken = = 1'; tail -n +5 "$S/drift.lua.orig"; } >"$S/drift.lua.broken"
cp "$S/drift.lua.broken" "$PD/.drift.tmp" && mv "$PD/.drift.tmp" "$PD/drift.lua"
out=$(timeout 60 "$UPPERWATCH" policy check "$PD" 2>&1)
rc=$?
if [ $rc = 2 ] && [[ $out == *"$PD/drift.lua:5:"* ]]; then
	pass "policy check DIR on the broken set: exit 2, names $PD/drift.lua:5"
else
	fail "policy check DIR on the broken set: expected exit 2 naming drift.lua:5, got $rc: $out"
fi

NERR=$(wc -l <"$ERR")
kill -HUP "$W"
if wait_until 5 sh -c "tail -n +$((NERR + 1)) '$ERR' | grep -q 'policy reload failed'"; then
	msg=$(lines "$ERR" "$NERR" | grep 'policy reload failed' | head -n 1)
	case $msg in
	*"the previous set stays"*"$PD/drift.lua:5:"*)
		pass "SIGHUP, broken set: reported with file:line, the previous set stays: ${msg#* upperwatch: }" ;;
	*) fail "SIGHUP, broken set: the notice lacks 'the previous set stays' or $PD/drift.lua:5: [$msg]" ;;
	esac
else
	fail "SIGHUP, broken set: no 'policy reload failed' notice within 5 s: $(lines "$ERR" "$NERR" | head -c 400)"
fi
expect_eq "SIGHUP, broken set: no 'policies reloaded' notice" "" "$(lines "$ERR" "$NERR" | grep 'policies reloaded')"
check "SIGHUP, broken set: the daemon still runs" alive "$W"

act "after the failed reload: a new file" "$EV" 'echo b > /root/after-broken' added /root/after-broken
expect_verdict "after the failed reload: a new file, judged by the old set" "$LINE" \
    low log "" "$D0" container-drift
act "after the failed reload: another executable" "$EV" 'cp /bin/busybox /usr/local/bin/y' added /usr/local/bin/y
expect_verdict "after the failed reload: another executable, judged by the old set" "$LINE" \
    high alert "" "$D0" executables

# Fixed: drift.lua back as it was, and a new policy making /etc/motd
# critical.
cp "$S/drift.lua.orig" "$PD/.drift.tmp" && mv "$PD/.drift.tmp" "$PD/drift.lua"
cat >"$PD/.motd.tmp" <<'LUA'
-- uwt-pol test policy: any change to /etc/motd is critical.
local uw = require("upperwatch")

return {
	name = "uwt-motd",
	description = "The message of the day is not to be touched.",
	match = { paths = { "/etc/motd" } },
	evaluate = function(ev)
		return uw.verdict("critical", "alert", "motd " .. ev.op,
			{ tags = { "uwt-pol" } })
	end,
}
LUA
mv "$PD/.motd.tmp" "$PD/motd.lua"
D1=$(digest_of "$PD")
check "policy check DIR on the fixed set prints a digest ($D1)" test -n "$D1"
check "the fixed set's digest differs from the old one" test "$D1" != "$D0"

NERR=$(wc -l <"$ERR")
kill -HUP "$W"
if wait_until 5 sh -c "tail -n +$((NERR + 1)) '$ERR' | grep -q 'policies reloaded'"; then
	expect_eq "SIGHUP, fixed set: 'policies reloaded' with $((ND + 1)) policies and the new digest" "$((ND + 1)) $D1" \
	    "$(lines "$ERR" "$NERR" | sed -n 's/^.* upperwatch: policies reloaded: \([0-9]*\) policies, set \([0-9a-f]*\)$/\1 \2/p' | head -n 1)"
else
	fail "SIGHUP, fixed set: no 'policies reloaded' notice within 5 s: $(lines "$ERR" "$NERR" | head -c 400)"
fi
expect_eq "SIGHUP, fixed set: no failure notice" "" "$(lines "$ERR" "$NERR" | grep 'reload failed')"

act "after the reload: append to /etc/motd" "$EV" 'echo pwned >> /etc/motd' modified /etc/motd
expect_verdict "after the reload: /etc/motd, judged by the new set" "$LINE" critical alert "" "$D1" uwt-motd
journaled "after the reload: /etc/motd" "$S/db"
expect_eq "after the reload: /etc/motd journaled critical with the new digest" "critical $D1" \
    "$(vq "$JLINE" '"\(.verdict.severity) \(.verdict.policy_set)"')"
act "after the reload: a new file" "$EV" 'echo c > /root/after-fix' added /root/after-fix
expect_verdict "after the reload: a new file, judged by the new set" "$LINE" low log "" "$D1" container-drift

settled "$EV"
# Digest of each line in order: the old set's, then the new set's.
expect_eq "every event has a verdict" "$(wc -l <"$EV")" "$(jq -c 'select(.verdict.policy_set != null)' "$EV" | wc -l)"
expect_eq "the digests in output order: old set, then new set" "$D0 $D1" \
    "$(jq -r .verdict.policy_set "$EV" | uniq | tr '\n' ' ' | sed 's/ $//')"
no_response "default set" "$EV" "$ERR" "$S/db"
untouched "after the reloads"
check "watch process still running" alive "$W"
stop_bg "$W"
expect_eq "SIGTERM: watch exits 0" 0 "$BG_STATUS"
if journal_same "$S/db" "$EV"; then
	pass "events --json --container $C1 == the output, verdicts included ($(wc -l <"$EV") lines)"
else
	fail "the journal differs from the output: $(diff <(jq -c '[.id, .path, .verdict.severity, .verdict.policy_set]' "$EV") \
	    <(jq -c '[.id, .path, .verdict.severity, .verdict.policy_set]' "$S/journal") | head -n 10 | tr '\n' ';')"
fi

# ---- 3. capped actions: lockdown.lua under --max-action alert, --dry-run -----

DL=$(digest_of "$LOCK")
check "policy check lockdown.lua prints a digest ($DL)" test -n "$DL"

# capped_run NAME DB OUT ERR CAP-ACTION EXE-PATH FILE-PATH ARGS...: a short
# daemon run over lockdown.lua with ARGS; the start-up scan and two live
# events (a new executable: critical, wanted kill; a new file outside the
# scratch dirs: high, wanted pause) all capped to CAP-ACTION.
capped_run() {
	local name=$1 db=$2 out=$3 err=$4 cap=$5 exe=$6 file=$7 w line
	shift 7
	start_upperwatch w "$out" "$err" --db "$db" watch --container "$C1" --policy "$LOCK" --output "$out" "$@"
	if ! wait_until 20 grep -q "watching container $C1 " "$err"; then
		fail "$name: no 'watching container' notice within 20 s: $(head -c 600 "$err")"
		stop_bg "$w"
		return
	fi
	expect_eq "$name: 'policies loaded' names lockdown's digest" "1 $DL" \
	    "$(sed -n 's/^.* upperwatch: policies loaded: \([0-9]*\) policies, set \([0-9a-f]*\)$/\1 \2/p' "$err" | head -n 1)"
	# the start-up scan: everything c1 changed so far
	if wait_until 5 has_event "$out" 0 added /root/after-fix; then
		expect_verdict "$name, start-up scan: /usr/local/bin/x" "$(ev_line "$out" 0 added /usr/local/bin/x)" \
		    critical "$cap" kill "$DL" lockdown
		expect_verdict "$name, start-up scan: /etc/hostname" "$(ev_line "$out" 0 modified /etc/hostname)" \
		    high "$cap" pause "$DL" lockdown
		expect_verdict "$name, start-up scan: /tmp/started (scratch: no opinion)" \
		    "$(ev_line "$out" 0 added /tmp/started)" info log "" "$DL"
	else
		fail "$name: the start-up scan did not report /root/after-fix within 5 s: $(head -c 300 "$out")"
	fi
	act "$name: a new executable" "$out" "cp /bin/busybox $exe" added "$exe"
	expect_verdict "$name: a new executable" "$LINE" critical "$cap" kill "$DL" lockdown
	check "$name: the JSON has \"action\":\"$cap\",\"wanted\":\"kill\"" \
	    grep -qF "\"action\":\"$cap\",\"wanted\":\"kill\"" <<<"$LINE"
	act "$name: a file outside the scratch dirs" "$out" "echo l > $file" added "$file"
	expect_verdict "$name: a file outside the scratch dirs" "$LINE" high "$cap" pause "$DL" lockdown
	check "$name: the JSON has \"action\":\"$cap\",\"wanted\":\"pause\"" \
	    grep -qF "\"action\":\"$cap\",\"wanted\":\"pause\"" <<<"$LINE"
	journaled "$name: a file outside the scratch dirs" "$db"
	settled "$out"
	no_response "$name" "$out" "$err" "$db"
	capped_notice "$name" "$err" kill "$exe" "$cap"
	capped_notice "$name" "$err" pause "$file" "$cap"
	expect_eq "$name: every action is $cap or less" "" \
	    "$(jq -r --arg cap "$cap" 'select(.verdict.action != "log" and .verdict.action != $cap) | "\(.path) \(.verdict.action)"' "$out" | head -n 5 | tr '\n' ';')"
	untouched "$name"
	check "$name: watch process still running" alive "$w"
	stop_bg "$w"
	expect_eq "$name: SIGTERM, exit 0" 0 "$BG_STATUS"
	if journal_same "$db" "$out"; then
		pass "$name: events --json == the output"
	else
		fail "$name: the journal differs from the output"
	fi
}

capped_run "--max-action alert" "$S/db2" "$S/alert.jsonl" "$S/alert.err" alert \
    /usr/local/bin/z /etc/locked --max-action alert
capped_run "--dry-run" "$S/db3" "$S/dry.jsonl" "$S/dry.err" log \
    /usr/local/bin/w /etc/dry --dry-run

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
