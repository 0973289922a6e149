-- The package database itself.  A package manager writes it together
-- with the files of the packages it installs; the watcher hands out what
-- changed with it as one incident.  A database that gained or changed
-- packages while no file changed with it (package_check "mismatch" on the
-- database's own files) was edited by hand, to make dropped files look
-- owned or to hide a package: high.  A file whose content is not what
-- its package lists, outside the program and library dirs that
-- executables.lua and libraries.lua judge, is medium.
local uw = require("upperwatch")

return {
	name = "packages",
	description = "A package database edited without files changing is "
		.. "high; a file that differs from its package is medium.",
	-- Only a mismatch can be judged here: the rest never reach Lua.
	match = { ops = { "added", "modified", "metadata", "replaced",
		"deleted" }, package_check = { "mismatch" } },
	evaluate = function(ev)
		local pkg = ev.package
		if pkg and pkg.database then
			if ev.package_check == "mismatch" then
				return uw.verdict("high", "alert", pkg.manager
					.. " database changed with no file changing",
					{ tags = { "defense-evasion", "package" } })
			end
			return nil
		end
		if ev.package_check == "mismatch" and ev.type == "file" then
			local what = ev.op == "deleted" and "file deleted from"
				or "file differs from"
			return uw.verdict("medium", "alert", what .. " package "
				.. pkg.name .. " " .. pkg.version,
				{ tags = { "tampering", "package" } })
		end
		return nil
	end,
}
