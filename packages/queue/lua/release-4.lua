-- Undoes an admission whose job could not be queued. KEYS: gate, held, users, pending. ARGV: requestId.
--- @include "_release-hold"
redis.call('HDEL', KEYS[4], ARGV[1])
return releaseHold(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
