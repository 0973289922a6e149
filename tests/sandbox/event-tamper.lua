-- expect: the event is read-only (field 'path')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "event-tamper",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- change what the next policy sees
		ev.path = "/etc/hostname"
	end,
}
