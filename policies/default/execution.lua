-- The moment a program that is drift runs (op "exec": a file the
-- container added or changed was opened for exec, seen through
-- fanotify): critical, whatever its mode says now (it may have been
-- made not executable again right after).
local uw = require("upperwatch")

return {
	name = "execution",
	description = "Running a file that is drift is critical.",
	match = { ops = { "exec" } },
	evaluate = function(ev)
		if ev.op ~= "exec" then
			return nil
		end
		local by = ev.process and ev.process.comm
		return uw.verdict("critical", "alert",
			"a file that is drift was run"
			.. (by and (" by " .. by) or ""),
			{ tags = { "execution", "drift" } })
	end,
}
