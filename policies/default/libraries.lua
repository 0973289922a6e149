-- Shared libraries: a changed or added one is code run by every program
-- that loads it.
local uw = require("upperwatch")

return {
	name = "libraries",
	description = "A new or changed file in a library dir is high.",
	match = {
		paths = { "/lib/**", "/lib64/**", "/lib32/**", "/usr/lib/**",
			"/usr/lib64/**", "/usr/lib32/**", "/usr/local/lib/**" },
		ops = { "added", "modified", "replaced" },
	},
	evaluate = function(ev)
		if ev.type == "dir" then
			return nil
		end
		local name = uw.basename(ev.path)
		-- bytecode caches that interpreters write on first import
		if uw.ext(name) == "pyc" or uw.glob(ev.path, "**/__pycache__/**") then
			return nil
		end
		return uw.verdict("high", "alert", "library dir " .. ev.op,
			{ tags = { "persistence", "defense-evasion" } })
	end,
}
