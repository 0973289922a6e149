#!/bin/bash
# meson install --destdir puts every piece where Debian expects it; the
# manuals pass `man --warnings`; every option any command's --help names
# is in upperwatch(8) (both come from the same command table, and this
# proves it of what is installed).
. "$(dirname "$0")/lib.sh"
require_cmd meson man
BUILD=$(dirname "$UPPERWATCH")
D=$S/dest

meson install -C "$BUILD" --destdir "$D" >"$S/install.log" 2>&1
expect_eq "meson install --destdir succeeds" 0 $?
prefix=$(meson introspect --buildoptions "$BUILD" |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
P=$D$prefix
for f in sbin/upperwatch include/upperwatch.h share/man/man8/upperwatch.8 \
	share/man/man5/upperwatch-policy.5 \
	share/bash-completion/completions/upperwatch \
	share/upperwatch/policies/default/drift.lua \
	share/upperwatch/policies/examples/lockdown.lua \
	share/upperwatch/lua/upperwatch.lua lib/systemd/system/upperwatch.service; do
	check "installed: $f" test -f "$P/$f"
done
check "installed: the pkg-config file" \
	sh -c "ls '$P'/lib*/*/pkgconfig/upperwatch.pc '$P'/lib*/pkgconfig/upperwatch.pc 2>/dev/null | grep -q ."

for page in "$P/share/man/man8/upperwatch.8" "$P/share/man/man5/upperwatch-policy.5"; do
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	expect_eq "man --warnings: $(basename "$page") is clean" "" "$warn"
done

# Every --option of every command's --help, in the manual.
man8=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$P/share/man/man8/upperwatch.8" 2>/dev/null)
cmds=$("$UPPERWATCH" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}')
check "the command list is not empty" test -n "$cmds"
missing=""
for c in $cmds; do
	grep -q "^ *upperwatch $c" <<<"$man8" || missing="$missing $c"
	for o in $("$UPPERWATCH" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$o" <<<"$man8" || missing="$missing $c:$o"
	done
done
expect_eq "every command and --help option is in upperwatch(8)" "" "$missing"

# The completion knows the commands and loads in bash.
comp=$P/share/bash-completion/completions/upperwatch
check "the completion parses" bash -n "$comp"
for c in $cmds; do
	grep -q "	$c)" "$comp" || fail "the completion knows '$c'"
done
out=$(bash -c ". '$comp'; COMP_WORDS=(upperwatch wat); COMP_CWORD=1; _upperwatch; echo \"\${COMPREPLY[*]}\"")
expect_eq "completing 'upperwatch wat'" "watch" "$out"
finish
