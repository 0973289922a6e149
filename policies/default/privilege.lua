-- Privilege: a new setuid or setgid bit, or new file capabilities, hands
-- root (or part of it) to whoever runs the file.
local uw = require("upperwatch")

local function had(ev, pred)
	return ev.baseline ~= nil and pred(ev.baseline.mode)
end

return {
	name = "privilege",
	description = "A new setuid/setgid file or new file capabilities are "
		.. "critical.",
	-- Only a file that now has one of these can be judged here: the
	-- others never reach Lua.
	match = { ops = { "added", "modified", "metadata", "replaced" },
		types = { "file" }, current = { "setuid", "setgid", "caps" } },
	evaluate = function(ev)
		local cur = ev.current
		if not cur or ev.type ~= "file" then
			return nil
		end
		if uw.setuid(cur.mode) and not had(ev, uw.setuid) then
			return uw.verdict("critical", "alert", "new setuid file",
				{ tags = { "privilege-escalation" } })
		end
		if uw.setgid(cur.mode) and not had(ev, uw.setgid) then
			return uw.verdict("critical", "alert", "new setgid file",
				{ tags = { "privilege-escalation" } })
		end
		if cur.caps and cur.caps ~= (ev.baseline and ev.baseline.caps) then
			return uw.verdict("critical", "alert",
				"new file capabilities",
				{ tags = { "privilege-escalation" } })
		end
		return nil
	end,
}
