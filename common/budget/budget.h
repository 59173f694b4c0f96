/* budget.h — fleet-wide admission control and spend caps, decided in Redis.
 *
 * Every worker asks Redis before it calls a model and tells it afterwards:
 *
 *   budget_admit()   reserve the worst-case price of one render, if the tier's
 *                    window cap and the model's request rate allow it;
 *   budget_settle()  turn the reservation into the actual charge;
 *   budget_release() give the reservation back (the render failed, nothing to pay);
 *   budget_renew()   keep the leases of the requests still in flight alive.
 *
 * Each call is one atomic Lua script, one round trip (plus one to reload a script
 * Redis forgot); the _batch forms pipeline many decisions into one round trip. Decisions are keyed by (job_id, stage, attempt), so a redelivered
 * or replayed message gets the same decision and is never charged twice:
 *   settle twice            -> one charge (replayed, settled)
 *   admit after settle      -> BUDGET_ADMITTED, replayed, settled, the recorded charge:
 *                              do not render again
 *   admit during a lease, same handle    -> the same reservation, lease renewed (the
 *                              answer to the first ask was lost; the caller never asks
 *                              twice for a key it is rendering)
 *   admit during a lease, another handle -> the live lease is charged its worst case
 *                              (that worker sent its request: the provider bills it)
 *                              and this one gets a new reservation (gen + 1)
 *   admit after the lease expired unsettled -> a new reservation (gen + 1): a new charge
 * A reservation is a lease with a TTL (tier lease_ttl_s) that its worker renews while
 * the request runs. A lease that expires unsettled belonged to a worker that vanished
 * after sending its request: the provider billed it, so its worst case is CHARGED
 * (spent, and charged_unsettled in the snapshot) by whichever script call runs next,
 * never returned. A late settle (or release) of that reservation, named by its gen,
 * reconciles the charge to the actual price once (counted in late_settles). So Redis's
 * spend is never below what the providers billed; it exceeds it by at most the worst
 * cases of renders that died before their request reached the provider.
 *
 * Redis unreachable: calls fail closed with BUDGET_UNAVAILABLE within about a second
 * (connect and command timeouts 1 s), later calls reconnect with exponential backoff
 * (100 ms doubling to 2 s); an outage is logged once ("redis_unavailable", then
 * "redis_recovered") and counted in budget_stats(). A call that fails on a stale
 * connection is retried once on a fresh one — safe because every script is
 * idempotent. Nothing is ever reported admitted unless Redis recorded it.
 *
 * Money is integer micro-dollars. A budget_t is one connection: use one per thread
 * (calls on one handle are serialised by a mutex).
 *
 * A decision's job_id is the job revision's key ("<job_id>@<revision>", job_key()): a
 * changed job under the same id is a new revision with decisions of its own. */
#ifndef PRESSROOM_BUDGET_H
#define PRESSROOM_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/message.h"

typedef enum {
    BUDGET_ADMITTED,     /* admit: reserved (or replayed); settle/release: the decision stands */
    BUDGET_OVER_CAP,     /* the tier's window cap would be exceeded: see window_reset_ms */
    BUDGET_RATE_LIMITED, /* the model's request rate is exhausted: see retry_after_ms */
    BUDGET_DECIDED,      /* admit: the job revision has its verdict (detail: which); end it */
    BUDGET_UNAVAILABLE,  /* Redis unreachable or loading: nothing was decided (fail closed) */
    BUDGET_ERROR         /* bad arguments or an unexpected Redis reply: see detail */
} budget_status_t;

typedef struct {
    budget_status_t status;
    bool replayed;              /* same decision as before for this (job, stage, attempt) */
    bool settled;               /* already settled: charged_micros is final */
    int64_t reserved_micros, charged_micros;
    int64_t retry_after_ms;     /* RATE_LIMITED: when to try again */
    int64_t window_reset_ms;    /* OVER_CAP: epoch ms when the window turns */
    int64_t lease_gen;          /* which reservation of the key this is (admit); settle
                                   and release name it back */
    char detail[256];
} budget_decision_t;

#define BUDGET_MAX_MODELS CFG_MAX_MODELS

typedef struct {
    char model[64];
    int64_t spent_micros, reserved_micros;
} budget_model_usage_t;

/* One tier's current window, as Redis sees it (expired leases already returned). */
typedef struct {
    char tier[16];
    int64_t cap_micros;         /* effective cap: the override if set, else config; 0 = none */
    int window_s;               /* effective window length */
    bool overridden;            /* cap/window come from `pressctl budget set` */
    int64_t window_id;          /* floor(now / window_s) */
    int64_t window_reset_ms;    /* epoch ms when this window ends */
    int64_t now_ms;             /* Redis clock when the snapshot was taken */
    int64_t spent_micros, reserved_micros;
    int64_t in_flight;          /* live leases (all windows) */
    int64_t admitted, settled, released, expired; /* decisions in this window */
    int64_t charged_unsettled_micros; /* worst cases of expired leases, not reconciled */
    int64_t late_settles;       /* settles or releases after their lease expired */
    int64_t deferred;           /* deferred jobs waiting for room (budget_defer) */
    budget_model_usage_t models[BUDGET_MAX_MODELS];
    int n_models;
} budget_snapshot_t;

typedef struct {
    uint64_t round_trips;       /* commands sent to Redis (scripts, reloads) */
    uint64_t decisions;         /* admit/settle/release calls answered by Redis */
    uint64_t outages;           /* transitions from reachable to unreachable */
    uint64_t script_reloads;    /* NOSCRIPT answers (Redis restarted or SCRIPT FLUSH) */
    bool available;             /* connected and the last call succeeded */
} budget_stats_t;

typedef struct budget budget_t;

/* Parses cfg->redis ("host:port" or "redis://host:port") and connects. Does not fail
 * when Redis is down (calls return BUDGET_UNAVAILABLE until it is back); returns NULL
 * with a sentence in err only for an unusable address or out of memory. Copies cfg. */
budget_t *budget_connect(const config_t *cfg, char *err, size_t errlen);

/* Reserve worst_case_micros for one render of `model` in `tier` under the key
 * (job_id, stage, attempt). Returns 0 when Redis decided (out->status ADMITTED,
 * OVER_CAP or RATE_LIMITED), -1 when it did not (UNAVAILABLE or ERROR, out->detail
 * says why). Only BUDGET_ADMITTED with !out->settled allows a render. */
int budget_admit(budget_t *b, const char *tier, const char *model, const char *job_id,
                 const char *stage, int attempt, int64_t worst_case_micros,
                 budget_decision_t *out);

/* Charge actual_micros for reservation `gen` of the decision (admit's lease_gen; 0 = the
 * current one), exactly once. Returns 0 (out->status ADMITTED, out->charged_micros the
 * final charge; replayed when it was already settled) or -1 (UNAVAILABLE / ERROR:
 * retry later, the charge is not recorded). */
int budget_settle(budget_t *b, const char *tier, const char *job_id, const char *stage,
                  int attempt, int64_t gen, int64_t actual_micros, budget_decision_t *out);

/* Return reservation `gen` of the decision without charging (an expired one: its worst
 * case charged back). Idempotent; a settled decision stays settled. Returns 0 or -1
 * like budget_settle. */
int budget_release(budget_t *b, const char *tier, const char *job_id, const char *stage,
                   int attempt, int64_t gen, budget_decision_t *out);

/* One lease a worker holds: the decision key and its reservation. */
typedef struct {
    const char *job_id, *stage;
    int attempt;
    int64_t gen;
} budget_lease_t;

/* Extends the n leases to lease_ttl_s from now (Redis's clock), pipelined in calls of
 * up to 13. A lease that already expired or was re-reserved is not renewed. Returns
 * the number renewed, or -1 when Redis could not be asked. */
int budget_renew(budget_t *b, const char *tier, const budget_lease_t *leases, size_t n);

/* One decision of a batch: the key and amount in, the answer out. */
typedef struct {
    const char *job_id, *stage;
    int attempt;
    int64_t micros;       /* admit: the worst case; settle: the actual price */
    int64_t gen;          /* settle: the reservation (admit's d.lease_gen); 0 = current */
    int rc;               /* out: what budget_admit / budget_settle would have returned */
    budget_decision_t d;  /* out */
} budget_call_t;

/* n admissions (all of `model` in `tier`), or n settlements, decided with the same
 * semantics call by call as budget_admit / budget_settle, but pipelined: every
 * script is written, then every reply read, one round trip for the batch (each
 * decision still one atomic script). Calls whose reply was lost on a stale
 * connection, or that met NOSCRIPT, are re-run one by one on the single-call path
 * (safe: every script is idempotent); after a command timeout, or when Redis is
 * unreachable, the rest of the batch fails closed (UNAVAILABLE) without a try
 * each. Returns how many calls have rc == 0. */
int budget_admit_batch(budget_t *b, const char *tier, const char *model, budget_call_t *calls,
                       size_t n);
int budget_settle_batch(budget_t *b, const char *tier, budget_call_t *calls, size_t n);

/* The next request slot of `model` under its provider's rate limit (models.NAME.rate_limit,
 * one GCRA per tier and model, shared by the fleet with budget_admit's check): for the
 * requests admission did not cover, retries and fallbacks. Returns 0 when Redis
 * decided: out->status ADMITTED with the slot taken, starting in out->retry_after_ms
 * (0 = now; always 0 for a model without a limit), or RATE_LIMITED with nothing taken
 * when the next free slot is further than horizon_ms (ask again after
 * out->retry_after_ms). -1 when Redis could not decide: fail closed. */
int budget_rate_slot(budget_t *b, const char *tier, const char *model, int horizon_ms,
                     budget_decision_t *out);

/* The tier's current window. Returns 0, or -1 with budget_errstr() set. */
int budget_snapshot(budget_t *b, const char *tier, budget_snapshot_t *out);

/* Run-time override of a tier's cap (and window when window_s > 0), stored in Redis
 * and taking precedence over the config for the whole fleet. Returns 0 or -1. */
int budget_set_cap(budget_t *b, const char *tier, int64_t cap_micros, int window_s);

/* Clears the tier's current window (spend, reservations, live leases) and its
 * override. Returns 0 or -1. */
int budget_reset(budget_t *b, const char *tier);

/* Replaces the charges a task carries by what Redis settled for them: each (stage,
 * attempt) charge gets the charged amount of its decision's settled record, 0 when there
 * is none (a forged or unsettled charge never reaches a verdict). Returns how many
 * charges changed, or -1 when Redis could not be asked (the task is unchanged). */
int budget_verify_charges(budget_t *b, task_t *task);

/* Records that the task's job revision has its terminal verdict: from then on an admit
 * of any of its renders, in any tier, answers BUDGET_DECIDED, so a redelivery or a
 * replay of the same revision ends without a render and without a second verdict. Asked before the verdict is
 * emitted (a verdict lost after this is re-emitted by the redelivered input, which
 * reaches the verifier again, not admission). Returns 0, or -1 when Redis could not be
 * asked. */
int budget_record_verdict(budget_t *b, const task_t *task, const char *verdict);

/* ==== Deferred jobs ====
 * A job of a class whose over-budget policy is defer does not hold its partition: the
 * worker hands the message (its topic, key and bytes) to Redis with a due time (the
 * window's turn) and ends the input once Redis has it, so the jobs behind it flow on
 * and its offset is stored. Workers of the tier claim deferred jobs back, oldest first,
 * when they are due or the window has room (a raised cap), publish each to its topic,
 * and finish it once the broker acknowledged it. A claim not finished within
 * claim_ttl_s (the worker died) is claimable again: a deferred job is never lost; at
 * worst it is published twice, and the copy is deduplicated by its revision. Deferred
 * jobs are not consumer lag (they were consumed): snapshot.deferred counts them. */

/* Holds a message under id (one per render decision: a copy replaces it). 0 or -1. */
int budget_defer(budget_t *b, const char *tier, const char *id, const char *topic, const char *key,
                 const char *payload, size_t len, int64_t due_ms);

typedef struct {
    char id[JOB_KEY_LEN + 48];
    char topic[256];
    char key[128];
    char *payload;              /* malloc'd, NUL-terminated; the caller frees */
    size_t len;
} budget_deferred_t;

/* Claims up to max deferred jobs of the tier that are due or fit the window's room
 * (worst_micros each) into out. Returns how many (0..max), or -1 when Redis could not be
 * asked; *waiting (may be NULL) gets how many still wait. */
int budget_claim_deferred(budget_t *b, const char *tier, int64_t worst_micros, int max, int claim_ttl_s,
                          budget_deferred_t *out, int64_t *waiting);

/* A claimed deferred job is back on its topic: forget it. 0 or -1. */
int budget_finish_deferred(budget_t *b, const char *tier, const char *id);

/* The lease lifetime this handle reserves with in `tier` (the rendering worker derives it
 * when the config leaves tiers.NAME.lease_ttl_s unset). */
void budget_set_lease_ttl(budget_t *b, const char *tier, int lease_ttl_s);

/* Counters since budget_connect (copied under the handle's lock). */
void budget_stats(budget_t *b, budget_stats_t *out);

/* The last failure as a sentence ("" when none). Valid until the next call. */
const char *budget_errstr(const budget_t *b);

const char *budget_status_name(budget_status_t s);

void budget_free(budget_t *b);

#endif
