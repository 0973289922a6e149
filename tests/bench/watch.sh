#!/bin/bash
# Benchmark `upperwatch watch`: burst throughput and write-to-report
# latency on a tmpfs-backed overlay upper, beside inotifywait.  Run with
# --help for the knobs.
set -euo pipefail
export LC_ALL=C

usage() {
	cat <<EOF
Usage: tests/bench/watch.sh [--help]

Watches a fresh overlay upper dir (upper and work on a tmpfs by default,
so that the file system's own burst behaviour stays out of the figures;
BENCH_UPPER_FS=disk puts them on a disk file system) over a small
baselined image with 'upperwatch watch --upper DIR --image REF', and
measures:

 (a) throughput: a C writer creates BENCH_EVENTS files (BENCH_SIZE bytes
     each) in BENCH_DIRS new dirs through the merged dir, as fast as it
     can.  upperwatch: drift events classified, hashed, journaled and
     printed per second, from the first write to the time by which every
     path had been reported (the events' own "time" field); and per
     second of the daemon's CPU time (utime + stime from /proc/PID/stat,
     over the same span).  In each run 'inotifywait -m -r' then watches a
     fresh upper of its own through the same burst (one after the other,
     so that neither takes CPU from the other): events it received per
     second (first write to the last line it printed).  inotifywait only
     has to receive what upperwatch classifies, hashes and journals.
     Median of BENCH_RUNS runs.  Also printed: the CPU the burst took in
     all (the writer's own, from getrusage, and the daemon's) over the
     CPUs that can serve it (the writer's thread and the daemon's two:
     at most three), which is the earliest the last event can come on
     this machine, and what the 100,000/s target leaves the two.
 (b) latency: BENCH_LAT_WRITES single files written BENCH_LAT_GAP_MS
     apart; each file's write time (CLOCK_REALTIME just before open) is
     subtracted from its event's "time"; median and p99.  Once with the
     default --quiet-ms 20 (the quiet period is part of the latency: an
     event is classified only once its path has been quiet that long) and
     once with --quiet-ms 5.

Goals, printed PASS or MISS: >= 50,000 drift events/s (both the
wall-clock and the per-CPU-second rate are judged: the daemon classifies
on one thread and journals on another), median latency < 50 ms (with each
quiet period); and the target of the performance work, >= 100,000 events/s
by the wall clock.  Exits 0
unless a tool fails.  Needs root (mount), cc, inotifywait (inotify-tools),
jq.

Environment:
  BENCH_EVENTS      files created per burst       (50000)
  BENCH_DIRS        dirs they are spread over      (10)
  BENCH_SIZE        bytes written to each file     (64)
  BENCH_RUNS        burst runs                     (3)
  BENCH_LAT_WRITES  single writes for latency      (200)
  BENCH_LAT_GAP_MS  gap between them               (20)
  BENCH_TMPFS_MB    size of the tmpfs              (512)
  BENCH_UPPER_FS    tmpfs, or disk: upper and work in the scratch
                    dir, on TMPDIR's file system, as a runtime's
                    upper dirs are on /var/lib's (tmpfs)
  BENCH_SKIP_INOTIFYWAIT  1: no inotifywait beside (0)
  BENCH_WATCH_ARGS  more options for 'watch', split at spaces, e.g.
                    "--content-events inotify" ()
  UPPERWATCH        binary to test                 (build/upperwatch)
  TMPDIR            where the scratch dir goes (its db is on that fs)
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EVENTS=${BENCH_EVENTS:-50000}
DIRS=${BENCH_DIRS:-10}
SIZE=${BENCH_SIZE:-64}
RUNS=${BENCH_RUNS:-3}
LAT_N=${BENCH_LAT_WRITES:-200}
LAT_GAP=${BENCH_LAT_GAP_MS:-20}
TMPFS_MB=${BENCH_TMPFS_MB:-512}
UPPER_FS=${BENCH_UPPER_FS:-tmpfs}
SKIP_IW=${BENCH_SKIP_INOTIFYWAIT:-0}
UW=${UPPERWATCH:-$ROOT/build/upperwatch}
NPROC=$(nproc)
TCK=$(getconf CLK_TCK)
TAG=uwt-watch-$$

die() { echo "watch.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (tmpfs and overlay mounts)"
[ -x "$UW" ] || die "$UW not found; build it first (ninja -C build)"
for c in cc jq mount umount; do command -v "$c" >/dev/null || die "needs $c"; done
[ "$SKIP_IW" = 1 ] || command -v inotifywait >/dev/null ||
	die "needs inotifywait (inotify-tools), or BENCH_SKIP_INOTIFYWAIT=1"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/$TAG.XXXXXX")
PIDS=()   # background processes this script started
MOUNTS=() # mount points, in mount order
cleanup() {
	local i p
	for p in "${PIDS[@]}"; do
		# only a child of ours: never a recycled pid
		[ "$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)" = "$$" ] && kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null || true
	done
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the helper: burst writer, spaced writer, line stamper -----------------
cat >"$WORK/helper.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static void put(const char *p, const char *buf, size_t size) {
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, size) != (ssize_t)size || close(fd) != 0) {
		perror(p);
		exit(1);
	}
}
int main(int argc, char **argv) {
	static char buf[1 << 16];
	char p[4096];
	if (argc == 6 && strcmp(argv[1], "burst") == 0) {
		/* burst ROOT N DIRS SIZE: prints "first_ns last_ns cpu_s"
		 * (its own user + system time) */
		struct rusage ru;
		long n = atol(argv[3]), d = atol(argv[4]);
		size_t size = (size_t)atol(argv[5]) % sizeof(buf);
		long long t0 = now_ns(), t1;
		for (long i = 0; i < d; i++) {
			snprintf(p, sizeof(p), "%s/b%ld", argv[2], i);
			if (mkdir(p, 0755) != 0) { perror(p); return 1; }
		}
		for (long i = 0; i < n; i++) {
			snprintf(p, sizeof(p), "%s/b%ld/f%ld", argv[2], i % d, i);
			memcpy(buf, &i, sizeof(i));
			put(p, buf, size);
		}
		t1 = now_ns();
		getrusage(RUSAGE_SELF, &ru);
		printf("%lld %lld %.3f\n", t0, t1, ru.ru_utime.tv_sec +
		    ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec +
		    ru.ru_stime.tv_usec) / 1e6);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "spaced") == 0) {
		/* spaced ROOT PREFIX N GAP_MS: "PREFIX/lNNNN write_ns" per file */
		long n = atol(argv[4]), gap = atol(argv[5]);
		struct timespec next;
		clock_gettime(CLOCK_MONOTONIC, &next);
		for (long i = 0; i < n; i++) {
			long long t;
			next.tv_nsec += gap * 1000000L;
			while (next.tv_nsec >= 1000000000L) {
				next.tv_nsec -= 1000000000L;
				next.tv_sec++;
			}
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
				;
			snprintf(p, sizeof(p), "%s/l%04ld", argv[2], i);
			memcpy(buf, &i, sizeof(i));
			t = now_ns();
			put(p, buf, 64);
			printf("%s/l%04ld %lld\n", argv[3], i, t);
		}
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "stamp") == 0) {
		/* stamp: count stdin's lines; at EOF "lines first_ns last_ns" */
		long long lines = 0, first = 0, last = 0;
		ssize_t r;
		while ((r = read(0, buf, sizeof(buf))) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				return 1;
			}
			for (ssize_t i = 0; i < r; i++)
				lines += buf[i] == '\n';
			last = now_ns();
			if (!first)
				first = last;
		}
		printf("%lld %lld %lld\n", lines, first, last);
		return 0;
	}
	return 2;
}
EOF
cc -O2 -o "$WORK/helper" "$WORK/helper.c" || die "cannot compile the helper"

# --- the image ---------------------------------------------------------------
L1=$WORK/layers/1 L2=$WORK/layers/2
mkdir -p "$L1"/{bin,etc,srv,tmp} "$L2"/{etc,srv}
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
echo v1 >"$L1/etc/app.conf"
head -c 100000 /dev/urandom >"$L1/bin/tool"
echo v2 >"$L2/etc/app.conf"
echo s >"$L2/srv/data"

mkdir -p "$WORK/t"
case $UPPER_FS in
tmpfs)
	mount -t tmpfs -o "size=${TMPFS_MB}m,nr_inodes=0,mode=0755" "$TAG" "$WORK/t"
	MOUNTS+=("$WORK/t")
	;;
disk) ;;
*) die "BENCH_UPPER_FS: tmpfs or disk, not '$UPPER_FS'" ;;
esac
UPPER_DESC="$(stat -f -c %T "$WORK/t")-backed upper"

# fresh NAME: a new upper on the tmpfs, mounted at $WORK/m-NAME, and a new
# db with the image's baseline at $WORK/NAME.db.  Sets UPPER, MERGED, DB.
fresh() {
	UPPER=$WORK/t/$1/upper MERGED=$WORK/m-$1 DB=$WORK/$1.db
	mkdir -p "$UPPER" "$WORK/t/$1/work" "$MERGED"
	mount -t overlay overlay -o "lowerdir=$L2:$L1,upperdir=$UPPER,workdir=$WORK/t/$1/work" "$MERGED"
	MOUNTS+=("$MERGED")
	"$UW" --db "$DB" baseline --image bench "$L2" "$L1" >/dev/null
}
# unmount_last NAME: unmount the last overlay, free its upper's space.
unmount_last() {
	umount "${MOUNTS[-1]}"
	unset 'MOUNTS[-1]'
	rm -rf "${WORK:?}/t/$1" "$WORK/m-$1"
}

# start_uw OUT ERR ARGS...: the daemon on $UPPER; sets UW_PID once its
# "watching container" notice is out.
start_uw() {
	local out=$1 err=$2 i
	shift 2
	: >"$err"
	"$UW" --db "$DB" watch --upper "$UPPER" --image bench --output "$out" \
		${BENCH_WATCH_ARGS:-} "$@" 2>"$err" &
	UW_PID=$!
	PIDS+=("$UW_PID")
	for ((i = 0; i < 400; i++)); do
		grep -q "watching container" "$err" && return 0
		sleep 0.05
	done
	cat "$err" >&2
	die "upperwatch watch did not start"
}
stop_pid() { # PID: TERM, reap; dies if it exits non-zero
	local rc=0
	kill "$1" 2>/dev/null || true
	wait "$1" || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 143 ] || die "pid $1 exited $rc"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# wait_lines FILE N: until FILE has N lines, then until it is quiet for
# 1 s (at most 300 s in all).
wait_lines() {
	local i a b
	for ((i = 0; i < 1500; i++)); do
		[ "$(wc -l <"$1")" -ge "$2" ] && break
		sleep 0.2
	done
	a=$(wc -l <"$1")
	while :; do
		sleep 1
		b=$(wc -l <"$1")
		[ "$a" = "$b" ] && break
		a=$b
	done
}

# "path time" of each event, as printed (jq 1.6 would round the ns)
path_times() { sed -n 's/^{"op":"[a-z]*","path":"\([^"]*\)".*"time":\([0-9]*\),"id":.*/\1 \2/p' "$1"; }

calc() { awk "BEGIN { $1 }"; }

# --- (a) throughput ------------------------------------------------------------
# Each run: upperwatch alone on a fresh upper, then inotifywait alone on
# another, each through the same burst (side by side they would share the
# two CPUs with each other and with the writer, and both would be
# measured short).
: >"$WORK/tp.runs"
for ((r = 1; r <= RUNS; r++)); do
	fresh "tp$r"
	out=$WORK/tp$r.jsonl
	start_uw "$out" "$WORK/tp$r.err"
	sleep 0.2
	c0=$(cpu_ticks "$UW_PID")
	"$WORK/helper" burst "$MERGED" "$EVENTS" "$DIRS" "$SIZE" >"$WORK/burst$r" || die "the writer failed"
	read -r w0 w1 wcpu <"$WORK/burst$r"
	wait_lines "$out" $((EVENTS + DIRS))
	c1=$(cpu_ticks "$UW_PID")
	overflows=$(grep -c "queue overflow" "$WORK/tp$r.err" || true)
	stop_pid "$UW_PID"
	# the time by which every path had been reported once
	# (as seconds after the first write: awk's doubles cannot hold ns
	# since the epoch exactly, their difference they can to a µs)
	path_times "$out" | sort -k1,1 -k2,2n |
		awk -v w0="$w0" '!seen[$1]++ { n++; if ($2 - w0 > t) t = $2 - w0 } END { printf "%d %.6f\n", n, t / 1e9 }' \
		>"$WORK/tp$r.done"
	read -r paths wall <"$WORK/tp$r.done"
	lines=$(wc -l <"$out")
	[ "$paths" = $((EVENTS + DIRS)) ] ||
		echo "  WARNING: run $r: $paths distinct paths reported, $((EVENTS + DIRS)) made" >&2
	cpu=$(calc "printf \"%.3f\", ($c1 - $c0) / $TCK")
	wr=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	unmount_last "tp$r"

	iw_n=0 iw_rate=0 iw_wr=0
	if [ "$SKIP_IW" != 1 ]; then
		fresh "iw$r"
		mkfifo "$WORK/iw$r.fifo"
		: >"$WORK/iw$r.err"
		"$WORK/helper" stamp <"$WORK/iw$r.fifo" >"$WORK/iw$r.stamp" &
		st_pid=$!
		PIDS+=("$st_pid")
		inotifywait -m -r -e create,modify,attrib,close_write,moved_to,moved_from,delete \
			--format '%e %w%f' "$UPPER" >"$WORK/iw$r.fifo" 2>"$WORK/iw$r.err" &
		iw_pid=$!
		PIDS+=("$iw_pid")
		for ((i = 0; i < 200; i++)); do
			grep -q "Watches established" "$WORK/iw$r.err" && break
			sleep 0.05
		done
		sleep 0.2
		"$WORK/helper" burst "$MERGED" "$EVENTS" "$DIRS" "$SIZE" >"$WORK/iwburst$r" ||
			die "the writer failed"
		read -r i0 i1 _ <"$WORK/iwburst$r"
		sleep 1	# what it got is printed by then
		kill "$iw_pid" 2>/dev/null || true
		wait "$iw_pid" 2>/dev/null || true
		wait "$st_pid" 2>/dev/null || true
		read -r iw_n _ iw_last <"$WORK/iw$r.stamp"
		iw_rate=$(awk -v n="$iw_n" -v a="$i0" -v b="$iw_last" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')
		iw_wr=$(awk -v a="$i0" -v b="$i1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
		unmount_last "iw$r"
	fi
	echo "$paths $wall $cpu $lines $overflows $iw_n $iw_rate $wr $iw_wr $wcpu" \
		>>"$WORK/tp.runs"
	echo "  burst run $r: upperwatch $paths paths in $wall s (writer $wr s, CPU $wcpu s)," \
		"daemon CPU $cpu s, $lines events printed, $overflows overflows;" \
		"inotifywait $iw_n events (writer $iw_wr s)" >&2
done

# --- (b) latency -----------------------------------------------------------------
# lat NAME ARGS...: LAT_N spaced writes under `watch ARGS`; records the
# latencies (ms, sorted) in $WORK/NAME.lat
lat() {
	local name=$1 out=$WORK/$1.jsonl
	shift
	fresh "$name"
	start_uw "$out" "$WORK/$name.err" "$@"
	sleep 0.2
	"$WORK/helper" spaced "$MERGED" "" "$LAT_N" "$LAT_GAP" >"$WORK/$name.writes"
	wait_lines "$out" "$LAT_N"
	stop_pid "$UW_PID"
	path_times "$out" | sort -k1,1 >"$WORK/$name.events"
	sort -k1,1 "$WORK/$name.writes" |
		join - "$WORK/$name.events" | awk '{ printf "%.3f\n", ($3 - $2) / 1e6 }' | sort -g >"$WORK/$name.lat"
	[ "$(wc -l <"$WORK/$name.lat")" = "$LAT_N" ] ||
		echo "  WARNING: $name: $(wc -l <"$WORK/$name.lat") of $LAT_N writes reported" >&2
	echo "  latency $name: median $(pct "$name" 50) ms, p99 $(pct "$name" 99) ms" >&2
	unmount_last "$name"
}
pct() { # NAME P: the P-th percentile (nearest rank) of NAME's latencies
	awk -v p="$2" '{ v[NR] = $1 } END { if (!NR) { print "nan"; exit } i = int((p * NR + 99) / 100); if (i < 1) i = 1; print v[i] }' \
		"$WORK/$1.lat"
}
lat lat50
lat lat5 --quiet-ms 5

# --- report ---------------------------------------------------------------------
med() { # COLUMN: the median of that column of tp.runs
	awk -v c="$1" '{ print $c }' "$WORK/tp.runs" | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
rate_runs() { # EXPR over $1 paths $2 wall $3 cpu: one value per run, median
	awk "{ print $1 }" "$WORK/tp.runs" | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
goal() { # DESCRIPTION AWK-CONDITION DETAIL
	printf '  %-4s  %-48s %s\n' "$(calc "print ($2) ? \"PASS\" : \"MISS\"")" "$1" "$3"
}
WALL_RATE=$(rate_runs '$1 / $2')
CPU_RATE=$(rate_runs '$1 / $3')
IW_RATE=$(med 7)

echo
echo "upperwatch watch benchmark: $("$UW" --version 2>&1 | head -n 1), $UPPER_DESC, $NPROC CPUs," \
	"db on $(df --output=fstype "$WORK" | tail -n 1), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "(a) burst: $EVENTS files of $SIZE bytes in $DIRS new dirs, median of $RUNS runs"
printf '%-44s %12s %10s %12s\n' tool "events/s" "wall s" "CPU s"
printf '%-44s %12.0f %10.3f %12.3f\n' "upperwatch watch (classified+journaled)" "$WALL_RATE" "$(med 2)" "$(med 3)"
printf '%-44s %12.0f %10s %12s\n' "  the same per second of its CPU time" "$CPU_RATE" "" ""
if [ "$SKIP_IW" != 1 ]; then
	printf '%-44s %12.0f %10s %12s\n' "inotifywait -m -r (events received)" "$IW_RATE" "" ""
	echo "  inotifywait received $(med 6) events (median) for $EVENTS creations; it only receives, while"
	echo "  upperwatch classifies, hashes and journals; its overflow is silent, so count what it got."
fi
echo "  the writer took $(med 8) s for the burst under upperwatch, $(med 9) s under inotifywait;" \
	"upperwatch printed $(med 4) lines (median), $(med 5) queue overflows (median) -> rescans"
# The CPU the burst took in all: a wall-clock rate above what the CPUs
# can give that much work is out of reach whatever the daemon does.  The
# writer is one thread and the daemon works on two (classify, journal),
# so at most three CPUs serve the burst, and never less time than the
# writer's own.
P=$((NPROC < 3 ? NPROC : 3))
CPU_ALL=$(calc "printf \"%.3f\", $(med 10) + $(med 3)")
FLOOR=$(calc "f = $CPU_ALL / $P; w = $(med 10); printf \"%.3f\", (f > w ? f : w)")
echo "  CPU: the writer used $(med 10) s and upperwatch $(med 3) s (medians): $CPU_ALL CPU-s over $P of $NPROC CPUs," \
	"so the last event cannot come before $FLOOR s after the first write:" \
	"at most $(calc "printf \"%.0f\", $EVENTS / $FLOOR") events/s here; 100,000/s asks the two for" \
	"at most $(calc "printf \"%.3f\", $EVENTS * $P / 100000") CPU-s"
echo
echo "(b) write -> report latency: $LAT_N single writes ${LAT_GAP} ms apart"
printf '%-44s %12s %10s\n' "" "median ms" "p99 ms"
printf '%-44s %12s %10s\n' "upperwatch watch (default --quiet-ms 20)" "$(pct lat50 50)" "$(pct lat50 99)"
printf '%-44s %12s %10s\n' "upperwatch watch --quiet-ms 5" "$(pct lat5 50)" "$(pct lat5 99)"
echo "  The quiet period is part of the latency: a path is classified once it has been quiet that long."
echo
echo "goals:"
goal ">= 50,000 drift events/s (wall clock)" "$WALL_RATE >= 50000" "($(calc "printf \"%.0f\", $WALL_RATE")/s)"
goal ">= 50,000 drift events per CPU-second" "$CPU_RATE >= 50000" "($(calc "printf \"%.0f\", $CPU_RATE")/s)"
goal "target: >= 100,000 drift events/s (wall clock)" "$WALL_RATE >= 100000" "($(calc "printf \"%.0f\", $WALL_RATE")/s)"
goal "median latency < 50 ms (default --quiet-ms 20)" "$(pct lat50 50) < 50" "($(pct lat50 50) ms)"
goal "median latency < 50 ms (--quiet-ms 5)" "$(pct lat5 50) < 50" "($(pct lat5 50) ms)"
