#!/bin/bash
# evasion_respond: a hostile container can neither hide a change from
# the alert sink nor turn the evidence taken of it against the host.
# Each attack beside a control that shows the check can fail.
#
# Containers uwt-evresp-<pid>-c1 and -c2 (runc on an overlay of one
# busybox layer; cgroups under /uwt-evresp-<pid>).  A python3 HTTP sink
# on 127.0.0.1 records each POST's body.
#
# (a) c1, `watch --alert-url --dedupe 12` with the default
#     sensitive-files policy and one saying medium/alert for /burst/*:
#     - a file named with a newline, ESC and DEL: its alert's output has
#       them escaped (control: fd.name holds the raw newline);
#     - 59 more files (60 medium alerts in all), then /etc/shadow
#       written: the critical alert arrives (control: a 61st medium one
#       is held back, so the limit was in force);
#     - "burst summary on a timer": once the window ends, with no alert
#       after it, the summary of the 11 held back arrives (needs the
#       watcher to call alert_tick);
#     - at shutdown: exactly one summary in all, nothing lost unsaid.
# c2, a policy saying critical/pause for /pause-*; each case a daemon of
# its own, a file dropped, then `runc resume`:
# (b0) control: a fresh evidence dir: made 0700, the copy taken, the
#     journal names it.  The daemon runs with a runc wrapper first in its
#     PATH: the pause is the cgroup's freeze, and no runc is started.
# (b1) evidence dir owned by nobody, (b2) mode 0777, (b3) its parent
#     0777: refused with a one-line "evidence missing: ..." notice,
#     nothing written into it, the pause still done (runc state paused),
#     the response journaled done with no evidence path.
# (c) the database removed between two daemons sharing an evidence dir:
#     the same event id again (control), a new evidence dir beside the
#     old one, the old copy and metadata intact.
# (d) symlinks planted in the evidence dir at <id> and <id>-1 for every
#     id the event could get: neither followed (their targets stay
#     untouched), the copy lands in <id>-2 (control: <id> was planted).
# (e) evidence dir on a 64 KiB tmpfs, a 300 KB file dropped: "evidence
#     missing: No space left on device", the pause done, no evidence path
#     (control: the file is larger than the tmpfs).
#
# Needs root, runc, a static busybox, jq, python3, sqlite3, timeout.
# UWT_KEEP=DIR keeps a copy of the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq python3 timeout sqlite3
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"
id nobody >/dev/null 2>&1 || skip "needs a user 'nobody'"

umask 022
export LC_ALL=C
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
P=uwt-evresp-$$
C1=$P-c1 C2=$P-c2
RS=$(realpath "$S")
L1=$RS/layers/1
POL_BURST=$S/pol-burst POL_PAUSE=$S/pol-pause
WIN=12		# s: the dedupe and burst window of (a)
REAL_RUNC=$(command -v runc)

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- helpers ---------------------------------------------------------------

# start_runc CID: a container on the layer; waits until its init has run.
start_runc() {
	run_container "$RS/$1" "$1" "$L1" "/$P/$1" \
		"echo up > /tmp/started; exec sleep 100000" &&
		wait_until 10 test -s "$RS/$1/upper/tmp/started"
}

# xc CID COMMAND: sh -c COMMAND in the container (bounded).
xc() { runc_sh -t 20 "$1" "$2"; }

# start_watch NAME DB ARGS...: `upperwatch --db DB watch ARGS` in the
# background (events $S/NAME.jsonl, notices $S/NAME.err); pid in W.
# With WRAP_PATH set, the daemon runs with PATH=$WRAP_PATH; DPATH gets
# the PATH it runs with.
path_of() { DPATH=$(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^PATH=//p'); [ -n "$DPATH" ]; }
start_watch() {
	local name=$1 db=$2
	shift 2
	EV=$S/$name.jsonl ERR=$S/$name.err
	: >"$EV"
	if [ -n "${WRAP_PATH:-}" ]; then
		PATH=$WRAP_PATH "$UPPERWATCH" --db "$db" watch --output "$EV" "$@" 2>"$ERR" &
	else
		"$UPPERWATCH" --db "$db" watch --output "$EV" "$@" 2>"$ERR" &
	fi
	W=$!
	cleanup_push "stop_bg $W KILL"
	# (polled: the child execs after the fork)
	DPATH=
	[ -z "${WRAP_PATH:-}" ] || wait_until 5 path_of "$W"
	wait_until 20 grep -q "watching container " "$ERR"
}

event_of() {
	jq -c --arg p "$1" 'select(.path == $p)' "$EV" 2>/dev/null | tail -n 1
}
has_event() { [ -n "$(event_of "$1")" ]; }
state_of() { runc state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }

# The sink's record of the bodies: one JSON object a line.
REQ=$S/sink.req
posts_for() { jq -c --arg p "$1" 'select(.output_fields["fd.name"] == $p)' "$REQ" 2>/dev/null; }
nposts_under() {
	jq -r --arg d "$1/" 'select((.output_fields["fd.name"] // "") | startswith($d)) | 1' "$REQ" 2>/dev/null | wc -l
}
nsummaries() { jq -r 'select(.rule == "upperwatch burst summary") | 1' "$REQ" 2>/dev/null | wc -l; }
at_least() { [ "$("$1" "${@:3}")" -ge "$2" ]; }
nburst_events() { jq -r 'select(.path | startswith("/burst/")) | 1' "$EV" 2>/dev/null | wc -l; }

# responses DB EVENT_ID: "action|method|outcome|evidence" rows.
responses() {
	sql "$1" "SELECT action, ifnull(method, ''), outcome, ifnull(evidence, '')
	    FROM responses WHERE event_id = $2 ORDER BY id"
}
has_response() { [ -n "$(responses "$1" "$2")" ]; }

# ---- the layer, the policies, the sink ---------------------------------------

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,opt,burst}
(
	set -e
	busybox_layer "$L1" sh ls cat echo sleep touch rm mkdir cp printf test [ true
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	echo 'root:*:19000:0:99999:7:::' >"$L1/etc/shadow"
	head -c 4000 /dev/urandom >"$L1/opt/p1"
	head -c 5000 /dev/urandom >"$L1/opt/p2"
	head -c 300000 /dev/urandom >"$L1/opt/big"
) || fail "building the layer failed"

mkdir -p "$POL_BURST" "$POL_PAUSE"
cat >"$POL_BURST/burst.lua" <<'EOF'
local uw = require("upperwatch")
return { name = "burst-medium", description = "medium alert under /burst",
  evaluate = function(ev)
    if uw.under(ev.path, "/burst") and ev.path ~= "/burst" then
      return uw.verdict("medium", "alert", "new file under /burst")
    end
  end }
EOF
cat >"$POL_PAUSE/pause.lua" <<'EOF'
local uw = require("upperwatch")
return { name = "pause-drop", description = "pause on /pause-*",
  evaluate = function(ev)
    if ev.op == "added" and uw.glob(ev.path, "/pause-*") then
      return uw.verdict("critical", "pause", "dropped")
    end
  end }
EOF

cat >"$S/sink.py" <<'EOF'
import json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, reqfile = sys.argv[1:3]
lock = threading.Lock()

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        with lock, open(reqfile, "a") as f:
            f.write(json.dumps(body) + "\n")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
EOF

# ---- (a) a burst must not hide a critical alert ------------------------------

if ! start_runc "$C1"; then
	fail "$C1: runc container did not start"
	finish
fi
pass "$C1: runc container started"

python3 -u "$S/sink.py" "$S/sink.port" "$REQ" >"$S/sink.log" 2>&1 &
SINK=$!
cleanup_push "stop_bg $SINK"
if ! wait_until 10 test -s "$S/sink.port"; then
	fail "the HTTP sink did not start: $(cat "$S/sink.log")"
	finish
fi
: >>"$REQ"
URL=http://127.0.0.1:$(cat "$S/sink.port")/
mkdir -p "$RS/db-a"
if start_watch burst "$RS/db-a/db" --container "$C1" --alert-url "$URL" \
    --dedupe "$WIN" --policy "$SRC/policies/default/sensitive-files.lua" \
    --policy "$POL_BURST"; then
	pass "(a) watch --alert-url --dedupe $WIN: watching $C1"
else
	fail "(a) no 'watching container' notice: $(head -c 600 "$S/burst.err")"
	finish
fi

# The first cheap alert: a name made to forge a line and a terminal escape.
T_START=$EPOCHREALTIME	# the burst window begins after this
xc "$C1" 'touch "/burst/x$(printf "\nforged: critical\033[2J\177")"' ||
    fail "(a) runc exec: evil name"
EVIL=$(printf '/burst/x\nforged: critical\033[2J\177')
if wait_until 5 at_least nposts_under 1 /burst; then
	out=$(posts_for "$EVIL" | head -n 1 | jq -r .output)
	expect_eq "(a) control: fd.name carries the raw newline, ESC and DEL" 1 \
	    "$(posts_for "$EVIL" | wc -l)"
	if [ -n "$out" ] && [ "$(printf '%s' "$out" | wc -l)" = 0 ] &&
	    ! printf '%s' "$out" | LC_ALL=C grep -q '[[:cntrl:]]'; then
		pass "(a) the alert's output has no control character"
	else
		fail "(a) the alert's output has control characters: $(printf '%s' "$out" | od -c | head -n 3)"
	fi
	check "(a) output escapes them: x\\nforged: critical\\x1b[2J\\x7f" \
	    grep -qF 'x\nforged: critical\x1b[2J\x7f' <<<"$out"
else
	fail "(a) no alert for the evil name within 5 s: $(tail -n 2 "$S/burst.err")"
fi

# 59 more: 60 medium alerts within the window, 50 of them go out.
xc "$C1" 'i=2; while [ $i -le 60 ]; do echo $i > /burst/f$i; i=$((i + 1)); done' ||
    fail "(a) runc exec: 59 files"
wait_until 10 at_least nburst_events 60 ||
    fail "(a) only $(nburst_events) of 60 /burst events reported"
wait_until 5 at_least nposts_under 50 /burst
sleep 1
expect_eq "(a) 60 medium alerts in a window: 50 delivered" 50 "$(nposts_under /burst)"

# The attack: a critical change right after the flood.
xc "$C1" 'echo "root:\$6\$pwned:19000:0:99999:7:::" > /etc/shadow' ||
    fail "(a) runc exec: /etc/shadow"
shadow_posted() { [ -n "$(posts_for /etc/shadow)" ]; }
if wait_until 5 shadow_posted; then
	pass "(a) after 60 cheap alerts, the critical /etc/shadow alert arrives"
	expect_eq "(a) its priority and rule" "Critical sensitive-files" \
	    "$(posts_for /etc/shadow | head -n 1 | jq -r '"\(.priority) \(.rule)"')"
else
	fail "(a) the critical /etc/shadow alert was suppressed by the burst: $(grep -c . "$REQ") POSTs"
fi

# Control: the burst limit is in force for cheap alerts.
xc "$C1" 'echo 61 > /burst/f61' || fail "(a) runc exec: f61"
wait_until 5 has_event /burst/f61 || fail "(a) no event for /burst/f61"
sleep 1.5
expect_eq "(a) control: a 61st medium alert is held back" 0 "$(posts_for /burst/f61 | wc -l)"
check "(a) all of that within one ${WIN}-s window (elapsed $(elapsed "$T_START") s)" \
    awk -v d="$(elapsed "$T_START")" -v w="$WIN" 'BEGIN { exit !(d < w - 1) }'

# burst summary on a timer: no alert after this; the window ends.
left=$(awk -v d="$(elapsed "$T_START")" -v w="$WIN" 'BEGIN { printf "%.1f", w - d + 4 }')
if wait_until "$left" at_least nsummaries 1; then
	pass "burst summary on a timer: it arrived $(elapsed "$T_START") s after the burst began, no alert needed"
	check "burst summary on a timer: it counts the 11 held back" \
	    grep -q '11 more alerts from container' <<<"$(jq -r 'select(.rule == "upperwatch burst summary") | .output' "$REQ")"
else
	fail "burst summary on a timer: none $(elapsed "$T_START") s after the burst began (window ${WIN} s); the watcher must call alert_tick"
fi
stop_bg "$W"
expect_eq "(a) SIGTERM, exit 0" 0 "$BG_STATUS"
sleep 0.5
expect_eq "(a) at shutdown: one summary in all, none lost" 1 "$(nsummaries)"
check "(a) the summary names the container and the count" \
    grep -q "11 more alerts from container $C1" <<<"$(jq -r 'select(.rule == "upperwatch burst summary") | .output' "$REQ")"

# ---- c2: evidence ------------------------------------------------------------

if ! start_runc "$C2"; then
	fail "$C2: runc container did not start"
	finish
fi
pass "$C2: runc container started"

# pause_case NAME DB EVDIR PAYLOAD DEST [ARGS...]: a daemon on c2 with
# the pause policy and that evidence dir; DEST dropped (a copy of
# /opt/PAYLOAD); waits for the pause and the journal row, stops the
# daemon, resumes c2, removes DEST.  Sets ID (the event) and ROW.
pause_case() {
	local name=$1 db=$2 evd=$3 payload=$4 dest=$5 xpid
	shift 5
	ID= ROW=
	mkdir -p "$(dirname "$db")"
	if ! start_watch "$name" "$db" --container "$C2" --policy "$POL_PAUSE" \
	    --evidence-dir "$evd" "$@"; then
		fail "$name: no 'watching container' notice: $(head -c 600 "$ERR")"
		return 1
	fi
	timeout -k 2 30 runc exec "$C2" cp "/opt/$payload" "$dest" </dev/null >"$S/exec.out" 2>&1 &
	xpid=$!
	if wait_until 5 is_state "$C2" paused; then
		pass "$name: $C2 paused (runc state)"
	else
		fail "$name: $C2 not paused within 5 s: $(state_of "$C2"); $(tail -n 3 "$ERR" | tr '\n' ';')"
	fi
	if wait_until 5 has_event "$dest"; then
		ID=$(event_of "$dest" | jq -r .id)
		wait_until 5 has_response "$db" "$ID"
		ROW=$(responses "$db" "$ID")
	else
		fail "$name: no event for $dest"
	fi
	stop_bg "$W"
	expect_eq "$name: SIGTERM, exit 0" 0 "$BG_STATUS"
	runc resume "$C2" >/dev/null 2>&1
	wait_until 5 is_state "$C2" running || fail "$name: $C2 not running after resume"
	wait "$xpid" 2>/dev/null
	xc "$C2" "rm -f $dest" || fail "$name: could not remove $dest"
}

# refused NAME EVDIR WHY: the evidence dir refused, the pause done anyway.
refused() {
	local name=$1 evd=$2 why=$3
	pause_case "$name" "$RS/db-$name/db" "$evd" p1 "/pause-$name"
	expect_eq "$name: journal: the pause done through runc, no evidence path" \
	    "pause|runc|done|" "$ROW"
	if grep -q "evidence missing: .*$why" "$ERR"; then
		pass "$name: notice: $(grep -o "evidence missing: .*" "$ERR" | head -n 1)"
	else
		fail "$name: no 'evidence missing: ...$why' notice: $(tail -n 3 "$ERR" | tr '\n' ';')"
	fi
	expect_eq "$name: one line" 1 "$(grep -c 'evidence missing' "$ERR")"
	expect_eq "$name: nothing written into the refused dir" "" "$(ls -A "$evd")"
}

# (b0) control, and no runtime child for a runc pause.
mkdir -p "$S/bin"
# every run of runc by the daemon leaves a file
cat >"$S/bin/runc" <<WRAPPER
#!/bin/sh
echo "\$*" >>"$S/runc-ran.\$\$"
exec "$REAL_RUNC" "\$@"
WRAPPER
chmod 755 "$S/bin/runc"
EVD0=$RS/ev-b0
WRAP_PATH=$S/bin:$PATH
pause_case b0 "$RS/db-b0/db" "$EVD0" p1 /pause-b0
DAEMON_PATH=$DPATH
WRAP_PATH=
expect_eq "b0: journal: the pause done, with the evidence" \
    "pause|runc|done|$EVD0/$ID/file" "$ROW"
check "b0: the evidence is the dropped file's bytes" cmp -s "$L1/opt/p1" "$EVD0/$ID/file"
expect_eq "b0: evidence dir, its event dir and the copy: 700 700 600, root" \
    "700 0 700 0 600 0" \
    "$(stat -c '%a %u' "$EVD0" "$EVD0/$ID" "$EVD0/$ID/file" | tr '\n' ' ' | sed 's/ $//')"
check "b0: metadata.json names the event" \
    test "$(jq -r .event.id "$EVD0/$ID/metadata.json" 2>/dev/null)" = "$ID"
# runc's pause is its cgroup's freeze: done directly, no runc started
# (the fds a runtime child gets are test_respond's)
expect_eq "b0: the daemon started no runc for the pause" "" \
    "$(cat "$S"/runc-ran.* 2>/dev/null)"
expect_eq "b0: control: the daemon ran with the wrapper's dir first in its PATH" \
    "$S/bin" "${DAEMON_PATH%%:*}"
check "b0: control: the wrapper records a run of runc" \
    sh -c "PATH='$S/bin:$PATH' runc state '$C2' >/dev/null && cat '$S'/runc-ran.* | grep -q '^state '"
rm -f "$S"/runc-ran.*

# (b1) another user's dir.
EVD1=$RS/ev-b1
mkdir -m 0700 "$EVD1" && chown nobody "$EVD1"
refused b1 "$EVD1" "owned by uid $(id -u nobody)"
# (b2) everyone may write it.
EVD2=$RS/ev-b2
mkdir "$EVD2" && chmod 0777 "$EVD2"
refused b2 "$EVD2" "writable by group or others (mode 0777)"
# (b3) its parent: everyone may swap it.
mkdir -p "$RS/open/ev-b3" && chmod 0777 "$RS/open" && chmod 0700 "$RS/open/ev-b3"
refused b3 "$RS/open/ev-b3" "a parent of the evidence dir, .*writable by group or others"

# (c) a database reset must not overwrite the evidence of before.
EVC=$RS/ev-c
pause_case c1 "$RS/db-c/db" "$EVC" p1 /pause-c
ID_C1=$ID
expect_eq "c: first daemon: the evidence in <id>" "pause|runc|done|$EVC/$ID_C1/file" "$ROW"
sum_before=$(cd "$EVC/$ID_C1" 2>/dev/null && sha256sum file metadata.json)
rm -f "$RS/db-c/db" "$RS/db-c/db-wal" "$RS/db-c/db-shm" "$RS/db-c/db-journal"
check "c: the database is gone" test ! -e "$RS/db-c/db"
pause_case c2 "$RS/db-c/db" "$EVC" p2 /pause-c
expect_eq "c: control: after the reset the event id is the same again" "$ID_C1" "$ID"
expect_eq "c: second daemon: the evidence in a new dir <id>-1" \
    "pause|runc|done|$EVC/$ID-1/file" "$ROW"
check "c: the new evidence is the second file" cmp -s "$L1/opt/p2" "$EVC/$ID-1/file"
check "c: the old evidence is intact (file and metadata.json)" \
    test "$(cd "$EVC/$ID_C1" 2>/dev/null && sha256sum file metadata.json)" = "$sum_before"
check "c: and still the first file's bytes" cmp -s "$L1/opt/p1" "$EVC/$ID_C1/file"

# (d) symlinks planted where an event dir could land.
EVD=$RS/ev-d
mkdir -m 0700 "$EVD" "$RS/trap-dir"
for i in $(seq 1 400); do
	ln -s "$RS/trap-dir" "$EVD/$i"
	ln -s "$RS/trap-file" "$EVD/$i-1"
done
pause_case d "$RS/db-d/db" "$EVD" p1 /pause-d
check "d: control: <id> ($ID) was a planted symlink" test -L "$EVD/$ID"
expect_eq "d: the evidence went to <id>-2, the first free name" \
    "pause|runc|done|$EVD/$ID-2/file" "$ROW"
check "d: <id>-2 is a real dir holding the copy" \
    sh -c "[ -d '$EVD/$ID-2' ] && [ ! -L '$EVD/$ID-2' ] && cmp -s '$L1/opt/p1' '$EVD/$ID-2/file'"
expect_eq "d: the symlinks' targets untouched" "" \
    "$(ls -A "$RS/trap-dir"; ls "$RS/trap-file" 2>/dev/null)"
check "d: the planted symlinks are still symlinks" \
    sh -c "[ -L '$EVD/$ID' ] && [ -L '$EVD/$ID-1' ]"

# (e) a full disk.
EVE=$RS/ev-e
mkdir -p "$EVE"
if mount -t tmpfs -o size=64k,mode=0700 uwt-evresp "$EVE"; then
	cleanup_push "umount -l '$EVE'"
	check "e: control: the file (300000 bytes) is larger than the tmpfs" \
	    test "$(stat -f -c '%b * %S' "$EVE" | xargs expr)" -lt 300000
	pause_case e "$RS/db-e/db" "$EVE" big /pause-e
	expect_eq "e: journal: the pause done, no evidence path" "pause|runc|done|" "$ROW"
	if grep -q "evidence missing: No space left on device" "$ERR"; then
		pass "e: notice: $(grep -o "evidence missing: .*" "$ERR" | head -n 1)"
	else
		fail "e: no 'evidence missing: No space left on device' notice: $(tail -n 3 "$ERR" | tr '\n' ';')"
	fi
	check "e: no partial copy left" test -z "$(ls "$EVE"/*/file 2>/dev/null)"
	umount "$EVE"
else
	fail "e: cannot mount a tmpfs"
fi

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
