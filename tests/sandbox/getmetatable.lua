-- expect: getmetatable is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "getmetatable",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		getmetatable("").__index.upper = nil
	end,
}
