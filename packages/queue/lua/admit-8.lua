-- KEYS: gate, held, users, pending, seq, idem, rate, addressRate. ARGV: requestId, quantity, userId,
-- maxPerUser (0 = none), idemRecord ('' = no key), idemTtlSeconds, enabled ('1'/'0'), acceptedAt,
-- ratePoints (0 = no limit), rateWindowMs, addressPoints (0 = no limit), waitlist ('1': the request may
-- join the event's waiting list, so it is queued without a promise where it would be SOLD_OUT, unless
-- the gate's `wlfull` says the list is full; the worker decides whether the list has room).
-- In this order, atomically: a repeated Idempotency-Key answers {'IDEM', record} (counted against no
-- limit); a client address, then a user, over its rate limit (`addressRate` and `rate` count the
-- address's and the user's new requests for the event in a fixed window) answers
-- {'LIMITED', msUntilTheWindowEnds, 'address' | 'user'}, admitting nothing; otherwise
-- {outcome, position, seq}. A queued request is recorded in `pending` (`seq|quantity|userId|acceptedAt`)
-- until the worker settles it; `seq` numbers admissions.
if ARGV[5] ~= '' then
  local existing = redis.call('GET', KEYS[6])
  if existing then return {'IDEM', existing} end
end
local function overLimit(key, points, windowMs)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, windowMs) end
  if n <= points then return false end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, windowMs)
    ttl = tonumber(windowMs)
  end
  return ttl
end
local addressPoints = tonumber(ARGV[11] or '0')
if addressPoints > 0 then
  local ttl = overLimit(KEYS[8], addressPoints, ARGV[10])
  if ttl then return {'LIMITED', ttl, 'address'} end
end
local points = tonumber(ARGV[9])
if points > 0 then
  local ttl = overLimit(KEYS[7], points, ARGV[10])
  if ttl then return {'LIMITED', ttl, 'user'} end
end
local q = tonumber(ARGV[2])
local max = tonumber(ARGV[4])
local outcome = 'QUEUED'
local avail = false
if ARGV[7] == '1' then avail = redis.call('HGET', KEYS[1], 'avail') end
if ARGV[7] ~= '1' then
  outcome = 'OFF'
elseif not avail then
  outcome = 'UNGATED'
else
  local limited = false
  if max > 0 then
    local mine = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0')
    limited = mine + q > max
  end
  if limited then
    outcome = 'UNHELD'
  elseif tonumber(avail) < q then
    if ARGV[12] == '1' and redis.call('HGET', KEYS[1], 'wlfull') ~= '1' then outcome = 'UNHELD' else outcome = 'SOLD_OUT' end
  else
    redis.call('HINCRBY', KEYS[1], 'avail', -q)
    redis.call('HSET', KEYS[2], ARGV[1], q .. '|' .. ARGV[3])
    if max > 0 then redis.call('HINCRBY', KEYS[3], ARGV[3], q) end
  end
end
local position = 0
local seq = 0
if outcome ~= 'SOLD_OUT' then
  seq = redis.call('HINCRBY', KEYS[5], 'admitted', 1)
  redis.call('HSET', KEYS[4], ARGV[1], seq .. '|' .. q .. '|' .. ARGV[3] .. '|' .. ARGV[8])
  position = math.max(0, seq - tonumber(redis.call('HGET', KEYS[5], 'decided') or '0') - 1)
end
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[6], ARGV[5], 'EX', tonumber(ARGV[6]))
end
return {outcome, position, seq}
