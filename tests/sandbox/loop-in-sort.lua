-- expect: instruction budget exceeded
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "loop-in-sort",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local t = {} for i = 1, 100 do t[i] = i end
		table.sort(t, function(a, b) while true do end end)
	end,
}
