-- KEYS: pending, wait, active, lease. ARGV: jobKeyPrefix, cutoff (ISO-8601, as `acceptedAt`), limit,
-- unleasedOnly ('1'/'0'). Returns the ids of requests recorded as pending, accepted before `cutoff`,
-- that no booking job in the queue (waiting or in progress) carries: of the `limit` oldest such
-- records (by admission number). Empty when `unleasedOnly` and a worker holds the event's lease.
-- Waiting jobs are read oldest first and only until every stale record is found, so an event with a
-- long queue costs little: its stale records are in its oldest jobs.
--- @include "_accepted-at-of"
--- @include "_book-requests-of"
--- @include "_in-admission-order"
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[4]) == 1 then return {} end
local flat = redis.call('HGETALL', KEYS[1])
local stale = {}
for i = 1, #flat, 2 do
  local record = flat[i + 1]
  if acceptedAtOf(record) < ARGV[2] then
    stale[#stale + 1] = { id = flat[i], seq = tonumber(string.sub(record, 1, string.find(record, '|', 1, true) - 1)) }
  end
end
if #stale == 0 then return {} end
local limit = tonumber(ARGV[3])
if #stale > limit then
  stale = inAdmissionOrder(stale)
  for i = #stale, limit + 1, -1 do stale[i] = nil end
end
local wanted, left = {}, #stale
for _, r in ipairs(stale) do wanted[r.id] = true end
local function visit(jobId)
  local requests = bookRequestsOf(ARGV[1] .. jobId)
  if not requests then return end
  for _, r in ipairs(requests) do
    if wanted[r.requestId] then
      wanted[r.requestId] = nil
      left = left - 1
    end
  end
end
for _, id in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  visit(id)
  if left == 0 then return {} end
end
-- BullMQ pushes new jobs at the head of the wait list: the oldest are at its tail.
local i = redis.call('LLEN', KEYS[2]) - 1
while i >= 0 do
  local from = math.max(0, i - 99)
  local ids = redis.call('LRANGE', KEYS[2], from, i)
  for j = #ids, 1, -1 do
    visit(ids[j])
    if left == 0 then return {} end
  end
  i = from - 1
end
local out = {}
for _, r in ipairs(stale) do
  if wanted[r.id] then out[#out + 1] = r.id end
end
return out
