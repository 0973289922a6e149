#!/bin/bash
# watch --exclude: a path that one of many exclude globs matches is never
# reported, whichever glob it is (a plain name, a prefix and a wildcard,
# a pattern with no plain prefix), and a path next to one is.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd jq

mkdir -p "$S/l/etc" "$S/l/var/cache" "$S/l/tmp" "$S/u" "$S/w" "$S/m"
echo v1 >"$S/l/etc/app.conf"
"$UPPERWATCH" --db "$S/db" baseline -q --image ex --rootfs "$S/l" >/dev/null
mount_overlay "$S/l" "$S/u" "$S/w" "$S/m"

# Many globs under the same dirs, so that a set sharing prefixes must
# still find the one that matches.
ex=()
for i in $(seq 40); do ex+=(--exclude "/etc/gen$i/**" --exclude "/var/cache/k$i"); done
ex+=(--exclude /etc/app.conf --exclude '/etc/skip*' --exclude '/var/cache/**'
	--exclude '**/*.tmp' --exclude '/etc/gen7')
"$UPPERWATCH" --db "$S/db" watch --upper "$S/u" --image ex --no-policy \
	"${ex[@]}" --output "$S/events.jsonl" 2>"$S/err.log" &
pid=$!
cleanup_push "kill $pid"
for _ in $(seq 100); do grep -q "watching container" "$S/err.log" && break; sleep 0.1; done

echo x >>"$S/m/etc/app.conf"		# excluded: the exact name
echo x >"$S/m/etc/skipped"		# excluded: prefix and '*'
echo x >"$S/m/var/cache/deep"		# excluded: prefix and '**'
echo x >"$S/m/tmp/a.tmp"		# excluded: no plain prefix
echo x >"$S/m/etc/gen7"			# excluded: among 40 that share /etc/gen
echo x >"$S/m/etc/app.conf2"		# reported: the name and more
echo x >"$S/m/etc/ski"			# reported: inside the prefix
echo x >"$S/m/etc/gen70"		# reported: no glob names it
echo x >"$S/m/tmp/a.tmp2"		# reported
echo x >"$S/m/var/cachex"		# reported: beside /var/cache
want="/etc/app.conf2 /etc/gen70 /etc/ski /tmp/a.tmp2 /var/cachex"
for _ in $(seq 100); do
	got=0
	got=$(jq -r .path "$S/events.jsonl" 2>/dev/null | grep -cxF -f <(tr ' ' '\n' <<<"$want"))
	[ "$got" = 5 ] && break
	sleep 0.1
done
for p in $want; do
	expect_eq "reported: $p" 1 "$(jq -r .path "$S/events.jsonl" | grep -cxF "$p")"
done
sleep 1	# (an excluded path would have come by now too)
for p in /etc/app.conf /etc/skipped /var/cache/deep /tmp/a.tmp /etc/gen7; do
	expect_eq "excluded: $p" 0 "$(jq -r .path "$S/events.jsonl" | grep -cxF "$p")"
done

kill -TERM "$pid"
wait "$pid"
expect_eq "the daemon stops cleanly" 0 $?
finish
