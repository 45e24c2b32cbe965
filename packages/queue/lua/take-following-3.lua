-- KEYS: wait, active, events stream. ARGV: jobKeyPrefix, heldJobId, token, lockMs, maxJobs,
-- maxRequests, now (ms), kind (`book` when absent). Takes jobs from the head of the queue (the next
-- to be processed first) while they are jobs of `kind` and the requests taken stay within
-- maxRequests (a `book` job counts its requests, a job of another kind one); stops at the first
-- job of another kind, which is left to be processed on its own, in order.
-- Returns a flat list {jobId, hgetall(job), ...}; empty unless the caller holds heldJobId's lock.
local prefix, held, token = ARGV[1], ARGV[2], ARGV[3]
local lockMs, maxJobs, maxRequests, now = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local kind = ARGV[8] or 'book'
if redis.call('GET', prefix .. held .. ':lock') ~= token then return {} end
local out = {}
local jobs, requests = 0, 0
while jobs < maxJobs do
  local id = redis.call('LINDEX', KEYS[1], -1)
  if not id then break end
  if string.sub(id, 1, 2) == '0:' then
    -- A marker entry of older BullMQ versions, not a job.
    redis.call('RPOP', KEYS[1])
  else
    local key = prefix .. id
    local fields = redis.call('HMGET', key, 'name', 'data')
    if fields[1] ~= kind or not fields[2] then break end
    local n = 1
    if kind == 'book' then
      local _, found = string.gsub(fields[2], '"requestId"', '')
      n = found
    end
    if requests + n > maxRequests then break end
    redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
    redis.call('SET', key .. ':lock', token, 'PX', lockMs)
    redis.call('XADD', KEYS[3], '*', 'event', 'active', 'jobId', id, 'prev', 'waiting')
    redis.call('HSET', key, 'processedOn', now)
    redis.call('HINCRBY', key, 'ats', 1)
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGETALL', key)
    jobs = jobs + 1
    requests = requests + n
  end
end
return out
