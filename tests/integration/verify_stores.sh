#!/bin/bash
# verify_stores: `verify --image` of a baseline built from an image file
# finds the node's copy of the image's layers in Docker's store (layerdb,
# keyed by chain id, and overlay2), read under --host-root: a node's disk
# as Docker leaves it, made here by hand with the layer dirs of the image.
#   - the layers as extracted match (exit 0); a file edited in the bottom
#     layer's dir is reported (exit 1, the diff format);
#   - a layerdb that does not hold the whole chain, or whose diff file
#     disagrees, or whose cache-id climbs out of overlay2, finds no layers:
#     exit 2 with the reason, never another dir read;
#   - a scratch baseline left by a verify killed half-way is removed.
# (containerd's store is verified against a real containerd in
# containerd.sh, Podman's in baseline_oci.sh.)
. "$(dirname "$0")/lib.sh"
require_root
require_cmd jq python3 busybox tar

export LC_ALL=C
DB=$S/db
MK=$(dirname "$0")/mkoci.py
uw() { "$UPPERWATCH" --db "$DB" "$@"; }

# two layers: busybox and /etc/a, then /etc/b and a changed /etc/a
L1=$S/l1 L2=$S/l2
mkdir -p "$L1/etc" "$L2/etc"
busybox_layer "$L1" sh || { fail "busybox layer"; finish; }
echo a >"$L1/etc/a"
echo b >"$L2/etc/b"
echo a2 >"$L2/etc/a"
chmod 600 "$L2/etc/b"
tar -C "$L1" -cf "$S/l1.tar" . && tar -C "$L2" -cf "$S/l2.tar" . || { fail "tar"; finish; }
printf '{"format": "tar", "compress": "gzip", "tag": "two:1", "layers": [{"tar": "%s"}, {"tar": "%s"}]}' \
    "$S/l1.tar" "$S/l2.tar" >"$S/spec.json"
D=$(python3 "$MK" "$S/img.tar" "$S/spec.json") || { fail "mkoci"; finish; }
uw baseline --oci "$S/img.tar" >"$S/b.out" 2>&1 || { fail "baseline --oci: $(cat "$S/b.out")"; finish; }

# ---- Docker's store under a host root -------------------------------------------------

HR=$S/node
# diff_ids and chain ids, bottom first: "diff_id chain_id" per line
python3 - "$S/l1.tar" "$S/l2.tar" >"$S/chain" <<'EOF'
import hashlib, sys
chain = None
for t in sys.argv[1:]:
    d = "sha256:" + hashlib.sha256(open(t, "rb").read()).hexdigest()
    chain = d if chain is None else "sha256:" + hashlib.sha256(f"{chain} {d}".encode()).hexdigest()
    print(d, chain)
EOF
make_docker() {	# the layerdb and overlay2 dirs of both layers
	local i=0 diff chain cache
	rm -rf "$HR"
	while read -r diff chain; do
		i=$((i + 1))
		cache=cache$i$(printf '%060d' 0)
		mkdir -p "$HR/var/lib/docker/image/overlay2/layerdb/sha256/${chain#sha256:}" "$HR/var/lib/docker/overlay2/$cache"
		printf '%s' "$diff" >"$HR/var/lib/docker/image/overlay2/layerdb/sha256/${chain#sha256:}/diff"
		printf '%s' "$cache" >"$HR/var/lib/docker/image/overlay2/layerdb/sha256/${chain#sha256:}/cache-id"
		cp -a "$S/l$i" "$HR/var/lib/docker/overlay2/$cache/diff"
	done <"$S/chain"
}
LDB=$HR/var/lib/docker/image/overlay2/layerdb/sha256
C1=$(sed -n 1p "$S/chain" | cut -d' ' -f2) C2=$(sed -n 2p "$S/chain" | cut -d' ' -f2)
make_docker
uw verify --image two:1 --host-root "$HR" >"$S/v0.out" 2>&1
expect_eq "Docker's layers as extracted match (exit 0)" "0 " "$? $(cat "$S/v0.out")"
echo tampered >>"$HR/var/lib/docker/overlay2/cache1$(printf '%060d' 0)/diff/bin/busybox"
uw verify --image "$D" --host-root "$HR" >"$S/v1.out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q '^C /bin/busybox size' "$S/v1.out" && [ "$(grep -c . "$S/v1.out")" = 1 ]; then
	pass "a file edited in the bottom layer is reported ($(head -c 60 "$S/v1.out"))"
else
	fail "after the edit: exit $rc: $(head -c 300 "$S/v1.out")"
fi
# the top layer's own change shadows the bottom's: editing the bottom's
# /etc/a changes nothing the image shows
make_docker
echo other >"$HR/var/lib/docker/overlay2/cache1$(printf '%060d' 0)/diff/etc/a"
uw verify --image two:1 --host-root "$HR" >"$S/v2.out" 2>&1
expect_eq "a shadowed bottom file: no difference (exit 0)" "0 " "$? $(cat "$S/v2.out")"
uw verify --image two:1 --host-root "$HR" --json >"$S/v3.out" 2>&1
expect_eq "--json: nothing" "" "$(cat "$S/v3.out")"

# ---- layerdbs that must not be followed ------------------------------------------------

not_found() {	# WHAT: verify exits 2 saying no store has the layers
	uw verify --image two:1 --host-root "$HR" >"$S/nf.out" 2>&1
	local rc=$?
	if [ "$rc" = 2 ] && grep -q "layers are not on this node" "$S/nf.out"; then
		pass "$1: exit 2, not on this node"
	else
		fail "$1: exit $rc: $(head -c 300 "$S/nf.out")"
	fi
}
make_docker
rm -r "${LDB:?}/${C2#sha256:}"
not_found "the top layer missing"
make_docker
printf 'sha256:%064d' 0 >"$LDB/${C2#sha256:}/diff"
not_found "a diff file that disagrees"
make_docker
mkdir -p "$S/elsewhere/diff"
printf '../../../../elsewhere' >"$LDB/${C1#sha256:}/cache-id"
not_found "a cache-id that climbs out of overlay2"
make_docker
ln -sfn /etc "$HR/var/lib/docker/overlay2/cache2$(printf '%060d' 0)/diff2"
printf 'cache2%060d/diff2' 0 >"$LDB/${C2#sha256:}/cache-id"
not_found "a cache-id with a slash"
uw verify --image two:1 --host-root relative/dir >"$S/rel.out" 2>&1
expect_eq "--host-root relative: usage error" 2 "$?"
uw verify --container x --host-root "$HR" >"$S/rel.out" 2>&1
expect_eq "--host-root with --container: usage error" 2 "$?"
expect_eq "no scratch baseline is left" "$D" "$(uw images --json | jq -r .image | tr '\n' ' ' | sed 's/ $//')"
# one left by a verify killed half-way (its pid gone), and one of a verify
# still running (this shell's pid): the next verify removes the first only
uw baseline --rootfs "$L2" --image "verify:999999999:1" >/dev/null 2>&1 || fail "baseline verify:999999999:1"
uw baseline --rootfs "$L2" --image "verify:$$:1" >/dev/null 2>&1 || fail "baseline verify:$$:1"
uw verify --image two:1 --host-root "$HR" >/dev/null 2>&1
expect_eq "a dead verify's scratch baseline is removed, a live one's kept" "$D verify:$$:1" \
    "$(uw images --json | jq -r .image | sort | tr '\n' ' ' | sed 's/ $//')"

finish
