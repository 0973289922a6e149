#!/bin/bash
# diff_hostile: `upperwatch diff` on an upper dir built to hurt it.
#
# The upper (written directly, and through a merged mount for the entries
# a container would make) holds symlinks out of the container (/etc/shadow,
# ../../../../etc/passwd, a host canary file, a host FIFO, a host dir), a
# dir symlink etc -> /etc where the image has a dir, a FIFO (also in place
# of an image file), a char device and the host's root disk as a block
# device, names with a newline (one shaped like a forged report line), a
# literal backslash-n, invalid UTF-8 and a 255-byte component, a file 1,000
# dirs deep, and 1 TiB sparse files.
# diff must finish in bounded time (20 s without the sparse files, 60 s
# with them), exit 1, open nothing outside the upper (inotify on the host
# canaries), follow no symlink (nothing reported below one), report every
# entry exactly once with its exact bytes (JSON path, path_hex for the
# non-UTF-8 name), print one text line per event with names escaped, and
# record the sparse files' exact size and content hash.
#
# Needs root (mknod, mount, fanotify: else atime), jq, python3.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd jq timeout mknod mkfifo truncate xxd
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip "needs python3"
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
DB=$S/db
TIB=1099511627776

# uwx SECONDS ARGS...: run upperwatch on $DB, bounded; stdout in $S/out,
# stderr in $S/err.  Returns upperwatch's status (124 on timeout).
uwx() {
	local t=$1
	shift
	timeout -k 5 "$t" "$UPPERWATCH" --db "$DB" "$@" >"$S/out" 2>"$S/err"
}

# diffrun DESC SECONDS NAME ARGS...: a bounded diff; stdout kept in
# $S/NAME, status in $S/NAME.rc.  Returns 1 when it did not finish.
diffrun() {
	local what=$1 t=$2 name=$3 rc start
	shift 3
	start=$(date +%s)
	uwx "$t" diff "$@"
	rc=$?
	cp "$S/out" "$S/$name"
	echo $rc >"$S/$name.rc"
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		fail "$what: diff did not finish within ${t}s (killed)"
		return 1
	fi
	pass "$what: diff finished in $(($(date +%s) - start))s (limit ${t}s)"
	expect_eq "$what: exit 1 (drift), nothing on stderr" "1 " "$rc $(head -c 300 "$S/err")"
}

# ev JSONFILE PATH JQEXPR: one field of the event for PATH.
ev() { jq -r --arg p "$2" "select(.path == \$p) | $3" "$1"; }
hexof() { printf '%s' "$1" | xxd -p | tr -d '\n'; }

# ---- the image -------------------------------------------------------------

L=$S/L1
mkdir -p "$L/etc" "$L/sub/d" "$L/usr/bin"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$L/etc/passwd"
echo img >"$L/etc/hostname"
echo data >"$L/data"
echo tool >"$L/usr/bin/tool"
echo in-d >"$L/sub/d/f"
if uwx 60 baseline --image hostile "$L"; then
	pass "image baselined"
else
	fail "image baseline exited: $(head -c 300 "$S/err")"
fi

# ---- the host side: canaries -----------------------------------------------

H=$S/host
mkdir -p "$H/dir"
echo canary >"$H/canary"
echo secret >"$H/dir/secret"
mkfifo "$H/fifo"
rootdev=$(findmnt -no MAJ:MIN / 2>/dev/null | tr -d ' ')

watch_pid=
if opens_start "$S/canary.log" "$H/canary" "$H/dir" "$H/fifo"; then
	watch_pid=$OPENS_PID
else
	touch -a -d '2001-01-01' "$H/canary" "$H/dir"
fi
atime0="$(stat -c %X "$H/canary" "$H/dir" | tr '\n' ' ')"

# ---- the upper -------------------------------------------------------------

U=$S/upper
NL=$'new\nline'
LIT='new\nline'                                # a backslash and an n
FORGE=$'evil\nD '                              # with etc/passwd below: a forged line
BAD=$'\xff\xfe'
L255=$(printf 'L%.0s' $(seq 255))
DEEP=$(printf '/deep%.0s' $(seq 1000))/bottom  # 6,007 bytes: over PATH_MAX
mkdir -p "$U" "$S/work"
(
	set -e
	cd "$U"
	ln -s /etc/shadow shadow
	ln -s ../../../../etc/passwd esc
	ln -s "$H/canary" canary
	ln -s "$H/fifo" hostfifo
	ln -s "$H/dir" hostdir
	mkfifo fifo
	mkfifo data                                 # a FIFO where the image has a file
	mknod null c 1 3
	if [ -n "$rootdev" ]; then mknod disk b "${rootdev%%:*}" "${rootdev##*:}"; fi
	echo nl >"$NL"
	echo lit >"$LIT"
	mkdir -p "$FORGE/etc"
	echo forge >"$FORGE/etc/passwd"
	echo bad >"$BAD"
	echo l255 >"$L255"
	for _ in $(seq 1000); do
		mkdir deep
		cd deep
	done
	echo bottom >bottom
) || fail "writing the upper failed"
[ -n "$rootdev" ] || echo "# no MAJ:MIN for /: the block device is left out"

# Through a merged mount: what a container does.
if mount_overlay "$L" "$U" "$S/work" "$S/m"; then
	if (
		set -e
		cd "$S/m"
		rm -rf etc
		ln -s /etc etc                      # a dir symlink over an image dir
		rm -rf sub/d
		ln -s "$H/dir" sub/d                # ... and one to a host canary dir
		mkfifo sub/fifo2
		echo via >$'sub/via\nmerged'
	); then
		pass "container changes made through the merged dir"
	else
		fail "a change through the merged dir failed"
	fi
	umount "$S/m" || fail "umount"
else
	fail "cannot mount the overlay"
fi

# ---- stage 1: no sparse files, 20 s ----------------------------------------

diffrun "FIFOs, devices, host symlinks" 20 one.json --image hostile --json "$U"

# ---- stage 2: 1 TiB sparse files, 60 s -------------------------------------

truncate -s 1T "$U/big"
if mount_overlay "$L" "$U" "$S/work" "$S/m2"; then
	truncate -s 1T "$S/m2/sub/big2" || fail "sparse file through the merged dir"
	umount "$S/m2" || fail "umount"
else
	fail "cannot mount the overlay again"
fi

if diffrun "with two 1 TiB sparse files (json)" 60 two.json --image hostile --json "$U"; then
	diffrun "with two 1 TiB sparse files (text)" 60 two.txt --image hostile "$U"
fi
J=$S/two.json
T=$S/two.txt

# Well-formed: each line one UTF-8 JSON object, path_hex decodes to the
# path's bytes and is there for the non-UTF-8 path only, one event a path.
if "$PY" - "$J" <<'EOF'; then pass "JSON: well-formed, path_hex on the non-UTF-8 name only"; else fail "JSON: not well-formed"; fi
import json, sys
ok = True
seen = set()
for n, raw in enumerate(open(sys.argv[1], 'rb'), 1):
    try:
        o = json.loads(raw.decode('utf-8'))
    except Exception as e:
        print('#   line %d: %s: %r' % (n, e, raw[:100]), file=sys.stderr)
        ok = False
        continue
    if 'path_hex' in o:
        b = bytes.fromhex(o['path_hex'])
        try:
            b.decode('utf-8')
            print('#   path_hex on UTF-8 %r' % b, file=sys.stderr)
            ok = False
        except UnicodeDecodeError:
            pass
    else:
        b = o['path'].encode('utf-8')
    if b in seen:
        print('#   %r twice' % b, file=sys.stderr)
        ok = False
    seen.add(b)
sys.exit(0 if ok and seen else 1)
EOF

# Exactly the expected events.
expected=$(
	{
		printf '["replaced","fifo","/data"]\n'
		[ -n "$rootdev" ] && printf '["added","blockdev","/disk"]\n'
		printf '["added","symlink","/canary"]\n'
		printf '["added","symlink","/esc"]\n'
		printf '["replaced","symlink","/etc"]\n'
		printf '["added","dir","/evil\\nD "]\n'
		printf '["added","dir","/evil\\nD /etc"]\n'
		printf '["added","file","/evil\\nD /etc/passwd"]\n'
		printf '["added","fifo","/fifo"]\n'
		printf '["added","symlink","/hostdir"]\n'
		printf '["added","symlink","/hostfifo"]\n'
		printf '["added","file","/new\\\\nline"]\n'
		printf '["added","file","/new\\nline"]\n'
		printf '["added","chardev","/null"]\n'
		printf '["added","symlink","/shadow"]\n'
		printf '["added","file","/big"]\n'
		printf '["added","file","/%s"]\n' "$L255"
		printf '["replaced","symlink","/sub/d"]\n'
		printf '["added","fifo","/sub/fifo2"]\n'
		printf '["added","file","/sub/via\\nmerged"]\n'
		printf '["added","file","/sub/big2"]\n'
		printf '["added","file","2ffffe"]\n'
		d=
		for _ in $(seq 1000); do
			d=$d/deep
			printf '["added","dir","%s"]\n' "$d"
		done
		printf '["added","file","%s"]\n' "$DEEP"
	} | sort
)
expect_eq "every hostile entry reported once, with the right op and type" "$expected" \
    "$(jq -c '[.op, .type, (.path_hex // .path)]' "$J" | sort)"

# Text: one line per event; names escaped, so no line is forged.
expect_eq "text: one line per JSON event" "$(wc -l <"$J")" "$(wc -l <"$T")"
check "text: every line is an op letter, a space and a path" \
    test -z "$(grep -Evn '^[ACMDR] /' "$T" | head -c 300)"
check "text: the newline is escaped as \\n" grep -qxF 'A /new\nline' "$T"
check "text: a literal backslash-n stays apart (\\\\n)" grep -qxF 'A /new\\nline' "$T"
check "text: the forged name is one escaped line" grep -qxF 'A /evil\nD /etc/passwd' "$T"
expect_eq "text: no forged 'D /etc/passwd' line" "" "$(grep -n '^D /etc/passwd' "$T")"
check "text: invalid UTF-8 as \\xNN" grep -qixF 'A /\xff\xfe' "$T"
check "text: newline inside a dir escaped" grep -qxF 'A /sub/via\nmerged' "$T"

# JSON: exact bytes.
expect_eq "JSON: newline name, exact path" file "$(ev "$J" "/$NL" .type)"
expect_eq "JSON: literal backslash-n name, exact path" file "$(ev "$J" "/$LIT" .type)"
expect_eq "JSON: file below the forging dir, exact path" file "$(ev "$J" "/$FORGE/etc/passwd" .type)"
expect_eq "JSON: invalid UTF-8 name: path_hex" "$(hexof "/$BAD")" \
    "$(jq -r 'select(.path_hex != null) | .path_hex | ascii_downcase' "$J")"
expect_eq "JSON: 255-byte component, exact path" file "$(ev "$J" "/$L255" .type)"
expect_eq "JSON: a file 1,000 dirs deep (path over PATH_MAX), exact path" file "$(ev "$J" "$DEEP" .type)"

# Specials: recorded as what they are, never opened or followed.
expect_eq "symlinks out of the container: targets recorded, no hash" \
    "/etc/shadow null|../../../../etc/passwd null|$H/canary null|$H/fifo null|$H/dir null" \
    "$(for p in /shadow /esc /canary /hostfifo /hostdir; do ev "$J" "$p" '"\(.current.link) \(.current.hash)"'; done | paste -sd '|')"
expect_eq "etc -> /etc over the image dir: replaced, dir -> symlink /etc" \
    '"replaced" "symlink" "/etc" "dir"' \
    "$(ev "$J" /etc '"\(.op|tojson) \(.current.type|tojson) \(.current.link|tojson) \(.baseline.type|tojson)"')"
expect_eq "nothing reported below a symlink (/etc, /hostdir, /sub/d)" "" \
    "$(jq -r 'select(.path | test("^/(etc|hostdir|sub/d)/")) | .path' "$J")"
expect_eq "FIFO over an image file: replaced, file -> fifo, no hash" '"replaced" "fifo" "file" null' \
    "$(ev "$J" /data '"\(.op|tojson) \(.current.type|tojson) \(.baseline.type|tojson) \(.current.hash|tojson)"')"
expect_eq "char device: no hash" '"chardev" null' "$(ev "$J" /null '"\(.current.type|tojson) \(.current.hash|tojson)"')"
if [ -n "$rootdev" ]; then
	expect_eq "block device (the host root disk): no hash" '"blockdev" null' \
	    "$(ev "$J" /disk '"\(.current.type|tojson) \(.current.hash|tojson)"')"
fi

# Sparse: exact size, hashed, both the same content.
expect_eq "1 TiB sparse file: exact size, hashed" "$TIB true" \
    "$(ev "$J" /big '"\(.current.size) \(.current.hash | test("^[0-9a-f]{32}$"))"')"
expect_eq "1 TiB sparse file made through the merged dir: exact size" "$TIB" \
    "$(ev "$J" /sub/big2 .current.size)"
expect_eq "two 1 TiB sparse files of zeros: the same hash" "$(ev "$J" /big .current.hash)" \
    "$(ev "$J" /sub/big2 .current.hash)"

# Stage 1 reported the same as stage 2, less the sparse files.
expect_eq "without the sparse files: the same events" \
    "$(jq -c 'select(.path != "/big" and .path != "/sub/big2") | [.op, .type, (.path_hex // .path)]' "$J")" \
    "$(jq -c '[.op, .type, (.path_hex // .path)]' "$S/one.json")"

# Nothing outside the upper was opened.
if [ -n "$watch_pid" ]; then
	opens_stop "$watch_pid" "$S/canary.log"
	expect_eq "host canaries (file, dir, FIFO) never opened by upperwatch" "" \
	    "$(opens_by_upperwatch "$S/canary.log")"
else
	expect_eq "host canaries never read (atime)" "$atime0" \
	    "$(stat -c %X "$H/canary" "$H/dir" | tr '\n' ' ')"
fi

finish
