-- expect: coroutine.wrap is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "coroutine",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		coroutine.wrap(function() while true do end end)()
	end,
}
