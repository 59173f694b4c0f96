-- claim_deferred.lua — hands deferred jobs back to a worker, oldest first: those that are
-- due, and as many more as the tier's window has room for (a cap an operator raised, a
-- window that turned), at most max. A claimed job is leased to the claimer for
-- claim_ttl_s: it publishes the message back to its topic and then finishes it
-- (finish_deferred.lua); a claim that expires (the worker died) is claimable again, so a
-- deferred job is never lost (at worst published twice, which revisions deduplicate).
--
-- KEYS = waiting, claimed, bodies, override
-- ARGV = P, worst_micros, cfg_cap, cfg_window_s, max, claim_ttl_s
-- (the ARG_ names below are budget_args.h's CLAIM_ARG_ positions)
--
-- Returns {waiting_count, id1, body1, id2, body2, ...}.
local ARG_WORST_MICROS = 2
local ARG_CFG_CAP = 3
local ARG_CFG_WINDOW_S = 4
local ARG_MAX = 5
local ARG_CLAIM_TTL_S = 6
local waiting, claimed, bodies = KEYS[1], KEYS[2], KEYS[3]
-- Claims that expired go back to the front of the line.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', claimed, '-inf', I(now), 'LIMIT', 0, 256)) do
  redis.call('ZREM', claimed, id)
  redis.call('ZADD', waiting, I(now), id)
end
local max = tonumber(ARGV[ARG_MAX])
local cap, win = effective(KEYS[4], tonumber(ARGV[ARG_CFG_CAP]), tonumber(ARGV[ARG_CFG_WINDOW_S]))
local room = max
if cap > 0 then
  local w = redis.call('HMGET', win_key(win, math.floor(now / (win * 1000))), 'spent', 'reserved')
  local used = (tonumber(w[1]) or 0) + (tonumber(w[2]) or 0)
  local worst = math.max(tonumber(ARGV[ARG_WORST_MICROS]), 1)
  -- Jobs claimed and not yet admitted will take room too.
  room = math.floor((cap - used) / worst) - redis.call('ZCARD', claimed)
end
local ids = redis.call('ZRANGEBYSCORE', waiting, '-inf', I(now), 'LIMIT', 0, max)
if room > #ids then
  ids = redis.call('ZRANGE', waiting, 0, math.min(room, max) - 1)
end
local out = {0}
local exp = now + tonumber(ARGV[ARG_CLAIM_TTL_S]) * 1000
for _, id in ipairs(ids) do
  redis.call('ZREM', waiting, id)
  local body = redis.call('HGET', bodies, id)
  if body then
    redis.call('ZADD', claimed, I(exp), id)
    out[#out + 1] = id
    out[#out + 1] = body
  end
end
out[1] = redis.call('ZCARD', waiting)
return out
