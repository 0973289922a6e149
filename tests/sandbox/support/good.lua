-- The well-behaved neighbour: it runs after the hostile policy (which the
-- runner names to sort first) and says what it saw of the event, nested
-- tables included, so a hostile policy that changed the shared event is
-- caught; after a hostile policy fails, it must still judge the next
-- event.
local uw = require("upperwatch")
return {
	name = "good",
	description = "says low to everything, and what it saw",
	evaluate = function(ev)
		local cur = ev.current
		return uw.verdict("low", "log", string.format(
			"good saw %s: %s, mode %s, container %s, tier %s",
			ev.path, ev.op, cur and tostring(cur.mode) or "none",
			ev.container.id, tostring(ev.container.labels.tier)))
	end,
}
