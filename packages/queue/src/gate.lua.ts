// Lua scripts of the admission gate. Each runs atomically in Redis, so the gate's counters and the
// promises it made stay consistent with one another whatever the interleaving of API replicas.
//
// The gate simulates the worker's rules in admission order: a request is promised seats (a "hold")
// only when the worker is certain to confirm it, so `avail` never drops below the seats that will
// really be left, and a 409 SOLD_OUT from the gate is never false. Requests it cannot promise
// anything to (the gate is missing, or the per-user limit would refuse them) are queued without a
// hold and left to the worker.

/** KEYS: gate, held, users, pending, seq, idem. ARGV: requestId, quantity, userId, maxPerUser (0 = none),
 * idemRecord ('' = no key), idemTtlSeconds, enabled ('1'/'0'), acceptedAt.
 * Returns {outcome, position, seq} or {'IDEM', record}. A queued request is recorded in `pending`
 * (`seq|quantity|userId|acceptedAt`) until the worker settles it; `seq` numbers admissions. */
export const ADMIT = `
if ARGV[5] ~= '' then
  local existing = redis.call('GET', KEYS[6])
  if existing then return {'IDEM', existing} end
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
    outcome = 'SOLD_OUT'
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
`;

/** Undoes an admission whose job could not be queued. KEYS: gate, held, users, pending. ARGV: requestId. */
export const RELEASE = `
redis.call('HDEL', KEYS[4], ARGV[1])
local h = redis.call('HGET', KEYS[2], ARGV[1])
if not h then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
local sep = string.find(h, '|', 1, true)
local q = tonumber(string.sub(h, 1, sep - 1))
local user = string.sub(h, sep + 1)
if redis.call('HEXISTS', KEYS[1], 'avail') == 1 then redis.call('HINCRBY', KEYS[1], 'avail', q) end
if redis.call('HEXISTS', KEYS[3], user) == 1 then redis.call('HINCRBY', KEYS[3], user, -q) end
return 1
`;

/** Settles the gate after a batch of durable decisions. KEYS: gate, held, users, pending, seq.
 * ARGV: maxPerUser, msPerDecision, then per decision: requestId, status, quantity, userId, replayed ('1'/'0').
 * Returns 1 when the gate should be rebuilt (missing, or a promised request was refused). */
export const SETTLE = `
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
`;

/** Gives a cancelled booking's seats back, once. KEYS: gate, returned, users. ARGV: bookingId, quantity,
 * userId, maxPerUser. */
export const RETURN_SEATS = `
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'avail') == 0 then return 0 end
local q = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], 'avail', q)
if tonumber(ARGV[4]) > 0 and redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[3], ARGV[3], -q)
end
return 1
`;

/** Rebuilds the gate from the database's truth plus the requests admitted and not yet decided (the
 * pending records, which also cover requests whose job is still on its way to the queue), replaying
 * the worker's rules over them in admission order. KEYS: gate, held, users, pending. ARGV: available,
 * maxPerUser, then userId, confirmedSeats pairs. Returns the previous `avail` or false. */
export const REBUILD = `
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
`;

/** A queued request as the gate recorded it. KEYS: pending, seq, gate. ARGV: requestId.
 * Returns false, or {record, decidedSeq, msPerDecision}. */
export const PENDING = `
local p = redis.call('HGET', KEYS[1], ARGV[1])
if not p then return false end
return {p, redis.call('HGET', KEYS[2], 'decided') or '0', redis.call('HGET', KEYS[3], 'ms') or '0'}
`;

/** The request ids inside the event's queued booking jobs (waiting or in progress), or only their number.
 * KEYS: wait, active. ARGV: jobKeyPrefix, 'ids' or 'count'. */
export const QUEUED = `
local ids = {}
local n = 0
local function add(jobId)
  local data = redis.call('HGET', ARGV[1] .. jobId, 'data')
  if not data then return end
  local ok, job = pcall(cjson.decode, data)
  if not ok or type(job) ~= 'table' or job.kind ~= 'book' or type(job.requests) ~= 'table' then return end
  for _, r in ipairs(job.requests) do
    n = n + 1
    if ARGV[2] == 'ids' then ids[n] = r.requestId end
  end
end
for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do add(id) end
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do add(id) end
if ARGV[2] == 'ids' then return ids end
return n
`;
