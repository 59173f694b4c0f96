-- release.lua — returns a live reservation (the render failed, nothing to charge). A
-- settled decision stays settled.
--
-- KEYS = decision, leases
-- ARGV = P (read by the prelude; this script takes no other argument)

local dk, leases = KEYS[1], KEYS[2]
sweep(leases)
local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged', 'win', 'wid', 'model')
if not d[1] then return {'admitted', 0, 0, 0, 0, 0, 0, 'no reservation to release'} end
local res = tonumber(d[2]) or 0
if d[1] == 'settled' then
  return {'admitted', 1, 1, res, tonumber(d[3]), 0, 0, 'already settled; not released'}
end
if d[1] == 'reserved' then
  unreserve(dk, res, tonumber(d[4]), tonumber(d[5]), d[6], 'released', 'released')
  redis.call('ZREM', leases, dk)
  return {'admitted', 0, 0, res, 0, 0, 0, 'released'}
end
return {'admitted', 1, 0, res, 0, 0, 0, 'already ' .. d[1]}
