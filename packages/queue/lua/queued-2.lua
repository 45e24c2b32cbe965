-- The request ids inside the event's queued booking jobs (waiting or in progress), or only their number.
-- KEYS: wait, active. ARGV: jobKeyPrefix, 'ids' or 'count'.
--- @include "_book-requests-of"
local ids = {}
local n = 0
local function add(jobId)
  local requests = bookRequestsOf(ARGV[1] .. jobId)
  if not requests then return end
  for _, r in ipairs(requests) do
    n = n + 1
    if ARGV[2] == 'ids' then ids[n] = r.requestId end
  end
end
for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do add(id) end
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do add(id) end
if ARGV[2] == 'ids' then return ids end
return n
