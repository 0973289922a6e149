-- New or changed programs: the classic dropped binary, or a tampered one.
-- (The moment one of them runs is execution.lua's.)  A program whose
-- content is what its package lists (package_check "match": a package
-- manager installed it) is low; one whose content is not its package's
-- is high whatever it is.
local uw = require("upperwatch")

local program_dirs = {
	"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin",
	"/usr/local/sbin", "/usr/libexec", "/opt",
}

local function in_program_dir(path)
	for _, d in ipairs(program_dirs) do
		if uw.under(path, d) then
			return true
		end
	end
	return false
end

return {
	name = "executables",
	description = "A new or changed executable file is high.",
	-- Only a file that is executable now can be judged here: the
	-- others never reach Lua.
	match = { ops = { "added", "modified", "metadata", "replaced" },
		types = { "file" }, current = { "executable" } },
	evaluate = function(ev)
		local cur = ev.current
		if ev.op == "exec" or ev.type ~= "file" or not cur
			or not uw.executable(cur.mode) then
			return nil	-- (an exec is execution.lua's)
		end
		-- Podman writes /etc/hosts and friends with mode 0755.
		if uw.runtime_file(ev.path) then
			return nil
		end
		-- What a package manager installed, with the content its
		-- package lists: the incident says so once; the file is low.
		-- So is a file of its database (dpkg's maintainer scripts are
		-- executable) written with its packages; one written without
		-- them is packages.lua's, and a new executable here too.
		local pkg = ev.package
		if ev.package_check == "match" and ev.op ~= "metadata" and pkg then
			return uw.verdict("low", "log", pkg.database
				and ("a file of the " .. pkg.manager .. " database, "
					.. "written with its packages")
				or ("installed by package " .. pkg.name .. " "
					.. pkg.version), { tags = { "package" } })
		end
		if ev.package_check == "mismatch" and pkg and not pkg.database then
			return uw.verdict("high", "alert", "executable differs "
				.. "from package " .. pkg.name .. " " .. pkg.version,
				{ tags = { "tampering" } })
		end
		local was_exec = ev.baseline and uw.executable(ev.baseline.mode)
		if ev.op == "metadata" and was_exec then
			return nil	-- an owner change of a program: privilege.lua
		end
		local where = in_program_dir(ev.path) and " in a program dir" or ""
		if ev.op == "added" then
			return uw.verdict("high", "alert",
				"new executable" .. where, { tags = { "persistence",
				"execution" } })
		elseif ev.op == "metadata" then
			return uw.verdict("high", "alert",
				"file made executable" .. where,
				{ tags = { "execution" } })
		end
		return uw.verdict("high", "alert", "executable changed" .. where,
			{ tags = { "tampering" } })
	end,
}
