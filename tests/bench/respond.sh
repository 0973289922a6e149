#!/bin/bash
# Benchmark upperwatch's pause response on a runc container: the time from
# a dropped executable's write to the container frozen.  Run with --help
# for the knobs.
set -euo pipefail
export LC_ALL=C

usage() {
	cat <<EOF
Usage: tests/bench/respond.sh [--help]

Starts a runc container (uwt-resp-PID-bench) on an overlay over a busybox
layer and, BENCH_RUNS times: 'upperwatch watch --container ID --policy DIR'
with a policy that pauses on a new executable; 'runc exec ID cp' of an
executable (mode 755, 4 KiB) into /root; poll the container's v1
freezer.state every BENCH_POLL_MS until it says FROZEN; 'upperwatch resume
ID'; wait until 'runc state' says running again.  Per run:

  write -> frozen   the first poll that saw FROZEN, minus the file's mtime
                    in the upper dir (the write, as the kernel stamped it)
  write -> event    the event's "time" (when upperwatch reported it) minus
                    that mtime: detection, the --quiet-ms wait included
  event -> paused   the latency_ns journaled with the pause (upperwatch's
                    own figure, from the event to the container frozen)
  runc state        whether 'runc state' said paused once frozen

and prints the median, p99 (nearest rank), min and max of each, and the
goals: write -> frozen <= 15 ms at the median and < 1 s at p99.  One
daemon serves every run (it must pause the container again after each
'upperwatch resume'; a run that does not freeze within BENCH_TIMEOUT_S is
reported as such); BENCH_ONE_DAEMON=0
starts a fresh daemon for each run instead.
Exits 0 unless a tool fails.  Needs root, runc, a static busybox, jq,
sqlite3, a v1 freezer hierarchy.

Environment:
  BENCH_RUNS        runs                                    (10)
  BENCH_POLL_MS     freezer.state poll interval, ms         (2)
  BENCH_TIMEOUT_S   give up on a run after this many s      (5)
  BENCH_QUIET_MS    the daemon's --quiet-ms                 (its default)
  BENCH_ONE_DAEMON  0: a fresh daemon for each run          (1)
  UPPERWATCH        binary to test                          (build/upperwatch)
  TMPDIR            where the scratch dir goes
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${BENCH_RUNS:-10}
POLL_MS=${BENCH_POLL_MS:-2}
TIMEOUT_S=${BENCH_TIMEOUT_S:-5}
QUIET_MS=${BENCH_QUIET_MS:-}
ONE_DAEMON=${BENCH_ONE_DAEMON:-1}
UW=${UPPERWATCH:-$ROOT/build/upperwatch}
TAG=uwt-resp-$$
CID=$TAG-bench

die() { echo "respond.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (mounts, runc)"
[ -x "$UW" ] || die "$UW not found; build it first (ninja -C build)"
for c in runc busybox jq sqlite3 findmnt mount umount; do
	command -v "$c" >/dev/null || die "needs $c"
done
[ -n "$(findmnt -rn -t cgroup -O freezer -o TARGET | head -n 1)" ] ||
	die "needs a v1 freezer hierarchy (hybrid cgroups)"
[ "$RUNS" -ge 1 ] 2>/dev/null || die "BENCH_RUNS must be a number >= 1"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/$TAG.XXXXXX")
WORK=$(realpath "$WORK")
DAEMON=      # the running daemon, if any
RUNC_PID=    # the foreground `runc run`
MOUNTED=
cleanup() {
	set +e
	stop_daemon
	if [ -n "$RUNC_PID" ]; then
		runc resume "$CID" >/dev/null 2>&1
		runc kill "$CID" KILL >/dev/null 2>&1
		sleep 0.3
		runc delete -f "$CID" >/dev/null 2>&1
		wait "$RUNC_PID" 2>/dev/null
	fi
	[ -n "$MOUNTED" ] && { umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED"; }
	for d in "/sys/fs/cgroup/$TAG" /sys/fs/cgroup/*/"$TAG"; do
		[ -d "$d" ] && rmdir "$d"/*/ "$d" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# sleep without a fork: a read that times out on a FIFO nobody writes
mkfifo "$WORK/never"
exec {NEVER}<>"$WORK/never"
nap() { read -r -t "$1" -u "$NEVER" _ || true; }
POLL_S=$(awk -v m="$POLL_MS" 'BEGIN { printf "%.4f", m / 1000 }')

now_ns() { local t=$EPOCHREALTIME; echo "${t/[.,]/}000"; }

# wait_for SECONDS COMMAND...: poll every 20 ms; 1 if not within SECONDS.
wait_for() {
	local end=$(($(now_ns) + ${1%.*} * 1000000000))
	shift
	until "$@"; do
		[ "$(now_ns)" -ge "$end" ] && return 1
		nap 0.02
	done
}

# --- the image, the container, the policy -------------------------------------
L1=$WORK/layer
mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,opt/p}
cp "$(command -v busybox)" "$L1/bin/busybox"
for a in sh cp sleep true; do ln -sf busybox "$L1/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
for ((i = 1; i <= RUNS; i++)); do
	{ printf '#!/bin/sh\n# payload %s\n' "$i"; head -c 4096 /dev/urandom; } >"$L1/opt/p/x$i"
	chmod 755 "$L1/opt/p/x$i"
done
mkdir -p "$WORK/pol"
cat >"$WORK/pol/pause.lua" <<'EOF'
local uw = require("upperwatch")
return { name = "pause-exec", description = "pause on a new executable",
  evaluate = function(ev)
    if ev.op == "added" and ev.current and uw.executable(ev.current.mode) then
      return uw.verdict("critical", "pause", "new executable")
    end
  end }
EOF

D=$WORK/ctr
mkdir -p "$D/upper" "$D/work" "$D/bundle/rootfs"
mount -t overlay overlay -o "lowerdir=$L1,upperdir=$D/upper,workdir=$D/work" "$D/bundle/rootfs"
MOUNTED=$D/bundle/rootfs
(cd "$D/bundle" && runc spec)
jq --arg cg "/$TAG/$CID" '
	.process.terminal = false
	| .process.args = ["sh", "-c", "sleep 100000 & exec sleep 100000"]
	| .root.readonly = false
	| .linux.cgroupsPath = $cg' "$D/bundle/config.json" >"$D/config.json"
mv "$D/config.json" "$D/bundle/config.json"
runc run --bundle "$D/bundle" --pid-file "$D/pid" "$CID" </dev/null >"$D/runc.log" 2>&1 &
RUNC_PID=$!
wait_for 10 test -s "$D/pid" || die "runc run: $(cat "$D/runc.log")"
V1=$(jq -r '.cgroup_paths.freezer' "/run/runc/$CID/state.json")
[ -f "$V1/freezer.state" ] || die "no freezer.state in [$V1]"

DB=$WORK/db
EV=$WORK/events.jsonl
ERR=$WORK/watch.err
: >"$ERR"

start_daemon() {
	local n args=(--db "$DB" watch --container "$CID" --policy "$WORK/pol" --output "$EV")
	[ -n "$QUIET_MS" ] && args+=(--quiet-ms "$QUIET_MS")
	n=$(grep -c 'watching container' "$ERR" || true)
	"$UW" "${args[@]}" 2>>"$ERR" &
	DAEMON=$!
	wait_for 20 sh -c "[ \$(grep -c 'watching container' '$ERR') -gt $n ]" ||
		die "the daemon did not start: $(tail -n 3 "$ERR")"
	nap 0.3 # its start-up scan
}
stop_daemon() {
	[ -n "$DAEMON" ] || return 0
	# only a child of ours: never a recycled pid
	if [ "$(awk '{ print $4 }' "/proc/$DAEMON/stat" 2>/dev/null)" = "$$" ]; then
		kill -TERM "$DAEMON" 2>/dev/null
		wait_for 10 sh -c "! kill -0 $DAEMON 2>/dev/null || grep -qs '^[^ ]* [^ ]* Z' /proc/$DAEMON/stat" ||
			kill -KILL "$DAEMON" 2>/dev/null
	fi
	wait "$DAEMON" 2>/dev/null || true
	DAEMON=
}
frozen() { local s; read -r s <"$V1/freezer.state" && [ "$s" = FROZEN ]; }
running() { [ "$(runc state "$CID" 2>/dev/null | jq -r .status)" = running ]; }

# --- the runs ------------------------------------------------------------------
: >"$WORK/runs"   # write->frozen write->event event->paused (ms) runc-state
echo "$RUNS runs, freezer.state polled every $POLL_MS ms, $([ "$ONE_DAEMON" = 1 ] && echo "one daemon" || echo "a daemon per run")" >&2
[ "$ONE_DAEMON" = 1 ] && start_daemon
for ((i = 1; i <= RUNS; i++)); do
	[ "$ONE_DAEMON" = 1 ] || start_daemon
	runc exec "$CID" cp "/opt/p/x$i" "/root/x$i" </dev/null >"$WORK/exec.out" 2>&1 &
	xpid=$!
	end=$(($(now_ns) + TIMEOUT_S * 1000000000))
	got=0
	while [ "$(now_ns)" -lt "$end" ]; do
		if frozen; then
			got=1
			break
		fi
		nap "$POLL_S"
	done
	tf=$(now_ns)
	wait "$xpid" || true
	mt=$(stat -c %.9Y "$D/upper/root/x$i" 2>/dev/null | tr -d .)
	[ -n "$mt" ] || die "run $i: /root/x$i is not in the upper dir: $(cat "$WORK/exec.out")"
	if [ "$got" = 0 ]; then
		echo "  run $i: NOT frozen within $TIMEOUT_S s; notices: $(tail -n 1 "$ERR")" >&2
		echo "- - - no" >>"$WORK/runs"
	else
		st=$(runc state "$CID" | jq -r .status)
		wait_for 5 grep -q "\"path\":\"/root/x$i\"" "$EV" || die "run $i: no event"
		et=$(grep "\"path\":\"/root/x$i\"" "$EV" | grep -o '"time":[0-9]*' | tail -n 1 | cut -d: -f2)
		eid=$(grep "\"path\":\"/root/x$i\"" "$EV" | grep -o '"id":[0-9]*}$' | tail -n 1 | tr -dc 0-9)
		lat=
		wait_for 5 sh -c "[ -n \"\$(sqlite3 -readonly -cmd '.timeout 5000' '$DB' \"SELECT 1 FROM responses WHERE event_id = $eid AND outcome = 'done'\")\" ]" &&
			lat=$(sqlite3 -readonly -cmd '.timeout 5000' "$DB" "SELECT latency_ns FROM responses WHERE event_id = $eid AND outcome = 'done'")
		awk -v f="$tf" -v m="$mt" -v e="$et" -v l="${lat:--1}" -v s="$st" 'BEGIN {
			printf "%.3f %.3f %s %s\n", (f - m) / 1e6, (e - m) / 1e6,
			    l < 0 ? "-" : sprintf("%.3f", l / 1e6), s == "paused" ? "yes" : "no" }' >>"$WORK/runs"
		echo "  run $i: $(tail -n 1 "$WORK/runs" | awk '{ printf "write->frozen %s ms, write->event %s ms, event->paused %s ms, runc state paused: %s", $1, $2, $3, $4 }')" >&2
		"$UW" --db "$DB" resume "$CID" >/dev/null 2>"$WORK/resume.err" ||
			die "run $i: upperwatch resume failed: $(cat "$WORK/resume.err")"
		wait_for 5 running || die "run $i: not running after resume"
	fi
	[ "$ONE_DAEMON" = 1 ] || stop_daemon
done
stop_daemon

# --- report --------------------------------------------------------------------
# stat COLUMN: "median p99 min max n" of the numeric values in that column
stat_col() {
	awk -v c="$1" '$c != "-" { print $c }' "$WORK/runs" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - - 0"; exit }
			med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			r = int(0.99 * NR); if (r < 0.99 * NR) r++
			printf "%.1f %.1f %.1f %.1f %d\n", med, v[r], v[1], v[NR], NR
		}'
}
row() { # LABEL COLUMN
	read -r med p99 min max n <<<"$(stat_col "$2")"
	printf '%-34s %9s %9s %9s %9s %6s\n' "$1" "$med" "$p99" "$min" "$max" "$n/$RUNS"
}
FROZEN=$(stat_col 1)
echo
echo "upperwatch pause response benchmark: runc $(runc --version | head -n 1 | awk '{ print $3 }'), $RUNS runs," \
	"freezer polled every $POLL_MS ms, $([ "$ONE_DAEMON" = 1 ] && echo "one daemon" || echo "a daemon per run")," \
	"$(nproc) CPUs"
echo
printf '%-34s %9s %9s %9s %9s %6s\n' "ms" median p99 min max runs
row "write -> frozen (polled)" 1
row "write -> event (detection)" 2
row "event -> paused (journal latency)" 3
echo
echo "runc state said paused once frozen: $(awk '$4 == "yes"' "$WORK/runs" | wc -l)/$RUNS runs"
read -r med p99 _ _ n <<<"$FROZEN"
echo
echo "goals:"
if [ "$n" = "$RUNS" ] && awk -v m="$med" 'BEGIN { exit !(m <= 15) }'; then
	printf '  %-4s  %-36s %s\n' PASS "write -> frozen <= 15 ms, median" "($med ms)"
else
	printf '  %-4s  %-36s %s\n' MISS "write -> frozen <= 15 ms, median" "($med ms; frozen in $n of $RUNS runs)"
fi
if [ "$n" = "$RUNS" ] && awk -v p="$p99" 'BEGIN { exit !(p < 1000) }'; then
	printf '  %-4s  %-36s %s\n' PASS "write -> frozen < 1 s at p99" "($p99 ms)"
else
	printf '  %-4s  %-36s %s\n' MISS "write -> frozen < 1 s at p99" "($p99 ms; frozen in $n of $RUNS runs)"
fi
