-- expect: match.package_check must be a list of names (match, mismatch, unowned, unknown)
-- at: load
local uw = require("upperwatch")
return {
	name = "load-check-module",
	description = "escape attempt: the module as a list",
	match = { package_check = uw },
	evaluate = function(ev) return nil end,
}
