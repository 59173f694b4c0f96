-- verdict.lua — records that a job revision has its terminal verdict, so a replay or
-- redelivery that asks admit for any of its renders, in any tier or lane, ends without a
-- render and without a second verdict (admit answers "decided"). Kept as long as the
-- decisions (retention_s): a replay after that is a new job.
--
-- KEYS = verdict ({pressroom}:v:<job>@<revision>)
-- ARGV = P, verdict ("accepted" | "degraded" | "rejected"), retention_s
-- (the ARG_ names below are budget_args.h's VERDICT_ARG_ positions)
local ARG_VERDICT = 2
local ARG_RETENTION_S = 3
redis.call('SET', KEYS[1], ARGV[ARG_VERDICT], 'EX', ARGV[ARG_RETENTION_S])
return {'admitted', 0, 0, 0, 0, 0, 0, 'verdict recorded', 0}
