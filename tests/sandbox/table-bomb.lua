-- expect: memory limit reached
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "table-bomb",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- table.move doubles the array in C: few instructions, much memory
		local t = { 1 }
		while true do t = table.move(t, 1, #t, #t + 1, t) end
	end,
}
