#!/bin/bash
# Benchmark `upperwatch baseline` against an xxh128sum pipeline and AIDE on
# a generated, reproducible tree.  Run with --help for the knobs.
set -euo pipefail
export LC_ALL=C

usage() {
	cat <<EOF
Usage: tests/bench/baseline.sh [--cold] [--clean] [--help]

Times 'upperwatch baseline --rootfs TREE', 'find | xargs -P xxh128sum' and
'aide --init' (sha256) on a generated tree, each timed run right after a
warm-up read, and prints median wall time, MB/s, peak RSS, ratios and the
goals (faster than the pipeline, >=10x faster than AIDE, RSS < 64 MiB)
and the targets of the performance work (>= 1.3x faster than the
pipeline, >= 15x faster than AIDE).
Beside them, the floor: a C program that only reads every byte of the
tree (pread, as many threads as CPUs, no hash, no database).  Beside
them, the same tree as a one-layer OCI image layout (an
uncompressed tar layer, made once): 'upperwatch baseline --oci' (one
stream: sha256 of the blob and of the tar, XXH3 of every file) against
'sha256sum' of the layer blob alone, the floor of reading it once.
Exits 0 unless a tool fails.  The tree is generated once and reused while
its stamp file exists; --clean removes the trees and exits.

--cold: each timed run starts with the page cache dropped (sync, then
echo 3 > /proc/sys/vm/drop_caches; root) instead of a warm-up read, for
every tool alike: what a first baseline of an image on a node costs.
Needs cc, xxh128sum (xxhash), aide, /usr/bin/time (time).

Environment:
  BENCH_DIR        scratch dir for trees     (/var/tmp/upperwatch-bench)
  BENCH_FILES      number of files           (200000)
  BENCH_BIG        how many of them are 100 MiB (3); 90% of the rest are
                   0-16 KiB, 10% are 64 KiB-4 MiB
  BENCH_SEED       content seed              (1)
  BENCH_RUNS       timed runs per tool       (3)
  BENCH_SKIP_AIDE  1 to skip AIDE            (0)
  UPPERWATCH       binary to test            (build/upperwatch)
EOF
}

COLD=0
case "${1:-}" in
-h | --help) usage; exit 0 ;;
--cold) COLD=1 ;;
--clean | "") ;;
*) usage >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/upperwatch-bench}
FILES=${BENCH_FILES:-200000}
BIG=${BENCH_BIG:-3}
SEED=${BENCH_SEED:-1}
RUNS=${BENCH_RUNS:-3}
SKIP_AIDE=${BENCH_SKIP_AIDE:-0}
UW=${UPPERWATCH:-$ROOT/build/upperwatch}
NPROC=$(nproc)
TREE=$BENCH_DIR/tree-$FILES-$BIG-$SEED

die() { echo "baseline.sh: $*" >&2; exit 1; }

if [ "${1:-}" = --clean ]; then
	rm -rf "$BENCH_DIR"/tree-* && rmdir "$BENCH_DIR" 2>/dev/null || true
	exit 0
fi

[ -x "$UW" ] || die "$UW not found; build it first (meson compile -C build)"
for c in cc xxh128sum /usr/bin/time; do command -v "$c" >/dev/null || die "needs $c"; done
[ "$SKIP_AIDE" = 1 ] || command -v aide >/dev/null || die "needs aide (or BENCH_SKIP_AIDE=1)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uw-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# --- tree ------------------------------------------------------------------
# Layout TREE/aNN/bNN/fNNNNNNN, 100 files per leaf dir.  Content is a
# splitmix64 stream seeded per file, so no two files share blocks.
gen_tree() {
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
static void md(const char *p) {
	if (mkdir(p, 0755) && errno != EEXIST) { perror(p); exit(1); }
}
int main(int argc, char **argv) {
	static uint64_t buf[1 << 17]; /* 1 MiB */
	char p[4096];
	if (argc != 5) return 2;
	long n = atol(argv[2]), big = atol(argv[3]), seed = atol(argv[4]);
	unsigned long long total = 0;
	if (big > n) big = n;
	md(argv[1]);
	for (long i = 0; i < n; i++) {
		st = ((uint64_t)seed << 32) + (uint64_t)i;
		uint64_t r = rnd(), size;
		if (big && i % (n / big) == 0 && i / (n / big) < big)
			size = 100ULL << 20;
		else if (r % 10 == 0) { /* 64 KiB << k, k geometric in 0..5, plus jitter */
			int k = __builtin_ctzll(rnd() | 32);
			size = (65536ULL << k) + rnd() % (65536ULL << k);
		} else
			size = rnd() % 16385;
		snprintf(p, sizeof p, "%s/a%02ld", argv[1], i / 10000); md(p);
		snprintf(p, sizeof p, "%s/a%02ld/b%02ld", argv[1], i / 10000, i / 100 % 100); md(p);
		snprintf(p, sizeof p, "%s/a%02ld/b%02ld/f%07ld", argv[1], i / 10000, i / 100 % 100, i);
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) { perror(p); return 1; }
		for (uint64_t left = size; left;) {
			size_t c = left < sizeof buf ? left : sizeof buf;
			for (size_t j = 0; j < (c + 7) / 8; j++) buf[j] = rnd();
			if (write(fd, buf, c) != (ssize_t)c) { perror(p); return 1; }
			left -= c;
		}
		close(fd);
		total += size;
	}
	printf("%llu\n", total);
	return 0;
}
EOF
	cc -O2 -o "$WORK/gen" "$WORK/gen.c"
	rm -rf "$TREE" "$TREE.stamp"
	echo "generating $FILES files in $TREE ..." >&2
	local bytes
	bytes=$("$WORK/gen" "$TREE" "$FILES" "$BIG" "$SEED")
	sync # no writeback during the timed runs
	echo "files=$FILES bytes=$bytes" >"$TREE.stamp"
}

mkdir -p "$BENCH_DIR"
[ -f "$TREE.stamp" ] || gen_tree
BYTES=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$TREE.stamp")

# The tree as a one-layer OCI image layout (uncompressed layer).
OCI=$TREE.oci
gen_oci() {
	local blob cfg man d
	rm -rf "$OCI" && mkdir -p "$OCI/blobs/sha256"
	echo "making an OCI layout of the tree in $OCI ..." >&2
	tar -C "$TREE" -cf "$OCI/layer.tar" .
	d=$(sha256sum "$OCI/layer.tar" | cut -c1-64)
	mv "$OCI/layer.tar" "$OCI/blobs/sha256/$d"
	blob=$(stat -c %s "$OCI/blobs/sha256/$d")
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$d" >"$OCI/cfg"
	cfg=$(sha256sum "$OCI/cfg" | cut -c1-64)
	mv "$OCI/cfg" "$OCI/blobs/sha256/$cfg"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$cfg" "$(stat -c %s "$OCI/blobs/sha256/$cfg")" "$d" "$blob" >"$OCI/man"
	man=$(sha256sum "$OCI/man" | cut -c1-64)
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
		"$man" "$(stat -c %s "$OCI/man")" >"$OCI/index.json"
	mv "$OCI/man" "$OCI/blobs/sha256/$man"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$OCI/oci-layout"
	echo "sha256:$d" >"$OCI.stamp"
}
[ -f "$OCI.stamp" ] || gen_oci
LAYER=$OCI/blobs/sha256/$(cut -c8- "$OCI.stamp")

# --- the floor: read every byte, hash nothing, record nothing --------------
# NPROC threads take files from one list (walked first, like find) and
# pread each whole into a 256 KiB buffer: what any tool that hashes this
# tree must at least spend reading it.
cat >"$WORK/floor.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static char **paths;
static size_t n, cap;
static atomic_size_t next;
static int add(const char *p, const struct stat *st, int type, struct FTW *f) {
	(void)st; (void)f;
	if (type != FTW_F) return 0;
	if (n == cap && !(paths = realloc(paths, (cap = cap ? 2 * cap : 4096) * sizeof(*paths)))) exit(1);
	if (!(paths[n++] = strdup(p))) exit(1);
	return 0;
}
static void *reader(void *arg) {
	static _Thread_local char buf[1 << 18];
	unsigned long long *bytes = arg;
	size_t i;
	ssize_t got;
	while ((i = atomic_fetch_add(&next, 1)) < n) {
		int fd = open(paths[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		if (fd < 0) continue;
		for (off_t at = 0; (got = pread(fd, buf, sizeof(buf), at)) > 0; at += got)
			*bytes += (unsigned long long)got;
		close(fd);
	}
	return NULL;
}
int main(int argc, char **argv) {
	int t, threads = argc == 3 ? atoi(argv[2]) : 1;
	pthread_t tid[64];
	unsigned long long bytes[64] = { 0 }, total = 0;
	if (argc != 3 || threads < 1 || threads > 64) return 2;
	if (nftw(argv[1], add, 64, FTW_PHYS) != 0) { perror(argv[1]); return 1; }
	for (t = 0; t < threads; t++) pthread_create(&tid[t], NULL, reader, &bytes[t]);
	for (t = 0; t < threads; t++) { pthread_join(tid[t], NULL); total += bytes[t]; }
	printf("%zu files, %llu bytes\n", n, total);
	return 0;
}
EOF
cc -O2 -pthread -o "$WORK/floor" "$WORK/floor.c" || die "cannot build the read floor"

# --- measuring -------------------------------------------------------------
warm() { find "$TREE" -type f -print0 | xargs -0 -P"$NPROC" -n2000 xxh128sum >/dev/null 2>&1; }
# before each timed run: the cache warm (a read of the tree), or dropped
prepare() {
	if [ "$COLD" = 1 ]; then
		sync
		echo 3 >/proc/sys/vm/drop_caches || die "--cold needs root (drop_caches)"
	else
		warm
	fi
}

# measure NAME SETUP CMD...: RUNS timed runs of CMD, each after SETUP and
# prepare (a warm-up read, or the cache dropped with --cold); records
# "wall maxrss_kib" per run in $WORK/NAME.runs.
measure() {
	local name=$1 setup=$2 i t0 t1
	shift 2
	: >"$WORK/$name.runs"
	for ((i = 1; i <= RUNS; i++)); do
		$setup
		prepare
		t0=$EPOCHREALTIME
		if ! /usr/bin/time -f %M -o "$WORK/rss" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
			cat "$WORK/$name.err" >&2
			die "$name failed (run $i)"
		fi
		t1=$EPOCHREALTIME
		echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $(tail -n1 "$WORK/rss")" \
			>>"$WORK/$name.runs"
		echo "  $name run $i: $(tail -n1 "$WORK/$name.runs" | awk '{ printf "%s s, %.1f MiB", $1, $2 / 1024 }')" >&2
	done
}
median() { sort -g "$WORK/$1.runs" | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'; }
peak() { sort -k2,2n "$WORK/$1.runs" | awk 'END { print $2 }'; } # KiB

fresh_db() { rm -f "$WORK"/uw.db*; }
fresh_aide() { rm -f "$WORK/aide.db"; }

echo "tree $TREE: $FILES files, $BYTES bytes; $RUNS runs each, $NPROC CPUs" >&2
measure upperwatch fresh_db "$UW" --db "$WORK/uw.db" baseline --image bench --rootfs "$TREE"
measure xxh128sum true sh -c 'find "$1" -type f -print0 | xargs -0 -P"$2" -n2000 xxh128sum >/dev/null' \
	sh "$TREE" "$NPROC"
measure floor true "$WORK/floor" "$TREE" "$NPROC"
warm_layer() { cat "$LAYER" >/dev/null; }
fresh_db_layer() { fresh_db; warm_layer; }
measure upperwatch-oci fresh_db_layer "$UW" --db "$WORK/uw.db" baseline --oci "$OCI"
measure sha256sum warm_layer sha256sum "$LAYER"
if [ "$SKIP_AIDE" != 1 ]; then
	# AIDE selection lines are regular expressions.
	TREE_RE=$(printf '%s' "$TREE" | sed 's/[^A-Za-z0-9_/-]/\\&/g')
	cat >"$WORK/aide.conf" <<EOF
database_out=file:$WORK/aide.db
database_attrs=sha256
gzip_dbout=no
report_url=stdout
log_level=error
num_workers=$NPROC
Bench = p+u+g+s+m+ftype+sha256
$TREE_RE Bench
EOF
	measure aide fresh_aide aide --init -c "$WORK/aide.conf"
fi

# --- report ----------------------------------------------------------------
calc() { awk "BEGIN { $1 }"; }
row() { # LABEL NAME
	calc "printf \"%-40s %9.3f %9.1f %12.1f\n\", \"$1\", $(median "$2"), $BYTES / 1e6 / $(median "$2"), $(peak "$2") / 1024"
}
goal() { # DESCRIPTION AWK-CONDITION DETAIL
	printf '  %-4s  %-42s %s\n' "$(calc "print ($2) ? \"PASS\" : \"MISS\"")" "$1" "$3"
}
UW_T=$(median upperwatch) XX_T=$(median xxh128sum) UW_RSS=$(peak upperwatch)

echo
echo "upperwatch baseline benchmark: $FILES files, $(calc "printf \"%.2f\", $BYTES / 1e9") GB," \
	"$([ "$COLD" = 1 ] && echo "cold cache (dropped before each run)" || echo "warm cache"), median of $RUNS runs, $NPROC CPUs"
echo "upperwatch said: $(tail -n1 "$WORK/upperwatch.out")"
echo
printf '%-40s %9s %9s %12s\n' tool "wall s" "MB/s" "peak RSS MiB"
row "upperwatch baseline" upperwatch
row "find | xargs -P$NPROC -n2000 xxh128sum" xxh128sum
row "floor: read every byte ($NPROC threads)" floor
row "upperwatch baseline --oci (tar layer)" upperwatch-oci
row "sha256sum of the layer blob" sha256sum
[ "$SKIP_AIDE" = 1 ] || row "aide --init (sha256, $NPROC workers)" aide
echo
echo "Peak RSS is that of the largest single process (GNU time %M), for the pipeline too."
echo "AIDE 0.18 (Debian) has no xxhash, so it hashes with sha256 here."
echo "The floor is a C program that only reads: pread of every file, $NPROC threads,"
echo "no hash, no database: what reading the tree costs before any work is done on it."
echo
echo "ratios: xxh128sum pipeline / upperwatch = $(calc "printf \"%.2f\", $XX_T / $UW_T")x wall time"
[ "$SKIP_AIDE" = 1 ] || echo "        aide / upperwatch               = $(calc "printf \"%.1f\", $(median aide) / $UW_T")x wall time"
echo
echo "goals:"
goal "faster than the xxh128sum pipeline" "$UW_T < $XX_T" "($UW_T s vs $XX_T s)"
if [ "$SKIP_AIDE" = 1 ]; then
	printf '  %-4s  %-42s %s\n' SKIP ">= 10x faster than AIDE" "(BENCH_SKIP_AIDE=1)"
else
	goal ">= 10x faster than AIDE" "$(median aide) >= 10 * $UW_T" "($(median aide) s vs $UW_T s)"
fi
goal "peak RSS < 64 MiB" "$UW_RSS < 65536" "($(calc "printf \"%.1f\", $UW_RSS / 1024") MiB)"
goal "target: >= 1.3x faster than the pipeline" "$XX_T >= 1.3 * $UW_T" "($(calc "printf \"%.2f\", $XX_T / $UW_T")x)"
FL_T=$(median floor)
echo "        (1.3x asks for $(calc "printf \"%.3f\", $XX_T / 1.3") s or less; reading alone took $FL_T s," \
	"$(calc "printf \"%.2f\", $XX_T / $FL_T")x the pipeline)"
[ "$SKIP_AIDE" = 1 ] ||
	goal "target: >= 15x faster than AIDE" "$(median aide) >= 15 * $UW_T" "($(calc "printf \"%.1f\", $(median aide) / $UW_T")x)"
