-- expect: the policy has no name (a non-empty string)
-- at: load
local uw = require("upperwatch")
return {
	name = uw,
	description = "escape attempt",
	evaluate = function(ev) return nil end,
}
