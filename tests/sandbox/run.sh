#!/bin/bash
# Every file here is a policy that tries to escape the sandbox or its
# limits.  Each must fail in its named way ("-- expect:" in its first
# lines, or FILE.expect), at load or at evaluation ("-- at:"), and in the
# second case the daemon's engine must go on judging the next event
# correctly: each hostile policy runs beside a well-behaved one, through
# `upperwatch policy test`, with a case for the event that triggers it
# (medium/alert from the failure, never pause or kill) and one for the
# next event.
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

for f in "$DIR"/*.lua; do
	name=$(basename "$f" .lua)
	expect=$(meta "$f" expect)
	at=$(meta "$f" at)
	if [ -z "$expect" ] || [ -z "$at" ]; then
		fail "$name: no expect/at header"
		continue
	fi
	mkdir -p "$S/$name/policies"
	cp "$f" "$S/$name/policies/"
	cp "$DIR/support/good.lua" "$S/$name/policies/"
	if [ "$at" = load ]; then
		out=$(timeout 60 "$UPPERWATCH" policy check "$S/$name/policies" 2>&1)
		rc=$?
		if [ $rc = 2 ] && [[ $out == *"$expect"* ]]; then
			pass "$name: refused at load: $expect"
		else
			fail "$name: expected a load failure with '$expect', got $rc: $out"
		fi
		continue
	fi
	# The expected message, as a Lua long string.
	cat >"$S/$name/cases.lua" <<CASES
return {
	{ name = "$name: the hostile policy fails in its named way",
	  event = { op = "added", path = "/trigger", current = { mode = "0755" } },
	  expect = { severity = "medium", action = "alert", policy = "$name",
	             reason = [==[$expect]==], failed = true } },
	{ name = "$name: the next event is judged as usual",
	  event = { op = "added", path = "/next" },
	  expect = { severity = "low", action = "log", policy = "good",
	             reason = "good saw /next" } },
}
CASES
	out=$(timeout 60 "$UPPERWATCH" policy test "$S/$name/policies" \
		--cases "$S/$name/cases.lua" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		pass "$name: fails with '$expect'; the next event is judged"
	else
		fail "$name: exit $rc: $out"
	fi
done
check "nothing escaped to the host" test ! -e /tmp/uw-pwned
finish
