-- expect: a policy file must return a table it built
-- at: load
-- _ENV's strict metatable raises on every missing field
return _ENV
