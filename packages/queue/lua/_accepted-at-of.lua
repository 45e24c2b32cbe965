-- The `acceptedAt` of a pending record (`seq|quantity|userId|acceptedAt`; a user id may hold `|`).
local function acceptedAtOf(record)
  return string.sub(record, string.len(record) - string.find(string.reverse(record), '|', 1, true) + 2)
end
