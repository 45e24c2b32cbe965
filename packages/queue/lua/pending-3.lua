-- A queued request as the gate recorded it. KEYS: pending, seq, gate. ARGV: requestId.
-- Returns false, or {record, decidedSeq, msPerDecision}.
local p = redis.call('HGET', KEYS[1], ARGV[1])
if not p then return false end
return {p, redis.call('HGET', KEYS[2], 'decided') or '0', redis.call('HGET', KEYS[3], 'ms') or '0'}
