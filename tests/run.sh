#!/bin/bash
# The whole test suite: installs what it needs, builds upperwatch twice
# (plain at -O3, and with AddressSanitizer + UBSan), runs every test in both
# builds and ends with one line "N passed, N failed, N skipped".
# Tests that need root skip without it, unless
# UPPERWATCH_REQUIRE_ROOT_TESTS=1 makes every skip a failure.
set -u
cd "$(dirname "$0")/.."

contrib/install-deps.sh --test || exit 1

passed=0 failed=0 skipped=0
count() {
	grep -c "\"result\": \"$1\"" "$2" || true
}
for variant in plain sanitize; do
	dir=build
	# -O3, as release builds (the sidecar image) compile: some warnings,
	# fatal under -Werror, only show there.
	opts=(-Doptimization=3)
	if [ $variant = sanitize ]; then
		dir=build-sanitize
		opts=(-Db_sanitize=address,undefined -Db_lundef=false)
	fi
	if ! contrib/build.sh "$dir" "${opts[@]}"; then
		echo "build ($variant) failed" >&2
		failed=$((failed + 1))
		continue
	fi
	echo "== tests, $variant build"
	log=$dir/meson-logs/testlog.json
	rm -f "$log"
	# one line per test, and the failed checks of a failed test
	meson test -C "$dir" --print-errorlogs --num-processes 2 |
		grep -E '^ *[0-9]+/[0-9]+ |^not ok |^ERROR: |runtime error:'
	if [ ! -s "$log" ]; then
		# meson could not even run the tests (a rebuild failed)
		echo "meson test ($variant) ran no test" >&2
		failed=$((failed + 1))
		continue
	fi
	passed=$((passed + $(count OK "$log") + $(count EXPECTEDFAIL "$log")))
	failed=$((failed + $(count FAIL "$log") + $(count ERROR "$log") + \
		$(count TIMEOUT "$log") + $(count UNEXPECTEDPASS "$log")))
	skipped=$((skipped + $(count SKIP "$log")))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
