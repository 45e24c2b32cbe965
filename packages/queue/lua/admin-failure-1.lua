-- KEYS: the counter of an address's failed admin-key attempts. ARGV: the window (ms). Counts one
-- more failure and, on the first one of a window, starts the window, in one step: a counter never
-- lives without an expiry. Returns the count.
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
