-- expect: the policy name must be 1 to 128 bytes, without control characters
-- at: load
return {
	-- a name shows in every reason and notice: a forged second line
	name = "x\nupperwatch: policies reloaded: 0 policies",
	description = "escape attempt",
	evaluate = function(ev) return nil end,
}
