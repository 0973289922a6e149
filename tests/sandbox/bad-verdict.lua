-- expect: malformed verdict
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "bad-verdict",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		return { severity = "high", action = "nuke", reason = "x" }
	end,
}
