-- expect: bad argument #1 to 'rawget' (table expected, got nil)
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "string-metatable",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- ("").__index would be the string library behind every string
		local mt = ("").__index
		rawget(mt, "x")
	end,
}
