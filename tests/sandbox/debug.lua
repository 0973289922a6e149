-- expect: debug.sethook is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "debug",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		debug.sethook()
	end,
}
