-- Lua: the requests of a queued booking job, by its BullMQ job key; nil for a job of another kind.
local function bookRequestsOf(jobKey)
  local data = redis.call('HGET', jobKey, 'data')
  if not data then return nil end
  local ok, job = pcall(cjson.decode, data)
  if not ok or type(job) ~= 'table' or job.kind ~= 'book' or type(job.requests) ~= 'table' then return nil end
  return job.requests
end
