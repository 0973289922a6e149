-- expect: policy 'load-description-env' has no description (a string)
-- at: load
return {
	name = "load-description-env",
	description = _ENV,
	evaluate = function(ev) return nil end,
}
