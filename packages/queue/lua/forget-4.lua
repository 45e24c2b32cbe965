-- KEYS: gate, held, users, pending. ARGV: cutoff (ISO-8601), then request ids. Forgets the pending
-- records of those requests that were accepted before `cutoff`, and gives back the seats the gate
-- promised them (as RELEASE does). Returns how many records were forgotten.
--- @include "_accepted-at-of"
--- @include "_release-hold"
local n = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local p = redis.call('HGET', KEYS[4], id)
  if p and acceptedAtOf(p) < ARGV[1] then
    redis.call('HDEL', KEYS[4], id)
    n = n + 1
    releaseHold(KEYS[1], KEYS[2], KEYS[3], id)
  end
end
return n
