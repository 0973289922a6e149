#!/bin/bash
# content_fanotify: with `watch --content-events fanotify` the content
# writes a container makes through its merged view come from a fanotify
# mark on its overlay, never from inotify, and each event names its
# writer.  On Linux 4.19-6.4 inotify sees no such write at all; this
# kernel would show them to inotify, so the test first proves that the
# daemon's inotify watches do not ask for writes (IN_MODIFY,
# IN_CLOSE_WRITE absent from every watch's mask in its fdinfo).
#
# One runc container (layer: busybox, /etc/app.conf, the static `hostile`
# tool), watched by `watch --container C --content-events fanotify
# --rescan 3600` (no rescan can stand in for a write; each write below
# must come with its writer named, which only fanotify gives).  From
# inside it:
#   - delayed write: create /tmp/late empty, write 8 bytes 1 s later:
#     an event with the 8-byte content;
#   - append to a file already copied up: /etc/app.conf appended twice,
#     1 s apart: the second append's size reported;
#   - mmap write: a file's first bytes changed through a shared mapping
#     (no write(2), same size): a new event with a different hash;
#   - the writer: a `sh -c` that stays: process.pid is its host pid
#     (NSpid maps it to the pid it wrote into the file), comm "sh", exe
#     /bin/busybox, cmdline "sh -c ...", uid 0, container = C,
#     exe_drift false; `events` prints "by sh[PID]";
#   - a writer moved (from the host, as systemd in a container would do
#     it itself) into a cgroup 12 levels below the container's, with
#     200-byte names: process.container is still C;
#   - a `sh -c` child that exits at once: process names a pid, and
#     a comm only if it is "sh" (never another process's);
#   - a dropped binary (a copy of busybox) that writes: exe /tmp/sh,
#     exe_drift true, and a policy reading ev.process.exe_drift gives its
#     verdict;
#   - exec: running the dropped binary gives an op "exec" event each time
#     (its content, its runner, judged critical); running image binaries
#     gives none; an image script that ran and is then appended to, made
#     setuid, renamed or changed through a shared mapping gives one when
#     it runs again; so does a dropped binary unlinked before it runs
#     (execveat of an open fd), by the name it had, and one deeper than
#     PATH_MAX (as "(a path longer than PATH_MAX)"); `events --op exec`
#     lists it;
#   - --content-events with a bad value: usage error, exit 2.
#
# Needs root, runc, a static busybox, a C compiler with static libc, jq.
# UWT_KEEP=DIR keeps a copy of the scratch dir for a post-mortem.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq cc
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-fan-$$
C=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
EV=$S/events.jsonl ERR=$S/watch.err

# (deepest first: the writer below nests cgroups in the container's)
cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && find \"\$d\" -depth -type d -exec rmdir {} \\;; done"

# xc COMMAND: run COMMAND with sh -c in the container.
xc() { runc_sh "$C" "$1"; }

# last_of PATH: the last event printed for PATH (compact JSON), or "".
last_of() { jq -c --arg p "$1" 'select(.path == $p)' "$EV" 2>/dev/null | tail -n 1; }

# event_where PATH FILTER: some event for PATH passes FILTER.
event_where() {
	jq -c --arg p "$1" "select(.path == \$p) | select($2)" "$EV" 2>/dev/null | grep -q .
}

# ---- the image --------------------------------------------------------------

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root}
busybox_layer "$L1" sh cat echo sleep cp true ||
	{ fail "building the layer failed"; finish; }
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
echo v1 >"$L1/etc/app.conf"
mkdir -p "$L1/opt"
printf '#!/bin/sh\necho v1\n' >"$L1/opt/run.sh"
chmod 755 "$L1/opt/run.sh"
for t in suid moved; do printf '#!/bin/sh\necho %s\n' "$t" >"$L1/opt/$t.sh"; done
chmod 755 "$L1/opt/suid.sh" "$L1/opt/moved.sh"
printf '#!/bin/sh\necho m1\n' >"$L1/opt/mapped.sh"
chmod 755 "$L1/opt/mapped.sh"
printf '#!/bin/sh\necho m2' >"$L1/opt/payload"
echo 'cp /bin/busybox ./sh && ./sh -c "echo ran"' >"$L1/opt/deeprun.sh"
build_hostile "$L1/bin/hostile" || { fail "building hostile failed"; finish; }

cat >"$S/process.lua" <<'EOF'
local uw = require("upperwatch")
return {
	name = "writer-is-drift",
	description = "a file written by a binary that is itself drift",
	evaluate = function(ev)
		if ev.op == "exec" then
			return uw.verdict("critical", "alert", "drift ran")
		end
		if ev.process and ev.process.exe_drift then
			return uw.verdict("critical", "alert",
				"written by drift " .. (ev.process.exe or "?"))
		end
		return uw.verdict("info", "log", "other")
	end,
}
EOF

# ---- the container and the watcher -----------------------------------------

check "runc container started" run_container "$RS/c1" "$C" "$L1" "/$P/c1" \
	"echo up > /tmp/started; while true; do sleep 1; done"
wait_until 10 test -s "$RS/c1/upper/tmp/started" || { fail "$C did not start"; finish; }

start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C" \
	--content-events fanotify --rescan 3600 --policy "$S/process.lua" --output "$EV"
if ! wait_until 20 grep -q "watching container $C " "$ERR"; then
	fail "no 'watching container' notice within 20 s: $(head -c 600 "$ERR")"
	finish
fi
wait_until 5 event_where /tmp/started true || fail "start-up scan: /tmp/started not reported"
if grep -q 'fanotify cannot mark' "$ERR"; then
	fail "fanotify could not mark the overlay: $(grep fanotify "$ERR" | head -c 400)"
fi

# Every inotify watch of the daemon: masks without IN_MODIFY (0x2) and
# IN_CLOSE_WRITE (0x8).
masks() {
	local f
	for f in "/proc/$W/fd/"*; do
		[ "$(readlink "$f" 2>/dev/null)" = anon_inode:inotify ] || continue
		sed -n 's/^inotify wd:.* mask:\([0-9a-f]*\) .*/\1/p' "/proc/$W/fdinfo/${f##*/}"
	done
}
m=$(masks)
if [ -z "$m" ]; then
	fail "the daemon holds no inotify watch"
elif echo "$m" | while read -r x; do (((0x$x & 0xa) == 0)) || exit 1; done; then
	pass "inotify watches ask for no writes ($(echo "$m" | sort -u | tr '\n' ' '))"
else
	fail "an inotify watch asks for writes: masks $(echo "$m" | sort -u | tr '\n' ' ')"
fi

# ---- delayed write -----------------------------------------------------------

xc ': > /tmp/late' || fail "creating /tmp/late"
wait_until 5 event_where /tmp/late '.current.size == 0' ||
	fail "delayed write: the empty /tmp/late was not reported"
xc 'sleep 1; echo payload >> /tmp/late' || fail "writing /tmp/late"
t0=$EPOCHREALTIME
if wait_until 5 event_where /tmp/late '.current.size == 8 and .process != null'; then
	pass "delayed write: /tmp/late reported with its 8 bytes in $(elapsed "$t0") s"
else
	fail "delayed write: /tmp/late not reported with its content; last: $(last_of /tmp/late | head -c 300)"
fi

# ---- append to a file already copied up ------------------------------------

xc 'echo a >> /etc/app.conf' || fail "first append"
wait_until 5 event_where /etc/app.conf '.current.size == 5' ||
	fail "append: the copy-up of /etc/app.conf not reported"
xc 'sleep 1; echo bb >> /etc/app.conf' || fail "second append"
t0=$EPOCHREALTIME
if wait_until 5 event_where /etc/app.conf '.current.size == 8 and .process != null'; then
	pass "append to a copied-up file reported in $(elapsed "$t0") s"
else
	fail "append to a copied-up file not reported; last: $(last_of /etc/app.conf | head -c 300)"
fi

# ---- mmap write ---------------------------------------------------------------

xc 'echo 0123456789 > /tmp/mapped' || fail "creating /tmp/mapped"
wait_until 5 event_where /tmp/mapped '.current.size == 11' ||
	fail "mmap: /tmp/mapped not reported"
h1=$(last_of /tmp/mapped | jq -r '.current.hash')
xc 'sleep 1; hostile mmap-write /tmp/mapped ABCDE' || fail "mmap-write failed"
t0=$EPOCHREALTIME
# (hostile exits at once: named by its pid, and by its comm only when it
# was still there when the event was read)
if wait_until 5 event_where /tmp/mapped ".current.hash != \"$h1\" and .current.size == 11 and .process.pid > 0 and (.process.comm == \"hostile\" or .process.comm == null)"; then
	pass "mmap write reported (new hash) in $(elapsed "$t0") s"
else
	fail "mmap write not reported; last: $(last_of /tmp/mapped | head -c 300)"
fi
[ "$(head -c 5 "$RS/c1/upper/tmp/mapped")" = ABCDE ] || fail "mmap-write did not change the file"

# ---- the writer ---------------------------------------------------------------

runc exec "$C" sh -c 'echo $$ > /tmp/w1; sleep 3; true' </dev/null >/dev/null 2>&1 &
XPID=$!
if wait_until 5 event_where /tmp/w1 '.process != null'; then
	ev=$(jq -c 'select(.path == "/tmp/w1" and .process != null)' "$EV" | tail -n 1)
	pid=$(jq -r '.process.pid' <<<"$ev")
	nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status" 2>/dev/null)
	expect_eq "writer: process.pid is the writer (its NSpid)" "$(cat "$RS/c1/upper/tmp/w1")" "$nspid"
	expect_eq "writer: comm" sh "$(jq -r '.process.comm' <<<"$ev")"
	expect_eq "writer: exe" /bin/busybox "$(jq -r '.process.exe' <<<"$ev")"
	expect_eq "writer: cmdline" "sh -c echo \$\$ > /tmp/w1; sleep 3; true" "$(jq -r '.process.cmdline' <<<"$ev")"
	expect_eq "writer: uid" 0 "$(jq -r '.process.uid' <<<"$ev")"
	expect_eq "writer: container by cgroup" "$C" "$(jq -r '.process.container' <<<"$ev")"
	expect_eq "writer: exe_drift" false "$(jq -r '.process.exe_drift' <<<"$ev")"
	expect_eq "writer: the policy saw an image binary" info "$(jq -r '.verdict.severity' <<<"$ev")"
	if "$UPPERWATCH" --db "$S/db" events --container "$C" 2>&1 | grep '/tmp/w1' | grep -q " by sh\[$pid\]"; then
		pass "events names the writer: by sh[$pid]"
	else
		fail "events does not name the writer: $("$UPPERWATCH" --db "$S/db" events --container "$C" 2>&1 | grep /tmp/w1)"
	fi
else
	fail "writer: no event for /tmp/w1 names a process: $(last_of /tmp/w1 | head -c 300)"
fi
wait "$XPID" 2>/dev/null

# ---- a writer in a cgroup below the container's -------------------------------

# systemd in a container gives each service a cgroup below the container's,
# and a container with a writable cgroupfs can make its own: a writer
# there is still the container's.  12 levels of 200-byte names make its
# cgroup paths 2.4 KB each (v2 and the v1 freezer, where a container's
# are found), longer than the 2 KiB /proc/PID/cgroup was once read into.
runc exec "$C" sh -c 'echo $$ > /tmp/nest.pid
	while [ ! -e /tmp/nest.go ]; do sleep 0.1; done
	echo nested > /tmp/nested; sleep 2' </dev/null >/dev/null 2>&1 &
XPID=$!
hpid=
if wait_until 5 test -s "$RS/c1/upper/tmp/nest.pid"; then
	for p in $(runc ps --format json "$C" 2>/dev/null | jq -r '.[]'); do
		[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)" = "$(cat "$RS/c1/upper/tmp/nest.pid")" ] &&
		    hpid=$p && break
	done
	echo "# the writer: host pid '$hpid'; its cgroups: $(tr '\n' ' ' <"/proc/$hpid/cgroup" 2>/dev/null)"
fi
long=$(printf 'n%.0s' $(seq 200))
sub=
for i in $(seq 12); do sub=$sub/$long$i; done
moved=0
for d in /sys/fs/cgroup/freezer/$P/c1 /sys/fs/cgroup/unified/$P/c1 /sys/fs/cgroup/$P/c1; do
	[ -n "$hpid" ] && [ -f "$d/cgroup.procs" ] && mkdir -p "$d$sub" &&
	    echo "$hpid" >"$d$sub/cgroup.procs" && moved=$((moved + 1))
done
if [ "$moved" -gt 0 ] && awk -F: 'length($3) > 2048 { long = 1 } END { exit !long }' "/proc/$hpid/cgroup"; then
	pass "the writer is $moved cgroup hierarchies deep below the container's"
else
	fail "could not nest the writer's cgroup (pid '$hpid', moved $moved)"
fi
xc 'touch /tmp/nest.go' || fail "touch /tmp/nest.go"
if wait_until 5 event_where /tmp/nested '.process != null'; then
	ev=$(jq -c 'select(.path == "/tmp/nested" and .process != null)' "$EV" | tail -n 1)
	expect_eq "nested writer: its pid" "$hpid" "$(jq -r '.process.pid' <<<"$ev")"
	expect_eq "nested writer: still the container's, by cgroup" "$C" "$(jq -r '.process.container' <<<"$ev")"
else
	fail "nested writer: no event for /tmp/nested names a process: $(last_of /tmp/nested | head -c 300)"
fi
wait "$XPID" 2>/dev/null

# ---- a writer that exits at once ----------------------------------------------

xc 'sh -c "echo q > /tmp/quick"' || fail "quick writer"
if wait_until 5 event_where /tmp/quick '.process != null and .process.pid > 0'; then
	comm=$(jq -r 'select(.path == "/tmp/quick" and .process != null) | .process.comm' "$EV" | tail -n 1)
	if [ "$comm" = sh ] || [ "$comm" = null ]; then
		pass "a writer that exits at once: pid named, comm '$comm' (never another's)"
	else
		fail "a writer that exits at once: comm '$comm', not sh"
	fi
else
	fail "a writer that exits at once is not named: $(last_of /tmp/quick | head -c 300)"
fi

# ---- a dropped binary writes ------------------------------------------------

# (named sh: busybox takes its applet from its own name)
xc 'cp /bin/busybox /tmp/sh' || fail "dropping a binary"
wait_until 5 event_where /tmp/sh true || fail "the dropped binary was not reported"
runc exec "$C" /tmp/sh -c 'echo d > /tmp/by-dropped; sleep 2; true' </dev/null >/dev/null 2>&1 &
XPID=$!
if wait_until 5 event_where /tmp/by-dropped '.process != null and .process.exe == "/tmp/sh"'; then
	ev=$(jq -c 'select(.path == "/tmp/by-dropped" and .process != null)' "$EV" | tail -n 1)
	expect_eq "dropped writer: exe_drift" true "$(jq -r '.process.exe_drift' <<<"$ev")"
	expect_eq "dropped writer: ev.process reached the policy" critical "$(jq -r '.verdict.severity' <<<"$ev")"
else
	fail "dropped writer: not named: $(last_of /tmp/by-dropped | head -c 300)"
fi
wait "$XPID" 2>/dev/null

# ---- exec of drift --------------------------------------------------------------

# /tmp/sh ran above; run it once more, and an image binary twice.
# (the runner stays a while: its container is read from /proc)
xc '/tmp/sh -c "sleep 1; true"; /bin/true; /bin/sh -c true' || fail "exec round"
n_exec() { jq -c 'select(.op == "exec" and .path == "/tmp/sh")' "$EV" 2>/dev/null | wc -l; }
two_execs() { [ "$(n_exec)" -ge 2 ]; }
if wait_until 5 two_execs; then
	ev=$(jq -c 'select(.op == "exec" and .path == "/tmp/sh")' "$EV" | tail -n 1)
	pass "exec of a dropped binary: an exec event each time it runs ($(n_exec))"
	# the runner as read: before or after its execve, so its exe is
	# either; its container is certain
	expect_eq "exec event: the runner's container" "$C" "$(jq -r '.process.container' <<<"$ev")"
	expect_eq "exec event: its content is the drift's" 1982256 "$(jq -r '.current.size' <<<"$ev")"
	expect_eq "exec event: judged" critical "$(jq -r '.verdict.severity' <<<"$ev")"
else
	fail "exec of a dropped binary: $(n_exec) exec events, not 2"
fi
if jq -e 'select(.op == "exec" and .path != "/tmp/sh" and .path != "/opt/run.sh")' "$EV" >/dev/null 2>&1; then
	fail "an exec event for an image binary: $(jq -c 'select(.op == "exec" and .path != "/tmp/sh" and .path != "/opt/run.sh")' "$EV" | head -n 1 | head -c 300)"
else
	pass "no exec event for image binaries"
fi
# Unlinked before it runs (execveat of an fd opened before the unlink):
# no name leads to it, and its exec is reported all the same, by the
# name it had.
xc 'cp /bin/busybox /tmp/gone && /bin/hostile exec-unlinked /tmp/gone sh -c "sleep 1; true"' ||
	fail "exec-unlinked round: $(head -c 300 "$S/exec.out")"
if wait_until 5 json_has "$EV" '.op == "exec" and .path == "/tmp/gone"'; then
	ev=$(jq -c 'select(.op == "exec" and .path == "/tmp/gone")' "$EV" | tail -n 1)
	pass "exec of a dropped binary unlinked before it ran: an exec event"
	expect_eq "unlinked exec: its content's size" 1982256 "$(jq -r '.current.size' <<<"$ev")"
	expect_eq "unlinked exec: judged" critical "$(jq -r '.verdict.severity' <<<"$ev")"
	expect_eq "unlinked exec: the runner's container" "$C" "$(jq -r '.process.container' <<<"$ev")"
else
	fail "no exec event for the unlinked binary: $(jq -c 'select(.op == "exec")' "$EV" | tail -n 2 | head -c 400)"
fi
# Run deeper than the kernel names a path (over PATH_MAX): reported as
# such, never dropped as a path that cannot be told.
long=$(printf "%0200d" 0 | tr 0 l)
xc "/bin/hostile deep-in /tmp 25 $long sh /opt/deeprun.sh" || fail "deep exec round: $(head -c 300 "$S/exec.out")"
grep -q '^ran$' "$S/exec.out" || fail "deep exec control: the binary did not run: $(head -c 300 "$S/exec.out")"
if wait_until 5 json_has "$EV" '.op == "exec" and .path == "(a path longer than PATH_MAX)"'; then
	pass "exec of a binary dropped deeper than PATH_MAX: an exec event"
else
	fail "no exec event for the deep binary: $(jq -c 'select(.op == "exec")' "$EV" | tail -n 1 | head -c 300)"
fi
# An image script that ran (its next execs no longer raise events) and is
# then modified: its exec is reported.
xc '/opt/run.sh; /opt/run.sh; echo "echo v2" >> /opt/run.sh; /opt/run.sh' || fail "image script round"
if wait_until 5 json_has "$EV" '.op == "exec" and .path == "/opt/run.sh"'; then
	pass "an image script that ran, once modified, gives an exec event"
else
	fail "no exec event for the modified image script: $(jq -c 'select(.path == "/opt/run.sh")' "$EV" | head -c 300)"
fi
# Nor when it changes without a write: made setuid, renamed.
xc '/opt/suid.sh; /opt/moved.sh; chmod 4755 /opt/suid.sh; mv /opt/moved.sh /opt/elsewhere.sh; sleep 0.3; /opt/suid.sh; /opt/elsewhere.sh' ||
	fail "setuid and rename round"
for p in /opt/suid.sh /opt/elsewhere.sh; do
	if wait_until 5 json_has "$EV" ".op == \"exec\" and .path == \"$p\""; then
		pass "an image script that ran, then changed without a write, gives an exec event: $p"
	else
		fail "no exec event for $p: $(jq -c --arg p "$p" 'select(.path == $p)' "$EV" | head -c 300)"
	fi
done
# Nor when it changes through a shared mapping: no write to the kernel,
# and the copy-up comes to inotify as a create.
xc '/opt/mapped.sh; /bin/hostile mmap-write /opt/mapped.sh "$(cat /opt/payload)"' || fail "mapping round"
wait_until 10 json_has "$EV" '.op == "modified" and .path == "/opt/mapped.sh"' ||
	fail "no modified event for /opt/mapped.sh: $(jq -c 'select(.path == "/opt/mapped.sh")' "$EV" | head -c 300)"
xc '/opt/mapped.sh' || fail "mapped script run"
if wait_until 5 json_has "$EV" '.op == "exec" and .path == "/opt/mapped.sh"'; then
	pass "an image script that ran, then changed through a mapping, gives an exec event"
else
	fail "no exec event for /opt/mapped.sh: $(jq -c 'select(.path == "/opt/mapped.sh")' "$EV" | head -c 300)"
fi
# (the journal commits in batches: polled)
execs_by_sh() {
	"$UPPERWATCH" --db "$S/db" events --container "$C" --op exec >"$S/execs.txt" 2>&1
	# the runner as read at its exec: the comm of the process that
	# made the execve (runc's init "exe", a shell) or already the new one
	grep -Eq '/tmp/sh by [^ ]+\[[0-9]+\]' "$S/execs.txt"
}
if wait_until 5 execs_by_sh; then
	pass "events --op exec lists it with its runner"
else
	fail "events --op exec: $(head -c 300 "$S/execs.txt")"
fi

# ---- status -------------------------------------------------------------------

# status.json is rewritten every 5 s
if wait_until 8 jq -e '.fanotify == true and .exec_events >= 2 and .fanotify_events > 0' "$S/status.json" >/dev/null 2>&1; then
	pass "status.json counts fanotify events and exec events"
else
	fail "status.json: $(jq -c '{fanotify, exec_events, fanotify_events, fanotify_unmapped}' "$S/status.json" 2>&1 | head -c 300)"
fi
grep -q '^upperwatch_exec_events_total [1-9]' "$S/upperwatch.prom" ||
	fail "metrics: no exec_events_total: $(grep exec "$S/upperwatch.prom" | head -c 200)"

# ---- usage ----------------------------------------------------------------------

"$UPPERWATCH" --db "$S/db2" watch --content-events fannotify >"$S/bad.out" 2>&1
rc=$?
expect_eq "--content-events fannotify: exit 2" 2 "$rc"
grep -q "content-events takes auto, inotify, fanotify or both" "$S/bad.out" ||
	fail "--content-events fannotify: no clear error: $(head -c 200 "$S/bad.out")"

stop_bg "$W"
expect_eq "watch stops cleanly" 0 "$BG_STATUS"
[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
