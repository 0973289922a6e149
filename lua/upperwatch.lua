---@meta upperwatch
-- Type annotations for lua-language-server: editors that load this
-- directory (see lua/.luarc.json) complete and check policy code.  The
-- functions themselves are built into upperwatch, in C; this file is
-- never run.

---@alias upperwatch.severity "info"|"low"|"medium"|"high"|"critical"
---@alias upperwatch.action "log"|"alert"|"deny"|"pause"|"kill" "deny" refuses an exec under watch --prevent; otherwise it is an alert
---@alias upperwatch.op "added"|"modified"|"metadata"|"deleted"|"replaced"|"error"|"exec"
---@alias upperwatch.type "file"|"dir"|"symlink"|"fifo"|"socket"|"chardev"|"blockdev"|"unknown"

---What a file is, or was in the image.
---@class upperwatch.record
---@field type upperwatch.type
---@field mode integer permission bits (st_mode & 07777)
---@field uid integer
---@field gid integer
---@field size integer bytes
---@field mtime integer nanoseconds since the epoch
---@field hash? string keyed XXH3-128, hex (regular files)
---@field link? string symlink target
---@field caps? string security.capability, hex

---@class upperwatch.container
---@field id string
---@field name string
---@field image string
---@field image_id string
---@field runtime string runc, crun, containerd, docker, podman or unknown
---@field labels table<string, string> labels and OCI annotations (at most 256, 64 KiB in all, 4 KiB a value)
---@field labels_truncated boolean some labels were cut or left out to fit those caps
---@field pod string
---@field namespace string

---The process that wrote, when a fanotify event named it.  Fields it
---took with it (it exited at once) are absent.
---@class upperwatch.process
---@field pid integer in the host's pid namespace
---@field comm? string
---@field exe? string its executable, as the process sees it
---@field cmdline? string arguments joined by spaces, at most 256 bytes
---@field uid? integer real uid
---@field container? string the id of the watched container its cgroup is in
---@field exe_drift? boolean its exe is a file of the container that is itself drift

---The package that owns a path, in the container's current package
---database (dpkg, apk).  Names and versions are the database's bytes,
---which the container can write.
---@class upperwatch.package
---@field manager "dpkg"|"apk"
---@field name? string absent for a file of the database itself
---@field version? string
---@field database? boolean the path is a file of the database itself

---@alias upperwatch.package_check
---| "match" # the content has the digest its package lists (md5 dpkg, SHA-1 apk); a dir its package lists; deleted with its package
---| "mismatch" # it has not; or a file its package still claims was deleted; for the database's own files: packages added with no file changing
---| "unowned" # no package claims the path
---| "unknown" # it cannot be told: no digest, a file over 1 GiB, a database that cannot be believed

---One drift event.  It is read-only, and so is every table in it: the
---same event is shown to every policy, so writing to it (a field, or
---through table.insert, table.sort...) is an error.  pairs, next,
---ipairs, rawget, rawlen and # read it as usual.
---@class upperwatch.event
---@field op upperwatch.op
---@field path string the path inside the container, as bytes
---@field type upperwatch.type "unknown" only for some op "error" events
---@field current? upperwatch.record absent when deleted; often absent for op "error"
---@field baseline? upperwatch.record absent when added; often absent for op "error"
---@field error? string op "error" only: why the entry could not be classified (it changed while read, lies too deep, cannot be read)
---@field layer "upper"|"lower" "lower": a change of the image's own layers on the node (watch --verify-lower), not of the container
---@field container upperwatch.container
---@field process? upperwatch.process the writer; absent when no fanotify event named one (inotify, rescans)
---@field package? upperwatch.package the owner of the path; absent when none claims it or there is no package database
---@field package_check? upperwatch.package_check absent when neither the image nor the container has a package database
---@field incident? integer the package transaction the event came with (its events share it)
---@field time integer detection time, nanoseconds since the epoch
---@field id integer journal id

---@class upperwatch.verdict
---@field severity upperwatch.severity
---@field action upperwatch.action
---@field reason string
---@field tags string[]

---What an event must have to reach evaluate, checked in C: each list
---given must be passed, a list by any one of its entries.
---@class upperwatch.match
---@field paths? string[] globs on ev.path (at most 256)
---@field ops? upperwatch.op[]
---@field types? ("file"|"dir"|"symlink"|"fifo"|"socket"|"chardev"|"blockdev")[] not "unknown"
---@field current? ("executable"|"setuid"|"setgid"|"world_writable"|"caps")[] what the file is now; an event without ev.current never passes
---@field package_check? upperwatch.package_check[] an event without ev.package_check never passes

---A policy file returns one of these: a table it builds itself (not
---_ENV, a library or the module), read without metamethods.
---@class upperwatch.policy
---@field name string unique in the set; at most 128 bytes, no control characters
---@field description string
---@field match? upperwatch.match checked in C before Lua runs
---@field evaluate fun(ev: upperwatch.event): upperwatch.verdict? anything else than nil or a verdict table (with string severity, action and reason) is a malformed verdict

---@class upperwatchlib
local upperwatch = {}

---Make a verdict.  An unknown severity or action is an error.
---@param severity upperwatch.severity
---@param action upperwatch.action
---@param reason string
---@param opts? { tags?: string[] }
---@return upperwatch.verdict
function upperwatch.verdict(severity, action, reason, opts) end

---Does `path` match the glob?  `*` and `?` stay within a component,
---`**` crosses them (`/usr/**/bin/*`), `[a-z]`, `[!a-z]`, `\x`.  Linear
---time.
---@param path string
---@param pattern string
---@return boolean
function upperwatch.glob(path, pattern) end

---Is `path` the dir `dir` or below it, by whole components?
---@param path string
---@param dir string
---@return boolean
function upperwatch.under(path, dir) end

---@param path string
---@return string the last component
function upperwatch.basename(path) end

---@param path string
---@return string all but the last component ("/" for "/x")
function upperwatch.dirname(path) end

---@param path string
---@return string the extension without its dot, or ""
function upperwatch.ext(path) end

---Is it a file the container runtime writes into every container at start
---(/etc/hostname, /etc/hosts, /etc/resolv.conf, /etc/mtab,
---/run/.containerenv, /run/secrets/...)?
---@param path string
---@return boolean
function upperwatch.runtime_file(path) end

---The package that owns `path` in the event's container (its current
---package database), or nil; for the event's own path, ev.package.
---  local p = uw.package("/usr/bin/curl")
---  if p and p.name ~= "curl" then ... end
---@param path string
---@return upperwatch.package?
function upperwatch.package(path) end

---@param mode? integer
---@return boolean
function upperwatch.setuid(mode) end

---@param mode? integer
---@return boolean
function upperwatch.setgid(mode) end

---@param mode? integer
---@return boolean
function upperwatch.world_writable(mode) end

---@param mode? integer
---@return boolean any execute bit
function upperwatch.executable(mode) end

---A line for the operator's log, tagged with the policy's name; at most
---10 a second per policy.  Arguments as string.format.
---@param fmt string
---@param ... any
function upperwatch.log(fmt, ...) end

return upperwatch
