-- expect: the event is read-only (table.remove)
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "table-remove-view",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		table.remove(ev.current)
	end,
}
