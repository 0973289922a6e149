-- expect: pattern too complex
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pattern-find",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return uw.verdict("low", "log", tostring((("a"):rep(512)):find(".-.-.-b")))
	end,
}
