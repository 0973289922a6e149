-- expect: match.paths must be a list of globs
-- at: load
local uw = require("upperwatch")
return {
	name = "load-paths-module",
	description = "escape attempt",
	match = { paths = uw },
	evaluate = function(ev) return nil end,
}
