-- renew.lua — extends the leases of a worker's requests in flight, in one call: a
-- render that outlives lease_ttl_s is never taken for a dead worker's.
--
-- KEYS = leases, decision 1, decision 2, ...
-- ARGV = P, lease_ttl_s, gen 1, gen 2, ... (one per decision, in the same order)
-- (the ARG_ names below are budget_args.h's RENEW_ARG_ positions)
--
-- Only the named reservation, still reserved, is renewed; one that expired (and so was
-- charged) or was re-reserved by another holder is not. Returns the number renewed.
local ARG_LEASE_TTL_S = 2
local ARG_FIRST_GEN = 3
local leases = KEYS[1]
local exp = now + tonumber(ARGV[ARG_LEASE_TTL_S]) * 1000
local renewed = 0
for i = 2, #KEYS do
  local dk = KEYS[i]
  local d = redis.call('HMGET', dk, 'state', 'gen')
  if d[1] == 'reserved' and tonumber(d[2]) == tonumber(ARGV[ARG_FIRST_GEN + i - 2]) then
    redis.call('HSET', dk, 'exp', I(exp))
    redis.call('ZADD', leases, I(exp), dk)
    renewed = renewed + 1
  end
end
sweep(leases)
return renewed
