-- Every drift event gets an opinion: files the container runtime writes
-- into every container at start are info, anything else is low.  The
-- other policies of this set raise what matters above that.
local uw = require("upperwatch")

-- Written by Docker, containerd, Podman and CRI-O when a container starts.
-- Exact paths are a table lookup; only the secrets dir needs a glob.
local runtime_files = {
	["/etc/hostname"] = true, ["/etc/hosts"] = true,
	["/etc/resolv.conf"] = true, ["/etc/mtab"] = true,
	["/run/.containerenv"] = true, ["/.containerenv"] = true,
	["/run/secrets"] = true, ["/etc/.pwd.lock"] = true,
}

local function runtime_file(path)
	return runtime_files[path] or uw.glob(path, "/run/secrets/**")
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
