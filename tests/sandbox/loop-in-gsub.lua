-- expect: instruction budget exceeded
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "loop-in-gsub",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		string.gsub(("x"):rep(100), "x", function() while true do end end)
	end,
}
