-- expect: unknown property 'number' in match.current
-- at: load
return {
	name = "load-current-number",
	description = "escape attempt: an index, not a name",
	match = { current = { 0 } },	-- would be "executable" if taken as a bit
	evaluate = function(ev) return nil end,
}
