-- expect: the event is read-only (field 'tier')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pairs-tamper-deep",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- every table pairs hands out, all the way down
		for k, v in pairs(ev) do
			if k == "container" then
				for k2, v2 in pairs(v) do
					if k2 == "labels" then
						local _, t = pairs(v2)
						t.tier = "dev"
					end
				end
			end
		end
	end,
}
