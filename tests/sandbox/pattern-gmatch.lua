-- expect: pattern too complex
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pattern-gmatch",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		for m in (("a"):rep(2000)):gmatch(".-.-.-.-b") do end
	end,
}
