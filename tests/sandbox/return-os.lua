-- expect: malformed verdict: a table with a metatable
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "return-os",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- reading its fields raises (a stub): outside protected mode
		-- that was a Lua panic, and the daemon aborted
		return os
	end,
}
