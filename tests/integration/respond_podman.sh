#!/bin/bash
# respond_podman: pause and kill verdicts on a Podman container: carried
# out through podman (so `podman inspect` agrees), with evidence, journaled,
# and a pause undone by `upperwatch resume`.
#
# Container p1 (uwt-resp-<pid>-p1): Podman 4 with runc and cgroupfs (notes
# §8.2), from an image imported from a busybox tarball that holds the
# payloads /opt/p/* (executables of random bytes, mode 755).
#   - `watch --container p1 --policy pause-exec` (excluding the files
#     podman writes at start: /etc/host*, /etc/mtab, /run/**; they are
#     0755 mount targets the sample policy would pause on); `podman exec` copies a
#     payload to /root.  Within 1 s of the write (the file's mtime in the
#     upper dir): v1 freezer FROZEN and `podman inspect` .State.Status
#     "paused"; the "paused (podman)" notice; evidence == the payload;
#     journal pause/podman/done with the event and the evidence.
#   - `upperwatch resume p1` (by name): exit 0, status running, freezer
#     THAWED, `podman exec` works; journal: pause done, resume done.
#   - a new daemon with a kill policy; another executable: no pid left in
#     the container's v2 and v1 cgroups (nor any of its pids alive),
#     status "exited"; notice "killed (cgroup.kill)"; journal
#     kill/cgroup.kill/done with its evidence.
#
# Needs root, podman, runc, a static busybox, jq, sqlite3, hybrid cgroups.
# UWT_KEEP=DIR keeps a copy of the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd podman runc busybox jq sqlite3 timeout findmnt tar
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"
V1ROOT=$(findmnt -rn -t cgroup -O freezer -o TARGET | head -n 1)
V2ROOT=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)
[ -n "$V1ROOT" ] && [ -n "$V2ROOT" ] ||
    skip "needs hybrid cgroups (a v1 freezer and a v2 unified hierarchy)"

umask 022
export LC_ALL=C
P=uwt-resp-$$
PN=$P-p1 IMG=localhost/$P:1
RS=$(realpath "$S")
R=$RS/img-rootfs
DB=$RS/db
EV=$S/events.jsonl ERR=$S/watch.err
POL_PAUSE=$S/pol-pause POL_KILL=$S/pol-kill
LIMIT=1.0	# seconds from the write to the container frozen

# Podman's parent cgroups, only if this test made them (rmdir of a busy
# cgroup fails, so someone else's container is never touched).
for d in /sys/fs/cgroup/*/; do
	[ -d "${d}libpod_parent" ] && continue
	cleanup_push "rmdir '${d}libpod_parent/conmon' '${d}libpod_parent'"
done

# ---- helpers ---------------------------------------------------------------

# start_watch ARGS...: the daemon, with the files podman writes into every
# container at start excluded (README: --exclude '/etc/host*'): its bind
# mount targets are 0755 files in the upper, a "new executable" to the
# sample policy.
start_watch() {
	local n
	n=$(grep -c 'watching container' "$ERR" 2>/dev/null)
	"$UPPERWATCH" --db "$DB" watch --output "$EV" -x '/etc/host*' -x /etc/resolv.conf \
	    -x /etc/mtab -x /run -x '/run/**' "$@" 2>>"$ERR" &
	W=$!
	cleanup_push "stop_bg $W"
	wait_until 30 more_than "${n:-0}" 'watching container' "$ERR"
}

more_than() { [ "$(grep -c -e "$2" "$3" 2>/dev/null)" -gt "$1" ]; }
status_of() { timeout -k 2 20 podman inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
frozen() { [ "$(cat "$1/freezer.state" 2>/dev/null)" = FROZEN ]; }
status_is() { [ "$(status_of "$1")" = "$2" ]; }
procs_gone() { [ -z "$(cat "$1/cgroup.procs" 2>/dev/null)" ]; }	# empty, or the dir is gone
event_of() { jq -c --arg p "$1" 'select(.path == $p)' "$EV" 2>/dev/null | tail -n 1; }
has_event() { [ -n "$(event_of "$1")" ]; }
responses() {
	sql "$DB" "SELECT action, ifnull(method, ''), outcome, ifnull(detail, ''), ifnull(evidence, '')
	    FROM responses WHERE event_id = $1 ORDER BY id"
}
has_response() { [ -n "$(responses "$1")" ]; }

# drop PAYLOAD DEST: `podman exec p1 cp /opt/p/PAYLOAD DEST` in the
# background; XPID.
drop() {
	timeout -k 2 30 podman exec "$PN" cp "/opt/p/$1" "$2" </dev/null >"$S/exec.out" 2>&1 &
	XPID=$!
}
drop_done() {
	wait "$XPID"
	local rc=$?
	[ $rc = 0 ] || echo "# podman exec: exit $rc: $(head -c 300 "$S/exec.out")" >&2
	return $rc
}

check_evidence() {
	local what=$1 id=$2 dest=$3 src=$R/opt/p/$4 up=$UPPER$3 dir=$RS/evidence/$2
	if cmp -s "$src" "$dir/file"; then
		pass "$what: evidence $dir/file has the dropped file's bytes"
	else
		fail "$what: evidence $dir/file differs from the dropped file ($(stat -c %s "$dir/file" 2>&1) vs $(stat -c %s "$src") bytes)"
	fi
	[ -e "$up" ] && check "$what: evidence == the upper dir's copy" cmp -s "$up" "$dir/file"
	expect_eq "$what: metadata.json: copied, not truncated, the event" \
	    "$(stat -c %s "$src") false $id $dest" \
	    "$(jq -r '"\(.copied) \(.truncated) \(.event.id) \(.event.path)"' "$dir/metadata.json" 2>&1)"
}

# ---- the image and the policies ---------------------------------------------

mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp,root,opt/p}
(
	set -e
	busybox_layer "$R" sh ls cat echo sleep touch rm mkdir mv chmod ln head cp true
	echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
	for n in 1 2; do
		{ printf '#!/bin/sh\n# %s payload %s\n' "$P" "$n"; head -c 4000 /dev/urandom; } >"$R/opt/p/x$n"
		chmod 755 "$R/opt/p/x$n"
	done
) || fail "building the image rootfs failed"

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

# ---- the container (notes §8.2) ----------------------------------------------

podman_run "$R" "$IMG" "$PN" || { fail "the Podman container did not start"; finish; }
podman inspect "$PN" | jq '.[0]' >"$S/inspect.p1"
PID=$(jq -r .State.Pid "$S/inspect.p1")
PODMAN_ID=$(jq -r .Id "$S/inspect.p1")
UPPER=$(jq -r .GraphDriver.Data.UpperDir "$S/inspect.p1")
cleanup_push "rmdir /sys/fs/cgroup/*/libpod_parent/libpod-$PODMAN_ID"
V1=$V1ROOT$(awk -F: '$2 ~ /(^|,)freezer(,|$)/ { print $3; exit }' "/proc/$PID/cgroup")
V2=$V2ROOT$(awk -F: '$1 == "0" && $2 == "" { print $3; exit }' "/proc/$PID/cgroup")
expect_eq "$PN: running" running "$(status_of "$PN")"
check "$PN: its cgroup dirs (v1 freezer $V1, v2 $V2)" test -d "$V1" -a -d "$V2" -a "$V1" != "$V1ROOT/"

# ---- pause, evidence, resume ---------------------------------------------------

if start_watch --container "$PN" --policy "$POL_PAUSE"; then
	pass "watch --container $PN --policy pause: watching"
else
	fail "watch --container $PN: no 'watching container' notice within 30 s: $(head -c 600 "$ERR")"
	finish
fi
sleep 0.5	# the start-up scan

drop x1 /root/drop1
if poll_until 0.01 10 frozen "$V1"; then
	tf=$EPOCHREALTIME
	tw=$(stat -c %.9Y "$UPPER/root/drop1" 2>/dev/null)
	dt=$(elapsed "${tw:-0}" "$tf")
	if [ -n "$tw" ] && awk -v d="$dt" -v l="$LIMIT" 'BEGIN { exit !(d <= l) }'; then
		pass "$PN: frozen ${dt} s after the write of /root/drop1"
	else
		fail "$PN: frozen, but ${dt} s after the write of /root/drop1 (> $LIMIT s) [mtime ${tw:-none}]"
	fi
	wait_until 5 status_is "$PN" paused
	expect_eq "$PN: freezer.state FROZEN and podman inspect status paused" "FROZEN paused" \
	    "$(cat "$V1/freezer.state") $(status_of "$PN")"
else
	fail "$PN: not frozen within 10 s of dropping /root/drop1: freezer $(cat "$V1/freezer.state"), podman $(status_of "$PN"); notices: $(tail -n 3 "$ERR" | tr '\n' ';')"
fi
drop_done || fail "podman exec cp failed"
if wait_until 5 has_event /root/drop1; then
	E1=$(event_of /root/drop1 | jq -r .id)
	expect_eq "the event: added, under the podman id, verdict pause" "added $PODMAN_ID podman pause" \
	    "$(event_of /root/drop1 | jq -r '"\(.op) \(.container.id) \(.container.runtime) \(.verdict.action)"')"
	wait_until 5 has_response "$E1"
	expect_eq "journal: pause done through podman, with the evidence" \
	    "pause|podman|done||$RS/evidence/$E1/file" "$(responses "$E1")"
	check_evidence pause "$E1" /root/drop1 x1
else
	fail "no event for /root/drop1"
	E1=0
fi
if wait_until 5 grep -q "upperwatch: container $PODMAN_ID paused (podman) [0-9.]* ms after detecting added /root/drop1\$" "$ERR"; then
	pass "notice: 'container ID paused (podman) N ms after detecting added /root/drop1'"
else
	fail "no 'paused (podman)' notice: $(tail -n 3 "$ERR" | tr '\n' ';')"
fi

out=$(timeout -k 2 60 "$UPPERWATCH" --db "$DB" resume "$PN" 2>&1)
expect_eq "upperwatch resume $PN: exit 0" 0 "$?"
echo "# upperwatch resume said: $out"
wait_until 10 status_is "$PN" running
expect_eq "after resume: podman status running, freezer THAWED" "running THAWED" \
    "$(status_of "$PN") $(cat "$V1/freezer.state")"
check "after resume: podman exec works" timeout -k 2 30 podman exec "$PN" true
expect_eq "journal: pause done, then resume done (podman)" "pause|podman|done;resume|podman|done;" \
    "$(sql "$DB" "SELECT action, method, outcome FROM responses WHERE container = '$PODMAN_ID' ORDER BY id" | tr '\n' ';')"
stop_bg "$W"
expect_eq "pause daemon: SIGTERM, exit 0" 0 "$BG_STATUS"

# ---- kill ------------------------------------------------------------------------

if start_watch --container "$PN" --policy "$POL_KILL"; then
	pass "watch --container $PN --policy kill: watching"
else
	fail "kill daemon: no 'watching container' notice: $(tail -n 3 "$ERR" | tr '\n' ';')"
fi
sleep 0.5
cat "$V2/cgroup.procs" >"$S/p1.pids"
echo "# $PN has $(wc -l <"$S/p1.pids") pids before the kill"
drop x2 /root/drop2
t0=$EPOCHREALTIME
if poll_until 0.01 10 procs_gone "$V2"; then
	pass "$PN: v2 cgroup.procs empty or gone $(elapsed "$t0") s after podman exec began"
else
	fail "$PN: pids remain in $V2 10 s after the drop: $(tr '\n' ' ' <"$V2/cgroup.procs")"
fi
wait_until 5 procs_gone "$V1"
check "$PN: v1 freezer cgroup.procs empty or gone" procs_gone "$V1"
left=
while read -r p; do
	grep -qs "libpod-$PODMAN_ID" "/proc/$p/cgroup" && left="$left $p"
done <"$S/p1.pids"
expect_eq "$PN: none of its pids is left" "" "$left"
wait "$XPID" 2>/dev/null
wait_until 10 status_is "$PN" exited
expect_eq "podman inspect: exited, by SIGKILL (137)" "exited 137" \
    "$(timeout -k 2 20 podman inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$PN" 2>&1)"
if wait_until 5 has_event /root/drop2; then
	E2=$(event_of /root/drop2 | jq -r .id)
	wait_until 5 has_response "$E2"
	expect_eq "journal: kill done with cgroup.kill, with the evidence" \
	    "kill|cgroup.kill|done||$RS/evidence/$E2/file" "$(responses "$E2")"
	check_evidence kill "$E2" /root/drop2 x2
else
	fail "no event for /root/drop2"
fi
if wait_until 5 grep -q "upperwatch: container $PODMAN_ID killed (cgroup.kill) [0-9.]* ms after detecting added /root/drop2\$" "$ERR"; then
	pass "notice: 'container ID killed (cgroup.kill) N ms after detecting added /root/drop2'"
else
	fail "no 'killed (cgroup.kill)' notice: $(tail -n 3 "$ERR" | tr '\n' ';')"
fi
stop_bg "$W"
expect_eq "kill daemon: SIGTERM, exit 0" 0 "$BG_STATUS"
expect_eq "reported: the two drops, nothing else" "/root/drop1 /root/drop2" \
    "$(jq -r .path "$EV" | sort | tr '\n' ' ' | sed 's/ $//')"

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
