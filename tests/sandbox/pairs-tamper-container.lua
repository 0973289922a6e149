-- expect: the event is read-only (field 'id')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pairs-tamper-container",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- the container's view is kept for its next events too
		local _, t = pairs(ev.container)
		t.id = "someone-else"
	end,
}
