/* budget_args.h — private to budget.c: where each budget script (scripts/<name>.lua)
 * finds its KEYS and ARGV.
 *
 * Positions are Lua's, 1-based: FOO_KEY_X is KEYS[FOO_KEY_X] and FOO_ARG_X is
 * ARGV[FOO_ARG_X] in scripts/foo.lua, whose ARG_X locals carry the same numbers.
 * ARGV[1] is always the key prefix P, which the prelude reads. FOO_NKEYS and FOO_ARGC
 * are the counts.
 *
 * budget.c hands EVALSHA one array, the keys followed by the arguments; KEY_AT and
 * ARG_AT give a position's index in that array. */
#ifndef PRESSROOM_BUDGET_ARGS_H
#define PRESSROOM_BUDGET_ARGS_H

#define KEY_AT(key) ((key) - 1)
#define ARG_AT(nkeys, arg) ((nkeys) + (arg) - 1)

/* admit.lua */
enum {
    ADMIT_KEY_DECISION = 1,
    ADMIT_KEY_LEASES,
    ADMIT_KEY_OVERRIDE,
    ADMIT_KEY_RATE,
    ADMIT_KEY_VERDICT,
    ADMIT_NKEYS = ADMIT_KEY_VERDICT,
};
enum {
    ADMIT_ARG_PREFIX = 1,
    ADMIT_ARG_MODEL,
    ADMIT_ARG_WORST_MICROS,
    ADMIT_ARG_CFG_CAP,
    ADMIT_ARG_CFG_WINDOW_S,
    ADMIT_ARG_LEASE_TTL_S,
    ADMIT_ARG_RATE_LIMIT,
    ADMIT_ARG_RATE_PERIOD_S,
    ADMIT_ARG_RETENTION_S,
    ADMIT_ARG_HOLDER,
    ADMIT_ARGC = ADMIT_ARG_HOLDER,
};

/* settle.lua */
enum {
    SETTLE_KEY_DECISION = 1,
    SETTLE_KEY_LEASES,
    SETTLE_KEY_OVERRIDE,
    SETTLE_NKEYS = SETTLE_KEY_OVERRIDE,
};
enum {
    SETTLE_ARG_PREFIX = 1,
    SETTLE_ARG_ACTUAL_MICROS,
    SETTLE_ARG_CFG_CAP,
    SETTLE_ARG_CFG_WINDOW_S,
    SETTLE_ARG_RETENTION_S,
    SETTLE_ARG_LEASE_TTL_S,
    SETTLE_ARG_GEN,
    SETTLE_ARGC = SETTLE_ARG_GEN,
};

/* verdict.lua */
enum {
    VERDICT_KEY_VERDICT = 1,
    VERDICT_NKEYS = VERDICT_KEY_VERDICT,
};
enum {
    VERDICT_ARG_PREFIX = 1,
    VERDICT_ARG_VERDICT,
    VERDICT_ARG_RETENTION_S,
    VERDICT_ARGC = VERDICT_ARG_RETENTION_S,
};

/* defer.lua, claim_deferred.lua, finish_deferred.lua: the same first three keys */
enum {
    DEFERRED_KEY_WAITING = 1,
    DEFERRED_KEY_CLAIMED,
    DEFERRED_KEY_BODIES,
    DEFERRED_KEY_OVERRIDE, /* claim_deferred only */
    DEFER_NKEYS = DEFERRED_KEY_BODIES,
    CLAIM_NKEYS = DEFERRED_KEY_OVERRIDE,
    FINISH_NKEYS = DEFERRED_KEY_BODIES,
};
enum {
    DEFER_ARG_PREFIX = 1,
    DEFER_ARG_ID,
    DEFER_ARG_DUE_MS,
    DEFER_ARG_BODY,
    DEFER_ARGC = DEFER_ARG_BODY,
};
enum {
    CLAIM_ARG_PREFIX = 1,
    CLAIM_ARG_WORST_MICROS,
    CLAIM_ARG_CFG_CAP,
    CLAIM_ARG_CFG_WINDOW_S,
    CLAIM_ARG_MAX,
    CLAIM_ARG_CLAIM_TTL_S,
    CLAIM_ARGC = CLAIM_ARG_CLAIM_TTL_S,
};
enum {
    FINISH_ARG_PREFIX = 1,
    FINISH_ARG_ID,
    FINISH_ARGC = FINISH_ARG_ID,
};

/* release.lua */
enum {
    RELEASE_KEY_DECISION = 1,
    RELEASE_KEY_LEASES,
    RELEASE_NKEYS = RELEASE_KEY_LEASES,
};
enum {
    RELEASE_ARG_PREFIX = 1,
    RELEASE_ARG_GEN,
    RELEASE_ARGC = RELEASE_ARG_GEN,
};

/* renew.lua: KEYS = leases then one decision per lease; ARGV = P, ttl, one gen per lease */
enum {
    RENEW_KEY_LEASES = 1,
    RENEW_KEY_FIRST_DECISION,
};
enum {
    RENEW_ARG_PREFIX = 1,
    RENEW_ARG_LEASE_TTL_S,
    RENEW_ARG_FIRST_GEN,
};

/* snapshot.lua */
enum {
    SNAPSHOT_KEY_LEASES = 1,
    SNAPSHOT_KEY_OVERRIDE,
    SNAPSHOT_KEY_DEFERRED,
    SNAPSHOT_NKEYS = SNAPSHOT_KEY_DEFERRED,
};
enum {
    SNAPSHOT_ARG_PREFIX = 1,
    SNAPSHOT_ARG_CFG_CAP,
    SNAPSHOT_ARG_CFG_WINDOW_S,
    SNAPSHOT_ARGC = SNAPSHOT_ARG_CFG_WINDOW_S,
};

/* reset.lua */
enum {
    RESET_KEY_LEASES = 1,
    RESET_KEY_OVERRIDE,
    RESET_NKEYS = RESET_KEY_OVERRIDE,
};
enum {
    RESET_ARG_PREFIX = 1,
    RESET_ARG_CFG_WINDOW_S,
    RESET_ARGC = RESET_ARG_CFG_WINDOW_S,
};

/* rate_slot.lua */
enum {
    RATE_SLOT_KEY_RATE = 1,
    RATE_SLOT_NKEYS = RATE_SLOT_KEY_RATE,
};
enum {
    RATE_SLOT_ARG_PREFIX = 1,
    RATE_SLOT_ARG_MODEL,
    RATE_SLOT_ARG_RATE_LIMIT,
    RATE_SLOT_ARG_RATE_PERIOD_S,
    RATE_SLOT_ARG_HORIZON_MS,
    RATE_SLOT_ARGC = RATE_SLOT_ARG_HORIZON_MS,
};

#endif
