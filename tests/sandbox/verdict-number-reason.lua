-- expect: malformed verdict: the reason is not a string
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "verdict-number-reason",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return { severity = "high", action = "alert", reason = 42 }
	end,
}
