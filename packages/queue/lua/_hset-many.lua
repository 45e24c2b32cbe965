-- HSET of `list` (field, value, field, value, ...) on `key`, a few thousand arguments per call
-- instead of one call per field.
local function hsetMany(key, list)
  for i = 1, #list, 2000 do
    redis.call('HSET', key, unpack(list, i, math.min(i + 1999, #list)))
  end
end
