#!/bin/bash
# evasion_policy: hostile policies inside the daemon, on a real runc
# container.  A policy that sorts first must not change what the others
# see, nor kill the daemon with what it returns, nor on a reload.
#
# One runc container (uwt-evpol-<pid>-c1, one busybox layer with
# /etc/shadow, /etc/passwd and /root; its cgroups under /uwt-evpol-<pid>)
# watched by one daemon (`watch --container c1 --db $S/db --policy PD`),
# PD a copy of the shipped default set changed between phases, each
# change followed by SIGHUP:
#
#  0. Control: the default set alone.  /etc/shadow written through the
#     merged view (runc exec) is critical/alert from sensitive-files
#     ("password hashes modified"); a file under /root is low/log.
#  a. 00-tamper.lua added: it sorts first, logs that it ran, and writes
#     the path of the table pairs(ev) hands it (which used to be the
#     event behind the read-only view: sensitive-files then gave no
#     verdict).  /etc/shadow written again: the event still carries
#     sensitive-files' verdict exactly as in 0, container-drift's is
#     unchanged, and the tamper policy ran (its log line) and failed
#     read-only (medium/alert naming it).
#  b. 00-tamper.lua swapped for 00-return-os.lua (evaluate returns os,
#     whose every field raises: reading it as a verdict made Lua panic
#     and the daemon abort).  A file under /root: the daemon lives, the
#     event has "malformed verdict" from return-os and container-drift's
#     low/log as in 0; a second file is judged too.
#  c. 00-return-os.lua swapped for 00-match-os.lua (match = os: read at
#     load, that was a panic on SIGHUP).  The reload fails in one line
#     naming the file and "match must be a table", the daemon lives, and
#     the next event is judged by the set of b (its digest, its
#     malformed-verdict reason).
#
# After every phase the daemon must run, and its stderr must never say
# "fatal" or "panic".  SIGTERM at the end: exit 0.
#
# Needs root, runc, a static busybox, jq.  UWT_KEEP=DIR keeps a copy of
# the scratch dir for a post-mortem.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq timeout
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -f "$SRC/policies/default/sensitive-files.lua" ] ||
	skip "no policies/default under $SRC"

umask 022
export LC_ALL=C
P=uwt-evpol-$$
C1=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
PD=$RS/$P-policies

# Our cgroup dirs (runc leaves none behind when it deletes cleanly).
cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- helpers ---------------------------------------------------------------

# xc COMMAND: run COMMAND with sh -c in c1.
xc() { runc_sh "$C1" "$1"; }

# ev_line FROM OP PATH: the last JSON line of the output after line FROM
# for OP PATH in c1 (empty if none).
ev_line() {
	tail -n +"$(($1 + 1))" "$EV" | jq -c --arg op "$2" --arg p "$3" --arg id "$C1" \
	    'select(.op == $op and .path == $p and .container.id == $id)' 2>/dev/null | tail -n 1
}
has_event() { [ -n "$(ev_line "$@")" ]; }

# act DESC COMMAND OP PATH: run COMMAND in c1 and wait up to 5 s for OP
# PATH in the output; LINE gets its JSON line ("" if it never came).
act() {
	local from
	LINE=
	from=$(wc -l <"$EV")
	xc "$2" || fail "$1: runc exec failed"
	if wait_until 5 has_event "$from" "$3" "$4"; then
		LINE=$(ev_line "$from" "$3" "$4")
		pass "$1: $3 $4 reported"
	else
		fail "$1: no '$3 $4' event within 5 s"
	fi
}

# reason LINE POLICY: "severity/action failed reason" of POLICY's reason
# in LINE's verdict (empty if it gave none).
reason() {
	jq -r --arg p "$2" '.verdict.reasons[]? | select(.policy == $p) |
	    "\(.severity)/\(.action) \(.failed // false) \(.reason)"' <<<"$1" 2>/dev/null
}

vq() { jq -r "$2" <<<"$1" 2>/dev/null; }

# reload DESC OK-PATTERN: SIGHUP the daemon; wait for a stderr line
# matching OK-PATTERN (grep -E) after what it had; NEWERR gets the lines
# the reload added.
reload() {
	local n
	n=$(wc -l <"$ERR")
	kill -HUP "$W"
	if wait_until 5 sh -c "tail -n +$((n + 1)) '$ERR' | grep -qE '$2'"; then
		pass "$1: '$2' after SIGHUP"
	else
		fail "$1: no '$2' within 5 s of SIGHUP: $(tail -n +$((n + 1)) "$ERR" | head -c 400)"
	fi
	NEWERR=$(tail -n +$((n + 1)) "$ERR")
}

# survived DESC: the daemon still runs, and never said fatal or panic.
survived() {
	check "$1: the daemon still runs" alive "$W"
	expect_eq "$1: no fatal error or panic on stderr" "" \
	    "$(grep -iE 'fatal|panic' "$ERR" | head -n 3)"
}

# digest_of DIR: the set digest `policy check` prints for DIR.
digest_of() {
	timeout 60 "$UPPERWATCH" policy check "$1" 2>/dev/null |
	    sed -n 's/^[0-9]* policies loaded, set \([0-9a-f]*\);.*/\1/p'
}

# ---- the image layer, the policies, the container --------------------------

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root}
(
	set -e
	busybox_layer "$L1" sh cat echo sleep
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	echo 'root:*:19000:0:99999:7:::' >"$L1/etc/shadow"
	chmod 0640 "$L1/etc/shadow"
) || fail "building the layer failed"

mkdir -p "$PD" "$RS/hostile"
cp "$SRC"/policies/default/*.lua "$PD/" || { fail "copying the default set"; finish; }
ND=$(ls "$PD"/*.lua | wc -l)	# policies in the default set
cat >"$RS/hostile/00-tamper.lua" <<'LUA'
-- Sorts first; writes what pairs(ev) hands it, so that the policies after
-- it see another path.
local uw = require("upperwatch")
return {
	name = "aa-tamper",
	description = "rewrites the event the others see",
	match = { paths = { "/etc/shadow" } },
	evaluate = function(ev)
		uw.log("aa-tamper ran on %s", ev.path)
		local _, t = pairs(ev)
		t.path = "/tmp/x"
	end,
}
LUA
cat >"$RS/hostile/00-return-os.lua" <<'LUA'
-- Sorts first; returns a table whose every field raises.
return {
	name = "aa-return-os",
	description = "returns os as its verdict",
	evaluate = function(ev)
		return os
	end,
}
LUA
cat >"$RS/hostile/00-match-os.lua" <<'LUA'
-- Sorts first; its match is a table whose every field raises.
return {
	name = "aa-match-os",
	description = "hands os to the loader as its match",
	match = os,
	evaluate = function(ev)
		return nil
	end,
}
LUA

run_container "$RS/$C1" "$C1" "$L1" "/$P/$C1" \
    "echo up > /tmp/started; while true; do sleep 1; done" &&
    wait_until 10 test -s "$RS/$C1/upper/tmp/started"
runc state "$C1" >/dev/null 2>&1 || { fail "$C1 is not running; cannot go on"; finish; }
pass "$C1: runc container started"

EV=$S/events.jsonl ERR=$S/watch.err
start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C1" \
    --policy "$PD" --output "$EV"
if wait_until 20 grep -q "watching container $C1 " "$ERR"; then
	pass "watch --container --policy: 'watching container $C1' notice"
else
	fail "watch: no 'watching container' notice within 20 s: $(head -c 600 "$ERR")"
	finish
fi
wait_until 5 has_event 0 added /tmp/started ||
	fail "start-up scan: no 'added /tmp/started' within 5 s"

# ---- 0. control: the default set alone ---------------------------------------

act "control: write /etc/shadow" 'echo "root:x:19001:0:99999:7:::" > /etc/shadow' \
    modified /etc/shadow
SHADOW0=$(reason "$LINE" sensitive-files)
DRIFT0=$(reason "$LINE" container-drift)
expect_eq "control: sensitive-files on /etc/shadow" \
    "critical/alert false password hashes modified" "$SHADOW0"
expect_eq "control: the verdict on /etc/shadow" "critical alert" \
    "$(vq "$LINE" '"\(.verdict.severity) \(.verdict.action)"')"
act "control: write a file under /root" 'echo a > /root/a' added /root/a
ROOT0=$(reason "$LINE" container-drift)
expect_eq "control: container-drift on /root/a" "low/log false added file" "$ROOT0"
expect_eq "control: no policy failed" "" "$(jq -r 'select(any(.verdict.reasons[]?; .failed))
    | .path' "$EV" | head -n 3)"

# ---- a. a policy that rewrites what pairs(ev) gives it ----------------------

cp "$RS/hostile/00-tamper.lua" "$PD/"
reload "a: tamper policy added" "policies reloaded: $((ND + 1)) policies"
NLOG=$(grep -c 'policy aa-tamper: aa-tamper ran on /etc/shadow' "$ERR")
act "a: write /etc/shadow again" 'echo "root:x:19002:0:99999:7:::" > /etc/shadow' \
    modified /etc/shadow
expect_eq "a: sensitive-files' verdict on /etc/shadow, as in the control" \
    "$SHADOW0" "$(reason "$LINE" sensitive-files)"
expect_eq "a: container-drift's, as in the control" "$DRIFT0" \
    "$(reason "$LINE" container-drift)"
expect_eq "a: the verdict on /etc/shadow is still critical/alert" "critical alert" \
    "$(vq "$LINE" '"\(.verdict.severity) \(.verdict.action)"')"
check "a: the tamper policy ran on the event (its log line)" \
    wait_until 2 sh -c "[ \$(grep -c 'policy aa-tamper: aa-tamper ran on /etc/shadow' '$ERR') -gt $NLOG ]"
case $(reason "$LINE" aa-tamper) in
"medium/alert true policy aa-tamper failed: "*"the event is read-only (field 'path')")
	pass "a: and failed, read-only, medium/alert" ;;
*) fail "a: the tamper policy's reason: [$(reason "$LINE" aa-tamper)]" ;;
esac
expect_eq "a: the event is still /etc/shadow in the output" /etc/shadow "$(vq "$LINE" .path)"
survived "a"

# ---- b. a policy that returns os ---------------------------------------------

rm -f "$PD/00-tamper.lua"
cp "$RS/hostile/00-return-os.lua" "$PD/"
DB=$(digest_of "$PD")
check "b: policy check prints a digest for the return-os set ($DB)" test -n "$DB"
reload "b: return-os policy added" "policies reloaded: $((ND + 1)) policies, set $DB"
act "b: write a file under /root" 'echo b > /root/b' added /root/b
survived "b: after the event"
case $(reason "$LINE" aa-return-os) in
"medium/alert true policy aa-return-os failed: malformed verdict: "*)
	pass "b: return-os gives 'malformed verdict', medium/alert" ;;
*) fail "b: the return-os policy's reason: [$(reason "$LINE" aa-return-os)]" ;;
esac
expect_eq "b: container-drift's reason, as in the control" "$ROOT0" \
    "$(reason "$LINE" container-drift)"
expect_eq "b: the verdict is medium/alert, judged by the new set" "medium alert $DB" \
    "$(vq "$LINE" '"\(.verdict.severity) \(.verdict.action) \(.verdict.policy_set)"')"
act "b: and the next event" 'echo c > /root/c' added /root/c
expect_eq "b: judged as well" "medium alert $DB" \
    "$(vq "$LINE" '"\(.verdict.severity) \(.verdict.action) \(.verdict.policy_set)"')"
survived "b: after the next event"

# ---- c. a reload into a set whose match is os ---------------------------------

rm -f "$PD/00-return-os.lua"
cp "$RS/hostile/00-match-os.lua" "$PD/"
reload "c: match-os policy added" 'policy reload failed'
msg=$(grep 'policy reload failed' <<<"$NEWERR")
case $msg in
*"the previous set stays"*"$PD/00-match-os.lua: match must be a table"*)
	pass "c: the reload failed, naming the file and why: ${msg#* upperwatch: }" ;;
*) fail "c: the reload failure: [$msg]" ;;
esac
expect_eq "c: in one line" 1 "$(grep -c 'policy reload failed' <<<"$NEWERR")"
survived "c: after the reload"
act "c: write a file under /root" 'echo d > /root/d' added /root/d
expect_eq "c: judged by the previous set (return-os)" "medium alert $DB" \
    "$(vq "$LINE" '"\(.verdict.severity) \(.verdict.action) \(.verdict.policy_set)"')"
check "c: with its malformed-verdict reason" \
    grep -q 'malformed verdict' <<<"$(reason "$LINE" aa-return-os)"
survived "c: after the event"

stop_bg "$W"
expect_eq "SIGTERM: watch exits 0" 0 "$BG_STATUS"
[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
