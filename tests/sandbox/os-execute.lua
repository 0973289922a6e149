-- expect: os.execute is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "os-execute",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		os.execute("touch /tmp/uw-pwned")
	end,
}
