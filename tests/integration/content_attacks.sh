#!/bin/bash
# content_attacks: what a container with CAP_SYS_ADMIN does to the
# fanotify companion's view of its writes, from inside a real runc
# container, through mounts of its own.  `watch --content-events fanotify
# --rescan 3600` (inotify asks for no write; no periodic rescan can stand
# in for a lost one).  Each file written was copied up or created before,
# so only a content event (or a rescan the daemon decides on) can report
# the write:
#   - a bind mount of /etc on /mnt/e, and a write through /mnt/e/app.conf:
#     reported as /etc/app.conf (the writer's mount, read from its
#     mountinfo), with the writer named, never as /mnt/e/...;
#   - the same from a private mount namespace (unshare -m) by a writer
#     that exits at once, so neither it nor the container's init shows
#     that mount: the event cannot be mapped to a path, and the container
#     is rescanned instead: the new content is reported all the same,
#     and status counts the unmapped event;
#   - hard links made in the container: `ln /etc/passwd /tmp/pw`, a
#     write through /tmp/pw and `rm /tmp/pw` (events name only /tmp/pw,
#     gone by the time it is read): /etc/passwd is reported modified (by
#     the look at /tmp/pw's other names, or, when the writer's fd is read
#     after the unlink and names no path, by the rescan that follows);
#     the same with the link kept (/etc/motd), its writer named; and
#     with /etc/group copied up (chmod) and looked at while it had one
#     link, before the `ln` (which raises no event at /etc/group); a
#     file with 101 names, more than one look queues (64), written
#     through one: all 101 reported with the write (the rest by a
#     rescan);
#   - writes through a shared mapping, which raise no event: the file is
#     opened read-write (copied up unchanged), mapped, closed (read by
#     the daemon: no drift), written a second later.  The mapping kept
#     (30 s): the daemon's sweep of its processes' shared mappings finds
#     /etc/mapped and reports it modified; the same when the process's
#     first thread has exited (its maps read empty: /etc/mapped6,
#     read through its other thread); the same through the bind
#     mount made above (/mnt/e/mapped3: placed at /etc/mapped3 through
#     the mapping and the writer's mounts).  A hard-link alias of
#     /etc/mapped4, mapped, unlinked, a decoy made at "<alias> (deleted)"
#     (the name maps and the mapping's readlink give), then written: the
#     decoy is not the mapped file (device and inode), so the container
#     is rescanned and /etc/mapped4 reported, although that rescan is
#     put off (at most one a minute, and the alias of /etc/mapped5 below
#     had one) until after the mapping is gone.  An alias of
#     /etc/mapped5 8,400 bytes deep, whose maps line is longer than the
#     sweep reads (8 KiB): rescanned.  The mapping released at once
#     after the write: its release is the upper file's, which only a
#     second daemon with --content-events auto (inotify asked for the
#     closes of upper files, Linux 6.5+) reports, /etc/mapped2.  A
#     mapping held by a process past the 1,024 a sweep reads (1,030
#     sleepers started before it): the daemon says its sweep is capped,
#     and the rescan that stands in for it reports /etc/mapped7;
#   - a write burst the daemon cannot keep up with (it is stopped with
#     SIGSTOP while 17,000 files are written, more than fanotify's queue
#     of 16,384 holds): the queue overflows, the daemon says so and
#     rescans; every file is reported with its content.
#
# Needs root, runc, a static busybox, a C compiler with static libc, jq.
# UWT_KEEP=DIR keeps a copy of the scratch dir for a post-mortem.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq cc
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-fatk-$$
C=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
EV=$S/events.jsonl ERR=$S/watch.err
FLOOD=17000

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# xc COMMAND: run COMMAND with sh -c in the container.
xc() { runc_sh "$C" "$1"; }
# event_where PATH FILTER: some event for PATH passes FILTER.
event_where() {
	jq -c --arg p "$1" "select(.path == \$p) | select($2)" "$EV" 2>/dev/null | grep -q .
}
last_of() { jq -c --arg p "$1" 'select(.path == $p)' "$EV" 2>/dev/null | tail -n 1; }
status() { jq -c "$1" "$S/status.json" 2>/dev/null; }
# reported_modified SECS PATH WHAT: PATH reported modified within SECS
# (pass WHAT), or fail with its last event; returns as it went.
reported_modified() {
	if wait_until "$1" event_where "$2" '.op == "modified"'; then
		pass "$3"
	else
		fail "$2 not reported modified ($3); last: $(last_of "$2" | head -c 300)"
		return 1
	fi
}

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,mnt/e,flood}
busybox_layer "$L1" sh cat echo sleep mount umount unshare ln rm chmod ||
	{ fail "building the layer failed"; finish; }
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
echo v1 >"$L1/etc/app.conf"
echo 'welcome' >"$L1/etc/motd"
echo 'root:x:0:' >"$L1/etc/group"
echo 'mapped-original' >"$L1/etc/mapped"
echo 'mapped-original' >"$L1/etc/mapped2"
echo 'mapped-original' >"$L1/etc/mapped3"
echo 'mapped-original' >"$L1/etc/mapped4"
echo 'mapped-original' >"$L1/etc/mapped5"
echo 'mapped-original' >"$L1/etc/mapped6"
echo 'mapped-original' >"$L1/etc/mapped7"
echo 'mapped-original' >"$L1/etc/mapped8"
build_hostile "$L1/bin/hostile" || { fail "building hostile failed"; finish; }

# CAP_SYS_ADMIN: the container may mount.
caps='.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
check "runc container started (with CAP_SYS_ADMIN)" run_container "$RS/c1" "$C" "$L1" "/$P/c1" \
	"echo up > /tmp/started; while true; do sleep 1; done" "$caps"
wait_until 10 test -s "$RS/c1/upper/tmp/started" || { fail "$C did not start"; finish; }

start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C" \
	--content-events fanotify --rescan 3600 --no-policy --output "$EV"
if ! wait_until 20 grep -q "watching container $C " "$ERR"; then
	fail "no 'watching container' notice within 20 s: $(head -c 600 "$ERR")"
	finish
fi
wait_until 5 event_where /tmp/started true || fail "start-up scan: /tmp/started not reported"

# ---- a bind mount in the container -------------------------------------------

xc 'echo v2 > /etc/app.conf' || fail "copying /etc/app.conf up"
wait_until 5 event_where /etc/app.conf '.current.size == 3' ||
	fail "bind: the copy-up of /etc/app.conf not reported"
# (the writer stays a while, as sh: its name is read from /proc)
xc 'mount --bind /etc /mnt/e && sleep 1 && echo through-the-bind >> /mnt/e/app.conf && sleep 2; true' ||
	fail "bind mount and write"
if wait_until 5 event_where /etc/app.conf '.current.size == 20 and .process != null'; then
	ev=$(jq -c 'select(.path == "/etc/app.conf" and .current.size == 20)' "$EV" | tail -n 1)
	pass "a write through a bind mount is reported at its overlay path"
	expect_eq "bind: the writer named" sh "$(jq -r '.process.comm' <<<"$ev")"
else
	fail "bind: /etc/app.conf not reported with the write; last: $(last_of /etc/app.conf | head -c 300)"
fi
if jq -e 'select(.path | startswith("/mnt/e/"))' "$EV" >/dev/null 2>&1; then
	fail "bind: an event at the bind mount's path: $(jq -c 'select(.path | startswith("/mnt/e/"))' "$EV" | head -c 300)"
else
	pass "bind: no event at the bind mount's path"
fi

# ---- a private mount namespace, a writer gone at once ------------------------

unmapped0=$(status .fanotify_unmapped)
xc 'sleep 1; unshare -m sh -c "mount --bind /etc /mnt/e && echo from-a-private-namespace >> /mnt/e/app.conf"' ||
	fail "private namespace write"
if wait_until 8 event_where /etc/app.conf '.current.size == 45'; then
	pass "a write through a mount only a dead process had is reported"
else
	fail "private namespace: /etc/app.conf not reported with the write; last: $(last_of /etc/app.conf | head -c 300)"
fi
# status.json is rewritten every 5 s; the event was mapped (its writer's
# mountinfo read in time) or counted as unmapped: either way it counts
if wait_until 8 sh -c "jq -e '.fanotify_events > 0' '$S/status.json' >/dev/null 2>&1"; then
	pass "status: fanotify events $(status .fanotify_events), unmapped ${unmapped0:-?} -> $(status .fanotify_unmapped)"
else
	fail "status: $(status '{fanotify_events, fanotify_unmapped}')"
fi

# ---- hard links made in the container ---------------------------------------

# The link copies /etc/passwd up unchanged (no drift); a second later the
# write and the unlink come within one quiet period.
xc 'ln /etc/passwd /tmp/pw && sleep 1 && echo "toor::0:0::/:/bin/sh" > /tmp/pw && rm /tmp/pw' ||
	fail "link: ln, write, rm"
if wait_until 5 event_where /etc/passwd '.op == "modified" and .current.size == 21'; then
	pass "link: a write through a link the container made, then removed, is reported at /etc/passwd"
else
	fail "link: /etc/passwd not reported modified; events: $(jq -c 'select(.path == "/etc/passwd" or .path == "/tmp/pw") | {op, path, size: .current.size}' "$EV" | head -c 400)"
fi
expect_eq "link: control: the upper's /etc/passwd holds the write" "toor::0:0::/:/bin/sh" \
	"$(cat "$RS/c1/upper/etc/passwd" 2>&1)"
# (the writer stays a while, as above)
xc 'ln /etc/motd /tmp/m && sleep 1 && echo "pwned" >> /tmp/m && sleep 2; true' || fail "link: ln, append"
if wait_until 5 event_where /etc/motd '.op == "modified" and .current.size == 14'; then
	pass "link: a write through a link that stays is reported at the image's name too"
	expect_eq "link: the writer named at the image's name" sh "$(last_of /etc/motd | jq -r '.process.comm')"
else
	fail "link: /etc/motd not reported modified; last: $(last_of /etc/motd | head -c 300)"
fi
wait_until 5 event_where /tmp/m '.current.size == 14' ||
	fail "link: control: /tmp/m not reported with the write; last: $(last_of /tmp/m | head -c 300)"
xc 'chmod 600 /etc/group' || fail "link: chmod"
wait_until 5 event_where /etc/group '.op == "metadata"' ||
	fail "link: control: the chmod of /etc/group not reported; last: $(last_of /etc/group | head -c 300)"
xc 'ln /etc/group /tmp/g && sleep 1 && echo "wheel:x:10:" >> /tmp/g' || fail "link: ln, append to /tmp/g"
if wait_until 5 event_where /etc/group '.current.size == 22'; then
	pass "link: a file looked at with one link, then linked, is reported at its first name"
else
	fail "link: /etc/group not reported with the write; last: $(last_of /etc/group | head -c 300)"
fi
# A file with 101 names, more than one look queues (64): a write through
# one of them must still reach every other, by the rescan the rest ask
# for (the bound keeps a write through a file linked thousands of times
# from costing thousands of looks).
xc 'echo v1 > /tmp/fan && i=0 && while [ $i -lt 100 ]; do ln /tmp/fan /tmp/fan$i || exit 1; i=$((i + 1)); done' ||
	fail "fan-out: 100 links"
# n_fan SIZE: how many of its names were reported with that size
n_fan() { jq -r "select(.path | startswith(\"/tmp/fan\")) | select(.current.size == $1) | .path" "$EV" 2>/dev/null | sort -u | wc -l; }
fan_all() { [ "$(n_fan "$1")" -ge 101 ]; }
wait_until 10 fan_all 3 || fail "fan-out: control: $(n_fan 3) of 101 names reported as made"
sleep 3		# past the rescans the links asked for (every 2 s at most)
xc 'echo v2 >> /tmp/fan7' || fail "fan-out: the write"
if wait_until 15 fan_all 6; then
	pass "fan-out: a write through one of 101 names is reported at all of them"
else
	fail "fan-out: $(n_fan 6) of 101 names reported with the write"
fi

# ---- writes through a shared mapping -----------------------------------------

xc 'hostile mmap-write /etc/mapped MAPPED 1 30 </dev/null >/dev/null 2>&1 &' ||
	fail "mapped: starting the writer"
reported_modified 12 /etc/mapped "mapped: a write through a mapping kept open is reported"
expect_eq "mapped: control: the upper's /etc/mapped holds the write" "MAPPED-original" \
	"$(cat "$RS/c1/upper/etc/mapped" 2>&1)"
# The same from a process whose first thread has exited: its maps read
# empty, the mapping shows only in its other thread's.
xc 'hostile mmap-write-thread /etc/mapped6 MAPPED 1 30 </dev/null >/dev/null 2>&1 &' ||
	fail "mapped: starting the threaded writer"
reported_modified 12 /etc/mapped6 "mapped: a write through a mapping a process holds after its first thread exited is reported"
expect_eq "mapped: control: the upper's /etc/mapped6 holds the write" "MAPPED-original" \
	"$(cat "$RS/c1/upper/etc/mapped6" 2>&1)"
t_bind=$(date +%s%N)
xc '[ -e /mnt/e/mapped3 ] || mount --bind /etc /mnt/e; hostile mmap-write /mnt/e/mapped3 MAPPED 1 30 </dev/null >/dev/null 2>&1 &' ||
	fail "mapped: starting the writer through the bind mount"
if reported_modified 12 /etc/mapped3 "mapped: a write through a mapping of a bind mount's file is reported at its overlay path"; then
	# placed through the mapping, not found by the rescan an unplaced
	# mapping asks for: none since (status.json is rewritten every 5 s)
	t_ev=$(date +%s)
	wait_until 8 sh -c "[ \$(stat -c %Y '$S/status.json') -gt $t_ev ]"
	last=$(status .last_rescan)
	if [ -n "$last" ] && [ "$last" -lt "$t_bind" ]; then
		pass "mapped: no rescan was needed to place it"
	else
		fail "mapped: a rescan since the bind write (last_rescan ${last:-?}, write at $t_bind)"
	fi
fi
# An alias so deep (42 dirs of 200 bytes) that its line in
# /proc/PID/maps is longer than the sweep reads (8 KiB), and its
# map_files link too long to read: the container is rescanned.  On its
# own, so that no other attack's rescan finds the write for it; should
# a rescan have come within the minute before, its own waits that long.
DEEP=$(printf 'd%.0s' $(seq 1 200))
xc "hostile deep-in /tmp 42 $DEEP sh -c 'ln /etc/mapped5 x && { hostile mmap-write x MAPPED 1 30 </dev/null >/dev/null 2>&1 & }'" ||
	fail "mapped: the deep alias"
reported_modified 70 /etc/mapped5 "mapped: a write through an alias whose maps line is over 8 KiB long is reported"
expect_eq "mapped: control: the upper's /etc/mapped5 holds the write, with 2 links" "MAPPED-original 2" \
	"$(cat "$RS/c1/upper/etc/mapped5" 2>&1) $(stat -c %h "$RS/c1/upper/etc/mapped5" 2>&1)"
# The write comes 0.5 s after the mapping, the unlink and the decoy
# before it, within the minute after the deep alias's rescan, and the
# mapping is gone 30 s later: the rescan it asks for is put off to the
# minute's end, when nothing maps the file any more, and must still
# come (and should a sweep fall before the write, so must the next):
# hence the long wait.
xc 'ln /etc/mapped4 /tmp/a && { hostile mmap-write /tmp/a MAPPED 0.5 30 </dev/null >/dev/null 2>&1 & } && sleep 0.2 && rm /tmp/a && echo decoy > "/tmp/a (deleted)"' ||
	fail "mapped: the alias, the unlink and the decoy"
reported_modified 80 /etc/mapped4 "mapped: a decoy at an unlinked alias's name does not hide the write"
expect_eq "mapped: control: the upper's /etc/mapped4 holds the write" "MAPPED-original" \
	"$(cat "$RS/c1/upper/etc/mapped4" 2>&1)"
# Past the sweep's process cap: 1,030 sleepers, then the writer (the
# freezer cgroup lists pids in order: it comes after them).  The sweep
# reads the first 1,024 and asks for a rescan, put off to a minute
# after the last one at most.
expect_eq "capped: control: no sweep was capped before" 0 \
	"$(grep -c 'has more processes, cgroups or mappings than a sweep' "$ERR")"
xc 'sh -c '\''i=0; while [ $i -lt 1030 ]; do sleep 600 & i=$((i + 1)); done; wait'\'' </dev/null >/dev/null 2>&1 &' ||
	fail "capped: starting the sleepers"
n_procs() { xc 'ls -d /proc/[0-9]* | wc -l' && cat "$S/exec.out"; }
procs_over() { [ "$(n_procs)" -gt "$1" ]; }
wait_until 60 procs_over 1030 ||
	fail "capped: $(n_procs) processes in the container, not over 1,030"
xc 'hostile mmap-write /etc/mapped7 MAPPED 1 30 </dev/null >/dev/null 2>&1 &' ||
	fail "capped: starting the writer"
reported_modified 75 /etc/mapped7 "capped: a write through a mapping held past the sweep's 1,024 processes is reported"
if grep -q "has more processes, cgroups or mappings than a sweep" "$ERR"; then
	pass "capped: the daemon says its sweep is capped"
else
	fail "capped: no notice of the capped sweep: $(grep -i sweep "$ERR" | head -c 300)"
fi
xc 'killall sleep' >/dev/null 2>&1
wait_until 20 eval '! procs_over 100' ||
	echo "# capped: the sleepers are not gone yet ($(n_procs) processes)"
EV2=$S/auto.jsonl ERR2=$S/auto.err
start_upperwatch W2 "$EV2" "$ERR2" --db "$S/db2" watch --container "$C" \
	--content-events auto --rescan 3600 --no-policy --output "$EV2"
if wait_until 20 grep -q "watching container $C " "$ERR2"; then
	sleep 0.5
	xc 'hostile mmap-write /etc/mapped2 MAPPED 1' || fail "mapped: the quick writer"
	expect_eq "mapped: control: the upper's /etc/mapped2 holds the write" "MAPPED-original" \
		"$(cat "$RS/c1/upper/etc/mapped2" 2>&1)"
	if wait_until 5 sh -c "jq -e 'select(.path == \"/etc/mapped2\" and .op == \"modified\")' '$EV2' >/dev/null 2>&1"; then
		pass "mapped: a write through a mapping released at once is reported (auto)"
	else
		fail "mapped: /etc/mapped2 not reported modified by the auto daemon: $(grep mapped2 "$EV2" | tail -n 1 | head -c 300)"
	fi
	stop_bg "$W2"
	expect_eq "mapped: the auto daemon stops cleanly" 0 "$BG_STATUS"
else
	fail "auto daemon: no 'watching container' notice within 20 s: $(head -c 600 "$ERR2")"
fi

# ---- a rescan reads again what a mapping may have changed ------------------------

# /etc/mapped8 is mapped and its first bytes written back as they were
# (the fault stamps ctime on ext4; tmpfs stamps none), then made
# reported (chmod: metadata, the content the image's); 3 s later the
# payload goes through the mapping, whose page is still dirty and
# writable: no fault, no event, no ctime, inode or size moves; then it
# is released, before a sweep can see it.  Only a rescan can report
# the change, and only if it reads the file rather than trust its
# unchanged inode, ctime and size.
EV3=$S/rescan.jsonl ERR3=$S/rescan.err
start_upperwatch W3 "$EV3" "$ERR3" --db "$S/db3" watch --container "$C" \
	--content-events fanotify --rescan 2 --no-policy --output "$EV3"
if wait_until 20 grep -q "watching container $C " "$ERR3"; then
	xc 'hostile mmap-rewrite /etc/mapped8 MAPPED 3 </dev/null >/dev/null 2>&1 & sleep 0.5; chmod 600 /etc/mapped8' ||
		fail "mapped8: the writer"
	wait_until 10 json_has "$EV3" '.path == "/etc/mapped8" and .op == "metadata"' ||
		fail "mapped8: not reported after its chmod: $(grep mapped8 "$EV3" | tail -n 1 | head -c 300)"
	if wait_until 15 json_has "$EV3" '.path == "/etc/mapped8" and .op == "modified"'; then
		pass "mapped8: a change through a mapping that moved no ctime is reported by a rescan"
	else
		fail "mapped8: not reported modified: $(grep mapped8 "$EV3" | tail -n 1 | head -c 300)"
	fi
	expect_eq "mapped8: control: the upper's /etc/mapped8 holds the write" "MAPPED-original" \
		"$(cat "$RS/c1/upper/etc/mapped8" 2>&1)"
	stop_bg "$W3"
	expect_eq "mapped8: the daemon stops cleanly" 0 "$BG_STATUS"
else
	fail "rescan daemon: no 'watching container' notice within 20 s: $(head -c 600 "$ERR3")"
fi

# ---- a burst past fanotify's queue -----------------------------------------------

xc "hostile write-many /flood $FLOOD" || fail "creating $FLOOD empty files"
n_flood() { jq -r "select(.path | startswith(\"/flood/\")) | select(.current.size == $1) | .path" "$EV" 2>/dev/null | sort -u | wc -l; }
all_empty() { [ "$(n_flood 0)" -ge "$FLOOD" ]; }
wait_until 60 all_empty || fail "flood: only $(n_flood 0) of $FLOOD empty files reported"
kill -STOP "$W"
cleanup_push "kill -CONT $W"
xc "hostile write-many /flood $FLOOD content" || fail "writing $FLOOD files"
kill -CONT "$W"
all_written() { [ "$(n_flood 7)" -ge "$FLOOD" ]; }
if wait_until 90 all_written; then
	pass "flood: all $FLOOD files reported with their content"
else
	fail "flood: $(n_flood 7) of $FLOOD files reported with their content"
fi
if grep -q 'fanotify queue overflow' "$ERR"; then
	pass "flood: the queue overflow was said"
else
	fail "flood: no overflow notice: $(grep -i overflow "$ERR" | head -c 300)"
fi
check "the daemon still runs" alive "$W"

stop_bg "$W"
expect_eq "watch stops cleanly" 0 "$BG_STATUS"
[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
