#!/bin/bash
# prevent_runc: `watch --prevent` on a real runc container.  From inside
# it, through its merged view:
#   - a dropped copy of busybox (/tmp/sh) is refused when a policy answers
#     deny to its exec: the shell says "Operation not permitted", exit
#     126; so is one unlinked before it runs from an open fd (execveat),
#     reported by the name it had, and one dropped deeper than PATH_MAX
#     (reported as "(a path longer than PATH_MAX)"); image binaries run
#     (exit 0); the
#     refused exec is reported as op "exec" with "prevented": true and
#     verdict action deny; status
#     counts it (prevent.denied) and the image execs (prevent.fast);
#   - an image script runs (twice), then is appended to: now drift, its
#     next exec is refused; the same for one made setuid, and one
#     renamed, without a write, each run at once after, and one changed
#     through a shared mapping (no write: no ignore mark may outlive it);
#   - a policy that fails on exec events never refuses: the dropped
#     binary runs;
#   - a judgement past --prevent-deadline-ms is allowed and counted as a
#     fail-open;
#   - SIGKILL of the daemon while the container execs in a loop: no exec
#     is left held (the loop ends), and nothing is refused afterwards.
#
# Needs root, runc, a static busybox, jq.  UWT_KEEP=DIR keeps a copy of
# the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq timeout
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-prev-$$
C=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
EV=$S/events.jsonl ERR=$S/watch.err

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# xc COMMAND: run COMMAND with sh -c in the container, output in $S/exec.out.
xc() { runc_sh -t 20 "$C" "$1"; }

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root}
busybox_layer "$L1" sh cat echo sleep cp true || { fail "building the layer failed"; finish; }
build_hostile "$L1/bin/hostile" || { fail "building hostile failed"; finish; }
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
mkdir -p "$L1/opt"
printf '#!/bin/sh\necho v1\n' >"$L1/opt/run.sh"
chmod 755 "$L1/opt/run.sh"
for t in suid moved; do printf '#!/bin/sh\necho %s\n' "$t" >"$L1/opt/$t.sh"; done
chmod 755 "$L1/opt/suid.sh" "$L1/opt/moved.sh"
printf '#!/bin/sh\necho m1\n' >"$L1/opt/mapped.sh"
chmod 755 "$L1/opt/mapped.sh"
printf '#!/bin/sh\necho m2' >"$L1/opt/payload"
echo 'cp /bin/busybox ./sh && ./sh -c "echo ran"; echo rc=$?' >"$L1/opt/deeprun.sh"

mkdir -p "$S/deny" "$S/broken" "$S/slow"
cat >"$S/deny/deny.lua" <<'EOF'
local uw = require("upperwatch")
return { name = "deny-drift-exec", description = "refuse what the container dropped",
  evaluate = function(ev)
    if ev.op == "exec" then
      return uw.verdict("critical", "deny", "drift ran: " .. ev.path)
    end
  end }
EOF
cat >"$S/broken/broken.lua" <<'EOF'
return { name = "broken-on-exec", description = "fails on exec events",
  evaluate = function(ev)
    if ev.op == "exec" then error("boom") end
  end }
EOF
cat >"$S/slow/slow.lua" <<'EOF'
local uw = require("upperwatch")
return { name = "slow-deny", description = "denies, after a while",
  evaluate = function(ev)
    if ev.op == "exec" then
      local x = 0
      for i = 1, 300000 do x = x + i % 7 end
      return uw.verdict("critical", "deny", "slow " .. x)
    end
  end }
EOF

check "runc container started" run_container "$RS/c1" "$C" "$L1" "/$P/c1" \
	"echo up > /tmp/started; while true; do sleep 1; done"
wait_until 10 test -s "$RS/c1/upper/tmp/started" || { fail "$C did not start"; finish; }

# daemon POLICY_DIR [ARGS...]: a fresh watcher with --prevent; sets W.
daemon() {
	local pol=$1 n
	shift
	n=$(grep -c 'watching container' "$ERR" 2>/dev/null || true)
	"$UPPERWATCH" --db "$S/db" watch --container "$C" --prevent --policy "$pol" \
		--output "$EV" "$@" 2>>"$ERR" &
	W=$!
	cleanup_push "stop_bg $W"
	wait_until 20 sh -c "[ \$(grep -c 'watching container' '$ERR') -gt ${n:-0} ]"
}
status() { jq -c "$1" "$S/status.json" 2>/dev/null; }
# refused WHAT RC COMMAND: run COMMAND (which echoes rc=$?) in the
# container; pass when it ended with RC and nothing printed "ran".
refused() {
	xc "$3"
	if grep -q "^rc=$2\$" "$S/exec.out" && ! grep -q '^ran$' "$S/exec.out"; then
		pass "$1"
	else
		fail "$1: not so: $(tr '\n' '|' <"$S/exec.out" | head -c 300)"
	fi
}
# refused_event PATH: a refused exec of PATH is reported.
refused_event() {
	wait_until 5 json_has "$EV" '.op == "exec" and .path == $p and .prevented == true' --arg p "$1" ||
		fail "no refused exec of '$1': $(jq -c 'select(.op == "exec")' "$EV" | tail -n 2 | head -c 400)"
}

# ---- deny ----------------------------------------------------------------------

daemon "$S/deny" || { fail "watch --prevent did not start: $(head -c 600 "$ERR")"; finish; }
grep -q 'cannot be guarded' "$ERR" && fail "not guarded: $(grep guarded "$ERR" | head -c 300)"
xc 'cp /bin/busybox /tmp/sh' || fail "dropping a binary"
wait_until 5 json_has "$EV" '.path == "/tmp/sh" and .op == "added"' || fail "the dropped binary was not reported"

xc '/tmp/sh -c "echo ran"; echo rc=$?'
if grep -q '^rc=126$' "$S/exec.out" && ! grep -q '^ran$' "$S/exec.out"; then
	pass "the dropped binary is refused: $(tr '\n' ' ' <"$S/exec.out" | head -c 200)"
else
	fail "the dropped binary was not refused: $(tr '\n' '|' <"$S/exec.out" | head -c 300)"
fi
# Unlinked before it runs (execveat of an open fd): no name leads to it
# any more, and it is still what the container dropped.
refused "a dropped binary unlinked before it runs is refused" 1 \
	'cp /bin/busybox /tmp/gone && /bin/hostile exec-unlinked /tmp/gone sh -c "echo ran"; echo rc=$?'
grep -q 'execveat: Operation not permitted' "$S/exec.out" ||
	fail "the unlinked binary's execveat did not fail with EPERM: $(head -c 300 "$S/exec.out")"
refused_event /tmp/gone
# The same with a second name left (a hard link: the file is still there,
# its name that ran is not), and a file named as the kernel marks one
# that is gone: judged by the name it has.
refused "a dropped binary run once one of its two names is unlinked is refused" 1 \
	'cp /bin/busybox /tmp/h1 && ln /tmp/h1 /tmp/h2 && /bin/hostile exec-unlinked /tmp/h1 sh -c "echo ran"; echo rc=$?'
# Deeper than the kernel names a path (over PATH_MAX): the binary is
# dropped and run from a working dir 25 dirs of 200-byte names down.
long=$(printf "%0200d" 0 | tr 0 l)
refused "a binary dropped deeper than PATH_MAX is refused" 126 \
	"/bin/hostile deep-in /tmp 25 $long sh /opt/deeprun.sh"
refused_event "(a path longer than PATH_MAX)"
# A decoy at the name the kernel gives the unlinked one: a dir.
refused "an unlinked binary with a decoy dir at '<name> (deleted)' is refused" 1 \
	'cp /bin/busybox /tmp/d1 && ln /tmp/d1 /tmp/d2 && mkdir "/tmp/d1 (deleted)" && /bin/hostile exec-unlinked /tmp/d1 sh -c "echo ran"; echo rc=$?'
refused "a binary named '... (deleted)' is refused" 126 \
	'cp /bin/busybox "/tmp/x (deleted)" && "/tmp/x (deleted)" sh -c "echo ran"; echo rc=$?'
refused_event /tmp/h1
refused_event "/tmp/x (deleted)"
xc '/bin/true; echo rc=$?; /bin/sh -c "echo image-ran"'
if grep -q '^rc=0$' "$S/exec.out" && grep -q '^image-ran$' "$S/exec.out"; then
	pass "image binaries run"
else
	fail "an image binary did not run: $(head -c 300 "$S/exec.out")"
fi
if wait_until 5 json_has "$EV" '.op == "exec" and .path == "/tmp/sh" and .prevented == true'; then
	ev=$(jq -c 'select(.op == "exec" and .prevented == true)' "$EV" | tail -n 1)
	expect_eq "the refused exec: its verdict" "critical deny" "$(jq -r '"\(.verdict.severity) \(.verdict.action)"' <<<"$ev")"
	expect_eq "the refused exec: who tried, by cgroup" "$C" "$(jq -r '.process.container' <<<"$ev")"
else
	fail "no exec event with prevented true: $(jq -c 'select(.op == "exec")' "$EV" | head -c 300)"
fi
# An image file that ran, once modified, is drift, and refused.
xc '/opt/run.sh; /opt/run.sh; echo "echo v2" >> /opt/run.sh; /opt/run.sh; echo rc=$?'
if grep -q '^rc=126$' "$S/exec.out" && ! grep -q '^v2$' "$S/exec.out" && [ "$(grep -c '^v1$' "$S/exec.out")" = 2 ]; then
	pass "an image script ran twice, then, once modified, was refused"
else
	fail "image script modified after it ran: $(tr '\n' ' ' <"$S/exec.out" | head -c 300)"
fi
# Nor when it changes without a write: its mode (setuid), its name.
# (the run after the change waits for the daemon to have seen it: its
# event, a moment that a fixed sleep misses on a loaded machine)
xc '/opt/suid.sh; chmod 4755 /opt/suid.sh'
n1=$(grep -c '^suid$' "$S/exec.out")
wait_until 10 json_has "$EV" '.op == "metadata" and .path == "/opt/suid.sh"' ||
	fail "no metadata event for /opt/suid.sh"
xc '/opt/suid.sh; echo rc=$?'
if grep -q '^rc=126$' "$S/exec.out" && [ "$n1" = 1 ] && ! grep -q '^suid$' "$S/exec.out"; then
	pass "an image script that ran, made setuid, was refused"
else
	fail "image script made setuid after it ran: $(tr '\n' ' ' <"$S/exec.out" | head -c 300)"
fi
xc '/opt/moved.sh; mv /opt/moved.sh /opt/elsewhere.sh'
n1=$(grep -c '^moved$' "$S/exec.out")
wait_until 10 json_has "$EV" '.op == "added" and .path == "/opt/elsewhere.sh"' ||
	fail "no added event for /opt/elsewhere.sh"
xc '/opt/elsewhere.sh; echo rc=$?'
if grep -q '^rc=126$' "$S/exec.out" && [ "$n1" = 1 ] && ! grep -q '^moved$' "$S/exec.out"; then
	pass "an image script that ran, renamed, was refused"
else
	fail "image script renamed after it ran: $(tr '\n' ' ' <"$S/exec.out" | head -c 300)"
fi
# Nor when it is changed through a shared mapping, which the kernel does
# not count as a write (no FAN_MODIFY clears the mark): the copy-up it
# takes is enough.
xc '/opt/mapped.sh; /bin/hostile mmap-write /opt/mapped.sh "$(cat /opt/payload)"'
n1=$(grep -c '^m1$' "$S/exec.out")
wait_until 10 json_has "$EV" '.op == "modified" and .path == "/opt/mapped.sh"' ||
	fail "no modified event for /opt/mapped.sh: $(jq -c 'select(.path == "/opt/mapped.sh")' "$EV" | head -c 300)"
xc '/opt/mapped.sh; echo rc=$?'
if grep -q '^rc=126$' "$S/exec.out" && [ "$n1" = 1 ] && ! grep -q '^m2$' "$S/exec.out"; then
	pass "an image script that ran, changed through a mapping, was refused"
else
	fail "image script changed through a mapping after it ran: $n1 $(tr '\n' ' ' <"$S/exec.out" | head -c 300)"
fi
if wait_until 8 sh -c "jq -e '.prevent.denied >= 4 and .prevent.fast >= 1' '$S/status.json' >/dev/null 2>&1"; then
	pass "status counts it: $(status .prevent)"
else
	fail "status: $(status .prevent)"
fi
# The Grafana dashboard queries only metrics a daemon writes (this one,
# with --prevent, writes them all).
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
dash=$SRC/contrib/grafana/upperwatch.json
queried=$(jq -r '.. | .expr? // empty' "$dash" | grep -o 'upperwatch_[a-z_]*' | sort -u)
check "the dashboard queries metrics ($(wc -w <<<"$queried"))" test -n "$queried"
missing=$(for q in $queried; do grep -q "^# TYPE $q " "$S/upperwatch.prom" || echo "$q"; done)
expect_eq "every metric the dashboard queries is written" "" "$(printf '%s' "$missing" | tr '\n' ' ')"
stop_bg "$W"
expect_eq "watch --prevent stops cleanly" 0 "$BG_STATUS"
xc '/tmp/sh -c "echo ran"; echo rc=$?'
grep -q '^ran$' "$S/exec.out" || fail "after the daemon stopped, the binary is still refused: $(head -c 200 "$S/exec.out")"

# ---- a policy that fails never denies ------------------------------------------------

daemon "$S/broken" || { fail "watch --prevent (broken policy) did not start"; finish; }
xc '/tmp/sh -c "echo ran"; echo rc=$?'
if grep -q '^ran$' "$S/exec.out" && grep -q '^rc=0$' "$S/exec.out"; then
	pass "a policy failing on exec never refuses: the binary ran"
else
	fail "a failing policy refused an exec: $(head -c 300 "$S/exec.out")"
fi
stop_bg "$W"

# ---- the deadline --------------------------------------------------------------------

daemon "$S/slow" --prevent-deadline-ms 1 || { fail "watch --prevent (slow policy) did not start"; finish; }
xc '/tmp/sh -c "echo ran"; echo rc=$?'
if grep -q '^ran$' "$S/exec.out"; then
	pass "a judgement past the deadline allows the exec"
else
	fail "a slow deny past the deadline refused: $(head -c 300 "$S/exec.out")"
fi
if wait_until 8 sh -c "jq -e '.prevent.fail_open >= 1 and .prevent.denied == 0' '$S/status.json' >/dev/null 2>&1"; then
	pass "the fail-open is counted: $(status .prevent)"
else
	fail "fail-open not counted: $(status .prevent)"
fi
stop_bg "$W"

# ---- SIGKILL while execs are held -------------------------------------------------------

daemon "$S/slow" || { fail "watch --prevent (for SIGKILL) did not start"; finish; }
timeout -k 2 30 runc exec "$C" sh -c 'i=0; while [ $i -lt 200 ]; do /tmp/sh -c true; /bin/true; i=$((i + 1)); done; echo loop-done' \
	</dev/null >"$S/loop.out" 2>&1 &
LOOP=$!
sleep 0.5
kill -KILL "$W"
wait "$W" 2>/dev/null
t0=$EPOCHREALTIME
if wait_until 20 grep -q loop-done "$S/loop.out"; then
	pass "SIGKILL of the daemon: the exec loop went on to its end ($(elapsed "$t0") s after)"
else
	fail "SIGKILL of the daemon: the exec loop did not end within 20 s"
fi
wait "$LOOP" 2>/dev/null
xc '/tmp/sh -c "echo ran"'
grep -q '^ran$' "$S/exec.out" || fail "after SIGKILL an exec is still refused"

# ---- usage ----------------------------------------------------------------------------

"$UPPERWATCH" --db "$S/db2" watch --container "$C" --prevent --no-policy >"$S/np.out" 2>&1 &
NP=$!
if wait_until 10 sh -c "! kill -0 $NP 2>/dev/null"; then
	wait "$NP"
	rc=$?
	expect_eq "--prevent --no-policy: exit 2" 2 "$rc"
	grep -q 'prevent needs policies' "$S/np.out" || fail "--prevent --no-policy: $(head -c 200 "$S/np.out")"
else
	kill "$NP"
	fail "--prevent --no-policy did not stop"
fi

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
