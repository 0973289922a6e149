#!/bin/bash
# baseline_oci: `baseline --oci` reads an image file the way CI leaves it
# and gives the rows a baseline of the same image's extracted layers gives.
#
#   - A two-layer image built with podman (the second layer deletes a
#     file and a dir, re-creates the dir, appends to a file, adds a
#     symlink, makes busybox setuid; the first has a hard link): saved as
#     oci-archive, docker-archive, an OCI layout dir and an oci-archive
#     with zstd layers.  Each gives, under the image's config digest, the
#     very rows (type, mode, owner, size, mtime, link, hash) of `baseline`
#     over podman's extracted layers in the same database, but for "/"
#     (the top layer dir's own, which no image file holds); its tag is an
#     alias; `images` lists them.  Of two images saved in one
#     docker-archive (podman save -m), --image picks one; without it,
#     an error says so.
#   - export writes it to one file (0600); import into a node's database
#     refuses the file changed, cut short, or of another image than
#     --image, and keeps nothing then; imported, it has the same rows and
#     names.
#   - A Podman container of that image, watched with the node's database,
#     is judged against the imported digest's baseline (none is built from
#     the node's layers); a file it changes is reported modified, one it
#     copies up unchanged is not (hashed with the imported secret).
#   - verify --image and --container: the node's layers match the
#     imported baseline; after a file of the extracted bottom layer is
#     edited on the host, both report it (C, exit 1, "layer": "lower"),
#     and `watch --verify-lower` gives it as one event at the container's
#     start, critical/alert by the default policies.
#   - Image files made by hand (tests/integration/mkoci.py): an opaque
#     dir, a whiteout of a dir, file capabilities (security.capability),
#     a hard link and a FIFO come out as a runtime would extract them; a
#     1 TiB sparse member is hashed in bounded time; a multi-platform
#     image (a nested index) gives the --platform asked for, this host's
#     without, and an error listing what it has for one it lacks; an
#     opaque dir keeps what its own layer put below it, a dir replaced
#     by a file keeps nothing below it, a dir whited out and made again
#     holds only its new entries; a tag naming a digest is refused; a
#     dpkg database spread over two layers is read as the top layer
#     leaves it, and export/import carry its packages.
#   - Hostile image files each fail with their reason and exit 2, and
#     write nothing but the database: a member "../x", an absolute member,
#     a hard link out of the image, a hard link to a file of no layer, a
#     blob and a diff_id that do not match, a layer that expands past
#     1024 times (a zstd bomb), a truncated archive, a file that is no
#     image; bad flags are usage errors.
#
# Needs root, podman (runc), python3, zstd, jq.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd podman python3 zstd jq
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
P=uwt-oci-$$
IMG=localhost/$P:2
DB=$S/db
MK=$(dirname "$0")/mkoci.py
uw() { "$UPPERWATCH" --db "$DB" "$@"; }

# rows REF: the baseline's rows but "/", sorted, one JSON object each.
rows() { uw show --image "$1" --json | jq -S -c 'select(.path != "/")' | sort; }

# ---- an image built with podman ---------------------------------------------

R=$S/rootfs
mkdir -p "$R"/{bin,etc,opt/d1/sub,var/empty}
busybox_layer "$R" sh rm mkdir echo ln chmod cat sleep || { fail "building the layer failed"; finish; }
echo hello >"$R/etc/hello"
echo gone >"$R/etc/gone"
echo x >"$R/opt/d1/sub/f"
ln "$R/etc/hello" "$R/etc/hello-link"
podman_import "$R" "localhost/$P-base:1" || { fail "podman import"; finish; }
cat >"$S/Containerfile" <<EOF
FROM localhost/$P-base:1
RUN rm /etc/gone && rm -r /opt/d1 && mkdir -p /opt/d1 && echo new > /opt/d1/g && echo more >> /etc/hello && ln -s /etc/hello /etc/sym && chmod 4755 /bin/busybox
EOF
cleanup_push "podman rmi -f '$IMG'"
if ! timeout -k 5 180 podman --runtime runc --cgroup-manager cgroupfs build --network none \
    -t "$IMG" -f "$S/Containerfile" "$S" >"$S/build.out" 2>&1; then
	fail "podman build: $(tail -c 400 "$S/build.out")"
	finish
fi
DIGEST=sha256:$(podman image inspect --format '{{.Id}}' "$IMG")
UP=$(podman image inspect --format '{{.GraphDriver.Data.UpperDir}}' "$IMG")
LO=$(podman image inspect --format '{{.GraphDriver.Data.LowerDir}}' "$IMG")
# shellcheck disable=SC2086
uw baseline --image extracted "$UP" ${LO//:/ } >"$S/ext.out" 2>&1 || fail "baseline of the extracted layers: $(cat "$S/ext.out")"
rows extracted >"$S/rows.ext"
[ "$(wc -l <"$S/rows.ext")" -ge 20 ] || fail "the extracted baseline has $(wc -l <"$S/rows.ext") rows"

podman save --format oci-archive -o "$S/img.oci.tar" "$IMG" >/dev/null 2>&1 || fail "podman save oci-archive"
podman save --format docker-archive -o "$S/img.docker.tar" "$IMG" >/dev/null 2>&1 || fail "podman save docker-archive"
podman push "$IMG" "oci:$S/img.layout" >/dev/null 2>&1 || fail "podman push oci:"
podman push --compression-format zstd "$IMG" "oci-archive:$S/img.zstd.tar" >/dev/null 2>&1 ||
	fail "podman push --compression-format zstd"
tar -tf "$S/img.zstd.tar" >/dev/null 2>&1 && for b in $(tar -tf "$S/img.zstd.tar" | grep '^blobs/'); do
	tar -xOf "$S/img.zstd.tar" "$b" | head -c 4 | od -An -tx1 | grep -q '28 b5 2f fd' && { zst=1; break; }
done
[ "${zst:-0}" = 1 ] || fail "the zstd archive holds no zstd blob"

# two images in one docker-archive (podman save -m): --image picks one
if podman save -m --format docker-archive -o "$S/multi.docker.tar" "localhost/$P-base:1" "$IMG" >/dev/null 2>&1; then
	uw baseline --oci "$S/multi.docker.tar" >"$S/md1.out" 2>&1
	expect_eq "two images, no --image: exit 2" 2 "$?"
	grep -q "lists 2 images: name one of their tags with --image" "$S/md1.out" ||
		fail "two images, no --image: $(cat "$S/md1.out")"
	uw baseline --oci "$S/multi.docker.tar" --image "$IMG" >"$S/md2.out" 2>&1
	expect_eq "two images, --image $IMG: that one" "image $DIGEST" "$(head -n 1 "$S/md2.out" | cut -d' ' -f1-2)"
else
	fail "podman save -m"
fi

for f in img.oci.tar img.docker.tar img.layout img.zstd.tar; do
	if ! uw baseline --oci "$S/$f" >"$S/$f.out" 2>&1; then
		fail "baseline --oci $f: $(cat "$S/$f.out")"
		continue
	fi
	grep -q "^image $DIGEST (linux/amd64, 2 layers" "$S/$f.out" ||
		fail "$f: not read as $DIGEST: $(head -n 1 "$S/$f.out")"
	rows "$DIGEST" >"$S/rows.$f"
	if cmp -s "$S/rows.ext" "$S/rows.$f"; then
		pass "$f: the same $(wc -l <"$S/rows.ext") rows as the extracted layers"
	else
		fail "$f: rows differ from the extracted layers: $(diff "$S/rows.ext" "$S/rows.$f" | head -n 6 | tr '\n' ' ' | head -c 600)"
	fi
done
# what the second layer did, as it should read
expect_eq "whiteout: /etc/gone is not in it" "" "$(jq -r 'select(.path == "/etc/gone") | .path' "$S/rows.img.oci.tar")"
expect_eq "opaque re-made dir: /opt/d1/sub is not in it" "" "$(jq -r 'select(.path | startswith("/opt/d1/sub")) | .path' "$S/rows.img.oci.tar")"
expect_eq "setuid busybox: mode 04755" 2541 "$(jq -r 'select(.path == "/bin/busybox") | .mode' "$S/rows.img.oci.tar")"
expect_eq "the symlink" /etc/hello "$(jq -r 'select(.path == "/etc/sym") | .link' "$S/rows.img.oci.tar")"
uw images --json >"$S/images.json"
expect_eq "images: the tag is another name of the digest" "$IMG" \
    "$(jq -r --arg d "$DIGEST" 'select(.image == $d) | .aliases' "$S/images.json")"
expect_eq "show by the tag" "$(uw show --image "$DIGEST" /etc/hello)" "$(uw show --image "$IMG" /etc/hello 2>&1)"

# ---- shipped to a node: export, import --------------------------------------------

uw export --image "$IMG" "$S/img.baseline" >"$S/export.out" 2>&1 || fail "export: $(cat "$S/export.out")"
expect_eq "export: the file is 0600" 600 "$(stat -c %a "$S/img.baseline")"
NODE=$S/node.db
node() { "$UPPERWATCH" --db "$NODE" "$@"; }
sed 's/"mode":420/"mode":511/' "$S/img.baseline" >"$S/tampered.baseline"
node import "$S/tampered.baseline" >"$S/imp0.out" 2>&1
expect_eq "import of a changed file: exit 2" 2 "$?"
grep -q "does not match its sha256" "$S/imp0.out" || fail "import of a changed file: $(cat "$S/imp0.out")"
head -n 5 "$S/img.baseline" >"$S/cut.baseline"
node import "$S/cut.baseline" >"$S/imp1.out" 2>&1
expect_eq "import of a file cut short: exit 2" 2 "$?"
node import --image sha256:0000 "$S/img.baseline" >"$S/imp2.out" 2>&1
expect_eq "import of another image's baseline than --image: exit 2" 2 "$?"
expect_eq "nothing was imported" "" "$(node images --json 2>/dev/null)"
if node import --image "$DIGEST" "$S/img.baseline" >"$S/imp.out" 2>&1; then
	pass "import --image $DIGEST: $(cat "$S/imp.out")"
else
	fail "import: $(cat "$S/imp.out")"
fi
expect_eq "imported: the same rows" "$(rows "$DIGEST")" "$(DB=$NODE rows "$DIGEST")"
expect_eq "imported: its other name" "$IMG" "$(node images --json | jq -r .aliases)"

# ---- a container of that image, on the node -------------------------------------------

C=$P-c
podman_start "$IMG" "$C" || { fail "podman run"; finish; }
EV=$S/events.jsonl ERR=$S/watch.err
node images --json | jq -r .image | grep -c . >"$S/n_images"
start_upperwatch W "$EV" "$ERR" --db "$NODE" watch --container "$C" --no-policy --rescan 3600 --output "$EV"
if wait_until 20 grep -q "is judged against the baseline of $DIGEST" "$ERR"; then
	pass "the container is judged against the image file's baseline ($DIGEST)"
else
	fail "not judged against $DIGEST: $(grep -E 'judged|baseline' "$ERR" | head -c 400)"
fi
grep -q 'built from' "$ERR" && fail "a baseline was built from the node's layers: $(grep 'built from' "$ERR")"
# a copy-up of unchanged content: hashed with the imported secret, it is
# the image's (with the node's own secret it would look modified)
podman exec "$C" sh -c 'chmod 644 /etc/hello && echo changed >> /opt/d1/g' || fail "podman exec"
if wait_until 10 json_has "$EV" '.path == "/opt/d1/g" and .op == "modified"'; then
	pass "a change in the container is reported modified against it"
else
	fail "no modified event for /opt/d1/g: $(tail -c 400 "$EV")"
fi
[ -e "$(podman inspect --format '{{.GraphDriver.Data.UpperDir}}' "$C")/etc/hello" ] ||
	fail "/etc/hello was not copied up"
sleep 1
if json_has "$EV" '.path == "/etc/hello"'; then
	fail "a copied-up unchanged file is reported: $(jq -c 'select(.path == "/etc/hello")' "$EV" | head -c 300)"
else
	pass "a copied-up unchanged file is not reported (the imported secret hashes it)"
fi
stop_bg "$W"
expect_eq "no image was added" "$(cat "$S/n_images")" "$(node images --json | jq -r .image | grep -c .)"

# ---- the node's own copy of the image, verified ---------------------------------------

node verify --image "$IMG" >"$S/v0.out" 2>&1
expect_eq "verify --image: the node's layers match (exit 0)" "0 " "$? $(cat "$S/v0.out")"
node verify --container "$C" >"$S/v1.out" 2>&1
expect_eq "verify --container: they match (exit 0)" "0 " "$? $(cat "$S/v1.out")"
# someone on the host edits a file of the extracted bottom layer
LOW=${LO%%:*}
[ -f "$LOW/etc/hello-link" ] || fail "no $LOW/etc/hello-link"
echo tampered >>"$LOW/etc/hello-link"
node verify --image "$IMG" >"$S/v2.out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q '^C /etc/hello-link size 6→15' "$S/v2.out"; then
	pass "verify: the edited layer file is reported ($(head -n 1 "$S/v2.out"))"
else
	fail "verify after the edit: exit $rc: $(head -c 300 "$S/v2.out")"
fi
expect_eq "verify: nothing else differs" 1 "$(grep -c . "$S/v2.out")"
node verify --container "$C" --json >"$S/v3.out" 2>&1
expect_eq "verify --json: a lower-layer event" "modified lower" \
    "$(jq -r 'select(.path == "/etc/hello-link") | "\(.op) \(.layer)"' "$S/v3.out")"
: >"$EV"
start_upperwatch W2 "$EV" "$S/watch2.err" --db "$NODE" watch --container "$C" --verify-lower --rescan 3600 --output "$EV"
if wait_until 20 json_has "$EV" '.path == "/etc/hello-link" and .layer == "lower"'; then
	ev=$(jq -c 'select(.layer == "lower")' "$EV" | head -n 1)
	pass "watch --verify-lower: the edited layer file is an event at the container's start"
	expect_eq "its verdict (default policies)" critical/alert "$(jq -r '"\(.verdict.severity)/\(.verdict.action)"' <<<"$ev")"
	expect_eq "only that one" 1 "$(jq -c 'select(.layer == "lower")' "$EV" | grep -c .)"
else
	fail "watch --verify-lower: no lower event: $(tail -c 300 "$S/watch2.err")"
fi
# status.json is rewritten every 5 s
wait_until 8 sh -c "jq -e '.lower_events == 1' '$S/status.json' >/dev/null 2>&1" ||
	fail "status: lower_events $(jq -c .lower_events "$S/status.json" 2>&1)"
stop_bg "$W2"
expect_eq "the scratch baselines are gone" "$DIGEST" "$(node images --json | jq -r .image | tr "\n" " " | sed "s/ $//")"

# ---- image files made by hand ------------------------------------------------------

mkoci() {	# mkoci OUT SPEC: the config digest, or fails
	printf '%s' "$2" >"$S/spec.json"
	python3 "$MK" "$1" "$S/spec.json"
}
# a 1 TiB sparse file, as GNU tar stores it (a map and 4 bytes)
mkdir -p "$S/sp"
printf head >"$S/sp/big" && truncate -s 1T "$S/sp/big"
tar -C "$S/sp" --sparse --format=posix -cf "$S/sparse.tar" big || fail "tar --sparse"
D1=$(mkoci "$S/hand.tar" '{"compress": "gzip", "tag": "hand:1", "layers": [
  [{"name": "./", "type": "dir", "mode": 493},
   {"name": "etc/", "type": "dir"}, {"name": "etc/keep", "data": "k"},
   {"name": "opq/", "type": "dir"}, {"name": "opq/old", "data": "o"},
   {"name": "gone/", "type": "dir"}, {"name": "gone/a/", "type": "dir"}, {"name": "gone/a/b", "data": "b"},
   {"name": "bin/", "type": "dir"}, {"name": "bin/ping", "data": "ELF", "mode": 493, "caps": "0100000200200000000000000000000000000000"},
   {"name": "bin/ping2", "type": "hardlink", "link": "bin/ping"},
   {"name": "run/", "type": "dir"}, {"name": "run/fifo", "type": "fifo"}],
  {"tar": "'"$S/sparse.tar"'"},
  [{"name": "opq/", "type": "dir", "mode": 448}, {"name": "opq/.wh..wh..opq"}, {"name": "opq/new", "data": "n"},
   {"name": ".wh.gone"}, {"name": "etc/.wh.keep"}, {"name": "etc/keep", "data": "again"}]]}') ||
	fail "mkoci hand.tar"
t0=$EPOCHREALTIME
if uw baseline --oci "$S/hand.tar" >"$S/hand.out" 2>&1; then
	pass "a hand-made image with a 1 TiB sparse member: read in $(elapsed "$t0") s"
else
	fail "baseline --oci hand.tar: $(cat "$S/hand.out")"
fi
uw show --image "$D1" --json >"$S/hand.json" 2>&1
field() { jq -r --arg p "$1" "select(.path == \$p) | $2" "$S/hand.json"; }
expect_eq "opaque dir: only what its own layer holds" "/opq/new" "$(jq -r 'select(.path | startswith("/opq/")) | .path' "$S/hand.json")"
expect_eq "opaque dir: its own mode" 448 "$(field /opq .mode)"
expect_eq "a whiteout of a dir hides what lies below it" "" "$(jq -r 'select(.path | startswith("/gone")) | .path' "$S/hand.json")"
expect_eq "a whiteout and a new file in the same layer: the new one" 5 "$(field /etc/keep .size)"
expect_eq "file capabilities" "0100000200200000000000000000000000000000" "$(field /bin/ping .caps)"
expect_eq "a hard link: the same content" "$(field /bin/ping .hash)" "$(field /bin/ping2 .hash)"
expect_eq "a FIFO" fifo "$(field /run/fifo .type)"
expect_eq "the sparse member's size" 1099511627776 "$(field /big .size)"
expect_eq "show by the tag in the image file" "$(uw show --image "$D1" /etc/keep)" "$(uw show --image hand:1 /etc/keep 2>&1)"

uw forget --image hand:1 >"$S/f1" 2>&1 || fail "forget hand:1: $(cat "$S/f1")"
uw show --image "$D1" /etc/keep >/dev/null 2>&1 || fail "forget of another name removed the baseline"
uw show --image hand:1 /etc/keep >/dev/null 2>&1 && fail "hand:1 still names a baseline after forget"
uw baseline --oci "$S/hand.tar" >/dev/null 2>&1 || fail "baseline --oci hand.tar again"
uw forget --image "$D1" >"$S/f2" 2>&1 || fail "forget $D1: $(cat "$S/f2")"
uw show --image hand:1 /etc/keep >/dev/null 2>&1 && fail "forget of the digest left its other name"
pass "forget: another name alone, or the baseline with its names"

# layers that an extractor would resolve one way only
D2=$(mkoci "$S/edge.tar" '{"layers": [
  [{"name": "a/", "type": "dir"}, {"name": "a/b/", "type": "dir"}, {"name": "a/b/c", "data": "c"},
   {"name": "d/", "type": "dir"}, {"name": "d/x", "data": "x"},
   {"name": "w/", "type": "dir"}, {"name": "w/old", "data": "o"}],
  [{"name": "a/b/new", "data": "n"}, {"name": "a/.wh..wh..opq"},
   {"name": "d/y", "data": "y"}, {"name": "d", "data": "now a file"},
   {"name": ".wh.w"}],
  [{"name": "w/", "type": "dir"}, {"name": "w/new", "data": "again"}]]}') || fail "mkoci edge.tar"
uw baseline --oci "$S/edge.tar" >"$S/edge.out" 2>&1 || fail "baseline --oci edge.tar: $(cat "$S/edge.out")"
paths() { uw show --image "$D2" --json | jq -r .path | tr '\n' ' '; }
expect_eq "opaque dir with a new entry of its own layer below it; a dir replaced by a file; a dir whited out, then made again" \
    "/ /a /a/b /a/b/new /d /w /w/new " "$(paths)"
expect_eq "the dir replaced is a file" file "$(uw show --image "$D2" --json /d | jq -r .type)"
# a dpkg database over two layers: the second installs b and drops a's
# md5sums; the status of the top layer is the one read
MDA=$(printf 'a 1\n' | md5sum | cut -d' ' -f1) MDB=$(printf 'b 2\n' | md5sum | cut -d' ' -f1)
D3=$(mkoci "$S/pkgs.tar" '{"layers": [
  [{"name": "var/lib/dpkg/info/", "type": "dir"}, {"name": "usr/bin/", "type": "dir"},
   {"name": "var/lib/dpkg/status", "data": "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"},
   {"name": "var/lib/dpkg/info/a.list", "data": "/.\n/usr\n/usr/bin\n/usr/bin/a\n"},
   {"name": "var/lib/dpkg/info/a.md5sums", "data": "'"$MDA"'  usr/bin/a\n"},
   {"name": "usr/bin/a", "data": "a 1\n", "mode": 493}],
  [{"name": "var/lib/dpkg/status", "data": "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\nPackage: b\nStatus: install ok installed\nVersion: 2\nArchitecture: all\n"},
   {"name": "var/lib/dpkg/info/b.list", "data": "/usr/bin/b\n"},
   {"name": "var/lib/dpkg/info/b.md5sums", "data": "'"$MDB"'  usr/bin/b\n"},
   {"name": "var/lib/dpkg/info/.wh.a.md5sums"},
   {"name": "usr/bin/b", "data": "b 2\n", "mode": 493}]]}') || fail "mkoci pkgs.tar"
uw baseline --oci "$S/pkgs.tar" >"$S/pkgs.out" 2>&1 || fail "baseline --oci pkgs.tar: $(cat "$S/pkgs.out")"
pkq() { sql "$1" "SELECT p.name || ' ' || p.version || ' ' || CASE WHEN f.digest IS NULL THEN '-' ELSE lower(hex(f.digest)) END
	FROM package_files f JOIN packages p ON p.image_id = f.image_id AND p.id = f.package
	JOIN images i ON i.id = f.image_id WHERE i.ref = '$D3'
	AND f.path IN (CAST('/usr/bin/a' AS BLOB), CAST('/usr/bin/b' AS BLOB)) ORDER BY f.path" | tr '\n' ';'; }
expect_eq "an image file's dpkg database: the top layer's status, each list, a whiteout of an md5sums" \
    "a 1 -;b 2 $MDB;" "$(pkq "$DB")"
uw export --image "$D3" "$S/pkgs.jsonl" >/dev/null 2>&1 &&
	"$UPPERWATCH" --db "$S/pkgnode.db" import "$S/pkgs.jsonl" >/dev/null 2>&1 ||
	fail "export/import of pkgs"
expect_eq "export and import carry the packages" "a 1 -;b 2 $MDB;" "$(pkq "$S/pkgnode.db")"
mkoci "$S/badtag.tar" '{"tag": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "layers": [[{"name": "f", "data": "x"}]]}' >/dev/null
uw baseline --oci "$S/badtag.tar" >"$S/badtag.out" 2>&1
expect_eq "a tag naming a digest: refused (exit 2)" 2 "$?"
grep -q "cannot be another name of a baseline" "$S/badtag.out" || fail "a tag naming a digest: $(cat "$S/badtag.out")"

# a multi-platform image: an index in the index, a manifest per platform
read -r DAMD DARM < <(mkoci "$S/multi.tar" '{"platforms": ["linux/amd64", "linux/arm64"], "layers": [[{"name": "f", "data": "x"}]]}')
[ -n "$DARM" ] || fail "mkoci multi.tar"
uw baseline --oci "$S/multi.tar" --platform linux/arm64 >"$S/m1.out" 2>&1
expect_eq "--platform linux/arm64: that manifest" "image $DARM (linux/arm64," "$(head -n 1 "$S/m1.out" | cut -d' ' -f1-3)"
uw baseline --oci "$S/multi.tar" >"$S/m2.out" 2>&1
[ "$(uname -m)" = x86_64 ] && expect_eq "no --platform: this host's (linux/amd64)" "image $DAMD (linux/amd64," \
    "$(head -n 1 "$S/m2.out" | cut -d' ' -f1-3)"
uw baseline --oci "$S/multi.tar" --platform linux/s390x >"$S/m3.out" 2>&1
expect_eq "--platform the index lacks: exit 2" 2 "$?"
grep -q "no manifest for linux/s390x (it has linux/amd64, linux/arm64)" "$S/m3.out" ||
	fail "--platform linux/s390x: $(cat "$S/m3.out")"

# ---- hostile image files ----------------------------------------------------------

hostile() {	# hostile WHAT FILE REASON: baseline --oci fails with REASON
	local out rc
	out=$(cd "$S/cwd" && "$UPPERWATCH" --db "$DB" baseline --oci "$2" 2>&1)
	rc=$?
	if [ "$rc" = 2 ] && grep -q -- "$3" <<<"$out"; then
		pass "$1: refused ($(head -c 160 <<<"$out"))"
	else
		fail "$1: exit $rc, not 2 with '$3': $(head -c 300 <<<"$out")"
	fi
}
mkdir -p "$S/cwd"
mkoci "$S/climb.tar" '{"layers": [[{"name": "../../escaped", "data": "x"}]]}' >/dev/null
hostile "a member ../../escaped" "$S/climb.tar" "climbs out of the image"
mkoci "$S/abs.tar" '{"layers": [[{"name": "/etc/abs", "data": "x"}]]}' >/dev/null
hostile "an absolute member" "$S/abs.tar" "is absolute"
mkoci "$S/hlout.tar" '{"layers": [[{"name": "x", "type": "hardlink", "link": "../../etc/shadow"}]]}' >/dev/null
hostile "a hard link out of the image" "$S/hlout.tar" "climbs out of the image"
mkoci "$S/hlnone.tar" '{"layers": [[{"name": "etc/", "type": "dir"}], [{"name": "x", "type": "hardlink", "link": "etc/passwd"}]]}' >/dev/null
hostile "a hard link to no file of its layer" "$S/hlnone.tar" "no file of that layer"
mkoci "$S/badblob.tar" '{"corrupt": "blob", "layers": [[{"name": "a", "data": "x"}]]}' >/dev/null
hostile "a blob that does not match its digest" "$S/badblob.tar" "does not match"
mkoci "$S/baddiff.tar" '{"corrupt": "diff_id", "layers": [[{"name": "a", "data": "x"}]]}' >/dev/null
hostile "a layer that does not match its diff_id" "$S/baddiff.tar" "diff_id"
# 2 GiB of zeros in a tar, zstd: about 70 KB
truncate -s 2G "$S/sp/zeros"
tar -C "$S/sp" -cf - zeros | tee >(sha256sum | cut -c1-64 >"$S/bomb.diff") | zstd -q -1 >"$S/bomb.zst"
sleep 0.2	# the tee's reader
rm -f "$S/sp/zeros"
mkoci "$S/bomb.tar" '{"layers": [{"blob": "'"$S/bomb.zst"'", "diff_id": "sha256:'"$(cat "$S/bomb.diff")"'", "media": "application/vnd.oci.image.layer.v1.tar+zstd"}]}' >/dev/null
hostile "a zstd bomb (2 GiB of zeros)" "$S/bomb.tar" "expands more than 1024 times"
head -c $(($(stat -c %s "$S/img.oci.tar") / 2)) "$S/img.oci.tar" >"$S/truncated.tar"
hostile "a truncated archive" "$S/truncated.tar" "runcated\|does not match\|no blobs"
echo 'not an image' >"$S/notimage"
hostile "a file that is no image" "$S/notimage" "notimage"
hostile "a missing file" "$S/missing" "No such file"
expect_eq "nothing was written outside the database" "" "$(ls -A "$S/cwd")"
[ -e "$S/escaped" ] && fail "a member was written: $S/escaped"
uw baseline --oci "$S/hand.tar" --rootfs /tmp >"$S/u1" 2>&1
expect_eq "--oci with --rootfs: usage error" 2 "$?"
uw baseline --oci "$S/hand.tar" --platform amd64 >"$S/u2" 2>&1
expect_eq "--platform without a slash: usage error" 2 "$?"
uw baseline --oci "$S/hand.tar" --platform linux/arm64 >"$S/u3" 2>&1
expect_eq "--platform the image does not have: exit 2" 2 "$?"
grep -q "no manifest for linux/arm64" "$S/u3" || fail "--platform linux/arm64: $(cat "$S/u3")"

finish
