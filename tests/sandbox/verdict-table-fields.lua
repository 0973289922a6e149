-- expect: malformed verdict: no severity name
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "verdict-table-fields",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return { severity = { "critical" }, action = { "kill" },
			reason = { "x" } }
	end,
}
