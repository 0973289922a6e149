-- expect: match must be a table (of paths, ops, types, current, package_check)
-- at: load
-- the stub raises on every field: read with lua_getfield, that was a
-- Lua panic at load (and on SIGHUP in the daemon)
return {
	name = "load-match-os",
	description = "escape attempt",
	match = os,
	evaluate = function(ev) return nil end,
}
