-- expect: the event is read-only (table.move)
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "table-move-record",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		table.move({ 420 }, 1, 1, 1, ev.current)
	end,
}
