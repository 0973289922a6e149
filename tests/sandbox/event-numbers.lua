-- expect: time 1765000000123456789 number, id 42 number, rawget 1765000000123456789 42, walk 1765000000123456789 42
-- at: allowed
local uw = require("upperwatch")

return {
	name = "event-numbers",
	description = "control: ev.time and ev.id read and walk like "
		.. "every other field",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local walked = {}
		for k, v in pairs(ev) do
			walked[k] = v
		end
		return uw.verdict("low", "log", string.format(
			"time %s %s, id %s %s, rawget %s %s, walk %s %s",
			tostring(ev.time), type(ev.time), tostring(ev.id),
			type(ev.id), tostring(rawget(ev, "time")),
			tostring(rawget(ev, "id")), tostring(walked.time),
			tostring(walked.id)))
	end,
}
