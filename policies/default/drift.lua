-- Every drift event gets an opinion: files the container runtime writes
-- into every container at start are info, anything else is low.  The
-- other policies of this set raise what matters above that.
local uw = require("upperwatch")

-- Written by Docker, containerd, Podman and CRI-O when a container starts.
local runtime_files = {
	"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/etc/mtab",
	"/run/.containerenv", "/.containerenv", "/run/secrets",
	"/run/secrets/**", "/etc/.pwd.lock",
}

local function runtime_file(path)
	for _, g in ipairs(runtime_files) do
		if uw.glob(path, g) then
			return true
		end
	end
	return false
end

return {
	name = "container-drift",
	description = "Any change to the image's files is low; files the "
		.. "runtime injects at start are info.",
	evaluate = function(ev)
		if runtime_file(ev.path) then
			return uw.verdict("info", "log",
				"file written by the container runtime at start")
		end
		return uw.verdict("low", "log", ev.op .. " " .. ev.type)
	end,
}
