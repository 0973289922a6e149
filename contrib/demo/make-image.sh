#!/bin/sh
# Write a small two-layer demo image, the way a snapshotter extracts
# layers, into DIR/1 (bottom) and DIR/2 (top): busybox in layer 1; in
# layer 2 a changed file, a whiteout (/bin/stat deleted) and an opaque
# /opt/data.  Needs busybox-static and, for the opaque xattr, root.
set -eu
dir=${1:?usage: make-image.sh DIR}
l1=$dir/1
l2=$dir/2
[ -e "$dir/.done" ] && exit 0
rm -rf "$l1" "$l2"
mkdir -p "$l1/bin" "$l1/etc" "$l1/tmp" "$l1/root" "$l1/opt/data" \
	"$l2/etc" "$l2/bin" "$l2/opt/data"
cp /bin/busybox "$l1/bin/busybox"
for a in sh ls cat echo sleep touch rm mkdir mv chmod ln head stat; do
	ln -s busybox "$l1/bin/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$l1/etc/passwd"
echo v1 > "$l1/etc/app.conf"
echo old > "$l1/opt/data/old.txt"
echo v2 > "$l2/etc/app.conf"
mknod "$l2/bin/stat" c 0 0
setfattr -n trusted.overlay.opaque -v y "$l2/opt/data"
echo new > "$l2/opt/data/new.txt"
touch "$dir/.done"
