-- expect: malformed verdict: tags[2] is not a string
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "verdict-tags-tables",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local v = uw.verdict("low", "log", "x", { tags = { "a" } })
		v.tags[2] = ev
		return v
	end,
}
