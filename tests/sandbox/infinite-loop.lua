-- expect: instruction budget exceeded
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "infinite-loop",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		while true do end
	end,
}
