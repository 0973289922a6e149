-- expect: a policy file must return a table
-- at: load
local x = 1
