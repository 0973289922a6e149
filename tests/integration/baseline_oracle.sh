#!/bin/bash
# baseline_oracle: `upperwatch baseline` of a layer stack must record the
# merged view exactly as overlayfs shows it.
#
# For each shape we build layer dirs the way snapshotters extract them,
# then compare upperwatch's rows for the stack with
#   - upperwatch's rows for a real read-only overlay mount of the same
#     lowerdirs (`--rootfs MERGED`, same db, so keyed hashes compare),
#   - `find MERGED -printf` (path set, type, mode, owner, size, link),
#   - xxh128sum of every merged regular file (files with equal content must
#     have equal hashes and files with different content different ones),
#   - a hand-written list of what must and must not be there.
# Shapes: (a) char-dev 0/0 whiteouts + trusted opaque dirs and many file
# kinds, (b) trusted xattr whiteouts in opaque=x dirs, (c) the user.* xattr
# forms (oracle mounted with userxattr), (d) the OCI `.wh.` form (the kernel
# does not know it: the oracle is a tree built by hand), (e) whiteouts in a
# dir that exists in one layer only (a kernel readdir/lookup quirk), (f)
# overlay xattrs on a layer root dir.
# Then: a re-run gives identical rows; one changed byte in a lower file
# changes that file's hash and nothing else.
#
# Needs root (mknod, trusted.* xattrs, mount), jq, setfattr, setcap,
# getfattr, xxh128sum.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd jq setfattr getfattr setcap xxh128sum mknod mkfifo timeout
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
DB=$S/db

# ---- helpers -------------------------------------------------------------

# uwx SECONDS ARGS...: run upperwatch on $DB, bounded; stdout in $S/out,
# stderr in $S/err.  Returns upperwatch's status (124 on timeout).
uwx() {
	local t=$1
	shift
	timeout -k 5 "$t" "$UPPERWATCH" --db "$DB" "$@" >"$S/out" 2>"$S/err"
}

# baseline DESC IMAGE ARGS...: build a baseline, check the exit status and
# the one-line JSON summary; the summary is kept in $S/sum.IMAGE.
baseline() {
	local what=$1 image=$2 rc
	shift 2
	uwx 120 baseline --image "$image" --json "$@"
	rc=$?
	cp "$S/out" "$S/sum.$image"
	if [ $rc -ne 0 ]; then
		fail "$what: baseline exited $rc: $(head -c 600 "$S/err")"
		return 1
	fi
	if [ "$(wc -l <"$S/out")" = 1 ] &&
	    jq -e --arg i "$image" '.image == $i and (.entries|type) == "number"' \
	    "$S/out" >/dev/null 2>&1; then
		pass "$what: baseline exit 0, one-line JSON summary"
	else
		fail "$what: bad baseline summary: $(head -c 300 "$S/out")"
	fi
}

# rows IMAGE: `show --image IMAGE --json` into $S/rows.IMAGE.
rows() {
	local rc
	uwx 60 show --image "$1" --json
	rc=$?
	cp "$S/out" "$S/rows.$1"
	[ $rc -eq 0 ] || fail "show --image $1 exited $rc: $(head -c 300 "$S/err")"
}

# The fields compared between two baselines.  Dir sizes are the backing
# fs's business, and so are dir mtimes.
NORM='{path, path_hex, type, mode, uid, gid,
	size: (if .type == "dir" then null else .size end),
	mtime: (if .type == "dir" then null else .mtime end),
	link, link_hex, caps, hash, unstable}'
norm() { jq -cS "$NORM" "$1" | sort; }

# same_rows DESC FILE_A FILE_B
same_rows() {
	if [ ! -s "$2" ] || [ ! -s "$3" ]; then
		fail "$1: no rows to compare"
		return
	fi
	if diff <(norm "$2") <(norm "$3") >"$S/diff"; then
		pass "$1"
	else
		fail "$1: rows differ (< first, > second):"
		head -n 40 "$S/diff" | sed 's/^/#   /' >&2
	fi
}

# contract DESC ROWSFILE: every row has the documented shape, rows are
# sorted by path bytes, "/" is there, every file here has a hash.
contract() {
	local bad
	bad=$(jq -c 'select(
		(.path | type) != "string" or (.path | startswith("/") | not)
		or ([.type] | inside(["file","dir","symlink","fifo","socket","chardev","blockdev"]) | not)
		or (.mode | type) != "number" or .mode < 0 or .mode > 4095
		or (.uid | type) != "number" or (.gid | type) != "number"
		or (.size | type) != "number" or .size < 0
		or (.mtime | type) != "number"
		or (.unstable | type) != "boolean"
		or (has("hash") != (.type == "file"))
		or (has("hash") and ((.hash | type) != "string" or (.hash | test("^[0-9a-fA-F]{32}$") | not)))
		or (has("link") != (.type == "symlink"))
		or (has("caps") and ((.caps | type) != "string" or (.caps | test("^[0-9a-fA-F]+$") | not)))
		)' "$2" 2>&1 | head -n 5)
	if [ -z "$bad" ] && [ -s "$2" ]; then
		pass "$1: every row has the documented fields"
	else
		fail "$1: rows off contract: $bad"
	fi
	if jq -r .path "$2" | sort -c 2>/dev/null && [ "$(jq -r .path "$2" | sort -u | wc -l)" = "$(wc -l <"$2")" ]; then
		pass "$1: rows sorted by path bytes, no duplicates"
	else
		fail "$1: rows not sorted by path bytes or duplicated"
	fi
	expect_eq "$1: exactly one root row, a dir" 1 \
	    "$(jq -c 'select(.path == "/" and .type == "dir")' "$2" | wc -l)"
}

# summary_matches DESC IMAGE: the baseline summary counts match the rows
# (bytes == the sum of file sizes: no sparse files in these shapes).
summary_matches() {
	local n f b
	n=$(wc -l <"$S/rows.$2")
	f=$(jq -c 'select(.type == "file")' "$S/rows.$2" | wc -l)
	b=$(jq -s 'map(select(.type == "file") | .size) | add // 0' "$S/rows.$2")
	expect_eq "$1: summary entries/files/bytes match the rows" "$n $f $b" \
	    "$(jq -r '"\(.entries) \(.files) \(.bytes)"' "$S/sum.$2" 2>/dev/null)"
}

# find_view MERGED: path type mode uid gid size link, as find sees it.
find_view() {
	find "$1" -printf '/%P\t%y\t%m\t%U\t%G\t%s\t%l\n' 2>/dev/null | awk -F'\t' -v OFS='\t' '
	function oct(s,   i, n) { n = 0; for (i = 1; i <= length(s); i++) n = n * 8 + substr(s, i, 1); return n }
	BEGIN { t["f"] = "file"; t["d"] = "dir"; t["l"] = "symlink"; t["p"] = "fifo"
		t["s"] = "socket"; t["c"] = "chardev"; t["b"] = "blockdev" }
	{ print $1, t[$2], oct($3), $4, $5, ($2 == "d" ? "-" : $6), $7 }' | sort
}
uw_view() {
	jq -r '[.path, .type, .mode, .uid, .gid,
		(if .type == "dir" then "-" else .size end), (.link // "")] | @tsv' "$1" | sort
}

# same_as_find DESC MERGED ROWSFILE
same_as_find() {
	if diff <(find_view "$2") <(uw_view "$3") >"$S/diff"; then
		pass "$1"
	else
		fail "$1: find (<) and upperwatch (>) differ:"
		head -n 40 "$S/diff" | sed 's/^/#   /' >&2
	fi
}

# same_content_classes DESC MERGED ROWSFILE: xxh128sum and upperwatch's
# keyed hash must split the merged regular files into the same classes.
same_content_classes() {
	local xx=$S/xx uh=$S/uh j
	(cd "$2" && find . -type f -print0 | xargs -0 -r xxh128sum 2>/dev/null) |
	    awk '{ p = $2; sub(/^\./, "", p); print p "\t" $1 }' | sort >"$xx"
	jq -r 'select(.type == "file") | [.path, (.hash // "none")] | @tsv' "$3" | sort >"$uh"
	j=$(join -t "$(printf '\t')" "$xx" "$uh" | awk -F'\t' '
		!($2 in a) { a[$2] = 1; na++ } !($3 in b) { b[$3] = 1; nb++ }
		!(($2 SUBSEP $3) in c) { c[$2, $3] = 1; nc++ }
		END { print NR, na + 0, nb + 0, nc + 0 }')
	set -- "$1" "$(wc -l <"$xx")" "$(wc -l <"$uh")" $j
	# lines: merged files, rows with type file, joined, classes xxh, uw, pairs
	if [ "$2" = "$3" ] && [ "$2" = "$4" ] && [ "$5" = "$6" ] && [ "$5" = "$7" ] && [ "$4" -gt 0 ]; then
		pass "$1 ($2 files, $5 distinct contents)"
	else
		fail "$1: files merged=$2 rows=$3 joined=${4:-?}; classes xxh128=${5:-?} upperwatch=${6:-?} pairs=${7:-?}"
	fi
}

# has_paths DESC ROWSFILE PATH...: each PATH has a row.
# lacks_paths DESC ROWSFILE PATH...: no PATH has a row, nor anything below.
has_paths() {
	local what=$1 f=$2 p miss=
	shift 2
	for p in "$@"; do
		# (jq 1.6's -e looks at the last input only: slurp)
		jq -se --arg p "$p" 'any(.[]; .path == $p)' "$f" >/dev/null 2>&1 || miss="$miss $p"
	done
	if [ -z "$miss" ]; then pass "$what"; else fail "$what: missing:$miss"; fi
}
lacks_paths() {
	local what=$1 f=$2 p extra=
	shift 2
	for p in "$@"; do
		extra="$extra$(jq -r --arg p "$p" 'select(.path == $p or (.path | startswith($p + "/"))) | " " + .path' "$f" 2>/dev/null | tr -d '\n')"
	done
	if [ -z "$extra" ]; then pass "$what"; else fail "$what: present:$extra"; fi
}

# field IMAGE PATH JQEXPR: one field of one row.
field() { jq -r --arg p "$2" "select(.path == \$p) | $3" "$S/rows.$1"; }

# children IMAGE DIR: names directly below DIR, sorted, space-separated.
children() {
	jq -r --arg d "$2" 'select(.path | startswith($d + "/")) | .path[($d | length) + 1:]
		| select(. != "" and (contains("/") | not))' "$S/rows.$1" | sort | tr '\n' ' ' | sed 's/ $//'
}

wh() { mknod "$1" c 0 0; }

# oracle_shape NAME X [MOUNT_OPTS]: layers $X/L1 (top) .. $X/L3, merged at
# $X/m.  Baselines the stack as image NAME and the mount as NAME-oracle,
# compares them and both against find.  Leaves the mount up (callers
# unmount); returns 1 when the oracle could not be mounted.
oracle_shape() {
	local name=$1 x=$2 opts=${3:-} layers=() l
	for l in "$x"/L[0-9]; do layers+=("$l"); done
	# A userxattr stack's opaque dirs and whiteouts are user.overlay.*
	# (a rootless snapshotter's): the baseline is told, as the oracle
	# mount is.
	local how=()
	case ,$opts, in *,userxattr,*) how=(--userxattr) ;; esac
	baseline "$name: stack of ${#layers[@]} layers" "$name" "${how[@]}" "${layers[@]}"
	rows "$name"
	contract "$name" "$S/rows.$name"
	summary_matches "$name" "$name"
	if ! mount_overlay "$(IFS=:; echo "${layers[*]}")" "" "" "$x/m" "ro${opts:+,$opts}"; then
		fail "$name: cannot mount the oracle overlay"
		return 1
	fi
	baseline "$name: oracle --rootfs of the overlay mount" "$name-oracle" --rootfs "$x/m"
	rows "$name-oracle"
	same_rows "$name: stack rows == overlay rows (same db)" "$S/rows.$name" "$S/rows.$name-oracle"
	same_as_find "$name: stack rows == find on the overlay" "$x/m" "$S/rows.$name"
	same_as_find "$name: --rootfs rows == find on the overlay" "$x/m" "$S/rows.$name-oracle"
	same_content_classes "$name: content classes match xxh128sum" "$x/m" "$S/rows.$name"
	return 0
}

# ---- (a) char-dev whiteouts, trusted opaque dirs, every kind of entry ----

A=$S/a
mkdir -p "$A"/L1 "$A"/L2 "$A"/L3
(
	set -e
	cd "$A/L3"
	mkdir -p etc usr/bin usr/lib var/cache/pkg opq/sub mopq lowonly/sub/deep \
	    fod/inner sl rewh home/user tmp run dev
	printf 'root:x:0:0:root:/root:/bin/sh\n' >etc/passwd
	echo v1 >etc/conf
	echo bye >etc/removeme
	: >etc/empty
	echo x >etc-x                         # sorts before /etc/... by bytes
	head -c 300000 /dev/urandom >usr/bin/tool
	chmod 755 usr/bin/tool
	cp -p usr/bin/tool usr/bin/tool-copy  # same content, other path
	head -c 5000000 /dev/urandom >usr/lib/big.bin
	echo lib >usr/lib/libx.so.1
	ln usr/lib/libx.so.1 usr/lib/libx-hard
	printf 'ELF' >usr/bin/suid
	chmod 4755 usr/bin/suid
	printf 'ping' >usr/bin/ping
	setcap cap_net_raw+ep usr/bin/ping
	mkfifo run/fifo
	mknod dev/null c 1 3
	ln -s /etc/shadow etc/shadowlink
	ln -s /usr/bin/tool usr/bin/abslink
	ln -s ../bin/tool usr/lib/rellink
	ln -s does/not/exist dangling
	echo a >var/cache/pkg/a
	echo b >var/cache/index
	echo o1 >opq/old1
	echo o3 >opq/sub/old3
	echo low >mopq/low
	echo deep >lowonly/sub/deep/file
	chown -R 10:20 lowonly
	chmod 750 lowonly
	echo was-a-file >dof
	echo inner >fod/inner/f
	echo sl >sl/f
	echo old >rewh/old
	echo a >refile
	ln -s /etc p                          # L2 and L1 put a dir over it
	echo secret >home/user/notes
	chown -R 1000:1000 home/user
	chmod 700 home/user
	chmod 600 home/user/notes
	chmod 1777 tmp
	wh bottomghost                        # whiteout of nothing, bottom layer

	cd "$A/L2"
	mkdir -p etc var opq mopq p
	echo mid >etc/midfile
	wh var/cache                          # whiteout of a dir with content
	echo mid >opq/mid1                    # hidden by L1's opaque opq
	setfattr -n trusted.overlay.opaque -v y mopq
	echo mid >mopq/mid
	ln -s /etc sd                         # L1 puts a dir over it
	wh rewh
	wh refile
	echo p2 >p/mid

	cd "$A/L1"
	mkdir -p etc opq mopq dof sd rewh p
	chmod 750 etc                         # dir metadata comes from the top
	echo v2 >etc/conf                     # file modified in an upper layer
	chmod 600 etc/conf
	chown 0:42 etc/conf
	wh etc/removeme                       # whiteout of a file
	setfattr -n trusted.overlay.opaque -v y opq
	echo n1 >opq/new1
	mkdir opq/newsub
	echo n2 >opq/newsub/n2
	echo top >mopq/top
	echo dir-now >dof/inside              # dir over a file
	echo file-now >fod                    # file over a dir
	echo sd >sd/f                         # dir over a symlink to /etc
	ln -s /etc sl                         # symlink over a dir
	echo new >rewh/new                    # dir over a whiteout
	echo b >refile                        # file over a whiteout
	wh rootghost                          # whiteout of nothing, top layer
	echo p1 >p/top
) || fail "(a): building the layers failed"

if oracle_shape a "$A"; then
	umount "$A/m" || fail "(a): umount"
fi
R=$S/rows.a
has_paths "(a) kept entries present" "$R" / /etc /etc/passwd /etc/conf /etc/empty \
    /etc/midfile /etc-x /usr/bin/tool /usr/bin/tool-copy /usr/lib/libx.so.1 \
    /usr/lib/libx-hard /usr/bin/suid /usr/bin/ping /run/fifo /dev/null \
    /etc/shadowlink /usr/bin/abslink /usr/lib/rellink /dangling /var \
    /opq/new1 /opq/newsub/n2 /mopq/top /mopq/mid /lowonly/sub/deep/file \
    /dof/inside /fod /sd/f /sl /rewh/new /refile /p/top /p/mid /home/user/notes
lacks_paths "(a) whited-out and hidden entries absent" "$R" /etc/removeme /var/cache \
    /opq/old1 /opq/sub /opq/mid1 /mopq/low /dof/inner /fod/inner /sl/f \
    /rewh/old /bottomghost /rootghost
expect_eq "(a) opaque dir holds only its own layer" "new1 newsub" "$(children a /opq)"
expect_eq "(a) opaque mid-layer dir: top + mid, not low" "mid top" "$(children a /mopq)"
expect_eq "(a) dir over a symlink to /etc lists only the layer's entries" "f" "$(children a /sd)"
expect_eq "(a) dir over a symlink in the bottom layer" "mid top" "$(children a /p)"
expect_eq "(a) modified file: top layer's metadata" "file 384 0 42 3" \
    "$(field a /etc/conf '"\(.type) \(.mode) \(.uid) \(.gid) \(.size)"')"
expect_eq "(a) merged dir takes the top layer's mode" 488 "$(field a /etc .mode)"
expect_eq "(a) lower-only dir keeps owner and mode" "dir 488 10 20" \
    "$(field a /lowonly '"\(.type) \(.mode) \(.uid) \(.gid)"')"
expect_eq "(a) setuid bit recorded" 2541 "$(field a /usr/bin/suid .mode)"
expect_eq "(a) sticky dir" 1023 "$(field a /tmp .mode)"
expect_eq "(a) file over dir" "file dir" "$(field a /fod .type) $(field a /dof .type)"
expect_eq "(a) symlink over dir" "symlink /etc" "$(field a /sl '"\(.type) \(.link)"')"
expect_eq "(a) links recorded, not followed" "/etc/shadow /usr/bin/tool ../bin/tool does/not/exist" \
    "$(field a /etc/shadowlink .link) $(field a /usr/bin/abslink .link) $(field a /usr/lib/rellink .link) $(field a /dangling .link)"
expect_eq "(a) fifo and device: no hash" "fifo null chardev null" \
    "$(field a /run/fifo '"\(.type) \(.hash)"') $(field a /dev/null '"\(.type) \(.hash)"')"
expect_eq "(a) caps == the layer's security.capability" \
    "$(getfattr --absolute-names -n security.capability -e hex "$A/L3/usr/bin/ping" 2>/dev/null | sed -n 's/^security.capability=0x//p')" \
    "$(field a /usr/bin/ping .caps)"
expect_eq "(a) only the setcap file has caps" "/usr/bin/ping" \
    "$(jq -r 'select(has("caps")) | .path' "$R" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "(a) hard link and original: same hash" "$(field a /usr/lib/libx.so.1 .hash)" \
    "$(field a /usr/lib/libx-hard .hash)"
expect_eq "(a) copy and original: same hash" "$(field a /usr/bin/tool .hash)" \
    "$(field a /usr/bin/tool-copy .hash)"
check "(a) different content: different hash" \
    test "$(field a /etc/conf .hash)" != "$(field a /etc/midfile .hash)"
check "(a) empty file hashed" test -n "$(field a /etc/empty .hash | grep -E '^[0-9a-f]{32}$')"
expect_eq "(a) nothing unstable" 0 "$(jq -c 'select(.unstable)' "$R" | wc -l)"

# Re-running on the unchanged stack: identical rows, byte for byte.
cp "$R" "$S/rows.a.first"
baseline "(a) re-run" a "$A/L1" "$A/L2" "$A/L3"
rows a
if cmp -s "$S/rows.a.first" "$S/rows.a"; then
	pass "(a) re-run on the unchanged stack: identical show --json"
else
	fail "(a) re-run changed the rows:"
	diff "$S/rows.a.first" "$S/rows.a" | head -n 20 | sed 's/^/#   /' >&2
fi
baseline "(a) re-run with --jobs 1" a --jobs 1 "$A/L1" "$A/L2" "$A/L3"
rows a
check "(a) --jobs 1 gives the same rows as the default" cmp -s "$S/rows.a.first" "$S/rows.a"

# One byte changed in a lower file (mtime and size kept): that file's hash
# changes, nothing else does.  The oracle is unmounted: changing a layer of
# a live overlay is undefined.
cp -p "$A/L3/usr/bin/tool" "$S/tool.orig"
printf 'Z' | dd of="$A/L3/usr/bin/tool" bs=1 seek=150000 conv=notrunc status=none
cmp -s "$S/tool.orig" "$A/L3/usr/bin/tool" || printf 'Y' |
    dd of="$A/L3/usr/bin/tool" bs=1 seek=150000 conv=notrunc status=none
touch -r "$S/tool.orig" "$A/L3/usr/bin/tool"
baseline "(a) after one changed byte" a "$A/L1" "$A/L2" "$A/L3"
rows a
comm -3 <(norm "$S/rows.a.first") <(norm "$R") >"$S/changed"
expect_eq "(a) one changed byte: exactly one row differs" \
    "/usr/bin/tool /usr/bin/tool" "$(jq -r .path "$S/changed" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "(a) one changed byte: only the hash differs" 1 \
    "$(jq -cS 'del(.hash)' "$S/changed" | sort -u | wc -l)"
check "(a) one changed byte: hash differs" \
    test "$(jq -r .hash "$S/changed" | sort -u | wc -l)" = 2

# ---- (b) trusted xattr whiteouts inside opaque=x dirs ---------------------
# The kernel (6.18 here) honours xattr whiteouts in lower layers; the script
# checks that first.  If it does not, the overlay is no oracle for them and
# upperwatch is only held to the documented semantics (the hand-written
# lists below).

B=$S/b
mkdir -p "$B"/L1 "$B"/L2 "$B"/L3
(
	set -e
	cd "$B/L3"
	mkdir -p xd/gonedir/sub
	echo gd >xd/gonedir/sub/f
	echo low >xd/low
	cd "$B/L2"
	mkdir -p xd
	echo old >xd/gone
	echo keep >xd/keep
	echo data >xd/notwh
	cd "$B/L1"
	mkdir -p xd
	for n in gone gonedir; do
		: >"xd/$n"
		setfattr -n trusted.overlay.whiteout -v "" "xd/$n"
	done
	echo "not a whiteout: not empty" >xd/notwh      # size > 0: a plain file
	setfattr -n trusted.overlay.whiteout -v "" xd/notwh
	: >xd/empty                                      # empty, no xattr
	echo new >xd/added
	setfattr -n trusted.overlay.opaque -v x xd       # x: not opaque, has xwhiteouts
) || fail "(b): building the layers failed"

kernel_xwh=0
mkdir -p "$S/probe"
if mount -t overlay overlay -o "ro,lowerdir=$B/L1:$B/L2:$B/L3" "$S/probe"; then
	[ -e "$S/probe/xd/gone" ] || [ -L "$S/probe/xd/gone" ] || kernel_xwh=1
	umount "$S/probe"
fi
if [ $kernel_xwh = 1 ]; then
	echo "# (b) the kernel honours trusted.overlay.whiteout: overlay used as oracle"
	oracle_shape b "$B" && { umount "$B/m" || fail "(b): umount"; }
else
	echo "# (b) the kernel does NOT honour trusted.overlay.whiteout: documented semantics only"
	baseline "(b) stack" b "$B/L1" "$B/L2" "$B/L3"
	rows b
	contract "(b)" "$S/rows.b"
fi
expect_eq "(b) opaque=x dir: xattr whiteouts hide file and dir, lower entries stay" \
    "added empty keep low notwh" "$(children b /xd)"
lacks_paths "(b) xattr-whited-out entries absent" "$S/rows.b" /xd/gone /xd/gonedir
expect_eq "(b) non-empty file with the whiteout xattr is a file" "file 26" \
    "$(field b /xd/notwh '"\(.type) \(.size)"')"

# ---- (c) user.overlay.* (rootless) forms, oracle mounted with userxattr ---

C=$S/c
mkdir -p "$C"/L1 "$C"/L2 "$C"/L3
(
	set -e
	cd "$C/L3"
	mkdir -p uo/sub ux chr
	echo o >uo/old
	echo s >uo/sub/s
	echo l >ux/low
	echo c >chr/gone
	cd "$C/L2"
	mkdir -p ux
	echo g >ux/gone
	echo k >ux/keep
	cd "$C/L1"
	mkdir -p uo ux chr
	setfattr -n user.overlay.opaque -v y uo
	echo n >uo/new
	: >ux/gone
	setfattr -n user.overlay.whiteout -v "" ux/gone
	echo a >ux/added
	setfattr -n user.overlay.opaque -v x ux
	wh chr/gone                                     # 0/0 works under userxattr
) || fail "(c): building the layers failed"
oracle_shape c "$C" userxattr && { umount "$C/m" || fail "(c): umount"; }
expect_eq "(c) user.overlay.opaque=y dir holds only its own layer" "new" "$(children c /uo)"
expect_eq "(c) user.overlay.whiteout in opaque=x dir" "added keep low" "$(children c /ux)"
lacks_paths "(c) hidden entries absent" "$S/rows.c" /uo/old /uo/sub /ux/gone /chr/gone

# ---- (d) OCI whiteout files: .wh.NAME and .wh..wh..opq --------------------
# The kernel does not know this form, so the oracle is a tree written by
# hand ($D/exp) from the same files, baselined with --rootfs into the same db.

D=$S/d
mkdir -p "$D"/L1 "$D"/L2 "$D"/L3 "$D"/exp
(
	set -e
	cd "$D/L3"
	mkdir -p etc opq/sub rmdir/b app/bin
	echo root >etc/passwd
	echo gone >etc/gone
	echo keep1 >etc/keep
	echo o1 >opq/o1
	echo o3 >opq/sub/o3
	echo a >rmdir/a
	echo c >rmdir/b/c
	echo run >app/bin/run
	chmod 755 app/bin/run
	ln -s /data app/data
	cd "$D/L2"
	mkdir -p etc opq app/bin
	: >etc/.wh.gone                     # removes etc/gone
	: >opq/.wh..wh..opq                 # opaque: hides opq/o1, opq/sub
	echo n1 >opq/n1                     # same layer as the marker: kept
	: >.wh.rmdir                        # removes a whole dir
	: >.wh.nonexistent                  # removes nothing
	echo new >app/bin/new
	echo v >etc/not.wh.hidden           # ".wh." not as a prefix: a file
	cd "$D/L1"
	mkdir -p etc opq rmdir app solo
	echo keep2 >etc/keep                # modified
	echo n2 >opq/n2                     # above the opaque layer: kept
	chmod 750 opq
	echo fresh >rmdir/fresh             # re-created after the removal
	: >app/.wh.data                     # removes a symlink
	: >solo/.wh..wh..opq                # opaque marker over nothing
	echo s >solo/s
	# the expected merged view
	cd "$D/exp"
	mkdir -p etc opq rmdir app/bin solo
	cp -a "$D/L3/etc/passwd" "$D/L2/etc/not.wh.hidden" "$D/L1/etc/keep" etc/
	cp -a "$D/L2/opq/n1" "$D/L1/opq/n2" opq/
	cp -a "$D/L1/rmdir/fresh" rmdir/
	cp -a "$D/L3/app/bin/run" "$D/L2/app/bin/new" app/bin/
	cp -a "$D/L1/solo/s" solo/
	chmod 750 opq
) || fail "(d): building the layers failed"
baseline "(d) .wh. stack" d "$D/L1" "$D/L2" "$D/L3"
rows d
contract "(d)" "$S/rows.d"
summary_matches "(d)" d
baseline "(d) hand-built expected tree" d-expected --rootfs "$D/exp"
rows d-expected
expect_eq "(d) path set" \
    "/ /app /app/bin /app/bin/new /app/bin/run /etc /etc/keep /etc/not.wh.hidden /etc/passwd /opq /opq/n1 /opq/n2 /rmdir /rmdir/fresh /solo /solo/s" \
    "$(jq -r .path "$S/rows.d" | tr '\n' ' ' | sed 's/ $//')"
same_rows "(d) stack rows == hand-built tree rows (same db)" "$S/rows.d" "$S/rows.d-expected"
expect_eq "(d) no .wh. entry recorded" "" \
    "$(jq -r 'select(.path | test("/\\.wh\\.")) | .path' "$S/rows.d")"

# ---- (e) whiteouts in a dir present in one layer only ---------------------
# A dir that exists in a single layer is not merged: overlayfs's readdir
# lists a stray whiteout in it, but lookup says ENOENT.  The merged view
# (what a container can open) has no such entry.  The --rootfs walk of the
# mount meets an entry that vanishes between readdir and lstat, like a file
# deleted during a scan of a live tree: it must skip it, not fail.

E=$S/e
mkdir -p "$E"/L1/only1 "$E"/L2/only2 "$E"/L2/both "$E"/L1/both
(
	set -e
	wh "$E/L1/only1/ghost"
	echo r >"$E/L1/only1/real"
	wh "$E/L2/only2/ghost2"
	echo r >"$E/L2/only2/real2"
	echo k >"$E/L2/both/keep"
	wh "$E/L1/both/ghost3"
) || fail "(e): building the layers failed"
baseline "(e) stack" e "$E/L1" "$E/L2"
rows e
lacks_paths "(e) stray whiteouts in single-layer dirs not recorded" "$S/rows.e" \
    /only1/ghost /only2/ghost2 /both/ghost3
has_paths "(e) their siblings recorded" "$S/rows.e" /only1/real /only2/real2 /both/keep
if mount_overlay "$E/L1:$E/L2" "" "" "$E/m" ro; then
	baseline "(e) --rootfs of a mount whose readdir lists vanished entries" e-oracle --rootfs "$E/m"
	rows e-oracle
	same_rows "(e) stack rows == overlay rows" "$S/rows.e" "$S/rows.e-oracle"
	same_as_find "(e) stack rows == find on the overlay" "$E/m" "$S/rows.e"
	umount "$E/m" || fail "(e): umount"
else
	fail "(e): cannot mount the oracle overlay"
fi

# ---- (f) overlay xattrs on a layer's root dir ---------------------------------
# Observed on 6.18: overlayfs ignores overlay.opaque=y on a lower layer's
# root (the lower layers' entries stay visible) but honours xattr whiteouts
# in a root marked opaque=x.  The mount is the oracle for both.

F1=$S/f1
mkdir -p "$F1"/L1 "$F1"/L2
echo top >"$F1/L1/top"
echo low >"$F1/L2/low"
setfattr -n trusted.overlay.opaque -v y "$F1/L1"
oracle_shape f1 "$F1" && { umount "$F1/m" || fail "(f1): umount"; }
has_paths "(f1) root opaque=y on a layer root hides nothing (as overlayfs)" "$S/rows.f1" /top /low

F2=$S/f2
mkdir -p "$F2"/L1 "$F2"/L2
echo top >"$F2/L1/top"
echo low >"$F2/L2/low"
echo gone >"$F2/L2/gone"
: >"$F2/L1/gone"
setfattr -n trusted.overlay.whiteout -v "" "$F2/L1/gone"
setfattr -n trusted.overlay.opaque -v x "$F2/L1"
oracle_shape f2 "$F2" && { umount "$F2/m" || fail "(f2): umount"; }
expect_eq "(f2) xattr whiteout in a layer root marked opaque=x" "low top" "$(children f2 '')"

finish
