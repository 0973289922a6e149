#!/bin/bash
# packages: what the package database says of each change, seen from
# inside a real runc container whose image holds a real dpkg database:
# Debian's `hello` and a package of this test's (uwtool 1.0) installed
# into the image layer with the host's `dpkg --root`.
#
#   - the baseline (built by the watcher from the layers) records both
#     packages and the md5 dpkg lists for /usr/bin/hello;
#   - a policy's uw.package("/usr/bin/hello") names hello and its version;
#   - inside the container, busybox's dpkg upgrades uwtool to 2.0 and
#     installs uwextra 1.0 in one run: one incident, which names both,
#     links every event of the run (the same "incident" id), and the
#     packages' files are "match", owned by the new versions, and low;
#   - a package binary overwritten afterwards is "mismatch", high;
#   - a trojan whose md5 the container writes into its unchanged
#     package's md5sums is still a mismatch (the image's digest holds);
#   - a dropped binary no package claims is "unowned", high;
#   - `diff --container` says the same of each, offline;
#   - a package appended to the status file by hand, with no file: the
#     database's event is "mismatch" and high (packages.lua);
#   - a status file made 80 MiB (sparse) is not read: a new file's check
#     is "unknown", and the daemon goes on;
#   - the same install in a second container watched with inotify alone
#     (no writer named): its files end up said in the incident, matching;
#     and a file made and removed while the database is written there is
#     still reported.
#
# Needs root, runc, a static busybox (with its dpkg applet), dpkg,
# dpkg-deb, apt-get (to download hello from the Debian archive), jq.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq dpkg dpkg-deb apt-get md5sum timeout
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"
busybox --list | grep -qx dpkg || skip "this busybox has no dpkg applet"

umask 022
export LC_ALL=C
P=uwt-pkg-$$
C1=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
EV=$S/events.jsonl ERR=$S/watch.err

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# mkdeb OUT NAME VERSION PATH=LINE...: a .deb of executable files, each
# holding LINE, with the md5sums file Debian's packages carry.
mkdeb() {
	local out=$1 name=$2 ver=$3 d=$S/deb-$2-$3 f
	shift 3
	rm -rf "$d" && mkdir -p "$d/DEBIAN" || return 1
	for f in "$@"; do
		mkdir -p "$d/$(dirname "${f%%=*}")" &&
			printf '%s\n' "${f#*=}" >"$d/${f%%=*}" &&
			chmod 755 "$d/${f%%=*}" || return 1
	done
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: upperwatch tests <t@example.org>\nDescription: a package of the upperwatch tests\n' \
		"$name" "$ver" >"$d/DEBIAN/control"
	(cd "$d" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort | xargs md5sum) \
		>"$d/DEBIAN/md5sums" || return 1
	dpkg-deb -Zgzip --root-owner-group --build "$d" "$out" >/dev/null
}

# xc CMD: run CMD with sh -c in the container.
xc() { runc_sh "$C1" "$1"; }

# ev PATH FILTER: the last event of PATH, through the jq FILTER.
ev() { jq -c --arg p "$1" "select(.path == \$p) | $2" "$EV" 2>/dev/null | tail -n 1; }
# has PATH FILTER: the last event of PATH passes the jq test FILTER.
has() { [ "$(ev "$1" "$2")" = true ]; }

# ---- the image: hello from Debian, uwtool 1.0 ---------------------------------

(cd "$S" && apt-get download hello >"$S/apt.log" 2>&1) ||
	(apt-get update >>"$S/apt.log" 2>&1 && cd "$S" && apt-get download hello >>"$S/apt.log" 2>&1) ||
	{ fail "cannot download hello from the Debian archive: $(tail -n 2 "$S/apt.log")"; finish; }
HELLO=$(ls "$S"/hello_*.deb)
mkdir -p "$L1"/{proc,sys,dev,tmp,root,etc,opt/debs,var/lib/dpkg/info,var/lib/dpkg/updates}
(
	set -e
	busybox_layer "$L1" sh dpkg ls cat echo sleep printf chmod truncate rm md5sum cut
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	: >"$L1/var/lib/dpkg/status"
	mkdeb "$S/uwtool_1.0_all.deb" uwtool 1.0 usr/bin/uwtool="echo uwtool 1.0"
	mkdeb "$L1/opt/debs/uwtool_2.0_all.deb" uwtool 2.0 usr/bin/uwtool="echo uwtool 2.0" \
		usr/lib/uwtool/plugin.so="plugin 2.0"
	mkdeb "$L1/opt/debs/uwextra_1.0_all.deb" uwextra 1.0 usr/bin/uwextra="echo uwextra 1.0"
	dpkg --root="$L1" --log=/dev/null --force-depends --force-script-chrootless \
		-i "$HELLO" "$S/uwtool_1.0_all.deb" >"$S/dpkg.log" 2>&1
) || { fail "building the image failed: $(tail -n 3 "$S/dpkg.log" 2>/dev/null)"; finish; }

# ---- the container and the watcher ---------------------------------------------

check "$C1: runc container started" run_container "$RS/c1" "$C1" "$L1" "/$P/c1" \
	"echo up > /tmp/started; while true; do sleep 1; done"
wait_until 10 test -s "$RS/c1/upper/tmp/started" || { fail "$C1 did not start"; finish; }
# the default set, and a policy that asks uw.package about another path
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cat >"$S/probe.lua" <<'LUA'
local uw = require("upperwatch")
return {
	name = "probe",
	description = "names the owner of /usr/bin/hello on /tmp/probe",
	match = { paths = { "/tmp/probe" } },
	evaluate = function(ev)
		local p = uw.package("/usr/bin/hello")
		return uw.verdict("info", "log", "hello is "
			.. (p and (p.manager .. " " .. p.name .. " " .. p.version)
			or "nobody's"))
	end,
}
LUA
start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C1" --output "$EV" \
	--policy "$SRC/policies/default" --policy "$S/probe.lua"
wait_until 30 grep -q "watching container $C1 " "$ERR" ||
	{ fail "not watching $C1: $(tail -n 3 "$ERR")"; finish; }

# ---- the baseline knows the packages --------------------------------------------

pkgs=$(sql "$S/db" "SELECT name || ' ' || version FROM packages ORDER BY name" | tr '\n' ';')
expect_eq "the baseline's packages" "hello $(dpkg-deb -f "$HELLO" Version);uwtool 1.0;" "$pkgs"
got=$(sql "$S/db" "SELECT lower(hex(f.digest)) FROM package_files f JOIN packages p
	ON p.image_id = f.image_id AND p.id = f.package WHERE f.path = CAST('/usr/bin/hello' AS BLOB)
	AND p.name = 'hello'")
expect_eq "the md5 dpkg lists for /usr/bin/hello" "$(md5sum <"$L1/usr/bin/hello" | cut -d' ' -f1)" "$got"
expect_eq "the manager" dpkg "$(sql "$S/db" "SELECT pkg_manager FROM images")"

# ---- uw.package(path) ---------------------------------------------------------

check "write the probe" xc "echo > /tmp/probe"
HV=$(dpkg-deb -f "$HELLO" Version)
check "uw.package names the owner of another path" wait_until 5 has /tmp/probe \
	"any(.verdict.reasons[]; .reason == \"hello is dpkg hello $HV\")"

# ---- one transaction inside: upgrade and install ----------------------------------

check "busybox dpkg upgrades uwtool and installs uwextra" \
	xc "dpkg -F depends -i /opt/debs/uwtool_2.0_all.deb /opt/debs/uwextra_1.0_all.deb"
wait_until 15 grep -q "package transaction (incident" "$ERR" ||
	fail "no incident was said: $(tail -n 3 "$ERR")"
line=$(grep "package transaction (incident" "$ERR" | head -n 1)
case $line in
*"changed uwtool 1.0 -> 2.0"*"installed uwextra 1.0"* | *"installed uwextra 1.0"*"changed uwtool 1.0 -> 2.0"*)
	pass "the incident names the upgrade and the install" ;;
*) fail "the incident does not name both packages: $line" ;;
esac
expect_eq "one incident for the run" 1 "$(grep -c "package transaction (incident" "$ERR")"
inc=$(sed -n 's/.*package transaction (incident \([0-9]*\)).*/\1/p' <<<"$line")
for p in /usr/bin/uwtool /usr/lib/uwtool/plugin.so /usr/bin/uwextra; do
	check "$p: in incident $inc" wait_until 5 has "$p" ".incident == $inc"
	check "$p: match" has "$p" '.package_check == "match"'
	check "$p: low" has "$p" '.verdict.severity == "low"'
done
check "/usr/bin/uwtool: owned by uwtool 2.0" has /usr/bin/uwtool \
	'.package.name == "uwtool" and .package.version == "2.0" and .package.manager == "dpkg"'
check "/usr/bin/uwextra: owned by uwextra 1.0" has /usr/bin/uwextra '.package.name == "uwextra"'
check "the status file: a database file, in the incident" has /var/lib/dpkg/status \
	".package.database == true and .incident == $inc and .package_check == \"match\""
others=$(jq -r --argjson i "$inc" 'select(.incident != null and .incident != $i) | .path' "$EV" | head -n 3)
expect_eq "no event of another incident" "" "$others"

# ---- tampering afterwards ------------------------------------------------------------

check "overwrite a package's binary" xc "printf 'echo evil\n' > /usr/bin/uwtool"
wait_until 5 has /usr/bin/uwtool '.package_check == "mismatch"' ||
	fail "the overwritten binary is not a mismatch: $(ev /usr/bin/uwtool .)"
check "the overwritten binary is high" has /usr/bin/uwtool '.verdict.severity == "high"'
check "the overwritten binary is in no incident" has /usr/bin/uwtool '.incident == null'

# a trojan with its md5 written into the md5sums of its package, which is
# the image's at the same version: the image's digest is believed
TROJAN='echo trojan'
n0=$(grep -c "package transaction (incident" "$ERR")
# (its list is copied up too, so that the container's database has both)
check "forge hello's md5sums" xc "cat /var/lib/dpkg/info/hello.list > /tmp/l && cat /tmp/l > /var/lib/dpkg/info/hello.list && printf '%s  usr/bin/hello\n' \$(printf '$TROJAN\n' | md5sum | cut -d' ' -f1) > /var/lib/dpkg/info/hello.md5sums"
more_incidents() { [ "$(grep -c "package transaction (incident" "$ERR")" -gt "$n0" ]; }
check "its transaction ends (the edit is handed out)" \
	wait_until 10 has /var/lib/dpkg/info/hello.md5sums '.package.database == true'
check "replace hello by the trojan" xc "printf '$TROJAN\n' > /usr/bin/hello"
check "the trojan is a mismatch though the container's md5sums says otherwise" \
	wait_until 5 has /usr/bin/hello '.package_check == "mismatch" and .verdict.severity == "high"'

check "drop a binary" xc "printf '#!/bin/sh\n' > /usr/bin/dropper; chmod 755 /usr/bin/dropper"
wait_until 5 has /usr/bin/dropper '.package_check == "unowned"' ||
	fail "the dropped binary is not unowned: $(ev /usr/bin/dropper .)"
check "the dropped binary is high" has /usr/bin/dropper '.verdict.severity == "high"'
check "an unowned file has no package" has /usr/bin/dropper '.package == null'
# an event judged alert or above carries the file's SHA-256; a low one not
check "the dropped binary's SHA-256" has /usr/bin/dropper \
	".sha256 == \"$(printf '#!/bin/sh\n' | sha256sum | cut -d' ' -f1)\""
check "a low event has no SHA-256" has /usr/bin/uwextra '.sha256 == null'

# the same, offline: `diff` reads the container's database too
"$UPPERWATCH" --db "$S/db" diff --container "$C1" --json >"$S/diff.jsonl" 2>"$S/diff.err"
dq() { jq -r --arg p "$1" 'select(.path == $p) | "\(.package.name) \(.package_check)"' "$S/diff.jsonl"; }
expect_eq "diff: the overwritten binary" "uwtool mismatch" "$(dq /usr/bin/uwtool)"
expect_eq "diff: the dropped binary" "null unowned" "$(dq /usr/bin/dropper)"
expect_eq "diff: a file uwextra installed" "uwextra match" "$(dq /usr/bin/uwextra)"

# ---- a database edited by hand ---------------------------------------------------------

n0=$(grep -c "package transaction (incident" "$ERR")
check "append a package to the status" \
	xc "printf '\nPackage: ghost\nStatus: install ok installed\nVersion: 9\nArchitecture: all\n' >> /var/lib/dpkg/status"
wait_until 10 more_incidents || fail "no incident for the edit"
grep "package transaction (incident" "$ERR" | tail -n 1 | grep -q "installed ghost 9" ||
	fail "the edit's incident does not name ghost: $(tail -n 1 "$ERR")"
wait_until 5 has /var/lib/dpkg/status '.package_check == "mismatch"' ||
	fail "the status file is not a mismatch: $(ev /var/lib/dpkg/status .)"
check "a database edited with no file is high" has /var/lib/dpkg/status '.verdict.severity == "high"'

# ---- a status file too big to read -------------------------------------------------------

n0=$(grep -c "package transaction (incident" "$ERR")
check "grow the status to 80 MiB" xc "truncate -s 80M /var/lib/dpkg/status"
check "its transaction ends" wait_until 10 more_incidents
check "drop another binary" xc "printf '#!/bin/sh\n' > /usr/bin/dropper2; chmod 755 /usr/bin/dropper2"
wait_until 10 has /usr/bin/dropper2 '.package_check == "unknown"' ||
	fail "a new file under an unreadable database is not unknown: $(ev /usr/bin/dropper2 .)"
check "the daemon is alive" alive "$W"
incidents() { [ "$(jq -r '.package_incidents // 0' "$S/status.json" 2>/dev/null)" -ge 3 ]; }
check "status.json counts the incidents" wait_until 8 incidents
check "and so do the metrics" grep -q '^upperwatch_package_incidents_total [3-9]' "$S/upperwatch.prom"
# a transaction still going on when the daemon stops is handed out then
n_status() { grep -c '"path":"/var/lib/dpkg/status"' "$EV"; }
ns0=$(n_status)
check "one more database write" xc "echo >> /var/lib/dpkg/status"
sleep 2	# read and held (a transaction ends after 3 s of quiet)
stop_bg "$W"
expect_eq "the daemon stops cleanly" 0 "$BG_STATUS"
check "what it held is handed out at stop" test "$(n_status)" -gt "$ns0"

# ---- the same install, watched by inotify alone --------------------------------------
# No writer is named then: the files busybox's dpkg unpacks before its
# first write of the database may be handed out (unowned, mismatch) and
# are looked at again with the transaction, and handed out again, in it.

C2=$P-c2 EV2=$S/events2.jsonl ERR2=$S/watch2.err
check "$C2: runc container started" run_container "$RS/c2" "$C2" "$L1" "/$P/c2" \
	"echo up > /tmp/started; while true; do sleep 1; done"
wait_until 10 test -s "$RS/c2/upper/tmp/started" || fail "$C2 did not start"
start_upperwatch W2 "$EV2" "$ERR2" --db "$S/db2" watch --container "$C2" --output "$EV2" \
	--content-events inotify
wait_until 30 grep -q "watching container $C2 " "$ERR2" || fail "not watching $C2: $(tail -n 3 "$ERR2")"
runc exec "$C2" sh -c "dpkg -F depends -i /opt/debs/uwtool_2.0_all.deb /opt/debs/uwextra_1.0_all.deb" \
	</dev/null >"$S/exec2.out" 2>&1 || fail "dpkg in $C2: $(head -c 300 "$S/exec2.out")"
wait_until 15 grep -q "package transaction (incident" "$ERR2" || fail "inotify: no incident: $(tail -n 3 "$ERR2")"
expect_eq "inotify: one incident for the run" 1 "$(grep -c "package transaction (incident" "$ERR2")"
has2() { [ "$(jq -c --arg p "$1" "select(.path == \$p) | $2" "$EV2" 2>/dev/null | tail -n 1)" = true ]; }
# (inotify alone: a file unpacked before the database's first write is
# looked at again when the transaction ends, later on a loaded machine)
for p in /usr/bin/uwtool /usr/lib/uwtool/plugin.so /usr/bin/uwextra; do
	check "inotify: $p: last said in the incident, match, low" wait_until 15 has2 "$p" \
		".incident != null and .package_check == \"match\" and .verdict.severity == \"low\""
done

# a file made and removed under cover of a transaction (no writer named)
check "inotify: a file made and removed while the database is written" \
	runc exec "$C2" sh -c "echo >> /var/lib/dpkg/status; printf 'x\n' > /usr/bin/ghostly; chmod 755 /usr/bin/ghostly; sleep 1; rm /usr/bin/ghostly"
check "inotify: it is still reported, added and high" wait_until 10 has2 /usr/bin/ghostly \
	'.op == "added" and .verdict.severity == "high"'

# A file handed out (a mismatch) just before its package's database is
# written is looked at again with the transaction; an event of its own in
# the transaction that changes nothing (a chmod to the mode it has) must
# not make it count as reported already: the database now says "match".
sleep 4	# the database write above: its transaction ends after 3 s of quiet
check "inotify: a packaged file is edited" \
	runc exec "$C2" sh -c "printf 'uwextra, rebuilt\n' > /usr/bin/uwextra"
check "inotify: it is handed out as a mismatch, in no incident" wait_until 10 has2 /usr/bin/uwextra \
	'.incident == null and .package_check == "mismatch"'
check "inotify: its package's digest is written, then it is touched" \
	runc exec "$C2" sh -c "printf '%s  usr/bin/uwextra\n' \$(md5sum < /usr/bin/uwextra | cut -d' ' -f1) > /var/lib/dpkg/info/uwextra.md5sums; sleep 1; chmod u+r /usr/bin/uwextra"
check "inotify: it is handed out again in the incident, a match" wait_until 15 has2 /usr/bin/uwextra \
	'.incident != null and .package_check == "match"'

if [ "$_failures" -gt 0 ]; then
	echo "# the events, last 40:" >&2
	jq -c '{op, path, package, package_check, incident, severity: .verdict.severity}' "$EV" |
		tail -n 40 | sed 's/^/# /' >&2
	tail -n 20 "$ERR" | sed 's/^/# /' >&2
	if [ -s "${EV2:-/nonexistent}" ]; then
		echo "# the inotify-only watcher's events:" >&2
		jq -c '{op, path, package, package_check, incident, severity: .verdict.severity}' "$EV2" |
			tail -n 30 | sed 's/^/# /' >&2
		tail -n 10 "$ERR2" | sed 's/^/# /' >&2
	fi
fi
finish
