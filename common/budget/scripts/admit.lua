-- admit.lua — reserves a stage's worst-case price when the tier's window has room and
-- the model's request rate allows it; a replay of a decision answers as before.
--
-- KEYS = decision, leases, override, rate, verdict
-- ARGV = P, model, worst_micros, cfg_cap, cfg_window_s, lease_ttl_s, rate_limit,
--        rate_period_s, retention_s, holder
--
-- holder names the worker process asking. A live lease held by another worker (the job
-- was redelivered to it: a crash, a rebalance) is taken over: that worker sent its
-- request, the provider will bill it, so its worst case is charged (as for an expired
-- lease) and this worker gets a new reservation (gen + 1). The same worker asking again
-- (its earlier answer was lost to a timeout) gets its live reservation back, renewed;
-- the worker itself never asks twice for a key it is rendering (render_stage.c).
-- A job revision whose verdict was given (verdict.lua) answers "decided" for any of its
-- renders, with the verdict as the detail.
-- (the ARG_ names below are budget_args.h's ADMIT_ARG_ positions)

local ARG_MODEL = 2
local ARG_WORST_MICROS = 3
local ARG_CFG_CAP = 4
local ARG_CFG_WINDOW_S = 5
local ARG_LEASE_TTL_S = 6
local ARG_RATE_LIMIT = 7
local ARG_RATE_PERIOD_S = 8
local ARG_RETENTION_S = 9
local ARG_HOLDER = 10
local dk, leases = KEYS[1], KEYS[2]
sweep(leases)
local cap, win = effective(KEYS[3], tonumber(ARGV[ARG_CFG_CAP]), tonumber(ARGV[ARG_CFG_WINDOW_S]))
local wid = math.floor(now / (win * 1000))
local reset_ms = (wid + 1) * win * 1000
local ttl_ms = tonumber(ARGV[ARG_LEASE_TTL_S]) * 1000
local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged', 'exp', 'win', 'wid', 'model', 'gen', 'holder')
local gen = tonumber(d[8]) or 0
local verdict = redis.call('GET', KEYS[5])
if verdict then
  -- The revision's verdict was given (verdict.lua): a replay or redelivery, nothing to do.
  return {'decided', 1, d[1] == 'settled' and 1 or 0, tonumber(d[2]) or 0, tonumber(d[3]) or 0, 0, reset_ms,
          verdict, gen}
end
if d[1] == 'settled' then
  return {'admitted', 1, 1, tonumber(d[2]), tonumber(d[3]), 0, reset_ms, 'already settled', gen}
end
if d[1] == 'reserved' and tonumber(d[4]) > now and d[9] == ARGV[ARG_HOLDER] then
  local exp = now + ttl_ms
  redis.call('HSET', dk, 'exp', I(exp))
  redis.call('ZADD', leases, I(exp), dk)
  return {'admitted', 1, 0, tonumber(d[2]), 0, 0, reset_ms, 'live lease renewed (the same worker)', gen}
end
if d[1] == 'reserved' then
  -- Expired and not yet swept, or live in another worker that got the job before:
  -- either way that worker sent its request and the provider bills it.
  -- Expired and not yet swept: its holder sent the request; the provider billed it.
  expire_charged(dk, tonumber(d[2]), tonumber(d[5]), tonumber(d[6]), d[7], gen > 0 and gen or 1)
  redis.call('ZREM', leases, dk)
end
local replayed = d[1] and 1 or 0
local worst = tonumber(ARGV[ARG_WORST_MICROS])
local wk = win_key(win, wid)
local model = ARGV[ARG_MODEL]
-- One read of the window serves the cap check and the counters written below (nothing
-- in between touches this window), so the admission costs one HSET, not three HINCRBY.
local w = redis.call('HMGET', wk, 'spent', 'reserved', 'reserved:' .. model, 'admitted')
if cap > 0 then
  local used = (tonumber(w[1]) or 0) + (tonumber(w[2]) or 0)
  if used + worst > cap then
    return {'over_cap', replayed, 0, 0, 0, 0, reset_ms,
            'window spent+reserved ' .. I(used) .. ' + worst case ' .. I(worst) ..
            ' micros would exceed cap ' .. I(cap), gen}
  end
end
local limit, period = tonumber(ARGV[ARG_RATE_LIMIT]), tonumber(ARGV[ARG_RATE_PERIOD_S])
if limit > 0 and period > 0 then
  local taken, wait = gcra_take(KEYS[4], limit, period, 0)
  if not taken then
    return {'rate_limited', replayed, 0, 0, 0, math.ceil(wait / 1000),
            reset_ms, 'more than ' .. I(limit) .. ' requests per ' .. I(period) ..
            ' s to ' .. ARGV[ARG_MODEL], gen}
  end
end
local exp = now + ttl_ms
gen = gen + 1 -- a new reservation under this key: the redelivered job's render is a new charge
redis.call('HSET', dk, 'state', 'reserved', 'reserved', I(worst), 'charged', '0',
           'win', I(win), 'wid', I(wid), 'model', model, 'exp', I(exp), 'gen', I(gen),
           'holder', ARGV[ARG_HOLDER])
redis.call('EXPIRE', dk, ARGV[ARG_RETENTION_S])
redis.call('ZADD', leases, I(exp), dk)
redis.call('HSET', wk, 'reserved', I((tonumber(w[2]) or 0) + worst),
           'reserved:' .. model, I((tonumber(w[3]) or 0) + worst), 'admitted', I((tonumber(w[4]) or 0) + 1))
redis.call('EXPIRE', wk, I(win * 3 + tonumber(ARGV[ARG_LEASE_TTL_S])))
return {'admitted', replayed, 0, worst, 0, 0, reset_ms,
        replayed == 1 and 're-reserved under the same key' or 'reserved', gen}
