#!/bin/bash
# content_podman: the fanotify companion on a Podman container, whose
# overlay podman mounts itself (its storage's merged dir): with `watch
# --container P --content-events fanotify`, from inside it through
# `podman exec`:
#   - a delayed write (create empty, write 8 bytes 1 s later) is reported
#     with its content and its writer;
#   - the writer, a `sh -c` that stays, is named: comm sh, exe
#     /bin/busybox, the container (by cgroup) is P's full id, and its
#     pid's NSpid is the pid it wrote into the file;
#   - a dropped copy of busybox that runs gives an op "exec" event, and
#     the image's binaries give none;
#   - with --prevent and the example deny-drift-exec policy it is refused
#     (exit 126), reported as prevented, while image binaries run.
#
# Needs root, podman, runc, a static busybox, jq, tar.  UWT_KEEP=DIR keeps
# a copy of the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd podman runc busybox jq timeout tar
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-fanp-$$
PN=$P-p1 IMG=localhost/$P:1
RS=$(realpath "$S")
R=$RS/img-rootfs
EV=$S/events.jsonl ERR=$S/watch.err

for d in /sys/fs/cgroup/*/; do
	[ -d "${d}libpod_parent" ] && continue
	cleanup_push "rmdir '${d}libpod_parent/conmon' '${d}libpod_parent'"
done

px() {
	timeout -k 2 30 podman exec "$PN" sh -c "$1" </dev/null >"$S/exec.out" 2>&1 && return 0
	echo "# podman exec '$1': $(head -c 300 "$S/exec.out")" >&2
	return 1
}
event_where() {
	jq -c --arg p "$1" "select(.path == \$p) | select($2)" "$EV" 2>/dev/null | grep -q .
}
last_of() { jq -c --arg p "$1" 'select(.path == $p)' "$EV" 2>/dev/null | tail -n 1; }

# ---- the image and the container (notes §8.2) ---------------------------------

mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp,root}
busybox_layer "$R" sh cat echo sleep cp true || { fail "building the image failed"; finish; }
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
podman_run "$R" "$IMG" "$PN" || { fail "the Podman container did not start"; finish; }
PODMAN_ID=$(podman inspect -f '{{.Id}}' "$PN")
cleanup_push "rmdir /sys/fs/cgroup/*/libpod_parent/libpod-$PODMAN_ID"

"$UPPERWATCH" --db "$S/db" watch --container "$PN" --content-events fanotify --rescan 3600 \
	-x '/etc/host*' -x /etc/resolv.conf -x /etc/mtab -x /run -x '/run/**' \
	--output "$EV" 2>>"$ERR" &
W=$!
cleanup_push "stop_bg $W"
if ! wait_until 30 grep -q 'watching container' "$ERR"; then
	fail "no 'watching container' notice within 30 s: $(head -c 600 "$ERR")"
	finish
fi
grep -q 'fanotify cannot mark' "$ERR" && fail "fanotify could not mark: $(grep fanotify "$ERR" | head -c 300)"
sleep 0.5	# the start-up scan

# ---- delayed write -----------------------------------------------------------

px ': > /tmp/late' || fail "creating /tmp/late"
wait_until 5 event_where /tmp/late '.current.size == 0' || fail "the empty /tmp/late was not reported"
px 'sleep 1; echo payload >> /tmp/late' || fail "writing /tmp/late"
t0=$EPOCHREALTIME
if wait_until 5 event_where /tmp/late '.current.size == 8 and .process != null'; then
	pass "delayed write reported with its content and writer in $(elapsed "$t0") s"
else
	fail "delayed write: $(last_of /tmp/late | head -c 300)"
fi

# ---- the writer ------------------------------------------------------------------

timeout -k 2 30 podman exec "$PN" sh -c 'echo $$ > /tmp/w1; sleep 3; true' </dev/null >/dev/null 2>&1 &
XPID=$!
if wait_until 8 event_where /tmp/w1 '.process != null'; then
	ev=$(jq -c 'select(.path == "/tmp/w1" and .process != null)' "$EV" | tail -n 1)
	pid=$(jq -r '.process.pid' <<<"$ev")
	expect_eq "writer: NSpid of process.pid" "$(cat "$(podman inspect -f '{{.GraphDriver.Data.UpperDir}}' "$PN")/tmp/w1")" \
		"$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status" 2>/dev/null)"
	expect_eq "writer: comm and exe" "sh /bin/busybox" "$(jq -r '"\(.process.comm) \(.process.exe)"' <<<"$ev")"
	expect_eq "writer: the container by cgroup" "$PODMAN_ID" "$(jq -r '.process.container' <<<"$ev")"
else
	fail "writer: not named: $(last_of /tmp/w1 | head -c 300)"
fi
wait "$XPID" 2>/dev/null

# ---- exec of drift ----------------------------------------------------------------

px 'cp /bin/busybox /tmp/sh' || fail "dropping a binary"
wait_until 5 event_where /tmp/sh true || fail "the dropped binary was not reported"
px '/tmp/sh -c true; /bin/true' || fail "running it"
if wait_until 5 event_where /tmp/sh '.op == "exec"'; then
	pass "exec of the dropped binary reported"
else
	fail "no exec event for /tmp/sh: $(last_of /tmp/sh | head -c 300)"
fi
if jq -e 'select(.op == "exec" and .path != "/tmp/sh")' "$EV" >/dev/null 2>&1; then
	fail "an exec event for an image binary: $(jq -c 'select(.op == "exec" and .path != "/tmp/sh")' "$EV" | head -n 1 | head -c 300)"
else
	pass "no exec event for image binaries"
fi

stop_bg "$W"
expect_eq "watch stops cleanly" 0 "$BG_STATUS"

# ---- --prevent -----------------------------------------------------------------

"$UPPERWATCH" --db "$S/db" watch --container "$PN" --prevent \
	--policy "${UW_SOURCE_ROOT:-$(dirname "$0")/../..}/policies/examples/deny-drift-exec.lua" \
	-x '/etc/host*' -x /etc/resolv.conf -x /etc/mtab -x /run -x '/run/**' \
	--output "$EV" 2>>"$ERR" &
W=$!
cleanup_push "stop_bg $W"
if wait_until 30 sh -c "[ \$(grep -c 'watching container' '$ERR') -ge 2 ]"; then
	px '/tmp/sh -c "echo ran"; echo rc=$?'
	if grep -q '^rc=126$' "$S/exec.out" && ! grep -q '^ran$' "$S/exec.out"; then
		pass "--prevent: the dropped binary is refused in the Podman container"
	else
		fail "--prevent: not refused: $(head -c 300 "$S/exec.out")"
	fi
	px '/bin/sh -c "echo image-ran"'
	grep -q '^image-ran$' "$S/exec.out" || fail "--prevent: an image binary did not run: $(head -c 300 "$S/exec.out")"
	wait_until 5 event_where /tmp/sh '.op == "exec" and .prevented == true' ||
		fail "--prevent: the refused exec was not reported"
	stop_bg "$W"
	expect_eq "watch --prevent stops cleanly" 0 "$BG_STATUS"
else
	fail "watch --prevent did not start: $(tail -c 400 "$ERR")"
fi
[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
