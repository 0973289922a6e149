-- expect: instruction budget exceeded
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "loop-in-metamethod",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local s = tostring(setmetatable and 1 or 1)
		local t = {}
		for i = 1, 1e9 do t[1] = i end
	end,
}
