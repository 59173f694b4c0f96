-- snapshot.lua — a tier's current window (budget_snapshot, behind `pressctl budget show`).
--
-- KEYS = leases, override, deferred
-- ARGV = P, cfg_cap, cfg_window_s
-- (the ARG_ names below are budget_args.h's SNAPSHOT_ARG_ positions)
--
-- Returns {cap, window_s, wid, reset_ms, in_flight, overridden, now_ms, {window hash},
-- deferred}
-- rather than the decision array.

local ARG_CFG_CAP = 2
local ARG_CFG_WINDOW_S = 3
sweep(KEYS[1])
local cap, win = effective(KEYS[2], tonumber(ARGV[ARG_CFG_CAP]), tonumber(ARGV[ARG_CFG_WINDOW_S]))
local wid = math.floor(now / (win * 1000))
local inflight = redis.call('ZCOUNT', KEYS[1], '(' .. I(now), '+inf')
return {cap, win, wid, (wid + 1) * win * 1000, inflight,
        redis.call('EXISTS', KEYS[2]), now, redis.call('HGETALL', win_key(win, wid)),
        redis.call('ZCARD', KEYS[3])}
