#!/bin/sh
# Install the Debian 12 packages upperwatch needs to build (and, with
# --test, to run its test suite and benchmarks).  Idempotent: it asks apt
# only for what is missing.  Run as root.
set -eu

BUILD="gcc libc6-dev meson ninja-build pkg-config liblua5.4-dev
libinotifytools0-dev libxxhash-dev libsqlite3-dev libjansson-dev
libcurl4-openssl-dev libarchive-dev libssl-dev"
RUN="busybox-static"
TEST="attr libcap2-bin runc sqlite3 xxhash inotify-tools jq time aide
python3 util-linux xxd clang libclang-rt-14-dev podman logrotate
systemd man-db zstd chromium containerd"

want="$BUILD $RUN"
case "${1:-}" in
--test)
	want="$want $TEST"
	# the manifest test installs its validator from npm: Debian's npm,
	# unless a Node.js with npm is there already
	command -v npm >/dev/null 2>&1 || want="$want nodejs npm"
	;;
"") ;;
*) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
