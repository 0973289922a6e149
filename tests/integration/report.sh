#!/bin/bash
# report: `upperwatch report --html FILE` renders the journal for people,
# checked in headless Chromium (Debian's chromium).
#
#   - A runc container watched with the default policies and one that
#     pauses on /tmp/pause-me: a dropped executable (high), files whose
#     names hold "<script>" and "<img onerror=...>", a newline and a byte that is not
#     UTF-8, a config edit (low), then /tmp/pause-me (paused, evidence).
#   - The report is rendered by Chromium (--dump-dom): per container and
#     severity, the rows in the DOM equal the journal's events, and so do
#     the summary's counts; the page holds no <script> element, and the
#     hostile name is shown as text (escaped); the pause is there with
#     its latency and a link to the evidence copy.
#   - A screenshot is saved beside the binary (report-screenshot.png).
#   - --since in the future gives an empty report; a bad --since and no
#     --html are usage errors (exit 2).
# Needs root, runc, a static busybox, chromium, python3, jq.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc busybox chromium python3 jq
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-rep-$$
C1=$P-c1
RS=$(realpath "$S")
L1=$RS/layers/1
EV=$S/events.jsonl ERR=$S/watch.err
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

mkdir -p "$L1"/{proc,sys,dev,tmp,root,etc,usr/bin}
busybox_layer "$L1" sh echo printf sleep chmod cat || { fail "building the layer"; finish; }
echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
echo v1 >"$L1/etc/app.conf"
mkdir -p "$S/pol"
cat >"$S/pol/pause.lua" <<'LUA'
local uw = require("upperwatch")
return { name = "pause-me", description = "pause on /tmp/pause-me",
  match = { paths = { "/tmp/pause-me" } },
  evaluate = function(ev)
    return uw.verdict("critical", "pause", "the file that pauses")
  end }
LUA

check "$C1: runc container started" run_container "$RS/c1" "$C1" "$L1" "/$P/c1" \
	"while true; do sleep 1; done"
start_upperwatch W "$EV" "$ERR" --db "$S/db" watch --container "$C1" --output "$EV" \
	--policy "$SRC/policies/default" --policy "$S/pol"
wait_until 30 grep -q "watching container $C1 " "$ERR" || { fail "not watching: $(tail -n 3 "$ERR")"; finish; }

xc() { runc_sh "$C1" "$1"; }
check "drop an executable" xc "printf '#!/bin/sh\n' > /usr/bin/dropped; chmod 755 /usr/bin/dropped"
check "hostile names" xc "echo a > '/tmp/<script>alert(1)<img src=x onerror=alert(2)>'; echo b > \"\$(printf '/tmp/line\\nbreak\\377')\""
check "edit a config file" xc "echo v2 >> /etc/app.conf"
nev() { [ "$(wc -l <"$EV")" -ge "$1" ]; }
wait_until 10 nev 4 || fail "fewer than 4 events: $(wc -l <"$EV")"
check "the pausing file" xc "echo p > /tmp/pause-me"
paused() { "$UPPERWATCH" --db "$S/db" events --json | grep -q pause-me && [ "$(runc state "$C1" | jq -r .status)" = paused ]; }
check "the container is paused" wait_until 10 paused
stop_bg "$W"

# ---- the report --------------------------------------------------------------

"$UPPERWATCH" --db "$S/db" report --html "$S/report.html" >"$S/report.out" 2>&1
expect_eq "report --html exits 0" 0 "$?"
check "a page was written" test -s "$S/report.html"
browse() { timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
	--user-data-dir="$S/chromium" "$@" 2>>"$S/chromium.err"; }
browse --dump-dom "file://$S/report.html" >"$S/dom.html"
check "Chromium rendered it" grep -q "upperwatch incident report" "$S/dom.html"

# counts in the DOM beside the journal's
"$UPPERWATCH" --db "$S/db" events --json >"$S/journal.jsonl"
jq -r '"\(.container.id) \(.verdict.severity // "none")"' "$S/journal.jsonl" | sort | uniq -c |
	awk '{ print $2, $3, $1 }' >"$S/want.txt"
python3 - "$S/dom.html" >"$S/got.txt" 2>"$S/dom.err" <<'PY'
import sys
from html.parser import HTMLParser
from collections import Counter

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows = Counter()
        self.summary = {}
        self.scripts = 0
        self.section = None
        self.summary_ctr = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "section":
            self.section = a.get("data-container")
        if tag == "tr" and "ev" in (a.get("class") or "").split():
            self.rows[(self.section, a.get("data-severity"))] += 1
        if tag == "tr" and a.get("class") == "ctr":
            self.summary_ctr = a.get("data-container")
        if tag == "td" and self.summary_ctr and "data-severity" in a:
            self.cur = (self.summary_ctr, a["data-severity"])
    def handle_data(self, data):
        if getattr(self, "cur", None):
            self.summary[self.cur] = int(data)
            self.cur = None

p = P()
p.feed(open(sys.argv[1]).read())
for (c, s), n in sorted(p.rows.items()):
    print(c, s, n)
print("summary", " ".join("%s:%s:%d" % (c, s, n) for (c, s), n in sorted(p.summary.items()) if n))
print("scripts", p.scripts)
PY
expect_eq "rows per container and severity equal the journal's" "$(cat "$S/want.txt")" \
	"$(grep -v '^summary\|^scripts' "$S/got.txt")"
expect_eq "and so do the summary's counts" \
	"$(awk '{ printf "%s%s:%s:%s", (NR > 1 ? " " : ""), $1, $2, $3 }' "$S/want.txt")" \
	"$(sed -n 's/^summary //p' "$S/got.txt")"
expect_eq "the page holds no script element" "scripts 0" "$(grep '^scripts' "$S/got.txt")"
check "the hostile name is shown as text" \
	grep -qF '&lt;script&gt;alert(1)&lt;img src=x onerror=alert(2)&gt;' "$S/dom.html"
check "a newline and a non-UTF-8 byte are shown escaped" grep -q 'line\\nbreak\\xff' "$S/dom.html"
check "the pause, with its latency" grep -q 'pause done</span> by [a-z0-9-]* in [0-9.]* ms' "$S/dom.html"
check "a link to the evidence copy" grep -q "href=\"file://$RS/evidence/[0-9]*/file\"" "$S/dom.html"

SHOT=$(dirname "$UPPERWATCH")/report-screenshot.png
rm -f "$SHOT"
browse --screenshot="$SHOT" --window-size=1280,1400 --hide-scrollbars "file://$S/report.html" >/dev/null
check "a screenshot was saved ($SHOT)" test -s "$SHOT"

# ---- options -------------------------------------------------------------------------

"$UPPERWATCH" --db "$S/db" report --html "$S/empty.html" --since 2099-01-01 >/dev/null 2>&1
check "--since in the future: an empty report" grep -q '<span id="total">0</span> events' "$S/empty.html"
"$UPPERWATCH" --db "$S/db" report --html "$S/x.html" --since soon >/dev/null 2>&1
expect_eq "a bad --since: exit 2" 2 "$?"
"$UPPERWATCH" --db "$S/db" report >/dev/null 2>&1
expect_eq "no --html: exit 2" 2 "$?"
finish
