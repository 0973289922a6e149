-- expect: setmetatable is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "setmetatable",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		setmetatable(_G, nil)
	end,
}
