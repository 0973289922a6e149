-- expect: the event is read-only (field 'tier')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pairs-tamper-labels",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local _, t = pairs(ev.container.labels)
		t.tier = "dev"
	end,
}
