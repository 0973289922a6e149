#!/bin/bash
# respond_alerts: `watch --alert-url URL` POSTs each alert-level verdict
# in Falco's output format, alerts once per --dedupe window, and an alert
# sink that is down never holds up detection or the journal; the drops
# are reported at shutdown.
#
# One runc container (uwt-resp-<pid>-c1) and a policy that says
# medium/alert (tags uwt-test, drift) for any change under /root (medium:
# high and critical alerts are never deduped).  Sinks are
# python3 processes on 127.0.0.1, each on a port the kernel picked:
#   ok      http.server: records method, path, headers and body of each
#           POST, answers 204.  --dedupe 4:
#             - a new file: one POST, Falco fields (output, priority,
#               rule, time, output_fields, source, tags, hostname) checked
#               against the event;
#             - the same file changed again within the window: reported
#               and journaled, but no second POST;
#             - changed once more after the window: a POST again;
#             - a change the policy says nothing about: no POST;
#             - shutdown: "alerts: 2 sent, 0 dropped ..., 1 held back".
#   refuse  a socket bound but not listening: connections refused.
#   hang    a socket that accepts and never reads or answers.
#   With each of those: 5 new files, one at a time; each is reported
#   within 2 s of its write and journaled within 2 s of that; then
#   SIGTERM: exit 0 within $STOP_LIMIT s, and stderr reports the drops
#   (> 0; and every alert accounted for: sent + dropped + held back = 5).
#
# Needs root, runc, a static busybox, jq, python3, timeout.
# UWT_KEEP=DIR keeps a copy of the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox jq python3 timeout sqlite3
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-resp-$$
C1=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
DB=$RS/db
POL=$S/pol
DEDUPE=4
STOP_LIMIT=15	# s: the 2-s queue drain and one 5-s HTTP timeout, and margin

cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- helpers ---------------------------------------------------------------

# start_runc CID: a container on the layer (run_container); waits until
# its init has run.
start_runc() {
	run_container "$RS/$1" "$1" "$L1" "/$P/$1" \
		"echo up > /tmp/started; exec sleep 100000" &&
		wait_until 10 test -s "$RS/$1/upper/tmp/started"
}

# xc COMMAND: run COMMAND with sh -c in the container (bounded).
xc() { runc_sh -t 20 "$C1" "$1"; }

# start_sink MODE NAME: a python3 sink in the background; its port in
# PORT, its pid in SINK.  Requests go to $S/NAME.req (JSON lines).
start_sink() {
	local mode=$1 name=$2
	python3 -u "$S/sink.py" "$mode" "$S/$name.port" "$S/$name.req" >"$S/$name.log" 2>&1 &
	SINK=$!
	cleanup_push "stop_bg $SINK"
	wait_until 10 test -s "$S/$name.port" || return 1
	PORT=$(cat "$S/$name.port")
}

# start_watch NAME ARGS...: the daemon on c1 (events $S/NAME.jsonl,
# notices $S/NAME.err, journal $DB); pid in W.
start_watch() {
	local name=$1
	shift
	EV=$S/$name.jsonl ERR=$S/$name.err
	: >"$EV"
	"$UPPERWATCH" --db "$DB" watch --container "$C1" --policy "$POL" --output "$EV" "$@" 2>"$ERR" &
	W=$!
	cleanup_push "stop_bg $W KILL"
	wait_until 20 grep -q "watching container $C1 " "$ERR"
}

# exited PID: the process is gone or a zombie.
exited() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}

# stop_watch WHAT: SIGTERM; pass if it exits 0 within $STOP_LIMIT s
# (else SIGKILL, and return 1).  Sets STOP_S.
stop_watch() {
	local what=$1 t0=$EPOCHREALTIME st
	kill -TERM "$W" 2>/dev/null
	if wait_until "$STOP_LIMIT" exited "$W"; then
		wait "$W"
		st=$?
		STOP_S=$(elapsed "$t0")
		expect_eq "$what: SIGTERM, exit 0 (after $STOP_S s)" 0 "$st"
	else
		STOP_S=$(elapsed "$t0")
		kill -KILL "$W" 2>/dev/null
		{ wait "$W"; } 2>/dev/null
		fail "$what: still running $STOP_S s after SIGTERM (killed); last notices: $(tail -n 2 "$ERR" | tr '\n' ';')"
		return 1
	fi
}

# event_of PATH OP [AFTER]: the last event line for OP PATH (with an id
# above AFTER).
event_of() {
	jq -c --arg p "$1" --arg op "$2" --argjson after "${3:-0}" \
	    'select(.path == $p and .op == $op and .id > $after)' "$EV" 2>/dev/null | tail -n 1
}
has_event() { [ -n "$(event_of "$@")" ]; }
last_id() { jq -r .id "$EV" 2>/dev/null | sort -n | tail -n 1; }
in_journal() {
	timeout -k 2 10 "$UPPERWATCH" --db "$DB" events --json --container "$C1" 2>/dev/null |
	    jq -e --argjson id "$1" 'select(.id == $id)' >/dev/null 2>&1
}
# posts FILE PATH: the alerts received for PATH.
posts() { jq -c --arg p "$2" 'select(.body.output_fields["fd.name"] == $p)' "$1" 2>/dev/null; }
nposts() { posts "$1" "$2" | wc -l; }
has_posts() { [ "$(nposts "$1" "$2")" -ge "$3" ]; }

# act WHAT COMMAND PATH OP: run COMMAND in c1; a new event OP PATH within
# 2 s of its end, in the journal within 2 s of that.  Sets ID.
act() {
	local what=$1 t0 t1 after
	ID=
	after=$(last_id)
	xc "$2" || { fail "$what: runc exec failed"; return; }
	t0=$EPOCHREALTIME
	if wait_until 5 has_event "$3" "$4" "${after:-0}"; then
		t1=$EPOCHREALTIME
		ID=$(event_of "$3" "$4" "${after:-0}" | jq -r .id)
		if awk -v d="$(elapsed "$t0" "$t1")" 'BEGIN { exit !(d <= 2.0) }'; then
			pass "$what: $4 $3 reported in $(elapsed "$t0" "$t1") s"
		else
			fail "$what: $4 $3 reported only after $(elapsed "$t0" "$t1") s (> 2 s)"
		fi
		if wait_until 2 in_journal "$ID"; then
			pass "$what: event $ID journaled $(elapsed "$t1") s after it was reported"
		else
			fail "$what: event $ID not in the journal 2 s after it was reported"
		fi
	else
		fail "$what: no '$4 $3' event within 5 s: $(tail -n 2 "$ERR" | tr '\n' ';')"
	fi
}

# alert_stats ERRFILE: "SENT DROPPED HELD" from the shutdown notice.
alert_stats() {
	sed -n 's/^.* upperwatch: \(WARNING: \)\{0,1\}alerts: \([0-9]*\) sent, \([0-9]*\) dropped .*, \([0-9]*\) held back .*$/\2 \3 \4/p' "$1" |
	    tail -n 1
}

# ---- the sinks -------------------------------------------------------------

cat >"$S/sink.py" <<'EOF'
import json, os, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode, portfile, reqfile = sys.argv[1:4]

def announce(port):
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, portfile)

if mode == "ok":
    lock = threading.Lock()
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            rec = {"method": "POST", "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body}
            with lock, open(reqfile, "a") as f:
                f.write(json.dumps(rec) + "\n")
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        def log_message(self, *a):
            pass
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    announce(srv.server_address[1])
    srv.serve_forever()
elif mode == "refuse":
    # bound, never listening: every connect is refused, and no one else
    # can take the port meanwhile
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    announce(s.getsockname()[1])
    while True:
        time.sleep(3600)
elif mode == "hang":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    announce(s.getsockname()[1])
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)		# never read, never answered, never closed
        with open(reqfile, "a") as f:
            f.write(json.dumps({"accepted": len(held)}) + "\n")
EOF

# ---- the container and the policy ----------------------------------------

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root}
(
	set -e
	busybox_layer "$L1" sh ls cat echo sleep touch rm mkdir mv chmod ln head cp true
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
) || fail "building the layer failed"
mkdir -p "$POL"
cat >"$POL/alert.lua" <<'EOF'
local uw = require("upperwatch")
return { name = "alert-root", description = "alert on any change under /root",
  evaluate = function(ev)
    if uw.under(ev.path, "/root") then
      return uw.verdict("medium", "alert", "changed under /root",
        { tags = { "uwt-test", "drift" } })
    end
  end }
EOF

if ! start_runc "$C1"; then
	fail "$C1: runc container did not start"
	finish
fi
pass "$C1: runc container started"

# ---- a sink that answers -----------------------------------------------------

if ! start_sink ok ok; then
	fail "the http sink did not start: $(cat "$S/ok.log")"
	finish
fi
URL=http://127.0.0.1:$PORT/falco
if start_watch ok --alert-url "$URL" --dedupe "$DEDUPE"; then
	pass "watch --alert-url $URL --dedupe $DEDUPE: watching"
else
	fail "no 'watching container' notice: $(head -c 600 "$S/ok.err")"
	finish
fi
REQ=$S/ok.req

act "ok sink" 'echo one > /root/a' /root/a added
ID_A=$ID
TA=$EPOCHREALTIME	# the dedupe window began about now (within 2 s before)
if wait_until 5 has_posts "$REQ" /root/a 1; then
	pass "ok sink: the alert for /root/a arrived"
else
	fail "ok sink: no alert for /root/a within 5 s: $(head -c 300 "$REQ" 2>/dev/null) $(tail -n 2 "$S/ok.err")"
fi
A=$(posts "$REQ" /root/a | head -n 1)
EVA=$(event_of /root/a added)
expect_eq "POST to the URL's path, Content-Type application/json" "POST /falco application/json" \
    "$(jq -r '"\(.method) \(.path) \(.headers["content-type"])"' <<<"$A")"
expect_eq "Falco fields: exactly output, priority, rule, time, output_fields, source, tags, hostname" \
    "hostname output output_fields priority rule source tags time" \
    "$(jq -r '.body | keys_unsorted | sort | join(" ")' <<<"$A")"
expect_eq "rule = the policy, priority = Warning (Falco's for medium), source upperwatch" \
    "alert-root Warning upperwatch" "$(jq -r '.body | "\(.rule) \(.priority) \(.source)"' <<<"$A")"
expect_eq "tags = the verdict's tags" '["uwt-test","drift"]' "$(jq -c .body.tags <<<"$A")"
expect_eq "hostname = this host's" "$(hostname)" "$(jq -r .body.hostname <<<"$A")"
# the raw line: jq would round the ns to a double
t=$(grep "\"path\":\"/root/a\".*\"id\":$ID_A}\$" "$EV" | grep -o '"time":[0-9]*' | tail -n 1 | cut -d: -f2)
expect_eq "time = the event's time, RFC 3339 in UTC with ns" \
    "$(date -u -d "@$((t / 1000000000))" +%Y-%m-%dT%H:%M:%S).$(printf %09d $((t % 1000000000)))Z" \
    "$(jq -r .body.time <<<"$A")"
expect_eq "output_fields: container.id, fd.name, evt.type, severity, action, event id, policy set" \
    "$C1 /root/a added medium alert $ID_A $(jq -r .verdict.policy_set <<<"$EVA")" \
    "$(jq -r '.body.output_fields | "\(.["container.id"]) \(.["fd.name"]) \(.["evt.type"]) \(.["upperwatch.severity"]) \(.["upperwatch.action"]) \(.["upperwatch.event_id"]) \(.["upperwatch.policy_set"])"' <<<"$A")"
if jq -r .body.output <<<"$A" | grep -q -e "$C1.*/root/a.*changed under /root"; then
	pass "output: names the container, the path and the reason"
else
	fail "output does not name the container, the path and the reason: $(jq -r .body.output <<<"$A")"
fi

# dedupe: the same file again, within the window
# (still "added": the image has no /root/a; a new hash)
act "dedupe" 'echo two >> /root/a' /root/a added
ID_A2=$ID
T2=$EPOCHREALTIME	# it was reported (and journaled) by now
sleep 1.5
expect_eq "dedupe: changed again within ${DEDUPE} s: reported, but still one alert" 1 "$(nposts "$REQ" /root/a)"
check "dedupe: the second change was within the window" \
    awk -v d="$(elapsed "$TA" "$T2")" -v w="$DEDUPE" 'BEGIN { exit !(d < w) }'
expect_eq "dedupe: both events journaled with verdict alert" "alert alert" \
    "$(sql "$DB" "SELECT action FROM events WHERE id IN (${ID_A:-0}, ${ID_A2:-0}) ORDER BY id" | tr '\n' ' ' | sed 's/ $//')"
# after the window: alerts again
wait_until $((DEDUPE + 3)) awk -v d="$(elapsed "$TA")" -v w="$DEDUPE" 'BEGIN { exit !(d > w + 0.5) }'
act "after the window" 'echo three >> /root/a' /root/a added
ID_A3=$ID
if wait_until 5 has_posts "$REQ" /root/a 2; then
	pass "after the ${DEDUPE}-s window: a second alert"
	expect_eq "the second alert is the third change's (event id)" "$ID_A3 added" \
	    "$(posts "$REQ" /root/a | tail -n 1 | jq -r '.body.output_fields | "\(.["upperwatch.event_id"]) \(.["evt.type"])"')"
else
	fail "after the ${DEDUPE}-s window: no second alert for /root/a"
fi
# below alert: no POST
act "a change the policy does not alert on" 'echo x > /tmp/other' /tmp/other added
sleep 1
expect_eq "no alert for a log-level verdict (/tmp/other)" 0 "$(nposts "$REQ" /tmp/other)"
stop_watch "ok sink"
expect_eq "ok sink: shutdown notice: 2 sent, 0 dropped, 1 held back" "2 0 1" "$(alert_stats "$S/ok.err")"
expect_eq "ok sink: exactly 2 POSTs in all" 2 "$(wc -l <"$REQ")"
stop_bg "$SINK"

# ---- sinks that are down -------------------------------------------------------

# down MODE: five alerts into a sink of that mode.
down() {
	local mode=$1 i st n
	if ! start_sink "$mode" "$mode"; then
		fail "$mode sink did not start: $(cat "$S/$mode.log")"
		return
	fi
	if ! start_watch "$mode" --alert-url "http://127.0.0.1:$PORT/falco" --dedupe 60; then
		fail "$mode sink: no 'watching container' notice: $(head -c 600 "$S/$mode.err")"
		return
	fi
	for i in 1 2 3 4 5; do
		act "$mode sink, alert $i" "echo $i > /root/$mode$i" "/root/$mode$i" added
	done
	[ "$mode" = hang ] && expect_eq "hang sink: the daemon did connect" yes \
	    "$(test -s "$S/hang.req" && echo yes || echo no)"
	check "$mode sink: the daemon still runs" kill -0 "$W"
	stop_watch "$mode sink" || { stop_bg "$SINK"; return; }	# killed: it could not report
	st=$(alert_stats "$S/$mode.err")
	echo "# $mode sink: shutdown took $STOP_S s; notice: $(grep 'alerts:' "$S/$mode.err" | tail -n 1 | sed 's/^.*upperwatch: //')"
	if [ -z "$st" ]; then
		fail "$mode sink: no 'alerts: N sent, N dropped ...' notice on stderr at shutdown (5 alerts were raised, none sent)"
	else
		n=${st#* }
		n=${n%% *}
		check "$mode sink: at shutdown, $n alerts reported dropped (> 0)" test "$n" -gt 0
		expect_eq "$mode sink: every alert accounted for: sent + dropped + held back = 5" 5 \
		    "$(awk '{ print $1 + $2 + $3 }' <<<"$st")"
		expect_eq "$mode sink: 0 sent" 0 "${st%% *}"
	fi
	stop_bg "$SINK"
}
down refuse
down hang

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
