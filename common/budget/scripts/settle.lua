-- settle.lua — charges a stage's actual price, exactly once per decision key.
--
-- KEYS = decision, leases, override
-- ARGV = P, actual_micros, cfg_cap, cfg_window_s, retention_s, lease_ttl_s
-- (the ARG_ names below are budget_args.h's SETTLE_ARG_ positions)
--
-- A settle whose reservation was already returned (lease expired, released, reset) or
-- never made still charges: the money was spent, and losing it would be worse than
-- exceeding the cap.

local ARG_ACTUAL_MICROS = 2
local ARG_CFG_CAP = 3
local ARG_CFG_WINDOW_S = 4
local ARG_RETENTION_S = 5
local ARG_LEASE_TTL_S = 6
local dk, leases = KEYS[1], KEYS[2]
sweep(leases)
local cap, win = effective(KEYS[3], tonumber(ARGV[ARG_CFG_CAP]), tonumber(ARGV[ARG_CFG_WINDOW_S]))
local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged', 'win', 'wid', 'model')
local res = tonumber(d[2]) or 0
-- A live reservation is charged to the window it was taken in; one already
-- returned (or never made) to the current window, where the money is spent now.
if d[1] == 'reserved' then win = tonumber(d[4]) end
local wid = math.floor(now / (win * 1000))
if d[1] == 'reserved' then wid = tonumber(d[5]) end
local reset_ms = (wid + 1) * win * 1000
if d[1] == 'settled' then
  return {'admitted', 1, 1, res, tonumber(d[3]), 0, 0, 'already settled'}
end
local actual = tonumber(ARGV[ARG_ACTUAL_MICROS])
local model = d[6] or 'unknown'
local detail = 'settled'
if d[1] == 'reserved' then
  unreserve(dk, res, win, wid, model, 'settled', 'settled')
  redis.call('ZREM', leases, dk)
  if actual > res then detail = 'settled above the reservation' end
elseif d[1] then
  detail = 'settled after the reservation was returned (' .. d[1] .. ')'
else
  detail = 'settled without a reservation'
end
local wk = win_key(win, wid)
redis.call('HINCRBY', wk, 'spent', I(actual))
redis.call('HINCRBY', wk, 'spent:' .. model, I(actual))
if d[1] ~= 'reserved' then redis.call('HINCRBY', wk, 'settled', 1) end
redis.call('EXPIRE', wk, I(win * 3 + tonumber(ARGV[ARG_LEASE_TTL_S])))
redis.call('HSET', dk, 'state', 'settled', 'charged', I(actual), 'reserved', I(res),
           'win', I(win), 'wid', I(wid), 'model', model)
redis.call('EXPIRE', dk, ARGV[ARG_RETENTION_S])
return {'admitted', 0, 1, res, actual, 0, reset_ms, detail}
