-- expect: require of 'os' is not available to policies
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "require-os",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local os = require("os") os.exit(1)
	end,
}
