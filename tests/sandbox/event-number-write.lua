-- expect: the event is read-only (field 'time')
-- at: evaluate
local uw = require("upperwatch")

return {
	name = "event-number-write",
	description = "sets ev.time, a field the event reads on demand",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		ev.time = 5
		return uw.verdict("low", "log", "wrote ev.time")
	end,
}
