#!/bin/bash
# evasion_disk: a container that fills the disk its monitor's journal is
# on must not stop the monitor nor hide what it does next (issue 12).
#
# One runc container, uwt-evd-<pid>-c1 (cgroup /uwt-evd-<pid>/...), whose
# upper and work dirs share a 64 MiB tmpfs with the database (--db) of
# `watch --container c1 --policy P` (P pauses on /srv/pause-me), so that
# the evidence dir and status.json are there too.  The baseline is
# built first and the WAL truncated, so every later commit needs new
# blocks.  From inside the container:
#   - `hostile fill-disk /fill` writes until ENOSPC, to the last byte
#     (control: the tmpfs has 0 bytes free);
#   - then changes that need no data blocks: rm of an image file (a
#     whiteout), mkdir, touch of an empty file.  They are printed on
#     stdout while the journal cannot write them (control: the journal,
#     read with sqlite3, does not have them yet); `status --json` says
#     "journal_ok": false with a non-empty "degraded" list of reasons;
#   - touch /srv/pause-me: the pause verdict still pauses it (runc state
#     paused), evidence or not;
#   - after `runc resume`, rm /fill: within 15 s the journal (`events
#     --json`) holds each of those four changes exactly once, status says
#     "journal_ok": true again, and stdout printed each exactly once.
# The daemon never exits: it is checked alive at each step and stops
# with exit 0 on SIGTERM.
# A second daemon has the shipped unit's shape: --quiet, events written
# with --output to a file on the disk the container fills (its own db
# there too, --max-action alert).  It must not stop either: it says once
# that it cannot write the file, tries again 5 s later, not at once,
# writes again once it can (a change made then is in the file), and
# leaves only whole JSON lines in it.
#
# Needs root, runc, a static busybox, cc with a static libc, jq, sqlite3.
# UWT_KEEP=DIR keeps a copy of the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox cc jq sqlite3 timeout df
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-evd-$$
C=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
T=$RS/t
DB=$T/db
CD=$T/c
U=$CD/upper
EV=$S/events.jsonl ERR=$S/watch.err
POL=$S/pol
CHANGES='"deleted /etc/motd" "added /srv/newdir" "added /srv/newfile" "added /srv/pause-me"'

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

xc() { runc_sh "$1" "$2"; }
state_of() { runc state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
free_bytes() { df --output=avail -B1 "$T" | tail -n 1 | tr -d ' '; }

# status_is FILTER: `status --json` passes the jq FILTER (kept in
# status.out).
status_is() {
	timeout 10 "$UPPERWATCH" --db "$DB" status --json >"$S/status.out" 2>&1 &&
	    jq -e "$1" "$S/status.out" >/dev/null 2>&1
}
status_now() { jq -c '{journal_ok, degraded}' "$S/status.out" 2>/dev/null || head -c 200 "$S/status.out"; }

# count_ops FILE: "N op path" for the four changes in the JSON Lines FILE.
count_ops() {
	jq -r --arg c "$C" 'select(.container.id == $c) | "\(.op) \(.path)"' "$1" 2>/dev/null |
	    grep -x -e 'deleted /etc/motd' -e 'added /srv/newdir' -e 'added /srv/newfile' \
	    -e 'added /srv/pause-me' | sort | uniq -c | awk '{ print $1, $2, $3 }'
}
ONCE_EACH=$(printf '1 %s\n' "deleted /etc/motd" "added /srv/newdir" "added /srv/newfile" \
    "added /srv/pause-me" | sort)
journal_once_each() {
	timeout 30 "$UPPERWATCH" --db "$DB" events --json --container "$C" >"$S/journal.json" 2>"$S/journal.err" &&
	    [ "$(count_ops "$S/journal.json")" = "$ONCE_EACH" ]
}

# still_running STEP: the daemon has not exited.
still_running() {
	if alive "$W"; then
		pass "$1: the daemon still runs"
	else
		fail "$1: the daemon exited: $(tail -n 3 "$ERR" | tr '\n' ';')"
	fi
}

# ---- the layer, the tmpfs, the container, its baseline, the daemon ----------

build_hostile "$S/hostile" || { fail "cannot build hostile.c"; finish; }
mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,srv}
(
	set -e
	busybox_layer "$L1" sh ls cat echo sleep touch rm mkdir dd true
	cp "$S/hostile" "$L1/bin/hostile"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	echo hello >"$L1/etc/motd"
) || fail "building the layer failed"
mkdir -p "$POL"
cat >"$POL/pause.lua" <<'EOF'
local uw = require("upperwatch")
return { name = "pause-me", description = "pause on /srv/pause-me",
  evaluate = function(ev)
    if ev.op == "added" and ev.path == "/srv/pause-me" then
      return uw.verdict("critical", "pause", "pause-me")
    end
  end }
EOF

mkdir -p "$T"
mount -t tmpfs -o size=64m,mode=0755 "$P" "$T" || { fail "mount tmpfs"; finish; }
cleanup_push "umount -l '$T'"
if ! run_container "$CD" "$C" "$L1" "/$P/$C" "echo up > /tmp/started; while true; do sleep 1; done" ||
    ! wait_until 10 test -s "$U/tmp/started"; then
	fail "$C: runc container did not start"
	finish
fi
if ! timeout 60 "$UPPERWATCH" --db "$DB" baseline -q --container "$C" >"$S/out" 2>&1; then
	fail "baseline --container $C: $(head -c 300 "$S/out")"
	finish
fi
# From here on every commit appends to the WAL: it needs new blocks.
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
echo "# the WAL after the checkpoint: $(stat -c '%s bytes' "$DB-wal" 2>/dev/null || echo gone)"

start_upperwatch W "$EV" "$ERR" --db "$DB" watch --container "$C" --policy "$POL"
if ! wait_until 30 grep -q "watching container $C " "$ERR"; then
	fail "watch --container $C: no 'watching container' notice: $(head -c 600 "$ERR")"
	finish
fi
wait_until 10 jq -e 'select(.path == "/tmp/started")' "$EV" >/dev/null 2>&1 ||
    fail "the start-up scan did not report /tmp/started"
OUT=$T/out.jsonl ERR2=$S/watch2.err
start_upperwatch W2 /dev/null "$ERR2" --db "$T/db2" watch --quiet --container "$C" \
    --policy "$POL" --max-action alert --output "$OUT"
wait_until 15 jq -e 'select(.path == "/tmp/started")' "$OUT" >/dev/null 2>&1 ||
    fail "--output: the start-up scan did not reach $OUT: $(head -c 300 "$ERR2")"
# status.json is rewritten every 5 s
if wait_until 15 status_is '.journal_ok == true and ((.degraded // []) | length == 0)'; then
	pass "before the fill: status says journal_ok true, nothing degraded"
else
	fail "before the fill: status is not journal_ok true / degraded []: $(status_now)"
fi

# ---- the fill ---------------------------------------------------------------------

xc "$C" 'hostile fill-disk /fill' || fail "fill-disk failed in the container"
echo "# $(cat "$S/exec.out")"
expect_eq "control: the tmpfs of the journal and the upper is full (bytes free)" 0 "$(free_bytes)"
sleep 1
still_running "after the fill"

from=$(wc -l <"$EV")
xc "$C" 'rm /etc/motd && mkdir /srv/newdir && touch /srv/newfile' ||
    fail "changes that need no data blocks failed on the full disk"
printed() {
	tail -n +"$((from + 1))" "$EV" | jq -r --arg c "$C" 'select(.container.id == $c) | "\(.op) \(.path)"' 2>/dev/null >"$S/printed"
	grep -qx 'deleted /etc/motd' "$S/printed" && grep -qx 'added /srv/newdir' "$S/printed" &&
	    grep -qx 'added /srv/newfile' "$S/printed"
}
if wait_until 10 printed; then
	pass "full disk: the whiteout, the mkdir and the empty file are printed on stdout"
else
	fail "full disk: not all printed within 10 s: got $(tr '\n' ';' <"$S/printed")"
fi
expect_eq "control: while full, the journal does not have them (sqlite3)" 0 \
    "$(sql "$DB" "SELECT count(*) FROM events WHERE container = '$C' AND
	CAST(path AS TEXT) IN ('/etc/motd', '/srv/newdir', '/srv/newfile')" 2>&1)"
if wait_until 15 status_is '.journal_ok == false and (.degraded | type == "array" and length > 0 and all(.[]; type == "string" and length > 0))'; then
	pass "full disk: status says journal_ok false, degraded: $(jq -c .degraded "$S/status.out")"
else
	fail "full disk: status does not say the journal is degraded within 15 s: $(status_now)"
fi
still_running "with the journal failing"
sleep 6	# a retry of the journal (every 5 s) fails meanwhile
check "the journal's failure is said once, not at every retry" \
    test "$(grep -c 'WARNING: the journal cannot write' "$ERR")" = 1
# Enough events that their lines outgrow the slack in the file's last
# page: only then does writing --output need a free block.
xc "$C" 'mkdir /srv/many && for i in $(seq 300); do : >/srv/many/f$i; done' ||
    fail "300 empty files on the full disk failed"
wait_until 10 grep -q "WARNING: cannot write events to $OUT" "$ERR2"
if alive "$W2" && my_child "$W2"; then
	pass "--output on the full disk: that daemon still runs"
else
	fail "--output on the full disk: that daemon is gone: $(tail -n 3 "$ERR2" | tr '\n' ';')"
fi
check "--output on the full disk: it says so, once" \
    test "$(grep -c "WARNING: cannot write events to $OUT" "$ERR2")" = 1

xc "$C" 'touch /srv/pause-me' || fail "touch /srv/pause-me failed"
if wait_until 10 is_state "$C" paused; then
	pass "full disk: the pause verdict paused the container (runc state paused)"
else
	fail "full disk: the container is not paused 10 s after /srv/pause-me: runc state $(state_of "$C"); $(tail -n 2 "$ERR" | tr '\n' ';')"
fi
expect_eq "full disk: /srv/pause-me printed, its verdict a pause" pause \
    "$(jq -r 'select(.path == "/srv/pause-me") | .verdict.action' "$EV" 2>/dev/null | head -n 1)"
still_running "after the pause"

# ---- the container frees the disk ---------------------------------------------------

runc resume "$C" 2>/dev/null
wait_until 5 is_state "$C" running || fail "runc resume: $(state_of "$C")"
xc "$C" 'rm /fill' || fail "rm /fill failed"
check "the tmpfs has room again" test "$(free_bytes)" -gt 0
t0=$EPOCHREALTIME
if wait_until 15 journal_once_each; then
	pass "the journal caught up: each of the four changes exactly once (after $(elapsed "$t0") s)"
else
	fail "the journal did not catch up within 15 s: $(count_ops "$S/journal.json" | tr '\n' ';') $(head -c 200 "$S/journal.err")"
fi
if wait_until 15 status_is '.journal_ok == true and ((.degraded // []) | length == 0)'; then
	pass "after the fill is gone: status journal_ok true, nothing degraded"
else
	fail "after the fill is gone: status not back to journal_ok true: $(status_now)"
fi
sleep 1
expect_eq "stdout: each of the four changes printed exactly once" "$ONCE_EACH" "$(count_ops "$EV")"
xc "$C" 'touch /srv/after-fill' || fail "touch /srv/after-fill failed"
if wait_until 10 jq -e 'select(.path == "/srv/after-fill")' "$OUT" >/dev/null 2>&1; then
	pass "--output: written again once the disk has room"
else
	fail "--output: /srv/after-fill not in $OUT within 10 s: $(tail -n 2 "$ERR2" | tr '\n' ';')"
fi
check "--output: it says it writes again" grep -q "writing events to $OUT again" "$ERR2"
# A failed write is tried again 5 s later, not with the next batch: a
# single line (/srv/pause-me) still fits in the file's last block on the
# full disk and would make it flap between written and not.
stamp() { grep -m 1 "$1" "$ERR2" | cut -d' ' -f1 | xargs -r -I{} date -d {} +%s; }
t_fail=$(stamp "WARNING: cannot write events to $OUT") t_again=$(stamp "writing events to $OUT again")
if [ -n "$t_fail" ] && [ -n "$t_again" ] && [ $((t_again - t_fail)) -ge 4 ]; then
	pass "--output: written again $((t_again - t_fail)) s after it failed, not at the next batch"
else
	fail "--output: written again ${t_fail:+$((${t_again:-0} - t_fail)) s} after it failed: $(tr '\n' ';' <"$ERR2")"
fi
check "--output: only whole JSON lines in the file" jq -e . "$OUT" >/dev/null
stop_bg "$W2"
expect_eq "--output daemon: SIGTERM, exit 0" 0 "$BG_STATUS"
still_running "at the end"
stop_bg "$W"
expect_eq "SIGTERM: exit 0" 0 "$BG_STATUS"

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
