-- expect: unknown field 'number' in match
-- at: load
return {
	name = "load-match-index",
	description = "a list where the lists belong",
	match = { "/etc/**" },
	evaluate = function(ev) return nil end,
}
