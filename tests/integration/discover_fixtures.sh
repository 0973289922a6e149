#!/bin/bash
# discover_fixtures: `upperwatch containers --host-root DIR --mountinfo FILE`
# on saved runtime metadata (tests/fixtures/discover/): every field of
# every container, for each runtime layout discovery knows, and every
# mountinfo shape.  No root, no runtime needed.
#
# The fixture root holds:
#   Docker overlay2: layerdb/mounts/<cid>/mount-id (with and without a
#     trailing newline), containers/<cid>/config.v2.json, the l/ links;
#     "web" is mounted with absolute l/ lowerdirs, "api" with Docker's
#     relative `lowerdir=l/A:l/B,upperdir=<id>/diff` (options > a page);
#     proc/4242/cgroup gives web's cgroups (hybrid: freezer + unified).
#   containerd CRI (k8s.io): the task bundle's config.json with the
#     io.kubernetes.cri.* annotations, init.pid; plus a read-only sandbox
#     overlay (no upper: not a container).
#   Podman (containers/storage): containers.json + userdata/config.json,
#     run by crun (run/crun/<id>/status gives the pid), userxattr.
#   crun alone, mounted with the new mount API (lowerdir+= with a raw
#     colon, datadir+=, redirect_dir, metacopy).
#   runc alone (run/runc/<id>/state.json: pid, cgroup_paths, labels), on
#     a legacy mount with octal escapes (\040 \011 \134\054 \134:).
#   An overlay no runtime claims (\040 and \012 escapes, index, volatile).
#   Four malformed lines in the middle: a warning on stderr, and the
#     lines after them still listed.
# The pids do not exist under the fixture root but 4242 (web, whose
# cgroups come from its proc/4242/cgroup) and the runc one (cgroups from
# state.json): every other cgroup dir is "".
#
# Relative (Docker) and l/-symlink (Docker, Podman) layer paths are
# resolved on the machine's own filesystem, not under --host-root; the
# fixture's links are not there, so those paths may stay as mountinfo
# printed them.  Both that and the resolved host path are accepted.
. "$(dirname "$0")/lib.sh"

require_cmd jq
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"
export LC_ALL=C

SRC=${UW_SOURCE_ROOT:-$(dirname "$0")/../..}
FIX=$(cd "$SRC/tests/fixtures/discover" 2>/dev/null && pwd) || {
	fail "no fixtures at $SRC/tests/fixtures/discover"
	finish
}
ROOT=$FIX/root
OUT=$S/out

DW=06bd0dc640312a6cfc896272043fc82e290f0ecc37747160262b5d050016a2e1	# docker web
DWM=c81e97edf486300913eb9bce43fde12dd01a3953865f2e9071b67e585c5c1c6f	# its mount id
DA=c7f9979a7d888222d8bb77080463526798838a2c8d5bfa8ac5994ec59ceae132	# docker api
DAM=b328f093ecf72b5791c8ac171cd082f1ea5833186cedda8af5698a791d9c3b95	# its mount id
LA=3b6fbfb7d2c6fa5a45e5a86e7271c761f4c3b629641da712fdd8101d9ad0ae8e	# l/UWFIXLOWA ->
LB=97ddc84b4db409a500e15d9cb9ba6a809fb979f439c75173934f7c01211adf2f	# l/UWFIXLOWB ->
CN=ca5762153045af0a5579a826ee373c117afdc859f0ad7a4ad67e7165c90cfc65	# CRI nginx
CS=900e69f80bdb07c92f2267ea353bc240fde9262ce6e8976bc17bb304c6dd58e2	# its sandbox
PD=33e59985452f37a7ab8f3037d5c91df3a384b060ea2b393e05227820dee9fbd5	# podman db
PDL=941b28a650afbf08b652ea22f776b6567d0a1746865155473347f3c78f090b39	# its layer
PIL=4e8ff05a566890efc809d1558123a0664d2364bc0d3874e93fd5fb49c586ba7a	# l/UWFIXPODIMG ->
PI=49402121b12a829392de0bd9945b2e47415f3409944614f5bea2f24e4b68267c	# image id
SNAP=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots
DOV=/var/lib/docker/overlay2
POV=/var/lib/containers/storage/overlay
UNKNOWN="/mnt/uwfix/unknown merged"

# ---- helpers -------------------------------------------------------------

# jqq ARGS...: jq, quiet (for check; jq 1.6's -e looks at the last
# output only, so slurp).
jqq() { jq "$@" >/dev/null 2>&1; }

# jf ID JQEXPR: one field of container ID's line, as compact JSON.
jf() { jq -c --arg id "$1" "select(.id == \$id) | $2" "$OUT" 2>/dev/null; }

# field DESC ID JQEXPR EXPECTED_JSON
field() { expect_eq "$1" "$4" "$(jf "$2" "$3")"; }

# field_any DESC ID JQEXPR EXPECTED_JSON...: one of the given values.
field_any() {
	local what=$1 id=$2 expr=$3 got want
	shift 3
	got=$(jf "$id" "$expr")
	for want in "$@"; do
		if [ "$got" = "$want" ]; then
			pass "$what"
			return
		fi
	done
	fail "$what: expected one of [$*], got [$got]"
}

# labels DESC ID EXPECTED_OBJECT: the labels, key order aside.
labels() {
	expect_eq "$1" "$(jq -cS . <<<"$3")" "$(jf "$2" .labels | jq -cS . 2>/dev/null)"
}

# common ID RUNTIME NAME IMAGE IMAGE_ID PID POD NAMESPACE MOUNT_POINT
common() {
	local id=$1 j
	j=$(jq -nc --arg rt "$2" --arg n "$3" --arg im "$4" --arg iid "$5" --argjson pid "$6" \
	    --arg pod "$7" --arg ns "$8" --arg mp "$9" \
	    '{runtime: $rt, name: $n, image: $im, image_id: $iid, pid: $pid, pod: $pod,
	      namespace: $ns, mount_point: $mp, baseline: false}')
	expect_eq "$3: listed exactly once" 1 "$(jq -c --arg id "$id" 'select(.id == $id)' "$OUT" | wc -l)"
	field "$3: runtime, name, image, image_id, pid, pod, namespace, mount_point, baseline" "$id" \
	    '{runtime, name, image, image_id, pid, pod, namespace, mount_point, baseline}' "$j"
	check "$3: image_key is stack:<16 hex>" \
	    jqq -se --arg id "$id" 'any(.[]; .id == $id and (.image_key | test("^stack:[0-9a-f]{16}$")))' "$OUT"
}

# ---- the listing -----------------------------------------------------------

timeout -k 5 30 "$UPPERWATCH" --db "$S/none.db" containers --json --host-root "$ROOT" \
    --mountinfo "$FIX/mountinfo" >"$OUT" 2>"$S/err"
expect_eq "exit status 0 despite malformed lines" 0 "$?"
expect_eq "one warning on stderr, counting the 4 malformed lines" \
    "upperwatch: warning: 4 mount table lines could not be read" "$(cat "$S/err")"
check "stdout is JSON Lines" jqq -e . "$OUT"
expect_eq "the containers, in mount table order (read-only overlay and malformed lines not listed)" \
    "$DW $DA $CN $PD uwfix-crun uwfix-runc $UNKNOWN" \
    "$(jq -r .id "$OUT" | tr '\n' ' ' | sed 's/ $//')"
check "no database was created by a listing" test ! -e "$S/none.db"

# ---- Docker, absolute l/ lowerdirs -------------------------------------------

common "$DW" docker web nginx:1.27 "sha256:$PI" 4242 "" "" "$DOV/$DWM/merged"
field "web: upper" "$DW" .upper "\"$DOV/$DWM/diff\""
field_any "web: lower, top first (l/ links as printed, or resolved)" "$DW" .lower \
    "[\"$DOV/l/UWFIXLOWI\",\"$DOV/l/UWFIXLOWA\",\"$DOV/l/UWFIXLOWB\"]" \
    "[\"$DOV/$DWM-init/diff\",\"$DOV/$LA/diff\",\"$DOV/$LB/diff\"]"
field "web: overlay_options (index=off is no flag)" "$DW" .overlay_options '[]'
field "web: cgroups from proc/4242/cgroup mapped onto the freezer and cgroup2 mounts" "$DW" .cgroup \
    "{\"v1_freezer\":\"/sys/fs/cgroup/freezer/docker/$DW\",\"v2\":\"/sys/fs/cgroup/unified/docker/$DW\"}"
labels "web: labels == Config.Labels (\\u escapes decoded)" "$DW" \
    '{"com.example.team":"shop","maintainer":"NGINX Docker Maintainers <docker-maint@nginx.com>"}'

# ---- Docker, relative lowerdir=l/A:l/B,upperdir=<id>/diff ------------------------

common "$DA" docker api "registry.example/api@sha256:$LB" "sha256:$LB" 4343 api-7f6d9 backend \
    "$DOV/$DAM/merged"
field_any "api: upper (relative as printed, or resolved against $DOV)" "$DA" .upper \
    "\"$DAM/diff\"" "\"$DOV/$DAM/diff\""
field_any "api: lower, top first (relative as printed, or resolved)" "$DA" .lower \
    '["l/UWFIXLOWA","l/UWFIXLOWB"]' "[\"$DOV/$LA/diff\",\"$DOV/$LB/diff\"]"
check "api: upper and lower resolved alike (all relative or all absolute)" \
    jqq -se --arg id "$DA" 'any(.[]; .id == $id and ([.upper] + .lower | map(startswith("/")) | unique | length) == 1)' "$OUT"
field "api: overlay_options" "$DA" .overlay_options '[]'
field "api: no pid file under the root: no cgroups" "$DA" .cgroup '{"v1_freezer":"","v2":""}'
labels "api: labels == Config.Labels" "$DA" \
    '{"io.kubernetes.pod.name":"api-7f6d9","io.kubernetes.pod.namespace":"backend","io.kubernetes.container.name":"api-ctr"}'

# ---- containerd CRI -----------------------------------------------------------------

common "$CN" containerd nginx docker.io/library/nginx:1.27 "" 12345 web-7d9f8-x2k4q shop \
    "/run/containerd/io.containerd.runtime.v2.task/k8s.io/$CN/rootfs"
field "cri: upper == the active snapshot's fs" "$CN" .upper "\"$SNAP/9103/fs\""
field "cri: lower == the parent snapshots, top first" "$CN" .lower "[\"$SNAP/9102/fs\",\"$SNAP/9101/fs\"]"
field "cri: overlay_options" "$CN" .overlay_options '[]'
field "cri: cgroups" "$CN" .cgroup '{"v1_freezer":"","v2":""}'
labels "cri: labels == the bundle annotations + containerd.namespace" "$CN" "$(jq -nc --arg cs "$CS" '{
	"io.kubernetes.cri.container-name": "nginx", "io.kubernetes.cri.container-type": "container",
	"io.kubernetes.cri.image-name": "docker.io/library/nginx:1.27", "io.kubernetes.cri.sandbox-id": $cs,
	"io.kubernetes.cri.sandbox-name": "web-7d9f8-x2k4q", "io.kubernetes.cri.sandbox-namespace": "shop",
	"io.kubernetes.cri.sandbox-uid": "0f8c7e1a-58a4-4c2e-9d0b-1a2b3c4d5e6f",
	"containerd.namespace": "k8s.io"}')"
expect_eq "cri: its read-only sandbox overlay (no upper) is not listed" "" \
    "$(jq -r --arg cs "$CS" 'select(.mount_point | contains($cs)) | .id' "$OUT")"

# ---- Podman (crun) ------------------------------------------------------------------

common "$PD" podman db docker.io/library/postgres:16 "$PI" 5151 "" "" "$POV/$PDL/merged"
field "podman: upper" "$PD" .upper "\"$POV/$PDL/diff\""
field_any "podman: lower (the l/ link as printed, or resolved)" "$PD" .lower \
    "[\"$POV/l/UWFIXPODIMG\"]" "[\"$POV/$PIL/diff\"]"
field "podman: overlay_options" "$PD" .overlay_options '["userxattr"]'
field "podman: cgroups (crun's pid has no proc entry)" "$PD" .cgroup '{"v1_freezer":"","v2":""}'
labels "podman: labels == userdata/config.json annotations" "$PD" \
    '{"io.container.manager":"libpod","io.kubernetes.cri-o.Created":"2026-11-01T10:00:00.000000000Z","io.kubernetes.cri-o.TTY":"false","org.opencontainers.image.stopSignal":"15"}'

# ---- crun alone, new mount API ----------------------------------------------------------

common uwfix-crun crun uwfix-crun "" "" 6161 "" "" /srv/uwfix/crun/rootfs
field "crun: upper" uwfix-crun .upper '"/srv/uwfix/crun/upper"'
field "crun: lowerdir+= layers in order, raw colon kept, datadir+= not a layer" uwfix-crun .lower \
    '["/srv/uwfix/layers/top","/srv/uwfix/layers/low:colon"]'
field "crun: overlay_options" uwfix-crun .overlay_options '["metacopy","redirect_dir"]'
field "crun: cgroups" uwfix-crun .cgroup '{"v1_freezer":"","v2":""}'
field "crun: labels" uwfix-crun .labels '{}'

# ---- runc alone, legacy mount with escapes --------------------------------------------------

common uwfix-runc runc ctr-r "" "" 31337 pod-r ns-r "/srv/uwfix/runc ctr/rootfs"
field "runc: upper (\\040 and \\011 undone)" uwfix-runc .upper '"/srv/uwfix/runc ctr/up\tper"'
field "runc: lower (\\134\\054 -> comma, \\134: -> colon, \\040 -> space)" uwfix-runc .lower \
    '["/srv/uwfix/layers/a,2","/srv/uwfix/layers/b:3","/srv/uwfix/layers/c d"]'
field "runc: overlay_options" uwfix-runc .overlay_options '[]'
field "runc: cgroups == state.json cgroup_paths (freezer, \"\")" uwfix-runc .cgroup \
    '{"v1_freezer":"/sys/fs/cgroup/freezer/uwfix/r","v2":"/sys/fs/cgroup/unified/uwfix/r"}'
labels "runc: labels == config.labels without bundle=, split at the first =" uwfix-runc \
    '{"io.kubernetes.pod.name":"pod-r","io.kubernetes.pod.namespace":"ns-r","io.kubernetes.container.name":"ctr-r","with":"equals=sign"}'

# ---- unknown overlay ---------------------------------------------------------------------

common "$UNKNOWN" unknown "$UNKNOWN" "" "" 0 "" "" "$UNKNOWN"
field "unknown: upper (\\012 undone)" "$UNKNOWN" .upper '"/mnt/uwfix/upper\nx"'
field "unknown: lower" "$UNKNOWN" .lower "[\"$SNAP/9102/fs\",\"$SNAP/9101/fs\"]"
field "unknown: overlay_options" "$UNKNOWN" .overlay_options '["index","volatile"]'
field "unknown: cgroups" "$UNKNOWN" .cgroup '{"v1_freezer":"","v2":""}'
field "unknown: labels" "$UNKNOWN" .labels '{}'
expect_eq "unknown overlay on the CRI container's layers: the same image_key" \
    "$(jf "$CN" .image_key)" "$(jf "$UNKNOWN" .image_key)"
check "different stacks: different image_keys" \
    test "$(jq -r .image_key "$OUT" | sort -u | wc -l)" = 6

# ---- the same listing again, and as text ----------------------------------------------------

timeout -k 5 30 "$UPPERWATCH" --db "$S/none.db" containers --json --host-root "$ROOT" \
    --mountinfo "$FIX/mountinfo" >"$S/out2" 2>/dev/null
check "a second listing is byte-identical" cmp -s "$OUT" "$S/out2"
timeout -k 5 30 "$UPPERWATCH" --db "$S/none.db" containers --host-root "$ROOT" \
    --mountinfo "$FIX/mountinfo" >"$S/text" 2>"$S/text.err"
rc=$?
# (The unknown overlay's upper has a newline: like show and diff, the
# listing must escape it rather than print a forged extra line.)
expect_eq "text listing: exit 0, header + one line per container, the same warning" \
    "0 8 upperwatch: warning: 4 mount table lines could not be read" \
    "$rc $(wc -l <"$S/text") $(cat "$S/text.err")"
expect_eq "text listing: short ids, names, runtimes" \
    "${DW:0:12} web docker;${DA:0:12} api docker;${CN:0:12} nginx containerd;${PD:0:12} db podman;uwfix-crun uwfix-crun crun;uwfix-runc ctr-r runc;" \
    "$(awk 'NR > 1 && NR < 8 { printf "%s %s %s;", $1, $2, $3 }' "$S/text")"

finish
