-- expect: instruction budget exceeded
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "loop-in-error",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		error(setmetatable == nil and "" or (function() while true do end end)())
	end,
}
