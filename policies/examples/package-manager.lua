-- Package-manager aware programs and libraries.  Verdicts combine by
-- taking the highest, so a policy cannot lower another's: use this file
-- instead of the default set's executables.lua and libraries.lua (copy
-- the others beside it).  In containers labelled
-- upperwatch.packages=allowed, new or changed programs and libraries in
-- the dirs a package manager installs into are low and tagged, so an
-- approved `apt-get install` pages nobody; anywhere else, and in other
-- containers, they are high as in the default set.
local uw = require("upperwatch")

local managed = {
	"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64",
	"/lib", "/lib64", "/usr/libexec", "/usr/share",
}

local function managed_path(path)
	for _, d in ipairs(managed) do
		if uw.under(path, d) then
			return true
		end
	end
	return false
end

local function library(path)
	return uw.glob(path, "/lib*/**") or uw.glob(path, "/usr/lib*/**")
		or uw.glob(path, "/usr/local/lib/**")
end

return {
	name = "package-manager",
	description = "Programs and libraries: low when a package manager "
		.. "is allowed to install them, else high.",
	match = { ops = { "added", "modified", "metadata", "replaced" } },
	evaluate = function(ev)
		local cur = ev.current
		if not cur or ev.type ~= "file" then
			return nil
		end
		local program = uw.executable(cur.mode)
		if not program and not library(ev.path) then
			return nil
		end
		if ev.op == "metadata" and not program then
			return nil
		end
		local allowed = ev.container.labels["upperwatch.packages"]
			== "allowed"
		if allowed and managed_path(ev.path) then
			return uw.verdict("low", "log", "installed by the "
				.. "package manager", { tags = { "package-manager" } })
		end
		return uw.verdict("high", "alert", (program and "executable "
			or "library ") .. ev.op, { tags = { "persistence" } })
	end,
}
