#!/bin/bash
# deploy_manifests: what contrib/ ships to deploy upperwatch is valid, and
# its moving parts do what their comments say.
#
#   1. Kubernetes: every YAML document in contrib/kubernetes against the
#      API's schemas, offline (kubernetes-models bundles them as compiled
#      validators; installed from the npm registry into the scratch dir),
#      strict about unknown fields (as kubectl's strict decoding), plus
#      what the API server refuses beyond the schema; and the validator
#      must reject a broken copy (else it proves nothing).
#   2. The DaemonSet's ConfigMap holds policies/default byte for byte, and
#      loads as a policy set from a dir laid out as the kubelet lays out a
#      ConfigMap volume (..data symlinks).
#   3. Policy reload: the DaemonSet's own daemon command (its sh -c part,
#      with its args) and its reloader script, taken from the YAML, run
#      here on a real overlay; the "ConfigMap" is swapped the way the
#      kubelet does it; the reloader sends SIGHUP and the next event is
#      judged by the new policy.
#   4. The sidecar's entry script (contrib/sidecar/upperwatch-sidecar)
#      against runc containers annotated as CRI does it: it picks the
#      pod's "app" container, not a same-named one of another pod, and
#      follows it when it is replaced.
#   5. systemd: systemd-analyze verify on the unit (and with its drop-in),
#      silent; its ExecStart options are the binary's; and the daemon run
#      with the unit's CapabilityBoundingSet and NoNewPrivileges reads
#      trusted.* xattrs and pauses a runc container through runc.
#   6. logrotate: logrotate -d on the file, silent; a forced rotation
#      (copytruncate) while the daemon appends to events.jsonl (as the
#      unit runs it) loses and corrupts no line.
#
# Needs root, node and npm (and the npm registry, once per run), systemd
# (systemd-analyze), logrotate, runc, busybox, jq, setfattr, setpriv.
# UW_NPM_PREFIX=DIR: use (or fill) that node_modules prefix instead of a
# fresh install in the scratch dir.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd node npm jq systemd-analyze logrotate runc busybox setfattr setpriv mknod timeout
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
SRC=${UW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
K8S=$SRC/contrib/kubernetes
RS=$(realpath "$S")
P=uwt-deploy-$$
cleanup_push "for d in /sys/fs/cgroup/$P /sys/fs/cgroup/*/$P; do [ -d \"\$d\" ] && rmdir \"\$d\"/*/ \"\$d\"; done"

# ---- 1. Kubernetes schemas ---------------------------------------------------

# Pinned: kubernetes-models 4.5.x is the last for Node.js < 22 (Debian 12
# has 18, this machine 20); its schemas are Kubernetes 1.32's.
NPM_PKGS="kubernetes-models@4.5.1 yaml@2.9.1"
NPM_PREFIX=${UW_NPM_PREFIX:-$RS/npm}
have_npm_pkgs() {
	[ "$(node -e 'console.log(require(process.argv[1] + "/node_modules/kubernetes-models/package.json").version)' \
	    "$NPM_PREFIX" 2>/dev/null)" = 4.5.1 ] && [ -f "$NPM_PREFIX/node_modules/yaml/package.json" ]
}
if ! have_npm_pkgs; then
	mkdir -p "$NPM_PREFIX"
	# its own cache: nothing left in ~/.npm
	# shellcheck disable=SC2086
	if ! timeout 300 npm install --prefix "$NPM_PREFIX" --cache "$RS/npm-cache" \
	    --no-audit --no-fund --no-save --loglevel=error $NPM_PKGS >"$S/npm.log" 2>&1; then
		skip "npm install $NPM_PKGS failed (registry unreachable?): $(tail -n 3 "$S/npm.log" | tr '\n' ' ')"
	fi
fi
export NODE_PATH=$NPM_PREFIX/node_modules

cat >"$S/validate.cjs" <<'EOF'
// validate.cjs FILE...: Kubernetes manifests against the API's schemas
// (kubernetes-models' compiled validators: types, required fields,
// enums, formats such as quantities), unknown fields, and what the API
// server refuses beyond the schema.  One line per document; exit 1 on any
// error.
"use strict";
const fs = require("fs");
const YAML = require("yaml");

let failed = 0;
const say = (s) => process.stdout.write(s + "\n");
const bad = (where, msg) => { failed++; say(`not ok - ${where}: ${msg}`); };

// Validate a proxy of the object that records which keys of each object
// the validator read.  ajv's code reads every property its schema defines
// (and every key of a map), so a key it never read is not in the schema.
// Objects it never looked into (free-form ones) are not judged.
function strictValidate(cls, data) {
	const seen = new WeakMap();
	const note = (t, k) => {
		if (!seen.has(t)) seen.set(t, new Set());
		seen.get(t).add(k);
	};
	const wrap = (obj) => obj === null || typeof obj !== "object" ? obj :
	    new Proxy(obj, {
		get(t, k, r) { note(t, k); return wrap(Reflect.get(t, k, r)); },
		has(t, k) { note(t, k); return Reflect.has(t, k); },
	    });
	const errors = [];
	try {
		cls.prototype.validate.call(wrap(data));
	} catch (e) {
		for (const err of e.errors || [{ instancePath: "", message: e.message }])
			errors.push(`${err.instancePath || "/"} ${err.message}` +
			    (err.params && err.params.allowedValues ?
				` (${err.params.allowedValues.join(", ")})` : ""));
	}
	const walk = (obj, path) => {
		if (obj === null || typeof obj !== "object") return;
		if (Array.isArray(obj)) {
			obj.forEach((v, i) => walk(v, `${path}/${i}`));
			return;
		}
		const keys = seen.get(obj);
		for (const k of Object.keys(obj)) {
			if (keys !== undefined && !keys.has(k))
				errors.push(`${path}/${k} unknown field`);
			walk(obj[k], `${path}/${k}`);
		}
	};
	walk(data, "");
	return errors;
}

function modelFor(apiVersion, kind) {
	try {
		const m = require(`kubernetes-models/${apiVersion}`);
		return m[kind] && m[kind].prototype && m[kind].prototype.validate ?
		    m[kind] : null;
	} catch (e) {
		return null;
	}
}

// ValidatePodSpec and ValidateSecurityContext rules the schema lacks, and
// references inside a pod spec.
function podChecks(spec) {
	const errs = [];
	if (!spec) return errs;
	const all = [...(spec.initContainers || []), ...(spec.containers || [])];
	const names = new Set();
	for (const c of all) {
		if (names.has(c.name)) errs.push(`container name ${c.name} used twice`);
		names.add(c.name);
	}
	if (spec.hostPID && spec.shareProcessNamespace)
		errs.push("hostPID and shareProcessNamespace cannot both be set");
	const vols = new Set((spec.volumes || []).map((v) => v.name));
	for (const c of all) {
		const sc = c.securityContext || {};
		const adds = ((sc.capabilities || {}).add || []).map(String);
		if (sc.allowPrivilegeEscalation === false && sc.privileged === true)
			errs.push(`${c.name}: allowPrivilegeEscalation false with privileged`);
		// The API refuses it spelled CAP_SYS_ADMIN; SYS_ADMIN is the
		// same capability, and no_new_privs means nothing to its holder.
		if (sc.allowPrivilegeEscalation === false &&
		    adds.some((a) => a.replace(/^CAP_/, "") === "SYS_ADMIN"))
			errs.push(`${c.name}: allowPrivilegeEscalation false with SYS_ADMIN`);
		for (const m of c.volumeMounts || []) {
			if (!vols.has(m.name))
				errs.push(`${c.name}: volumeMount ${m.name} has no volume`);
			if (m.mountPropagation === "Bidirectional" && sc.privileged !== true)
				errs.push(`${c.name}: Bidirectional propagation needs privileged`);
		}
	}
	return errs;
}

const docs = [];
for (const file of process.argv.slice(2)) {
	const text = fs.readFileSync(file, "utf8");
	YAML.parseAllDocuments(text, { uniqueKeys: true, strict: true }).forEach((doc, i) => {
		const where = `${file.replace(/.*\//, "")}#${i + 1}`;
		for (const e of [...doc.errors, ...doc.warnings])
			bad(where, `YAML: ${e.message.split("\n")[0]}`);
		if (doc.errors.length) return;
		const obj = doc.toJS();
		if (obj !== null && obj !== undefined) docs.push({ where, obj });
	});
}
const key = (o) => `${o.kind}/${(o.metadata || {}).namespace || ""}/${(o.metadata || {}).name}`;
const defined = new Set(docs.map(({ obj }) => key(obj)));
const namespaces = new Set(docs.filter(({ obj }) => obj.kind === "Namespace")
    .map(({ obj }) => obj.metadata.name));

for (const { where, obj } of docs) {
	if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
		bad(where, "no apiVersion or kind");
		continue;
	}
	const cls = modelFor(obj.apiVersion, obj.kind);
	if (cls === null) {
		bad(where, `unknown kind ${obj.apiVersion} ${obj.kind}`);
		continue;
	}
	const md = obj.metadata || {};
	const name = `${obj.kind}/${md.name}`;
	const errs = strictValidate(cls, obj);
	if (!md.name) errs.push("no metadata.name");
	let podSpec = null;
	if (obj.kind === "Pod") {
		podSpec = obj.spec;
	} else if (obj.spec && obj.spec.template) {
		podSpec = obj.spec.template.spec;
		const labels = (obj.spec.template.metadata || {}).labels || {};
		const want = (obj.spec.selector || {}).matchLabels || {};
		for (const [k, v] of Object.entries(want))
			if (labels[k] !== v)
				errs.push(`selector ${k}=${v} does not match the template's labels`);
	}
	errs.push(...podChecks(podSpec));
	// References to objects of the same file, where it defines a namespace.
	if (namespaces.size) {
		const ns = md.namespace || "";
		if (md.namespace && !namespaces.has(md.namespace))
			errs.push(`namespace ${md.namespace} not defined here`);
		if (podSpec && podSpec.serviceAccountName &&
		    !defined.has(`ServiceAccount/${ns}/${podSpec.serviceAccountName}`))
			errs.push(`serviceAccountName ${podSpec.serviceAccountName} not defined here`);
		for (const v of (podSpec && podSpec.volumes) || [])
			if (v.configMap && !defined.has(`ConfigMap/${ns}/${v.configMap.name}`))
				errs.push(`configMap ${v.configMap.name} not defined here`);
	}
	if (errs.length === 0) say(`ok - ${where} ${obj.apiVersion} ${name}`);
	for (const e of errs) bad(`${where} ${name}`, e);
}
process.exit(failed ? 1 : 0);
EOF

# yq FILE KIND NAME [JS-EXPRESSION]: JSON of one document of FILE (or of
# the expression, with the document as `d`).
yq() {
	node -e '
		const YAML = require("yaml"), fs = require("fs");
		const [file, kind, name, expr] = process.argv.slice(1);
		const d = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
		    .map((x) => x.toJS()).find((x) => x && x.kind === kind && x.metadata.name === name);
		const v = expr ? eval(expr) : d;
		process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
	' "$@"
}

MANIFESTS=("$K8S"/*.yaml)
[ "${#MANIFESTS[@]}" -ge 2 ] || fail "fewer than 2 manifests in $K8S"
if node "$S/validate.cjs" "${MANIFESTS[@]}" >"$S/validate.out" 2>&1; then
	while read -r line; do pass "schema: ${line#ok - }"; done <"$S/validate.out"
else
	fail "schema: $(grep -v '^ok' "$S/validate.out" | head -n 10 | tr '\n' ';')"
fi
expect_eq "schema: every document of daemonset.yaml (Namespace, ServiceAccount, ConfigMap, DaemonSet)" \
    "Namespace ServiceAccount ConfigMap DaemonSet" \
    "$(grep -o 'daemonset.yaml#[0-9]* [^ ]* [A-Za-z]*' "$S/validate.out" | awk '{ print $3 }' | tr '\n' ' ' | sed 's/ $//')"

# The validator must see what is wrong in a broken copy.
node - "$K8S/sidecar-pod.yaml" >"$S/broken.yaml" <<'EOF'
const fs = require("fs");
let s = fs.readFileSync(process.argv[2], "utf8");
s = s.replace("  automountServiceAccountToken: false\n",
    "  automountServiceAccountToken: false\n  hostPid: true\n");
s = s.replace("imagePullPolicy: IfNotPresent", "imagePullPolicy: Sometimes");
s = s.replace("containerPort: 80", "containerPort: \"80\"");
s = s.replace("          memory: 512Mi", "          memory: 512 MB");
s = s.replace("        runAsUser: 0\n", "        runAsUser: 0\n        allowPrivilegeEscalation: false\n");
s = s.replace("          mountPath: /tmp\n", "          mountPath: /tmp\n        - name: nosuch\n          mountPath: /x\n");
process.stdout.write(s);
EOF
node "$S/validate.cjs" "$S/broken.yaml" >"$S/broken.out" 2>&1
expect_eq "validator: a broken manifest fails" 1 $?
for want in "/spec/hostPid unknown field" "imagePullPolicy must be equal to one of the allowed values" \
    "containerPort must be integer" "memory must match format \"quantity\"" \
    "allowPrivilegeEscalation false with SYS_ADMIN" "volumeMount nosuch has no volume"; do
	check "validator: catches '$want'" grep -qF -- "$want" "$S/broken.out"
done

# ---- 2. the ConfigMap is policies/default -------------------------------------

CM=$RS/cm
mkdir -p "$CM/..2026_01_01_00_00_00.000000001" "$RS/cm-expected"
yq "$K8S/daemonset.yaml" ConfigMap upperwatch-policies 'JSON.stringify(d.data)' >"$S/cm.json"
for f in $(jq -r 'keys[]' "$S/cm.json"); do
	jq -j --arg f "$f" '.[$f]' "$S/cm.json" >"$CM/..2026_01_01_00_00_00.000000001/$f"
done
expect_eq "ConfigMap: the files of policies/default" \
    "$(cd "$SRC/policies/default" && ls -- *.lua | tr '\n' ' ')" "$(jq -r 'keys | join(" ")' "$S/cm.json") "
stale=
for f in "$SRC"/policies/default/*.lua; do
	cmp -s "$f" "$CM/..2026_01_01_00_00_00.000000001/${f##*/}" || stale="$stale ${f##*/}"
done
if [ -z "$stale" ]; then
	pass "ConfigMap: each policy byte for byte as in policies/default"
else
	fail "ConfigMap: stale copies of$stale (run contrib/kubernetes/update-policies.sh)"
fi
# the kubelet's layout: ..data -> the timestamped dir, NAME -> ..data/NAME
ln -s ..2026_01_01_00_00_00.000000001 "$CM/..data"
for f in "$CM"/..data/*.lua; do ln -s "..data/${f##*/}" "$CM/${f##*/}"; done
policy_check() { "$UPPERWATCH" policy check "$1" >"$S/policy-check.out" 2>&1; }
check "ConfigMap: loads from a ConfigMap volume's layout (policy check)" policy_check "$CM"

# ---- a plain overlay for 3, 5 and 6 --------------------------------------------

mkdir -p "$RS/img/etc" "$RS/img/opt/data" "$RS/up" "$RS/wk" "$RS/mnt"
echo v1 >"$RS/img/etc/app.conf"
"$UPPERWATCH" --db "$S/db" baseline -q --image deploytest --rootfs "$RS/img" >/dev/null ||
    fail "baseline of the test image"
mount_overlay "$RS/img" "$RS/up" "$RS/wk" "$RS/mnt" || { fail "overlay mount"; finish; }
# verdict FILE PATH: "severity/action" of the last event of PATH
verdict() { jq -r --arg p "$2" 'select(.path == $p) | "\(.verdict.severity)/\(.verdict.action)"' "$1" 2>/dev/null | tail -n 1; }

# ---- 3. reload on ConfigMap change (the DaemonSet's own scripts) ------------------

DS=$(yq "$K8S/daemonset.yaml" DaemonSet upperwatch 'JSON.stringify(d.spec.template.spec.containers)')
MAIN_SH=$(jq -r '.[] | select(.name == "upperwatch") | .command as $c |
    $c[($c | index("-c")) + 1]' <<<"$DS")
RELOAD_SH=$(jq -r '.[] | select(.name == "policy-reloader") | .command[2]' <<<"$DS")
# its args, with our policy dir, and no alert sink (none here)
ARGS=()
skip_next=0 policy_next=0
while IFS= read -r a; do
	if [ "$skip_next" = 1 ]; then skip_next=0; continue; fi
	if [ "$policy_next" = 1 ]; then policy_next=0; ARGS+=("$CM"); continue; fi
	case $a in
	--alert-url) skip_next=1; continue ;;
	--policy) policy_next=1 ;;
	esac
	ARGS+=("$a")
done < <(jq -r '.[] | select(.name == "upperwatch") | .args[]' <<<"$DS")
echo "# DaemonSet daemon, args here: ${ARGS[*]}"
expect_eq "DaemonSet: its daemon gets --policy /etc/upperwatch/policies (the ConfigMap)" true \
    "$(jq '.[] | select(.name == "upperwatch") | .args | index("--policy") as $i |
	$i != null and .[$i + 1] == "/etc/upperwatch/policies"' <<<"$DS")"
expect_eq "DaemonSet: ConfigMap mounted at the --policy dir" "/etc/upperwatch/policies" \
    "$(jq -r '.[] | select(.name == "upperwatch") | .volumeMounts[] | select(.name == "policies") | .mountPath' <<<"$DS")"
if [ -z "$MAIN_SH" ] || [ -z "$RELOAD_SH" ]; then
	fail "DaemonSet: no daemon or reloader script found"
	finish
fi
PIDFILE=$RS/daemon.pid
UW_PIDFILE=$PIDFILE UPPERWATCH_DB=$S/db PATH=$(dirname "$UPPERWATCH"):$PATH \
    sh -c "${MAIN_SH//\/usr\/sbin\/upperwatch/$UPPERWATCH}" upperwatch "${ARGS[@]}" \
    --upper "$RS/up" --image deploytest >"$S/ds.out" 2>"$S/ds.err" &
DPID=$!
cleanup_push "stop_bg $DPID"
UW_POLICY_DIR=$CM UW_PIDFILE=$PIDFILE UW_POLL_SECONDS=1 sh -c "$RELOAD_SH" >"$S/reloader.out" 2>&1 &
RPID=$!
cleanup_push "stop_bg $RPID"
wait_until 10 test -s "$PIDFILE" || fail "DaemonSet: the daemon wrote no pid file"
expect_eq "DaemonSet: the pid file holds the daemon's pid (sh exec'd upperwatch)" "$DPID" "$(cat "$PIDFILE" 2>/dev/null)"
expect_eq "DaemonSet: that pid is upperwatch" upperwatch "$(cat "/proc/$DPID/comm" 2>/dev/null)"
sleep 1
echo v2 >"$RS/mnt/etc/app.conf"
wait_until 5 grep -q '"/etc/app.conf"' "$S/ds.out" || fail "DaemonSet daemon: no event for /etc/app.conf: $(head -c 300 "$S/ds.err")"
before=$(verdict "$S/ds.out" /etc/app.conf)
# The ConfigMap changes: one more policy.  The kubelet writes a new
# timestamped dir, then swaps ..data with a rename.
NEW=..2026_01_01_00_01_00.000000002
cp -r "$CM/..2026_01_01_00_00_00.000000001" "$CM/$NEW"
cat >"$CM/$NEW/zz-app-conf.lua" <<'EOF'
local uw = require("upperwatch")
return {
	name = "app-conf",
	description = "The app's configuration must not change.",
	match = { paths = { "/etc/app.conf" } },
	evaluate = function(ev)
		return uw.verdict("critical", "alert", "app configuration changed")
	end,
}
EOF
ln -s zz-app-conf.lua "$CM/zz-tmp" && ln -s "..data/zz-app-conf.lua" "$CM/zz-app-conf.lua" && rm "$CM/zz-tmp"
ln -s "$NEW" "$CM/..data_tmp" && mv -T "$CM/..data_tmp" "$CM/..data"
if wait_until 10 grep -q "SIGHUP to upperwatch, pid $DPID" "$S/reloader.out"; then
	pass "reloader: saw the ConfigMap change and sent SIGHUP to pid $DPID"
else
	fail "reloader: no SIGHUP within 10 s: $(tr '\n' ';' <"$S/reloader.out")"
fi
sleep 0.5
echo v3 >"$RS/mnt/etc/app.conf"
new_verdict() { [ "$(verdict "$S/ds.out" /etc/app.conf)" = critical/alert ]; }
wait_until 5 new_verdict
expect_eq "reload: /etc/app.conf judged by the new policy (was $before)" critical/alert \
    "$(verdict "$S/ds.out" /etc/app.conf)"
check "reload: the daemon still runs" alive "$DPID"
stop_bg "$DPID"
expect_eq "DaemonSet daemon: SIGTERM, exit 0" 0 "$BG_STATUS"
stop_bg "$RPID"
expect_eq "reloader: SIGTERM, exit 0" 0 "$BG_STATUS"

# ---- runc containers annotated as CRI does it (for 4 and 5) ----------------------

L1=$RS/layers/1 L2=$RS/layers/2
mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,opt/data} "$L2"/{etc,bin,opt/data}
(
	set -e
	busybox_layer "$L1" sh echo sleep rm mkdir cat
	echo 'root:x:0:0:root:/root:/bin/sh' >"$L1/etc/passwd"
	echo old >"$L1/opt/data/old.txt"
	setfattr -n trusted.overlay.opaque -v y "$L2/opt/data"
	echo new >"$L2/opt/data/new.txt"
) || fail "building the layers failed"
# start_ctr CID POD: a runc container named "app" of pod POD (namespace
# default), as the CRI annotates it.
start_ctr() {
	run_container "$RS/$1" "$1" "$L2:$L1" "/$P/$1" "while true; do sleep 1; done" \
		'.annotations = {"io.kubernetes.pod.name": "'"$2"'",
		    "io.kubernetes.pod.namespace": "default",
		    "io.kubernetes.container.name": "app"}'
}
stop_ctr() {
	runc kill "$1" KILL 2>/dev/null
	wait_until 10 sh -c "! runc state '$1' >/dev/null 2>&1" || runc delete -f "$1"
	umount "$RS/$1/bundle/rootfs"
}
xc() { runc exec "$1" sh -c "$2" </dev/null >/dev/null 2>&1; }

# ---- 4. the sidecar's entry script ------------------------------------------------

SIDECAR=$SRC/contrib/sidecar/upperwatch-sidecar
check "sidecar: a runc container of another pod, also named app" start_ctr "$P-decoy" pod-other
SOUT=$S/sidecar.out SERR=$S/sidecar.err
UW_TARGET_CONTAINER=app UW_POD_NAME=pod-x UW_POD_NAMESPACE=default UW_POLL_SECONDS=1 \
    UPPERWATCH=$UPPERWATCH UPPERWATCH_DB=$S/sidecar.db "$SIDECAR" --max-action alert >"$SOUT" 2>"$SERR" &
SPID=$!
cleanup_push "stop_bg $SPID"
wait_until 5 grep -q "waiting for container app of pod default/pod-x" "$SERR" ||
    fail "sidecar: no 'waiting' line: $(head -c 300 "$SERR")"
check "sidecar: the pod's app container starts after the sidecar" start_ctr "$P-c1" pod-x
if wait_until 20 grep -q "watching container $P-c1 " "$SERR"; then
	pass "sidecar: watches pod-x's app ($P-c1)"
else
	fail "sidecar: not watching $P-c1: $(tail -n 5 "$SERR" | tr '\n' ';')"
fi
xc "$P-decoy" 'echo d > /etc/decoy'
xc "$P-c1" 'rm -rf /opt/data; mkdir /opt/data; echo x > /etc/x1'
wait_until 5 grep -q '"/etc/x1"' "$SOUT"
expect_eq "sidecar: $P-c1's changes, replaced dir included; nothing of the decoy" \
    "added /etc/x1 $P-c1;replaced /opt/data $P-c1;" \
    "$(sleep 1; jq -r '"\(.op) \(.path) \(.container.id)"' "$SOUT" | sort | tr '\n' ';')"
# the app container is replaced (a restart gives it a new id)
stop_ctr "$P-c1"
check "sidecar: the app container again, with a new id" start_ctr "$P-c1b" pod-x
if wait_until 20 grep -q "watching app: container $P-c1b" "$SERR"; then
	pass "sidecar: follows the new app container ($P-c1b)"
else
	fail "sidecar: did not follow to $P-c1b: $(tail -n 5 "$SERR" | tr '\n' ';')"
fi
wait_until 20 grep -q "watching container $P-c1b " "$SERR"
xc "$P-c1b" 'echo y > /etc/y1'
if wait_until 5 grep -q '"/etc/y1"' "$SOUT"; then
	pass "sidecar: $P-c1b's change reported"
else
	fail "sidecar: $P-c1b's change not reported"
fi
stop_bg "$SPID"
expect_eq "sidecar: SIGTERM, exit 0" 0 "$BG_STATUS"
stop_ctr "$P-decoy"

# ---- 5. systemd ----------------------------------------------------------------------

UNIT=$SRC/contrib/systemd/upperwatch.service
mkdir -p "$RS/systemd/bin" "$RS/systemd/upperwatch.service.d"
cp "$UPPERWATCH" "$RS/systemd/bin/upperwatch"
# the unit with the binary where it is here (verify wants it to exist)
sed "s|/usr/sbin/upperwatch|$RS/systemd/bin/upperwatch|g" "$UNIT" >"$RS/systemd/upperwatch.service"
# --man=no: the manuals are not installed here
systemd-analyze verify --man=no "$RS/systemd/upperwatch.service" >"$S/verify.out" 2>&1
expect_eq "systemd-analyze verify upperwatch.service: exit 0" 0 $?
expect_eq "systemd-analyze verify upperwatch.service: no warning" "" "$(cat "$S/verify.out")"
cp "$SRC/contrib/systemd/upperwatch.service.d/sandbox-fs.conf" "$RS/systemd/upperwatch.service.d/"
systemd-analyze verify --man=no "$RS/systemd/upperwatch.service" >"$S/verify2.out" 2>&1
expect_eq "systemd-analyze verify with the sandbox-fs.conf drop-in: exit 0, no warning" "0 " \
    "$? $(cat "$S/verify2.out")"
echo "# systemd-analyze security, with sandbox-fs.conf: $(systemd-analyze security --offline=yes "$RS/systemd/upperwatch.service" 2>/dev/null | tail -n 1)"
rm -r "$RS/systemd/upperwatch.service.d"
echo "# systemd-analyze security, the unit alone: $(systemd-analyze security --offline=yes "$RS/systemd/upperwatch.service" 2>/dev/null | tail -n 1)"
# ExecStart's options are the binary's (an unknown one fails before --help)
read -r -a EXEC <<<"$(sed -n 's/^ExecStart=//p' "$UNIT" | sed 's/\$UPPERWATCH_OPTS//')"
takes_options() { "$UPPERWATCH" "$@" --help >/dev/null 2>&1; }
check "ExecStart: '${EXEC[*]:1}' are options of upperwatch" takes_options "${EXEC[@]:1}"
expect_eq "ExecReload sends SIGHUP" '/bin/kill -HUP $MAINPID' "$(sed -n 's/^ExecReload=//p' "$UNIT")"
check "the EnvironmentFile sets UPPERWATCH_OPTS" \
    sh -c ". '$SRC/contrib/upperwatch.default' && [ \"\${UPPERWATCH_OPTS+set}\" = set ]"

# The unit's capabilities are enough: the daemon under them (and
# NoNewPrivileges) reads trusted.* xattrs and pauses through runc.
CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
expect_eq "unit: CapabilityBoundingSet" "+dac_read_search,+dac_override,+sys_admin,+kill" "$CAPS"
check "unit: NoNewPrivileges=yes" grep -qx 'NoNewPrivileges=yes' "$UNIT"
mkdir -p "$RS/pause"
cat >"$RS/pause/pause-etc.lua" <<'EOF'
local uw = require("upperwatch")
return {
	name = "pause-etc",
	description = "Any change under /etc pauses the container.",
	match = { paths = { "/etc/**" } },
	evaluate = function(ev) return uw.verdict("high", "pause", "etc changed") end,
}
EOF
check "unit caps: a runc container to pause" start_ctr "$P-c2" pod-y
setpriv --bounding-set="-all,$CAPS" --inh-caps=-all --no-new-privs -- \
    "$UPPERWATCH" --db "$S/caps.db" watch --container "$P-c2" --policy "$RS/pause" \
    --output "$S/caps.out" 2>"$S/caps.err" &
CPID=$!
cleanup_push "stop_bg $CPID"
wait_until 20 grep -q "watching container $P-c2 " "$S/caps.err" ||
    fail "unit caps: not watching $P-c2: $(head -c 300 "$S/caps.err")"
check "unit caps: its bounding set is the unit's" \
    test "$(awk '/^CapBnd/ { print $2 }' "/proc/$CPID/status")" = 0000000000200026
KEY=$("$UPPERWATCH" --db "$S/caps.db" images --json | jq -r .image | head -n 1)
"$UPPERWATCH" --db "$S/caps.db" show --image "$KEY" /opt/data/old.txt >/dev/null 2>&1
expect_eq "unit caps: trusted.overlay.opaque read (the opaque dir hides old.txt)" 1 $?
xc "$P-c2" 'echo x > /etc/evil'
if wait_until 5 grep -q "container $P-c2 paused (runc)" "$S/caps.err"; then
	pass "unit caps: paused through runc"
else
	fail "unit caps: no 'paused (runc)': $(grep -i pause "$S/caps.err" | head -n 3 | tr '\n' ';')"
fi
expect_eq "unit caps: runc state says paused" paused "$(runc state "$P-c2" 2>/dev/null | jq -r .status)"
stop_bg "$CPID"
runc resume "$P-c2" 2>/dev/null
stop_ctr "$P-c2"

# ---- 6. logrotate ------------------------------------------------------------------------

LOG=$RS/log
mkdir -p "$LOG"
sed "s|/var/log/upperwatch/|$LOG/|" "$SRC/contrib/logrotate/upperwatch" >"$RS/logrotate.conf"
logrotate -d -s "$RS/logrotate.state" "$RS/logrotate.conf" >"$S/lr.out" 2>&1
expect_eq "logrotate -d: exit 0" 0 $?
expect_eq "logrotate -d: no error" "" "$(grep -i 'error' "$S/lr.out")"
check "logrotate: copytruncate (the daemon has no reopen signal)" grep -qw copytruncate "$RS/logrotate.conf"
# The daemon as the unit runs it, appending to events.jsonl.
"$UPPERWATCH" --db "$S/db" watch --quiet --output "$LOG/events.jsonl" --no-policy \
    --upper "$RS/up" --image deploytest 2>"$S/lr-watch.err" &
WPID=$!
cleanup_push "stop_bg $WPID"
sleep 1
for i in 1 2 3; do echo "$i" >"$RS/mnt/etc/before$i"; done
wait_until 5 sh -c "[ \$(grep -c before '$LOG/events.jsonl') -ge 3 ]" || fail "logrotate: no events before"
logrotate -f -s "$RS/logrotate.state" "$RS/logrotate.conf" >"$S/lr2.out" 2>&1
expect_eq "logrotate -f: exit 0" 0 $?
for i in 1 2; do echo "$i" >"$RS/mnt/etc/after$i"; done
wait_until 5 sh -c "[ \$(grep -c after '$LOG/events.jsonl') -ge 2 ]" || fail "logrotate: no events after"
stop_bg "$WPID"
expect_eq "logrotate: the rotated file has the 3 events before" 3 "$(grep -c '"/etc/before' "$LOG/events.jsonl.1" 2>/dev/null)"
expect_eq "logrotate: the live file has exactly the 2 events after" \
    '/etc/after1 /etc/after2' "$(jq -r .path "$LOG/events.jsonl" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "logrotate: the live file starts at offset 0 (no NUL bytes before the new lines)" 0 \
    "$(tr -cd '\000' <"$LOG/events.jsonl" | wc -c)"

[ -n "${UWT_KEEP:-}" ] && cp -a "$S" "$UWT_KEEP"
finish
