#!/bin/bash
# watch_overflow: when the inotify queue overflows, `upperwatch watch`
# must say so, rescan, and still report every path of the upper exactly
# once.
#
# A small two-layer image is baselined.  A fresh upper (upper and work on
# a small tmpfs of this test's own) is mounted over it and watched with
# `watch --upper DIR --image REF`, started while
# fs.inotify.max_queued_events is lowered to 256 (the kernel sizes an
# inotify instance's queue when it is made; the old value is put back as
# soon as the watcher has started, and in cleanup whatever happens).
# Then 50,000 files are created in a burst through the merged dir, in 5
# new dirs, by a bash loop.  Once the watcher has gone quiet: the
# reported paths == `find` of the final upper dir, each reported once,
# each an "added" of the right type; an overflow notice was printed; the
# journal holds the same events.
# Then the cost of rescans: an upper of 10,101 unchanged dirs watched with
# --rescan 1 reports nothing new and does not grow in memory.
#
# Needs root (mount, sysctl), jq.  UWT_OVERFLOW_FILES=N changes the burst
# size; UWT_KEEP=DIR keeps a copy of the scratch dir for a post-mortem.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd jq timeout sysctl find sort comm
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"
[ -w /proc/sys/fs/inotify/max_queued_events ] || skip "cannot set fs.inotify.max_queued_events"

umask 022
export LC_ALL=C
P=uwt-watch-$$
RS=$(realpath "$S")
L1=$RS/layers/1 L2=$RS/layers/2 T=$RS/tmpfs M=$RS/merged
IMG=$P-img
FILES=${UWT_OVERFLOW_FILES:-50000}
DIRS=5
QUEUE=256
EV=$S/events.jsonl ERR=$S/watch.err

# ---- the image, baselined --------------------------------------------------

mkdir -p "$L1"/{bin,etc,srv,tmp} "$L2"/{etc,srv}
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
echo v1 >"$L1/etc/app.conf"
head -c 100000 /dev/urandom >"$L1/bin/tool"
echo v2 >"$L2/etc/app.conf"
echo s >"$L2/srv/data"
if timeout 60 "$UPPERWATCH" --db "$S/db" baseline --image "$IMG" "$L2" "$L1" >"$S/out" 2>&1; then
	pass "baseline of the image"
else
	fail "baseline: $(head -c 300 "$S/out")"
	finish
fi

# ---- a tmpfs-backed upper --------------------------------------------------

tmpfs_overlay "$P" "$T" 200000 "$L2:$L1" "$M" || { fail "mount the tmpfs and the overlay"; finish; }
pass "overlay mounted with upper and work on tmpfs"

# ---- the watcher, with a small queue ---------------------------------------

OLDQ=$(sysctl -n fs.inotify.max_queued_events)
sysctl_set fs.inotify.max_queued_events "$QUEUE" || { fail "cannot lower max_queued_events"; finish; }
: >"$ERR"
"$UPPERWATCH" --db "$S/db" watch --upper "$T/upper" --image "$IMG" --output "$EV" 2>"$ERR" &
W=$!
cleanup_push "stop_bg $W"
started=0
wait_until 20 grep -q "watching container " "$ERR" && started=1
# The watcher's queue is sized now: put the old value back at once, so
# that nobody else's inotify instance gets a 256-event queue.
sysctl -qw "fs.inotify.max_queued_events=$OLDQ"
expect_eq "max_queued_events restored to $OLDQ" "$OLDQ" "$(sysctl -n fs.inotify.max_queued_events)"
if [ $started = 1 ]; then
	pass "watch --upper: 'watching container' notice"
else
	fail "watch --upper: no 'watching container' notice: $(head -c 300 "$ERR")"
	finish
fi
expect_eq "nothing to report in a fresh upper" 0 "$(wc -l <"$EV")"

# ---- the burst ---------------------------------------------------------------

t0=$EPOCHREALTIME
for ((d = 0; d < DIRS; d++)); do
	mkdir "$M/burst$d" || fail "mkdir burst$d"
done
for ((i = 0; i < FILES; i++)); do
	: >"$M/burst$((i % DIRS))/f$i"
done
t1=$EPOCHREALTIME
echo "# $FILES files in $DIRS dirs created in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"

# quiet: no new line for 3 s (at most 180 s)
quiet() {
	local a b
	a=$(wc -l <"$EV")
	sleep 3
	b=$(wc -l <"$EV")
	[ "$a" = "$b" ]
}
wait_until 180 quiet || fail "the watcher did not go quiet within 180 s"
t2=$EPOCHREALTIME
echo "# quiet (no new event for 3 s) $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s after the burst; $(wc -l <"$EV") events"
grep -q . "$ERR" && sed 's/^/#   stderr: /' "$ERR" | sort | uniq -c | sort -rn | head -n 5

check "the watcher is still running" my_child "$W"
if grep -q "inotify queue overflow" "$ERR"; then
	pass "an overflow notice was printed ($(grep -c "inotify queue overflow" "$ERR") times)"
else
	fail "no overflow notice with a $QUEUE-event queue and a $FILES-file burst: $(head -c 300 "$ERR")"
fi

(cd "$T/upper" && find . -mindepth 1 -printf '/%P\n') | sort >"$S/want"
jq -r .path "$EV" | sort >"$S/got"
sort -u "$S/got" >"$S/got.u"
expect_eq "the upper holds the $FILES files and $DIRS dirs" $((FILES + DIRS)) "$(wc -l <"$S/want")"
if cmp -s "$S/want" "$S/got.u"; then
	pass "the reported paths == the final upper dir's paths ($(wc -l <"$S/want"))"
else
	fail "reported paths != upper paths: $(comm -23 "$S/want" "$S/got.u" | wc -l) missed" \
	    "(e.g. $(comm -23 "$S/want" "$S/got.u" | head -n 3 | tr '\n' ' ')), $(comm -13 "$S/want" "$S/got.u" | wc -l) extra" \
	    "(e.g. $(comm -13 "$S/want" "$S/got.u" | head -n 3 | tr '\n' ' '))"
fi
if [ "$(wc -l <"$S/got")" = "$(wc -l <"$S/got.u")" ]; then
	pass "each path reported exactly once"
else
	fail "$(($(wc -l <"$S/got") - $(wc -l <"$S/got.u"))) repeated reports: $(uniq -c "$S/got" | awk '$1 > 1' |
	    head -n 5 | tr -s ' ' | tr '\n' ';')"
	uniq -d "$S/got" | head -n 3 | while read -r p; do
		echo "#   $p: $(jq -c --arg p "$p" 'select(.path == $p) | [.id, .op, .current.size]' "$EV" | tr '\n' ' ')"
	done
fi
(cd "$T/upper" && find . -mindepth 1 -printf '/%P %y\n') |
    sed -e 's/ d$/ added dir/' -e 's/ f$/ added file/' | sort >"$S/want.typed"
jq -r '"\(.path) \(.op) \(.type)"' "$EV" | sort -u >"$S/got.typed"
check "every event is an 'added' of the type on disk" cmp -s "$S/want.typed" "$S/got.typed"
expect_eq "every event names the upper as its container" "" \
    "$(jq -r --arg u "$T/upper" 'select(.container.id != $u) | .path' "$EV" | head -n 3)"

stop_bg "$W"
expect_eq "SIGTERM: exit 0" 0 "$BG_STATUS"
timeout 60 "$UPPERWATCH" --db "$S/db" events --json --container "$T/upper" >"$S/journal" 2>"$S/journal.err"
if cmp -s "$EV" "$S/journal"; then
	pass "the journal holds exactly the printed events"
else
	fail "the journal differs from the output ($(wc -l <"$S/journal") vs $(wc -l <"$EV") lines): $(head -c 200 "$S/journal.err")"
fi

# ---- rescans keep memory flat ---------------------------------------------
# Every rescan (after an overflow, or each --rescan period) walks every dir
# again: the watcher must not grow with the number of rescans.  An upper
# with 10,101 new dirs and nothing changing, --rescan 1: VmRSS after the
# start-up scan and a few rescans, then 10 s (some ten rescans) later.

U2=$T/upper2 M2=$RS/merged2 EV2=$S/rescan.jsonl
mkdir -p "$U2" "$T/work2"
mount_overlay "$L2:$L1" "$U2" "$T/work2" "$M2" || { fail "mount the second overlay"; finish; }
mkdir -p "$M2"/r/d{1..100}/e{1..100} || fail "mkdir of 10,101 dirs"
: >"$S/rescan.err"
# In the sanitizer build, ASan's quarantine keeps freed memory resident on
# purpose; with no quarantine, VmRSS measures what the daemon holds.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 \
	"$UPPERWATCH" --db "$S/db" watch --upper "$U2" --image "$IMG" --rescan 1 --output "$EV2" 2>"$S/rescan.err" &
W=$!
cleanup_push "stop_bg $W"
if wait_until 30 grep -q "watching container " "$S/rescan.err"; then
	sleep 4
	rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$W/status")
	n0=$(wc -l <"$EV2")
	sleep 10
	rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$W/status")
	n1=$(wc -l <"$EV2")
	expect_eq "rescan: the start-up scan reported the 10,101 new dirs, once" 10101 "$n0"
	expect_eq "rescan: 10 s of rescans of an unchanged upper report nothing" "$n0" "$n1"
	echo "# VmRSS after the start-up scan and 4 s of rescans: $rss0 kB; 10 s later: $rss1 kB"
	if [ $((rss1 - rss0)) -lt 2048 ]; then
		pass "rescan: memory flat over 10 s of rescans of 10,101 dirs (+$((rss1 - rss0)) kB)"
	else
		fail "rescan: VmRSS grew by $((rss1 - rss0)) kB over 10 s of rescans (--rescan 1) of 10,101 unchanged dirs" \
		    "(~$(((rss1 - rss0) * 1024 / 10 / 10101)) bytes per dir per second)"
	fi
else
	fail "rescan: no 'watching container' notice: $(head -c 300 "$S/rescan.err")"
fi
stop_bg "$W"
expect_eq "rescan: SIGTERM, exit 0" 0 "$BG_STATUS"

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
