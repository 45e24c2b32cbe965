-- KEYS: lease, epoch. ARGV: value, ttlMs, epoch. Returns 1 when still ours (and extended). A lease
-- that lapsed while nobody took the event since (the counter still stands at its epoch) is still ours:
-- no other worker can have decided anything, so it is taken up again rather than lost. That happens
-- when a busy process could not renew in time (a burst keeping its event loop busy for seconds).
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
if not current and tonumber(redis.call('GET', KEYS[2]) or '0') == tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
