-- expect: memory limit reached
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "concat-bomb",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local s = "xxxxxxxxxxxxxxxx" while true do s = s .. s end
	end,
}
