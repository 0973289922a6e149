-- policies/examples/deny-drift-exec.lua
return {
	{ name = "the exec of a dropped binary is denied",
	  event = { op = "exec", path = "/tmp/miner",
	            current = { mode = "0755", size = 4096 },
	            process = { pid = 7, comm = "sh" } },
	  expect = { severity = "critical", action = "deny",
	             policy = "deny-drift-exec", reason = "refused (by sh)" } },
	{ name = "with no process named, still denied",
	  event = { op = "exec", path = "/usr/bin/ls",
	            baseline = { mode = "0755" }, current = { mode = "0755" } },
	  expect = { action = "deny", reason = "exec of drift refused" } },
	{ name = "writing a binary is not an exec",
	  event = { op = "added", path = "/tmp/miner",
	            current = { mode = "0755" } },
	  expect = false },
}
