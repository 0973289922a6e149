-- expect: the event is read-only (field 'mode')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "rawget-tamper",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local cur = rawget(ev, "current")
		if cur == nil then
			error("rawget(ev, 'current') gave nil")
		end
		cur.mode = 420
	end,
}
