-- expect: match.types is empty
-- at: load
return {
	name = "load-types-empty",
	description = "an empty list would be read as no prefilter",
	match = { types = {} },
	evaluate = function(ev) return nil end,
}
