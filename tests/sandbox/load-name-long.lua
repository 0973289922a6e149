-- expect: the policy name must be 1 to 128 bytes, without control characters
-- at: load
return {
	name = string.rep("n", 129),
	description = "escape attempt",
	evaluate = function(ev) return nil end,
}
