-- expect: rawset is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "rawset",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		rawset(_G, "x", 1)
	end,
}
