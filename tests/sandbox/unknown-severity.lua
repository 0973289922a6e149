-- expect: unknown severity 'urgent'
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "unknown-severity",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return uw.verdict("urgent", "kill", "x")
	end,
}
