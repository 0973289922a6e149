-- expect: load is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "load",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		load("return 1")()
	end,
}
