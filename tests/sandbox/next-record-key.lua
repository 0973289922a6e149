-- expect: invalid key to 'next'
-- at: evaluate
-- A key a record does not have cannot start a walk half-way (nor reach
-- what the view is built from).
local uw = require("upperwatch")
return {
	name = "next-record-key",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		next(ev.current, "nosuchfield")
	end,
}
