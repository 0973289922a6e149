-- expect: upperwatch.verdict is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "module-tamper",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		uw.verdict = function() end
	end,
}
