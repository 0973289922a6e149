-- expect: malformed verdict: a table with a metatable
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "return-module",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return uw
	end,
}
