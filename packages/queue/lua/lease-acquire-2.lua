-- KEYS: lease, epoch. ARGV: workerId, ttlMs. Returns the new epoch, or minus the milliseconds the
-- current holder's lease has left.
local left = redis.call('PTTL', KEYS[1])
if left ~= -2 then return -math.max(left, 1) end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', tonumber(ARGV[2]))
return epoch
