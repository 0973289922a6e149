-- expect: walk type,mode,uid,gid,size,mtime; pairs type,mode,uid,gid,size,mtime; odd 0; rawget 493 nil nil; len 0 0; same true; unknown nil
-- at: allowed
-- A record reads like a plain table: a walk (next or pairs) gives its
-- fields in a fixed order, names and plain values only (never what the
-- view is built from), rawget and # see through it, and each read of
-- ev.current gives the same view.
local uw = require("upperwatch")
return {
	name = "record-views",
	description = "control: a record reads like a plain table",
	match = { paths = { "/trigger" } },
	evaluate = function(ev)
		local cur = ev.current
		local walk, odd = {}, 0
		for k, v in next, cur do
			walk[#walk + 1] = tostring(k)
			if type(k) ~= "string" or (type(v) ~= "string" and
			    type(v) ~= "number") then
				odd = odd + 1
			end
		end
		local keys = {}
		for k in pairs(cur) do
			keys[#keys + 1] = k
		end
		return uw.verdict("low", "log", string.format(
			"walk %s; pairs %s; odd %d; rawget %s %s %s; len %d %d; "
			.. "same %s; unknown %s", table.concat(walk, ","),
			table.concat(keys, ","), odd,
			tostring(rawget(cur, "mode")), tostring(rawget(cur, "hash")),
			tostring(rawget(cur, 1)), #cur, rawlen(cur),
			tostring(ev.current == cur), tostring(cur.nosuchfield)))
	end,
}
