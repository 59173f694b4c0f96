-- prelude.lua — the code every budget script starts with, and the data model they share.
-- The build puts this file in front of each script (admit, settle, release, snapshot,
-- reset, rate_slot, renew, verdict, defer, claim_deferred, finish_deferred: one per
-- decision budget.c asks Redis for), so each script sent to
-- Redis is prelude + script.
--
-- Every script runs atomically inside Redis, so N workers deciding at once see one
-- serial history: admission can never overspend, whatever the fleet size.
--
-- Keys (all under the one hash tag {pressroom}, so every script and batch touches one
-- Cluster slot, on one node):
--   P = "{pressroom}:<tier>"
--   P:d:<job>:<stage>:<attempt>  hash   the decision: state (reserved | settled |
--                                       released | expired), reserved, charged, win
--                                       (window_s), wid, model, exp (lease expiry, ms),
--                                       gen (which reservation: 1, 2, ... per key)
--   P:d:<...>:x:<gen>            hash   a lease that expired unsettled: its worst case,
--                                       charged (charged, win, wid, model, reconciled)
--   P:leases                     zset   decision keys of live reservations, by expiry
--   P:w:<window_s>:<wid>         hash   a window: spent, reserved, spent:<model>,
--                                       reserved:<model>, charged_unsettled (worst cases
--                                       of expired leases not yet reconciled), admitted,
--                                       settled, released, expired, late_settles (counts)
--   P:override                   hash   cap_micros, window_s set by `pressctl budget set`
--   {pressroom}:rate:<model>     string GCRA theoretical arrival time, microseconds (one
--                                       per model, whichever tier asks: the provider's)
--   {pressroom}:v:<job>@<rev>    string the revision's verdict, once given (verdict.lua)
--   P:deferred                   zset   deferred jobs (id = <job>:<stage>:<attempt>) by
--                                       due time (defer.lua, claim_deferred.lua)
--   P:deferred:claimed           zset   deferred jobs handed back to a worker, by claim
--                                       expiry (finish_deferred.lua forgets them)
--   P:deferred:body              hash   id -> "<topic>\n<key>\n<message bytes>"
--
-- Keys a script derives at run time (the window of the current time, the decisions of
-- expired leases) are not in KEYS; they share the hash tag, hence the slot,
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
-- Leases: a reservation is held while its render runs; the worker renews the leases of
-- its requests in flight (renew.lua). A lease that expires unsettled belonged to a
-- worker that vanished after sending its request: the provider billed it, so its worst
-- case is CHARGED (spent and charged_unsettled), never returned. A late settle or
-- release of that reservation (the worker was alive after all) reconciles the charge
-- to the actual price, once. So Redis's spend is never below the providers' bill.
--
-- Every script but snapshot and renew returns the same array:
--   {status, replayed, settled, reserved, charged, retry_after_ms, window_reset_ms, detail,
--    gen}
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
-- Adds deltas[i] to the integer field fields[i] of hash key (a missing field counts as
-- 0): one HMGET and one HSET whatever the number of fields, where one HINCRBY each
-- would cost a command each. The script is atomic, so read-then-write is exact; the
-- values are integers below 2^53 (see Numbers above). Returns nothing.
local function hincr(key, fields, deltas)
  local cur = redis.call('HMGET', key, unpack(fields))
  local args = {}
  for i, f in ipairs(fields) do
    args[2 * i - 1] = f
    args[2 * i] = I((tonumber(cur[i]) or 0) + deltas[i])
  end
  redis.call('HSET', key, unpack(args))
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
-- A lease expired unsettled: its holder sent the request and vanished, so the worst
-- case is charged to the reservation's window and recorded for a later reconcile.
local EXPIRED_RETENTION_S = 7 * 86400
local function expire_charged(dk, res, win, wid, model, gen)
  local wk = win_key(win, wid)
  redis.call('HINCRBY', wk, 'reserved', I(-res))
  redis.call('HINCRBY', wk, 'reserved:' .. model, I(-res))
  redis.call('HINCRBY', wk, 'spent', I(res))
  redis.call('HINCRBY', wk, 'spent:' .. model, I(res))
  redis.call('HINCRBY', wk, 'charged_unsettled', I(res))
  redis.call('HINCRBY', wk, 'expired', 1)
  redis.call('EXPIRE', wk, I(win * 3 + 3600))
  local xk = dk .. ':x:' .. I(gen)
  redis.call('HSET', xk, 'charged', I(res), 'win', I(win), 'wid', I(wid), 'model', model, 'reconciled', '0')
  redis.call('EXPIRE', xk, I(EXPIRED_RETENTION_S))
  redis.call('HSET', dk, 'state', 'expired')
end
-- Reconciles an expired lease's worst-case charge to what the render really cost
-- (actual = 0: it failed, nothing billed). Returns true when it did, false when there is
-- no such record or it was reconciled already.
local function reconcile(dk, gen, actual)
  local xk = dk .. ':x:' .. I(gen)
  local x = redis.call('HMGET', xk, 'charged', 'win', 'wid', 'model', 'reconciled')
  if not x[1] or x[5] == '1' then return false end
  local charged = tonumber(x[1])
  local wk = win_key(tonumber(x[2]), tonumber(x[3]))
  redis.call('HINCRBY', wk, 'spent', I(actual - charged))
  redis.call('HINCRBY', wk, 'spent:' .. x[4], I(actual - charged))
  redis.call('HINCRBY', wk, 'charged_unsettled', I(-charged))
  redis.call('HINCRBY', wk, 'late_settles', 1)
  redis.call('HSET', xk, 'reconciled', '1', 'actual', I(actual))
  return true
end
-- Leases whose holder died: charge their worst cases (bounded per call).
local function sweep(leases)
  local due = redis.call('ZRANGEBYSCORE', leases, '-inf', I(now), 'LIMIT', 0, 64)
  for _, dk in ipairs(due) do
    local d = redis.call('HMGET', dk, 'state', 'reserved', 'win', 'wid', 'model', 'exp', 'gen')
    if d[1] == 'reserved' and tonumber(d[6]) <= now then
      expire_charged(dk, tonumber(d[2]), tonumber(d[3]), tonumber(d[4]), d[5], tonumber(d[7]) or 1)
    end
    if d[1] ~= 'reserved' or tonumber(d[6]) <= now then
      redis.call('ZREM', leases, dk)
    end
  end
end
