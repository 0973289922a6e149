-- expect: the event is read-only (field 'mode')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "record-tamper",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		ev.current.mode = 420
	end,
}
