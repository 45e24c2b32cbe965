-- Rebuilds the gate from the database's truth plus the requests admitted and not yet decided (the
-- pending records, which also cover requests whose job is still on its way to the queue), replaying
-- the worker's rules over them in admission order. KEYS: gate, held, users, pending. ARGV: available,
-- maxPerUser, then userId, confirmedSeats pairs. Returns the previous `avail` or false.
local previous = redis.call('HGET', KEYS[1], 'avail')
redis.call('DEL', KEYS[2], KEYS[3])
local avail = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local users = {}
for i = 3, #ARGV, 2 do users[ARGV[i]] = tonumber(ARGV[i + 1]) end
local flat = redis.call('HGETALL', KEYS[4])
local pending = {}
for i = 1, #flat, 2 do
  local record = flat[i + 1]
  local a = string.find(record, '|', 1, true)
  local b = string.find(record, '|', a + 1, true)
  local c = string.len(record) - string.find(string.reverse(record), '|', 1, true) + 1
  pending[#pending + 1] = {
    id = flat[i],
    seq = tonumber(string.sub(record, 1, a - 1)),
    q = tonumber(string.sub(record, a + 1, b - 1)),
    user = string.sub(record, b + 1, c - 1),
  }
end
table.sort(pending, function(x, y) return x.seq < y.seq end)
for _, r in ipairs(pending) do
  if (max == 0 or (users[r.user] or 0) + r.q <= max) and avail >= r.q then
    avail = avail - r.q
    users[r.user] = (users[r.user] or 0) + r.q
    redis.call('HSET', KEYS[2], r.id, r.q .. '|' .. r.user)
  end
end
if max > 0 then
  for user, seats in pairs(users) do
    if seats > 0 then redis.call('HSET', KEYS[3], user, seats) end
  end
end
redis.call('HSET', KEYS[1], 'avail', avail)
return previous
