#!/bin/bash
# Benchmark `upperwatch diff` on a hand-built overlay upper dir against the
# baseline of a generated, reproducible image.  Run with --help for the knobs.
set -euo pipefail
export LC_ALL=C
umask 022

usage() {
	cat <<EOF
Usage: tests/bench/diff.sh [--clean] [--help]

Baselines a generated image rootfs (small files in a few thousand dirs) into
a fresh database, then builds by hand an upper dir the way overlayfs leaves
it after 10 drifts (5 copied-up files with new content, a new file, a
chmod'ed copy, a whiteout, a new dir with a file, plus one copied-up file
left unchanged, which is not drift) and times 'upperwatch diff' on it, each
timed run right after an untimed one.  For the claim that the cost follows
the upper dir and not the image it also times diff on a larger upper
(BENCH_DRIFT drifted files) and on the 10-drift upper against the baseline
of an image 10x smaller, and 'find UPPER -printf x' as the floor for walking
an upper.  Prints the baseline times, median diff times in ms, the event
counts (checked) and the goal: under 50 ms, growing with the upper dir, not
the image.  Exits 0 unless a tool fails.  The images are generated once and
reused while their stamp files exist; --clean removes them and exits.
Needs root (the whiteout is a char 0/0 device), cc.

Environment:
  BENCH_DIR        scratch dir for the images (/var/tmp/upperwatch-bench)
  BENCH_FILES      files in the image         (100000); the small image
                   has BENCH_FILES/10
  BENCH_DRIFT      drifted files in the larger upper (1000)
  BENCH_SEED       content seed               (1)
  BENCH_RUNS       timed runs per command     (20)
  UPPERWATCH       binary to test             (build/upperwatch)
  TMPDIR           where the databases and upper dirs go (/tmp)
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
--clean | "") ;;
*) usage >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/upperwatch-bench}
FILES=${BENCH_FILES:-100000}
DRIFT=${BENCH_DRIFT:-1000}
SEED=${BENCH_SEED:-1}
RUNS=${BENCH_RUNS:-20}
UW=${UPPERWATCH:-$ROOT/build/upperwatch}
NPROC=$(nproc)
SMALL=$((FILES / 10))
TREE=$BENCH_DIR/difftree-$FILES-$SEED
STREE=$BENCH_DIR/difftree-$SMALL-$SEED

die() { echo "diff.sh: $*" >&2; exit 1; }

if [ "${1:-}" = --clean ]; then
	rm -rf "$BENCH_DIR"/difftree-* && rmdir "$BENCH_DIR" 2>/dev/null || true
	exit 0
fi

[ -x "$UW" ] || die "$UW not found; build it first (meson compile -C build)"
command -v cc >/dev/null || die "needs cc"
[ "$(id -u)" = 0 ] || die "needs root: a whiteout is a char 0/0 device (mknod)"
[ "$FILES" -ge 200 ] || die "BENCH_FILES must be at least 200"
if [ "$DRIFT" -le 10 ] || [ "$DRIFT" -gt "$FILES" ]; then die "BENCH_DRIFT must be in 11..BENCH_FILES"; fi
[ "$RUNS" -ge 1 ] || die "BENCH_RUNS must be at least 1"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uw-diffbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# --- images ----------------------------------------------------------------
# Layout TREE/aNNN/bNN/fNNNNNNN: 40 files per leaf dir, 50 leaf dirs per top
# dir (100,000 files: 2,550 dirs).  Files are 0-4 KiB of a splitmix64 stream
# seeded per file, mode 0644.
cat >"$WORK/gen.c" <<'EOF'
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
static uint64_t st;
static uint64_t rnd(void) {
	uint64_t z = (st += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static long dirs;
static void md(const char *p) {
	if (mkdir(p, 0755) == 0) dirs++;
	else if (errno != EEXIST) { perror(p); exit(1); }
}
int main(int argc, char **argv) {
	static uint64_t buf[4096 / 8 + 1];
	char p[4096];
	if (argc != 4) return 2;
	long n = atol(argv[2]), seed = atol(argv[3]);
	unsigned long long total = 0;
	md(argv[1]);
	for (long i = 0; i < n; i++) {
		st = ((uint64_t)seed << 32) + (uint64_t)i;
		size_t size = rnd() % 4097;
		snprintf(p, sizeof p, "%s/a%03ld", argv[1], i / 2000); md(p);
		snprintf(p, sizeof p, "%s/a%03ld/b%02ld", argv[1], i / 2000, i / 40 % 50); md(p);
		snprintf(p, sizeof p, "%s/a%03ld/b%02ld/f%07ld", argv[1], i / 2000, i / 40 % 50, i);
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) { perror(p); return 1; }
		for (size_t j = 0; j < (size + 7) / 8; j++) buf[j] = rnd();
		if (write(fd, buf, size) != (ssize_t)size) { perror(p); return 1; }
		close(fd);
		total += size;
	}
	printf("%ld %llu\n", dirs - 1, total);
	return 0;
}
EOF
cc -O2 -o "$WORK/gen" "$WORK/gen.c"

gen_tree() { # DIR FILES
	local out
	rm -rf "$1" "$1.stamp"
	echo "generating $2 files in $1 ..." >&2
	out=$("$WORK/gen" "$1" "$2" "$SEED")
	sync # no writeback during the timed runs
	echo "files=$2 dirs=${out% *} bytes=${out#* }" >"$1.stamp"
}
stamp() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1.stamp"; } # TREE KEY

mkdir -p "$BENCH_DIR"
[ -f "$TREE.stamp" ] || gen_tree "$TREE" "$FILES"
[ -f "$STREE.stamp" ] || gen_tree "$STREE" "$SMALL"

# --- measuring -------------------------------------------------------------
warm_tree() { find "$1" -type f -print0 | xargs -0 -P"$NPROC" -n2000 cat >/dev/null; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) * 1000 }'; }

# baseline NAME TREE: one baseline into a fresh db $WORK/NAME.db, right
# after a warm-up read of the tree; the wall time in s goes to $WORK/NAME.bl.
baseline() {
	local t0 t1
	rm -f "$WORK/$1.db"*
	warm_tree "$2"
	t0=$EPOCHREALTIME
	if ! "$UW" --db "$WORK/$1.db" baseline --image bench --rootfs "$2" \
		>"$WORK/$1.bl.out" 2>"$WORK/$1.bl.err"; then
		cat "$WORK/$1.bl.err" >&2
		die "baseline of $2 failed"
	fi
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >"$WORK/$1.bl"
	echo "  baseline $1: $(cat "$WORK/$1.bl") s" >&2
}

# measure NAME WANT_STATUS CMD...: RUNS timed runs of CMD, each right after
# an untimed one (the warm-up); records ms per run in $WORK/NAME.runs.
measure() {
	local name=$1 want=$2 i rc t0 t1
	shift 2
	: >"$WORK/$name.runs"
	for ((i = 1; i <= RUNS; i++)); do
		rc=0
		"$@" >/dev/null 2>&1 || rc=$?
		[ "$rc" = "$want" ] || { "$@" >/dev/null || true; die "$name: exit status $rc, not $want"; }
		rc=0
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>"$WORK/$name.err" || rc=$?
		t1=$EPOCHREALTIME
		if [ "$rc" != "$want" ]; then
			cat "$WORK/$name.err" >&2
			die "$name: exit status $rc, not $want (run $i)"
		fi
		ms "$t0" "$t1" >>"$WORK/$name.runs"
		echo >>"$WORK/$name.runs"
	done
	echo "  $name: $(median "$name") ms median" >&2
}
median() { sort -g "$WORK/$1.runs" | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'; }
lo() { sort -g "$WORK/$1.runs" | head -n1; }
hi() { sort -g "$WORK/$1.runs" | tail -n1; }

# --- upper dirs --------------------------------------------------------------
# What overlayfs leaves in an upper dir: the parent dirs of a copied-up
# entry, with the lower dir's mode and owner; a copied-up file, whole, with
# its metadata; a char 0/0 device where a lower entry was deleted.
fpath() { printf 'a%03d/b%02d/f%07d' $(($1 / 2000)) $(($1 / 40 % 50)) "$1"; }
updir() { # UPPER RELDIR: copy up the dirs on the way
	local up=$1 rel=$2 d=""
	local IFS=/
	for c in $rel; do
		d=${d:+$d/}$c
		[ -d "$up/$d" ] && continue
		mkdir "$up/$d"
		chmod --reference="$TREE/$d" "$up/$d"
		chown --reference="$TREE/$d" "$up/$d"
	done
}
copy_up() { # UPPER RELFILE...
	local up=$1
	shift
	(cd "$TREE" && cp -a --parents "$@" "$up")
}

UP10=$WORK/upper-10
UPBIG=$WORK/upper-$DRIFT
mkdir "$UP10"
# The picks lie in the first SMALL files, so the same upper means the same
# drift against the small image's baseline.
for k in 0 1 2 3 4 5 6 7; do pick[k]=$(fpath $((SMALL * (2 * k + 1) / 16))); done
copy_up "$UP10" "${pick[@]:0:6}" "${pick[7]}"
for k in 0 1 2; do printf 'drift %d\n' "$k" >>"$UP10/${pick[k]}"; done # C: size and hash
for k in 3 4; do # C: same size, first byte flipped (a 0-byte file grows by one)
	b=$(od -An -tu1 -N1 "$UP10/${pick[k]}")
	exec 3<>"$UP10/${pick[k]}"
	printf '%b' "\\$(printf %03o $(((${b:-0} ^ 1) & 255)))" >&3
	exec 3>&-
done
chmod 0755 "$UP10/${pick[5]}"				# M: mode 0644→0755
updir "$UP10" "$(dirname "${pick[6]}")"
mknod "$UP10/${pick[6]}" c 0 0				# D: whiteout
echo "new = 1" >"$UP10/$(dirname "${pick[0]}")/new.conf"	# A
updir "$UP10" "$(dirname "${pick[1]}")"
mkdir "$UP10/$(dirname "${pick[1]}")/newdir"		# A
echo "new" >"$UP10/$(dirname "${pick[1]}")/newdir/file"	# A
# pick[7] stays as copied up: the same content and metadata, not drift.
WANT10=10

# The larger upper: the same 10 drifts and DRIFT-10 more copied-up files
# with new content, spread over the whole image.
cp -a "$UP10" "$UPBIG"
STRIDE=$((FILES / (DRIFT - 10)))
more=()
for ((k = 0; k < DRIFT - 10; k++)); do
	i=$((k * STRIDE + STRIDE / 2))
	while [ -e "$UPBIG/$(fpath "$i")" ]; do i=$(((i + 1) % FILES)); done
	more+=("$(fpath "$i")")
done
copy_up "$UPBIG" "${more[@]}"
for f in "${more[@]}"; do printf 'drift\n' >>"$UPBIG/$f"; done
WANTBIG=$((WANT10 + ${#more[@]}))
sync

entries() { find "$1" -mindepth 1 | wc -l; }
E10=$(entries "$UP10") EBIG=$(entries "$UPBIG")

# --- runs ------------------------------------------------------------------
FILES_DIRS=$(stamp "$TREE" dirs) BYTES=$(stamp "$TREE" bytes)
SDIRS=$(stamp "$STREE" dirs) SBYTES=$(stamp "$STREE" bytes)
echo "image $TREE: $FILES files, $FILES_DIRS dirs, $BYTES bytes; $RUNS runs each, $NPROC CPUs" >&2
baseline big "$TREE"
baseline small "$STREE"

# Event counts, checked against what was built.
count() { # DB UPPER
	local rc=0
	"$UW" --db "$1" diff --image bench --json "$2" >"$WORK/count.json" || rc=$?
	[ "$rc" = 1 ] || die "diff --json $2: exit status $rc, not 1 (drift)"
	wc -l <"$WORK/count.json"
}
N10=$(count "$WORK/big.db" "$UP10")
NS10=$(count "$WORK/small.db" "$UP10")
NBIG=$(count "$WORK/big.db" "$UPBIG")
rc=0
"$UW" --db "$WORK/big.db" diff --image bench "$UP10" >"$WORK/diff10.txt" || rc=$?
[ "$rc" = 1 ] || die "diff $UP10: exit status $rc, not 1 (drift)"

measure diff10 1 "$UW" --db "$WORK/big.db" diff --image bench "$UP10"
measure sdiff10 1 "$UW" --db "$WORK/small.db" diff --image bench "$UP10"
measure diffbig 1 "$UW" --db "$WORK/big.db" diff --image bench "$UPBIG"
measure find10 0 find "$UP10" -printf x
measure findbig 0 find "$UPBIG" -printf x
measure version 0 "$UW" --version

# --- report ----------------------------------------------------------------
calc() { awk "BEGIN { $1 }"; }
goal() { # DESCRIPTION AWK-CONDITION DETAIL
	printf '  %-4s  %-52s %s\n' "$(calc "print ($2) ? \"PASS\" : \"MISS\"")" "$1" "$3"
}
row() { # LABEL NAME ENTRIES EVENTS WANT
	local ev=$4
	[ "$4" = - ] || [ "$4" = "$5" ] || ev="$4!=$5"
	printf '%-44s %7s %7s %9.2f %7.2f %7.2f\n' "$1" "$3" "$ev" \
		"$(median "$2")" "$(lo "$2")" "$(hi "$2")"
}
r2() { calc "printf \"%.2f\", $1"; }
T10=$(r2 "$(median diff10)") TS10=$(r2 "$(median sdiff10)") TBIG=$(r2 "$(median diffbig)")
FS=$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")

echo
echo "upperwatch diff benchmark: image of $FILES files in $FILES_DIRS dirs" \
	"($(calc "printf \"%.1f\", $BYTES / 1e6") MB), warm cache, median of $RUNS runs," \
	"$NPROC CPUs, upper dirs on $FS"
echo
printf '%-44s %9s\n' "baseline --rootfs (1 run, fresh db)" "wall s"
printf '%-44s %9.3f\n' "$FILES-file image" "$(cat "$WORK/big.bl")"
printf '%-44s %9.3f\n' "$SMALL-file image ($SDIRS dirs, $(calc "printf \"%.1f\", $SBYTES / 1e6") MB)" \
	"$(cat "$WORK/small.bl")"
echo "upperwatch said: $(tail -n1 "$WORK/big.bl.out")"
echo "database: $(du -k "$WORK/big.db" | cut -f1) KiB ($FILES files), $(du -k "$WORK/small.db" | cut -f1) KiB ($SMALL files)"
echo
printf '%-44s %7s %7s %9s %7s %7s\n' "diff --image bench UPPER (exit 1)" entries events "median ms" "min" "max"
row "10-drift upper, $FILES-file image" diff10 "$E10" "$N10" "$WANT10"
row "10-drift upper, $SMALL-file image" sdiff10 "$E10" "$NS10" "$WANT10"
row "$WANTBIG-drift upper, $FILES-file image" diffbig "$EBIG" "$NBIG" "$WANTBIG"
row "find UPPER -printf x, 10-drift upper" find10 "$E10" - -
row "find UPPER -printf x, $WANTBIG-drift upper" findbig "$EBIG" - -
row "upperwatch --version (process start)" version - - -
echo
echo "Events are 'diff --json | wc -l'; A!=B means A events where B were built."
echo "Each timed run follows an untimed run of the same command (the warm-up)."
echo
echo "the 10-drift upper, as upperwatch reports it:"
sed 's/^/  /' "$WORK/diff10.txt"
echo
echo "ratios: $SMALL -> $FILES files in the image (10x):   $(calc "printf \"%.2f\", $T10 / $TS10")x diff time"
echo "        10 -> $WANTBIG drifts in the upper ($(calc "printf \"%.0f\", $EBIG / $E10")x entries): $(calc "printf \"%.2f\", $TBIG / $T10")x diff time," \
	"$(calc "printf \"%.1f\", ($TBIG - $T10) * 1000 / ($EBIG - $E10)") us per added entry"
echo
echo "goals:"
goal "events as built (10, 10, $WANTBIG)" \
	"$N10 == $WANT10 && $NS10 == $WANT10 && $NBIG == $WANTBIG" "($N10, $NS10, $NBIG)"
goal "diff under 50 ms (10 drifts, $FILES-file image)" "$T10 < 50" "($T10 ms)"
goal "not the image: 10x the image, < 1.5x the time" "$T10 < 1.5 * $TS10" "($TS10 -> $T10 ms)"
goal "with the upper: $WANTBIG drifts cost more than 10" "$TBIG > $T10" "($T10 -> $TBIG ms)"
