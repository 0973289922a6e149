-- expect: memory limit reached
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "rep-bomb",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local s = ("x"):rep(1 << 30) return uw.verdict("low", "log", s)
	end,
}
