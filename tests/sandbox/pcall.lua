-- expect: pcall is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pcall",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		pcall(error, "x")
	end,
}
