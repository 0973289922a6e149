#!/bin/bash
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for a
# short while on its seed corpus.  A crash, leak or sanitizer report fails
# the test.  FUZZ_SECONDS sets the time per target (default 20).
. "$(dirname "$0")/../integration/lib.sh"
require_cmd clang
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SECONDS_PER=${FUZZ_SECONDS:-20}

for target in mountinfo; do
	bin=$S/fuzz_$target
	if ! clang -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -D_GNU_SOURCE -std=c11 \
		-I"$SRC/src" -I"$SRC" -I"$(dirname "$UPPERWATCH")" \
		"$SRC/tests/fuzz/fuzz_$target.c" "$SRC/src/$target.c" \
		-o "$bin" 2>"$S/cc.log"; then
		cat "$S/cc.log" >&2
		skip "clang cannot build libFuzzer targets here"
	fi
	mkdir -p "$S/corpus"
	cp "$SRC/tests/fuzz/corpus-$target"/* "$S/corpus/"
	if "$bin" -max_total_time="$SECONDS_PER" -max_len=4096 \
		-print_final_stats=1 "$S/corpus" >"$S/fuzz.log" 2>&1; then
		pass "fuzz $target: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$S/fuzz.log" | awk '{print $2}') inputs, no crash"
	else
		tail -40 "$S/fuzz.log" >&2
		fail "fuzz $target found a crash"
	fi
done
finish
