#!/bin/bash
# baseline_hostile: `upperwatch baseline` on layers built to hurt it.
#
#  specials  symlinks to host files (/etc/shadow, /etc/passwd, a canary, a
#            host FIFO, a host dir), a FIFO, char devices (null, zero), a
#            block device (the host's root disk), a unix socket: recorded,
#            never opened or followed, and the build does not hang.
#  names     a newline, a tab, a backslash, a quote, a control byte, invalid
#            UTF-8 (several kinds), 255-byte components, a 1,000-deep tree
#            whose paths exceed PATH_MAX: exact paths in show --json
#            (path_hex for non-UTF-8), one text line per row.
#  sparse    1 TiB sparse files: bounded time, exact size, content hash.
#  grow      a file appended to during the build: flagged unstable, or a
#            hash that matches the content it had at the recorded size.
#  rewrite   a block overwritten in place during the build: flagged
#            unstable, or the hash of one whole state.
#  race      entries swapped between dir/file and symlink/FIFO during the
#            walk: no symlink followed, no FIFO opened, no hang.
#
# Needs root (mknod), jq, python3 (sockets, byte-exact checks).
. "$(dirname "$0")/lib.sh"

require_root
require_cmd jq timeout mknod mkfifo truncate xxd
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip "needs python3"
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
DB=$S/db
FFFD2=$'\xef\xbf\xbd\xef\xbf\xbd' # U+FFFD twice, as UTF-8

# uwx SECONDS ARGS...: run upperwatch on $DB, bounded; stdout in $S/out,
# stderr in $S/err.  Returns upperwatch's status (124 on timeout).
uwx() {
	local t=$1
	shift
	timeout -k 5 "$t" "$UPPERWATCH" --db "$DB" "$@" >"$S/out" 2>"$S/err"
}

# baseline DESC SECONDS IMAGE ARGS...: a bounded build; summary in
# $S/sum.IMAGE, then rows in $S/rows.IMAGE.  Returns 1 when it failed.
baseline() {
	local what=$1 t=$2 image=$3 rc start
	shift 3
	start=$(date +%s)
	uwx "$t" baseline --image "$image" --json "$@"
	rc=$?
	cp "$S/out" "$S/sum.$image"
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		fail "$what: baseline did not finish within ${t}s (killed)"
		return 1
	elif [ $rc != 0 ]; then
		fail "$what: baseline exited $rc: $(head -c 600 "$S/err")"
		return 1
	fi
	pass "$what: baseline finished in $(($(date +%s) - start))s (limit ${t}s)"
	uwx 60 show --image "$image" --json
	rc=$?
	cp "$S/out" "$S/rows.$image"
	[ $rc = 0 ] || fail "show --image $image --json exited $rc: $(head -c 300 "$S/err")"
	return 0
}

# row IMAGE PATH [JQEXPR]: one row (or one field of it) by exact path.
row() { jq -r --arg p "$2" "select(.path == \$p) | ${3:-.}" "$S/rows.$1"; }

# hexrow IMAGE HEX [JQEXPR]: one row by the hex of its path bytes.
hexrow() {
	jq -r --arg h "$2" "select((.path_hex // \"\" | ascii_downcase) == \$h) | ${3:-.}" "$S/rows.$1"
}
hexof() { printf '%s' "$1" | xxd -p | tr -d '\n'; }

# rows_wellformed DESC IMAGE: every line is valid UTF-8 and one JSON
# object, path_hex (when there) decodes to the row's path, rows are sorted
# by path bytes without duplicates.
rows_wellformed() {
	if "$PY" - "$S/rows.$2" <<'EOF'; then pass "$1"; else fail "$1"; fi
import json, sys
keys = []
ok = True
with open(sys.argv[1], 'rb') as f:
    for n, raw in enumerate(f, 1):
        try:
            o = json.loads(raw.decode('utf-8'))
        except Exception as e:
            print('#   line %d: not UTF-8 JSON: %s: %r' % (n, e, raw[:120]), file=sys.stderr)
            ok = False
            continue
        if 'path_hex' in o:
            b = bytes.fromhex(o['path_hex'])
            try:
                b.decode('utf-8')
                print('#   line %d: path_hex on valid UTF-8 %r' % (n, b[:80]), file=sys.stderr)
                ok = False
            except UnicodeDecodeError:
                pass
            if '\ufffd' not in o['path']:
                print('#   line %d: path without U+FFFD next to path_hex' % n, file=sys.stderr)
                ok = False
        else:
            b = o['path'].encode('utf-8', 'surrogatepass')
        keys.append(b)
if keys != sorted(keys) or len(set(keys)) != len(keys):
    print('#   rows not sorted by path bytes, or duplicated', file=sys.stderr)
    ok = False
sys.exit(0 if ok and keys else 1)
EOF
}

# ---- specials: never followed, never opened --------------------------------

H=$S/host
P=$S/specials
mkdir -p "$H" "$P/etc"
echo canary >"$H/canary"
mkfifo "$H/fifo"
rootdev=$(findmnt -no MAJ:MIN / 2>/dev/null | tr -d ' ')
(
	set -e
	cd "$P"
	ln -s /etc/shadow shadow
	ln -s /etc/passwd etc/passwd
	ln -s ../../../../../../../../etc/shadow escape
	ln -s "$H/canary" canary
	ln -s "$H/fifo" hostfifo
	ln -s /etc hostdir
	ln -s "$(printf '\xff\xfe')" badlink
	mkfifo fifo
	mknod null c 1 3
	mknod zero c 1 5
	if [ -n "$rootdev" ]; then mknod disk b "${rootdev%%:*}" "${rootdev##*:}"; fi
) || fail "specials: building the layer failed"
have_sock=0
if (cd "$P" && "$PY" -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")') 2>/dev/null &&
    [ -S "$P/sock" ]; then
	have_sock=1
else
	echo "# specials: cannot create a unix socket here, that item is skipped"
fi

# Watch the canary: upperwatch must not open it through the symlink.
watch_pid=
if opens_start "$S/canary.log" "$H/canary"; then
	watch_pid=$OPENS_PID
else
	touch -a -d '2001-01-01' "$H/canary"
fi
atime0=$(stat -c %X "$H/canary")

if baseline "specials (FIFO, devices, host symlinks)" 20 specials "$P"; then
	I=specials
	expect_eq "/shadow: symlink to /etc/shadow, no hash" '"symlink" "/etc/shadow" null' \
	    "$(row $I /shadow '"\(.type|tojson) \(.link|tojson) \(.hash|tojson)"')"
	expect_eq "/etc/passwd: symlink to /etc/passwd, lstat size, no hash" '"symlink" "/etc/passwd" 11 null' \
	    "$(row $I /etc/passwd '"\(.type|tojson) \(.link|tojson) \(.size) \(.hash|tojson)"')"
	expect_eq "relative escape recorded as is" '"symlink" "../../../../../../../../etc/shadow"' \
	    "$(row $I /escape '"\(.type|tojson) \(.link|tojson)"')"
	expect_eq "symlink to a host fifo: recorded, not opened" '"symlink" null' \
	    "$(row $I /hostfifo '"\(.type|tojson) \(.hash|tojson)"')"
	expect_eq "symlink to a host dir: not descended into" symlink "$(row $I /hostdir .type)"
	expect_eq "nothing recorded below the symlink to /etc" "" \
	    "$(jq -r 'select(.path | startswith("/hostdir/")) | .path' "$S/rows.$I" | head -n 3)"
	expect_eq "symlink with a non-UTF-8 target: link_hex" "\"symlink\" \"fffe\" \"$FFFD2\"" \
	    "$(row $I /badlink '"\(.type|tojson) \(.link_hex // "" | ascii_downcase | tojson) \(.link|tojson)"')"
	expect_eq "FIFO recorded, no hash" '"fifo" 0 null' \
	    "$(row $I /fifo '"\(.type|tojson) \(.size) \(.hash|tojson)"')"
	expect_eq "char devices recorded, no hash" '"chardev" null "chardev" null' \
	    "$(row $I /null '"\(.type|tojson) \(.hash|tojson)"') $(row $I /zero '"\(.type|tojson) \(.hash|tojson)"')"
	if [ -n "$rootdev" ]; then
		expect_eq "block device (the host root disk) recorded, no hash" '"blockdev" null' \
		    "$(row $I /disk '"\(.type|tojson) \(.hash|tojson)"')"
	fi
	if [ $have_sock = 1 ]; then
		expect_eq "unix socket recorded, no hash" '"socket" null' \
		    "$(row $I /sock '"\(.type|tojson) \(.hash|tojson)"')"
	fi
	expect_eq "no row of the specials layer has a hash" "" \
	    "$(jq -r 'select(has("hash")) | .path' "$S/rows.$I")"
	rows_wellformed "specials: rows well-formed and sorted" $I
	expect_eq "text: /etc/passwd line" "symlink 0777 0 0 11 - /etc/passwd -> /etc/passwd" \
	    "$(uwx 30 show --image $I /etc/passwd; cat "$S/out")"
fi
if [ -n "$watch_pid" ]; then
	opens_stop "$watch_pid" "$S/canary.log"
	expect_eq "host canary never opened through the symlink" "" \
	    "$(opens_by_upperwatch "$S/canary.log")"
else
	expect_eq "host canary never read through the symlink (atime)" "$atime0" "$(stat -c %X "$H/canary")"
fi

# ---- names: exact bytes, escaping, PATH_MAX ---------------------------------

N=$S/names
mkdir -p "$N"
L255=$(printf 'L%.0s' $(seq 255))
U255=$(printf '\xc3\xa9%.0s' $(seq 127))x               # 254 bytes of é + x
NL=$'new\nline'
BAD=$'\xff\xfe'
DEEP=$(printf '/deep_level%.0s' $(seq 1000))/bottom.txt # 11,011 bytes
(
	set -e
	cd "$N"
	echo nl >"$NL"
	echo bad >"$BAD"
	mkdir "$BAD.d"
	echo inner >"$BAD.d/inner"
	echo l255 >"$L255"
	mkdir "$U255"
	echo u >"$U255/$L255"
	echo tab >$'tab\there'
	echo bs >'back\slash'
	echo dq >'dq"uote'
	echo ctl >$'ctl\x01x'
	echo sp >'sp ace'
	echo ovl >$'ovl\xc0\xaf'        # overlong "/"
	echo sur >$'sur\xed\xa0\x80'    # UTF-16 surrogate
	echo trunc >$'tr\xe2\x82'       # truncated sequence
	echo big >$'big\xf4\x90\x80\x80' # above U+10FFFF
	echo utf >'ünï'
	echo bottom >ref_bottom.txt
	for _ in $(seq 1000); do
		mkdir deep_level
		cd deep_level
	done
	echo bottom >bottom.txt
) || fail "names: building the layer failed"
nentries=$(find "$N" -printf x | wc -c)

if baseline "names (odd bytes, PATH_MAX)" 60 names "$N"; then
	I=names
	expect_eq "one row per entry" "$nentries" "$(wc -l <"$S/rows.$I")"
	rows_wellformed "names: rows valid UTF-8 JSON, path_hex decodes, sorted by bytes" $I
	expect_eq "newline in a name: exact JSON path" file "$(row $I "/$NL" .type)"
	expect_eq "invalid UTF-8: path_hex and U+FFFD" "\"2ffffe\" \"/$FFFD2\"" \
	    "$(hexrow $I 2ffffe '"\(.path_hex | ascii_downcase | tojson) \(.path|tojson)"')"
	expect_eq "invalid UTF-8 dir: its child has path_hex" file \
	    "$(hexrow $I "$(hexof "/$BAD.d/inner")" .type)"
	for n in $'ovl\xc0\xaf' $'sur\xed\xa0\x80' $'tr\xe2\x82' $'big\xf4\x90\x80\x80'; do
		expect_eq "invalid UTF-8 name $(printf "%q" "$n"): path_hex" file \
		    "$(hexrow $I "$(hexof "/$n")" .type)"
	done
	expect_eq "255-byte component" file "$(row $I "/$L255" .type)"
	expect_eq "255-byte UTF-8 components" file "$(row $I "/$U255/$L255" .type)"
	for n in $'tab\there' 'back\slash' 'dq"uote' $'ctl\x01x' 'sp ace' 'ünï'; do
		expect_eq "name $(printf '%q' "$n"): exact JSON path" file "$(row $I "/$n" .type)"
	done
	expect_eq "path_hex on the 7 non-UTF-8 paths only" 7 \
	    "$(jq -c 'select(has("path_hex"))' "$S/rows.$I" | wc -l)"
	expect_eq "1,000-deep file: exact path" file "$(row $I "$DEEP" .type)"
	expect_eq "1,000-deep file: hash == same content elsewhere" "$(row $I /ref_bottom.txt .hash)" \
	    "$(row $I "$DEEP" .hash)"
	expect_eq "1,000-deep tree: 1,000 dirs and the file" 1001 \
	    "$(jq -c 'select(.path | startswith("/deep_level"))' "$S/rows.$I" | wc -l)"

	# Text form: one line per row, names escaped C-style.
	uwx 60 show --image $I
	cp "$S/out" "$S/text.$I"
	expect_eq "text show: one line per row" "$(wc -l <"$S/rows.$I")" "$(wc -l <"$S/text.$I")"
	check "text show: every line starts with a type" \
	    test -z "$(grep -Evn '^(file|dir|symlink|fifo|socket|chardev|blockdev) ' "$S/text.$I" | head -c 300)"
	check "text show: newline escaped as \\n" grep -qF ' /new\nline' "$S/text.$I"
	check "text show: invalid bytes as \\xNN" grep -qiF ' /\xff\xfe' "$S/text.$I"
	check "text show: tab escaped as \\t" grep -qF ' /tab\there' "$S/text.$I"
	check "text show: backslash escaped as \\\\" grep -qF ' /back\\slash' "$S/text.$I"
	check "text show: control byte as \\x01" grep -qiF ' /ctl\x01x' "$S/text.$I"

	# show PATH with the odd names as arguments.
	uwx 30 show --image $I --json "/$NL"
	rc=$?
	expect_eq "show PATH with a newline: exit 0, one row" "0 1" "$rc $(wc -l <"$S/out")"
	uwx 30 show --image $I --json "/$BAD"
	rc=$?
	expect_eq "show PATH with invalid UTF-8: exit 0, one row" "0 1" "$rc $(wc -l <"$S/out")"
	uwx 30 show --image $I --json "$DEEP"
	rc=$?
	expect_eq "show PATH longer than PATH_MAX: exit 0, one row" "0 1" "$rc $(wc -l <"$S/out")"
	uwx 30 show --image $I /no/such/path
	rc=$?
	expect_eq "show of a missing PATH: exit 1, one 'upperwatch: ' line on stderr" "1 1 1" \
	    "$rc $(wc -l <"$S/err") $(grep -c '^upperwatch: ' "$S/err")"
fi

# ---- sparse: 1 TiB in bounded time ------------------------------------------

Z=$S/sparse
mkdir -p "$Z"
truncate -s 1T "$Z/big1"
truncate -s 1T "$Z/big2"                                # same content as big1
truncate -s 1T "$Z/big3"
printf 'x' | dd of="$Z/big3" bs=1 seek=$((512 << 30)) conv=notrunc status=none  # differs
truncate -s 1M "$Z/zero-sparse"
head -c 1M /dev/zero >"$Z/zero-dense"                   # same bytes, no hole
if baseline "sparse (three 1 TiB files)" 60 sparse "$Z"; then
	I=sparse
	expect_eq "1 TiB sparse file: size" 1099511627776 "$(row $I /big1 .size)"
	expect_eq "1 TiB sparse file: hashed, not unstable" "true false" \
	    "$(row $I /big1 '"\(has("hash")) \(.unstable)"')"
	expect_eq "two 1 TiB sparse files with the same content: same hash" \
	    "$(row $I /big1 .hash)" "$(row $I /big2 .hash)"
	check "1 TiB sparse file with one byte set: other hash" \
	    test "$(row $I /big1 .hash)" != "$(row $I /big3 .hash)"
	expect_eq "1 MiB hole and 1 MiB of written zeros: same hash (content, not layout)" \
	    "$(row $I /zero-dense .hash)" "$(row $I /zero-sparse .hash)"
fi

# ---- grow: a file appended to during the build -------------------------------
# A snapshot of an append-only file is a prefix of its final content: a row
# that is not flagged unstable must hold the hash of the first SIZE bytes of
# the final file (checked by baselining that prefix into the same db).

G=$S/grow
mkdir -p "$G" "$S/snap"
head -c 4M /dev/urandom | base64 >"$G/log"
echo other >"$G/other"
(
	trap - EXIT
	i=0
	while :; do
		printf 'line %d %s\n' $((i++)) "$RANDOM$RANDOM$RANDOM" >>"$G/log"
	done
) &
writer=$!
cleanup_push "kill $writer"
sleep 0.5
size0=$(stat -c %s "$G/log")
baseline "grow (a file appended to during the build)" 60 grow "$G"
ok=$?
size1=$(stat -c %s "$G/log")
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
check "grow: the writer really appended during the build" test "$size1" -gt "$size0"
if [ $ok = 0 ]; then
	I=grow
	unstable=$(row $I /log .unstable)
	rsize=$(row $I /log .size)
	if [ "$unstable" = true ]; then
		pass "grow: growing file flagged unstable"
		check "grow: summary counts the unstable file" \
		    test "$(jq .unstable "$S/sum.$I")" -ge 1
	elif [ -n "$rsize" ] && [ "$rsize" -le "$(stat -c %s "$G/log")" ]; then
		head -c "$rsize" "$G/log" >"$S/snap/log"
		if uwx 60 baseline --image grow-prefix --rootfs "$S/snap" &&
		    uwx 60 show --image grow-prefix --json /log; then
			expect_eq "grow: not flagged, so its hash == hash of the first $rsize bytes" \
			    "$(jq -r .hash "$S/out")" "$(row $I /log .hash)"
		else
			fail "grow: baseline of the prefix failed: $(head -c 300 "$S/err")"
		fi
	else
		fail "grow: /log row: unstable=$unstable size=$rsize (final $(stat -c %s "$G/log"))"
	fi
	expect_eq "grow: the quiet file is stable" false "$(row $I /other .unstable)"
fi

# ---- rewrite: a file overwritten in place during the build ------------------
# One 4 KiB block in the middle of a 64 MiB file flips between two patterns
# (size and the rest unchanged).  The row must be flagged unstable, or hold
# the hash of one of the two whole states (baselined as references).

W=$S/rewrite
mkdir -p "$W/l" "$S/refA" "$S/refB"
head -c 64M /dev/urandom >"$W/l/data"
head -c 4096 /dev/zero | tr '\0' A >"$S/blockA"
head -c 4096 /dev/zero | tr '\0' B >"$S/blockB"
for x in A B; do
	cp "$W/l/data" "$S/ref$x/data"
	dd if="$S/block$x" of="$S/ref$x/data" bs=4096 seek=8192 conv=notrunc status=none
done
dd if="$S/blockA" of="$W/l/data" bs=4096 seek=8192 conv=notrunc status=none
hashA= hashB=
uwx 60 baseline --image rewrite-A --rootfs "$S/refA" &&
    uwx 60 show --image rewrite-A --json /data && hashA=$(jq -r .hash "$S/out")
uwx 60 baseline --image rewrite-B --rootfs "$S/refB" &&
    uwx 60 show --image rewrite-B --json /data && hashB=$(jq -r .hash "$S/out")
"$PY" -c '
import os, sys
blocks = [open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()]
fd = os.open(sys.argv[1], os.O_WRONLY)
i = 0
while True:
    os.pwrite(fd, blocks[i & 1], 8192 * 4096)
    i += 1
' "$W/l/data" "$S/blockA" "$S/blockB" &
rewriter=$!
cleanup_push "kill $rewriter"
sleep 0.3
flagged=0 torn=0 runs=0
for _ in 1 2 3 4 5; do
	uwx 60 baseline --image rewrite --rootfs "$W/l" ||
	    { fail "rewrite: baseline exited $?: $(head -c 300 "$S/err")"; break; }
	uwx 60 show --image rewrite --json /data || break
	runs=$((runs + 1))
	if [ "$(jq -r .unstable "$S/out")" = true ]; then
		flagged=$((flagged + 1))
	else
		h=$(jq -r .hash "$S/out")
		[ "$h" = "$hashA" ] || [ "$h" = "$hashB" ] || torn=$((torn + 1))
	fi
done
kill "$rewriter" 2>/dev/null
wait "$rewriter" 2>/dev/null
echo "# rewrite: $runs runs, $flagged flagged unstable"
check "rewrite: reference states hashed" test -n "$hashA" -a -n "$hashB" -a "$hashA" != "$hashB"
check "rewrite: 5 runs" test "$runs" = 5
expect_eq "rewrite: unflagged rows with a hash of neither whole state" 0 "$torn"

# ---- race: entries swapped with symlinks and FIFOs during the walk ---------
# `race` flips between a dir and a symlink to a host dir, `racef` between a
# file and a symlink to a host canary, `racefifo` between a file and a FIFO.
# Whatever the walker meets, it must not follow a symlink (no open of the
# host dir or canary, no row of the host dir's content) nor block on a FIFO
# (every run bounded).  A run may fail: the layer changed under it.

R=$S/race
H2=$S/host2
mkdir -p "$R/race" "$H2"
echo canary2 >"$H2/canary2"
for i in $(seq 300); do echo "$i" >"$R/race/f$i"; done
ln -s "$H2" "$R/race.b"
head -c 1M /dev/urandom >"$R/racef"
ln -s "$H2/canary2" "$R/racef.b"
head -c 1M /dev/urandom >"$R/racefifo"
mkfifo "$R/racefifo.b"
watch2=
if opens_start "$S/canary2.log" "$H2"; then
	watch2=$OPENS_PID
fi
"$PY" -c '
import os, sys
os.chdir(sys.argv[1])
while True:
    for n in ("race", "racef", "racefifo"):
        try:
            os.rename(n, n + ".a")
            os.rename(n + ".b", n)
            os.rename(n + ".a", n + ".b")
        except OSError:
            pass
' "$R" &
swapper=$!
cleanup_push "kill $swapper"
hung=0 leaked=0 built=0
for _ in $(seq 15); do
	uwx 20 baseline --image race "$R"
	rc=$?
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		hung=$((hung + 1))
		continue
	fi
	[ $rc = 0 ] || continue
	built=$((built + 1))
	uwx 30 show --image race --json
	leaked=$((leaked + $(jq -c 'select(.path | test("canary2"))' "$S/out" | wc -l)))
done
kill "$swapper" 2>/dev/null
wait "$swapper" 2>/dev/null
echo "# race: 15 runs, $built built"
expect_eq "race: runs that hung (a FIFO swapped in for a file)" 0 "$hung"
expect_eq "race: rows from the host dir behind a swapped-in symlink" 0 "$leaked"
if [ -n "$watch2" ]; then
	opens_stop "$watch2" "$S/canary2.log"
	expect_eq "race: host dir and canary never opened by upperwatch" "" \
	    "$(opens_by_upperwatch "$S/canary2.log")"
fi

finish
