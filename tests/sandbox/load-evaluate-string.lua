-- expect: policy 'load-evaluate-string' has no evaluate function
-- at: load
return {
	name = "load-evaluate-string",
	description = "escape attempt",
	evaluate = "x",
}
