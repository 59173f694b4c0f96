-- rate_slot.lua — the next request slot of a model, for retries and fallbacks, which
-- admission did not cover: "admitted" with retry_after_ms = when the slot starts
-- (0 = now), or "rate_limited" with when to ask again when the next free slot is
-- beyond the horizon (nothing taken then).
--
-- KEYS = rate
-- ARGV = P, model, rate_limit, rate_period_s, horizon_ms
-- (the ARG_ names below are budget_args.h's RATE_SLOT_ARG_ positions)

local ARG_MODEL = 2
local ARG_RATE_LIMIT = 3
local ARG_RATE_PERIOD_S = 4
local ARG_HORIZON_MS = 5
local limit, period = tonumber(ARGV[ARG_RATE_LIMIT]), tonumber(ARGV[ARG_RATE_PERIOD_S])
local taken, wait = gcra_take(KEYS[1], limit, period, tonumber(ARGV[ARG_HORIZON_MS]) * 1000)
return {taken and 'admitted' or 'rate_limited', 0, 0, 0, 0, math.ceil(wait / 1000), 0,
        (taken and 'slot in ' or 'no slot within the horizon; next in ') ..
        I(math.ceil(wait / 1000)) .. ' ms for ' .. ARGV[ARG_MODEL], 0}
