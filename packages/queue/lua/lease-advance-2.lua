-- KEYS: lease, epoch. ARGV: value, workerId, ttlMs, floor. While the lease is still ours (`value`),
-- moves the counter to at least `floor` and takes the next epoch for the lease. Returns the new epoch,
-- or 0 when the lease is no longer ours.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local floor = tonumber(ARGV[4])
if tonumber(redis.call('GET', KEYS[2]) or '0') < floor then redis.call('SET', KEYS[2], floor) end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[2] .. '|' .. epoch, 'PX', tonumber(ARGV[3]))
return epoch
