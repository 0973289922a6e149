#!/bin/bash
# upperwatch status and the Prometheus textfile against a running
# daemon watching a real overlay upper dir.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd jq

mkdir -p "$S/l/etc" "$S/u" "$S/w" "$S/m"
echo v1 >"$S/l/etc/app.conf"
"$UPPERWATCH" --db "$S/db" baseline -q --image st --rootfs "$S/l" >/dev/null
mount_overlay "$S/l" "$S/u" "$S/w" "$S/m"

"$UPPERWATCH" --db "$S/db" watch --upper "$S/u" --image st \
	--output "$S/events.jsonl" 2>"$S/err.log" &
pid=$!
cleanup_push "kill $pid"
for _ in $(seq 100); do grep -q "watching container" "$S/err.log" && break; sleep 0.1; done

for i in 1 2 3 4 5; do echo "$i" >"$S/m/etc/new$i"; done
echo changed >>"$S/m/etc/app.conf"
for _ in $(seq 100); do [ "$(wc -l <"$S/events.jsonl")" -ge 6 ] && break; sleep 0.1; done
expect_eq "six events reported" 6 "$(wc -l <"$S/events.jsonl")"

# The status is rewritten every 5 s: wait for one that counts them.
for _ in $(seq 150); do
	n=$(jq -r .events_total "$S/status.json" 2>/dev/null)
	[ "$n" = 6 ] && break
	sleep 0.1
done
out=$("$UPPERWATCH" --db "$S/db" status --json)
expect_eq "status: exit 0 while the daemon runs" 0 $?
expect_eq "status: running" true "$(jq -r .running <<<"$out")"
expect_eq "status: the daemon's pid" "$pid" "$(jq -r .pid <<<"$out")"
expect_eq "status: events" 6 "$(jq -r .events_total <<<"$out")"
expect_eq "status: one container" 1 "$(jq -r '.containers | length' <<<"$out")"
# An upper dir watched alone is no overlay mount: nothing may be marked
# for fanotify, or every write of the disk below it (the daemon's own
# journal and output among them) comes back as an event to map and a
# rescan of the container.
expect_eq "status: an upper dir alone: no fanotify event from the disk below" "0 0" \
	"$(jq -r '"\(.fanotify_events) \(.fanotify_unmapped)"' <<<"$out")"
check "status: it holds watches" test "$(jq -r .watches <<<"$out")" -ge 2
expect_eq "status: the limit is the sysctl" \
	"$(cat /proc/sys/fs/inotify/max_user_watches)" "$(jq -r .watch_limit <<<"$out")"
expect_eq "status: the policy set of the events" \
	"$(jq -r .verdict.policy_set "$S/events.jsonl" | head -1)" \
	"$(jq -r .policy_set <<<"$out")"
text=$("$UPPERWATCH" --db "$S/db" status)
case $text in
*"daemon:          running"*"events:          6,"*) pass "status: text form" ;;
*) fail "status: text form: $text" ;;
esac

# The metrics say the same.
m=$S/upperwatch.prom
expect_eq "metrics: events_total" 6 "$(awk '$1 == "upperwatch_events_total" {print $2}' "$m")"
expect_eq "metrics: containers" 1 "$(awk '$1 == "upperwatch_containers_watched" {print $2}' "$m")"
expect_eq "metrics: watches as status says" "$(jq -r .watches <<<"$out")" \
	"$(awk '$1 == "upperwatch_inotify_watches" {print $2}' "$m")"
check "metrics: every sample has HELP and TYPE" \
	test "$(grep -c '^# TYPE' "$m")" = "$(grep -v '^#' "$m" | grep -c .)"

kill -TERM "$pid"
wait "$pid"
expect_eq "the daemon stops cleanly" 0 $?
"$UPPERWATCH" --db "$S/db" status >/dev/null
expect_eq "status: exit 1 once it stopped" 1 $?
finish
