-- Settles the gate after a batch of durable decisions. KEYS: gate, held, users, pending, seq.
-- ARGV: maxPerUser, msPerDecision, then per decision: requestId, status, quantity, userId, replayed ('1'/'0').
-- Returns 1 when the gate should be rebuilt (missing, or a promised request was refused).
local max = tonumber(ARGV[1])
local gate = redis.call('HEXISTS', KEYS[1], 'avail') == 1
local needsRebuild = 0
if not gate then needsRebuild = 1 end
local decided = tonumber(redis.call('HGET', KEYS[5], 'decided') or '0')
for i = 3, #ARGV, 5 do
  local id, status, q, user, replayed = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4]
  local p = redis.call('HGET', KEYS[4], id)
  if p then
    redis.call('HDEL', KEYS[4], id)
    local seq = tonumber(string.sub(p, 1, string.find(p, '|', 1, true) - 1))
    if seq > decided then decided = seq end
  end
  local h = redis.call('HGET', KEYS[2], id)
  if h then
    redis.call('HDEL', KEYS[2], id)
    if status ~= 'confirmed' then
      if gate then redis.call('HINCRBY', KEYS[1], 'avail', q) end
      if max > 0 and redis.call('HEXISTS', KEYS[3], user) == 1 then redis.call('HINCRBY', KEYS[3], user, -q) end
      -- A promised request should never be refused: the gate has drifted from the database.
      needsRebuild = 1
    end
  elseif status == 'confirmed' and replayed == '0' and gate then
    -- Confirmed without a promise (queued while the gate was missing or unsure): count the seats now.
    redis.call('HINCRBY', KEYS[1], 'avail', -q)
    if max > 0 then redis.call('HINCRBY', KEYS[3], user, q) end
  end
end
redis.call('HSET', KEYS[5], 'decided', decided)
if gate then
  local ms = tonumber(ARGV[2])
  local prev = tonumber(redis.call('HGET', KEYS[1], 'ms') or ARGV[2])
  redis.call('HSET', KEYS[1], 'ms', string.format('%.4f', prev * 0.9 + ms * 0.1))
end
return needsRebuild
