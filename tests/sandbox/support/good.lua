-- The well-behaved neighbour: after a hostile policy fails, this one
-- must still judge the next event.
local uw = require("upperwatch")
return {
	name = "good",
	description = "says low to everything",
	evaluate = function(ev)
		return uw.verdict("low", "log", "good saw " .. ev.path)
	end,
}
