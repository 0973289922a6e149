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

# More containers than views are kept (32), then the first ones again:
# each event sees its own container's view, whether kept, dropped when
# the cache started over, or built again.
{
	echo "return {"
	for round in 1 2; do
		for i in $(seq 1 40); do
			echo "	{ name = \"round $round c$i\", event = { op = \"added\", path = \"/a\","
			echo "	    container = { id = \"c$i\", name = \"n$i\", labels = { tier = \"$([ $((i % 3)) = 0 ] && echo prod || echo dev)\" } } },"
			echo "	  expect = { severity = \"$([ $((i % 3)) = 0 ] && echo high || echo low)\", reason = \"n$i\" } },"
		done
	done
	echo "}"
} >"$S/many-cases.lua"
run_cases "more containers than views kept: each sees its own" "$S/tier" \
	"$S/many-cases.lua"

# Op "error": policies see ev.error (and only on such events), match.ops
# takes "error", and case files give the reason in "error".
mkdir -p "$S/errset"
cat >"$S/errset/errors.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "errors", description = "sees only error events",
	match = { ops = { "error" } },
	evaluate = function(ev)
		return uw.verdict("high", "alert", string.format(
			"errors saw %s (%s, current %s)", ev.error, ev.type,
			tostring(ev.current)))
	end,
}
POLICY
cat >"$S/errset/fields.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "fields", description = "says what it saw",
	evaluate = function(ev)
		return uw.verdict("low", "log", string.format("op %s error %s",
			ev.op, tostring(ev.error)))
	end,
}
POLICY
cat >"$S/errset-cases.lua" <<'CASES'
return {
	{ name = "an error event reaches match.ops error",
	  event = { op = "error", path = "/a", error = "it changed while it was read" },
	  expect = { severity = "high", action = "alert", policy = "errors",
	             reason = "errors saw it changed while it was read (file, current nil)" } },
	{ name = "and carries ev.error",
	  event = { op = "error", path = "/a", error = "too deep" },
	  expect = { policy = "fields", reason = "op error error too deep" } },
	{ name = "an added event: no ev.error, and match.ops error keeps it out",
	  event = { op = "added", path = "/a" },
	  expect = { severity = "low", action = "log", policy = "fields",
	             reason = "op added error nil" } },
}
CASES
run_cases "op error: ev.error and match.ops" "$S/errset" "$S/errset-cases.lua"

# An event's records, time and id are made when a policy first reads
# them, from a copy taken when it was judged: one kept unread and read at
# the next event is still itself (fields, records, process, walk),
# though the engine's event is gone and the next one is in its place.
mkdir -p "$S/keeper"
cat >"$S/keeper/keeper.lua" <<'POLICY'
local uw = require("upperwatch")
local kept
return {
	name = "keeper", description = "reads last event's, kept unread",
	evaluate = function(ev)
		local was = kept
		kept = ev
		if was == nil then
			return uw.verdict("low", "log", "first")
		end
		local walked = {}
		for k in pairs(was) do
			walked[#walked + 1] = k
		end
		return uw.verdict("low", "log", string.format(
			"%s %s %s %s %s %s %s %s %s %s | %s", was.op, was.path,
			was.type, was.layer, was.container.id,
			was.process and was.process.comm,
			tostring(was.error),
			tostring(was.current and was.current.mode),
			tostring(was.time), tostring(was.id),
			table.concat(walked, " ")))
	end,
}
POLICY
cat >"$S/keeper-cases.lua" <<'CASES'
return {
	{ name = "kept unread",
	  event = { op = "added", path = "/kept/first", current = { mode = "0755" },
	    container = { id = "c-first" }, process = { pid = 7, comm = "sh" },
	    time = 11, id = 12 },
	  expect = { reason = "first" } },
	{ name = "the kept event, read one event later",
	  event = { op = "error", path = "/second", error = "too deep",
	    container = { id = "c-second" }, process = { pid = 8, comm = "cat" },
	    time = 21, id = 22 },
	  expect = { reason = "added /kept/first file upper c-first sh nil 493 11 12 | op path type current layer container process time id" } },
	{ name = "and the next",
	  event = { op = "deleted", path = "/third" },
	  expect = { reason = "error /second file upper c-second cat too deep nil 21 22 | op path type error layer container process time id" } },
}
CASES
run_cases "an event kept unread reads as itself later" "$S/keeper" \
	"$S/keeper-cases.lua"

# match.types, match.current and match.package_check keep events away in
# C: each policy below says it saw the event, so a case's top verdict
# names the policy that should be the only one above "low".
mkdir -p "$S/matchset"
for spec in "mx:medium:current = { \"executable\" }" \
	"priv:critical:types = { \"file\" }, current = { \"setuid\", \"caps\" }" \
	"pkg:high:package_check = { \"mismatch\", \"unowned\" }" \
	"dirs:high:types = { \"dir\" }, current = { \"world_writable\" }"; do
	IFS=: read -r name sev match <<<"$spec"
	cat >"$S/matchset/$name.lua" <<POLICY
local uw = require("upperwatch")
return {
	name = "$name", description = "says it saw the event",
	match = { $match },
	evaluate = function(ev)
		return uw.verdict("$sev", "alert", "$name saw " .. ev.path)
	end,
}
POLICY
done
cat >"$S/matchset/all.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "all", description = "sees everything",
	evaluate = function(ev) return uw.verdict("low", "log", "all") end,
}
POLICY
cat >"$S/matchset-cases.lua" <<'CASES'
return {
	{ name = "an executable file passes current executable only",
	  event = { op = "added", path = "/x", current = { mode = "0755" } },
	  expect = { severity = "medium", policy = "mx", reason = "mx saw /x" } },
	{ name = "a plain file passes none",
	  event = { op = "added", path = "/p", current = { mode = "0644" } },
	  expect = { severity = "low", policy = "all" } },
	{ name = "setuid: priv (and executable: mx)",
	  event = { op = "metadata", path = "/s", current = { mode = "4755" },
	            baseline = { mode = "0755" } },
	  expect = { severity = "critical", policy = "priv", reason = "priv saw /s" } },
	{ name = "caps without a mode bit: priv",
	  event = { op = "metadata", path = "/c", current = { mode = "0644",
	            caps = "0100000200100000000000000000000000000000" } },
	  expect = { severity = "critical", policy = "priv" } },
	{ name = "a setuid dir: not a file, so not priv; executable: mx",
	  event = { op = "added", path = "/d", type = "dir", current = { mode = "4755" } },
	  expect = { severity = "medium", policy = "mx" } },
	{ name = "a deleted executable has no current record: none",
	  event = { op = "deleted", path = "/gone", baseline = { mode = "4755" } },
	  expect = { severity = "low", policy = "all" } },
	{ name = "package_check mismatch: pkg",
	  event = { op = "modified", path = "/etc/a", package_check = "mismatch",
	            package = { name = "a", version = "1" } },
	  expect = { severity = "high", policy = "pkg" } },
	{ name = "package_check unowned: pkg (any one of the list)",
	  event = { op = "added", path = "/etc/b", package_check = "unowned" },
	  expect = { severity = "high", policy = "pkg" } },
	{ name = "package_check match: not pkg",
	  event = { op = "modified", path = "/etc/c", package_check = "match",
	            package = { name = "c", version = "1" } },
	  expect = { severity = "low", policy = "all" } },
	{ name = "no package_check at all: not pkg",
	  event = { op = "modified", path = "/etc/d" },
	  expect = { severity = "low", policy = "all" } },
	{ name = "a world-writable dir: dirs (both lists passed)",
	  event = { op = "added", path = "/w", type = "dir", current = { mode = "0666" } },
	  expect = { severity = "high", policy = "dirs", reason = "dirs saw /w" } },
	{ name = "a world-writable file: types keeps it from dirs",
	  event = { op = "added", path = "/wf", current = { mode = "0666" } },
	  expect = { severity = "low", policy = "all" } },
}
CASES
run_cases "match.types, current and package_check" "$S/matchset" "$S/matchset-cases.lua"

cat >"$S/errcase-bad.lua" <<'CASES'
return {
	{ name = "op error without its reason",
	  event = { op = "error", path = "/a" }, expect = false },
	{ name = "a reason on another op",
	  event = { op = "added", path = "/a", error = "x" }, expect = false },
}
CASES
out=$("$UPPERWATCH" policy test "$S/errset" --cases "$S/errcase-bad.lua" 2>&1)
expect_eq "case files: an error event without error, or error on another op, fails" 1 $?
expect_eq "case files: both say why" 2 \
    "$(grep -c 'event.error (a string) goes with op error, and only with it' <<<"$out")"

# policy check judges a synthetic error event too: a policy that fails on
# one is reported (and without that failure it passes).
mkdir -p "$S/checkerr"
cat >"$S/checkerr/p.lua" <<'POLICY'
return {
	name = "p", description = "fails on error events",
	evaluate = function(ev)
		if ev.op == "error" then
			error("cannot handle " .. ev.error)
		end
	end,
}
POLICY
out=$("$UPPERWATCH" policy check "$S/checkerr" 2>&1)
expect_eq "policy check: a policy failing on error events is found" 1 $?
check "policy check: the failure names the synthetic error event" \
	grep -q '^p: on error /etc/passwd: .*cannot handle it changed while it was read' <<<"$out"
sed -i 's/error("cannot handle " .. ev.error)/return nil/' "$S/checkerr/p.lua"
check "policy check: control, the same policy without the failure passes" \
	"$UPPERWATCH" policy check "$S/checkerr"

# Labels: at most 256, 64 KiB in all, 4 KiB a value (as discovery caps
# them), and ev.container.labels_truncated says when some were cut.
mkdir -p "$S/labels"
cat >"$S/labels/labels.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "labels", description = "counts labels",
	evaluate = function(ev)
		local n = 0
		for _ in pairs(ev.container.labels) do
			n = n + 1
		end
		local big = ev.container.labels.big
		return uw.verdict("low", "log", string.format(
			"labels %d truncated %s big %s", n,
			tostring(ev.container.labels_truncated),
			big and #big or "none"))
	end,
}
POLICY
cat >"$S/labels-cases.lua" <<'CASES'
local many, wide = {}, {}
for i = 1, 300 do
	many[string.format("k%03d", i)] = "v"
end
for i = 1, 20 do
	wide[string.format("k%02d", i)] = string.rep("v", 4096)
end
return {
	{ name = "within the caps: all, not truncated",
	  event = { op = "added", path = "/a", container = { labels = { a = "1" } } },
	  expect = { reason = "labels 1 truncated false big none" } },
	{ name = "300 labels: 256 shown, truncated",
	  event = { op = "added", path = "/a", container = { labels = many } },
	  expect = { reason = "labels 256 truncated true big none" } },
	{ name = "a 10 KiB value: cut to 4096 bytes, truncated",
	  event = { op = "added", path = "/a",
	            container = { labels = { big = string.rep("v", 10240) } } },
	  expect = { reason = "labels 1 truncated true big 4096" } },
	{ name = "a value is cut on a UTF-8 boundary",
	  event = { op = "added", path = "/a",
	            container = { labels = { big = "x" .. string.rep("\u{e9}", 3000) } } },
	  expect = { reason = "labels 1 truncated true big 4095" } },
	{ name = "a key of more than 4 KiB is left out, the others kept",
	  event = { op = "added", path = "/a",
	            container = { labels = { [string.rep("k", 5000)] = "v", a = "1" } } },
	  expect = { reason = "labels 1 truncated true big none" } },
	{ name = "a value of 4096 bytes is whole",
	  event = { op = "added", path = "/a",
	            container = { labels = { big = string.rep("v", 4096) } } },
	  expect = { reason = "labels 1 truncated false big 4096" } },
	{ name = "20 values of 4 KiB: 15 fit in 64 KiB, truncated",
	  event = { op = "added", path = "/a", container = { labels = wide } },
	  expect = { reason = "labels 15 truncated true big none" } },
	{ name = "truncated by discovery: said so",
	  event = { op = "added", path = "/a",
	            container = { labels = { a = "1" }, labels_truncated = true } },
	  expect = { reason = "labels 1 truncated true big none" } },
}
CASES
run_cases "labels: caps and labels_truncated" "$S/labels" "$S/labels-cases.lua"

# An event too big to build under the memory cap is that event's failure:
# one medium/alert reason from "upperwatch", and no policy is blamed, so
# six of them in a row (quarantine comes after five failures) leave the
# policy judging.  Control: a policy that fails six times for real is
# quarantined.
mkdir -p "$S/big" "$S/flaky"
cat >"$S/big/judge.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "judge", description = "low, with the path",
	evaluate = function(ev)
		return uw.verdict("low", "log", "judge saw " .. ev.path:sub(1, 32))
	end,
}
POLICY
cat >"$S/big-cases.lua" <<'CASES'
-- 6 MiB, shared by the cases; each event copies it twice (path and
-- link): 18 MiB with the case file's copy, past the 16 MiB cap.
local big = string.rep("/x", 3 * 1024 * 1024)
local cases = {}
for i = 1, 6 do
	cases[i] = { name = "a 12 MiB event is not judged (" .. i .. ")",
	  event = { op = "added", path = big, current = { link = big } },
	  expect = { severity = "medium", action = "alert", policy = "upperwatch",
	             reason = "the event could not be judged: the policies' "
	                      .. "memory limit", failed = true } }
end
cases[7] = { name = "the next event is judged: the policy was not blamed",
  event = { op = "added", path = "/small" },
  expect = { severity = "low", action = "log", policy = "judge",
             reason = "judge saw /small" } }
return cases
CASES
run_cases "an event too big to build: its own failure, no policy's" \
	"$S/big" "$S/big-cases.lua"
# The same events, expecting judge to be blamed: it never is (the old
# engine blamed every policy, and quarantined them).
cat >"$S/big-blame.lua" <<'CASES'
local big = string.rep("/x", 3 * 1024 * 1024)
local cases = {}
for i = 1, 6 do
	cases[i] = { name = "judge failed on it (" .. i .. ")",
	  event = { op = "added", path = big, current = { link = big } },
	  expect = { policy = "judge", reason = "policy judge failed",
	             failed = true } }
end
return cases
CASES
out=$("$UPPERWATCH" policy test "$S/big" --cases "$S/big-blame.lua" 2>&1)
expect_eq "an event too big to build: judge is blamed for none of them" 6 \
	"$(grep -c "no reason from policy judge containing 'policy judge failed'" <<<"$out")"
cat >"$S/flaky/flaky.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "flaky", description = "fails on /fail",
	evaluate = function(ev)
		if ev.path == "/fail" then
			error("flaky failed")
		end
		return uw.verdict("low", "log", "flaky saw " .. ev.path)
	end,
}
POLICY
cat >"$S/flaky-cases.lua" <<'CASES'
local cases = {}
for i = 1, 6 do
	cases[i] = { name = "flaky fails (" .. i .. ")",
	  event = { op = "added", path = "/fail" },
	  expect = { severity = "medium", action = "alert", policy = "flaky",
	             failed = true } }
end
cases[6].expect = false		-- quarantined after five
cases[7] = { name = "quarantined: no verdict on the next event",
  event = { op = "added", path = "/small" }, expect = false }
return cases
CASES
run_cases "control: a policy failing for real is quarantined after five" \
	"$S/flaky" "$S/flaky-cases.lua"

# An event kept past its evaluation still reads as it was: its records
# and its package are made when first read, from a copy taken when it
# was built, so one read only later (here, at the next event, which has
# a package of its own) is the kept event's, and a walk of the kept
# event lists them.
mkdir -p "$S/keep"
cat >"$S/keep/keep.lua" <<'POLICY'
local uw = require("upperwatch")
local kept
return {
	name = "keep",
	description = "keeps the first event and reads it at the second",
	evaluate = function(ev)
		if ev.path == "/first" then
			kept = ev
			return nil
		end
		local keys = {}
		for k in pairs(kept) do
			keys[#keys + 1] = k
		end
		table.sort(keys)
		return uw.verdict("low", "log", string.format(
		    "kept %s: current %o %s, baseline %o, package %s %s; "
		    .. "now %s %s %s; keys %s",
		    kept.path, kept.current.mode, kept.current.link,
		    kept.baseline.mode, kept.package.name,
		    kept.package.version, ev.path, tostring(ev.current),
		    ev.package.name, table.concat(keys, ",")))
	end,
}
POLICY
cat >"$S/keep-cases.lua" <<'CASES'
return {
	{ name = "the first event is kept", expect = false,
	  event = { op = "modified", path = "/first", type = "symlink",
	            current = { type = "symlink", mode = "0777", link = "/a" },
	            baseline = { type = "symlink", mode = "0755", link = "/b" },
	            package = { manager = "dpkg", name = "hello", version = "2.10-3" },
	            package_check = "mismatch" } },
	{ name = "the kept event reads as it was",
	  event = { op = "deleted", path = "/second",
	            baseline = { mode = "0644" },
	            package = { manager = "apk", name = "other", version = "1" },
	            package_check = "match" },
	  expect = { severity = "low", action = "log", policy = "keep",
	             reason = "kept /first: current 777 /a, baseline 755, package hello 2.10-3; now /second nil other; keys baseline,container,current,id,layer,op,package,package_check,path,time,type" } },
}
CASES
run_cases "an event kept past its evaluation reads as it was" "$S/keep" "$S/keep-cases.lua"

# A record gives back every field it was made with, walked in a fixed
# order: hash and caps as lower-case hex, link as its bytes, and a field
# it does not have is nil, not an empty string.
mkdir -p "$S/record"
cat >"$S/record/record.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "record", description = "says every field of both records",
	evaluate = function(ev)
		local out = {}
		for _, which in ipairs({ "current", "baseline" }) do
			local parts = {}
			for k, v in pairs(ev[which]) do
				parts[#parts + 1] = k .. "=" .. tostring(v)
			end
			out[#out + 1] = which .. " " .. table.concat(parts, " ")
		end
		return uw.verdict("low", "log", table.concat(out, "; ") ..
		    "; link " .. tostring(ev.baseline.link) .. " hash " ..
		    tostring(ev.baseline.hash))
	end,
}
POLICY
HASH=00112233445566778899aabbccddeeff
cat >"$S/record-cases.lua" <<CASES
return {
	{ name = "every field of a record reads back",
	  event = { op = "modified", path = "/bin/x",
	            current = { type = "symlink", mode = "0777", uid = 7,
	                        gid = 8, size = 9, mtime = 10, hash = "$HASH",
	                        link = "/a b", caps = "0100000200200000" },
	            baseline = { mode = "4755", uid = 1, gid = 2, size = 3,
	                         mtime = 4 } },
	  expect = { severity = "low", action = "log", policy = "record",
	             reason = "current type=symlink mode=511 uid=7 gid=8 size=9 mtime=10 hash=$HASH link=/a b caps=0100000200200000; baseline type=file mode=2541 uid=1 gid=2 size=3 mtime=4; link nil hash nil" } },
}
CASES
run_cases "a record reads back every field, in a fixed order" "$S/record" "$S/record-cases.lua"

# The order a walk of the event gives does not depend on which policy
# read which record first: a reads ev.baseline on /x only, b walks every
# event.  The order of a table's keys can follow the order they went in,
# under Lua's per-process hash seed, so the run is repeated.
mkdir -p "$S/order"
cat >"$S/order/00-a.lua" <<'POLICY'
return {
	name = "a",
	description = "reads the baseline of /x only",
	evaluate = function(ev)
		if ev.path == "/x" then
			local _ = ev.baseline
		end
	end,
}
POLICY
cat >"$S/order/10-b.lua" <<'POLICY'
local uw = require("upperwatch")
local first
return {
	name = "b",
	description = "walks every event",
	evaluate = function(ev)
		local keys = {}
		for k in pairs(ev) do
			keys[#keys + 1] = k
		end
		local order = table.concat(keys, ",")
		first = first or order
		return uw.verdict("low", "log", order == first and "order kept"
		    or ("order changed: " .. first .. " / " .. order))
	end,
}
POLICY
{
	echo "return {"
	for p in /x /y /x /y /x /y; do
		echo "  { name = \"b walks $p\", event = { op = \"modified\", path = \"$p\","
		echo "    current = { mode = \"0644\" }, baseline = { mode = \"0600\" } },"
		echo "    expect = { policy = \"b\", reason = \"order kept\" } },"
	done
	echo "}"
} >"$S/order-cases.lua"
kept=0
for i in $(seq 12); do
	out=$("$UPPERWATCH" policy test "$S/order" --cases "$S/order-cases.lua" 2>&1) &&
	    ! grep -q '^not ok' <<<"$out" && kept=$((kept + 1))
done
expect_eq "a walk of the event: the same order whichever record a policy read first (12 runs)" 12 "$kept"

# A walk of an event shows every field it has (the walk follows a list
# of fields, which must name each one the event can carry).
cat >"$S/all-cases.lua" <<'CASES'
return {
	{ name = "a walk of an event with every field",
	  event = { op = "error", path = "/x", error = "changed while read",
	            current = { mode = "0644" }, baseline = { mode = "0600" },
	            process = { pid = 7, comm = "sh" }, package_check = "match",
	            package = { manager = "dpkg", name = "p", version = "1" },
	            incident = 3 },
	  expect = { policy = "b", reason = "keys baseline,container,current,error,id,incident,layer,op,package,package_check,path,process,time,type" } },
}
CASES
mkdir -p "$S/walk"
cat >"$S/walk/b.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "b",
	description = "lists the fields of every event",
	evaluate = function(ev)
		local keys = {}
		for k in pairs(ev) do
			keys[#keys + 1] = k
		end
		table.sort(keys)
		return uw.verdict("low", "log", "keys " .. table.concat(keys, ","))
	end,
}
POLICY
run_cases "a walk of an event shows every field it has" "$S/walk" "$S/all-cases.lua"

# The writer's view gives each field the event has, by name and by a
# walk, and leaves out what is unknown.
mkdir -p "$S/proc"
cat >"$S/proc/p.lua" <<'POLICY'
local uw = require("upperwatch")
return {
	name = "p",
	description = "lists the writer's fields",
	evaluate = function(ev)
		local p, keys = ev.process, {}
		for k in pairs(p) do
			keys[#keys + 1] = k
		end
		table.sort(keys)
		return uw.verdict("low", "log", string.format(
		    "%s: %s %s %s %s %s %s %s", table.concat(keys, ","),
		    tostring(p.pid), tostring(p.uid), tostring(p.comm),
		    tostring(p.exe), tostring(p.cmdline), tostring(p.container),
		    tostring(p.exe_drift)))
	end,
}
POLICY
cat >"$S/proc-cases.lua" <<'CASES'
return {
	{ name = "every field of the writer",
	  event = { op = "added", path = "/x", process = { pid = 7, uid = 33,
	            comm = "sh", exe = "/bin/busybox", cmdline = "sh -c x",
	            container = "c1", exe_drift = true } },
	  expect = { policy = "p", reason = "cmdline,comm,container,exe,exe_drift,pid,uid: 7 33 sh /bin/busybox sh -c x c1 true" } },
	{ name = "a writer known by its pid alone",
	  event = { op = "added", path = "/x", process = { pid = 8 } },
	  expect = { policy = "p", reason = "pid: 8 nil nil nil nil nil nil" } },
}
CASES
run_cases "the writer's fields, each under its own name" "$S/proc" "$S/proc-cases.lua"

# Every way a policy reads an event gives the same fields: each event here
# is first read in another way (the length, rawlen, rawget, next, pairs,
# ipairs, a record, type), then by field.
mkdir -p "$S/first"
cat >"$S/first/f.lua" <<'POLICY'
local uw = require("upperwatch")
local n = 0
local first = {
	function(ev) return "len " .. #ev end,
	function(ev) return "rawlen " .. rawlen(ev) end,
	function(ev) return "rawget " .. rawget(ev, "path") end,
	function(ev) return "next " .. tostring((next(ev))) end,
	function(ev)
		local c = 0
		for _ in pairs(ev) do c = c + 1 end
		return "pairs " .. c
	end,
	function(ev)
		local c = 0
		for _ in ipairs(ev) do c = c + 1 end
		return "ipairs " .. c
	end,
	function(ev) return "mode " .. ev.current.mode end,
	function(ev) return "type " .. type(ev) end,
}
return {
	name = "f",
	description = "reads each event first in another way",
	evaluate = function(ev)
		n = n + 1
		local got = first[n](ev)
		return uw.verdict("low", "log", got .. "; then " .. ev.path
			.. " " .. ev.op .. " " .. ev.baseline.mode)
	end,
}
POLICY
{
	echo "return {"
	i=0
	for want in "len 0" "rawlen 0" "rawget /f3" "next op" "pairs 9" "ipairs 0" "mode 420" "type table"; do
		i=$((i + 1))
		echo "  { name = \"first read: $want\", event = { op = \"modified\", path = \"/f$i\","
		echo "    current = { mode = \"0644\" }, baseline = { mode = \"0600\" } },"
		echo "    expect = { policy = \"f\", reason = \"$want; then /f$i modified 384\" } },"
	done
	echo "}"
} >"$S/first-cases.lua"
run_cases "an event reads the same whichever way it is read first" "$S/first" "$S/first-cases.lua"

# uw.package of the event's own path is the event's package (before the
# policy read the event, too); of another path, the database's (none in a
# case file).  The last case, an event with no package after two with
# one, would name a stale package if the answer outlived its event.
mkdir -p "$S/own"
cat >"$S/own/o.lua" <<'POLICY'
local uw = require("upperwatch")
local function owner(path)
	local p = uw.package(path)
	return p and (p.manager .. " " .. p.name .. " " .. p.version) or "none"
end
return {
	name = "o",
	description = "asks uw.package about the event's own path",
	evaluate = function(ev)
		local before = owner("/usr/bin/tool")
		return uw.verdict("low", "log", before .. "; " .. owner(ev.path)
			.. "; " .. owner(ev.path .. "x"))
	end,
}
POLICY
cat >"$S/own-cases.lua" <<'CASES'
return {
	{ name = "owned", event = { op = "modified", path = "/usr/bin/tool",
	    current = { mode = "0755" }, baseline = { mode = "0755" },
	    package_check = "match",
	    package = { manager = "dpkg", name = "tool", version = "2" } },
	  expect = { policy = "o", reason = "dpkg tool 2; dpkg tool 2; none" } },
	{ name = "another path", event = { op = "modified", path = "/usr/bin/other",
	    current = { mode = "0755" }, baseline = { mode = "0755" },
	    package_check = "match",
	    package = { manager = "dpkg", name = "other", version = "1" } },
	  expect = { policy = "o", reason = "none; dpkg other 1; none" } },
	{ name = "unowned", event = { op = "added", path = "/usr/bin/tool",
	    current = { mode = "0755" }, package_check = "unowned" },
	  expect = { policy = "o", reason = "none; none; none" } },
}
CASES
run_cases "uw.package of the event's own path gives the event's package" "$S/own" "$S/own-cases.lua"

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
