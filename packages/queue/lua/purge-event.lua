-- KEYS: lease, wait, active, paused, delayed, prioritized, waiting-children, failed, completed, then
-- every other key of the event to delete. ARGV: leaseValue, jobKeyPrefix. Returns 1 when the keys were
-- deleted (the lease with them), 0 when the queue still holds work, -1 when the lease is not ours.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local work = redis.call('LLEN', KEYS[2]) + redis.call('LLEN', KEYS[3]) + redis.call('LLEN', KEYS[4])
  + redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[6]) + redis.call('ZCARD', KEYS[7])
if work > 0 then return 0 end
for _, finished in ipairs({KEYS[8], KEYS[9]}) do
  for _, id in ipairs(redis.call('ZRANGE', finished, 0, -1)) do
    redis.call('DEL', ARGV[2] .. id, ARGV[2] .. id .. ':logs', ARGV[2] .. id .. ':lock')
  end
end
redis.call('DEL', unpack(KEYS))
return 1
