-- expect: has no evaluate function
-- at: load
return { name = "x", description = "y" }
