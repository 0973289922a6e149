-- expect: the event is read-only (field 'mode')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pairs-tamper-record",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local _, t = pairs(ev.current)
		t.mode = 420
	end,
}
