-- expect: instruction budget exceeded
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "kill-by-failing",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- a failing policy must never kill: it gets medium/alert
		while true do end
	end,
}
