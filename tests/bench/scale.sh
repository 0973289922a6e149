#!/bin/bash
# Benchmark the host daemon at scale: many runc containers of a few images,
# from start-up to all watched, its memory, its watches, and a drift in the
# last container.  Run with --help for the knobs.
set -euo pipefail
export LC_ALL=C

usage() {
	cat <<EOF
Usage: tests/bench/scale.sh [--help]

Makes BENCH_IMAGES images (busybox and BENCH_FILES files of 1-8 KiB each,
over BENCH_DIRS dirs, different in each image) and starts BENCH_CONTAINERS
runc containers (uwt-scale-PID-N), each on its own overlay over one of the
images in turn, then BENCH_RUNS times:

  upperwatch   'upperwatch watch' (the host daemon: every container, the
               default policies, a fresh database, so the baselines of the
               images are built at start): the time from its start to the
               last "watching container" line of ours; its peak RSS
               (VmHWM) and RSS once settled (VmRSS); the inotify watches it
               holds (its inotify fd's fdinfo); then BENCH_LAT_WRITES
               files written one at a time into the merged dir of the LAST
               container, each timed from just before its write to the
               event's "time" (median and p99).
  beside it    'inotifywait -m -r' on the same upper dirs: the time to
               "Watches established" and its peak RSS.  It only has to add
               watches; upperwatch also discovers the containers, builds the
               baselines and scans every upper dir.

Median of the runs.  Goals, printed PASS or MISS: all watched within 10 s,
peak RSS <= 64 MiB, drift in the last container reported at p50 <= 10 ms
and p99 <= 25 ms.  Exits 0 unless a tool fails.  Needs root (mounts, runc),
runc, a static busybox, inotifywait (inotify-tools), jq.

Environment:
  BENCH_CONTAINERS  containers                      (100)
  BENCH_IMAGES      images they are spread over     (5)
  BENCH_FILES       files per image                 (10000)
  BENCH_DIRS        dirs per image                  (40)
  BENCH_RUNS        daemon starts                   (3)
  BENCH_LAT_WRITES  single writes timed per run     (50)
  BENCH_SKIP_INOTIFYWAIT  1: no inotifywait beside  (0)
  UPPERWATCH        binary to test                  (build/upperwatch)
  TMPDIR            where the scratch dir goes
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NCTR=${BENCH_CONTAINERS:-100}
NIMG=${BENCH_IMAGES:-5}
FILES=${BENCH_FILES:-10000}
DIRS=${BENCH_DIRS:-40}
RUNS=${BENCH_RUNS:-3}
LAT_N=${BENCH_LAT_WRITES:-50}
SKIP_IW=${BENCH_SKIP_INOTIFYWAIT:-0}
UW=${UPPERWATCH:-$ROOT/build/upperwatch}
TAG=uwt-scale-$$

die() { echo "scale.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (mounts, runc)"
[ -x "$UW" ] || die "$UW not found; build it first (ninja -C build)"
for c in runc busybox jq inotifywait mount umount; do
	command -v "$c" >/dev/null || die "needs $c"
done
for v in NCTR NIMG FILES DIRS RUNS LAT_N; do
	[ "${!v}" -ge 1 ] 2>/dev/null || die "$v must be a number >= 1"
done

WORK=$(realpath "$(mktemp -d "${TMPDIR:-/tmp}/$TAG.XXXXXX")")
DAEMON=
IW=
STARTED=()	# container ids started
MOUNTS=()
cleanup() {
	set +e
	stop_pid "$DAEMON"
	stop_pid "$IW"
	for c in "${STARTED[@]}"; do
		runc kill "$c" KILL >/dev/null 2>&1
	done
	sleep 0.3
	for c in "${STARTED[@]}"; do
		runc delete -f "$c" >/dev/null 2>&1
	done
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	for d in /sys/fs/cgroup/*/"$TAG" "/sys/fs/cgroup/$TAG"; do
		[ -d "$d" ] && rmdir "$d"/*/ "$d" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkfifo "$WORK/never"
exec {NEVER}<>"$WORK/never"
nap() { read -r -t "$1" -u "$NEVER" _ || true; }
now_ns() { local t=$EPOCHREALTIME; echo "${t/[.,]/}000"; }
wait_for() {	# SECONDS COMMAND...: poll every 20 ms
	local end=$(($(now_ns) + ${1%.*} * 1000000000))
	shift
	until "$@"; do
		[ "$(now_ns)" -ge "$end" ] && return 1
		nap 0.02
	done
}
stop_pid() {	# a child of ours only: never a recycled pid
	local p=${1:-}
	[ -n "$p" ] || return 0
	if [ "$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)" = "$$" ]; then
		kill -TERM "$p" 2>/dev/null
		wait_for 10 sh -c "! kill -0 $p 2>/dev/null || grep -qs '^[^ ]* [^ ]* Z' /proc/$p/stat" ||
			kill -KILL "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null || true
}
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

# --- the images and containers ---------------------------------------------------
echo "making $NIMG images of $FILES files and $NCTR containers ..." >&2
for ((m = 0; m < NIMG; m++)); do
	L=$WORK/img$m
	mkdir -p "$L"/{bin,etc,proc,sys,dev,tmp,root}
	cp "$(command -v busybox)" "$L/bin/busybox"
	for a in sh sleep; do ln -sf busybox "$L/bin/$a"; done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L/etc/passwd"
	python3 - "$L/data" "$FILES" "$DIRS" "$m" <<'EOF'
import os, random, sys
top, n, dirs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
for d in range(dirs):
    os.makedirs(f"{top}/d{d:03d}", exist_ok=True)
for i in range(n):
    with open(f"{top}/d{i % dirs:03d}/f{i:06d}", "wb") as f:
        f.write(rng.randbytes(rng.randint(1024, 8192)))
EOF
done
for ((i = 1; i <= NCTR; i++)); do
	C=$TAG-$i D=$WORK/c$i
	mkdir -p "$D/upper" "$D/work" "$D/bundle/rootfs"
	mount -t overlay overlay -o "lowerdir=$WORK/img$((i % NIMG)),upperdir=$D/upper,workdir=$D/work" "$D/bundle/rootfs"
	MOUNTS+=("$D/bundle/rootfs")
	(cd "$D/bundle" && runc spec)
	jq --arg cg "/$TAG/$C" '
		.process.terminal = false
		| .process.args = ["sleep", "1000000"]
		| .root.readonly = false
		| .linux.cgroupsPath = $cg' "$D/bundle/config.json" >"$D/config.json"
	mv "$D/config.json" "$D/bundle/config.json"
	runc run -d --bundle "$D/bundle" --pid-file "$D/pid" "$C" </dev/null >"$D/runc.log" 2>&1 ||
		die "runc run $C: $(cat "$D/runc.log")"
	STARTED+=("$C")
done
LAST=$WORK/c$NCTR/bundle/rootfs

watches_of() {	# PID: inotify watches held
	local fd n=0
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:inotify" ] || continue
		n=$((n + $(grep -c '^inotify wd:' "/proc/$1/fdinfo/${fd##*/}")))
	done
	echo "$n"
}

: >"$WORK/runs"	# start_s peak_kib rss_kib watches p50_ms p99_ms
: >"$WORK/iw"	# start_s peak_kib
for ((r = 1; r <= RUNS; r++)); do
	rm -f "$WORK/db" "$WORK/db-wal" "$WORK/db-shm"
	EV=$WORK/ev$r.jsonl ERR=$WORK/err$r
	: >"$EV"
	t0=$(now_ns)
	"$UW" --db "$WORK/db" watch --output "$EV" --rescan 3600 2>"$ERR" &
	DAEMON=$!
	wait_for 120 sh -c "[ \$(grep -c 'watching container $TAG-' '$ERR') -ge $NCTR ]" ||
		die "not all watched within 120 s: $(grep -c "watching container $TAG-" "$ERR") of $NCTR; $(tail -n 3 "$ERR")"
	last=$(grep "watching container $TAG-" "$ERR" | tail -n 1)
	t1=$(now_ns)
	start_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	nap 2	# settle: the start-up scans are done
	w=$(watches_of "$DAEMON")
	# one write at a time into the last container
	: >"$WORK/lat"
	for ((k = 1; k <= LAT_N; k++)); do
		f=scale-$r-$k
		tw=$(now_ns)
		echo "drift $k" >"$LAST/tmp/$f"
		wait_for 5 grep -q "\"/tmp/$f\"" "$EV" || die "no event for /tmp/$f"
		te=$(grep "\"/tmp/$f\"" "$EV" | head -n 1 | jq -r .time)
		echo $(((te - tw) / 1000)) >>"$WORK/lat"
		nap 0.03
	done
	sort -n "$WORK/lat" >"$WORK/lat.sorted"
	p50=$(awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] / 1000 }' "$WORK/lat.sorted")
	p99=$(awk '{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 }' "$WORK/lat.sorted")
	echo "$start_s $(kib "$DAEMON" VmHWM) $(kib "$DAEMON" VmRSS) $w $p50 $p99" >>"$WORK/runs"
	echo "  run $r: all $NCTR watched in $start_s s, peak $(kib "$DAEMON" VmHWM) KiB, $w watches, write->event p50 $p50 ms p99 $p99 ms" >&2
	stop_pid "$DAEMON"
	DAEMON=
	if [ "$SKIP_IW" != 1 ]; then
		t0=$(now_ns)
		inotifywait -m -r -e create,modify,delete,attrib,move "$WORK"/c*/upper >/dev/null 2>"$WORK/iw.err" &
		IW=$!
		wait_for 60 grep -q 'Watches established' "$WORK/iw.err" ||
			die "inotifywait did not start: $(tail -c 300 "$WORK/iw.err")"
		t1=$(now_ns)
		echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }') $(kib "$IW" VmHWM)" >>"$WORK/iw"
		stop_pid "$IW"
		IW=
	fi
done

med() {	# FILE COLUMN
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
START=$(med "$WORK/runs" 1)
PEAK=$(med "$WORK/runs" 2)
RSS=$(med "$WORK/runs" 3)
WATCHES=$(med "$WORK/runs" 4)
P50=$(med "$WORK/runs" 5)
P99=$(med "$WORK/runs" 6)
echo
echo "$NCTR containers of $NIMG images ($FILES files, $DIRS dirs each); median of $RUNS runs"
printf '  %-34s %10s %12s %12s %9s\n' tool "start s" "peak MiB" "RSS MiB" watches
printf '  %-34s %10s %12.1f %12.1f %9s\n' "upperwatch watch (host daemon)" "$START" \
    "$(awk -v k="$PEAK" 'BEGIN { print k / 1024 }')" "$(awk -v k="$RSS" 'BEGIN { print k / 1024 }')" "$WATCHES"
if [ "$SKIP_IW" != 1 ]; then
	printf '  %-34s %10s %12.1f %12s %9s\n' "inotifywait -m -r (the upper dirs)" "$(med "$WORK/iw" 1)" \
	    "$(awk -v k="$(med "$WORK/iw" 2)" 'BEGIN { print k / 1024 }')" - -
fi
echo "  drift in the last container, write -> event: p50 $P50 ms, p99 $P99 ms"
echo "goal:"
ok() { awk "BEGIN { print ($1) ? \"PASS\" : \"MISS\" }"; }
printf '  %-4s  all watched within 10 s (%s s)\n' "$(ok "$START <= 10")" "$START"
printf '  %-4s  peak RSS <= 64 MiB (%.1f MiB)\n' "$(ok "$PEAK <= 65536")" "$(awk -v k="$PEAK" 'BEGIN { print k / 1024 }')"
printf '  %-4s  drift reported at p50 <= 10 ms, p99 <= 25 ms (%s, %s ms)\n' "$(ok "$P50 <= 10 && $P99 <= 25")" "$P50" "$P99"
