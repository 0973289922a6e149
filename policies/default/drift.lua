-- Every drift event gets an opinion: files the container runtime writes
-- into every container at start are info, anything else is low.  The
-- other policies of this set raise what matters above that.  An entry the
-- watcher could not classify (op "error": it changed while read, lies too
-- deep, cannot be read) is high: a change made to go unseen looks exactly
-- like that, so it is never let through as noise.  A change of the
-- image's own layers on the node (watch --verify-lower, layer "lower") is
-- critical: someone on the host changed every container of that image.
local uw = require("upperwatch")

-- The two verdicts nearly every event gets are made once and returned
-- again (the engine only reads a verdict): the runtime's files, and one
-- for each op and type (7 by 8 at most).
local runtime = uw.verdict("info", "log",
	"file written by the container runtime at start")
local low = {}
local runtime_file = uw.runtime_file

local function low_for(op, type)
	local of_op = low[op]
	if not of_op then
		of_op = {}
		low[op] = of_op
	end
	local v = of_op[type]
	if not v then
		v = uw.verdict("low", "log", op .. " " .. type)
		of_op[type] = v
	end
	return v
end

return {
	name = "container-drift",
	description = "Any change to the image's files is low; files the "
		.. "runtime injects at start are info; an entry that could not "
		.. "be classified is high.",
	evaluate = function(ev)
		local op = ev.op
		if ev.layer == "lower" then
			return uw.verdict("critical", "alert", "the node's copy of "
				.. "the image was changed: " .. op .. " " .. ev.type,
				{ tags = { "persistence", "supply-chain" } })
		end
		if op == "error" then
			return uw.verdict("high", "alert", "could not be classified: "
				.. (ev.error or "no reason given"),
				{ tags = { "defense-evasion" } })
		end
		if runtime_file(ev.path) then
			return runtime
		end
		local of_op = low[op]
		local v = of_op and of_op[ev.type]
		return v or low_for(op, ev.type)
	end,
}
