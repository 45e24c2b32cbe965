-- Rebuilds the gate from the database's truth plus the requests admitted and not yet decided (the
-- pending records, which also cover requests whose job is still on its way to the queue), replaying
-- the worker's rules over them in admission order. KEYS: gate, held, users, pending. ARGV: available,
-- maxPerUser, then userId, confirmedSeats pairs. Returns the previous `avail` or false.
--- @include "_in-admission-order"
--- @include "_hset-many"
local previous = redis.call('HGET', KEYS[1], 'avail')
redis.call('DEL', KEYS[2], KEYS[3])
local avail = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local users = {}
for i = 3, #ARGV, 2 do users[ARGV[i]] = tonumber(ARGV[i + 1]) end
local flat = redis.call('HGETALL', KEYS[4])
local pending = {}
for i = 1, #flat, 2 do
  -- `seq|quantity|userId|acceptedAt`: the user id runs to the last `|` (it may hold `|` itself).
  local seq, q, user = string.match(flat[i + 1], '^(%d+)|(%d+)|(.*)|')
  pending[#pending + 1] = { id = flat[i], seq = tonumber(seq), q = tonumber(q), user = user }
end
local held = {}
for _, r in ipairs(inAdmissionOrder(pending)) do
  if (max == 0 or (users[r.user] or 0) + r.q <= max) and avail >= r.q then
    avail = avail - r.q
    users[r.user] = (users[r.user] or 0) + r.q
    held[#held + 1] = r.id
    held[#held + 1] = r.q .. '|' .. r.user
  end
end
hsetMany(KEYS[2], held)
if max > 0 then
  local seats = {}
  for user, n in pairs(users) do
    if n > 0 then
      seats[#seats + 1] = user
      seats[#seats + 1] = n
    end
  end
  hsetMany(KEYS[3], seats)
end
redis.call('HSET', KEYS[1], 'avail', avail)
return previous
