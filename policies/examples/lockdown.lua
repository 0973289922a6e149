-- A strict lock-down, for containers that should never change: anything
-- outside the scratch dirs pauses the container; a new executable or a
-- privilege change anywhere kills it.  Copy it into your policy dir and
-- run the daemon without --max-action to let it act.
local uw = require("upperwatch")

local scratch = { "/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm" }

local function in_scratch(path)
	for _, d in ipairs(scratch) do
		if uw.under(path, d) then
			return true
		end
	end
	return false
end

return {
	name = "lockdown",
	description = "Immutable containers: drift outside scratch dirs "
		.. "pauses, new executables and privilege changes kill.",
	evaluate = function(ev)
		local cur = ev.current
		if cur and ev.type == "file" and (uw.setuid(cur.mode)
				or uw.setgid(cur.mode) or cur.caps) then
			return uw.verdict("critical", "kill", "privilege change")
		end
		if cur and ev.type == "file" and uw.executable(cur.mode)
				and ev.op ~= "metadata" then
			return uw.verdict("critical", "kill", "new or changed "
				.. "executable")
		end
		if in_scratch(ev.path) then
			return nil
		end
		return uw.verdict("high", "pause", "drift in a locked-down "
			.. "container")
	end,
}
