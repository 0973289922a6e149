#!/bin/sh
# update-policies.sh - copy the shipped default policies (policies/default/
# *.lua) into the ConfigMap of contrib/kubernetes/daemonset.yaml, between
# its "BEGIN policies" and "END policies" lines, byte for byte.
#
#   contrib/kubernetes/update-policies.sh          rewrite daemonset.yaml
#   contrib/kubernetes/update-policies.sh --check  exit 1 if it is stale
#
# tests/integration/deploy_manifests.sh checks that the ConfigMap holds
# exactly these files.  To run your own policies instead, edit the
# ConfigMap in the cluster (kubectl edit configmap -n upperwatch
# upperwatch-policies, or kubectl create configmap --from-file=DIR
# --dry-run=client -o yaml | kubectl apply -f -): the daemon reloads them.
set -eu
cd "$(dirname "$0")/../.."
manifest=contrib/kubernetes/daemonset.yaml
new=$(mktemp)
trap 'rm -f "$new"' EXIT

awk -v dir=policies/default '
function emit(file,    line, n, i, lines, data, last) {
	# YAML block scalar: "|" keeps one final newline, "|-" none, "|+"
	# all; the first line must not start with a blank (it would be
	# taken for indentation).
	n = 0
	data = ""
	while ((getline line < file) > 0)
		lines[++n] = line
	close(file)
	cmd = "tail -c 1 \"" file "\" | od -An -c"
	cmd | getline last
	close(cmd)
	if (n > 0 && lines[1] ~ /^[ \t]/) {
		print "update-policies: " file ": first line starts with a blank" > "/dev/stderr"
		exit 1
	}
	if (last !~ /\\n/)
		chomp = "-"
	else if (n > 0 && lines[n] == "")
		chomp = "+"
	else
		chomp = ""
	sub(/.*\//, "", file)
	print "  " file ": |" chomp
	for (i = 1; i <= n; i++)
		print (lines[i] == "" ? "" : "    " lines[i])
}
BEGIN {
	cmd = "ls " dir "/*.lua"
	while ((cmd | getline f) > 0)
		files[++nf] = f
	close(cmd)
}
/^# BEGIN policies/ {
	print
	for (i = 1; i <= nf; i++)
		emit(files[i])
	skip = 1
	next
}
/^# END policies/ { skip = 0 }
!skip { print }
' "$manifest" >"$new"

if [ "${1:-}" = --check ]; then
	if cmp -s "$new" "$manifest"; then
		exit 0
	fi
	echo "update-policies: $manifest does not hold policies/default as it is;" \
	    "run contrib/kubernetes/update-policies.sh" >&2
	exit 1
fi
cat "$new" >"$manifest"
