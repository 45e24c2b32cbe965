-- Gives a cancelled booking's seats back, once. KEYS: gate, returned, users. ARGV: bookingId, quantity,
-- userId, maxPerUser.
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'avail') == 0 then return 0 end
local q = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], 'avail', q)
if tonumber(ARGV[4]) > 0 and redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[3], ARGV[3], -q)
end
return 1
