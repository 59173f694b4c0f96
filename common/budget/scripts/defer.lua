-- defer.lua — holds a job of a deferring class that is over its tier's cap, so the
-- partition it came from flows on: the message (its topic, key and bytes) waits here
-- until its due time (the window's turn) or until the tier has room again, whichever
-- comes first (claim_deferred.lua), then goes back to its topic. Deferring the same id
-- again (a redelivered copy) replaces it: one entry per render decision.
--
-- KEYS = waiting (zset id -> due ms), claimed (zset id -> claim expiry), bodies (hash)
-- ARGV = P, id, due_ms, body ("<topic>\n<key>\n<payload>")
-- (the ARG_ names below are budget_args.h's DEFER_ARG_ positions)
local ARG_ID = 2
local ARG_DUE_MS = 3
local ARG_BODY = 4
local id = ARGV[ARG_ID]
redis.call('ZREM', KEYS[2], id)
redis.call('ZADD', KEYS[1], ARGV[ARG_DUE_MS], id)
redis.call('HSET', KEYS[3], id, ARGV[ARG_BODY])
return redis.call('ZCARD', KEYS[1])
