-- finish_deferred.lua — a claimed deferred job is back on its topic (the broker
-- acknowledged it): forget it. Only the claim is removed; an id deferred again meanwhile
-- (a new copy of the job, over the cap again) stays waiting.
--
-- KEYS = waiting, claimed, bodies
-- ARGV = P, id
-- (the ARG_ names below are budget_args.h's FINISH_ARG_ positions)
local ARG_ID = 2
local id = ARGV[ARG_ID]
if redis.call('ZREM', KEYS[2], id) == 1 and not redis.call('ZSCORE', KEYS[1], id) then
  redis.call('HDEL', KEYS[3], id)
end
return 1
