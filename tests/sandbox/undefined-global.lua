-- expect: undefined global 'evnt'
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "undefined-global",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return uw.verdict("low", "log", evnt.path)
	end,
}
