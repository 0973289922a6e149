-- expect: pattern too complex
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pattern-match",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return uw.verdict("low", "log", tostring(string.match(("a"):rep(4096), "(.-)*(.-)*(.-)*b")))
	end,
}
