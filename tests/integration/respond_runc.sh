#!/bin/bash
# respond_runc: `upperwatch watch --policy` must carry out pause and kill
# verdicts on a real runc container (evidence first), journal them, let
# `upperwatch resume` undo its pause, and do nothing to the container when
# the operator capped the verdicts.
#
# Containers (all named uwt-resp-<pid>-*; cgroups under /<that prefix>):
#   c1  runc on an overlay this test mounts (one busybox layer holding the
#       payloads /opt/p/*: executables of random bytes, mode 755).  The
#       init (a `sleep`) has a `sleep` child: two pids that never change.
#       - `watch --container c1 --policy pause-exec`: `runc exec` copies a
#         payload to /root (a new executable).  Within 1 s of the write
#         (the file's mtime in the upper dir) the v1 freezer says FROZEN
#         and `runc state` says paused; the "paused (runc)" notice; the
#         evidence (<dir of DB>/evidence/<event id>/file) has the payload's
#         bytes, its metadata.json names the event; the journal row is
#         pause/runc/done with that event and evidence.
#       - `upperwatch resume c1`: exit 0, runc state running, freezer
#         THAWED; journal: pause done then resume done.  A second resume:
#         exit 1 (nothing of ours to undo).
#       - the same daemon, a second executable after the resume: paused
#         again (the operator's resume must not disarm the daemon).
#       - a new daemon with a kill policy on c1: a third executable.  No
#         pid of the container remains (cgroup.procs of its v2 and v1 dirs
#         empty or gone, the pids gone), the foreground `runc run` exits,
#         `runc list` no longer shows it; notice "killed (cgroup.kill)";
#         journal kill/cgroup.kill/done with its evidence.
#   c2  fresh, same layer: `--dry-run` with the pause policy, then
#       `--max-action alert` with the kill policy, an executable each:
#       the event is reported, the container stays running, unfrozen,
#       every pid alive and `runc exec` works; the journal has a
#       'skipped' row saying "capped at log" / "capped at alert"; no
#       evidence is taken.
#
# Needs root, runc, a static busybox, jq, sqlite3, hybrid cgroups (a v1
# freezer hierarchy).  UWT_KEEP=DIR keeps a copy of the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq sqlite3 timeout findmnt
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"
[ -n "$(findmnt -rn -t cgroup -O freezer -o TARGET | head -n 1)" ] ||
    skip "needs a v1 freezer hierarchy (hybrid cgroups)"

umask 022
export LC_ALL=C
P=uwt-resp-$$
C1=$P-c1 C2=$P-c2
RS=$(realpath "$S")
L1=$RS/layers/1
DB=$RS/db
EV=$S/events.jsonl ERR=$S/watch.err
POL_PAUSE=$S/pol-pause POL_KILL=$S/pol-kill
LIMIT=1.0	# seconds from the write to the container frozen

# Our cgroup dirs (runc leaves none behind when it deletes cleanly).
cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- helpers ---------------------------------------------------------------

# start_runc CID: a container on the layer (run_container) whose init
# has a child; waits until the init has run.  Sets RUNC_PID, V1 and V2
# (the container's cgroup dirs).
start_runc() {
	local cid=$1
	run_container "$RS/$cid" "$cid" "$L1" "/$P/$cid" \
		"sleep 100000 & echo up > /tmp/started; exec sleep 100000" &&
		wait_until 10 test -s "$RS/$cid/upper/tmp/started" || return 1
	V1=$(jq -r '.cgroup_paths.freezer // empty' "/run/runc/$cid/state.json")
	V2=$(jq -r '.cgroup_paths[""] // empty' "/run/runc/$cid/state.json")
	[ -d "$V1" ] && [ -d "$V2" ] || { echo "# $cid: cgroup dirs [$V1] [$V2]" >&2; return 1; }
}

# start_watch ARGS...: start `upperwatch --db $DB watch ARGS` in the
# background (events to $EV, notices to $ERR); its pid in W.  Waits for
# its "watching container" notice.
start_watch() {
	local n
	n=$(grep -c 'watching container' "$ERR" 2>/dev/null)
	"$UPPERWATCH" --db "$DB" watch --output "$EV" "$@" 2>>"$ERR" &
	W=$!
	cleanup_push "stop_bg $W"
	wait_until 20 more_than "${n:-0}" 'watching container' "$ERR"
}

more_than() { [ "$(grep -c -e "$2" "$3" 2>/dev/null)" -gt "$1" ]; }
state_of() { runc state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }
frozen() { [ "$(cat "$1/freezer.state" 2>/dev/null)" = FROZEN ]; }
thawed() { [ "$(cat "$1/freezer.state" 2>/dev/null)" = THAWED ]; }
paused_both() { frozen "$2" && [ "$(state_of "$1")" = paused ]; }
running() { [ "$(state_of "$1")" = running ]; }
procs_gone() { [ -z "$(cat "$1/cgroup.procs" 2>/dev/null)" ]; }	# empty, or the dir is gone
event_of() { jq -c --arg p "$1" 'select(.path == $p)' "$EV" 2>/dev/null | tail -n 1; }
has_event() { [ -n "$(event_of "$1")" ]; }

# drop CID PAYLOAD DEST: `runc exec CID cp /opt/p/PAYLOAD DEST` in the
# background (a container being frozen must not hang the test); XPID.
drop() {
	timeout -k 2 20 runc exec "$1" cp "/opt/p/$2" "$3" </dev/null >"$S/exec.out" 2>&1 &
	XPID=$!
}
drop_done() {
	wait "$XPID"
	local rc=$?
	[ $rc = 0 ] || echo "# runc exec: exit $rc: $(head -c 300 "$S/exec.out")" >&2
	return $rc
}

# responses EVENT_ID: "action|method|outcome|detail|evidence" of the
# journal rows for that event.
responses() {
	sql "$DB" "SELECT action, ifnull(method, ''), outcome, ifnull(detail, ''), ifnull(evidence, '')
	    FROM responses WHERE event_id = $1 ORDER BY id"
}
has_response() { [ -n "$(responses "$1")" ]; }

# expect_frozen_in CID V1 UPPER DEST: poll (10 ms) until CID is frozen and
# paused; pass when that was within $LIMIT s of DEST's write (its mtime
# in the upper dir).
expect_frozen_in() {
	local cid=$1 v1=$2 f=$3$4 dt tw
	if poll_until 0.01 5 frozen "$v1"; then
		local tf=$EPOCHREALTIME
		wait_until 2 paused_both "$cid" "$v1"
		tw=$(stat -c %.9Y "$f" 2>/dev/null)
		if [ -z "$tw" ]; then
			fail "$cid: frozen, but $4 is not in the upper dir"
			return
		fi
		dt=$(elapsed "$tw" "$tf")
		if awk -v d="$dt" -v l="$LIMIT" 'BEGIN { exit !(d <= l) }'; then
			pass "$cid: frozen ${dt} s after the write of $4"
		else
			fail "$cid: frozen, but only ${dt} s after the write of $4 (> $LIMIT s)"
		fi
		expect_eq "$cid: freezer.state FROZEN and runc state paused" "FROZEN paused" \
		    "$(cat "$v1/freezer.state") $(state_of "$cid")"
	else
		fail "$cid: not frozen within 5 s of dropping $4: freezer $(cat "$v1/freezer.state" 2>/dev/null), runc $(state_of "$cid"); notices: $(tail -n 3 "$ERR" | tr '\n' ';')"
	fi
}

# check_evidence WHAT EVENT_ID DEST PAYLOAD UPPER: the evidence of that
# event is the payload's bytes, with its metadata.
check_evidence() {
	local what=$1 id=$2 dest=$3 src=$L1/opt/p/$4 up=$5$3 dir=$RS/evidence/$2
	if cmp -s "$src" "$dir/file"; then
		pass "$what: evidence $dir/file has the dropped file's bytes"
	else
		fail "$what: evidence $dir/file differs from the dropped file ($(stat -c %s "$dir/file" 2>&1) vs $(stat -c %s "$src") bytes)"
	fi
	if [ -e "$up" ]; then
		check "$what: evidence == the upper dir's copy" cmp -s "$up" "$dir/file"
	fi
	expect_eq "$what: metadata.json: copied, not truncated, the event" \
	    "$(stat -c %s "$src") false $id $dest" \
	    "$(jq -r '"\(.copied) \(.truncated) \(.event.id) \(.event.path)"' "$dir/metadata.json" 2>&1)"
}

# ---- the image layer and the policies ---------------------------------------

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,opt/p}
(
	set -e
	busybox_layer "$L1" sh ls cat echo sleep touch rm mkdir mv chmod ln head cp true
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	for n in 1 2 3 4 5; do
		{ printf '#!/bin/sh\n# %s payload %s\n' "$P" "$n"; head -c 4000 /dev/urandom; } >"$L1/opt/p/x$n"
		chmod 755 "$L1/opt/p/x$n"
	done
) || fail "building the layer failed"

mkdir -p "$POL_PAUSE" "$POL_KILL"
cat >"$POL_PAUSE/pause.lua" <<'EOF'
local uw = require("upperwatch")
return { name = "pause-exec", description = "pause on a new executable",
  evaluate = function(ev)
    if ev.op == "added" and ev.current and uw.executable(ev.current.mode) then
      return uw.verdict("critical", "pause", "new executable")
    end
  end }
EOF
sed -e 's/pause-exec/kill-exec/' -e 's/"pause", "new/"kill", "new/' -e 's/pause on/kill on/' \
    "$POL_PAUSE/pause.lua" >"$POL_KILL/kill.lua"

# ---- c1: pause, evidence, resume ----------------------------------------------

if ! start_runc "$C1"; then
	fail "$C1: runc container did not start"
	finish
fi
pass "$C1: runc container started"
C1_V1=$V1 C1_V2=$V2 C1_RUNC=$RUNC_PID
U1=$RS/$C1/upper

if start_watch --container "$C1" --policy "$POL_PAUSE"; then
	pass "watch --container $C1 --policy pause: watching"
else
	fail "watch --container $C1: no 'watching container' notice within 20 s: $(head -c 600 "$ERR")"
	finish
fi
wait_until 5 has_event /tmp/started || fail "the start-up scan did not report /tmp/started"

drop "$C1" x1 /root/drop1
expect_frozen_in "$C1" "$C1_V1" "$U1" /root/drop1
drop_done || fail "$C1: runc exec cp failed"
wait_until 5 has_event /root/drop1 || fail "no event for /root/drop1"
E1=$(event_of /root/drop1 | jq -r .id)
expect_eq "the event: added, executable, verdict critical/pause by pause-exec" \
    "added 493 critical pause pause-exec" \
    "$(event_of /root/drop1 | jq -r '"\(.op) \(.current.mode) \(.verdict.severity) \(.verdict.action) \(.verdict.reasons[0].policy)"')"
if wait_until 5 grep -q "upperwatch: container $C1 paused (runc) [0-9.]* ms after detecting added /root/drop1\$" "$ERR"; then
	pass "notice: 'container $C1 paused (runc) N ms after detecting added /root/drop1'"
else
	fail "no 'paused (runc)' notice: $(tail -n 3 "$ERR" | tr '\n' ';')"
fi
wait_until 5 has_response "$E1"
expect_eq "journal: pause done through runc, with the evidence" \
    "pause|runc|done||$RS/evidence/$E1/file" "$(responses "$E1")"
check "journal: the pause's latency_ns is > 0 and < 1 s" test \
    "$(sql "$DB" "SELECT latency_ns > 0 AND latency_ns < 1000000000 FROM responses WHERE event_id = $E1")" = 1
check_evidence "pause" "$E1" /root/drop1 x1 "$U1"
# runc refuses exec into a paused container: it really is stopped
if timeout -k 2 10 runc exec "$C1" true >/dev/null 2>&1; then
	fail "$C1: runc exec worked while it is paused"
else
	pass "$C1: runc exec refused while paused"
fi

# resume
before=$(sql "$DB" "SELECT max(id) FROM responses")
out=$(timeout -k 2 30 "$UPPERWATCH" --db "$DB" resume "$C1" 2>&1)
expect_eq "upperwatch resume $C1: exit 0" 0 "$?"
expect_eq "upperwatch resume: says so" "resumed $C1" "$out"
wait_until 5 running "$C1"
expect_eq "after resume: runc state running, freezer THAWED" "running THAWED" \
    "$(state_of "$C1") $(cat "$C1_V1/freezer.state")"
check "after resume: runc exec works again" timeout -k 2 10 runc exec "$C1" true
expect_eq "journal: pause done, then resume done (runc)" "pause|runc|done;resume|runc|done;" \
    "$(sql "$DB" "SELECT action, method, outcome FROM responses WHERE container = '$C1' AND id >= (SELECT id FROM responses WHERE event_id = $E1) ORDER BY id" | tr '\n' ';')"
expect_eq "journal: one row added by resume" $((before + 1)) "$(sql "$DB" "SELECT max(id) FROM responses")"
timeout -k 2 30 "$UPPERWATCH" --db "$DB" resume "$C1" >/dev/null 2>"$S/resume2.err"
expect_eq "a second resume: exit 1 (upperwatch did not pause it)" 1 "$?"

# The same daemon, a new executable after the operator's resume.
drop "$C1" x2 /root/drop2
expect_frozen_in "$C1" "$C1_V1" "$U1" /root/drop2
drop_done || fail "$C1: runc exec cp failed"
if wait_until 5 has_event /root/drop2; then
	E2=$(event_of /root/drop2 | jq -r .id)
	wait_until 5 has_response "$E2"
	expect_eq "after a resume, a new executable: journal pause done again" \
	    "pause|runc|done||$RS/evidence/$E2/file" "$(responses "$E2")"
else
	fail "no event for /root/drop2"
fi
# whatever happened: running again for the next part
if frozen "$C1_V1"; then
	timeout -k 2 30 "$UPPERWATCH" --db "$DB" resume "$C1" >/dev/null 2>&1 ||
	    fail "second upperwatch resume failed"
fi
wait_until 5 running "$C1" || fail "$C1: not running before the kill part"
check "pause daemon still running" kill -0 "$W"
stop_bg "$W"
expect_eq "pause daemon: SIGTERM, exit 0" 0 "$BG_STATUS"

# ---- c1: kill ------------------------------------------------------------------

if start_watch --container "$C1" --policy "$POL_KILL"; then
	pass "watch --container $C1 --policy kill: watching"
else
	fail "kill daemon: no 'watching container' notice: $(tail -n 3 "$ERR")"
fi
sleep 0.5	# the start-up scan (nothing new: it is all in the journal)
cat "$C1_V2/cgroup.procs" >"$S/c1.pids"
echo "# $C1 has $(wc -l <"$S/c1.pids") pids before the kill"
check "$C1: more than one pid before the kill" test "$(wc -l <"$S/c1.pids")" -ge 2
drop "$C1" x3 /root/drop3
t0=$EPOCHREALTIME
if poll_until 0.01 5 procs_gone "$C1_V2"; then
	pass "$C1: v2 cgroup.procs empty or gone $(elapsed "$t0") s after the drop began"
else
	fail "$C1: pids remain in $C1_V2 5 s after the drop: $(tr '\n' ' ' <"$C1_V2/cgroup.procs")"
fi
wait_until 5 procs_gone "$C1_V1"
check "$C1: v1 freezer cgroup.procs empty or gone" procs_gone "$C1_V1"
left=
while read -r p; do
	grep -qs ":/$P/$C1\$" "/proc/$p/cgroup" && left="$left $p"
done <"$S/c1.pids"
expect_eq "$C1: none of its pids is left" "" "$left"
wait "$XPID" 2>/dev/null	# the exec died with the container
wait_until 10 sh -c "! kill -0 $C1_RUNC 2>/dev/null" || fail "$C1: runc run still there after the kill"
wait "$C1_RUNC" 2>/dev/null
echo "# runc run $C1 exited $?"
wait_until 5 sh -c "! runc list 2>/dev/null | grep -q '^$C1 .* running '"
check "runc list no longer shows $C1 running" sh -c "! runc list 2>/dev/null | grep -q '^$C1 .* running '"
if wait_until 5 has_event /root/drop3; then
	E3=$(event_of /root/drop3 | jq -r .id)
	wait_until 5 has_response "$E3"
	expect_eq "journal: kill done with cgroup.kill, with the evidence" \
	    "kill|cgroup.kill|done||$RS/evidence/$E3/file" "$(responses "$E3")"
	check_evidence "kill" "$E3" /root/drop3 x3 "$U1"
else
	fail "no event for /root/drop3"
fi
if wait_until 5 grep -q "upperwatch: container $C1 killed (cgroup.kill) [0-9.]* ms after detecting added /root/drop3\$" "$ERR"; then
	pass "notice: 'container $C1 killed (cgroup.kill) N ms after detecting added /root/drop3'"
else
	fail "no 'killed (cgroup.kill)' notice: $(tail -n 3 "$ERR" | tr '\n' ';')"
fi
timeout -k 2 30 "$UPPERWATCH" --db "$DB" resume "$C1" >/dev/null 2>&1
rc=$?
check "resume of the killed container: not 0 (exit $rc)" test "$rc" != 0
stop_bg "$W"
expect_eq "kill daemon: SIGTERM, exit 0" 0 "$BG_STATUS"

# ---- c2: capped ----------------------------------------------------------------

if ! start_runc "$C2"; then
	fail "$C2: runc container did not start"
	finish
fi
C2_V1=$V1 C2_V2=$V2
sort "$C2_V2/cgroup.procs" >"$S/c2.pids"

# capped CAPDESC WANT PAYLOAD DEST ARGS...: a daemon with ARGS; an
# executable; nothing done to c2; a skipped row saying why.
capped() {
	local what=$1 want=$2 payload=$3 dest=$4 id never=1 i
	shift 4
	if ! start_watch --container "$C2" "$@"; then
		fail "$what: no 'watching container' notice"
		return
	fi
	drop "$C2" "$payload" "$dest"
	drop_done || fail "$what: runc exec cp failed"
	# watch the freezer for 1.5 s: never FROZEN
	for ((i = 0; i < 30; i++)); do
		frozen "$C2_V1" && never=0
		sleep 0.05
	done
	expect_eq "$what: never frozen, still running" "1 running THAWED" \
	    "$never $(state_of "$C2") $(cat "$C2_V1/freezer.state")"
	expect_eq "$what: every pid alive" "$(cat "$S/c2.pids")" "$(sort "$C2_V2/cgroup.procs")"
	check "$what: runc exec works" timeout -k 2 10 runc exec "$C2" true
	if wait_until 5 has_event "$dest"; then
		id=$(event_of "$dest" | jq -r .id)
		wait_until 5 has_response "$id"
		expect_eq "$what: journal row skipped, saying why" "$want" \
		    "$(responses "$id" | cut -d'|' -f1-4)"
		check "$what: no evidence taken" test ! -e "$RS/evidence/$id"
		expect_eq "$what: the event's reason still asks for ${want%%|*}" "${want%%|*}" \
		    "$(event_of "$dest" | jq -r '.verdict.reasons[0].action')"
	else
		fail "$what: no event for $dest: $(tail -n 3 "$ERR" | tr '\n' ';')"
	fi
	grep -q "container $C2: .* on $dest not done: capped" "$ERR" ||
	    fail "$what: no 'not done: capped' notice"
	stop_bg "$W"
	expect_eq "$what: SIGTERM, exit 0" 0 "$BG_STATUS"
}
capped "--dry-run, pause policy" \
    "pause||skipped|capped at log by the operator (--max-action or --dry-run)" \
    x4 /root/drop4 --policy "$POL_PAUSE" --dry-run
capped "--max-action alert, kill policy" \
    "kill||skipped|capped at alert by the operator (--max-action or --dry-run)" \
    x5 /root/drop5 --policy "$POL_KILL" --max-action alert
expect_eq "$C2: no responses journaled but the two skipped ones" "pause|skipped;kill|skipped;" \
    "$(sql "$DB" "SELECT action, outcome FROM responses WHERE container = '$C2' ORDER BY id" | tr '\n' ';')"

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
