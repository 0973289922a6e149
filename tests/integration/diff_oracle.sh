#!/bin/bash
# diff_oracle: `upperwatch diff` of a container's upper dir must report
# exactly what changed between the image and the merged view overlayfs
# shows, under each mount option a runtime may use.
#
# A 3-layer stack (char-dev whiteouts of a file and of a dir, an opaque dir)
# is baselined once.  Then, for each mount option set (default, metacopy=on,
# redirect_dir=on, index=on, userxattr), a fresh upper is mounted over it
# and a container's usual changes are made through the merged dir: create,
# append, rewrite with the same bytes, truncate, chmod, chown, setcap and
# setcap -r, rename a file (also over another, also away and back), rename
# a dir (to a new name and change what is below it, to another parent,
# away and back, over an image dir), rm, rm -rf and re-create a dir,
# file -> symlink, dir -> file, file -> dir, hard link (also of a file the
# image has linked twice), mkfifo, symlink retarget, chown -h, chmod of a
# dir and of a device, re-create paths a layer had hidden.  A second fresh
# upper per option set gets only copy-ups that change nothing visible
# (same bytes, same mode, touch, user xattr, renamed and back, ...): exit
# 0, no output.
#
# The oracle: the same lowers + that upper mounted read-only, baselined
# with --rootfs into the same db (so keyed hashes compare), and per path of
# (merged + image): only in merged -> added, only in the image -> deleted,
# type differs -> replaced, hash or link differs -> modified, mode, owner or
# caps differ -> metadata.  diff's report is normalised before the sets are
# compared: a D of a dir stands for every image path below it; an opaque
# R dir stands for the image paths below it that are gone (the dir itself
# is fine if the oracle says nothing or metadata); an A with a redirect
# (a renamed dir) stands for everything below its new name, and what diff
# reports below it must equal the oracle of the new name against the old
# path's rows; an R type change of a dir stands for its old children.
# Every event's current and baseline records must equal the merged and
# image rows; its text form must say the same as its JSON form.
#
# Then runtime-injected files (podman: etc/hostname, etc/hosts,
# etc/resolv.conf, etc/mtab, run/.containerenv): reported as they are, and
# gone with --exclude, leaving every other event as it was.
#
# Needs root (mknod, trusted.* xattrs, mount, setcap), jq, python3,
# setfattr, getfattr, setcap.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd jq setfattr getfattr setcap mknod mkfifo timeout truncate findmnt
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip "needs python3"
[ -x "$UPPERWATCH" ] || skip "no binary at $UPPERWATCH"

umask 022
export LC_ALL=C
DB=$S/db

# ---- helpers ---------------------------------------------------------------

# uwx SECONDS ARGS...: run upperwatch on $DB, bounded; stdout in $S/out,
# stderr in $S/err.  Returns upperwatch's status (124 on timeout).
uwx() {
	local t=$1
	shift
	timeout -k 5 "$t" "$UPPERWATCH" --db "$DB" "$@" >"$S/out" 2>"$S/err"
}

# baseline DESC IMAGE ARGS...: build a baseline and keep its rows in
# $S/rows.IMAGE.  Returns 1 when it failed.
baseline() {
	local what=$1 image=$2 rc
	shift 2
	rm -f "$S/rows.$image"
	uwx 120 baseline --image "$image" --json "$@"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "$what: baseline exited $rc: $(head -c 600 "$S/err")"
		return 1
	fi
	uwx 60 show --image "$image" --json
	rc=$?
	if [ $rc -ne 0 ] || [ ! -s "$S/out" ]; then
		fail "$what: show --image $image exited $rc: $(head -c 300 "$S/err")"
		return 1
	fi
	cp "$S/out" "$S/rows.$image"
	pass "$what: baseline of $(wc -l <"$S/rows.$image") entries"
}

# diffx OUT ARGS...: `diff ARGS` bounded; stdout in OUT, status echoed.
diffx() {
	local out=$1 rc
	shift
	uwx 60 diff "$@"
	rc=$?
	cp "$S/out" "$out"
	[ $rc -le 1 ] || echo "# diff $*: exit $rc: $(head -c 300 "$S/err")" >&2
	echo $rc
}

# report: read "ok<TAB>what" / "fail<TAB>what" lines (and "#" detail
# lines) from the oracle script and record them.
report() {
	local line
	while IFS= read -r line; do
		case $line in
		ok$'\t'*) pass "${line#ok	}" ;;
		fail$'\t'*) fail "${line#fail	}" ;;
		*) echo "$line" >&2 ;;
		esac
	done
}

wh() { mknod "$1" c 0 0; }

# The oracle and the normalisation of diff's report, see the top comment.
# usage: oracle.py LABEL IMAGE_ROWS MERGED_ROWS DIFF_JSON DIFF_TEXT
cat >"$S/oracle.py" <<'EOF'
import json, sys

label, image_rows, merged_rows, diff_json, diff_text = sys.argv[1:6]
OPS = {'added', 'modified', 'metadata', 'deleted', 'replaced'}
LETTER = {'added': 'A', 'modified': 'C', 'metadata': 'M', 'deleted': 'D',
          'replaced': 'R'}


def out(ok, what, detail=()):
    print('%s\t%s: %s' % ('ok' if ok else 'fail', label, what))
    for d in list(detail)[:200]:
        print('#   ' + d)
    sys.stdout.flush()


def key(o, name):
    if name + '_hex' in o:
        return bytes.fromhex(o[name + '_hex'])
    v = o.get(name)
    return None if v is None else v.encode('utf-8')


def load_rows(fn):
    rows = {}
    with open(fn, 'rb') as f:
        for raw in f:
            o = json.loads(raw)
            rows[key(o, 'path')] = o
    return rows


def show(p):
    return p.decode('utf-8', 'backslashreplace')


def under(q, p):
    return q.startswith(b'/' if p == b'/' else p + b'/') and q != p


def classify(m, b):
    if m is None and b is None:
        return None
    if m is None:
        return 'deleted'
    if b is None:
        return 'added'
    if m['type'] != b['type']:
        return 'replaced'
    if m['type'] == 'file' and (m.get('hash') != b.get('hash') or
                                m['size'] != b['size']):
        return 'modified'
    if m['type'] == 'symlink' and key(m, 'link') != key(b, 'link'):
        return 'modified'
    for f in ('uid', 'gid', 'caps'):
        if m.get(f) != b.get(f):
            return 'metadata'
    if m['type'] != 'symlink' and m['mode'] != b['mode']:
        return 'metadata'
    return None


def oracle(base, merged):
    o = {}
    for p in set(base) | set(merged):
        op = classify(merged.get(p), base.get(p))
        if op:
            o[p] = op
    return o


# The fields of an event record that must equal a row.
def rec(o, is_dir):
    r = {'type': o.get('type'), 'mode': o.get('mode'), 'uid': o.get('uid'),
         'gid': o.get('gid'), 'link': key(o, 'link'), 'caps': o.get('caps')}
    if not is_dir:
        r.update(size=o.get('size'), mtime=o.get('mtime'),
                 hash=o.get('hash'))
    return r


events = []
bad_lines = []
with open(diff_json, 'rb') as f:
    for n, raw in enumerate(f, 1):
        try:
            events.append(json.loads(raw.decode('utf-8')))
        except Exception as e:
            bad_lines.append('line %d: %s: %r' % (n, e, raw[:100]))
out(not bad_lines, 'diff --json: every line is one UTF-8 JSON object',
    bad_lines)
base = load_rows(image_rows)
merged = load_rows(merged_rows)

# Contract: fields and types.
bad = []
for ev in events:
    p = key(ev, 'path')
    why = []
    if ev.get('op') not in OPS:
        why.append('op')
    if not isinstance(ev.get('type'), str):
        why.append('type')
    if not (p or b'').startswith(b'/'):
        why.append('path')
    if ev.get('op') != 'deleted' and not isinstance(ev.get('current'), dict):
        why.append('no current')
    if ev.get('op') == 'deleted' and 'current' in ev:
        why.append('current on deleted')
    if ev.get('op') != 'added' and not isinstance(ev.get('baseline'), dict):
        why.append('no baseline')
    if ev.get('op') == 'added' and 'baseline' in ev:
        why.append('baseline on added')
    if ev.get('op') in ('deleted', 'replaced') and \
            not isinstance(ev.get('count'), int):
        why.append('no count')
    if not isinstance(ev.get('container'), dict) or \
            not ev['container'].get('image'):
        why.append('container.image')
    if why:
        bad.append('%s: %s' % (show(p or b'?'), ', '.join(why)))
out(not bad, 'every event has the documented fields', bad)
paths = [key(ev, 'path') for ev in events]
out(len(set(paths)) == len(paths), 'one event per path',
    [show(p) for p in paths if paths.count(p) > 1])

# Text form: the same events, in the same order, one line each.
with open(diff_text, 'rb') as f:
    text = f.read().split(b'\n')
if text and text[-1] == b'':
    text.pop()
want = []
for ev in events:
    p = key(ev, 'path')
    esc = p.replace(b'\\', b'\\\\').replace(b'\n', b'\\n')
    want.append(LETTER.get(ev['op'], '?').encode() + b' ' + esc)
got = [b' '.join(t.split(b' ')[:2]) for t in text]
out(got == want, 'text form: one line per event, same op letter and path',
    ['json %r / text %r' % (w, g) for w, g in zip(want + [b''] * len(got),
                                                   got + [b''] * len(want))
     if w != g][:10])


def expand(events, base, merged):
    """The per-path ops diff's events stand for, and record checks."""
    ops = {}
    nested = {}
    problems = []
    redirects = [key(ev, 'path') for ev in events
                 if ev['op'] == 'added' and ev.get('type') == 'dir'
                 and 'redirect' in ev]
    # the outermost ones: what is below them is their own scope
    redirects = [r for r in redirects
                 if not any(under(r, o) for o in redirects)]
    for r in redirects:
        nested[r] = []
    for ev in events:
        p = key(ev, 'path')
        anc = [r for r in redirects if under(p, r)]
        if anc:
            nested[anc[0]].append(ev)
            continue
        op = ev['op']
        b = base.get(p)
        m = merged.get(p)
        below = [q for q in base if under(q, p)]
        # the records
        if 'current' in ev:
            if m is None:
                problems.append('%s: current record, but not in merged'
                                % show(p))
            elif rec(ev['current'], m['type'] == 'dir') != \
                    rec(m, m['type'] == 'dir'):
                problems.append('%s: current %s != merged %s' % (
                    show(p), rec(ev['current'], m['type'] == 'dir'),
                    rec(m, m['type'] == 'dir')))
        if 'baseline' in ev:
            if b is None:
                problems.append('%s: baseline record, but not in the image'
                                % show(p))
            elif rec(ev['baseline'], False) != rec(b, False):
                problems.append('%s: baseline %s != image row %s' % (
                    show(p), rec(ev['baseline'], False), rec(b, False)))
        if op == 'deleted':
            ops[p] = 'deleted'
            if ev.get('type') == 'dir':
                for q in below:
                    ops[q] = 'deleted'
            if ev.get('count') != (len(below) if ev.get('type') == 'dir'
                                   else 0):
                problems.append('%s: D count %s, image has %d below' % (
                    show(p), ev.get('count'), len(below)))
        elif op == 'replaced' and b is not None and b['type'] == 'dir' \
                and ev.get('type') == 'dir':
            # opaque: the gone children are its own; the dir itself is
            # the same dir, at most with other metadata
            for q in below:
                if q not in merged:
                    ops[q] = 'deleted'
            c = classify(m, b)
            if c is not None and c != 'metadata':
                ops[p] = 'replaced'
            elif c is not None:
                ops[p] = c
            if ev.get('count') != len(below):
                problems.append('%s: R count %s, image has %d below' % (
                    show(p), ev.get('count'), len(below)))
        elif op == 'replaced':
            ops[p] = 'replaced'
            if b is not None and b['type'] == 'dir':
                for q in below:
                    ops[q] = 'deleted'
            for q in merged:
                if under(q, p):
                    ops[q] = 'added'
        elif op == 'added' and p in redirects:
            r = key(ev, 'redirect')
            ops[p] = 'added'
            for q in merged:
                if under(q, p):
                    ops[q] = 'added'
            rb = [q for q in gbase if under(q, r)]
            if r not in gbase or gbase[r]['type'] != 'dir':
                problems.append('%s: redirect %s is no image dir' % (
                    show(p), show(r)))
            if ev.get('count') != len(rb):
                problems.append('%s: A count %s, %s has %d below' % (
                    show(p), ev.get('count'), show(r), len(rb)))
        else:
            ops[p] = op
    return ops, nested, problems


def check_scope(name, events, base, merged):
    want = oracle(base, merged)
    got, nested, problems = expand(events, base, merged)
    out(not problems, '%s: event records match the image and merged rows'
        % name, problems)
    miss = sorted(set(want.items()) - set(got.items()))
    extra = sorted(set(got.items()) - set(want.items()))
    detail = ['oracle only: %s %s' % (op, show(p)) for p, op in miss] + \
             ['diff only:   %s %s' % (op, show(p)) for p, op in extra]
    if detail:
        detail.append('both sides (oracle | normalised diff):')
        for p in sorted(set(want) | set(got)):
            detail.append('  %s | %s  %s%s' % (
                LETTER.get(want.get(p), '-'), LETTER.get(got.get(p), '-'),
                show(p), '' if want.get(p) == got.get(p) else '   <--'))
    out(not detail, '%s: diff == oracle (%d paths)' % (name, len(want)),
        detail)
    for ev in events:
        p = key(ev, 'path')
        if p not in nested or ev['op'] != 'added' or 'redirect' not in ev:
            continue
        r = key(ev, 'redirect')
        sub_base = {p + q[len(r):]: row for q, row in gbase.items()
                    if under(q, r)}
        sub_merged = {q: row for q, row in merged.items() if under(q, p)}
        check_scope('%s: below %s (renamed from %s)' % (name, show(p),
                    show(r)), nested.get(p, []), sub_base, sub_merged)


gbase = base
check_scope('whole tree', events, base, merged)
EOF

# ---- the layer stack -------------------------------------------------------

# build_stack DIR XATTR_NS: layers DIR/L1 (top) .. DIR/L3, the way a
# snapshotter extracts them; XATTR_NS (trusted or user) names the opaque
# xattr of the layers' own opaque dir.
build_stack() {
	local x=$1 ns=$2
	mkdir -p "$x"/L1 "$x"/L2 "$x"/L3
	(
		set -e
		cd "$x/L3"
		mkdir -p etc usr/bin usr/lib usr/share/doc srv/app/sub srv/back \
		    var/lib/pkg/sub var/cache opq/sub opt/d2f/y opt/movedir opt/src \
		    opt/target home/user run tmp dev
		chmod 1777 tmp
		printf 'root:x:0:0:root:/root:/bin/sh\n' >etc/passwd
		echo 'root:x:0:' >etc/group
		echo v1 >etc/conf
		echo same >etc/same
		echo 'truncate me' >etc/trunc
		echo mode >etc/modeme
		echo own >etc/ownme
		echo rename >etc/renameme
		echo hello >etc/motd
		echo Debian >etc/issue
		echo f2d >etc/f2d
		echo rm >etc/rmme
		echo old >etc/oldconf
		echo hl >etc/hl1
		ln etc/hl1 etc/hl2                # a hard link inside the image
		echo '127.0.0.1 localhost' >etc/hosts
		echo 'nameserver 192.0.2.1' >etc/resolv.conf
		mknod dev/null c 1 3
		head -c 200000 /dev/urandom >usr/bin/busybox
		chmod 755 usr/bin/busybox
		ln -s busybox usr/bin/sh
		printf 'ping' >usr/bin/capme
		chmod 755 usr/bin/capme
		printf 'ping' >usr/bin/ping
		setcap cap_net_raw+ep usr/bin/ping
		echo tosym >usr/bin/tosym
		echo lib >usr/lib/libx
		ln -s usr/lib lib
		echo doc-a >usr/share/doc/a
		echo a >srv/app/a
		echo b >srv/app/b
		echo c >srv/app/sub/c
		chmod 750 srv/app
		echo back >srv/back/f
		echo keep-same >var/lib/pkg/keep
		echo drop >var/lib/pkg/drop
		echo x >var/lib/pkg/sub/x
		echo idx >var/cache/idx
		echo old >opq/old
		echo s >opq/sub/s
		echo x >opt/d2f/x
		echo z >opt/d2f/y/z
		echo m1 >opt/movedir/m1
		echo a >opt/src/a
		echo a >opt/target/a
		echo t >opt/target/t
		echo notes >home/user/notes
		chown -R 1000:1000 home/user

		cd "$x/L2"
		mkdir -p etc var opq usr/bin
		wh etc/oldconf                    # whiteout of a file
		wh var/cache                      # whiteout of a dir
		echo mid >etc/mid
		echo mid >opq/mid                 # hidden by L1's opaque opq
		head -c 1000 /dev/urandom >usr/bin/tool2
		mkdir -p usr/share/doc/sub
		echo doc-b >usr/share/doc/sub/b

		cd "$x/L1"
		mkdir -p etc opq/newsub
		echo v2 >etc/conf                 # overrides L3's
		setfattr -n "$ns.overlay.opaque" -v y opq
		echo n1 >opq/new1
		echo n2 >opq/newsub/n2
	)
}

# container_changes MERGED: what a container does, through the merged dir.
container_changes() {
	local m=$1
	(
		set -e
		cd "$m"
		echo new >etc/newfile                     # create
		echo more >>etc/conf                      # append
		cat etc/same >"$S/same.tmp"
		cat "$S/same.tmp" >etc/same               # same bytes again
		truncate -s 4 etc/trunc                   # truncate
		chmod 600 etc/modeme                      # chmod
		chown 1234:5678 etc/ownme                 # chown
		setcap cap_net_raw+ep usr/bin/capme       # file caps
		mv etc/renameme etc/renamed               # rename a file
		mv srv/app srv/app2                       # rename a dir
		echo more >>srv/app2/a                    # ... and change below it
		rm srv/app2/b
		chmod 600 srv/app2/sub/c
		mv srv/app2/sub srv/app2/sub2             #   a rename in a rename
		mv opt/movedir var/movedir                # a dir to another parent
		mv etc/motd etc/issue                     # a file over another
		mv srv/back srv/away                      # a dir renamed and back
		mv srv/away srv/back
		mv etc/passwd etc/passwd.tmp              # a file renamed and back
		mv etc/passwd.tmp etc/passwd
		rm -rf opt/target                         # a dir over an image dir
		mv opt/src opt/target
		rm -rf usr/share/doc                      # a dir of two layers
		setcap -r usr/bin/ping                    # caps removed
		chown -h 7:7 lib                          # owner of a symlink
		touch -m -d 2001-02-03 etc/group          # mtime only: no drift
		setfattr -n user.note -v x etc/mid        # xattr only: no drift
		mkdir -p newdir/a/b                       # a new tree
		echo f >newdir/a/b/f
		rm etc/f2d                                # file -> dir
		mkdir etc/f2d
		echo in >etc/f2d/in
		chmod 666 dev/null                        # a device's mode
		echo more >>etc/hl1                       # one of two hard links
		#   (index=on keeps them linked: etc/hl2 shows it too, yet
		#   the upper holds only etc/hl1 and work/index/)
		rm etc/rmme                               # rm
		rm -rf var/lib/pkg                        # rm -rf, re-create
		mkdir var/lib/pkg
		echo keep-same >var/lib/pkg/keep          #   identical child
		echo new >var/lib/pkg/new                 #   new child
		rm usr/bin/tosym                          # file -> symlink
		ln -s busybox usr/bin/tosym
		rm -rf opt/d2f                            # dir -> file
		echo file >opt/d2f
		ln usr/lib/libx usr/lib/libx.hl           # hard link
		mkfifo tmp/fifo                           # FIFO
		ln -sfn tool2 usr/bin/sh                  # symlink retarget
		chmod 700 home/user                       # dir metadata
		echo back >etc/oldconf                    # a layer whited it out
		echo more >>opq/new1                      # in a layer-opaque dir
		mkdir opq/sub                             # a layer's opaque hid it
		echo s >opq/sub/s
	)
}

# no_changes MERGED: copy-ups that leave the merged view as the image.
no_changes() {
	local m=$1
	(
		set -e
		cd "$m"
		cat etc/same >"$S/same.tmp"
		cat "$S/same.tmp" >etc/same               # same bytes again
		: >>etc/conf                              # opened for writing
		touch etc/passwd                          # times only
		chmod 644 etc/modeme                      # the same mode
		chown 0:0 etc/ownme                       # the same owner
		setfattr -n user.note -v x etc/mid        # a user xattr
		mv etc/renameme etc/renameme.tmp          # renamed and back
		mv etc/renameme.tmp etc/renameme
		ln usr/lib/libx usr/lib/libx.hl           # linked and unlinked
		rm usr/lib/libx.hl
		echo tmp >etc/tmpfile                     # created and removed
		rm etc/tmpfile
		mkdir -p usr/share/doc/new                # in a dir of two layers
		rmdir usr/share/doc/new
		chmod 600 home/user/notes                 # changed and back
		chmod 644 home/user/notes
		cat usr/bin/busybox >/dev/null            # read only
	)
}

# ---- each mount option set -------------------------------------------------

T=$S/stack
U=$S/stack-u
if build_stack "$T" trusted; then
	pass "stack with trusted.overlay.opaque built"
else
	fail "building the trusted stack failed"
fi
# userxattr mounts ignore trusted.overlay.*: their stack's opaque dir
# carries user.overlay.opaque instead (char 0/0 whiteouts work in both).
if build_stack "$U" user; then
	pass "stack with user.overlay.opaque built"
else
	fail "building the user-xattr stack failed"
fi
baseline "image (trusted stack)" img "$T/L1" "$T/L2" "$T/L3"
# (a rootless snapshotter's layers: user.overlay.* marks them)
baseline "image (user-xattr stack)" imgu --userxattr "$U/L1" "$U/L2" "$U/L3"

# run_case NAME IMAGE STACK OPTS CHANGES WANT: mount a fresh upper over
# STACK with OPTS, make CHANGES through it, then diff (expected exit WANT)
# against IMAGE and compare with the oracle.
run_case() {
	local name=$1 image=$2 st=$3 opts=$4 changes=$5 want=$6 x=$S/case-$1 rc rc2 mopts
	local lowers="$st/L1:$st/L2:$st/L3"
	mkdir -p "$x/upper" "$x/work"
	if ! mount_overlay "$lowers" "$x/upper" "$x/work" "$x/m" "$opts"; then
		fail "$name: cannot mount the overlay (${opts:-default})"
		return
	fi
	mopts=$(findmnt -no OPTIONS "$x/m" | tr ',' '\n' |
	    grep -E '^(redirect_dir|metacopy|index|userxattr|uuid)' | tr '\n' ',')
	echo "# $name: mounted with ${mopts%,}"
	if "$changes" "$x/m"; then
		pass "$name: container changes made through the merged dir"
	else
		fail "$name: a container change failed"
	fi
	if ! umount "$x/m"; then
		fail "$name: umount"
		return
	fi

	# The overlay is gone: diff is told how it was mounted.
	local how=()
	case ,$opts, in
	*,userxattr,*) how=(--userxattr) ;;
	esac
	rc=$(diffx "$x/diff.json" --image "$image" "${how[@]}" --json "$x/upper")
	expect_eq "$name: diff --json exits $want" "$want" "$rc"
	rc=$(diffx "$x/diff.txt" --image "$image" "${how[@]}" "$x/upper")
	expect_eq "$name: diff (text) exits $want" "$want" "$rc"
	if [ "$want" = 0 ]; then
		expect_eq "$name: no drift, no output" "0 0" \
		    "$(wc -c <"$x/diff.json") $(wc -c <"$x/diff.txt")"
	fi

	if ! mount_overlay "$lowers" "$x/upper" "$x/work" "$x/o" "ro${opts:+,$opts}"; then
		fail "$name: cannot mount the oracle overlay"
		return
	fi
	baseline "$name: oracle --rootfs of the merged view" "$image~$name" --rootfs "$x/o"
	umount "$x/o" || fail "$name: umount of the oracle"

	rc2=$(diffx "$x/diff2.json" --image "$image" "${how[@]}" --json "$x/upper")
	check "$name: diff again gives the same report" \
	    test "$rc2" = "$want" -a -z "$(cmp "$x/diff.json" "$x/diff2.json" 2>&1)"
	if [ -s "$S/rows.$image" ] && [ -s "$S/rows.$image~$name" ]; then
		report < <("$PY" "$S/oracle.py" "$name" "$S/rows.$image" \
		    "$S/rows.$image~$name" "$x/diff.json" "$x/diff.txt" 2>&1 ||
		    printf 'fail\t%s: the oracle script failed\n' "$name")
	else
		fail "$name: no rows to compare with"
	fi

	[ "$changes" = container_changes ] || return 0
	# The mount option really shaped the upper the way diff has to read.
	case $name in
	metacopy)
		local mc
		mc=$(getfattr -R --absolute-names -m '^trusted.overlay.metacopy$' -d "$x/upper" 2>/dev/null |
		    sed -n "s|^# file: $x/upper||p" | sort | tr '\n' ' ')
		check "$name: chmod, chown and setcap left metacopy files" \
		    test -n "$(echo "$mc" | grep -F /etc/modeme | grep -F /etc/ownme | grep -F /usr/bin/capme)"
		expect_eq "$name: events flagged metacopy == metacopy files with an event" \
		    "$(jq -r 'select(.metacopy) | .path' "$x/diff.json" | sort | tr '\n' ' ')" \
		    "$(for p in $mc; do jq -r --arg p "$p" 'select(.path == $p) | .path' "$x/diff.json"; done | sort | tr '\n' ' ')"
		;;
	esac
	case $name in
	metacopy | redirect_dir)
		expect_eq "$name: the renamed dir is an A with its old path" \
		    '"added" "/srv/app" 4' \
		    "$(jq -r 'select(.path == "/srv/app2") | "\(.op|tojson) \(.redirect|tojson) \(.count)"' "$x/diff.json")"
		;;
	*)
		expect_eq "$name: no redirect (the dir rename was a copy)" "" \
		    "$(jq -r 'select(has("redirect")) | .path' "$x/diff.json")"
		;;
	esac
	expect_eq "$name: the re-created dir is an R of 4 image entries" '"replaced" 4' \
	    "$(jq -r 'select(.path == "/var/lib/pkg") | "\(.op|tojson) \(.count)"' "$x/diff.json")"
	expect_eq "$name: its identical child is not reported" "" \
	    "$(jq -r 'select(.path == "/var/lib/pkg/keep") | .op' "$x/diff.json")"
	expect_eq "$name: the same-bytes rewrite and the hard-linked file are not reported" "" \
	    "$(jq -r 'select(.path == "/etc/same" or .path == "/usr/lib/libx") | .path' "$x/diff.json")"
}

run_case default img "$T" "" container_changes 1
run_case metacopy img "$T" metacopy=on container_changes 1
run_case redirect_dir img "$T" redirect_dir=on container_changes 1
run_case index img "$T" index=on container_changes 1
run_case userxattr imgu "$U" userxattr container_changes 1

# Copy-ups that change nothing a container could tell: no drift.
run_case default-nop img "$T" "" no_changes 0
run_case metacopy-nop img "$T" metacopy=on no_changes 0
run_case redirect_dir-nop img "$T" redirect_dir=on no_changes 0
run_case index-nop img "$T" index=on no_changes 0
run_case userxattr-nop imgu "$U" userxattr no_changes 0

# ---- runtime-injected files ------------------------------------------------
# Podman writes these into the upper at start, before the container runs
# anything.  Upper I: only them.  Upper J: them plus real drift, some of it
# with names the exclude globs must not catch.

inject() {
	local m=$1
	(
		set -e
		cd "$m"
		echo 4f2a9c1e7b3d >etc/hostname
		printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n10.88.0.5\t4f2a9c1e7b3d\n' >etc/hosts
		echo 'nameserver 10.88.0.1' >etc/resolv.conf
		ln -s ../proc/mounts etc/mtab
		printf 'engine="podman-4.3.1"\nname="c1"\n' >run/.containerenv
	)
}
EXCL=(--exclude '/etc/host*' --exclude /etc/resolv.conf --exclude /etc/mtab --exclude '/run/**')
EXCL2=(--exclude '/etc/host*' --exclude /etc/resolv.conf --exclude /etc/mtab --exclude /run)
INJECTED='added /etc/hostname file
modified /etc/hosts file
added /etc/mtab symlink
modified /etc/resolv.conf file
added /run/.containerenv file'

I=$S/inj
mkdir -p "$I/upper" "$I/work"
if mount_overlay "$T/L1:$T/L2:$T/L3" "$I/upper" "$I/work" "$I/m"; then
	if inject "$I/m"; then pass "injected: files written"; else fail "injected: writing failed"; fi
	umount "$I/m" || fail "injected: umount"
	rc=$(diffx "$S/inj.json" --image img --json "$I/upper")
	expect_eq "injected: exit 1" 1 "$rc"
	expect_eq "injected: reported as they are (A, or C over the image's)" "$INJECTED" \
	    "$(jq -r '"\(.op) \(.path) \(.type)"' "$S/inj.json")"
	expect_eq "injected: mtab's target recorded" "../proc/mounts" \
	    "$(jq -r 'select(.path == "/etc/mtab") | .current.link' "$S/inj.json")"
	rc=$(diffx "$S/inj-x.txt" --image img "${EXCL[@]}" "$I/upper")
	expect_eq "injected, excluded (/run/**): exit 0, no output" "0 0" "$rc $(wc -c <"$S/inj-x.txt")"
	rc=$(diffx "$S/inj-x2.txt" --image img --json "${EXCL2[@]}" "$I/upper")
	expect_eq "injected, excluded (/run): exit 0, no output" "0 0" "$rc $(wc -c <"$S/inj-x2.txt")"
else
	fail "injected: cannot mount the overlay"
fi

J=$S/inj2
mkdir -p "$J/upper" "$J/work"
if mount_overlay "$T/L1:$T/L2:$T/L3" "$J/upper" "$J/work" "$J/m"; then
	if inject "$J/m" && (
		set -e
		cd "$J/m"
		echo more >>etc/passwd
		echo bak >etc/resolv.conf.bak
		echo x >etc/mtab.orig
		mkdir running
		echo r >running/pid
		echo r >run2
		chmod 700 run
		rm etc/group
	); then
		pass "injected + drift: files written"
	else
		fail "injected + drift: writing failed"
	fi
	umount "$J/m" || fail "injected + drift: umount"
	rc=$(diffx "$S/inj2.json" --image img --json "$J/upper")
	expect_eq "injected + drift: exit 1" 1 "$rc"
	# (grep, not jq: jq 1.6 rounds ns mtimes, and the lines must stay as
	# upperwatch printed them)
	grep -vE '^\{"op":"[a-z]+","path":"(/etc/hostname|/etc/hosts|/etc/resolv\.conf|/etc/mtab|/run/\.containerenv)",' \
	    "$S/inj2.json" >"$S/inj2.rest"
	expect_eq "injected + drift: the unexcluded report has the 5 injected + 8 others" "5 8" \
	    "$(($(wc -l <"$S/inj2.json") - $(wc -l <"$S/inj2.rest"))) $(wc -l <"$S/inj2.rest")"
	rc=$(diffx "$S/inj2-x.json" --image img --json "${EXCL[@]}" "$J/upper")
	expect_eq "injected + drift, excluded (/run/**): exit 1" 1 "$rc"
	check "injected + drift, excluded (/run/**): exactly the other events, unchanged" \
	    cmp -s "$S/inj2.rest" "$S/inj2-x.json"
	grep -v '^{"op":"[a-z]*","path":"/run",' "$S/inj2.rest" >"$S/inj2.rest2"
	rc=$(diffx "$S/inj2-x2.json" --image img --json "${EXCL2[@]}" "$J/upper")
	expect_eq "injected + drift, excluded (/run): exit 1" 1 "$rc"
	check "injected + drift, excluded (/run): the other events but /run itself" \
	    cmp -s "$S/inj2.rest2" "$S/inj2-x2.json"
	expect_eq "injected + drift: the others are what was done" \
	    "$(printf '%s\n' 'deleted /etc/group' 'added /etc/mtab.orig' 'modified /etc/passwd' \
	    'added /etc/resolv.conf.bak' 'metadata /run' 'added /run2' 'added /running' \
	    'added /running/pid' | sort)" \
	    "$(jq -r '"\(.op) \(.path)"' "$S/inj2.rest" | sort)"
else
	fail "injected + drift: cannot mount the overlay"
fi

finish
