#!/bin/sh
# Configure (once) and build upperwatch in DIR with extra meson options:
#   contrib/build.sh build
#   contrib/build.sh build-sanitize -Db_sanitize=address,undefined
set -eu
dir=${1:?usage: contrib/build.sh DIR [MESON_OPTION...]}
shift
cd "$(dirname "$0")/.."
if [ -f "$dir/build.ninja" ]; then
	meson configure "$dir" "$@" >/dev/null
else
	meson setup "$dir" "$@" >/dev/null
fi
meson compile -C "$dir" >/dev/null
