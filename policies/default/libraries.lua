-- Shared libraries: a changed or added one is code run by every program
-- that loads it.  One whose content is what its package lists (a package
-- manager installed it) is low; one no package claims, or whose content
-- is not its package's, is high.
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
		-- installed by a package manager, as its package lists it;
		-- or a file of its database (apk's is /lib/apk/db) written
		-- with its packages (one written without them is
		-- packages.lua's, and a library dir change here too)
		local pkg = ev.package
		if ev.package_check == "match" and pkg then
			return uw.verdict("low", "log", pkg.database
				and ("a file of the " .. pkg.manager .. " database, "
					.. "written with its packages")
				or ("installed by package " .. pkg.name .. " "
					.. pkg.version), { tags = { "package" } })
		end
		if ev.package_check == "mismatch" and pkg and not pkg.database then
			return uw.verdict("high", "alert", "library differs from "
				.. "package " .. pkg.name .. " " .. pkg.version,
				{ tags = { "tampering" } })
		end
		return uw.verdict("high", "alert", "library dir " .. ev.op,
			{ tags = { "persistence", "defense-evasion" } })
	end,
}
