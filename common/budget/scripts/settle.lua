-- settle.lua — charges a stage's actual price, exactly once per reservation.
--
-- KEYS = decision, leases, override
-- ARGV = P, actual_micros, cfg_cap, cfg_window_s, retention_s, lease_ttl_s, gen
-- (the ARG_ names below are budget_args.h's SETTLE_ARG_ positions)
--
-- gen names the reservation the render ran under (admit's answer; 0 = the current one).
-- A settle of a reservation whose lease expired (its worst case was charged) reconciles
-- that charge to the actual price, once, and counts a late settle. A settle whose
-- reservation was returned (released, reset) or never made still charges: the money
-- was spent, and losing it would be worse than exceeding the cap.
local ARG_ACTUAL_MICROS = 2
local ARG_CFG_CAP = 3
local ARG_CFG_WINDOW_S = 4
local ARG_RETENTION_S = 5
local ARG_LEASE_TTL_S = 6
local ARG_GEN = 7
local dk, leases = KEYS[1], KEYS[2]
sweep(leases)
local cap, win = effective(KEYS[3], tonumber(ARGV[ARG_CFG_CAP]), tonumber(ARGV[ARG_CFG_WINDOW_S]))
local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged', 'win', 'wid', 'model', 'gen')
local res = tonumber(d[2]) or 0
local cur = tonumber(d[7]) or 0
local gen = tonumber(ARGV[ARG_GEN])
if gen == 0 then gen = cur end
local actual = tonumber(ARGV[ARG_ACTUAL_MICROS])
-- An older reservation than the key's current one, or the current one expired.
if gen ~= cur or d[1] == 'expired' then
  if reconcile(dk, gen, actual) then
    return {'admitted', 0, 1, res, actual, 0, 0, 'settled after its lease expired: the worst case charged then is reconciled to the actual price', gen}
  end
  local xr = redis.call('HGET', dk .. ':x:' .. I(gen), 'actual')
  if xr then return {'admitted', 1, 1, res, tonumber(xr), 0, 0, 'already settled', gen} end
end
-- A live reservation is charged to the window it was taken in; one already
-- returned (or never made) to the current window, where the money is spent now.
if d[1] == 'reserved' then win = tonumber(d[4]) end
local wid = math.floor(now / (win * 1000))
if d[1] == 'reserved' then wid = tonumber(d[5]) end
local reset_ms = (wid + 1) * win * 1000
if d[1] == 'settled' and gen == cur then
  return {'admitted', 1, 1, res, tonumber(d[3]), 0, 0, 'already settled', gen}
end
local model = d[6] or 'unknown'
local detail = 'settled'
local wk = win_key(win, wid)
-- The window's counters in one hincr (HMGET + HSET) instead of a HINCRBY each; the
-- decision's state is written once, below.
if d[1] == 'reserved' and gen == cur then
  if redis.call('EXISTS', wk) == 1 then
    -- The reservation goes back (as unreserve does) and the actual price is spent.
    hincr(wk, {'reserved', 'reserved:' .. model, 'settled', 'spent', 'spent:' .. model},
          {-res, -res, 1, actual, actual})
  else
    hincr(wk, {'spent', 'spent:' .. model}, {actual, actual})
  end
  redis.call('ZREM', leases, dk)
  if actual > res then detail = 'settled above the reservation' end
else
  -- Nothing to settle against: charge it where the money is spent now, and count it.
  detail = d[1] and ('settled after the reservation was returned (' .. d[1] .. ')') or 'settled without a reservation'
  hincr(wk, {'late_settles', 'spent', 'spent:' .. model, 'settled'}, {1, actual, actual, 1})
end
redis.call('EXPIRE', wk, I(win * 3 + tonumber(ARGV[ARG_LEASE_TTL_S])))
if gen == cur then
  redis.call('HSET', dk, 'state', 'settled', 'charged', I(actual), 'reserved', I(res),
             'win', I(win), 'wid', I(wid), 'model', model)
  redis.call('EXPIRE', dk, ARGV[ARG_RETENTION_S])
end
return {'admitted', 0, 1, res, actual, 0, reset_ms, detail, gen}
