-- expect: a verdict table of its own
-- at: allowed
local uw = require("upperwatch")
return {
	name = "verdict-own-table",
	description = "control: a verdict built by hand is a verdict",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return { severity = "low", action = "log",
			reason = "a verdict table of its own", tags = { "t" } }
	end,
}
