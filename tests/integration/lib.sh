# Shared helpers for upperwatch's shell tests.  Source it, do not run it.
#
# Every test gets a scratch dir in $S, removed on exit together with
# whatever the test registered through `cleanup_push`.  Cleanup runs in
# reverse order, even when the test fails half-way.

set -u

UPPERWATCH=${UPPERWATCH:-$(cd "$(dirname "$0")/../.." && pwd)/build/upperwatch}
TEST_NAME=$(basename "$0" .sh)
_cleanup_cmds=()
_failures=0

cleanup_push() { _cleanup_cmds+=("$*"); }

_run_cleanup() {
	local i
	for ((i = ${#_cleanup_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_cmds[$i]}" >/dev/null 2>&1 || true
	done
	[ -n "${S:-}" ] && [ -d "$S" ] && rm -rf "$S"
}
trap _run_cleanup EXIT
trap 'exit 130' INT TERM

S=$(mktemp -d "${TMPDIR:-/tmp}/uw-$TEST_NAME.XXXXXX")

# skip REASON: exit 77 (meson's "skipped"), or fail when the suite was
# told that nothing may be skipped.
skip() {
	if [ "${UPPERWATCH_REQUIRE_ROOT_TESTS:-0}" = 1 ]; then
		echo "FAIL: $TEST_NAME would skip ($*), but UPPERWATCH_REQUIRE_ROOT_TESTS=1" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

fail() {
	echo "not ok - $*" >&2
	_failures=$((_failures + 1))
}

pass() { echo "ok - $*"; }

# check DESCRIPTION COMMAND...: run COMMAND, record pass or fail.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1: expected [$2], got [$3]"
	fi
}

# mount_overlay LOWERS UPPER WORK MERGED [EXTRA_OPTS]: mount and register
# the unmount.
mount_overlay() {
	local opts="lowerdir=$1"
	[ -n "$2" ] && opts="$opts,upperdir=$2,workdir=$3"
	[ -n "${5:-}" ] && opts="$opts,$5"
	mkdir -p "$4"
	mount -t overlay overlay -o "$opts" "$4" || return 1
	cleanup_push "umount -l '$4'"
}

finish() {
	if [ "$_failures" -gt 0 ]; then
		echo "$TEST_NAME: $_failures check(s) failed" >&2
		exit 1
	fi
	exit 0
}
