-- Files whose change is an attack more often than not: accounts,
-- sudo, SSH keys, cron, the dynamic loader's preload list.
local uw = require("upperwatch")

local rules = {
	{ "/etc/ld.so.preload", "critical", "dynamic loader preload list" },
	{ "/etc/passwd", "high", "account database" },
	{ "/etc/shadow", "critical", "password hashes" },
	{ "/etc/group", "high", "group database" },
	{ "/etc/gshadow", "critical", "group password hashes" },
	{ "/etc/sudoers", "critical", "sudo rules" },
	{ "/etc/sudoers.d/**", "critical", "sudo rules" },
	{ "/etc/sudoers.d", "critical", "sudo rules" },
	{ "/root/.ssh", "critical", "root's SSH keys" },
	{ "/root/.ssh/**", "critical", "root's SSH keys" },
	{ "/home/*/.ssh", "high", "a user's SSH keys" },
	{ "/home/*/.ssh/**", "high", "a user's SSH keys" },
	{ "/etc/ssh/**", "high", "SSH server configuration" },
	{ "/etc/cron*", "high", "cron jobs" },
	{ "/etc/cron*/**", "high", "cron jobs" },
	{ "/var/spool/cron", "high", "cron jobs" },
	{ "/var/spool/cron/**", "high", "cron jobs" },
	{ "/etc/ld.so.conf", "high", "library search path" },
	{ "/etc/ld.so.conf.d/**", "high", "library search path" },
	{ "/etc/pam.d/**", "high", "authentication modules" },
	{ "/etc/security/**", "high", "authentication policy" },
	{ "/etc/profile", "medium", "login shell start-up" },
	{ "/etc/profile.d/**", "medium", "login shell start-up" },
	{ "/root/.bashrc", "medium", "root's shell start-up" },
	{ "/root/.profile", "medium", "root's shell start-up" },
}

local globs = {}
for i, r in ipairs(rules) do
	globs[i] = r[1]
end

return {
	name = "sensitive-files",
	description = "Changes to accounts, sudo, SSH keys, cron, PAM and the "
		.. "loader's preload list are high or critical.",
	match = { paths = globs },
	evaluate = function(ev)
		for _, r in ipairs(rules) do
			if uw.glob(ev.path, r[1]) then
				return uw.verdict(r[2], "alert", r[3] .. " " .. ev.op,
					{ tags = { "persistence", "credential-access" } })
			end
		end
		return nil
	end,
}
