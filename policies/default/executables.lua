-- New or changed programs: the classic dropped binary, or a tampered one;
-- and the moment one of them runs (op "exec": a file that is drift was
-- opened for exec, seen through fanotify), which is critical.  A program
-- whose content is what its package lists (package_check "match": a
-- package manager installed it) is low; one whose content is not its
-- package's is high whatever it is.
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
	description = "A new or changed executable file is high; running "
		.. "one is critical.",
	match = { ops = { "added", "modified", "metadata", "replaced", "exec" } },
	evaluate = function(ev)
		if ev.op == "exec" then
			local by = ev.process and ev.process.comm
			return uw.verdict("critical", "alert",
				"a file that is drift was run"
				.. (by and (" by " .. by) or ""),
				{ tags = { "execution", "drift" } })
		end
		local cur = ev.current
		if ev.type ~= "file" or not cur or not uw.executable(cur.mode) then
			return nil
		end
		-- Podman writes /etc/hosts and friends with mode 0755.
		if uw.runtime_file(ev.path) then
			return nil
		end
		-- What a package manager installed, with the content its
		-- package lists: the incident says so once; the file is low.
		if ev.package_check == "match" and ev.op ~= "metadata" then
			return uw.verdict("low", "log", "installed by package "
				.. ev.package.name .. " " .. ev.package.version,
				{ tags = { "package" } })
		end
		if ev.package_check == "mismatch" then
			return uw.verdict("high", "alert", "executable differs "
				.. "from package " .. ev.package.name .. " "
				.. ev.package.version, { tags = { "tampering" } })
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
