-- expect: malformed verdict: a table with a metatable
-- at: evaluate
local uw = require("upperwatch")
return {
	name = "verdict-from-labels",
	description = "escape attempt",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		-- the container's labels say severity=critical, action=kill:
		-- read through the view's __index this would be a verdict
		-- that nobody wrote (and that escapes the failure cap)
		return ev.container.labels
	end,
}
