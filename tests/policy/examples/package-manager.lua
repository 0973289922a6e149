-- policies/examples/package-manager.lua
local allowed = { id = "c1", name = "builder", image = "debian:12",
	labels = { ["upperwatch.packages"] = "allowed" } }
local plain = { id = "c2", name = "web", image = "debian:12" }

return {
	{ name = "an apt-installed program is low where packages are allowed",
	  event = { op = "added", path = "/usr/bin/curl", container = allowed,
	            current = { mode = "0755" } },
	  expect = { severity = "low", action = "log",
	             policy = "package-manager" } },
	{ name = "the same program elsewhere is high",
	  event = { op = "added", path = "/usr/bin/curl", container = plain,
	            current = { mode = "0755" } },
	  expect = { severity = "high", action = "alert" } },
	{ name = "a program in /tmp is high even where packages are allowed",
	  event = { op = "added", path = "/tmp/curl", container = allowed,
	            current = { mode = "0755" } },
	  expect = { severity = "high" } },
	{ name = "a library installed by the package manager is low",
	  event = { op = "added", path = "/usr/lib/x86_64-linux-gnu/libcurl.so.4",
	            container = allowed },
	  expect = { severity = "low" } },
	{ name = "a data file is no business of this policy",
	  event = { op = "added", path = "/var/www/index.html",
	            container = plain },
	  expect = false },
}
