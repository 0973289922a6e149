#!/bin/bash
# Benchmark what the fanotify companion costs a container: exec cost with
# and without the daemon, and content writes reported per second through
# fanotify beside inotify.  Run with --help for the knobs.
set -euo pipefail
export LC_ALL=C

usage() {
	cat <<EOF
Usage: tests/bench/exec.sh [--help]

Starts a runc container (uwt-exec-PID-bench) on an overlay over a busybox
layer holding a static helper, and measures from inside it:

 (a) exec cost: the helper fork+execs /bin/true (a static program that
     returns 0) BENCH_EXECS times and prints the time per exec.  Runs:
     no daemon (the reference), then
     'watch --container ID --content-events inotify' (no fanotify mark),
     then '--content-events fanotify' (its mark asks for FAN_MODIFY,
     FAN_CLOSE_WRITE and FAN_OPEN_EXEC: every exec of an image file is
     an event the daemon reads and drops after a path lookup), then
     '--content-events fanotify --prevent' with the example deny policy
     (every exec is held until the prevention thread answered: for
     /bin/true, an image file, after a lookup of its path in the upper
     dir, without Lua; each time: no ignore mark, which would outlive a
     copy-up and a change through a shared mapping).  Then the worst
     case: the
     same program dropped into the container as /w/true (drift), run
     without daemon, then with --prevent and a policy that allows it,
     so each exec is held, judged in Lua, allowed, and reported.  Each
     run BENCH_RUNS times, alternated; medians, and the µs added per
     exec against no daemon (goal with --prevent: < 20 µs).
 (b) content writes: the helper creates BENCH_FILES files in a fresh dir,
     each opened empty, then written (BENCH_SIZE bytes) and closed, as
     fast as it goes.  For each of inotify and fanotify: drift events
     reported per second (from the first write to the last event's
     "time"), median of BENCH_RUNS.  Beside them, 'inotifywait -m -r' on
     the upper dir through the same burst: events it received per
     second (it only receives; upperwatch classifies, hashes and
     journals).

Exits 0 unless a tool fails.  Needs root, runc, a static busybox, cc with
a static libc, jq, inotifywait (or BENCH_SKIP_INOTIFYWAIT=1).

Environment:
  BENCH_EXECS       execs per exec run                (10000)
  BENCH_FILES       files per write burst             (20000)
  BENCH_SIZE        bytes written to each             (64)
  BENCH_RUNS        runs of each                      (3)
  BENCH_SKIP_INOTIFYWAIT  1: no inotifywait beside    (0)
  UPPERWATCH        binary to test                    (build/upperwatch)
  TMPDIR            where the scratch dir goes
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EXECS=${BENCH_EXECS:-10000}
FILES=${BENCH_FILES:-20000}
SIZE=${BENCH_SIZE:-64}
RUNS=${BENCH_RUNS:-3}
SKIP_IW=${BENCH_SKIP_INOTIFYWAIT:-0}
UW=${UPPERWATCH:-$ROOT/build/upperwatch}
TAG=uwt-exec-$$
CID=$TAG-bench

die() { echo "exec.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (mounts, runc)"
[ -x "$UW" ] || die "$UW not found; build it first (ninja -C build)"
for c in runc busybox jq cc mount umount; do
	command -v "$c" >/dev/null || die "needs $c"
done
[ "$SKIP_IW" = 1 ] || command -v inotifywait >/dev/null ||
	die "needs inotifywait (inotify-tools), or BENCH_SKIP_INOTIFYWAIT=1"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/$TAG.XXXXXX")
WORK=$(realpath "$WORK")
DAEMON= RUNC_PID= MOUNTED= IW=
cleanup() {
	set +e
	stop_daemon
	[ -n "$IW" ] && { kill "$IW" 2>/dev/null; wait "$IW" 2>/dev/null; }
	if [ -n "$RUNC_PID" ]; then
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

now_ns() { local t=$EPOCHREALTIME; echo "${t/[.,]/}000"; }
wait_for() {
	local end=$(($(now_ns) + ${1%.*} * 1000000000))
	shift
	until "$@"; do
		[ "$(now_ns)" -ge "$end" ] && return 1
		sleep 0.02
	done
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# --- the helper: an exec loop and a write burst -----------------------------
cat >"$WORK/helper.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
int main(int argc, char **argv) {
	static char buf[1 << 16];
	char p[4096];
	long n, i;
	long long t0;
	if (argc == 4 && strcmp(argv[1], "execs") == 0) {
		/* execs N PROGRAM: prints ns per exec */
		n = atol(argv[2]);
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			pid_t pid = fork();
			int st;
			if (pid == 0) {
				execl(argv[3], argv[3], (char *)NULL);
				_exit(127);
			}
			if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0)
				return 1;
		}
		printf("%lld\n", (now_ns() - t0) / n);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "burst") == 0) {
		/* burst DIR N SIZE: create empty, then write; prints t0 */
		n = atol(argv[3]);
		size_t size = (size_t)atol(argv[4]) % sizeof(buf);
		if (mkdir(argv[2], 0755) != 0)
			return 1;
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			snprintf(p, sizeof(p), "%s/f%ld", argv[2], i);
			int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			memcpy(buf, &i, sizeof(i));
			if (fd < 0 || write(fd, buf, size) != (ssize_t)size ||
			    close(fd) != 0)
				return 1;
		}
		printf("%lld\n", t0);
		return 0;
	}
	return 2;
}
EOF

L1=$WORK/layer
mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,w}
cp "$(command -v busybox)" "$L1/bin/busybox"
for a in sh sleep; do ln -sf busybox "$L1/bin/$a"; done
echo 'int main(void) { return 0; }' >"$WORK/true.c"
cc -static -O2 -o "$L1/bin/true" "$WORK/true.c" || die "cannot build true"
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
cc -static -O2 -o "$L1/bin/helper" "$WORK/helper.c" || die "cannot build the helper"

D=$WORK/ctr
mkdir -p "$D/upper" "$D/work" "$D/bundle/rootfs"
mount -t overlay overlay -o "lowerdir=$L1,upperdir=$D/upper,workdir=$D/work" "$D/bundle/rootfs"
MOUNTED=$D/bundle/rootfs
(cd "$D/bundle" && runc spec)
jq --arg cg "/$TAG/$CID" '
	.process.terminal = false
	| .process.args = ["sleep", "1000000"]
	| .root.readonly = false
	| .linux.cgroupsPath = $cg' "$D/bundle/config.json" >"$D/config.json"
mv "$D/config.json" "$D/bundle/config.json"
runc run --bundle "$D/bundle" --pid-file "$D/pid" "$CID" </dev/null >"$D/runc.log" 2>&1 &
RUNC_PID=$!
wait_for 10 test -s "$D/pid" || die "runc run: $(cat "$D/runc.log")"

DB=$WORK/db EV=$WORK/events.jsonl ERR=$WORK/watch.err
: >"$ERR"
start_daemon() {	# start_daemon inotify|fanotify|prevent
	local n args=(--no-policy --content-events "$1")
	case $1 in
	prevent) args=(--content-events fanotify --prevent
		--policy "$ROOT/policies/examples/deny-drift-exec.lua") ;;
	judged) args=(--content-events fanotify --prevent
		--policy "$WORK/allow-w.lua") ;;
	esac
	: >"$EV"
	n=$(grep -c 'watching container' "$ERR" || true)
	"$UW" --db "$DB" watch --container "$CID" --rescan 3600 "${args[@]}" \
		--output "$EV" 2>>"$ERR" &
	DAEMON=$!
	wait_for 20 sh -c "[ \$(grep -c 'watching container' '$ERR') -gt $n ]" ||
		die "the daemon did not start: $(tail -n 3 "$ERR")"
	sleep 0.3 # its start-up scan
}
stop_daemon() {
	[ -n "$DAEMON" ] || return 0
	if [ "$(awk '{ print $4 }' "/proc/$DAEMON/stat" 2>/dev/null)" = "$$" ]; then
		kill -TERM "$DAEMON" 2>/dev/null
		wait "$DAEMON" 2>/dev/null || true
	fi
	DAEMON=
}
in_ctr() { runc exec "$CID" "$@" </dev/null; }

# --- (a) exec cost -----------------------------------------------------------
# the drift case: the same program, dropped; a policy that allows it
sed 's|^local allowed = {}.*|local allowed = { "/w" }|' \
	"$ROOT/policies/examples/deny-drift-exec.lua" >"$WORK/allow-w.lua"
mkdir -p "$D/bundle/rootfs/w"
cp "$L1/bin/true" "$D/bundle/rootfs/w/true"
for m in none inotify fanotify prevent dnone judged; do : >"$WORK/exec.$m"; done
echo "exec: $EXECS x /bin/true in the container, $RUNS runs each, alternated" >&2
for ((r = 1; r <= RUNS; r++)); do
	for mode in none inotify fanotify prevent dnone judged; do
		prog=/bin/true
		case $mode in dnone | judged) prog=/w/true ;; esac
		case $mode in none | dnone) ;; *) start_daemon "$mode" ;; esac
		in_ctr helper execs "$EXECS" $prog >>"$WORK/exec.$mode" || die "exec loop failed ($mode)"
		stop_daemon
		# how many execs the prevention thread saw (all of them)
		case $mode in prevent | judged)
			jq -r --arg m "$mode" '.prevent | "\($m): \(.fast) fast, \(.judged) judged, \(.denied) denied, \(.fail_open) failed open"' \
				"$WORK/status.json" >&2 ;;
		esac
	done
done
none=$(median <"$WORK/exec.none")
dnone=$(median <"$WORK/exec.dnone")

# --- (b) content writes --------------------------------------------------------
: >"$WORK/rate.inotify" >"$WORK/rate.fanotify" >"$WORK/rate.iw"
echo "writes: $FILES files of $SIZE bytes, created empty then written, $RUNS runs each" >&2
b=0
for ((r = 1; r <= RUNS; r++)); do
	for mode in inotify fanotify; do
		b=$((b + 1))
		start_daemon "$mode"
		t0=$(in_ctr helper burst "/w/b$b" "$FILES" "$SIZE") || die "burst failed"
		# until every file was reported with its content
		wait_for 120 sh -c "[ \$(jq -c 'select(.current.size == $SIZE)' '$EV' 2>/dev/null | grep -c '\"/w/b$b/') -ge $FILES ]" ||
			echo "exec.sh: $mode run $r: not every file reported" >&2
		tl=$(jq -r "select(.path | startswith(\"/w/b$b/\")) | .time" "$EV" | sort -n | tail -n 1)
		awk -v n="$FILES" -v a="$t0" -v b="$tl" 'BEGIN { printf "%.0f\n", n / ((b - a) / 1e9) }' >>"$WORK/rate.$mode"
		stop_daemon
	done
	if [ "$SKIP_IW" != 1 ]; then
		b=$((b + 1))
		inotifywait -m -r -q --format '%e %w%f' "$D/upper" >"$WORK/iw.out" 2>/dev/null &
		IW=$!
		sleep 0.5
		t0=$(in_ctr helper burst "/w/b$b" "$FILES" "$SIZE") || die "burst failed"
		wait_for 60 sh -c "[ \$(grep -c '/w/b$b/' '$WORK/iw.out') -ge $FILES ]" || true
		tl=$(now_ns)
		n=$(grep -c "/w/b$b/" "$WORK/iw.out" || true)
		kill "$IW"; wait "$IW" 2>/dev/null || true; IW=
		awk -v n="$n" -v a="$t0" -v b="$tl" 'BEGIN { printf "%.0f\n", n / ((b - a) / 1e9) }' >>"$WORK/rate.iw"
	fi
done

# --- report ----------------------------------------------------------------------
echo
echo "upperwatch exec and content-write benchmark ($(uname -r), $(nproc) CPUs)"
printf '%-34s %12s %14s\n' "exec of /bin/true in the container" "µs per exec" "added µs"
for m in none inotify fanotify prevent dnone judged; do
	v=$(median <"$WORK/exec.$m")
	ref=$none
	case $m in
	none) label="no daemon (reference)" ;;
	prevent) label="watch --prevent (fanotify)" ;;
	dnone) label="drift /w/true, no daemon"; ref=$dnone ;;
	judged) label="drift /w/true, --prevent, judged"; ref=$dnone ;;
	*) label="watch --content-events $m" ;;
	esac
	printf '%-34s %12.1f %14s\n' "$label" \
		"$(awk -v v="$v" 'BEGIN { print v / 1000 }')" \
		"$(case $m in none | dnone) echo - ;; *) awk -v v="$v" -v r="$ref" 'BEGIN { printf "%.1f", (v - r) / 1000 }' ;; esac)"
done
echo
printf '%-34s %12s\n' "content writes, drift events/s" "median"
for m in inotify fanotify; do
	printf '%-34s %12s\n' "watch --content-events $m" "$(median <"$WORK/rate.$m")"
done
[ "$SKIP_IW" = 1 ] || printf '%-34s %12s\n' "inotifywait -m -r (events received)" "$(median <"$WORK/rate.iw")"
