-- expect: event container,current,id,layer,op,path,time,type; labels action,reason,severity,tier; next /trigger; rawget /trigger; rawlen 0; len 0 0; mode 493; sorted b,c
-- at: allowed
local uw = require("upperwatch")

local function keys(t)
	local out = {}
	for k in pairs(t) do
		out[#out + 1] = k
	end
	table.sort(out)
	return table.concat(out, ",")
end

return {
	name = "views-read",
	description = "control: the event reads like a plain table",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local via_next
		for k, v in next, ev do
			if k == "path" then
				via_next = v
			end
		end
		local mode
		for k, v in pairs(ev.current) do
			if k == "mode" then
				mode = v
			end
		end
		local own = { "c", "b" }
		table.sort(own)
		return uw.verdict("low", "log", string.format(
			"event %s; labels %s; next %s; rawget %s; rawlen %d; "
			.. "len %d %d; mode %d; sorted %s", keys(ev),
			keys(ev.container.labels), via_next,
			rawget(ev, "path"), rawlen(ev), #ev, #ev.current, mode,
			table.concat(own, ",")))
	end,
}
