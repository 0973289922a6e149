-- expect: string.dump is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "string-dump",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return uw.verdict("low", "log", string.dump(function() end))
	end,
}
