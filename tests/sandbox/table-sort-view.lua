-- expect: the event is read-only (table.sort)
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "table-sort-view",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		table.sort(ev.container.labels)
	end,
}
