-- expect: collectgarbage is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "collectgarbage",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		collectgarbage("stop")
	end,
}
