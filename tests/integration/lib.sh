# Shared helpers for upperwatch's shell tests.  Source it, do not run it.
#
# Every test gets a scratch dir in $S, removed on exit together with
# whatever the test registered through `cleanup_push`.  Cleanup runs in
# reverse order, even when the test fails half-way.

set -u

UPPERWATCH=${UPPERWATCH:-$(cd "$(dirname "$0")/../.." && pwd)/build/upperwatch}
TEST_NAME=$(basename "$0" .sh)
_cleanup_cmds=()
_failures=0

cleanup_push() { _cleanup_cmds+=("$*"); }

_run_cleanup() {
	local i
	for ((i = ${#_cleanup_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_cmds[$i]}" >/dev/null 2>&1 || true
	done
	[ -n "${S:-}" ] && [ -d "$S" ] && rm -rf "$S"
}
trap _run_cleanup EXIT
trap 'exit 130' INT TERM

S=$(mktemp -d "${TMPDIR:-/tmp}/uw-$TEST_NAME.XXXXXX")

# skip REASON: exit 77 (meson's "skipped"), or fail when the suite was
# told that nothing may be skipped.
skip() {
	if [ "${UPPERWATCH_REQUIRE_ROOT_TESTS:-0}" = 1 ]; then
		echo "FAIL: $TEST_NAME would skip ($*), but UPPERWATCH_REQUIRE_ROOT_TESTS=1" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

fail() {
	echo "not ok - $*" >&2
	_failures=$((_failures + 1))
}

pass() { echo "ok - $*"; }

# check DESCRIPTION COMMAND...: run COMMAND, record pass or fail.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1: expected [$2], got [$3]"
	fi
}

# mount_overlay LOWERS UPPER WORK MERGED [EXTRA_OPTS]: mount and register
# the unmount.
mount_overlay() {
	local opts="lowerdir=$1"
	[ -n "$2" ] && opts="$opts,upperdir=$2,workdir=$3"
	[ -n "${5:-}" ] && opts="$opts,$5"
	mkdir -p "$4"
	mount -t overlay overlay -o "$opts" "$4" || return 1
	cleanup_push "umount -l '$4'"
}

# tmpfs_overlay NAME DIR INODES LOWERS MERGED: a 256 MiB tmpfs at DIR
# (with at most INODES inodes) holding the upper and work dirs of an
# overlay of LOWERS at MERGED, so that a burst of files is not slowed by
# the disk; both unmounts registered.
tmpfs_overlay() {
	mkdir -p "$2"
	mount -t tmpfs -o "size=256m,nr_inodes=$3,mode=0755" "$1" "$2" || return 1
	cleanup_push "umount -l '$2'"
	mkdir -p "$2/upper" "$2/work"
	mount_overlay "$4" "$2/upper" "$2/work" "$5"
}

finish() {
	if [ "$_failures" -gt 0 ]; then
		echo "$TEST_NAME: $_failures check(s) failed" >&2
		exit 1
	fi
	exit 0
}

# wait_until SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds;
# returns 1 when it did not within SECONDS (which may be fractional).
wait_until() {
	local now deadline
	deadline=$(awk -v t="$EPOCHREALTIME" -v s="$1" 'BEGIN { printf "%.0f", (t + s) * 1e6 }')
	shift
	until "$@"; do
		now=${EPOCHREALTIME/[.,]/}
		[ "$now" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# my_child PID: PID is (still) a child process of this shell, so never a
# recycled pid of someone else's process.
my_child() {
	[ "$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null)" = "$$" ]
}

# stop_bg PID [SIGNAL]: send SIGNAL (TERM) to a background job of this
# shell, give it 10 s, then SIGKILL; reap it and set BG_STATUS to its exit
# status.  (Not in $(...): a subshell cannot wait for its parent's jobs.)
BG_STATUS=
stop_bg() {
	local pid=$1 i st
	BG_STATUS=
	my_child "$pid" || { wait "$pid" 2>/dev/null; BG_STATUS=$?; return 0; }
	kill -s "${2:-TERM}" "$pid" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || break
		[ "$st" = Z ] && break
		sleep 0.05
	done
	[ $i -lt 200 ] || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	BG_STATUS=$?
}

# busybox_layer DIR APPLET...: the static busybox in DIR/bin, and each
# APPLET a link to it: the smallest image a test container can run.
busybox_layer() {
	local d=$1 a
	shift
	mkdir -p "$d/bin" && cp "$(command -v busybox)" "$d/bin/busybox" || return 1
	for a in "$@"; do
		ln -sf busybox "$d/bin/$a" || return 1
	done
}

# alive PID: the process exists and is not a zombie.
alive() { [ -d "/proc/$1" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# run_container DIR CID LOWERS CGROUP INIT [JQ]: a runc container started
# the way the notes (§8.1) do it, in this order: an overlay of LOWERS
# (lowerdir order) on DIR/bundle/rootfs with DIR/upper and DIR/work; a
# `runc spec` bundle edited with jq (no terminal, a writable root, cgroup
# path CGROUP, init `sh -c INIT`, then the jq filter JQ if given, or the
# one in file F for JQ "@F"); and a
# foreground `runc run` in the background, which reaps the init and
# deletes the container when it dies.  Waits for runc's pid file.
# Registers the resume, kill and delete before the unmount.  Sets RUNC_PID.
run_container() {
	local d=$1
	mkdir -p "$d/upper" "$d/work" "$d/bundle/rootfs"
	mount_overlay "$3" "$d/upper" "$d/work" "$d/bundle/rootfs" || return 1
	runc_start "$d" "$2" "$4" "$5" "${6:-.}"
}

# start_upperwatch VAR OUT ERR ARGS...: `upperwatch ARGS` in the
# background, stdout appended to OUT, stderr to ERR; its pid in VAR.
# Registers its stop.
start_upperwatch() {
	local var=$1 out=$2 err=$3 pid
	shift 3
	: >>"$out"
	: >>"$err"
	"$UPPERWATCH" "$@" >>"$out" 2>>"$err" &
	pid=$!
	cleanup_push "stop_bg $pid"
	printf -v "$var" %s "$pid"
}

# sysctl_set NAME VALUE: set a sysctl and register putting back the old
# value.
sysctl_set() {
	local old
	old=$(sysctl -n "$1") || return 1
	cleanup_push "sysctl -qw '$1=$old'"
	sysctl -qw "$1=$2"
}

# inotify_watches PID: one line "SDEV INO" (hex, as the kernel prints
# them in fdinfo) per inotify watch that process PID holds.
inotify_watches() {
	local f
	for f in "/proc/$1/fd/"*; do
		[ "$(readlink "$f" 2>/dev/null)" = anon_inode:inotify ] || continue
		sed -n 's/^inotify wd:[0-9a-f]* ino:\([0-9a-f]*\) sdev:\([0-9a-f]*\) .*/\2 \1/p' \
		    "/proc/$1/fdinfo/${f##*/}" 2>/dev/null
	done
}

# dir_keys DIR: "SDEV INO" as inotify_watches prints them, for DIR and
# every dir below it on the same filesystem.
dir_keys() {
	local dev
	dev=$(stat -c '%Hd %Ld' "$1" | awk '{ printf "%x", $1 * 1048576 + $2 }') || return 1
	find "$1" -xdev -type d -printf '%i\n' | awk -v d="$dev" '{ printf "%s %x\n", d, $1 }'
}

# poll_until STEP SECONDS COMMAND...: wait_until, but checking every STEP
# seconds (for timings finer than 50 ms).
poll_until() {
	local step=$1 now deadline
	deadline=$(awk -v t="$EPOCHREALTIME" -v s="$2" 'BEGIN { printf "%.0f", (t + s) * 1e6 }')
	shift 2
	until "$@"; do
		now=${EPOCHREALTIME/[.,]/}
		[ "$now" -ge "$deadline" ] && return 1
		sleep "$step"
	done
}

# elapsed FROM [TO]: seconds from FROM to TO (default: now), both epoch
# seconds as EPOCHREALTIME or `stat -c %.9Y` print them; three decimals.
elapsed() {
	awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.3f", b - a }'
}

# sql DB QUERY: run QUERY read-only on a database a daemon may be writing
# (waits up to 5 s for its lock); rows as sqlite3 prints them, "|"-separated.
sql() {
	sqlite3 -readonly -cmd '.timeout 5000' "$1" "$2"
}

# opens_start LOG PATH...: from now on, log each process that opens or
# reads a PATH (a dir: it, or an entry in it) to LOG, one "PID COMM EVENT
# PATH" line each ($UW_OPENS, fanotify: unlike inotify it names the
# opener, so a program walking the scratch dir is not taken for
# upperwatch).  Sets OPENS_PID; returns 1 with OPENS_PID empty when it
# cannot watch (then compare atimes instead).
opens_start() {
	local log=$1
	shift
	OPENS_PID=
	[ -x "${UW_OPENS:-}" ] || return 1
	"$UW_OPENS" "$@" >"$log" 2>"$log.err" &
	OPENS_PID=$!
	cleanup_push "kill $OPENS_PID 2>/dev/null"
	for _ in $(seq 50); do
		grep -qx ready "$log.err" 2>/dev/null && return 0
		kill -0 "$OPENS_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# opens: $(head -c 300 "$log.err")" >&2
	kill "$OPENS_PID" 2>/dev/null
	wait "$OPENS_PID" 2>/dev/null
	OPENS_PID=
	return 1
}

# opens_stop PID LOG: stop the logger PID (from opens_start), in the
# test's own shell (it is that shell's child); if it did not stop
# cleanly, say so in LOG as an opener of its own, so the check fails.
opens_stop() {
	local rc=0
	sleep 0.3	# events in flight
	kill "$1" 2>/dev/null
	wait "$1" || rc=$?
	[ "$rc" = 0 ] || echo "0 (logger) failed exit $rc: $(head -c 200 "$2.err" | tr '\n' ' ')" >>"$2"
}

# opens_by_upperwatch LOG: after opens_stop, the first lines of LOG (on
# one line) whose process was upperwatch, was gone before it could be
# named, or stands for lost events or a failed logger; the other openers
# go to stderr as comments.
opens_by_upperwatch() {
	awk '$2 != "upperwatch" && $2 != "?" && $2 !~ /^\(/ { print "# opened by another process: " $0 }' \
	    "$1" | head -n 5 >&2
	awk '$2 == "upperwatch" || $2 == "?" || $2 ~ /^\(/' "$1" | head -n 5 | tr '\n' ' '
}

# build_hostile OUT: tests/integration/hostile.c, the evasion tests'
# attacker tool, built static into OUT (to be copied into an image layer,
# so that the attacks run inside a container).
build_hostile() {
	cc -static -O2 -o "$1" "$(dirname "$0")/hostile.c" >"$1.log" 2>&1 && return 0
	echo "# cc -static hostile.c: $(head -c 600 "$1.log")" >&2
	return 1
}

# runc_start DIR CID CGROUP INIT [JQ]: the second half of run_container,
# for a rootfs mounted beforehand on DIR/bundle/rootfs: the same `runc
# spec` bundle and the same foreground `runc run` in the background.
# Registers the resume, kill and delete.  Sets RUNC_PID.
runc_start() {
	local d=$1 cid=$2 cg=$3 init=$4 filter=${5:-.}
	(cd "$d/bundle" && runc spec) || return 1
	# The filter goes through a file: JQ may be @FILE, for one too long
	# for an argument.
	{
		printf '%s | ' '.process.terminal = false
		| .process.args = ["sh", "-c", $init]
		| .root.readonly = false
		| .linux.cgroupsPath = $cg'
		if [ "${filter#@}" != "$filter" ]; then cat "${filter#@}"; else printf '%s\n' "$filter"; fi
	} >"$d/filter.jq" || return 1
	jq --arg cg "$cg" --arg init "$init" -f "$d/filter.jq" "$d/bundle/config.json" >"$d/config.json" &&
		mv "$d/config.json" "$d/bundle/config.json" || return 1
	runc run --bundle "$d/bundle" --pid-file "$d/pid" "$cid" </dev/null >"$d/runc.log" 2>&1 &
	RUNC_PID=$!
	cleanup_push "runc resume '$cid'; runc kill '$cid' KILL; sleep 0.3; runc delete -f '$cid'; wait $RUNC_PID"
	wait_until 10 test -s "$d/pid" || { echo "# runc run $cid: $(cat "$d/runc.log")" >&2; return 1; }
}

# runc_sh [-t SECS] CID SCRIPT: `sh -c SCRIPT` in the runc container CID
# (killed after SECS, 20 with -t), its output in $S/exec.out.  Its
# stderr is joined to its stdout inside the container: runc copies the
# two through separate pipes, so joined outside they can interleave in
# the middle of a line.  A failure is said on stderr (a test comment);
# returns the exit status.
runc_sh() {
	local t=() rc
	if [ "$1" = -t ]; then
		t=(timeout -k 2 "$2")
		shift 2
	fi
	"${t[@]}" runc exec "$1" sh -c "exec 2>&1; $2" </dev/null >"$S/exec.out" 2>&1 && return 0
	rc=$?
	echo "# runc exec $1 '$2': exit $rc: $(head -c 300 "$S/exec.out")" >&2
	return $rc
}

# json_has FILE FILTER [JQ ARGS...]: some line of the JSON Lines FILE
# passes `select(FILTER)`.
json_has() {
	local f=$1 filter=$2
	shift 2
	jq -c "$@" "select($filter)" "$f" 2>/dev/null | grep -q .
}

# upper_dir_keys: dir_keys of the upper dir of every overlay mounted on
# this host (the dirs a watcher of containers may watch).
upper_dir_keys() {
	local u
	awk '{ for (i = 1; i <= NF; i++) if ($i == "-") break
	       if ($(i + 1) == "overlay") print $(i + 3) }' /proc/self/mountinfo |
	    tr ',' '\n' | sed -n 's/^upperdir=//p' |
	    while read -r u; do
		u=$(printf '%b' "${u//\\/\\0}")	# mountinfo's \NNN escapes
		[ -d "$u" ] && dir_keys "$u"
	done
}

# podman_import ROOTFS IMAGE: import the dir ROOTFS as IMAGE (removed at
# the end).  Returns 1, with podman's words on stderr, when it fails.
podman_import() {
	local r=$1 img=$2
	cleanup_push "podman rmi -f '$img'"
	tar -C "$r" -cf "$r.tar" . &&
	    timeout -k 5 120 podman import --quiet --change 'CMD ["/bin/sh"]' "$r.tar" "$img" \
		>/dev/null 2>"$S/podman.err" && return 0
	echo "# podman import failed: $(head -c 400 "$S/podman.err")" >&2
	return 1
}

# podman_start IMAGE NAME: run container NAME from IMAGE the way the notes
# (§8.2) do it: runc, cgroupfs, explicit ulimits, no network, init `sh -c
# 'sleep 100000 & exec sleep 100000'`.  Registers the removal (a paused
# container is thawed first).  Returns 1, with podman's words on stderr,
# when it fails.
podman_start() {
	local img=$1 name=$2 nofile
	nofile=$(ulimit -Hn)
	[ "$nofile" = unlimited ] && nofile=1048576
	cleanup_push "podman unpause '$name'; podman rm -f -t 0 '$name'"
	timeout -k 5 120 podman --runtime runc --cgroup-manager cgroupfs run -d --name "$name" --network none \
	    --ulimit nofile="$nofile:$nofile" --ulimit nproc=32768:32768 \
	    "$img" sh -c 'sleep 100000 & exec sleep 100000' >/dev/null 2>"$S/podman.err" && return 0
	echo "# podman run failed: $(head -c 400 "$S/podman.err")" >&2
	return 1
}

# podman_run ROOTFS IMAGE NAME: podman_import, then podman_start.
podman_run() {
	podman_import "$1" "$2" && podman_start "$2" "$3"
}
