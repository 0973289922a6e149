-- expect: unknown property 'suid' in match.current (executable, setuid, setgid, world_writable, caps)
-- at: load
return {
	name = "load-current-unknown",
	description = "a misspelt property would let every event through",
	match = { current = { "setuid", "suid" } },
	evaluate = function(ev) return nil end,
}
