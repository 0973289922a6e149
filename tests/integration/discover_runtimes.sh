#!/bin/bash
# discover_runtimes: `upperwatch containers` must name real runc and Podman
# containers exactly as the runtimes themselves describe them, and
# `baseline --container` / `diff --container` must work on what it finds.
#
# Containers (all named uwt-disc-<pid>-*; cgroups under /<that prefix>):
#   c1, c2  runc on overlays this test mounts (notes §8.1): two image
#           layers (layer 2 modifies /etc/app.conf, whites out /bin/stat,
#           makes /opt/data opaque), OCI annotations naming a pod.  c2
#           spells the same layer stack through a symlink and "./", so
#           the real paths, and so the image key, must be c1's.
#   p1      Podman 4 (notes §8.2) from an image imported from a tarball.
#   c3      runc, no annotations, started and stopped under
#           `containers --follow`.
# Oracles: `runc state`, state.json (cgroup_paths, config.rootfs),
# `podman inspect`, /proc/PID/cgroup mapped onto the cgroup mounts, and
# the layer dirs themselves (a --rootfs baseline of a copy of layer 2's
# file, in the same db, so keyed hashes compare).
#
# Needs root, runc, podman, a static busybox, setfattr, jq, findmnt,
# hybrid cgroups (a v1 freezer hierarchy and a v2 unified one).
. "$(dirname "$0")/lib.sh"

require_root
require_cmd runc podman busybox setfattr jq timeout mountpoint mknod findmnt
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-disc-$$
C1=$P-c1 C2=$P-c2 C3=$P-c3 PN=$P-p1 IMG=localhost/$P:1
DB=$S/db
RS=$(realpath "$S")	# what upperwatch must print: real paths
L1=$RS/layers/1 L2=$RS/layers/2
V1ROOT=$(findmnt -rn -t cgroup -O freezer -o TARGET | head -n 1)
V2ROOT=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)
[ -n "$V1ROOT" ] && [ -n "$V2ROOT" ] ||
    skip "needs hybrid cgroups (a v1 freezer and a v2 unified hierarchy)"

# ---- cleanup, registered first so that it runs last ----------------------

# Our cgroup dirs (runc leaves none when it deletes cleanly).
cleanup_push "for d in /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"
# Podman's parent cgroups, only if this test made them (rmdir of a busy
# cgroup fails, so someone else's container is never touched).
for d in /sys/fs/cgroup/*/; do
	[ -d "${d}libpod_parent" ] && continue
	cleanup_push "rmdir '${d}libpod_parent/conmon' '${d}libpod_parent'"
done

# ---- helpers -------------------------------------------------------------

# uwx SECONDS ARGS...: run upperwatch on $DB, bounded; stdout in $S/out,
# stderr in $S/err.  Returns upperwatch's status.
uwx() {
	local t=$1
	shift
	timeout -k 5 "$t" "$UPPERWATCH" --db "$DB" "$@" >"$S/out" 2>"$S/err"
}

# list: `containers --json` into $S/list.
list() {
	local rc
	uwx 30 containers --json
	rc=$?
	cp "$S/out" "$S/list"
	[ $rc -eq 0 ] || fail "containers --json exited $rc: $(head -c 300 "$S/err")"
	jq -e . "$S/list" >/dev/null 2>&1 || fail "containers --json: not JSON Lines: $(head -c 300 "$S/list")"
}

# jf ID JQEXPR [FILE]: one field of container ID's line, as compact JSON.
jf() { jq -c --arg id "$1" "select(.id == \$id) | $2" "${3:-$S/list}" 2>/dev/null; }

# start_runc CID LOWERDIR ANNOTATIONS: a container (run_container) with
# these OCI annotations (a JSON object; {} for none).  Sets RUNC_PID.
start_runc() {
	run_container "$RS/$1" "$1" "$2" "/$P/$1" "echo up > /tmp/started; while true; do sleep 1; done" \
		"if $3 == {} then . else .annotations = $3 end"
}

# wait_started CID: the init has written /tmp/started (it is in the upper).
wait_started() {
	for _ in $(seq 40); do
		[ -s "$RS/$1/upper/tmp/started" ] && return 0
		sleep 0.25
	done
	return 1
}

# cgroup_of PID: "V1 V2" as /proc/PID/cgroup maps onto the mounts.
cgroup_of() {
	local v1 v2
	v1=$(awk -F: '$2 ~ /(^|,)freezer(,|$)/ { print $3; exit }' "/proc/$1/cgroup")
	v2=$(awk -F: '$1 == "0" && $2 == "" { print $3; exit }' "/proc/$1/cgroup")
	[ "$v2" = / ] && v2=
	echo "$V1ROOT$v1 $V2ROOT$v2"
}

# check_runc CID: compare upperwatch's line for CID with runc's view.
check_runc() {
	local cid=$1 st=$S/state.$1 sj=/run/runc/$1/state.json exp
	runc state "$cid" >"$st" 2>/dev/null || { fail "$cid: runc state failed"; return; }
	expect_eq "$cid: listed exactly once" 1 "$(jq -c --arg id "$cid" 'select(.id == $id)' "$S/list" | wc -l)"
	expect_eq "$cid: runtime" '"runc"' "$(jf "$cid" .runtime)"
	expect_eq "$cid: pid == runc state .pid" "$(jq -c .pid "$st")" "$(jf "$cid" .pid)"
	expect_eq "$cid: mount_point == runc state .rootfs" "$(jq -c .rootfs "$st")" "$(jf "$cid" .mount_point)"
	exp=$(jq -c --arg id "$cid" '.annotations["io.kubernetes.container.name"] // $id' "$st")
	expect_eq "$cid: name == io.kubernetes.container.name annotation, else the id" "$exp" "$(jf "$cid" .name)"
	expect_eq "$cid: pod == io.kubernetes.pod.name annotation" \
	    "$(jq -c '.annotations["io.kubernetes.pod.name"] // ""' "$st")" "$(jf "$cid" .pod)"
	expect_eq "$cid: namespace == io.kubernetes.pod.namespace annotation" \
	    "$(jq -c '.annotations["io.kubernetes.pod.namespace"] // ""' "$st")" "$(jf "$cid" .namespace)"
	expect_eq "$cid: labels == the OCI annotations" \
	    "$(jq -cS '.annotations // {}' "$st")" "$(jf "$cid" '.labels' | jq -cS .)"
	expect_eq "$cid: upper" "\"$RS/$cid/upper\"" "$(jf "$cid" .upper)"
	expect_eq "$cid: lower stack, top first, real paths" "[\"$L2\",\"$L1\"]" "$(jf "$cid" .lower)"
	expect_eq "$cid: overlay_options" '[]' "$(jf "$cid" .overlay_options)"
	expect_eq "$cid: cgroup == state.json cgroup_paths (freezer, unified)" \
	    "$(jq -c '{v1_freezer: .cgroup_paths.freezer, v2: .cgroup_paths[""]}' "$sj")" \
	    "$(jf "$cid" .cgroup)"
	expect_eq "$cid: cgroup == /proc/PID/cgroup on the mounts" \
	    "$(cgroup_of "$(jq -r .pid "$st")")" "$(jf "$cid" '.cgroup | "\(.v1_freezer) \(.v2)"' | jq -r .)"
	check "$cid: cgroup dirs exist" test -d "$(jf "$cid" .cgroup.v1_freezer | jq -r .)" \
	    -a -d "$(jf "$cid" .cgroup.v2 | jq -r .)"
}

# ops FILE: "op path type" of each diff line, sorted.
ops() { jq -r '"\(.op) \(.path) \(.type)"' "$1" 2>/dev/null | sort | tr '\n' ';'; }

# ---- the image layers (notes §8.1) -----------------------------------------

mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,opt/data} "$L2"/{etc,bin,opt/data}
(
	set -e
	busybox_layer "$L1" sh ls cat echo sleep touch rm mkdir mv chmod ln head stat
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	echo v1 >"$L1/etc/app.conf"
	echo old >"$L1/opt/data/old.txt"
	# layer 2 as a snapshotter extracts it: modified file, whiteout, opaque dir
	echo v2 >"$L2/etc/app.conf"
	mknod "$L2/bin/stat" c 0 0
	setfattr -n trusted.overlay.opaque -v y "$L2/opt/data"
	echo new >"$L2/opt/data/new.txt"
	ln -s layers "$RS/layerlink"
) || fail "building the layers failed"

# ---- the containers --------------------------------------------------------

ANN1=$(jq -nc --arg p "$P" '{"io.kubernetes.pod.name": ($p + "-pod-a"),
	"io.kubernetes.pod.namespace": ($p + "-ns"), "io.kubernetes.container.name": "app"}')
ANN2=$(jq -nc --arg p "$P" '{"io.kubernetes.pod.name": ($p + "-pod-b"),
	"io.kubernetes.pod.namespace": ($p + "-ns"), "io.kubernetes.container.name": "app",
	"example.com/extra": "a=b c"}')
start_runc "$C1" "$L2:$L1" "$ANN1" || fail "$C1: could not start"
# the same stack, spelled another way
start_runc "$C2" "$RS/layerlink/2:$RS/layers/./1" "$ANN2" || fail "$C2: could not start"
check "$C1: init ran (/tmp/started in the upper)" wait_started "$C1"
check "$C2: init ran (/tmp/started in the upper)" wait_started "$C2"

# Podman (notes §8.2)
R=$RS/img-rootfs
mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp,root}
busybox_layer "$R" sh ls cat echo sleep touch rm mkdir mv chmod ln head
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo v1 >"$R/etc/app.conf"
podman_ok=0
cleanup_push "podman rmi -f '$IMG'"
if tar -C "$R" -cf "$RS/img-rootfs.tar" . &&
    podman import --quiet --change 'CMD ["/bin/sh"]' "$RS/img-rootfs.tar" "$IMG" >/dev/null 2>"$S/podman.err"; then
	NOFILE=$(ulimit -Hn)
	[ "$NOFILE" = unlimited ] && NOFILE=1048576
	cleanup_push "podman rm -f -t 0 '$PN'"
	if podman --runtime runc --cgroup-manager cgroupfs run -d --name "$PN" --network none \
	    --ulimit nofile="$NOFILE:$NOFILE" --ulimit nproc=32768:32768 \
	    --label app=uwt-disc "$IMG" sh -c 'while :; do sleep 1; done' >/dev/null 2>"$S/podman.err"; then
		podman_ok=1
		podman inspect "$PN" | jq '.[0]' >"$S/inspect.p1"
		PID_P=$(jq -r .State.Pid "$S/inspect.p1")
		PODMAN_ID=$(jq -r .Id "$S/inspect.p1")
		cleanup_push "rmdir /sys/fs/cgroup/*/libpod_parent/libpod-$PODMAN_ID"
	fi
fi
[ $podman_ok = 1 ] || fail "podman: could not import or run: $(head -c 400 "$S/podman.err")"

# ---- containers --json -------------------------------------------------------

list
check_runc "$C1"
check_runc "$C2"
K1=$(jf "$C1" .image_key | jq -r .)
K2=$(jf "$C2" .image_key | jq -r .)
check "image_key has the documented form (stack:16 hex)" \
    eval '[[ "$K1" =~ ^stack:[0-9a-f]{16}$ ]]'
expect_eq "$C2 (same layers, spelled via a symlink and ./): same image_key as $C1" "$K1" "$K2"
expect_eq "$C1: no image reference for a bare runc container" '"" ""' \
    "$(jf "$C1" .image) $(jf "$C1" .image_id)"
expect_eq "nothing has a baseline yet" 'false false' "$(jf "$C1" .baseline) $(jf "$C2" .baseline)"

if [ $podman_ok = 1 ]; then
	I=$S/inspect.p1
	expect_eq "podman: listed exactly once" 1 "$(jq -c --arg id "$PODMAN_ID" 'select(.id == $id)' "$S/list" | wc -l)"
	expect_eq "podman: runtime" '"podman"' "$(jf "$PODMAN_ID" .runtime)"
	expect_eq "podman: name == inspect .Name" "$(jq -c .Name "$I")" "$(jf "$PODMAN_ID" .name)"
	expect_eq "podman: pid == inspect .State.Pid" "$(jq -c .State.Pid "$I")" "$(jf "$PODMAN_ID" .pid)"
	expect_eq "podman: image == inspect .ImageName" "$(jq -c .ImageName "$I")" "$(jf "$PODMAN_ID" .image)"
	expect_eq "podman: image_id == inspect .Image" "$(jq -c .Image "$I")" "$(jf "$PODMAN_ID" .image_id)"
	expect_eq "podman: mount_point == inspect MergedDir" \
	    "$(jq -c .GraphDriver.Data.MergedDir "$I")" "$(jf "$PODMAN_ID" .mount_point)"
	expect_eq "podman: upper == inspect UpperDir" \
	    "$(jq -c .GraphDriver.Data.UpperDir "$I")" "$(jf "$PODMAN_ID" .upper)"
	expect_eq "podman: lower == inspect LowerDir (real paths, not the l/ links)" \
	    "$(jq -c '.GraphDriver.Data.LowerDir | split(":")' "$I")" "$(jf "$PODMAN_ID" .lower)"
	expect_eq "podman: no pod, no namespace" '"" ""' \
	    "$(jf "$PODMAN_ID" .pod) $(jf "$PODMAN_ID" .namespace)"
	expect_eq "podman: cgroup == /proc/PID/cgroup on the mounts" \
	    "$(cgroup_of "$PID_P")" "$(jf "$PODMAN_ID" '.cgroup | "\(.v1_freezer) \(.v2)"' | jq -r .)"
	check "podman: image_key differs from the runc stack's" \
	    test "$(jf "$PODMAN_ID" .image_key | jq -r .)" != "$K1"
fi

# ---- baseline --container -----------------------------------------------------

if uwx 120 baseline --container "$C1" --json; then
	pass "baseline --container $C1: exit 0"
else
	fail "baseline --container $C1 failed: $(head -c 300 "$S/err")"
fi
expect_eq "baseline --container: recorded under the image key" "\"$K1\"" "$(jq -c .image "$S/out" 2>/dev/null)"
list
expect_eq "both runc containers of the stack now have a baseline" 'true true' \
    "$(jf "$C1" .baseline) $(jf "$C2" .baseline)"
[ $podman_ok = 1 ] && expect_eq "the podman container still has none" false "$(jf "$PODMAN_ID" .baseline)"

# The oracle: layer 2's app.conf, baselined in the same db as a rootfs.
mkdir -p "$RS/oracle/etc"
cp -p "$L2/etc/app.conf" "$RS/oracle/etc/app.conf"
uwx 60 baseline --image "$P-oracle" --rootfs "$RS/oracle" --json ||
    fail "oracle baseline failed: $(head -c 300 "$S/err")"
uwx 30 show --image "$P-oracle" --json /etc/app.conf && cp "$S/out" "$S/show.oracle"
uwx 30 show --image "$K1" --json && cp "$S/out" "$S/rows.first"
expect_eq "show --image KEY /etc/app.conf: layer 2's file (type, mode, size, mtime, hash)" \
    "$(jq -c '{type, mode, uid, gid, size, mtime, hash}' "$S/show.oracle")" \
    "$(jq -c 'select(.path == "/etc/app.conf") | {type, mode, uid, gid, size, mtime, hash}' "$S/rows.first")"
expect_eq "baseline: layer 2's opaque /opt/data holds only new.txt" "/opt/data/new.txt" \
    "$(jq -r 'select(.path | startswith("/opt/data/")) | .path' "$S/rows.first" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "baseline: /bin/stat whited out, /tmp/started (written by the init) absent" "" \
    "$(jq -r 'select(.path == "/bin/stat" or .path == "/tmp/started") | .path' "$S/rows.first")"

# ---- drift -------------------------------------------------------------------

if runc exec "$C1" sh -c 'echo pwn >> /etc/app.conf; rm /opt/data/new.txt; echo evil > /bin/evil' 2>"$S/exec.err"; then
	pass "runc exec: changes made"
else
	fail "runc exec failed: $(cat "$S/exec.err")"
fi
uwx 60 diff --container "$C1" --json
rc=$?
cp "$S/out" "$S/diff.c1"
expect_eq "diff --container $C1: exit 1 (drift)" 1 "$rc"
expect_eq "diff --container $C1: exactly the changes, with their ops" \
    "added /bin/evil file;added /tmp/started file;deleted /opt/data/new.txt file;modified /etc/app.conf file;" \
    "$(ops "$S/diff.c1")"
expect_eq "diff: the modified file's baseline is layer 2's, current is v2+pwn" \
    "$(jq -c .hash "$S/show.oracle") 7" \
    "$(jq -r 'select(.path == "/etc/app.conf") | "\(.baseline.hash | tojson) \(.current.size)"' "$S/diff.c1")"

uwx 60 diff --container "$C2" --json
rc=$?
cp "$S/out" "$S/diff.c2"
expect_eq "diff --container $C2 (untouched): exit 1" 1 "$rc"
expect_eq "diff --container $C2: only the init's /tmp/started" "added /tmp/started file;" "$(ops "$S/diff.c2")"

# A second baseline --container, now that c1's files changed, must be
# built from the layers again: the same rows.
uwx 120 baseline --container "$C1" --json || fail "second baseline --container failed: $(head -c 300 "$S/err")"
uwx 30 show --image "$K1" --json && cp "$S/out" "$S/rows.second"
check "baseline --container after drift: identical rows (from the layers, not the container)" \
    cmp -s "$S/rows.first" "$S/rows.second"

# Names: the podman container by its (unique) name; a k8s container name
# that two containers share must not silently pick one of them, any more
# than an ambiguous id prefix does.
if [ $podman_ok = 1 ]; then
	if uwx 120 baseline --container "$PN" --json; then
		expect_eq "baseline --container PODMAN-NAME: the podman image key" \
		    "$(jf "$PODMAN_ID" .image_key)" "$(jq -c .image "$S/out")"
		uwx 30 show --image "$(jf "$PODMAN_ID" .image_key | jq -r .)" --json /etc/app.conf
		expect_eq "podman baseline: the image's /etc/app.conf (v1)" 3 "$(jq -r .size "$S/out")"
	else
		fail "baseline --container $PN failed: $(head -c 300 "$S/err")"
	fi
fi
uwx 60 diff --container "$P-c"
expect_eq "diff --container with an id prefix of two containers: refused (exit 2)" 2 "$?"
uwx 60 diff --container app
rc=$?
if [ $rc = 2 ] && grep -q 'app' "$S/err"; then
	pass "diff --container NAME shared by $C1 and $C2: refused as ambiguous"
else
	fail "diff --container app (the name of both $C1 and $C2) exited $rc instead of refusing as ambiguous; it reported: $(head -n 3 "$S/out" | tr '\n' ' ')"
fi

# ---- containers --follow --------------------------------------------------------

FOL=$S/follow.out
"$UPPERWATCH" --db "$DB" containers --follow --json >"$FOL" 2>"$S/follow.err" &
FPID=$!
cleanup_push "kill $FPID; wait $FPID"
for _ in $(seq 40); do
	[ "$(jq -c --arg a "$C1" --arg b "$C2" 'select(.id == $a or .id == $b)' "$FOL" 2>/dev/null | wc -l)" = 2 ] && break
	sleep 0.25
done
expect_eq "follow: the initial listing reports the running containers as started" \
    '"started" "started"' "$(jf "$C1" .event "$FOL") $(jf "$C2" .event "$FOL")"
sleep 0.5

t0=$(date +%s%N)
start_runc "$C3" "$L2:$L1" '{}' || fail "$C3: could not start"
C3_RUNC=$RUNC_PID
got=
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ]; do
	got=$(jq -c --arg id "$C3" 'select(.id == $id and .event == "started")' "$FOL" 2>/dev/null)
	[ -n "$got" ] && break
	sleep 0.1
done
if [ -n "$got" ]; then
	pass "follow: \"started\" for $C3 within $(( ($(date +%s%N) - t0) / 1000000 )) ms of its mount"
	runc state "$C3" >"$S/state.c3" 2>/dev/null
	expect_eq "follow: started event has $C3's fields" \
	    "\"runc\" \"$C3\" $(jq -c .pid "$S/state.c3") \"$K1\" true \"$RS/$C3/upper\"" \
	    "$(jf "$C3" '"\(.runtime | tojson) \(.name | tojson) \(.pid) \(.image_key | tojson) \(.baseline) \(.upper | tojson)"' "$FOL" | jq -r .)"
else
	fail "follow: no \"started\" line for $C3 within 5 s; follower said: $(tail -n 3 "$FOL" | cut -c1-200 | tr '\n' ' ') $(head -c 200 "$S/follow.err")"
fi

runc kill "$C3" KILL 2>/dev/null || fail "runc kill $C3"
for _ in $(seq 50); do
	kill -0 "$C3_RUNC" 2>/dev/null || break
	sleep 0.1
done
wait "$C3_RUNC" 2>/dev/null
umount "$RS/$C3/bundle/rootfs" || fail "umount $C3's rootfs"
t0=$(date +%s%N)
got=
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ]; do
	got=$(jq -c --arg id "$C3" 'select(.id == $id and .event == "stopped")' "$FOL" 2>/dev/null)
	[ -n "$got" ] && break
	sleep 0.1
done
if [ -n "$got" ]; then
	pass "follow: \"stopped\" for $C3 within $(( ($(date +%s%N) - t0) / 1000000 )) ms of its umount"
else
	fail "follow: no \"stopped\" line for $C3 within 5 s of its umount: $(tail -n 3 "$FOL" | cut -c1-200 | tr '\n' ' ')"
fi
expect_eq "follow: no stopped event for the containers still running" "" \
    "$(jq -r --arg a "$C1" --arg b "$C2" 'select(.event == "stopped" and (.id == $a or .id == $b)) | .id' "$FOL")"
events_ok() { jq -se 'length > 0 and all(.[]; .event == "started" or .event == "stopped")' "$1" >/dev/null 2>&1; }
check "follow: every line is JSON with an event" events_ok "$FOL"
if kill -0 "$FPID" 2>/dev/null; then
	kill -TERM "$FPID"
	wait "$FPID"
	expect_eq "follow: exits 0 on SIGTERM" 0 "$?"
else
	fail "follow: the follower died: $(head -c 300 "$S/follow.err")"
fi

finish
