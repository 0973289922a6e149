-- expect: memory limit reached while loading
-- at: load
-- 1 MiB strings: the cap is reached in a few steps, well inside the load
-- deadline even under sanitizers on a busy machine
local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(1 << 20) .. i end
