#!/bin/bash
# evasion_watch: nothing a container does may hide a change from
# `upperwatch watch` and `diff`, or stop the daemon.  Each attack is made
# from inside a real runc container, through its merged view (busybox sh,
# and tests/integration/hostile.c built static into the image's layer),
# while the daemon watches; each sits beside a control showing that the
# attack really happened and that the check can fail.
#
# Containers uwt-evw-<pid>-c1..c3 (cgroups under /uwt-evw-<pid>) on one
# busybox layer holding /bin/hostile and /etc/{passwd,group,app.conf,motd}.
# c1 is watched by `watch --container c1` (default policies, plus one that
# wants a pause for the forged name of 8, capped by --max-action alert).
#   1. Forged user.overlay.* xattrs on a mount without userxattr.
#      A: `hostile setxattr /etc/passwd user.overlay.metacopy ""`, then a
#      same-length in-place edit (dd conv=notrunc): watch reports
#      /etc/passwd `modified`, changes ⊇ [hash, xattr]; `diff --container
#      --json` and `diff --image REF --json UPPER` too, exit 1.
#      B: `hostile setxattr /etc user.overlay.opaque y`: /etc is
#      `metadata`, changes == [xattr], never `replaced`; no image file
#      under /etc is reported gone (watch and both diffs).
#      Controls: the upper really holds both xattrs and the edited bytes,
#      the kernel still shows /etc/group (it ignores them); `diff
#      --userxattr` (the dialect of a userxattr mount) gives /etc
#      replaced; and the same passwd with trusted.overlay.metacopy, read
#      with `diff --overlay-options metacopy=on`, hides the edit (no mount
#      reads user.overlay.metacopy: userxattr excludes metacopy=on).
#      Also `baseline --userxattr` reads user.overlay.opaque in a layer.
#      B: a chain of 100 dirs with 200-byte names (a 20 KB path; 4,096
#      of 255 bytes would make the daemon keep 2 GiB of paths), a file at
#      the bottom: an `error` event that says the path is longer than
#      16384 bytes (high/alert), and no event path longer than 16 KiB
#      and a name.  Control: the payload is in the upper dir.
#   3. A huge file that keeps changing: 768 MiB written, then a byte
#      appended every 20 ms for 6 s.  Hashing it takes long, so its
#      looks are spaced out (20 times as long as the last took): at most
#      8 events for it in all; its final size is reported.  Control: the
#      upper file reaches that size.
#   8. A file named "x\n<a notice line>" (and a dir so named, holding the
#      chain of 4): no stderr line starts with the forged notice; every
#      stdout line is one JSON object.  Control: the event's path decodes
#      to the name with its newline.
#   4. A chain of 4,097 dirs (limit 4,096) made with mkdirat, a payload
#      at the bottom: an `error` event inside the chain whose error says
#      "deep", judged high/alert by the default policies; `diff
#      --container --json` has it too and exits 1, not 2.  Control: the
#      payload is in the upper dir (find).
#   7. A regular file (rewritten) and a FIFO exchanged in a loop
#      (RENAME_EXCHANGE, three processes, 8 s), watched by the daemon and
#      by a second one with --quiet-ms 1 (which reads both names some
#      thousand times): upperwatch must never open the FIFO.  A writer
#      blocked opening it for write would be unblocked by any open for
#      read.  The writer runs on the host, on the upper dir's FIFO:
#      overlayfs gives a FIFO seen through the merged view a pipe of its
#      own, so only an open of the upper inode (what upperwatch reads)
#      could unblock it; a writer inside the container could never tell.
#      Asserted: the writer is still blocked after the loop, the daemons
#      run, each name's last event (of both) has its final type.
#      Controls: the loop swapped more than 1,000 times; an open for read
#      of the upper FIFO from the host unblocks the writer.
#   2. A RENAME_EXCHANGE loop (10 s) between a dir /srv/race/d and a
#      symlink /srv/race/l to a host dir (which holds d's subdir names) in
#      c2, watched by a host daemon (`watch`, own db) with c3 beside it:
#      the daemon stays alive; a change in c3 during the loop and one in
#      c2 after it are reported; `diff --container c2` during the loop
#      exits 0 or 1, never 2; the daemon's inotify watches are never on
#      a dir outside an overlay upper dir (fdinfo vs dir_keys; in
#      particular never on the host dir).  Controls: the loop swapped
#      more than 1,000 times; `inotifywait -m -r` on c2's upper during
#      the same loop does end up watching the host dir.
#
# They run in the order 1, 4, 3, 8, 7, 2; UWT_ONLY="1 7" runs only those.
# Needs root, runc, a static busybox, cc with a static libc, jq, setfattr,
# getfattr, inotifywait.  UWT_KEEP=DIR keeps a copy of the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox cc jq setfattr getfattr inotifywait timeout find mkfifo
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-evw-$$
C1=$P-c1 C2=$P-c2 C3=$P-c3
RS=$(realpath "$S")
L1=$RS/layers/1
IMG=$P-img
DB=$RS/db DB2=$RS/db2
EV=$S/events.jsonl ERR=$S/watch.err
HEV=$S/host.jsonl HERR=$S/host.err
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DEFPOL=${UW_SOURCE_ROOT:-$SRC}/policies/default
POL=$S/pol
FORGED_LINE="2026-01-01T00:00:00Z upperwatch: container $C1 is gone; 0 watches released"
FORGED_FILE="/tmp/x
$FORGED_LINE"
DEEP_ROOT="/srv/deep
$FORGED_LINE"
DEPTH=4097
LONG_NAME=$(printf "%0200d" 0 | tr 0 l)

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- helpers ---------------------------------------------------------------

# xc CID COMMAND: COMMAND with sh -c in container CID (output in exec.out).
xc() { runc_sh "$1" "$2"; }

lines() { tail -n +"$(($2 + 1))" "$1"; }
has_xattr() { getfattr -h -n "$2" "$1" >/dev/null 2>&1; }
more_than() { [ "$(grep -c -e "$2" "$3" 2>/dev/null)" -gt "$1" ]; }
settled() {
	local a b
	a=$(wc -l <"$1")
	sleep 1
	b=$(wc -l <"$1")
	[ "$a" = "$b" ]
}

JQDEFS='def chg($c): (.changes // []) | any(.[]; . == $c);'

# event_in FILE FROM FILTER [JQ ARGS]: a line after FROM passes FILTER.
event_in() {
	local f=$1 from=$2 filter=$3
	shift 3
	lines "$f" "$from" | jq -c "$@" "$JQDEFS select($filter)" 2>/dev/null | grep -q .
}

# expect_event DESC FILE FROM SECONDS FILTER [JQ ARGS]: wait for it.
expect_event() {
	local what=$1 f=$2 from=$3 secs=$4 filter=$5 t0=$EPOCHREALTIME
	shift 5
	if wait_until "$secs" event_in "$f" "$from" "$filter" "$@"; then
		pass "$what (after $(elapsed "$t0") s)"
		return 0
	fi
	fail "$what: none within $secs s; got: $(lines "$f" "$from" |
	    jq -r '"\(.op) \(.path[0:90]|@json) \(.changes // [] | join("+")) \(.error // "" | .[0:90])"' 2>/dev/null |
	    tail -n 6 | tr '\n' ';')"
	return 1
}

# start_watch: `watch --container c1` (its pid in W); waits for its
# "watching container" notice.
start_watch() {
	local n
	n=$(grep -c "watching container $C1 " "$ERR" 2>/dev/null)
	start_upperwatch W "$EV" "$ERR" --db "$DB" watch --container "$C1" \
	    --policy "$DEFPOL" --policy "$POL" --max-action alert
	wait_until 30 more_than "${n:-0}" "watching container $C1 " "$ERR"
}

# ensure_watch SCENARIO: the daemon must still run; when it does not,
# say so (a failure: nothing may stop it) and start it again, so that
# the next scenario is judged on its own.
ensure_watch() {
	alive "$W" && return 0
	stop_bg "$W"
	fail "$1: the daemon had exited (status $BG_STATUS): $(tail -n 3 "$ERR" | tr '\n' ';')"
	start_watch || fail "$1: could not start the daemon again"
}

# ---- the image layer, its baseline, c1 and its daemon -----------------------

build_hostile "$S/hostile" || { fail "cannot build hostile.c"; finish; }
mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,srv}
(
	set -e
	busybox_layer "$L1" sh ls cat echo sleep touch rm mkdir mv chmod ln head dd \
	    mkfifo printf find true
	cp "$S/hostile" "$L1/bin/hostile"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	echo 'root:x:0:' >"$L1/etc/group"
	echo v1 >"$L1/etc/app.conf"
	echo hello >"$L1/etc/motd"
) || fail "building the layer failed"
if ! timeout 60 "$UPPERWATCH" --db "$DB" baseline -q --image "$IMG" "$L1" >"$S/out" 2>&1; then
	fail "baseline of the layer: $(head -c 300 "$S/out")"
	finish
fi

mkdir -p "$POL"
cat >"$POL/forged.lua" <<EOF
-- Wants a pause for the forged name, so that a notice (the capped
-- response) names it.
local uw = require("upperwatch")
return { name = "forged-name", description = "a notice that names a forged path",
  evaluate = function(ev)
    if ev.path == "/tmp/x\\n$FORGED_LINE" then
      return uw.verdict("medium", "pause", "forged name")
    end
  end }
EOF

start_c() {
	run_container "$RS/$1" "$1" "$L1" "/$P/$1" \
		"echo up > /tmp/started; while true; do sleep 1; done" &&
		wait_until 10 test -s "$RS/$1/upper/tmp/started"
}
if ! start_c "$C1"; then
	fail "$C1: runc container did not start"
	finish
fi
U1=$RS/$C1/upper
if ! start_watch; then
	fail "watch --container $C1: no 'watching container' notice: $(head -c 600 "$ERR")"
	finish
fi
expect_event "start-up scan: /tmp/started" "$EV" 0 10 '.path == "/tmp/started" and .op == "added"'

# ---- 1. forged user.overlay.* xattrs ----------------------------------------

scenario_1() {
	from=$(wc -l <"$EV")
	xc "$C1" 'hostile setxattr /etc/passwd user.overlay.metacopy "" &&
		printf toor | dd of=/etc/passwd bs=1 count=4 conv=notrunc 2>/dev/null' ||
	    fail "1A: the attack failed in the container"
	expect_event "1A: forged metacopy + in-place edit: /etc/passwd modified, changes hash and xattr" \
	    "$EV" "$from" 10 '.path == "/etc/passwd" and .op == "modified" and chg("hash") and chg("xattr")'
	# controls: it really is there, and the kernel does not honour it
	check "1A control: the upper's /etc/passwd holds user.overlay.metacopy" \
	    has_xattr "$U1/etc/passwd" user.overlay.metacopy
	check "1A control: the upper's /etc/passwd differs from the image's (same length)" \
	    test "$(head -c 4 "$U1/etc/passwd")" = toor -a "$(stat -c %s "$U1/etc/passwd")" = "$(stat -c %s "$L1/etc/passwd")"

	ensure_watch 1B
	from=$(wc -l <"$EV")
	xc "$C1" 'hostile setxattr /etc user.overlay.opaque y' || fail "1B: the attack failed in the container"
	expect_event "1B: forged opaque: /etc metadata, changes == [xattr]" \
	    "$EV" "$from" 10 '.path == "/etc" and .op == "metadata" and (.changes == ["xattr"])'
	check "1B control: the upper's /etc holds user.overlay.opaque" \
	    has_xattr "$U1/etc" user.overlay.opaque
	check "1B control: the kernel ignores it: /etc/group still shows in the container" \
	    xc "$C1" 'test "$(cat /etc/group)" = "root:x:0:"'
	settled "$EV"
	expect_eq "1B: /etc never reported replaced" "" \
	    "$(jq -r 'select(.path == "/etc" and .op == "replaced") | .id' "$EV" 2>/dev/null)"
	expect_eq "1B: no image file under /etc reported gone" "" \
	    "$(jq -r 'select((.path | startswith("/etc/")) and .op == "deleted") | .path' "$EV" 2>/dev/null | tr '\n' ' ')"

	# diff_checks WHAT RC FILE: the diff output of a mount without userxattr.
	diff_checks() {
		local what=$1 rc=$2 f=$3
		expect_eq "$what: exit 1 (drift)" 1 "$rc"
		check "$what: /etc/passwd modified, changes hash and xattr" \
		    json_has "$f" "$JQDEFS"' .path == "/etc/passwd" and .op == "modified" and chg("hash") and chg("xattr")'
		check "$what: /etc metadata, changes == [xattr]" \
		    json_has "$f" '.path == "/etc" and .op == "metadata" and .changes == ["xattr"]'
		check "$what: /etc not replaced, nothing under /etc deleted" \
		    test -z "$(jq -r 'select((.path == "/etc" and .op == "replaced") or ((.path | startswith("/etc/")) and .op == "deleted")) | .path' "$f" 2>/dev/null)"
	}
	timeout 60 "$UPPERWATCH" --db "$DB" diff --container "$C1" --json >"$S/diff1.json" 2>"$S/diff1.err"
	diff_checks "1: diff --container $C1 --json" $? "$S/diff1.json"
	[ -s "$S/diff1.err" ] && echo "# diff --container: $(head -c 300 "$S/diff1.err")"
	timeout 60 "$UPPERWATCH" --db "$DB" diff --image "$IMG" --json "$U1" >"$S/diff2.json" 2>"$S/diff2.err"
	diff_checks "1: diff --image $IMG --json UPPER" $? "$S/diff2.json"
	# The control of B: read as user xattrs (a userxattr mount), the
	# forged opaque replaces /etc.
	timeout 60 "$UPPERWATCH" --db "$DB" diff --userxattr --image "$IMG" --json "$U1" >"$S/diff3.json" 2>"$S/diff3.err"
	rc=$?
	expect_eq "1B control: diff --userxattr: exit 1" 1 "$rc"
	[ "$rc" = 2 ] && echo "# diff --userxattr: $(head -c 300 "$S/diff3.err")"
	check "1B control: diff --userxattr honours the forged opaque: /etc replaced" \
	    json_has "$S/diff3.json" '.path == "/etc" and .op == "replaced"'
	# The control of A.  No mount reads user.overlay.metacopy (the kernel
	# refuses userxattr with metacopy=on), so: the same file with the
	# same xattr in the dialect a metacopy=on mount reads, in an upper of
	# its own: read that way, the edit is hidden.
	mkdir -p "$RS/mc/upper/etc"
	cp -p "$U1/etc/passwd" "$RS/mc/upper/etc/passwd"
	setfattr -n trusted.overlay.metacopy -v "" "$RS/mc/upper/etc/passwd"
	timeout 60 "$UPPERWATCH" --db "$DB" diff --overlay-options metacopy=on --image "$IMG" --json \
	    "$RS/mc/upper" >"$S/diff5.json" 2>"$S/diff5.err"
	rc=$?
	check "1A control: diff --overlay-options metacopy=on of that file as trusted.overlay.metacopy: exit 0 or 1 ($rc)" \
	    test "$rc" = 0 -o "$rc" = 1
	[ "$rc" = 2 ] && echo "# diff --overlay-options metacopy=on: $(head -c 300 "$S/diff5.err")"
	check "1A control: read as metacopy, the edit of /etc/passwd is hidden (not modified)" \
	    test "$rc" != 2 -a -z "$(jq -r 'select(.path == "/etc/passwd" and .op == "modified") | .path' "$S/diff5.json" 2>/dev/null)"
	# baseline --userxattr: a layer's user.overlay.opaque is overlay metadata
	mkdir -p "$RS/ux/top/opt" "$RS/ux/low/opt"
	echo h >"$RS/ux/low/opt/hidden"
	echo s >"$RS/ux/top/opt/shown"
	setfattr -n user.overlay.opaque -v y "$RS/ux/top/opt"
	if timeout 60 "$UPPERWATCH" --db "$RS/ux.db" baseline -q --userxattr --image ux "$RS/ux/top" "$RS/ux/low" >"$S/out" 2>&1; then
		timeout 60 "$UPPERWATCH" --db "$RS/ux.db" show --image ux --json >"$S/ux.json" 2>&1
		expect_eq "1: baseline --userxattr: user.overlay.opaque hides the lower /opt/hidden" \
		    "/opt/shown" "$(jq -r 'select(.path | startswith("/opt/")) | .path' "$S/ux.json" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
	else
		fail "1: baseline --userxattr: $(head -c 300 "$S/out")"
	fi
}

# ---- 4. deeper than the limit ---------------------------------------------------

scenario_4() {
	from=$(wc -l <"$EV")
	xc "$C1" "mkdir '$DEEP_ROOT' && hostile deep-mkdir '$DEEP_ROOT' $DEPTH" ||
	    fail "4: deep-mkdir failed in the container"
	DEEP_FILTER='.op == "error" and (.path | startswith($r + "/")) and ((.error // "") | test("deep"; "i"))'
	if expect_event "4: a chain $DEPTH dirs deep: an error event inside it that says 'deep'" \
	    "$EV" "$from" 20 "$DEEP_FILTER" --arg r "$DEEP_ROOT"; then
		expect_eq "4: the error is judged high/alert by the default policies" "high alert" \
		    "$(lines "$EV" "$from" | jq -r --arg r "$DEEP_ROOT" "select($DEEP_FILTER) | \"\(.verdict.severity) \(.verdict.action)\"" | head -n 1)"
	fi
	expect_eq "4 control: the payload is in the upper dir, $((DEPTH + 1)) levels below the chain's top" \
	    $((DEPTH + 1)) "$(find "$U1$DEEP_ROOT" -name payload -printf '%d\n' 2>/dev/null | head -n 1)"
	timeout 120 "$UPPERWATCH" --db "$DB" diff --container "$C1" --json >"$S/diff4.json" 2>"$S/diff4.err"
	rc=$?
	expect_eq "4: diff --container: exit 1 (drift), not 2" 1 "$rc"
	[ "$rc" = 2 ] && echo "# diff: $(head -c 300 "$S/diff4.err" | tr '\n' ' ')"
	check "4: diff --container --json has the error inside the chain" \
	    json_has "$S/diff4.json" "$DEEP_FILTER" --arg r "$DEEP_ROOT"

	# B: a chain of long names, whose paths' lengths add up with the
	# square of its depth (4,096 of 255 bytes: 2 GiB to keep): read no
	# further than 16 KiB of path, and what lies below is reported.
	from=$(wc -l <"$EV")
	xc "$C1" "mkdir /srv/long && hostile deep-in /srv/long 100 $LONG_NAME sh -c 'echo x > payload'" ||
	    fail "4B: deep-in failed in the container"
	LONG_FILTER='.op == "error" and (.path | startswith("/srv/long/")) and ((.error // "") | test("longer than 16384"))'
	if expect_event "4B: 100 dirs of 200-byte names: an error event that says the path is too long" \
	    "$EV" "$from" 20 "$LONG_FILTER"; then
		expect_eq "4B: the error is judged high/alert" "high alert" \
		    "$(lines "$EV" "$from" | jq -r "select($LONG_FILTER) | \"\(.verdict.severity) \(.verdict.action)\"" | head -n 1)"
	fi
	expect_eq "4B: no event names a path longer than 16 KiB and a name" 0 \
	    "$(lines "$EV" "$from" | jq -r 'select((.path | length) > 16384 + 256) | .path' | wc -l)"
	expect_eq "4B control: the payload is in the upper dir, 101 levels below /srv/long" \
	    101 "$(find "$U1/srv/long" -name payload -printf '%d\n' 2>/dev/null | head -n 1)"
}

# ---- 3. a huge file written to all the time --------------------------------------

scenario_3() {
	from=$(wc -l <"$EV")
	xc "$C1" "hostile grow /srv/huge 768 300 20 </dev/null >/dev/null 2>&1 &" ||
	    fail "3: grow failed in the container"
	final=$((768 * 1048576 + 300))
	wait_until 60 sh -c "[ \$(stat -c %s '$U1/srv/huge' 2>/dev/null || echo 0) = $final ]" ||
	    fail "3 control: /srv/huge did not reach $final bytes in the upper dir"
	expect_event "3: its final size is reported" "$EV" "$from" 60 \
	    '.path == "/srv/huge" and .current.size == $n' --argjson n "$final"
	n=$(lines "$EV" "$from" | jq -c 'select(.path == "/srv/huge")' | wc -l)
	echo "# 3: /srv/huge reported $n times"
	check "3: looked at no more than 8 times while it grew for 6 s ($n)" [ "$n" -le 8 ]
	xc "$C1" "rm /srv/huge" || fail "3: rm"
}

# ---- 8. a name that holds a notice line ---------------------------------------

scenario_8() {
	from=$(wc -l <"$EV")
	xc "$C1" "printf 'pwn\\n' > '$FORGED_FILE'" || fail "8: creating the forged name failed"
	expect_event "8 control: the event's path decodes to the name with its newline" \
	    "$EV" "$from" 10 '.path == $p and .op == "added"' --arg p "$FORGED_FILE"

	# the chain of 4 (when it ran) is named with a notice line too
	settled "$EV"
	expect_eq "8: no stderr line starts with the forged notice" 0 \
	    "$(grep -c "^${FORGED_LINE%% *} upperwatch:" "$ERR")"
	expect_eq "8: every stdout line is one JSON object" "$(wc -l <"$EV")" \
	    "$(jq -R 'fromjson? | objects | 1' "$EV" 2>/dev/null | wc -l)"
	n=$(grep -c -F "${FORGED_LINE#* }" "$ERR")
	echo "# notices that quote the forged text (escaped, mid-line): $n"
}

# ---- 7. a FIFO swapped in for a file being rewritten -------------------------------

scenario_7() {
	local EV7=$S/ev7.jsonl ERR7=$S/err7 W7 n final

	xc "$C1" 'mkdir -p /srv/ff && echo data > /srv/ff/f && mkfifo /srv/ff/p' || fail "7: setup failed"
	wait_until 5 test -p "$U1/srv/ff/p" || fail "7: no FIFO in the upper dir"
	# A second daemon on c1 that looks again 1 ms after each event, so
	# that it reads the two names thousands of times during the loop.
	start_upperwatch W7 "$EV7" "$ERR7" --db "$RS/db7" watch --container "$C1" --quiet-ms 1 --no-policy
	wait_until 30 grep -q "watching container $C1 " "$ERR7" ||
	    fail "7: watch --quiet-ms 1: no 'watching container' notice: $(head -c 300 "$ERR7")"
	"$S/hostile" fifo-writer "$U1/srv/ff/p" "$S/unblocked" 2>"$S/writer.err" &
	WR=$!
	cleanup_push "kill $WR"
	sleep 0.5
	check "7: the writer blocks opening the FIFO for write (no reader)" \
	    test ! -e "$S/unblocked" -a -d "/proc/$WR"
	sleep 1	# the FIFO's own event is done with
	xc "$C1" 'hostile swap-file-fifo /srv/ff/f /srv/ff/p 8 3' || fail "7: the swap loop failed"
	SWAPS=$(sed -n 's/^swaps \([0-9]*\) .*/\1/p' "$S/exec.out")
	echo "# 7: $(cat "$S/exec.out")"
	check "7 control: the loop exchanged the file and the FIFO more than 1,000 times (${SWAPS:-0})" \
	    test "${SWAPS:-0}" -gt 1000
	check "7: the daemon still runs" alive "$W"
	check "7: the daemon with --quiet-ms 1 still runs" alive "$W7"
	check "7: upperwatch never opened the FIFO: the writer is still blocked" \
	    test ! -e "$S/unblocked" -a -d "/proc/$WR"
	wait_until 10 settled "$EV"
	wait_until 10 settled "$EV7"
	echo "# 7: events on /srv/ff during the loop: $(grep -c '"path":"/srv/ff/' "$EV") and $(grep -c '"path":"/srv/ff/' "$EV7") (--quiet-ms 1)"
	for n in f p; do
		case $(stat -c %F "$U1/srv/ff/$n") in
		fifo) final=fifo ;;
		"regular file") final=file ;;
		*) final=other ;;
		esac
		expect_eq "7: /srv/ff/$n: its last event has its final type (both daemons)" "$final $final" \
		    "$(jq -r --arg p "/srv/ff/$n" 'select(.path == $p) | .type' "$EV" 2>/dev/null | tail -n 1) $(jq -r --arg p "/srv/ff/$n" 'select(.path == $p) | .type' "$EV7" 2>/dev/null | tail -n 1)"
	done
	stop_bg "$W7"
	expect_eq "7: the daemon with --quiet-ms 1: SIGTERM, exit 0" 0 "$BG_STATUS"
	fifo=$(find "$U1/srv/ff" -type p | head -n 1)
	timeout 5 cat "$fifo" >/dev/null 2>&1
	if wait_until 5 test -e "$S/unblocked"; then
		pass "7 control: an open for read of the upper's FIFO from the host unblocks the writer"
	else
		fail "7 control: the writer is still blocked after the host opened $fifo for read"
	fi
	stop_bg "$WR"
}

# ---- the end of c1 ---------------------------------------------------------------

stop_c1() {
	check "the daemon on $C1 still runs" alive "$W"
	stop_bg "$W"
	expect_eq "the daemon on $C1: SIGTERM, exit 0" 0 "$BG_STATUS"
	runc kill "$C1" KILL 2>/dev/null
	wait_until 10 sh -c "! runc state '$C1' >/dev/null 2>&1"
	umount "$RS/$C1/bundle/rootfs" 2>/dev/null
}

# ---- 2. RENAME_EXCHANGE of a dir and a symlink ---------------------------------

scenario_2() {
	HOSTDIR=$RS/hostdir
	mkdir -p "$HOSTDIR/sub/deeper" "$HOSTDIR/other"
	dir_keys "$HOSTDIR" | sort >"$S/host.keys"
	start_c "$C2" && start_c "$C3" || { fail "2: containers did not start"; return; }
	U2=$RS/$C2/upper
	xc "$C2" "mkdir -p /srv/race/d/sub/deeper && echo x > /srv/race/d/sub/deeper/f && ln -s '$HOSTDIR' /srv/race/l" ||
	    fail "2: setup in $C2 failed"
	start_upperwatch H "$HEV" "$HERR" --db "$DB2" watch
	wait_until 60 grep -q "watching container $C2 " "$HERR" ||
	    fail "2: the host daemon did not watch $C2: $(head -c 300 "$HERR")"
	wait_until 30 grep -q "watching container $C3 " "$HERR" ||
	    fail "2: the host daemon did not watch $C3"
	expect_event "2: the host daemon's start-up scan of $C2" "$HEV" 0 20 \
	    '.path == "/srv/race/d/sub/deeper/f" and .container.id == $c' --arg c "$C2"

	inotifywait -m -r "$U2" >/dev/null 2>"$S/iw.err" &
	IW=$!
	cleanup_push "stop_bg $IW"
	wait_until 10 grep -q "Watches established" "$S/iw.err" || fail "2: inotifywait did not start"

	# (find may miss the dir while it is swapped: take its keys now)
	upper_dir_keys >"$S/upper.keys"
	from=$(wc -l <"$HEV")
	timeout -k 5 60 runc exec "$C2" hostile exchange-loop /srv/race/d /srv/race/l 10 </dev/null >"$S/loop.out" 2>&1 &
	LOOP=$!
	: >"$S/h.seen"
	: >"$S/diff.rcs"
	# diffs of c2, one after the other, as long as the loop runs
	(
		while alive "$LOOP"; do
			timeout 60 "$UPPERWATCH" --db "$DB2" diff --container "$C2" --json >/dev/null 2>"$S/diff.err"
			rc=$?
			alive "$LOOP" && echo "$rc $(tail -n 1 "$S/diff.err" | cut -c 1-200)" >>"$S/diff.rcs"
			sleep 0.2
		done
	) &
	DIFFS=$!
	cleanup_push "kill $DIFFS"
	k=0
	while alive "$LOOP" && [ $k -lt 80 ]; do
		inotify_watches "$H" >>"$S/h.seen"
		case $k in
		2) xc "$C3" 'echo c3 > /etc/bystander' || fail "2: the change in $C3 failed" ;;
		3) outside_mid=$(comm -23 <(inotify_watches "$H" | sort -u) \
		    <(cat "$S/upper.keys" - <<<"$(upper_dir_keys)" | sort -u) | wc -l) ;;
		esac
		k=$((k + 1))
		sleep 0.5
	done
	wait "$LOOP"
	wait "$DIFFS"
	echo "# 2: $(cat "$S/loop.out"); $(wc -l <"$S/diff.rcs") diffs and $k samples of the watches during it"
	SWAPS=$(sed -n 's/^swaps \([0-9]*\)$/\1/p' "$S/loop.out")
	check "2 control: the loop exchanged the dir and the symlink more than 1,000 times (${SWAPS:-0})" \
	    test "${SWAPS:-0}" -gt 1000
	check "2: the host daemon is still alive after the loop" alive "$H"
	if ! alive "$H"; then
		echo "# host daemon: $(tail -n 3 "$HERR" | tr '\n' ';')" >&2
	fi
	expect_eq "2: diff --container $C2 during the loop: every exit 0 or 1, never 2" "" \
	    "$(grep -v '^[01] ' "$S/diff.rcs" | tr '\n' ';')"
	check "2: diff --container ran during the loop" test -s "$S/diff.rcs"
	sort -u "$S/h.seen" >"$S/h.seen.u"
	expect_eq "2: the daemon never watched the host dir the symlink points to (fdinfo)" "" \
	    "$(comm -12 "$S/h.seen.u" "$S/host.keys" | tr '\n' ';')"
	echo "# 2: watches outside any upper dir a few s into the loop: ${outside_mid:-?}"
	confirmed_outside() {
		inotify_watches "$H" | sort -u >"$S/ow.w1"
		upper_dir_keys | sort -u >"$S/ow.u1"
		comm -23 "$S/ow.w1" "$S/ow.u1" >"$S/ow.o1"
		[ -s "$S/ow.o1" ] || return 0
		sleep 0.3	# a dir removed in between is no finding
		comm -23 <(inotify_watches "$H" | sort -u) <(upper_dir_keys | sort -u) | comm -12 - "$S/ow.o1"
	}
	expect_eq "2: after the loop, every watch of the daemon is on a dir of an upper dir" "" \
	    "$(confirmed_outside | head -n 5 | tr '\n' ';')"
	inotify_watches "$IW" | sort -u >"$S/iw.keys"
	check "2 control: inotifywait -m -r on the upper ended up watching the host dir ($(comm -12 "$S/iw.keys" "$S/host.keys" | wc -l) of its dirs)" \
	    test -n "$(comm -12 "$S/iw.keys" "$S/host.keys")"
	stop_bg "$IW"
	expect_event "2: the change in $C3 made during the loop is reported" "$HEV" "$from" 20 \
	    '.path == "/etc/bystander" and .op == "added" and .container.id == $c' --arg c "$C3"
	from2=$(wc -l <"$HEV")
	xc "$C2" 'echo after > /etc/after-loop' || fail "2: the change after the loop failed"
	expect_event "2: a change in $C2 after the loop is reported" "$HEV" "$from2" 10 \
	    '.path == "/etc/after-loop" and .op == "added" and .container.id == $c' --arg c "$C2"
	check "2: the host daemon still runs" alive "$H"
	stop_bg "$H"
	expect_eq "2: the host daemon: SIGTERM, exit 0" 0 "$BG_STATUS"
}

# ---- run them ---------------------------------------------------------------------

# want N: scenario N is to run (all of them, or those in UWT_ONLY="1 7").
want() { [ -z "${UWT_ONLY:-}" ] || [[ " $UWT_ONLY " == *" $1 "* ]]; }
for sc in 1 4 3 8 7; do
	want $sc || continue
	t_sc=$EPOCHREALTIME
	ensure_watch "$sc"
	"scenario_$sc"
	echo "# scenario $sc: $(elapsed "$t_sc") s"
done
stop_c1
if want 2; then
	t_sc=$EPOCHREALTIME
	scenario_2
	echo "# scenario 2: $(elapsed "$t_sc") s"
fi

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP" 2>/dev/null	# not the deep chain
finish
