-- expect: malformed verdict: a table with a metatable
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "return-record",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return ev.current
	end,
}
