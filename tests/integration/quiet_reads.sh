#!/bin/bash
# quiet_reads: a container must not be able to tell that upperwatch reads
# its files.  Reading a file, listing a dir and reading a symlink set its
# atime (under relatime, the first read after a change), and a container
# sees the atimes of its upper files through its merged view: a canary
# whose atime moves says that something on the host looks, and malware
# can wait for a host where nothing does.  upperwatch reads an upper dir
# through a private read-only, nodev, noatime mount of it (or, where it
# cannot make one, with O_NOATIME), so nothing it reads changes.
#
# One runc container, uwt-quiet-<pid>-c1, on a busybox layer, watched by
# `watch --container c1 --quiet-ms 300`.  Inside it, in one `sh -c`: a
# file, a symlink, a dir holding a file, and a file in an image dir;
# their atimes printed at once, before the daemon's quiet period ends.
# Once the daemon has reported all of them, and once `diff --container`
# has read them too, their atimes, printed again from inside, must be
# the same.  Control: a cat, an ls and a readlink from inside the
# container then move the same atimes (this file system keeps them).
#
# Needs root, runc, a static busybox, jq.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq timeout
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-quiet-$$
C=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
DB=$S/db EV=$S/events.jsonl ERR=$S/watch.err
CANARIES="/srv/f /srv/l /srv/d /srv/d/g /etc/h"

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# atimes: each canary's atime, as the container sees it (in exec.out).
atimes() {
	runc_sh "$C" "for p in $CANARIES; do echo \"\$p \$(stat -c %x \"\$p\")\"; done" &&
	    cat "$S/exec.out"
}

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,srv}
busybox_layer "$L1" sh ls cat echo sleep mkdir ln stat readlink true ||
	{ fail "building the layer failed"; finish; }
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
if ! run_container "$RS/c" "$C" "$L1" "/$P/$C" "echo up > /tmp/started; while true; do sleep 1; done" ||
    ! wait_until 10 test -s "$RS/c/upper/tmp/started"; then
	fail "$C: runc container did not start"
	finish
fi
timeout 60 "$UPPERWATCH" --db "$DB" baseline -q --container "$C" >"$S/out" 2>&1 ||
	{ fail "baseline --container $C: $(head -c 300 "$S/out")"; finish; }
start_upperwatch W "$EV" "$ERR" --db "$DB" watch --container "$C" --quiet-ms 300
wait_until 30 grep -q "watching container $C " "$ERR" ||
	{ fail "no 'watching container' notice: $(head -c 600 "$ERR")"; finish; }
wait_until 10 json_has "$EV" '.path == "/tmp/started"' ||
	fail "the start-up scan did not report /tmp/started"

runc_sh "$C" 'echo payload > /srv/f; ln -s f /srv/l; mkdir /srv/d;
	echo more > /srv/d/g; echo x > /etc/h;
	for p in '"$CANARIES"'; do echo "$p|$(stat -c %x "$p")|$(stat -c %y "$p")"; done' ||
	{ fail "making the canaries failed"; finish; }
made=$(cat "$S/exec.out")
echo "# the canaries as made (path|atime|mtime): $(tr '\n' ';' <<<"$made")"
before=$(awk -F'|' '{ print $1 " " $2 }' <<<"$made")
# Nothing read them before that look (or the check below could not fail):
# a read after a change sets the atime past the mtime.
expect_eq "no canary was read before its atime was taken" "" \
	"$(awk -F'|' '$2 > $3 { print $1 }' <<<"$made")"

reported() {
	local p
	for p in $CANARIES; do
		json_has "$EV" '.path == $p' --arg p "$p" || return 1
	done
}
if wait_until 15 reported; then
	pass "the daemon reported every canary"
else
	fail "not every canary was reported: $(jq -r .path "$EV" | tr '\n' ' ')"
fi
sleep 1	# (a later read, a mapping sweep or an exec look, would be done)
after=$(atimes)
expect_eq "no atime moved while the daemon read them" "$before" "$after"

timeout 60 "$UPPERWATCH" --db "$DB" diff --container "$C" >"$S/diff.out" 2>&1
rc=$?
expect_eq "diff --container finds the drift" 1 "$rc"
grep -q "/srv/d/g" "$S/diff.out" || fail "diff did not list /srv/d/g: $(head -c 300 "$S/diff.out")"
after=$(atimes)
expect_eq "no atime moved while diff read them" "$before" "$after"

# Control: the container's own reads move them.
sleep 0.05
runc_sh "$C" 'cat /srv/f /srv/d/g /etc/h >/dev/null; ls /srv/d >/dev/null;
	readlink /srv/l >/dev/null' || fail "the control reads failed"
after=$(atimes)
moved=0
for p in $CANARIES; do
	[ "$(grep "^$p " <<<"$before")" != "$(grep "^$p " <<<"$after")" ] && moved=$((moved + 1))
done
expect_eq "control: a read from inside moves every canary's atime" 5 "$moved"

kill -TERM "$W"
wait "$W"
expect_eq "the daemon stops cleanly" 0 $?
finish
