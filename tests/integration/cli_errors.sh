#!/bin/bash
# Bad input from users gets one line on stderr, naming the file, and a
# non-zero exit; nothing already recorded is lost.
. "$(dirname "$0")/lib.sh"

# expect_error DESCRIPTION EXIT_CODE EXPECTED_STDERR COMMAND...
expect_error() {
	local what=$1 code=$2 line=$3 got rc
	shift 3
	got=$("$@" 2>&1 >/dev/null)
	rc=$?
	expect_eq "$what: exit status" "$code" "$rc"
	expect_eq "$what: message" "$line" "$got"
}

mkdir -p "$S/layer/etc"
echo root > "$S/layer/etc/passwd"
U=$UPPERWATCH

# A file that is not a database.
echo "just text" > "$S/text.db"
expect_error "not a database" 2 \
	"upperwatch: $S/text.db: not an upperwatch database (not a SQLite file)" \
	"$U" --db "$S/text.db" baseline --image x --rootfs "$S/layer"
expect_eq "the text file is left as it was" "just text" "$(cat "$S/text.db")"

# Another program's SQLite file.
sqlite3 "$S/foreign.db" "create table t(x)"
expect_error "foreign SQLite" 2 \
	"upperwatch: $S/foreign.db: not an upperwatch database (a SQLite file of another program)" \
	"$U" --db "$S/foreign.db" images

# A schema newer than the binary.
"$U" --db "$S/uw.db" baseline --image keep --rootfs "$S/layer" >/dev/null
V=$(sqlite3 "$S/uw.db" "pragma user_version")
sqlite3 "$S/uw.db" "pragma user_version=42"
expect_error "newer schema" 2 \
	"upperwatch: $S/uw.db: database schema version 42 is newer than this upperwatch supports ($V); upgrade upperwatch" \
	"$U" --db "$S/uw.db" images
sqlite3 "$S/uw.db" "pragma user_version=$V"
check "the baseline is still readable after" \
	"$U" --db "$S/uw.db" show --image keep /etc/passwd

# A missing directory.
expect_error "missing directory" 2 \
	"upperwatch: $S/nope/uw.db: directory $S/nope: No such file or directory" \
	"$U" --db "$S/nope/uw.db" baseline --image x --rootfs "$S/layer"
check "nothing was created" test ! -e "$S/nope"

# Reading a database that does not exist.
expect_error "missing database" 2 \
	"upperwatch: $S/absent.db: no database here (build a baseline first)" \
	"$U" --db "$S/absent.db" images

# Usage errors.
expect_error "no image" 2 \
	"upperwatch baseline: --image REF is required (see 'upperwatch baseline --help')" \
	"$U" --db "$S/uw.db" baseline "$S/layer"
expect_error "rootfs and layers" 2 \
	"upperwatch baseline: give --rootfs DIR or layers, not both (see 'upperwatch baseline --help')" \
	"$U" --db "$S/uw.db" baseline --image x --rootfs "$S/layer" "$S/layer"
expect_error "bad jobs" 2 \
	"upperwatch baseline: --jobs takes a number from 1 to 256, not 'lots' (see 'upperwatch baseline --help')" \
	"$U" --db "$S/uw.db" baseline --image x --jobs lots "$S/layer"
expect_error "missing layer" 2 \
	"upperwatch: $S/nolayer: No such file or directory" \
	"$U" --db "$S/uw.db" baseline --image x "$S/nolayer"
expect_error "unknown command" 2 \
	"upperwatch: unknown command 'frobnicate' (see 'upperwatch --help')" \
	"$U" frobnicate
expect_error "relative path" 2 \
	"upperwatch show: 'etc/passwd' is not an absolute container path (see 'upperwatch show --help')" \
	"$U" --db "$S/uw.db" show --image keep etc/passwd
expect_error "unknown image" 1 \
	"upperwatch: no baseline for image nosuch" \
	"$U" --db "$S/uw.db" show --image nosuch
expect_error "unknown path" 1 \
	"upperwatch: /etc/shadow: not in the baseline of keep" \
	"$U" --db "$S/uw.db" show --image keep /etc/shadow

# Every command answers --help with its synopsis.
for c in containers baseline images show diff forget; do
	out=$("$U" "$c" --help)
	check "$c --help works" test $? -eq 0
	case $out in
	"usage: upperwatch [--db PATH] $c "*) pass "$c --help shows its synopsis" ;;
	*) fail "$c --help shows its synopsis: $out" ;;
	esac
done

# A read-only directory (a read-only mount: root ignores mode bits).
require_root
mkdir -p "$S/ro"
mount -t tmpfs -o ro,size=1m tmpfs "$S/ro" && cleanup_push "umount '$S/ro'"
expect_error "read-only directory" 2 \
	"upperwatch: $S/ro/uw.db: cannot write the database: Read-only file system" \
	"$U" --db "$S/ro/uw.db" baseline --image x --rootfs "$S/layer"

# Ctrl-C during a build keeps the previous baseline whole.
for i in $(seq 3000); do echo "$i" > "$S/layer/etc/f$i"; done
"$U" --db "$S/int.db" baseline --image big --rootfs "$S/layer" >/dev/null
# Without CAP_SYS_ADMIN the kernel hides trusted.* xattrs without an
# error: diff, a baseline of layers and the watcher say so; with it, not.
W="WARNING: no CAP_SYS_ADMIN in the initial user namespace"
NOCAP=(setpriv --bounding-set=-sys_admin --)
mkdir -p "$S/capupper"
"$U" --db "$S/cap.db" baseline --image cap "$S/layer" >/dev/null 2>"$S/cap.err"
check "with CAP_SYS_ADMIN: no warning from baseline" sh -c "! grep -q '$W' '$S/cap.err'"
"$U" --db "$S/cap.db" diff --image cap "$S/capupper" >/dev/null 2>"$S/cap.err"
check "with CAP_SYS_ADMIN: no warning from diff" sh -c "! grep -q '$W' '$S/cap.err'"
"${NOCAP[@]}" "$U" --db "$S/cap.db" baseline --image cap "$S/layer" >/dev/null 2>"$S/cap.err"
check "without CAP_SYS_ADMIN: baseline of layers warns" grep -q "^upperwatch: $W" "$S/cap.err"
"${NOCAP[@]}" "$U" --db "$S/cap.db" baseline --image cap2 --rootfs "$S/layer" >/dev/null 2>"$S/cap.err"
check "but not a baseline of a plain rootfs" sh -c "! grep -q '$W' '$S/cap.err'"
"${NOCAP[@]}" "$U" --db "$S/cap.db" diff --image cap "$S/capupper" >/dev/null 2>"$S/cap.err"
check "without CAP_SYS_ADMIN: diff warns" grep -q "^upperwatch: $W" "$S/cap.err"
# setpriv execs upperwatch: $! is the daemon itself
"${NOCAP[@]}" "$U" --db "$S/cap.db" watch --upper "$S/capupper" --image cap --no-policy \
	--output "$S/capw.out" 2>"$S/capw.err" &
capw=$!
cleanup_push "stop_bg $capw KILL"
check "without CAP_SYS_ADMIN: watch warns" wait_until 10 grep -q "upperwatch: $W" "$S/capw.err"
stop_bg "$capw"
expect_eq "and stops on SIGTERM" 0 "$BG_STATUS"

before=$("$U" --db "$S/int.db" show --image big --json | md5sum)
for i in $(seq 3001 60000); do echo "$i"; done | (cd "$S/layer/etc" && xargs touch)
"$U" --db "$S/int.db" baseline --jobs 1 --image big --rootfs "$S/layer" >/dev/null 2>"$S/int.err" &
pid=$!
sleep 0.3
kill -INT $pid
wait $pid
rc=$?
if [ $rc = 0 ]; then
	pass "interrupt: the build finished before the signal (nothing to check)"
else
	expect_eq "interrupt: exit status" 130 "$rc"
	expect_eq "interrupt: message" \
		"upperwatch: interrupted; the previous baseline is kept" \
		"$(cat "$S/int.err")"
	expect_eq "interrupt: the old baseline is whole" "$before" \
		"$("$U" --db "$S/int.db" show --image big --json | md5sum)"
fi

finish
