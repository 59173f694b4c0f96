-- release.lua — returns a live reservation (the render failed, nothing to charge). A
-- settled decision stays settled; a reservation whose lease expired (its worst case was
-- charged) is reconciled to nothing, once.
--
-- KEYS = decision, leases
-- ARGV = P, gen (the reservation released; 0 = the current one)
-- (the ARG_ names below are budget_args.h's RELEASE_ARG_ positions)
local ARG_GEN = 2
local dk, leases = KEYS[1], KEYS[2]
sweep(leases)
local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged', 'win', 'wid', 'model', 'gen')
local cur = tonumber(d[7]) or 0
local gen = tonumber(ARGV[ARG_GEN])
if gen == 0 then gen = cur end
if not d[1] then return {'admitted', 0, 0, 0, 0, 0, 0, 'no reservation to release', gen} end
local res = tonumber(d[2]) or 0
if (gen ~= cur or d[1] == 'expired') and reconcile(dk, gen, 0) then
  return {'admitted', 0, 0, res, 0, 0, 0, 'released after its lease expired: the worst case charged then is returned', gen}
end
if gen ~= cur then return {'admitted', 1, 0, res, 0, 0, 0, 'an older reservation: nothing to release', gen} end
if d[1] == 'settled' then
  return {'admitted', 1, 1, res, tonumber(d[3]), 0, 0, 'already settled; not released', gen}
end
if d[1] == 'reserved' then
  unreserve(dk, res, tonumber(d[4]), tonumber(d[5]), d[6], 'released', 'released')
  redis.call('ZREM', leases, dk)
  return {'admitted', 0, 0, res, 0, 0, 0, 'released', gen}
end
return {'admitted', 1, 0, res, 0, 0, 0, 'already ' .. d[1], gen}
