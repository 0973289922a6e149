-- expect: the event is read-only (field 'mode')
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "next-tamper",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- next hands out views, never the tables behind them
		local k, v = next(ev)
		while k ~= nil do
			if k == "current" then
				v.mode = 420
			end
			k, v = next(ev, k)
		end
		error("next(ev) never reached 'current'")
	end,
}
