-- expect: io.open is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "io-open",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local f = io.open("/etc/shadow") return uw.verdict("low", "log", f:read("a"))
	end,
}
