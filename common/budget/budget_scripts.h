/* budget_scripts.h — the Lua scripts behind budget.c, one per decision.
 *
 * Every script runs atomically inside Redis, so N workers deciding at once see one
 * serial history: admission can never overspend, whatever the fleet size.
 *
 * Keys (all under one hash tag per tier, so a script touches one Cluster slot):
 *   P = "{pressroom:<tier>}"
 *   P:d:<job>:<stage>:<attempt>  hash   the decision: state (reserved | settled |
 *                                       released | expired), reserved, charged, win
 *                                       (window_s), wid, model, exp (lease expiry, ms)
 *   P:leases                     zset   decision keys of live reservations, by expiry
 *   P:w:<window_s>:<wid>         hash   a window: spent, reserved, spent:<model>,
 *                                       reserved:<model>, admitted, settled, released,
 *                                       expired (counts)
 *   P:override                   hash   cap_micros, window_s set by `pressctl budget set`
 *   P:rate:<model>               string GCRA theoretical arrival time, microseconds
 *
 * Keys a script derives at run time (the window of the current time, the decisions of
 * expired leases) are not in KEYS; they share the tier's hash tag, hence its slot,
 * which Redis Cluster accepts for EVAL scripts without flags.
 *
 * Time: the scripts read the clock with TIME. One clock for the whole fleet is what
 * makes lease expiry and window boundaries agree across pods whose clocks drift.
 * Redis >= 5 replicates scripts by their effects, so a script may call TIME before
 * writing; redis.replicate_commands() makes that explicit for Redis 3.2/4 and is a
 * no-op on Redis 7 (Debian 12).
 *
 * Numbers: Redis converts Lua numbers to strings with %.14g, which would turn a
 * microsecond timestamp into "1.7e+15"; every number handed to redis.call goes through
 * I(), which prints it as an integer. Money stays below 2^53 micro-dollars.
 *
 * Every script returns the same array:
 *   {status, replayed, settled, reserved, charged, retry_after_ms, window_reset_ms, detail}
 * with status one of "admitted", "over_cap", "rate_limited" ("admitted" = the
 * decision stands, also for settle and release). */
#ifndef PRESSROOM_BUDGET_SCRIPTS_H
#define PRESSROOM_BUDGET_SCRIPTS_H

/* Shared by every script: the clock, key helpers, the effective cap and the lazy
 * return of expired leases' reservations. ARGV[1] is always the key prefix P. */
#define BUDGET_LUA_PRELUDE                                                                  \
    "redis.replicate_commands()\n"                                                          \
    "local P = ARGV[1]\n"                                                                   \
    "local t = redis.call('TIME')\n"                                                        \
    "local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"                            \
    "local now = math.floor(now_us / 1000)\n"                                               \
    "local function I(x) return string.format('%d', x) end\n"                               \
    "local function win_key(win, wid) return P .. ':w:' .. I(win) .. ':' .. I(wid) end\n"   \
    "-- GCRA on a model's rate key: a burst of `limit`, then one request per period/limit.\n" \
    "-- Takes the next slot when it starts within horizon_us; returns taken, wait_us.\n"     \
    "local function gcra_take(key, limit, period, horizon_us)\n"                              \
    "  local interval = period * 1000000 / limit\n"                                          \
    "  local tat = tonumber(redis.call('GET', key)) or now_us\n"                             \
    "  if tat < now_us then tat = now_us end\n"                                              \
    "  local wait = tat + interval - limit * interval - now_us\n"                            \
    "  if wait < 0 then wait = 0 end\n"                                                      \
    "  if wait > horizon_us then return false, wait end\n"                                   \
    "  local new_tat = tat + interval\n"                                                     \
    "  redis.call('SET', key, I(new_tat), 'PX', I(math.ceil((new_tat - now_us) / 1000) + 1000))\n" \
    "  return true, wait\n"                                                                  \
    "end\n"                                                                                  \
    "local function effective(ovk, cfg_cap, cfg_win)\n"                                     \
    "  local o = redis.call('HMGET', ovk, 'cap_micros', 'window_s')\n"                      \
    "  return tonumber(o[1]) or cfg_cap, tonumber(o[2]) or cfg_win\n"                       \
    "end\n"                                                                                 \
    "-- Give a reservation back to the window it was taken from; mark the decision.\n"      \
    "local function unreserve(dk, res, win, wid, model, state, count)\n"                    \
    "  local wk = win_key(win, wid)\n"                                                      \
    "  if redis.call('EXISTS', wk) == 1 then\n"                                             \
    "    redis.call('HINCRBY', wk, 'reserved', I(-res))\n"                                  \
    "    redis.call('HINCRBY', wk, 'reserved:' .. model, I(-res))\n"                        \
    "    redis.call('HINCRBY', wk, count, 1)\n"                                             \
    "  end\n"                                                                               \
    "  redis.call('HSET', dk, 'state', state)\n"                                            \
    "end\n"                                                                                 \
    "-- Leases whose holder died: return their reservations (bounded per call).\n"          \
    "local function sweep(leases)\n"                                                        \
    "  local due = redis.call('ZRANGEBYSCORE', leases, '-inf', I(now), 'LIMIT', 0, 64)\n"   \
    "  for _, dk in ipairs(due) do\n"                                                       \
    "    local d = redis.call('HMGET', dk, 'state', 'reserved', 'win', 'wid', 'model', 'exp')\n" \
    "    if d[1] == 'reserved' and tonumber(d[6]) <= now then\n"                            \
    "      unreserve(dk, tonumber(d[2]), tonumber(d[3]), tonumber(d[4]), d[5], 'expired', 'expired')\n" \
    "    end\n"                                                                             \
    "    if d[1] ~= 'reserved' or tonumber(d[6]) <= now then\n"                             \
    "      redis.call('ZREM', leases, dk)\n"                                                \
    "    end\n"                                                                             \
    "  end\n"                                                                               \
    "end\n"

/* admit: KEYS = decision, leases, override, rate
 * ARGV = P, model, worst_micros, cfg_cap, cfg_window_s, lease_ttl_s, rate_limit,
 *        rate_period_s, retention_s */
static const char BUDGET_LUA_ADMIT[] = BUDGET_LUA_PRELUDE
    "local dk, leases = KEYS[1], KEYS[2]\n"
    "sweep(leases)\n"
    "local cap, win = effective(KEYS[3], tonumber(ARGV[4]), tonumber(ARGV[5]))\n"
    "local wid = math.floor(now / (win * 1000))\n"
    "local reset_ms = (wid + 1) * win * 1000\n"
    "local ttl_ms = tonumber(ARGV[6]) * 1000\n"
    "local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged', 'exp', 'win', 'wid', 'model')\n"
    "if d[1] == 'settled' then\n"
    "  return {'admitted', 1, 1, tonumber(d[2]), tonumber(d[3]), 0, reset_ms, 'already settled'}\n"
    "end\n"
    "if d[1] == 'reserved' and tonumber(d[4]) > now then\n"
    "  -- A redelivery while the lease lives: the same reservation, lease renewed for\n"
    "  -- whoever holds the message now.\n"
    "  local exp = now + ttl_ms\n"
    "  redis.call('HSET', dk, 'exp', I(exp))\n"
    "  redis.call('ZADD', leases, I(exp), dk)\n"
    "  return {'admitted', 1, 0, tonumber(d[2]), 0, 0, reset_ms, 'live lease renewed'}\n"
    "end\n"
    "if d[1] == 'reserved' then\n"
    "  unreserve(dk, tonumber(d[2]), tonumber(d[5]), tonumber(d[6]), d[7], 'expired', 'expired')\n"
    "  redis.call('ZREM', leases, dk)\n"
    "end\n"
    "local replayed = d[1] and 1 or 0\n"
    "local worst = tonumber(ARGV[3])\n"
    "local wk = win_key(win, wid)\n"
    "if cap > 0 then\n"
    "  local w = redis.call('HMGET', wk, 'spent', 'reserved')\n"
    "  local used = (tonumber(w[1]) or 0) + (tonumber(w[2]) or 0)\n"
    "  if used + worst > cap then\n"
    "    return {'over_cap', replayed, 0, 0, 0, 0, reset_ms,\n"
    "            'window spent+reserved ' .. I(used) .. ' + worst case ' .. I(worst) ..\n"
    "            ' micros would exceed cap ' .. I(cap)}\n"
    "  end\n"
    "end\n"
    "local limit, period = tonumber(ARGV[7]), tonumber(ARGV[8])\n"
    "if limit > 0 and period > 0 then\n"
    "  local taken, wait = gcra_take(KEYS[4], limit, period, 0)\n"
    "  if not taken then\n"
    "    return {'rate_limited', replayed, 0, 0, 0, math.ceil(wait / 1000),\n"
    "            reset_ms, 'more than ' .. I(limit) .. ' requests per ' .. I(period) ..\n"
    "            ' s to ' .. ARGV[2]}\n"
    "  end\n"
    "end\n"
    "local exp = now + ttl_ms\n"
    "local model = ARGV[2]\n"
    "redis.call('HSET', dk, 'state', 'reserved', 'reserved', I(worst), 'charged', '0',\n"
    "           'win', I(win), 'wid', I(wid), 'model', model, 'exp', I(exp))\n"
    "redis.call('EXPIRE', dk, ARGV[9])\n"
    "redis.call('ZADD', leases, I(exp), dk)\n"
    "redis.call('HINCRBY', wk, 'reserved', I(worst))\n"
    "redis.call('HINCRBY', wk, 'reserved:' .. model, I(worst))\n"
    "redis.call('HINCRBY', wk, 'admitted', 1)\n"
    "redis.call('EXPIRE', wk, I(win * 3 + tonumber(ARGV[6])))\n"
    "return {'admitted', replayed, 0, worst, 0, 0, reset_ms,\n"
    "        replayed == 1 and 're-reserved under the same key' or 'reserved'}\n";

/* settle: KEYS = decision, leases, override
 * ARGV = P, actual_micros, cfg_cap, cfg_window_s, retention_s, lease_ttl_s
 * Charges exactly once per decision key. A settle whose reservation was already
 * returned (lease expired, released, reset) or never made still charges: the money
 * was spent, and losing it would be worse than exceeding the cap. */
static const char BUDGET_LUA_SETTLE[] = BUDGET_LUA_PRELUDE
    "local dk, leases = KEYS[1], KEYS[2]\n"
    "sweep(leases)\n"
    "local cap, win = effective(KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4]))\n"
    "local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged', 'win', 'wid', 'model')\n"
    "local res = tonumber(d[2]) or 0\n"
    "-- A live reservation is charged to the window it was taken in; one already\n"
    "-- returned (or never made) to the current window, where the money is spent now.\n"
    "if d[1] == 'reserved' then win = tonumber(d[4]) end\n"
    "local wid = math.floor(now / (win * 1000))\n"
    "if d[1] == 'reserved' then wid = tonumber(d[5]) end\n"
    "local reset_ms = (wid + 1) * win * 1000\n"
    "if d[1] == 'settled' then\n"
    "  return {'admitted', 1, 1, res, tonumber(d[3]), 0, 0, 'already settled'}\n"
    "end\n"
    "local actual = tonumber(ARGV[2])\n"
    "local model = d[6] or 'unknown'\n"
    "local detail = 'settled'\n"
    "if d[1] == 'reserved' then\n"
    "  unreserve(dk, res, win, wid, model, 'settled', 'settled')\n"
    "  redis.call('ZREM', leases, dk)\n"
    "  if actual > res then detail = 'settled above the reservation' end\n"
    "elseif d[1] then\n"
    "  detail = 'settled after the reservation was returned (' .. d[1] .. ')'\n"
    "else\n"
    "  detail = 'settled without a reservation'\n"
    "end\n"
    "local wk = win_key(win, wid)\n"
    "redis.call('HINCRBY', wk, 'spent', I(actual))\n"
    "redis.call('HINCRBY', wk, 'spent:' .. model, I(actual))\n"
    "if d[1] ~= 'reserved' then redis.call('HINCRBY', wk, 'settled', 1) end\n"
    "redis.call('EXPIRE', wk, I(win * 3 + tonumber(ARGV[6])))\n"
    "redis.call('HSET', dk, 'state', 'settled', 'charged', I(actual), 'reserved', I(res),\n"
    "           'win', I(win), 'wid', I(wid), 'model', model)\n"
    "redis.call('EXPIRE', dk, ARGV[5])\n"
    "return {'admitted', 0, 1, res, actual, 0, reset_ms, detail}\n";

/* release: KEYS = decision, leases
 * ARGV = P
 * Returns a live reservation (the render failed, nothing to charge). A settled
 * decision stays settled. */
static const char BUDGET_LUA_RELEASE[] = BUDGET_LUA_PRELUDE
    "local dk, leases = KEYS[1], KEYS[2]\n"
    "sweep(leases)\n"
    "local d = redis.call('HMGET', dk, 'state', 'reserved', 'charged', 'win', 'wid', 'model')\n"
    "if not d[1] then return {'admitted', 0, 0, 0, 0, 0, 0, 'no reservation to release'} end\n"
    "local res = tonumber(d[2]) or 0\n"
    "if d[1] == 'settled' then\n"
    "  return {'admitted', 1, 1, res, tonumber(d[3]), 0, 0, 'already settled; not released'}\n"
    "end\n"
    "if d[1] == 'reserved' then\n"
    "  unreserve(dk, res, tonumber(d[4]), tonumber(d[5]), d[6], 'released', 'released')\n"
    "  redis.call('ZREM', leases, dk)\n"
    "  return {'admitted', 0, 0, res, 0, 0, 0, 'released'}\n"
    "end\n"
    "return {'admitted', 1, 0, res, 0, 0, 0, 'already ' .. d[1]}\n";

/* snapshot: KEYS = leases, override
 * ARGV = P, cfg_cap, cfg_window_s
 * Returns {cap, window_s, wid, reset_ms, in_flight, overridden, now_ms, {window hash}}. */
static const char BUDGET_LUA_SNAPSHOT[] = BUDGET_LUA_PRELUDE
    "sweep(KEYS[1])\n"
    "local cap, win = effective(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]))\n"
    "local wid = math.floor(now / (win * 1000))\n"
    "local inflight = redis.call('ZCOUNT', KEYS[1], '(' .. I(now), '+inf')\n"
    "return {cap, win, wid, (wid + 1) * win * 1000, inflight,\n"
    "        redis.call('EXISTS', KEYS[2]), now, redis.call('HGETALL', win_key(win, wid))}\n";

/* reset: KEYS = leases, override
 * ARGV = P, cfg_window_s
 * Forgets the current window's spend and every live reservation (their decisions
 * become "released": a later settle still charges, a later admit re-reserves), and
 * drops the override. */
static const char BUDGET_LUA_RESET[] = BUDGET_LUA_PRELUDE
    "local cap, win = effective(KEYS[2], 0, tonumber(ARGV[2]))\n"
    "local wid = math.floor(now / (win * 1000))\n"
    "local live = redis.call('ZRANGE', KEYS[1], 0, -1)\n"
    "for _, dk in ipairs(live) do\n"
    "  local d = redis.call('HMGET', dk, 'state', 'reserved', 'win', 'wid', 'model')\n"
    "  if d[1] == 'reserved' then\n"
    "    unreserve(dk, tonumber(d[2]), tonumber(d[3]), tonumber(d[4]), d[5], 'released', 'released')\n"
    "  end\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[2], win_key(win, wid))\n"
    "return {'admitted', 0, 0, 0, 0, 0, (wid + 1) * win * 1000, 'reset ' .. #live .. ' leases'}\n";

/* rate slot: KEYS = rate
 * ARGV = P, model, rate_limit, rate_period_s, horizon_ms
 * The next request slot of a model (retries and fallbacks, which admission did not
 * cover): "admitted" with retry_after_ms = when the slot starts (0 = now), or
 * "rate_limited" with when to ask again when the next free slot is beyond the
 * horizon (nothing taken then). */
static const char BUDGET_LUA_RATE_SLOT[] = BUDGET_LUA_PRELUDE
    "local limit, period = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local taken, wait = gcra_take(KEYS[1], limit, period, tonumber(ARGV[5]) * 1000)\n"
    "return {taken and 'admitted' or 'rate_limited', 0, 0, 0, 0, math.ceil(wait / 1000), 0,\n"
    "        (taken and 'slot in ' or 'no slot within the horizon; next in ') ..\n"
    "        I(math.ceil(wait / 1000)) .. ' ms for ' .. ARGV[2]}\n";

#endif
