-- admission.lua — the peer's budget decision: one EVALSHA per decision, the same
-- reserve/charge semantics as pressroom's admit.lua/settle.lua (without deferral,
-- overrides and rate limits, which the benchmark does not exercise).
--
-- KEYS = decision (hash), window (hash: reserved, spent), leases (zset: exp -> decision)
-- ARGV = op ('reserve' | 'settle'), micros (worst case | actual), cap_micros (0: none),
--        lease_ttl_ms, holder, retention_s
--
-- reserve: a settled decision answers as before; a live reservation of the same holder is
-- renewed; one of another holder (a redelivery) is charged its worst case (its request was
-- sent) and replaced. Over the cap: 'over_cap'. Expired leases are swept first and charged.
-- settle: moves the reservation to spent at the actual price; idempotent.
local dk, wk, lk = KEYS[1], KEYS[2], KEYS[3]
local op, micros, cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl, holder, retention = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

local function charge_worst(key)
  local res = tonumber(redis.call('HGET', key, 'reserved')) or 0
  redis.call('HINCRBY', wk, 'reserved', -res)
  redis.call('HINCRBY', wk, 'spent', res)
  redis.call('HSET', key, 'state', 'settled', 'charged', res)
  redis.call('EXPIRE', key, retention)
  redis.call('ZREM', lk, key)
end

if op == 'settle' then
  local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged')
  if d[1] == 'settled' then return {'settled', tonumber(d[3])} end
  if d[1] ~= 'reserved' then return {'unknown', 0} end
  redis.call('HINCRBY', wk, 'reserved', -tonumber(d[2]))
  redis.call('HINCRBY', wk, 'spent', micros)
  redis.call('HSET', dk, 'state', 'settled', 'charged', micros)
  redis.call('EXPIRE', dk, retention)
  redis.call('ZREM', lk, dk)
  return {'settled', micros}
end

for _, key in ipairs(redis.call('ZRANGEBYSCORE', lk, '-inf', now, 'LIMIT', 0, 16)) do charge_worst(key) end
local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged', 'exp', 'holder')
if d[1] == 'settled' then return {'admitted', tonumber(d[3]), 'already settled'} end
if d[1] == 'reserved' then
  if d[5] == holder then
    redis.call('HSET', dk, 'exp', now + ttl)
    redis.call('ZADD', lk, now + ttl, dk)
    return {'admitted', tonumber(d[2]), 'lease renewed'}
  end
  charge_worst(dk)
end
if cap > 0 then
  local w = redis.call('HMGET', wk, 'reserved', 'spent')
  if (tonumber(w[1]) or 0) + (tonumber(w[2]) or 0) + micros > cap then return {'over_cap', 0, 'window full'} end
end
redis.call('HINCRBY', wk, 'reserved', micros)
redis.call('HSET', dk, 'state', 'reserved', 'reserved', micros, 'exp', now + ttl, 'holder', holder)
redis.call('ZADD', lk, now + ttl, dk)
return {'admitted', micros, 'reserved'}
