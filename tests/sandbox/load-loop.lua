-- expect: instruction budget exceeded
-- at: load
while true do end
