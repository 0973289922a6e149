#!/bin/sh
# Install, build, and run upperwatch's main job on this host: the host
# daemon, watching every container with the database at its default path
# (/var/lib/upperwatch/upperwatch.db).  Drift events are printed as JSON
# lines and journaled; Ctrl-C stops it with everything committed.  Run
# as root from the source tree.
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
contrib/build.sh build
exec build/upperwatch watch "$@"
