#!/bin/bash
# The shipped policies' own cases, through `upperwatch policy test` (the
# production loader and sandbox): the default set with its cases, and
# each example on its own with its cases.  Also `policy check` on them.
. "$(dirname "$0")/../integration/lib.sh"
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}

run_cases() { # run_cases NAME POLICY_PATH CASES_PATH
	local out rc
	out=$("$UPPERWATCH" policy test "$2" --cases "$3" 2>&1)
	rc=$?
	if [ $rc = 0 ] && ! grep -q '^not ok' <<<"$out" &&
		grep -q '^1\.\.[1-9]' <<<"$out"; then
		pass "$1: $(grep -c '^ok' <<<"$out") cases pass"
	else
		fail "$1: exit $rc"
		echo "$out" >&2
	fi
}

check "policy check: the default set" \
	"$UPPERWATCH" policy check "$SRC/policies/default"
check "policy check: the examples" \
	"$UPPERWATCH" policy check "$SRC/policies/examples"
run_cases "default set" "$SRC/policies/default" "$SRC/tests/policy/default"
for p in "$SRC"/policies/examples/*.lua; do
	n=$(basename "$p" .lua)
	run_cases "example $n" "$p" "$SRC/tests/policy/examples/$n.lua"
done

# A failing case is reported as such (the runner is not a rubber stamp).
cat >"$S/wrong.lua" <<'CASES'
return {
	{ name = "deliberately wrong", event = { op = "added", path = "/x" },
	  expect = { severity = "critical", action = "kill" } },
}
CASES
out=$("$UPPERWATCH" policy test "$SRC/policies/default" --cases "$S/wrong.lua")
expect_eq "a wrong expectation fails the run" 1 $?
case $out in
*"not ok 1 - deliberately wrong"*"expected critical/kill, got low/log"*)
	pass "and says what differs" ;;
*) fail "the failure is explained: $out" ;;
esac

# Events share a container's view while its fields are the same: a case
# with the same id but other labels or name must see its own.
mkdir -p "$S/tier"
cat >"$S/tier/tier.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "tier", description = "prod is alert",
	evaluate = function(ev)
		if ev.container.labels.tier == "prod" then
			return uw.verdict("high", "alert", ev.container.name)
		end
		return uw.verdict("low", "log", ev.container.name)
	end,
}
POLICY
cat >"$S/tier-cases.lua" <<'CASES'
return {
	{ name = "prod", event = { op = "added", path = "/a",
	    container = { id = "c1", name = "n1", labels = { tier = "prod" } } },
	  expect = { severity = "high", action = "alert" } },
	{ name = "same id, dev", event = { op = "added", path = "/a",
	    container = { id = "c1", name = "n1", labels = { tier = "dev" } } },
	  expect = { severity = "low", action = "log" } },
	{ name = "prod again", event = { op = "added", path = "/b",
	    container = { id = "c1", name = "n1", labels = { tier = "prod" } } },
	  expect = { severity = "high", action = "alert" } },
	{ name = "no labels", event = { op = "added", path = "/b",
	    container = { id = "c1", name = "n1" } },
	  expect = { severity = "low", action = "log" } },
}
CASES
run_cases "a container's fields, not its id, make its view" "$S/tier" \
	"$S/tier-cases.lua"

# A broken policy does not load, with file:line.
mkdir -p "$S/broken"
printf 'return {\n  name = "b", description = "d",\n  evaluate = function(ev)\n    return uw.verdict(\n  end,\n}\n' >"$S/broken/b.lua"
out=$("$UPPERWATCH" policy check "$S/broken" 2>&1)
expect_eq "a syntax error fails policy check" 2 $?
case $out in
"upperwatch: $S/broken/b.lua:5:"*) pass "with file:line" ;;
*) fail "with file:line: $out" ;;
esac
finish
