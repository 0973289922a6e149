#!/bin/sh
# Install, build, and run upperwatch's main job on this host with the
# embedded database at its default path.  Run as root from the source
# tree.  Until the watcher lands, the main job records the baseline of a
# demo image and shows what was recorded.
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
contrib/build.sh build
demo=/var/lib/upperwatch/demo
mkdir -p "$demo"
contrib/demo/make-image.sh "$demo/layers"
build/upperwatch baseline --image demo:1 "$demo/layers/2" "$demo/layers/1"
build/upperwatch images
build/upperwatch show --image demo:1 /etc/app.conf /opt/data/new.txt /bin/sh
