-- expect: wall-clock deadline exceeded
-- at: evaluate
local uw = require("upperwatch")
-- Few instructions, each a long call into C: the instruction budget is
-- far away when the wall-clock deadline ends it.
return {
	name = "slow-c-calls",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		while true do
			local s = string.rep("x", 1000000)
		end
	end,
}
