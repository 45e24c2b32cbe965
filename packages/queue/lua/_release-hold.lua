-- Lua: takes back the seats the gate promised a request (its hold, `quantity|userId`), if it has one.
local function releaseHold(gateKey, heldKey, usersKey, id)
  local h = redis.call('HGET', heldKey, id)
  if not h then return 0 end
  redis.call('HDEL', heldKey, id)
  local sep = string.find(h, '|', 1, true)
  local q = tonumber(string.sub(h, 1, sep - 1))
  local user = string.sub(h, sep + 1)
  if redis.call('HEXISTS', gateKey, 'avail') == 1 then redis.call('HINCRBY', gateKey, 'avail', q) end
  if redis.call('HEXISTS', usersKey, user) == 1 then redis.call('HINCRBY', usersKey, user, -q) end
  return 1
end
