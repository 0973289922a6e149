-- expect: unknown op 'number' in match.ops
-- at: load
return {
	name = "load-ops-number",
	description = "escape attempt",
	match = { ops = { 1 } },	-- would be "added" if taken as an index
	evaluate = function(ev) return nil end,
}
