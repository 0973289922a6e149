-- Packages installed at run time, judged by what the package database
-- says rather than by a process name (which an attacker picks freely).
-- The watcher reads the container's package database: each event says
-- which package owns its path and whether its content is what the
-- package lists (ev.package, ev.package_check), and the events of one
-- package transaction share an incident id.
--
-- Where containers are labelled upperwatch.packages=allowed (a build or
-- debug container), a file whose content matches its package is info
-- and tagged; elsewhere a running container should not install software
-- at all, so the same file is medium: the incident alert says which
-- packages came.  Anywhere, a program or library no package claims is
-- high, and one whose content is not its package's is critical: that is
-- a package binary replaced, the classic way to hide a backdoor.  Use
-- this file with the default set; verdicts combine by taking the
-- highest, so this one only raises what the default set says.
local uw = require("upperwatch")

local function code_path(ev)
	local cur = ev.current
	return (cur and uw.executable(cur.mode)) or uw.glob(ev.path, "/lib*/**")
		or uw.glob(ev.path, "/usr/lib*/**")
		or uw.glob(ev.path, "/usr/local/lib/**")
end

return {
	name = "package-manager",
	description = "Software installed at run time: medium unless the "
		.. "container allows it; unowned code high; code that differs "
		.. "from its package critical.",
	match = { ops = { "added", "modified", "replaced" } },
	evaluate = function(ev)
		if ev.type ~= "file" or not code_path(ev) then
			return nil
		end
		local check = ev.package_check
		if check == "mismatch" then
			return uw.verdict("critical", "alert", "code differs from "
				.. "package " .. ev.package.name .. " "
				.. ev.package.version, { tags = { "tampering" } })
		elseif check == "unowned" then
			return uw.verdict("high", "alert", "code no package claims",
				{ tags = { "persistence" } })
		elseif check ~= "match" then
			return nil	-- no database, or it cannot be told
		end
		local pkg = ev.package.name .. " " .. ev.package.version
		if ev.container.labels["upperwatch.packages"] == "allowed" then
			return uw.verdict("info", "log", "installed by package "
				.. pkg, { tags = { "package-manager" } })
		end
		return uw.verdict("medium", "alert", "package " .. pkg
			.. " installed at run time", { tags = { "package-manager",
			"drift" } })
	end,
}
