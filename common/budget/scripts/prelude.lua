-- prelude.lua — the code every budget script starts with, and the data model they share.
-- The build puts this file in front of each script (admit, settle, release, snapshot,
-- reset, rate_slot: one per decision budget.c asks Redis for), so each script sent to
-- Redis is prelude + script.
--
-- Every script runs atomically inside Redis, so N workers deciding at once see one
-- serial history: admission can never overspend, whatever the fleet size.
--
-- Keys (all under one hash tag per tier, so a script touches one Cluster slot):
--   P = "{pressroom:<tier>}"
--   P:d:<job>:<stage>:<attempt>  hash   the decision: state (reserved | settled |
--                                       released | expired), reserved, charged, win
--                                       (window_s), wid, model, exp (lease expiry, ms)
--   P:leases                     zset   decision keys of live reservations, by expiry
--   P:w:<window_s>:<wid>         hash   a window: spent, reserved, spent:<model>,
--                                       reserved:<model>, admitted, settled, released,
--                                       expired (counts)
--   P:override                   hash   cap_micros, window_s set by `pressctl budget set`
--   P:rate:<model>               string GCRA theoretical arrival time, microseconds
--
-- Keys a script derives at run time (the window of the current time, the decisions of
-- expired leases) are not in KEYS; they share the tier's hash tag, hence its slot,
-- which Redis Cluster accepts for EVAL scripts without flags.
--
-- Arguments: ARGV[1] is always the key prefix P (ARG_PREFIX, read here); each script
-- names its other positions at its top (ARG_* locals), and budget_args.h gives the C
-- side the same positions.
--
-- Time: the scripts read the clock with TIME. One clock for the whole fleet is what
-- makes lease expiry and window boundaries agree across pods whose clocks drift.
-- Redis >= 5 replicates scripts by their effects, so a script may call TIME before
-- writing; redis.replicate_commands() makes that explicit for Redis 3.2/4 and is a
-- no-op on Redis 7 (Debian 12).
--
-- Numbers: Redis converts Lua numbers to strings with %.14g, which would turn a
-- microsecond timestamp into "1.7e+15"; every number handed to redis.call goes through
-- I(), which prints it as an integer. Money stays below 2^53 micro-dollars.
--
-- Every script but snapshot returns the same array:
--   {status, replayed, settled, reserved, charged, retry_after_ms, window_reset_ms, detail}
-- with status one of "admitted", "over_cap", "rate_limited" ("admitted" = the
-- decision stands, also for settle and release).
--
-- Shared here: the clock, key helpers, the effective cap and the lazy return of expired
-- leases' reservations.

local ARG_PREFIX = 1
redis.replicate_commands()
local P = ARGV[ARG_PREFIX]
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now = math.floor(now_us / 1000)
local function I(x) return string.format('%d', x) end
local function win_key(win, wid) return P .. ':w:' .. I(win) .. ':' .. I(wid) end
-- GCRA on a model's rate key: a burst of `limit`, then one request per period/limit.
-- Takes the next slot when it starts within horizon_us; returns taken, wait_us.
local function gcra_take(key, limit, period, horizon_us)
  local interval = period * 1000000 / limit
  local tat = tonumber(redis.call('GET', key)) or now_us
  if tat < now_us then tat = now_us end
  local wait = tat + interval - limit * interval - now_us
  if wait < 0 then wait = 0 end
  if wait > horizon_us then return false, wait end
  local new_tat = tat + interval
  redis.call('SET', key, I(new_tat), 'PX', I(math.ceil((new_tat - now_us) / 1000) + 1000))
  return true, wait
end
local function effective(ovk, cfg_cap, cfg_win)
  local o = redis.call('HMGET', ovk, 'cap_micros', 'window_s')
  return tonumber(o[1]) or cfg_cap, tonumber(o[2]) or cfg_win
end
-- Give a reservation back to the window it was taken from; mark the decision.
local function unreserve(dk, res, win, wid, model, state, count)
  local wk = win_key(win, wid)
  if redis.call('EXISTS', wk) == 1 then
    redis.call('HINCRBY', wk, 'reserved', I(-res))
    redis.call('HINCRBY', wk, 'reserved:' .. model, I(-res))
    redis.call('HINCRBY', wk, count, 1)
  end
  redis.call('HSET', dk, 'state', state)
end
-- Leases whose holder died: return their reservations (bounded per call).
local function sweep(leases)
  local due = redis.call('ZRANGEBYSCORE', leases, '-inf', I(now), 'LIMIT', 0, 64)
  for _, dk in ipairs(due) do
    local d = redis.call('HMGET', dk, 'state', 'reserved', 'win', 'wid', 'model', 'exp')
    if d[1] == 'reserved' and tonumber(d[6]) <= now then
      unreserve(dk, tonumber(d[2]), tonumber(d[3]), tonumber(d[4]), d[5], 'expired', 'expired')
    end
    if d[1] ~= 'reserved' or tonumber(d[6]) <= now then
      redis.call('ZREM', leases, dk)
    end
  end
end
