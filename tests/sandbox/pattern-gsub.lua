-- expect: pattern too complex
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "pattern-gsub",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return uw.verdict("low", "log", (string.gsub(("a"):rep(2000), "a-a-a-a-b", "")))
	end,
}
