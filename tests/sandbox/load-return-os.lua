-- expect: a policy file must return a table it built
-- at: load
return os
