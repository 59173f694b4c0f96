-- reset.lua — `pressctl budget reset`: forgets the current window's spend and every
-- live reservation (their decisions become "released": a later settle still charges, a
-- later admit re-reserves), and drops the override.
--
-- KEYS = leases, override
-- ARGV = P, cfg_window_s
-- (the ARG_ names below are budget_args.h's RESET_ARG_ positions)

local ARG_CFG_WINDOW_S = 2
local cap, win = effective(KEYS[2], 0, tonumber(ARGV[ARG_CFG_WINDOW_S]))
local wid = math.floor(now / (win * 1000))
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, dk in ipairs(live) do
  local d = redis.call('HMGET', dk, 'state', 'reserved', 'win', 'wid', 'model')
  if d[1] == 'reserved' then
    unreserve(dk, tonumber(d[2]), tonumber(d[3]), tonumber(d[4]), d[5], 'released', 'released')
  end
end
redis.call('DEL', KEYS[1], KEYS[2], win_key(win, wid))
return {'admitted', 0, 0, 0, 0, 0, (wid + 1) * win * 1000, 'reset ' .. #live .. ' leases', 0}
