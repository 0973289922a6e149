#!/bin/bash
# evasion_coverage: a container must not be able to make upperwatch watch
# less than it says, or report a change half-made (issue 12).  Each
# attack runs inside a real runc container (uwt-evc-<pid>-*, cgroups
# under /uwt-evc-<pid>) while the daemon watches.
#   6. Watch budget: `watch --container c6 --max-watches-per-container 50
#      --rescan 2`; the container makes 100 dirs: a WARNING line (printed
#      as a coverage loss) naming c6 and its watches; status says c6
#      "rescan_only": true with at most 50 watches (and fdinfo agrees);
#      all 100 dirs and a file made in one of them are still reported
#      (by rescans, within 5 s).  Then it removes them: after a rescan
#      c6 is watched again ("rescan_only": false, watches > 0) and a new
#      change is reported within 2 s.
#   9. Rescans respect the quiet period: the daemon starts with
#      fs.inotify.max_queued_events = 16 (put back at once) and
#      --quiet-ms 100; three rounds of a 3,000-file burst, each file
#      created empty and written a moment (8 files) later.  Every path
#      is reported exactly once, each file with its final, non-zero
#      size; never an `added` of size 0 and then another `added`.
#      Control: the queue overflowed (a notice says so).
#   5. A broken image is watched anyway: c5's image layer holds a chain
#      4,100 dirs deep, so its baseline cannot be complete.  The host
#      daemon (`watch --quiet`, own db): a "WARNING: ... baseline ...
#      incomplete" line despite --quiet (and nothing but WARNING lines),
#      c5 is watched (its start-up drift and a change elsewhere are
#      reported), status lists it.  Control: `baseline` of that layer
#      exits 2 without --allow-incomplete (and 0 with it).
#  10. pid and cgroup known only later: c10's overlay is mounted first;
#      the host daemon (own db, a policy that kills on /tmp/kill-me-PID)
#      watches that mount before any runtime claims it; then `runc run`
#      starts the container on it, and the container creates the file:
#      it is killed (its init gone, `runc state` gone).  Control: the
#      event is reported with a kill verdict.
#
# Needs root, runc, a static busybox, cc with a static libc, jq, sysctl.
# UWT_ONLY="6 9" runs only those scenarios; UWT_KEEP=DIR keeps a copy of
# the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox cc jq sysctl timeout find
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"
[ -w /proc/sys/fs/inotify/max_queued_events ] || skip "cannot set fs.inotify.max_queued_events"

umask 022
export LC_ALL=C
P=uwt-evc-$$
C5=$P-c5 C6=$P-c6 C9=$P-c9 C10=$P-c10
RS=$(realpath "$S")
L=$RS/layers/plain L5=$RS/layers/deep
INIT="echo up > /tmp/started; while true; do sleep 1; done"

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- helpers ---------------------------------------------------------------

xc() { runc_sh "$1" "$2"; }
lines() { tail -n +"$(($2 + 1))" "$1"; }
more_than() { [ "$(grep -c -e "$2" "$3" 2>/dev/null)" -gt "$1" ]; }

# event_in FILE FROM FILTER [JQ ARGS]: a line after FROM passes FILTER.
event_in() {
	local f=$1 from=$2 filter=$3
	shift 3
	lines "$f" "$from" | jq -c "$@" "select($filter)" 2>/dev/null | grep -q .
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
	    jq -r '"\(.op) \(.path[0:90]|@json) \(.container.id)"' 2>/dev/null | tail -n 5 | tr '\n' ';')"
	return 1
}

# status_is DB FILTER [JQ ARGS]: `status --json` passes FILTER (the
# output kept in status.out).
status_is() {
	local db=$1 filter=$2
	shift 2
	timeout 10 "$UPPERWATCH" --db "$db" status --json >"$S/status.out" 2>&1 &&
	    jq -e "$@" "$filter" "$S/status.out" >/dev/null 2>&1
}
status_of() { jq -c --arg c "$1" '.containers[]? | select(.id == $c)' "$S/status.out" 2>/dev/null || head -c 200 "$S/status.out"; }

# quiet_for FILE: FILE did not grow for 3 s.
quiet_for() {
	local a b
	a=$(wc -l <"$1")
	sleep 3
	b=$(wc -l <"$1")
	[ "$a" = "$b" ]
}

# start_c CID LAYER: a container (run_container) on LAYER; waits for its
# init.
start_c() {
	run_container "$RS/$1" "$1" "$2" "/$P/$1" "$INIT" &&
		wait_until 10 test -s "$RS/$1/upper/tmp/started"
}

# stop_c CID: kill it and unmount its rootfs (so that host daemons
# started later do not see it).
stop_c() {
	runc kill "$1" KILL 2>/dev/null
	wait_until 10 sh -c "! runc state '$1' >/dev/null 2>&1"
	umount "$RS/$1/bundle/rootfs" 2>/dev/null
}

# ---- the layers ------------------------------------------------------------

build_hostile "$S/hostile" || { fail "cannot build hostile.c"; finish; }
for l in "$L" "$L5"; do
	mkdir -p "$l"/{bin,etc,proc,sys,dev,tmp,root,srv}
	(
		set -e
		busybox_layer "$l" sh ls cat echo sleep touch rm mkdir true
		echo 'root:x:0:0:root:/root:/bin/sh' >"$l/etc/passwd"
	) || fail "building the layer $l failed"
done
"$S/hostile" deep-mkdir "$L5/srv" 4100 >/dev/null || fail "the deep chain in the layer"

# ---- 6. the watch budget -------------------------------------------------------

scenario_6() {
	local DB6=$RS/db6 EV6=$S/ev6.jsonl ERR6=$S/err6 W6 n_err from f2 f3 nw t0 dt

	start_c "$C6" "$L" || { fail "6: $C6 did not start"; return; }
	start_upperwatch W6 "$EV6" "$ERR6" --db "$DB6" watch --container "$C6" \
	    --max-watches-per-container 50 --rescan 2
	if wait_until 30 grep -q "watching container $C6 " "$ERR6"; then
		pass "6: watch --container $C6 --max-watches-per-container 50 --rescan 2 runs"
	else
		fail "6: no 'watching container' notice (the rest of 6 not run): $(head -c 300 "$ERR6")"
		return
	fi
	wait_until 10 jq -e 'select(.path == "/tmp/started")' "$EV6" >/dev/null 2>&1
	n_err=$(wc -l <"$ERR6")
	from=$(wc -l <"$EV6")
	xc "$C6" 'mkdir /many && i=0 && while [ $i -lt 100 ]; do mkdir /many/d$i; i=$((i + 1)); done' ||
	    fail "6: mkdir of 100 dirs failed"
	budget_warning() { lines "$ERR6" "$n_err" | grep ' upperwatch: WARNING: ' | grep -F "$C6" | grep -qi watch; }
	if wait_until 10 budget_warning; then
		pass "6: a WARNING line about $C6's watches: $(lines "$ERR6" "$n_err" | grep ' WARNING: ' | grep -F "$C6" | head -n 1 | cut -c 1-200)"
	else
		fail "6: no WARNING line naming $C6 and its watches within 10 s: $(lines "$ERR6" "$n_err" | head -n 3 | tr '\n' ';')"
	fi
	if wait_until 15 status_is "$DB6" '.containers[] | select(.id == $c) | .rescan_only == true and .watches <= 50' --arg c "$C6"; then
		pass "6: status: $C6 rescan_only, at most 50 watches: $(status_of "$C6")"
	else
		fail "6: status does not say $C6 is rescan_only with <= 50 watches within 15 s: $(status_of "$C6")"
	fi
	nw=$(inotify_watches "$W6" | wc -l)
	check "6: the daemon runs and holds at most 50 inotify watches (fdinfo: $nw)" \
	    test -d "/proc/$W6" -a "$nw" -le 50
	f2=$(wc -l <"$EV6")
	xc "$C6" 'echo x > /many/d77/f' || fail "6: the change in a new dir failed"
	expect_event "6: over budget, a file made in a new dir is reported (rescans every 2 s)" \
	    "$EV6" "$f2" 5 '.path == "/many/d77/f" and .op == "added"'
	expect_eq "6: all 100 new dirs reported" 100 \
	    "$(lines "$EV6" "$from" | jq -r 'select(.op == "added" and (.path | test("^/many/d[0-9]+$"))) | .path' | sort -u | wc -l)"
	xc "$C6" 'rm -rf /many' || fail "6: rm -rf /many failed"
	if wait_until 20 status_is "$DB6" '.containers[] | select(.id == $c) | .rescan_only == false and .watches > 0' --arg c "$C6"; then
		pass "6: after the dirs are gone, $C6 is watched again: $(status_of "$C6")"
	else
		fail "6: $C6 is not watched again within 20 s of removing the dirs: $(status_of "$C6")"
	fi
	nw=$(inotify_watches "$W6" | wc -l)
	check "6: the daemon holds inotify watches again, at most 50 (fdinfo: $nw)" test "$nw" -gt 0 -a "$nw" -le 50
	f3=$(wc -l <"$EV6")
	t0=$EPOCHREALTIME
	xc "$C6" 'echo y > /etc/back' || fail "6: the change after recovery failed"
	if wait_until 5 event_in "$EV6" "$f3" '.path == "/etc/back" and .op == "added"'; then
		dt=$(elapsed "$t0")
		check "6: watched again: a new change reported within 2 s ($dt s)" awk -v d="$dt" 'BEGIN { exit !(d <= 2.0) }'
	else
		fail "6: watched again: /etc/back not reported within 5 s"
	fi
	check "6: the daemon still runs" alive "$W6"
	stop_bg "$W6"
	expect_eq "6: SIGTERM, exit 0" 0 "$BG_STATUS"
}

# ---- 9. rescans respect the quiet period ------------------------------------------

scenario_9() {
	local DB9=$RS/db9 EV9=$S/ev9.jsonl ERR9=$S/err9 U9=$RS/$C9/upper W9 OLDQ started=0 from

	start_c "$C9" "$L" || { fail "9: $C9 did not start"; return; }
	OLDQ=$(sysctl -n fs.inotify.max_queued_events)
	sysctl_set fs.inotify.max_queued_events 16 || fail "9: cannot lower max_queued_events"
	start_upperwatch W9 "$EV9" "$ERR9" --db "$DB9" watch --container "$C9" --quiet-ms 100
	wait_until 30 grep -q "watching container $C9 " "$ERR9" && started=1
	# the daemon's queue is sized: nobody else's must be
	sysctl -qw "fs.inotify.max_queued_events=$OLDQ"
	expect_eq "9: max_queued_events put back" "$OLDQ" "$(sysctl -n fs.inotify.max_queued_events)"
	if [ $started = 0 ]; then
		fail "9: no 'watching container' notice (the rest of 9 not run): $(head -c 300 "$ERR9")"
		return
	fi
	wait_until 10 jq -e 'select(.path == "/tmp/started")' "$EV9" >/dev/null 2>&1
	from=$(wc -l <"$EV9")
	xc "$C9" 'for r in 1 2 3; do
		mkdir /burst$r || exit 1
		i=0
		while [ $i -lt 3000 ]; do
			: > /burst$r/f$i
			if [ $i -ge 8 ]; then echo "data $r $((i - 8))" > /burst$r/f$((i - 8)); fi
			i=$((i + 1))
		done
		i=2992
		while [ $i -lt 3000 ]; do echo "data $r $i" > /burst$r/f$i; i=$((i + 1)); done
		sleep 1
	done' || fail "9: the burst failed"
	wait_until 120 quiet_for "$EV9" || fail "9: the daemon did not go quiet within 120 s"
	check "9 control: the queue overflowed (a notice says so)" grep -qi overflow "$ERR9"
	(cd "$U9" && find burst1 burst2 burst3 -printf '/%p %y %s\n') |
	    awk '{ print $1, ($2 == "d" ? "dir -" : "file " $3) }' | sort >"$S/want9"
	lines "$EV9" "$from" | jq -r 'select(.path | startswith("/burst")) |
	    "\(.path) \(.type) \(if .type == "dir" then "-" else .current.size end)"' 2>/dev/null | sort >"$S/got9"
	expect_eq "9: the upper holds 3 dirs and 9,000 files" 9003 "$(wc -l <"$S/want9")"
	check "9: no file is empty in the end" test -z "$(awk '$2 == "file" && $3 == 0' "$S/want9" | head -n 1)"
	if cmp -s "$S/want9" "$S/got9"; then
		pass "9: every path reported exactly once, each file with its final size"
	else
		fail "9: reports != the final upper: $(comm -23 "$S/want9" "$S/got9" | wc -l) missing or stale" \
		    "(e.g. $(comm -23 "$S/want9" "$S/got9" | head -n 2 | tr '\n' ';')), $(comm -13 "$S/want9" "$S/got9" | wc -l)" \
		    "extra (e.g. $(comm -13 "$S/want9" "$S/got9" | head -n 2 | tr '\n' ';'))"
	fi
	expect_eq "9: paths reported more than once" 0 "$(cut -d' ' -f1 "$S/got9" | uniq -d | wc -l)"
	expect_eq "9: an 'added' of size 0 followed by another 'added' of the same path" 0 \
	    "$(lines "$EV9" "$from" | jq -r 'select(.op == "added" and .type == "file") | "\(.path) \(.current.size)"' 2>/dev/null |
	    awk '{ if (seen[$1] == "0") n++; seen[$1] = $2 } END { print n + 0 }')"
	check "9: the daemon still runs" alive "$W9"
	stop_bg "$W9"
	expect_eq "9: SIGTERM, exit 0" 0 "$BG_STATUS"
}

# ---- 5. an image whose baseline cannot be complete ------------------------------

scenario_5() {
	local DB5=$RS/db5 EV5=$S/ev5.jsonl ERR5=$S/err5 W5 rc from

	timeout 120 "$UPPERWATCH" --db "$RS/ctl5.db" baseline -q --image deep "$L5" >"$S/out" 2>&1
	rc=$?
	expect_eq "5 control: baseline of the 4,100-deep layer fails (exit 2)" 2 "$rc"
	echo "# $(head -c 200 "$S/out" | tr '\n' ' ')"
	timeout 120 "$UPPERWATCH" --db "$RS/ctl5.db" baseline -q --allow-incomplete --image deep "$L5" >"$S/out" 2>&1
	expect_eq "5: baseline --allow-incomplete of that layer: exit 0" 0 "$?"
	start_c "$C5" "$L5" || { fail "5: $C5 did not start"; return; }
	start_upperwatch W5 "$EV5" "$ERR5" --db "$DB5" watch --quiet
	if wait_until 60 grep -Eqi ' upperwatch: WARNING: .*baseline.*incomplete' "$ERR5"; then
		pass "5: despite --quiet, a WARNING: $(grep -Ei ' upperwatch: WARNING: .*baseline.*incomplete' "$ERR5" | head -n 1 | cut -c 1-200)"
	else
		fail "5: no 'WARNING: ... baseline ... incomplete' line within 60 s: $(head -n 3 "$ERR5" | cut -c 1-200 | tr '\n' ';')"
	fi
	expect_event "5: $C5 is watched: its start-up drift is reported" "$EV5" 0 20 \
	    '.path == "/tmp/started" and .container.id == $c' --arg c "$C5"
	from=$(wc -l <"$EV5")
	xc "$C5" 'echo x > /etc/elsewhere' || fail "5: the change failed"
	expect_event "5: a change elsewhere in $C5 is reported" "$EV5" "$from" 10 \
	    '.path == "/etc/elsewhere" and .op == "added" and .container.id == $c' --arg c "$C5"
	if wait_until 15 status_is "$DB5" '.containers | any(.[]; .id == $c)' --arg c "$C5"; then
		pass "5: status lists $C5: $(status_of "$C5")"
	else
		fail "5: status does not list $C5 within 15 s"
	fi
	expect_eq "5: --quiet: nothing but WARNING lines on stderr" "" \
	    "$(grep -v ' upperwatch: WARNING: ' "$ERR5" | head -n 3 | cut -c 1-160 | tr '\n' ';')"
	check "5: the daemon still runs" alive "$W5"
	stop_bg "$W5"
	expect_eq "5: SIGTERM, exit 0" 0 "$BG_STATUS"
}

# ---- 10. the runtime comes after the mount ------------------------------------------

scenario_10() {
	local D10=$RS/$C10 U10=$RS/$C10/upper DB10=$RS/db10 EV10=$S/ev10.jsonl ERR10=$S/err10
	local KILLME=/tmp/kill-me-$$ W10 INIT_PID from

	mkdir -p "$S/pol10" "$U10" "$D10/work"
	cat >"$S/pol10/kill.lua" <<EOF
local uw = require("upperwatch")
return { name = "kill-me", description = "kill on $KILLME",
  evaluate = function(ev)
    if ev.op == "added" and ev.path == "$KILLME" then
      return uw.verdict("critical", "kill", "kill-me")
    end
  end }
EOF
	mount_overlay "$L" "$U10" "$D10/work" "$D10/bundle/rootfs" || { fail "10: mount the overlay"; return; }
	start_upperwatch W10 "$EV10" "$ERR10" --db "$DB10" watch --policy "$S/pol10"
	if wait_until 30 grep -q " upper $U10\$" "$ERR10"; then
		pass "10: the host daemon watches the mount before any runtime: $(grep " upper $U10\$" "$ERR10" | head -n 1 | sed 's/^[^ ]* upperwatch: //' | cut -c 1-160)"
	else
		fail "10: the host daemon does not watch $U10 within 30 s: $(head -n 3 "$ERR10" | tr '\n' ';')"
	fi
	if runc_start "$D10" "$C10" "/$P/$C10" "$INIT" && wait_until 10 test -s "$U10/tmp/started"; then
		INIT_PID=$(cat "$D10/pid")
		pass "10: runc started $C10 on the watched rootfs (init pid $INIT_PID)"
		sleep 1
		from=$(wc -l <"$EV10")
		xc "$C10" "touch $KILLME" || fail "10: touch $KILLME failed"
		expect_event "10 control: $KILLME reported with a kill verdict" "$EV10" "$from" 10 \
		    '.path == $p and .verdict.action == "kill"' --arg p "$KILLME"
		gone() { ! alive "$INIT_PID" && ! runc state "$C10" >/dev/null 2>&1; }
		if wait_until 10 gone; then
			pass "10: the container was killed (init gone, runc state gone)"
		else
			fail "10: $C10 still runs 10 s after $KILLME: runc state $(runc state "$C10" 2>/dev/null | jq -r .status); $(grep -i -e kill -e "$C10" "$ERR10" | tail -n 2 | cut -c 1-200 | tr '\n' ';')"
		fi
	else
		fail "10: runc could not start $C10 on the mounted rootfs"
	fi
	check "10: the daemon still runs" alive "$W10"
	stop_bg "$W10"
	expect_eq "10: SIGTERM, exit 0" 0 "$BG_STATUS"
}

# ---- run them ---------------------------------------------------------------------

# want N: scenario N is to run (all of them, or those in UWT_ONLY="6 9").
want() { [ -z "${UWT_ONLY:-}" ] || [[ " $UWT_ONLY " == *" $1 "* ]]; }
for sc in 6 9 5 10; do
	want $sc || continue
	t_sc=$EPOCHREALTIME
	"scenario_$sc"
	echo "# scenario $sc: $(elapsed "$t_sc") s"
	# host daemons started later must not see this one's container
	case $sc in 6) stop_c "$C6" ;; 9) stop_c "$C9" ;; 5) stop_c "$C5" ;; esac
done

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP" 2>/dev/null	# not the deep chain
finish
