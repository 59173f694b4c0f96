-- verdict.lua — records on a decision that its job revision has its terminal verdict, so
-- a replay or redelivery that asks admit under this key ends without a render and without
-- a second verdict (admit answers "decided"). A decision Redis no longer remembers (its
-- retention passed) is not recreated: the job is then simply new.
--
-- KEYS = decision
-- ARGV = P, verdict ("accepted" | "degraded" | "rejected")
-- (the ARG_ names below are budget_args.h's VERDICT_ARG_ positions)
local ARG_VERDICT = 2
local dk = KEYS[1]
if redis.call('EXISTS', dk) == 0 then
  return {'admitted', 0, 0, 0, 0, 0, 0, 'no decision to record the verdict on', 0}
end
redis.call('HSET', dk, 'verdict', ARGV[ARG_VERDICT])
return {'admitted', 1, 0, 0, 0, 0, 0, 'verdict recorded', tonumber(redis.call('HGET', dk, 'gen')) or 0}
