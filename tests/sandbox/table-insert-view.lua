-- expect: the event is read-only (table.insert)
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "table-insert-view",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		table.insert(ev, "x")
	end,
}
