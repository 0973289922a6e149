#!/bin/bash
# containerd: a real containerd (Debian's, with its runc shim) in a scratch
# root and state dir, and containers of an image imported from an image
# file.  Discovery reads containerd's own files, no socket:
#   - the container's image name and config digest come from containerd's
#     metadata database (bolt) and content store, and `watch` judges the
#     container against the baseline built from the image file, by digest;
#   - a tag moved to another image since the container was made gives no
#     digest (the config's layers no longer chain to the snapshot's parent),
#     never the other image's; with the old image kept under another name,
#     that one's (found by its layers, as for CRI, which names images by id);
#   - a change through the merged view is reported; a file edited in the
#     node's snapshot of the image is reported by `verify --container`, and
#     by `verify --image`, which finds the snapshots by chain id;
#   - the metadata database damaged at random (bytes flipped, cut short,
#     a loop of pages) gives the true digest or none, and never a crash.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd containerd ctr runc jq python3 busybox

export LC_ALL=C
DB=$S/db
MK=$(dirname "$0")/mkoci.py
uw() { "$UPPERWATCH" --db "$DB" "$@"; }
CR=$S/root ST=$S/state SOCK=$S/c.sock
C() { ctr --address "$SOCK" "$@"; }
# runc keeps its state per namespace under /run/containerd/runc whatever
# containerd's state dir: names no other containerd on the host uses
C1=uwt$$-1 C2=uwt$$-2 C3=uwt$$-3

# ---- a containerd of our own -----------------------------------------------------

cat >"$S/config.toml" <<EOF
version = 2
root = "$CR"
state = "$ST"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
# The shims keep fifos, sockets and runc's state under /run/containerd
# whatever the state dir: removed after, when it was not there before
# (and only what is left empty).
[ -e /run/containerd ] ||
	cleanup_push "find /run/containerd -depth -type d -empty -delete"
containerd --config "$S/config.toml" >"$S/containerd.log" 2>&1 &
CTRD=$!
# Containers first, then the daemon, then whatever it left mounted.
cleanup_push "grep -o ' $S/[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l"
cleanup_push "stop_bg $CTRD"
stop_all() {
	local c
	for c in $(C task ls -q 2>/dev/null); do
		C task kill -s KILL "$c" >/dev/null 2>&1
		wait_until 5 sh -c "! ctr --address '$SOCK' task ls -q | grep -qx '$c'" ||
			C task delete -f "$c" >/dev/null 2>&1
		C task delete "$c" >/dev/null 2>&1
	done
	for c in $(C container ls -q 2>/dev/null); do
		C container delete "$c" >/dev/null 2>&1
	done
}
cleanup_push stop_all
wait_until 20 C version >/dev/null 2>&1 || { fail "containerd did not start: $(tail -c 400 "$S/containerd.log")"; finish; }

# ---- two images, from image files --------------------------------------------------

arch=$(uname -m)
case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
for v in 1 2; do
	R=$S/rootfs$v
	mkdir -p "$R/etc" "$R/tmp"
	busybox_layer "$R" sh sleep echo cat || { fail "busybox layer"; finish; }
	echo "hello $v" >"$R/etc/hello"
	tar -C "$R" -cf "$S/layer$v.tar" . || { fail "tar"; finish; }
done
# image 1: an index for two platforms (the host's and another), as a
# registry gives it; image 2: one manifest.
printf '{"format": "tar", "compress": "gzip", "tag": "uwtest:1", "platforms": ["linux/%s", "linux/%s"], "layers": [{"tar": "%s"}]}' \
    "$arch" "$([ "$arch" = s390x ] && echo amd64 || echo s390x)" "$S/layer1.tar" >"$S/spec1.json"
printf '{"format": "tar", "compress": "gzip", "tag": "uwtest:2", "layers": [{"tar": "%s"}]}' "$S/layer2.tar" >"$S/spec2.json"
D1=$(python3 "$MK" "$S/img1.tar" "$S/spec1.json" | awk '{ print $1 }') || { fail "mkoci 1"; finish; }
D2=$(python3 "$MK" "$S/img2.tar" "$S/spec2.json") || { fail "mkoci 2"; finish; }
for v in 1 2; do
	C image import --all-platforms "$S/img$v.tar" >"$S/import$v.out" 2>&1 ||
		{ fail "ctr image import $v: $(cat "$S/import$v.out")"; finish; }
done
uw baseline --oci "$S/img1.tar" >"$S/b1.out" 2>&1 || fail "baseline --oci img1: $(cat "$S/b1.out")"
expect_eq "the baseline is the host platform's config digest" "$D1" "$(uw images --json | jq -r .image)"

# enough images that the database's images bucket spans branch pages
for i in $(seq -w 1 150); do
	C image tag uwtest:2 "pad/img:$i" >/dev/null 2>&1 || { fail "ctr image tag $i"; break; }
done
C run -d uwtest:1 $C1 sh -c 'while :; do sleep 1; done' >"$S/run1.out" 2>&1 ||
	{ fail "ctr run: $(cat "$S/run1.out")"; finish; }
wait_until 10 sh -c "ctr --address '$SOCK' task ls | grep -q '$C1.*RUNNING'" || fail "$C1 is not running"

# ---- discovery -------------------------------------------------------------------------

# container ID: its line of `containers --json`
container() { uw containers --json | jq -c --arg id "$1" 'select(.id == $id)'; }
c=$(container $C1)
expect_eq "discovered as containerd, under its own state dir" "containerd default $ST/io.containerd.runtime.v2.task/default/$C1/rootfs" \
    "$(jq -r '"\(.runtime) \(.labels["containerd.namespace"]) \(.mount_point)"' <<<"$c")"
expect_eq "its image, by name (the metadata database)" uwtest:1 "$(jq -r .image <<<"$c")"
expect_eq "its image, by config digest (the host platform's)" "$D1" "$(jq -r .image_id <<<"$c")"
expect_eq "its baseline is there" true "$(jq -r .baseline <<<"$c")"

EV=$S/events.jsonl ERR=$S/watch.err
start_upperwatch W "$EV" "$ERR" --db "$DB" watch --container $C1 --no-policy --rescan 3600 --output "$EV"
if wait_until 20 grep -q "is judged against the baseline of $D1" "$ERR"; then
	pass "watch judges the container against the image file's baseline"
else
	fail "not judged against $D1: $(grep -E 'judged|baseline' "$ERR" | head -c 400)"
fi
grep -q 'built from' "$ERR" && fail "a baseline was built from the node's layers: $(grep 'built from' "$ERR")"
sleep 0.5
C task exec --exec-id e1 $C1 sh -c 'echo changed >> /etc/hello; echo new > /tmp/dropped' >"$S/exec.out" 2>&1 ||
	fail "ctr task exec: $(cat "$S/exec.out")"
if wait_until 10 json_has "$EV" '.path == "/etc/hello" and .op == "modified"'; then
	pass "a change through the merged view is reported modified"
else
	fail "no modified event for /etc/hello: $(tail -c 400 "$EV") $(tail -c 300 "$ERR")"
fi
wait_until 5 json_has "$EV" '.path == "/tmp/dropped" and .op == "added"' || fail "no added event for /tmp/dropped"
stop_bg "$W"
expect_eq "no baseline was added" 1 "$(uw images --json | grep -c .)"

# ---- the node's snapshot of the image ------------------------------------------------

uw verify --container $C1 >"$S/v0.out" 2>&1
expect_eq "verify --container: the node's snapshot matches (exit 0)" "0 " "$? $(cat "$S/v0.out")"
LOW=$(jq -r '.lower[0]' <<<"$c")
echo tampered >>"$LOW/etc/hello"
uw verify --container $C1 >"$S/v1.out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q '^C /etc/hello ' "$S/v1.out"; then
	pass "verify --container: the edited snapshot file is reported ($(head -n 1 "$S/v1.out"))"
else
	fail "verify after the edit: exit $rc: $(head -c 300 "$S/v1.out")"
fi
# the image's snapshots, found by chain id in containerd's stores (any
# namespace), read under a host root whose /var/lib/containerd is ours
mkdir -p "$S/hr/var/lib" && ln -s "$CR" "$S/hr/var/lib/containerd"
uw verify --image "$D1" --host-root "$S/hr" >"$S/v2.out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q '^C /etc/hello ' "$S/v2.out"; then
	pass "verify --image: the edited snapshot file is reported"
else
	fail "verify --image after the edit: exit $rc: $(head -c 300 "$S/v2.out")"
fi
cp "$S/rootfs1/etc/hello" "$LOW/etc/hello"
uw verify --image "$D1" --host-root "$S/hr" >"$S/v3.out" 2>&1
expect_eq "verify --image: the snapshot put back matches (exit 0)" "0 " "$? $(cat "$S/v3.out")"

# ---- a damaged metadata database -------------------------------------------------------

# The same discovery on copies (--host-root), the database mangled.
FX=$S/fx
mkdir -p "$FX$ST/io.containerd.runtime.v2.task/default/$C1" "$FX$CR/io.containerd.metadata.v1.bolt"
cp "$ST/io.containerd.runtime.v2.task/default/$C1/"{config.json,init.pid} "$FX$ST/io.containerd.runtime.v2.task/default/$C1/"
mkdir -p "$FX$CR/io.containerd.content.v1.content"
cp -r "$CR/io.containerd.content.v1.content/blobs" "$FX$CR/io.containerd.content.v1.content/"
META=$CR/io.containerd.metadata.v1.bolt/meta.db
grep " $ST/io.containerd.runtime.v2.task/default/$C1/rootfs " /proc/self/mountinfo >"$S/mountinfo"
fx_digest() { "$UPPERWATCH" containers --host-root "$FX" --mountinfo "$S/mountinfo" --json 2>"$S/fx.err" | jq -r .image_id; }
cp "$META" "$FX$META"
expect_eq "a copy of the files gives the same digest" "$D1" "$(fx_digest)"
branches=$(python3 - "$META" "$S/mangled" <<'EOF'
import os, random, struct, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
os.makedirs(out, exist_ok=True)
rng = random.Random(20261206)
ps = struct.unpack_from("<I", data, 24)[0]
n = 0
def put(b):
    global n
    open(f"{out}/{n:04d}", "wb").write(b)
    n += 1
for _ in range(250):		# bytes flipped anywhere
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    put(bytes(b))
for _ in range(100):		# page headers and elements of used pages
    b = bytearray(data)
    pg = rng.randrange(2, len(b) // ps)
    at = pg * ps + rng.randrange(0, 64)
    b[at:at + 4] = struct.pack("<I", rng.choice([0, 1, 2, 0xffff, 0xffffffff, rng.randrange(1 << 32)]))
    put(bytes(b))
for cut in (0, 1, 16, ps - 1, ps, 2 * ps, len(data) // 2, len(data) - 1):
    put(data[:cut])
# every branch element pointing at its own page: a loop
b = bytearray(data)
branches = 0
for pg in range(2, len(b) // ps):
    if b[pg * ps + 8] & 1 and struct.unpack_from("<Q", b, pg * ps)[0] == pg:
        branches += 1
        for i in range(struct.unpack_from("<H", b, pg * ps + 10)[0]):
            struct.pack_into("<Q", b, pg * ps + 16 + i * 16 + 8, pg)
put(bytes(b))
print(branches)
EOF
) || fail "mangling the database"
if [ "${branches:-0}" -gt 0 ] 2>/dev/null; then
	pass "the database has $branches branch page(s): lookups go through them"
else
	fail "the database has no branch page: the lookups through branches are not tested"
fi
bad=0 same=0 none=0
for f in "$S"/mangled/*; do
	cp "$f" "$FX$META"
	d=$(fx_digest)
	if [ "$d" = "$D1" ]; then
		same=$((same + 1))
	elif [ -z "$d" ]; then
		none=$((none + 1))
	else
		bad=$((bad + 1))
		[ $bad -le 3 ] && fail "$(basename "$f"): image_id [$d] $(head -c 200 "$S/fx.err")"
	fi
	grep -qiE 'sanitizer|runtime error' "$S/fx.err" && { bad=$((bad + 1)); fail "$(basename "$f"): $(head -c 300 "$S/fx.err")"; }
done
expect_eq "mangled databases: the true digest or none ($same true, $none none)" 0 "$bad"
[ "$none" -gt 0 ] || fail "no mangled database lost the digest: the test mangles nothing"

# ---- a tag moved since the container was made ------------------------------------------

C image rm uwtest:1 >/dev/null 2>&1
C image tag uwtest:2 uwtest:1 >"$S/tag.out" 2>&1 || fail "ctr image tag: $(cat "$S/tag.out")"
c=$(container $C1)
expect_eq "moved tag: still named" uwtest:1 "$(jq -r .image <<<"$c")"
expect_eq "moved tag: no digest (never the other image's)" "" "$(jq -r .image_id <<<"$c")"
# the image it was made from, back under another name: found by its layers
sed 's/"uwtest:1"/"uwtest:old"/' "$S/spec1.json" >"$S/spec1b.json"
expect_eq "the same image under another tag: the same config" "$D1" \
    "$(python3 "$MK" "$S/img1b.tar" "$S/spec1b.json" | awk '{ print $1 }')"
C image import --all-platforms "$S/img1b.tar" >"$S/import1b.out" 2>&1 || fail "import 1b: $(cat "$S/import1b.out")"
expect_eq "moved tag, its image kept under another name: found by its layers" "$D1" "$(container $C1 | jq -r .image_id)"
C run -d uwtest:1 $C2 sh -c 'while :; do sleep 1; done' >"$S/run2.out" 2>&1 || fail "ctr run $C2: $(cat "$S/run2.out")"
expect_eq "a container of the tag's new image has its digest" "$D2" "$(container $C2 | jq -r .image_id)"
# in one pass, the two containers of the new image (the same name and
# layers) share what was resolved; the old one, of the same name but
# other layers, does not
C run -d uwtest:1 $C3 sh -c 'while :; do sleep 1; done' >"$S/run3.out" 2>&1 || fail "ctr run $C3: $(cat "$S/run3.out")"
expect_eq "one pass: each container its own image's digest" "$C1 $D1 $C2 $D2 $C3 $D2" \
    "$(uw containers --json | jq -r --arg p "uwt$$-" 'select(.id | startswith($p)) | "\(.id) \(.image_id)"' | sort | tr '\n' ' ' | sed 's/ $//')"

finish
