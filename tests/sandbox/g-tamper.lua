-- expect: policies may not create globals ('pwned')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "g-tamper",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		_G.pwned = true
	end,
}
