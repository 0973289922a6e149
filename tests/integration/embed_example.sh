#!/bin/bash
# embed_example: libupperwatch as a third party gets it.  `meson install`
# into a scratch DESTDIR, then contrib/examples/watch-one.c compiled
# against that install through pkg-config only (no -I into the source
# tree), and run against a real runc container (notes §8.1) with
# LD_LIBRARY_PATH into the DESTDIR:
#   - the install holds the header, the library and upperwatch.pc, and
#     the header compiles alone as strict C11 and as C++;
#   - the example finds the container with uw_containers_foreach, builds
#     its image's baseline from the lower layers (under the image key),
#     and its on_event callback prints the start-up scan's event and then
#     each change made in the container with runc exec (op and path);
#   - --count N: it stops by itself after N events, exit 0, and the
#     journal holds exactly what the callback was given;
#   - SIGTERM while it watches: exit 0 within 5 s, nothing reported
#     twice.
#
# Needs root, runc, a static busybox, setfattr, jq, cc, pkg-config and
# meson.  The build dir is the one $UPPERWATCH was built in.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox setfattr jq cc pkg-config meson mknod timeout
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(cd "$(dirname "$UPPERWATCH")" && pwd)
EXAMPLE=$SRC/contrib/examples/watch-one.c
[ -f "$BUILD/build.ninja" ] || skip "$UPPERWATCH is not in a meson build dir"
[ -f "$EXAMPLE" ] || { fail "no $EXAMPLE"; finish; }
P=uwt-embed-$$
CID=$P-c1
RS=$(realpath "$S")
DEST=$RS/dest
L1=$RS/layers/1 L2=$RS/layers/2

# runc's cgroups for our container (none left when it deletes cleanly)
cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- install and compile ----------------------------------------------------

# --no-rebuild: the test runs inside `meson test`, which built already.
if ! meson install -C "$BUILD" --destdir "$DEST" --no-rebuild --quiet \
    >"$S/install.log" 2>&1; then
	fail "meson install --destdir failed: $(tail -n 5 "$S/install.log" | tr '\n' ';')"
	finish
fi
PREFIX=$(meson introspect --buildoptions "$BUILD" | jq -r '.[] | select(.name == "prefix") | .value')
LIBDIR=$(meson introspect --buildoptions "$BUILD" | jq -r '.[] | select(.name == "libdir") | .value')
SANITIZE=$(meson introspect --buildoptions "$BUILD" | jq -r '.[] | select(.name == "b_sanitize") | .value')
case $LIBDIR in /*) ;; *) LIBDIR=$PREFIX/$LIBDIR ;; esac
INCDIR=$PREFIX/$(meson introspect --buildoptions "$BUILD" | jq -r '.[] | select(.name == "includedir") | .value')
check "installed: $INCDIR/upperwatch.h" test -f "$DEST$INCDIR/upperwatch.h"
check "installed: $LIBDIR/libupperwatch.so (dev symlink)" test -L "$DEST$LIBDIR/libupperwatch.so"
check "installed: $LIBDIR/pkgconfig/upperwatch.pc" test -f "$DEST$LIBDIR/pkgconfig/upperwatch.pc"

# pkg-config sees the DESTDIR install as if it were at its prefix: the
# sysroot is prepended to the -I and -L it prints.
export PKG_CONFIG_PATH=$DEST$LIBDIR/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$DEST
if ! CFLAGS_UW=$(pkg-config --cflags upperwatch 2>"$S/pc.err") ||
    ! LIBS_UW=$(pkg-config --libs upperwatch 2>>"$S/pc.err"); then
	fail "pkg-config upperwatch failed: $(head -c 400 "$S/pc.err")"
	finish
fi
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
echo "# pkg-config --cflags: $CFLAGS_UW"
echo "# pkg-config --libs:   $LIBS_UW"
expect_eq "pkg-config: the version" "$(meson introspect --projectinfo "$BUILD" | jq -r .version)" \
    "$(PKG_CONFIG_PATH=$DEST$LIBDIR/pkgconfig pkg-config --modversion upperwatch)"
case " $LIBS_UW " in
*" -L$DEST$LIBDIR "*) pass "pkg-config --libs: -L into the DESTDIR" ;;
*) fail "pkg-config --libs gives no -L$DEST$LIBDIR: $LIBS_UW" ;;
esac
# The header must come from the install, not from a system dir or the
# source tree: where the compiler found it.
echo '#include <upperwatch.h>' >"$S/probe.c"
# shellcheck disable=SC2086
found=$(cc -E -H $CFLAGS_UW "$S/probe.c" -o /dev/null 2>&1 | grep -m1 'upperwatch\.h$' | sed 's/^\.* *//')
expect_eq "the compiler finds upperwatch.h in the DESTDIR" "$DEST$INCDIR/upperwatch.h" "$found"

# The public header alone: strict C11 (no _GNU_SOURCE), and C++.
printf '#include <upperwatch.h>\nint main(void) { return uw_version() == 0; }\n' >"$S/hdr.c"
# shellcheck disable=SC2086
check "upperwatch.h compiles as strict C11 (-std=c11 -pedantic -Werror)" \
    cc -std=c11 -pedantic -Wall -Wextra -Werror $CFLAGS_UW -fsyntax-only "$S/hdr.c"
# The header is also usable from C++ (extern "C", no C++ keywords).
if command -v c++ >/dev/null 2>&1; then
	cp "$S/hdr.c" "$S/hdr.cc"
	# shellcheck disable=SC2086
	if c++ -std=c++17 -Wall -Wextra -Werror $CFLAGS_UW -fsyntax-only "$S/hdr.cc" \
	    >"$S/cxx.log" 2>&1; then
		pass "upperwatch.h compiles as C++ (extern \"C\")"
	else
		fail "upperwatch.h does not compile as C++: $(grep error: "$S/cxx.log" | head -n 3 | tr '\n' ';')"
	fi
fi

# A sanitized build's library needs the sanitizer runtime in the program.
SANFLAGS=()
[ "$SANITIZE" != none ] && SANFLAGS=(-fsanitize="$SANITIZE")
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror "${SANFLAGS[@]}" -o "$S/watch-one" "$EXAMPLE" \
    $CFLAGS_UW $LIBS_UW >"$S/cc.log" 2>&1; then
	pass "watch-one.c compiles and links with \$(pkg-config --cflags --libs upperwatch)"
else
	fail "watch-one.c does not build: $(head -c 800 "$S/cc.log")"
	finish
fi
# It must load the DESTDIR's library, not one installed on this machine.
export LD_LIBRARY_PATH=$DEST$LIBDIR
expect_eq "watch-one loads libupperwatch from the DESTDIR" "$DEST$LIBDIR/libupperwatch.so.0" \
    "$(ldd "$S/watch-one" | awk '$1 == "libupperwatch.so.0" { print $3 }')"

"$S/watch-one" >/dev/null 2>"$S/usage.err"
expect_eq "watch-one without a container: usage, exit 2" 2 $?
"$S/watch-one" --db "$S/db0" "$P-nonesuch" >/dev/null 2>"$S/none.err"
expect_eq "watch-one of a container that does not exist: exit 1" 1 $?

# ---- the container (notes §8.1, as watch_runc.sh) -----------------------------

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,opt/data} "$L2"/{etc,bin,opt/data}
(
	set -e
	busybox_layer "$L1" sh ls cat echo sleep touch rm mkdir mv chmod ln head stat
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	echo v1 >"$L1/etc/app.conf"
	echo hello >"$L1/etc/motd"
	echo old >"$L1/opt/data/old.txt"
	echo v2 >"$L2/etc/app.conf"
	mknod "$L2/bin/stat" c 0 0
	setfattr -n trusted.overlay.opaque -v y "$L2/opt/data"
	echo new >"$L2/opt/data/new.txt"
) || fail "building the layers failed"

D=$RS/$CID
run_container "$D" "$CID" "$L2:$L1" "/$P/$CID" "echo up > /tmp/started; while true; do sleep 1; done" ||
	{ fail "runc container $CID: runc run failed"; finish; }
if ! wait_until 10 test -s "$D/upper/tmp/started"; then
	fail "runc container $CID did not start: $(head -c 400 "$D/runc.log")"
	finish
fi
pass "runc container $CID running"

xc() { runc_sh "$CID" "$1"; }
gone() { ! alive "$1"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
has_line() { grep -qxF -- "$2" <(cut -d' ' -f3- "$1" 2>/dev/null); }
count_events() { grep -c '^EVENT ' "$1" 2>/dev/null || true; }

# ---- run 1: --count 5 ------------------------------------------------------------

OUT=$S/run1.out ERR=$S/run1.err DB=$S/db
"$S/watch-one" --db "$DB" --count 5 "$CID" >"$OUT" 2>"$ERR" &
W=$!
cleanup_push "stop_bg $W KILL"
if wait_until 30 grep -q "watching container $CID " "$ERR"; then
	pass "watch-one: found $CID and watches it"
else
	fail "watch-one: no 'watching container $CID' notice within 30 s: $(head -c 600 "$ERR")"
	finish
fi
check "watch-one: built the baseline from the $CID's 2 layers" \
    grep -q "^watch-one: container $CID (.*) upper $D/upper, 2 layers\$" "$ERR"
check "watch-one: its baseline notice" grep -q '^watch-one: baseline stack:' "$ERR"
# the start-up scan: the container wrote /tmp/started before we looked
if wait_until 5 has_line "$OUT" "added /tmp/started"; then
	pass "callback: the start-up scan's 'added /tmp/started'"
else
	fail "callback: no 'added /tmp/started' from the start-up scan: $(head -c 300 "$OUT")"
fi

# act DESC COMMAND OP PATH: a change in the container, then its event
# (op and path) from the callback within 5 s.
act() {
	xc "$2" || fail "$1: runc exec failed"
	if wait_until 5 has_line "$OUT" "$3 $4"; then
		pass "callback: $1: '$3 $4'"
	else
		fail "callback: $1: no '$3 $4' within 5 s; got: $(cut -d' ' -f3- "$OUT" | tr '\n' ';')"
	fi
}
act "append to an image file" 'echo more >> /etc/app.conf' modified /etc/app.conf
act "create a file" 'echo n > /root/created' added /root/created
act "delete an image file" 'rm /etc/motd' deleted /etc/motd
check "watch-one still running after 4 events" alive "$W"
act "chmod an image file (the 5th event)" 'chmod 600 /etc/passwd' metadata /etc/passwd

# The 5th event: it stops by itself, exit 0.
if wait_until 10 gone "$W"; then
	pass "--count 5: watch-one stopped by itself"
else
	fail "--count 5: watch-one still runs 10 s after its 5th event"
fi
stop_bg "$W"
expect_eq "--count 5: exit 0" 0 "$BG_STATUS"
expect_eq "--count 5: five EVENT lines" 5 "$(count_events "$OUT")"
check "--count 5: its summary says 5 events" grep -qx 'watch-one: 5 events' "$ERR"

# The callback ran after each event was journaled: the journal, read
# with the installed command, has the same ids, ops and paths.
JOUT=$("$DEST$PREFIX/sbin/upperwatch" --db "$DB" events --json 2>&1)
expect_eq "the journal == what the callback printed (id op path)" \
    "$(grep '^EVENT ' "$OUT" | cut -d' ' -f2-4 | sort)" \
    "$(jq -r '"\(.id) \(.op) \(.path)"' <<<"$JOUT" 2>/dev/null | sort)"
expect_eq "the journal names the container by its id" "$CID" \
    "$(jq -r .container.id <<<"$JOUT" 2>/dev/null | sort -u)"
expect_eq "the baseline is recorded under the image key, with both layers" \
    "$L2 $L1" "$("$DEST$PREFIX/sbin/upperwatch" --db "$DB" images --json 2>/dev/null | jq -r '.layers | join(" ")')"

# ---- run 2: SIGTERM --------------------------------------------------------------

xc 'echo later > /root/later' || fail "change while not watched"
OUT=$S/run2.out ERR=$S/run2.err
"$S/watch-one" --db "$DB" "$CID" >"$OUT" 2>"$ERR" &
W=$!
cleanup_push "stop_bg $W KILL"
wait_until 30 grep -q "watching container $CID " "$ERR" ||
    fail "run 2: no 'watching container' notice: $(head -c 600 "$ERR")"
# drift made while nobody watched, reported once; nothing of run 1 again
if wait_until 5 has_line "$OUT" "added /root/later"; then
	pass "run 2: the change made between the runs is reported"
else
	fail "run 2: no 'added /root/later': $(cut -d' ' -f3- "$OUT" | tr '\n' ';')"
fi
act "run 2: a change while it watches" 'echo x > /tmp/x2' added /tmp/x2
sleep 0.5
t0=$EPOCHREALTIME
stop_bg "$W" TERM
expect_eq "SIGTERM: exit 0" 0 "$BG_STATUS"
if awk -v d="$(since "$t0")" 'BEGIN { exit !(d < 5) }'; then
	pass "SIGTERM: stopped in $(since "$t0") s"
else
	fail "SIGTERM: took $(since "$t0") s"
fi
expect_eq "run 2: exactly the two new events, nothing of run 1 again" \
    "added /root/later;added /tmp/x2;" "$(cut -d' ' -f3- "$OUT" | sort | tr '\n' ';')"
check "run 2: its summary says 2 events" grep -qx 'watch-one: 2 events' "$ERR"

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
