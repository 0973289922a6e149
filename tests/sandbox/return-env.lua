-- expect: malformed verdict: a table with a metatable
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "return-env",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- strict globals: every missing field raises
		return _ENV
	end,
}
