-- expect: the event is read-only (field 'path')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pairs-tamper",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- pairs' state used to be the table behind the view
		local _, t = pairs(ev)
		t.path = "/tmp/x"
	end,
}
