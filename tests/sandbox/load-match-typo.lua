-- expect: unknown field 'type' in match (paths, ops, types, current, package_check)
-- at: load
return {
	name = "load-match-typo",
	description = "a misspelt list would filter nothing",
	match = { type = { "file" }, ops = { "added" } },
	evaluate = function(ev) return nil end,
}
