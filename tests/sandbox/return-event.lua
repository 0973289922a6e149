-- expect: malformed verdict: a table with a metatable
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "return-event",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return ev
	end,
}
