-- expect: malformed verdict: no severity name
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "verdict-number-fields",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- the index of "critical" and of "kill", as numbers
		return { severity = 4, action = 3, reason = 1 }
	end,
}
