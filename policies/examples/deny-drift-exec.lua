-- Drift prevention: refuse to run what the container itself wrote.  With
-- `upperwatch watch --prevent`, every exec of a file that is drift (added
-- or changed since the image) is judged before it runs; this policy
-- answers deny, so the exec fails with EPERM ("Operation not permitted",
-- exit 126 in a shell), except in the dirs listed in `allowed` (say, a
-- build cache).  Image files that are not drift never reach a policy.
-- Without --prevent a deny is an alert.
local uw = require("upperwatch")

local allowed = {}	-- e.g. { "/workspace/build" }

local function in_allowed(path)
	for _, d in ipairs(allowed) do
		if uw.under(path, d) then
			return true
		end
	end
	return false
end

return {
	name = "deny-drift-exec",
	description = "Refuse the exec of any file the container added or "
		.. "changed, outside the allowed dirs.",
	match = { ops = { "exec" } },
	evaluate = function(ev)
		if in_allowed(ev.path) then
			return nil
		end
		local by = ev.process and ev.process.comm
		return uw.verdict("critical", "deny",
			"exec of drift refused" .. (by and (" (by " .. by .. ")") or ""),
			{ tags = { "execution", "drift" } })
	end,
}
