-- expect: malformed verdict: tags is not a list
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "verdict-tags-module",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local v = uw.verdict("low", "log", "x")
		v.tags = os	-- a table whose every field raises
		return v
	end,
}
