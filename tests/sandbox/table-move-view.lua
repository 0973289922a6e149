-- expect: the event is read-only (table.move)
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "table-move-view",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		table.move({ "a", "b" }, 1, 2, 1, ev.container)
	end,
}
