#!/bin/bash
# journal_writer: the watcher hands its journal's writes to a thread of
# their own; stopping it in the middle of a burst must lose none of them,
# and what it wrote must be what the next start reads.
#
# A small image is baselined and a fresh upper (on a tmpfs) mounted over
# it.  A watcher (`watch --upper DIR --image REF --output FILE`) sees a
# burst of 20,000 files made through the merged dir in the background,
# and gets SIGTERM as soon as it has printed 2,000 events, while the
# burst is still going: it must exit 0, and the journal must hold exactly
# the events it printed, in order.  A second watcher on the same
# database, started once the burst is over, must report each path the
# first one did not, and none that it did (the first one's path states
# were written too); the journal then holds both runs' events.
#
# Needs root (mount), jq.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd jq timeout find sort comm
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-jw-$$
RS=$(realpath "$S")
L1=$RS/layers/1 T=$RS/tmpfs M=$RS/merged
IMG=$P-img
FILES=20000
DIRS=4
EV1=$S/run1.jsonl EV2=$S/run2.jsonl ERR=$S/watch.err

mkdir -p "$L1"/{bin,etc,srv}
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
echo v1 >"$L1/etc/app.conf"
if timeout 60 "$UPPERWATCH" --db "$S/db" baseline --image "$IMG" "$L1" >"$S/out" 2>&1; then
	pass "baseline of the image"
else
	fail "baseline: $(head -c 300 "$S/out")"
	finish
fi
tmpfs_overlay "$P" "$T" 100000 "$L1" "$M" || { fail "mount the tmpfs and the overlay"; finish; }

# watcher OUT: start one in the background (its pid in W), wait for it
# to watch the upper.
watcher() {
	: >"$ERR"
	"$UPPERWATCH" --db "$S/db" watch --upper "$T/upper" --image "$IMG" \
		--output "$1" 2>"$ERR" &
	W=$!
	cleanup_push "stop_bg $W"
	wait_until 20 grep -q "watching container " "$ERR" ||
		{ fail "the watcher did not start: $(head -c 300 "$ERR")"; finish; }
}
lines() { [ -s "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

# ---- run 1: stopped in the middle of a burst ---------------------------------

watcher "$EV1"
(
	for ((d = 0; d < DIRS; d++)); do mkdir "$M/b$d"; done
	for ((i = 0; i < FILES; i++)); do : >"$M/b$((i % DIRS))/f$i"; done
) &
B=$!
cleanup_push "kill $B 2>/dev/null"
wait_until 120 lines "$EV1" 2000 || fail "fewer than 2000 events within 120 s"
stop_bg "$W"
expect_eq "SIGTERM in the middle of the burst: exit 0" 0 "$BG_STATUS"
if my_child "$B"; then
	pass "the burst was still going when the watcher stopped"
else
	echo "# the burst had ended before the watcher stopped (a fast machine)"
fi
wait "$B"
N1=$(wc -l <"$EV1")
timeout 60 "$UPPERWATCH" --db "$S/db" events --json --container "$T/upper" >"$S/journal1" 2>"$S/journal.err"
if cmp -s "$EV1" "$S/journal1"; then
	pass "the journal holds exactly the $N1 events printed before SIGTERM"
else
	fail "journal != output after SIGTERM ($(wc -l <"$S/journal1") vs $N1 lines): $(head -c 200 "$S/journal.err")"
fi

# ---- run 2: the rest, and nothing twice ----------------------------------------

quiet() {
	local a b
	a=$(wc -l <"$EV2")
	sleep 2
	b=$(wc -l <"$EV2")
	[ "$a" = "$b" ] && [ "$b" -gt 0 ]
}
watcher "$EV2"
wait_until 180 quiet || fail "the second watcher did not go quiet within 180 s"
stop_bg "$W"
expect_eq "second watcher: exit 0" 0 "$BG_STATUS"
(cd "$T/upper" && find . -mindepth 1 -printf '/%P\n') | sort >"$S/want"
cat "$EV1" "$EV2" | jq -r .path | sort >"$S/got"
expect_eq "the upper holds the files and dirs" $((FILES + DIRS)) "$(wc -l <"$S/want")"
if cmp -s "$S/want" "$S/got"; then
	pass "the two runs reported every path once: $N1, then $(wc -l <"$EV2")"
else
	fail "paths: $(comm -23 "$S/want" "$S/got" | wc -l) never reported," \
	    "$(($(wc -l <"$S/got") - $(sort -u "$S/got" | wc -l))) reported twice" \
	    "(e.g. $(uniq -d "$S/got" | head -n 3 | tr '\n' ' '))"
fi
timeout 60 "$UPPERWATCH" --db "$S/db" events --json --container "$T/upper" >"$S/journal2" 2>"$S/journal.err"
cat "$EV1" "$EV2" >"$S/both"
check "the journal holds both runs' events, in order" cmp -s "$S/both" "$S/journal2"
finish
