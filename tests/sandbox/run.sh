#!/bin/bash
# Every file here is a policy that tries to escape the sandbox or its
# limits.  Each must fail in its named way ("-- expect:" in its first
# lines, or FILE.expect), at load or at evaluation ("-- at:"), and in the
# second case the daemon's engine must go on judging correctly: each
# hostile policy runs, first, beside a well-behaved one (support/good.lua)
# through `upperwatch policy test`, with a case for the event that
# triggers it (medium/alert from the failure, never pause or kill), one
# that the neighbour saw that same event as it is (nothing the hostile
# policy did changed it), and one for the next event.
#
# "-- at: allowed" marks a control: what the attacks beside it abuse,
# used as intended (reading the event with pairs, sorting a table of
# one's own...).  It must not fail: its verdict, low/log, says what it
# found, and "-- expect:" is a substring of that.
#
# Load failures must be one line (the message names the file).
. "$(dirname "$0")/../integration/lib.sh"
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DIR=$SRC/tests/sandbox

meta() { # meta FILE KEY
	if [ -f "$1.expect" ]; then
		sed -n "s/^$2: //p" "$1.expect"
	else
		head -3 "$1" | sed -n "s/^-- $2: //p"
	fi
}

# The trigger event: labels a policy could pass off as a verdict
# (critical/kill) if verdicts were read through metamethods.
TRIGGER='{ op = "added", path = "/trigger", current = { mode = "0755" },
	    time = 1765000000123456789, id = 42,
	    container = { id = "case", labels = { tier = "prod",
	      severity = "critical", action = "kill",
	      reason = "labels passed off as a verdict" } } }'
SAW="good saw /trigger: added, mode 493, container case, tier prod"

# write_cases FILE NAME EXPECT AT: the three cases for policy NAME.
write_cases() {
	local first
	if [ "$4" = allowed ]; then
		first="expect = { severity = \"low\", action = \"log\", policy = \"$2\",
	             reason = [==[$3]==] }"
	else
		first="expect = { severity = \"medium\", action = \"alert\", policy = \"$2\",
	             reason = [==[$3]==], failed = true }"
	fi
	cat >"$1" <<CASES
return {
	{ name = "$2: the hostile policy fails in its named way",
	  event = $TRIGGER,
	  $first },
	{ name = "$2: its neighbour saw the same event as it is",
	  event = $TRIGGER,
	  expect = { policy = "good", reason = [==[$SAW]==],
	             failed = $([ "$4" = allowed ] && echo false || echo true) } },
	{ name = "$2: the next event is judged as usual",
	  event = { op = "added", path = "/next" },
	  expect = { severity = "low", action = "log", policy = "good",
	             reason = "good saw /next" } },
}
CASES
}

for f in "$DIR"/*.lua; do
	name=$(basename "$f" .lua)
	expect=$(meta "$f" expect)
	at=$(meta "$f" at)
	if [ -z "$expect" ] || [ -z "$at" ]; then
		fail "$name: no expect/at header"
		continue
	fi
	mkdir -p "$S/$name/policies"
	# "00-": policies run in file name order; the hostile one first.
	cp "$f" "$S/$name/policies/00-$name.lua"
	cp "$DIR/support/good.lua" "$S/$name/policies/"
	if [ "$at" = load ]; then
		out=$(timeout 60 "$UPPERWATCH" policy check "$S/$name/policies" 2>&1)
		rc=$?
		if [ $rc = 2 ] && [[ $out == *"$expect"* ]] &&
		    [ "$(wc -l <<<"$out")" = 1 ]; then
			pass "$name: refused at load: $expect"
		else
			fail "$name: expected a one-line load failure with '$expect', got $rc: $out"
		fi
		continue
	fi
	write_cases "$S/$name/cases.lua" "$name" "$expect" "$at"
	out=$(timeout 60 "$UPPERWATCH" policy test "$S/$name/policies" \
		--cases "$S/$name/cases.lua" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		if [ "$at" = allowed ]; then
			pass "$name: allowed, and says '$expect'; the neighbour saw the event as it is"
		else
			pass "$name: fails with '$expect'; the neighbour saw the event as it is; the next event is judged"
		fi
	else
		fail "$name: exit $rc: $out"
	fi
done

# The runner is no rubber stamp: a harmless policy passed off as an
# attack, a policy that does change what its neighbour sees (in a set of
# its own, where that is its own table), and a verdict read through
# labels, are each reported.
mkdir -p "$S/control/harmless" "$S/control/liar"
cp "$DIR/support/good.lua" "$S/control/harmless/"
cat >"$S/control/harmless/00-harmless.lua" <<'LUA'
return { name = "harmless", description = "fails at nothing",
	evaluate = function(ev) return nil end }
LUA
write_cases "$S/control/harmless.lua" harmless "the event is read-only" evaluate
out=$(timeout 60 "$UPPERWATCH" policy test "$S/control/harmless" \
	--cases "$S/control/harmless.lua" 2>&1)
expect_eq "control: a policy that does not fail fails the runner" 1 $?
check "control: and the case that says so is the first" \
	grep -q '^not ok 1 - harmless: the hostile policy fails' <<<"$out"
# good.lua with another view of the event: as if a policy had changed it
sed 's/ev.path, ev.op/"\/tmp\/x", ev.op/' "$DIR/support/good.lua" \
	>"$S/control/liar/good.lua"
cp "$DIR/return-os.lua" "$S/control/liar/00-return-os.lua"
write_cases "$S/control/liar.lua" return-os "malformed verdict" evaluate
out=$(timeout 60 "$UPPERWATCH" policy test "$S/control/liar" \
	--cases "$S/control/liar.lua" 2>&1)
expect_eq "control: a neighbour that saw another path fails the runner" 1 $?
check "control: and the case that says so is the second" \
	grep -q '^not ok 2 - return-os: its neighbour saw' <<<"$out"

# The trigger's labels are a real trap: read as a verdict through the
# view (what verdict-from-labels.lua tries by returning the view), they
# ask for critical/kill.
mkdir -p "$S/control/labels"
cp "$DIR/support/good.lua" "$S/control/labels/"
cat >"$S/control/labels/00-labels.lua" <<'LUA'
local uw = require("upperwatch")
return { name = "labels", description = "a verdict from the labels",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local l = ev.container.labels
		return uw.verdict(l.severity, l.action, l.reason)
	end }
LUA
write_cases "$S/control/labels.lua" labels "malformed verdict" evaluate
out=$(timeout 60 "$UPPERWATCH" policy test "$S/control/labels" \
	--cases "$S/control/labels.lua" 2>&1)
expect_eq "control: the trigger's labels, read as a verdict, fail the runner" 1 $?
check "control: as critical/kill" \
	grep -q 'expected medium/alert, got critical/kill' <<<"$out"

check "nothing escaped to the host" test ! -e /tmp/uw-pwned
finish
