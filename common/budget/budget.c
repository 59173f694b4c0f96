/* budget.c — fleet-wide admission control in Redis; see budget.h for the contract,
 * scripts/prelude.lua for the data model, the other .lua files in scripts/ for the
 * scripts (the build turns them into budget_scripts.h) and budget_args.h for where each
 * script finds its keys and arguments. */
#include "budget/budget.h"
#include "base/clock.h"

#include "base/alloc.h"
#include "base/hostport.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "budget/budget_args.h"
#include "budget/budget_scripts.h" /* generated: $(BUILD)/gen/budget/, from scripts/ */
#include "base/alloc.h"
#include "base/log.h"

#define BUDGET_TIMEOUT_MS 1000       /* connect and command timeout */
#define BUDGET_BACKOFF_MIN_MS 100
#define BUDGET_BACKOFF_MAX_MS 2000
#define BUDGET_RETENTION_S (7 * 86400) /* how long a decision is remembered: replays */
#define BUDGET_MAX_ID 200               /* bytes of job_id / stage */

enum { SCRIPT_ADMIT, SCRIPT_SETTLE, SCRIPT_RELEASE, SCRIPT_SNAPSHOT, SCRIPT_RESET, SCRIPT_RATE_SLOT, SCRIPT_RENEW,
       SCRIPT_VERDICT, SCRIPT_DEFER, SCRIPT_CLAIM_DEFERRED, SCRIPT_FINISH_DEFERRED, N_SCRIPTS };

static const char *const script_body[N_SCRIPTS] = {
    BUDGET_LUA_ADMIT,    BUDGET_LUA_SETTLE, BUDGET_LUA_RELEASE, BUDGET_LUA_SNAPSHOT,
    BUDGET_LUA_RESET,    BUDGET_LUA_RATE_SLOT, BUDGET_LUA_RENEW, BUDGET_LUA_VERDICT,
    BUDGET_LUA_DEFER,    BUDGET_LUA_CLAIM_DEFERRED, BUDGET_LUA_FINISH_DEFERRED,
};

#define BUDGET_MAX_SEEDS 8
#define BUDGET_MAX_REDIRECTS 5
#define BUDGET_WAIT_MS "500"    /* how long a write waits for its replicas (< the command timeout) */

struct budget {
    config_t cfg;
    char addr[80];              /* "host:port" of the node in use, for messages */
    char host[64];
    int port;
    struct { char host[64]; int port; } seeds[BUDGET_MAX_SEEDS]; /* cfg->redis, in order */
    int n_seeds;
    int wait_replicas;          /* cfg->redis_wait_replicas */
    char moved_to[80];          /* the last redirect logged (a failover redirects many calls) */
    redisContext *rc;           /* NULL while disconnected */
    bool down;                  /* in an outage (already logged and counted) */
    int64_t down_since_ms;
    int64_t next_attempt_ms;    /* monotonic: no reconnect before this */
    int backoff_ms;
    bool timed_out;             /* the last failed command hit the command timeout */
    char sha[N_SCRIPTS][41];    /* SCRIPT LOAD answers; "" = not loaded yet */
    budget_stats_t stats;
    char errstr[512];
    char holder[40];            /* this handle's name in the decisions it reserves */
    pthread_mutex_t mu;
};

/* ==== Helpers ==== */

const char *budget_status_name(budget_status_t s) {
    switch (s) {
    case BUDGET_ADMITTED: return "admitted";
    case BUDGET_OVER_CAP: return "over_cap";
    case BUDGET_RATE_LIMITED: return "rate_limited";
    case BUDGET_DECIDED: return "decided";
    case BUDGET_UNAVAILABLE: return "unavailable";
    case BUDGET_ERROR: return "error";
    }
    return "?";
}

const char *budget_errstr(const budget_t *b) { return b->errstr; }

/* ==== Connection ==== */

/* Marks the connection dead. The first failure of an outage is logged and counted. */
static void mark_down(budget_t *b, const char *cause) {
    char why[160];
    snprintf(why, sizeof why, "%s", cause); /* cause may live in b->rc */
    if (b->rc) redisFree(b->rc);
    b->rc = NULL;
    b->stats.available = false;
    snprintf(b->errstr, sizeof b->errstr, "redis at %s unavailable: %.160s", b->addr, why);
    if (!b->down) {
        b->down = true;
        b->down_since_ms = mono_ms();
        b->stats.outages++;
        log_warn("redis_unavailable", "addr", b->addr, "error", why, NULL);
    }
}

/* Ensures b->rc is connected. Honours the backoff unless `force`. Returns 0 or -1
 * (errstr set). */
static int ensure_connected(budget_t *b, bool force) {
    if (b->rc) return 0;
    int64_t now = mono_ms();
    if (!force && now < b->next_attempt_ms) {
        if (!b->errstr[0])
            snprintf(b->errstr, sizeof b->errstr, "redis at %s unavailable", b->addr);
        return -1;
    }
    struct timeval tv = {BUDGET_TIMEOUT_MS / 1000, (BUDGET_TIMEOUT_MS % 1000) * 1000};
    redisContext *rc = redisConnectWithTimeout(b->host, b->port, tv);
    /* The node in use is gone (a Cluster failover): the seeds, in order, answer for it —
     * a replica or another master redirects (MOVED) to whoever owns the slot now. */
    for (int i = 0; (!rc || rc->err) && i < b->n_seeds && b->n_seeds > 1; i++) {
        if (!strcmp(b->seeds[i].host, b->host) && b->seeds[i].port == b->port) continue;
        if (rc) redisFree(rc);
        rc = redisConnectWithTimeout(b->seeds[i].host, b->seeds[i].port, tv);
        if (rc && !rc->err) {
            snprintf(b->host, sizeof b->host, "%s", b->seeds[i].host);
            b->port = b->seeds[i].port;
            snprintf(b->addr, sizeof b->addr, "%.63s:%d", b->host, b->port);
        }
    }
    if (!rc || rc->err) {
        char why[160];
        snprintf(why, sizeof why, "connect: %s", rc ? rc->errstr : "out of memory");
        if (rc) redisFree(rc);
        mark_down(b, why);
        b->next_attempt_ms = now + b->backoff_ms;
        b->backoff_ms = b->backoff_ms * 2 > BUDGET_BACKOFF_MAX_MS ? BUDGET_BACKOFF_MAX_MS
                                                                  : b->backoff_ms * 2;
        return -1;
    }
    redisSetTimeout(rc, tv);
    redisEnableKeepAlive(rc);
    b->rc = rc;
    b->backoff_ms = BUDGET_BACKOFF_MIN_MS;
    b->next_attempt_ms = 0;
    return 0;
}

/* The connection answered: end an outage if one was running. */
static void mark_up(budget_t *b) {
    b->stats.available = true;
    b->errstr[0] = '\0';
    if (b->down) {
        char ms[32];
        snprintf(ms, sizeof ms, "%" PRId64, mono_ms() - b->down_since_ms);
        log_info("redis_recovered", "addr", b->addr, "down_ms", ms, NULL);
        b->down = false;
    }
}

budget_t *budget_connect(const config_t *cfg, char *err, size_t errlen) {
    budget_t *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "budget: out of memory");
        return NULL;
    }
    b->cfg = *cfg;
    b->wait_replicas = cfg->redis_wait_replicas;
    char list[sizeof cfg->redis];
    snprintf(list, sizeof list, "%s", cfg->redis);
    char *save = NULL;
    for (char *seed = strtok_r(list, ",", &save); seed; seed = strtok_r(NULL, ",", &save)) {
        while (*seed == ' ') seed++;
        if (b->n_seeds == BUDGET_MAX_SEEDS ||
            hostport_parse(seed, "redis", 1, b->seeds[b->n_seeds].host, sizeof b->seeds[0].host,
                           &b->seeds[b->n_seeds].port)) {
            b->n_seeds = 0;
            break;
        }
        b->n_seeds++;
    }
    if (!b->n_seeds) {
        snprintf(err, errlen,
                 "redis address: expected host:port or redis://host:port (or up to %d of them separated by "
                 "commas: Cluster seeds), found \"%s\"",
                 BUDGET_MAX_SEEDS, cfg->redis);
        free(b);
        return NULL;
    }
    snprintf(b->host, sizeof b->host, "%s", b->seeds[0].host);
    b->port = b->seeds[0].port;
    snprintf(b->addr, sizeof b->addr, "%.63s:%d", b->host, b->port);
    b->backoff_ms = BUDGET_BACKOFF_MIN_MS;
    /* Unique per handle (one per rendering worker process): host, pid, time, address. */
    char host[24] = "";
    gethostname(host, sizeof host - 1);
    snprintf(b->holder, sizeof b->holder, "%.20s:%d:%llx", host, (int)getpid(),
             (unsigned long long)((uint64_t)mono_us() ^ (uint64_t)(uintptr_t)b));
    pthread_mutex_init(&b->mu, NULL);
    if (ensure_connected(b, true) == 0) b->stats.available = true;
    return b;
}

void budget_free(budget_t *b) {
    if (!b) return;
    if (b->rc) redisFree(b->rc);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void budget_stats(budget_t *b, budget_stats_t *out) {
    pthread_mutex_lock(&b->mu);
    *out = b->stats;
    pthread_mutex_unlock(&b->mu);
}

/* ==== Keys (see scripts/prelude.lua) ==== */

/* P = "{pressroom}:<tier>": every budget key shares one hash tag, so in a Redis Cluster
 * the whole budget lives in one slot, on one master and its replicas: every script and
 * every pipelined batch goes to one node, and the cluster gives failover, not sharding
 * (one Redis core decides some 20k admissions a second, more than a fleet asks). */
static void tier_prefix(const tier_config_t *t, char *buf, size_t len) {
    snprintf(buf, len, "{pressroom}:%s", t->name);
}

/* {pressroom}:rate:<model>: the model's GCRA state, shared by admission and rate slots
 * of every tier (a provider limits the model, whichever tier or lane asks). */
static void rate_key(const char *model, char *buf, size_t len) {
    snprintf(buf, len, "{pressroom}:rate:%s", model);
}

/* {pressroom}:v:<job key>: set once the job revision's verdict was given (verdict.lua),
 * whichever tier or lane decided it; admit answers "decided" while it lives. */
static void verdict_key(const char *job_key_s, char *buf, size_t len) {
    snprintf(buf, len, "{pressroom}:v:%s", job_key_s);
}

/* ==== Script calls ==== */

/* Is this error reply a sign that Redis cannot decide right now (rather than a bug)? */
static bool transient_error(const redisReply *r) {
    return !strncmp(r->str, "LOADING", 7) || !strncmp(r->str, "MASTERDOWN", 10) ||
           !strncmp(r->str, "BUSY", 4) || !strncmp(r->str, "TRYAGAIN", 8) ||
           !strncmp(r->str, "CLUSTERDOWN", 11) ||
           /* still redirected after BUDGET_MAX_REDIRECTS: the cluster is failing over */
           !strncmp(r->str, "MOVED ", 6) || !strncmp(r->str, "ASK ", 4);
}

/* An error reply to a script: errstr says what failed; UNAVAILABLE when Redis cannot
 * decide right now (the caller marks the connection down), ERROR otherwise. */
static budget_status_t script_error(budget_t *b, const redisReply *r) {
    snprintf(b->errstr, sizeof b->errstr, "redis at %s: script failed: %.180s", b->addr, r->str);
    return transient_error(r) ? BUDGET_UNAVAILABLE : BUDGET_ERROR;
}

/* "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>" (Redis Cluster): the
 * address the reply redirects to, or NULL when it is no redirect of that kind. */
static const char *redirect_to(const redisReply *r, const char *kind) {
    if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, kind, strlen(kind))) return NULL;
    const char *addr = strchr(r->str + strlen(kind), ' ');
    return addr ? addr + 1 : NULL;
}

/* Makes the node at "host:port" the one in use (MOVED: it owns the slot now). */
static int move_to(budget_t *b, const char *to) {
    char host[64];
    int port;
    if (hostport_parse(to, "redis", 1, host, sizeof host, &port)) return -1;
    if (b->rc) redisFree(b->rc);
    b->rc = NULL;
    char from[80];
    snprintf(from, sizeof from, "%s", b->addr);
    snprintf(b->host, sizeof b->host, "%s", host);
    b->port = port;
    snprintf(b->addr, sizeof b->addr, "%.63s:%d", host, port);
    if (strcmp(b->moved_to, b->addr) != 0) log_info("redis_moved", "from", from, "to", b->addr, NULL);
    snprintf(b->moved_to, sizeof b->moved_to, "%s", b->addr);
    return ensure_connected(b, true);
}

/* One command on the current connection, following Cluster redirects: MOVED switches
 * the node in use, ASK (a slot being migrated) asks the target once. NULL = connection
 * failure (marked down). */
static redisReply *command(budget_t *b, int argc, const char **argv) {
    for (int hops = 0;; hops++) {
        b->stats.round_trips++;
        errno = 0;
        redisReply *r = redisCommandArgv(b->rc, argc, argv, NULL);
        if (!r) {
            b->timed_out = b->rc->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
            mark_down(b, b->rc->errstr[0] ? b->rc->errstr : "connection lost");
            return NULL;
        }
        if (hops == BUDGET_MAX_REDIRECTS) return r;
        const char *to = redirect_to(r, "MOVED ");
        if (to) {
            char target[80];
            snprintf(target, sizeof target, "%s", to);
            freeReplyObject(r);
            if (move_to(b, target)) return NULL;
            continue;
        }
        if ((to = redirect_to(r, "ASK "))) {
            char host[64];
            int port;
            if (hostport_parse(to, "redis", 1, host, sizeof host, &port)) return r;
            freeReplyObject(r);
            struct timeval tv = {BUDGET_TIMEOUT_MS / 1000, (BUDGET_TIMEOUT_MS % 1000) * 1000};
            redisContext *c = redisConnectWithTimeout(host, port, tv);
            redisReply *ok = c && !c->err ? redisCommand(c, "ASKING") : NULL;
            r = ok ? redisCommandArgv(c, argc, argv, NULL) : NULL;
            if (ok) freeReplyObject(ok);
            if (c) redisFree(c);
            b->stats.round_trips += 2;
            if (!r) snprintf(b->errstr, sizeof b->errstr, "redis: ASK redirect to %s:%d failed", host, port);
            return r;
        }
        return r;
    }
}

/* Waits until b->wait_replicas replicas have this connection's writes (Redis WAIT, at
 * most BUDGET_WAIT_MS). Returns 0, or -1 with errstr set: the writes are not counted as
 * done (the caller fails closed and asks again; every script is idempotent). */
static int wait_for_replicas(budget_t *b) {
    if (b->wait_replicas <= 0) return 0;
    char n[8];
    snprintf(n, sizeof n, "%d", b->wait_replicas);
    const char *argv[] = {"WAIT", n, BUDGET_WAIT_MS};
    redisReply *r = command(b, 3, argv);
    if (!r) return -1;
    long long got = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    if (got >= b->wait_replicas) return 0;
    snprintf(b->errstr, sizeof b->errstr,
             "redis at %s: a budget write reached %lld of the %d replica(s) redis_wait_replicas asks for "
             "within %s ms; not counted",
             b->addr, got < 0 ? 0 : got, b->wait_replicas, BUDGET_WAIT_MS);
    return -1;
}

/* EVALSHA sha numkeys keys... args... into argv[32] (EVAL body ... after NOSCRIPT
 * swaps the first two). Returns argc. */
static int evalsha_argv(const budget_t *b, int s, const char *numkeys, int nargs, const char **args,
                        const char **argv) {
    int argc = 0;
    argv[argc++] = "EVALSHA";
    argv[argc++] = b->sha[s];
    argv[argc++] = numkeys;
    for (int i = 0; i < nargs && argc < 32; i++) argv[argc++] = args[i];
    return argc;
}

/* Runs script `s` with keys and args (argv[0..nkeys-1] are keys). Returns the reply,
 * or NULL with *status UNAVAILABLE/ERROR and errstr set. The caller frees the reply.
 * A failure on a connection that was up is retried once on a fresh connection (every
 * script is idempotent, so a lost reply re-run gives the same decision). */
static redisReply *run_script(budget_t *b, int s, int nkeys, int nargs, const char **args,
                              budget_status_t *status) {
    const char *argv[32];
    char numkeys[16];
    snprintf(numkeys, sizeof numkeys, "%d", nkeys);
    for (int attempt = 0; attempt < 3; attempt++) {
        bool was_up = b->rc != NULL;
        if (ensure_connected(b, false)) break;
        if (!b->sha[s][0]) {
            const char *load[] = {"SCRIPT", "LOAD", script_body[s]};
            redisReply *r = command(b, 3, load);
            if (!r) {
                if (was_up && !b->timed_out) continue;
                break;
            }
            if (r->type == REDIS_REPLY_STRING && r->len == 40) {
                memcpy(b->sha[s], r->str, 40);
                b->sha[s][40] = '\0';
            } else {
                snprintf(b->errstr, sizeof b->errstr, "redis at %s: SCRIPT LOAD: expected a sha1, found %.200s",
                         b->addr, r->type == REDIS_REPLY_ERROR ? r->str : "another reply type");
                bool transient = r->type == REDIS_REPLY_ERROR && transient_error(r);
                freeReplyObject(r);
                *status = transient ? BUDGET_UNAVAILABLE : BUDGET_ERROR;
                return NULL;
            }
            freeReplyObject(r);
        }
        int argc = evalsha_argv(b, s, numkeys, nargs, args, argv);
        redisReply *r = command(b, argc, argv);
        if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
            /* Redis restarted or SCRIPT FLUSH: EVAL caches the body again. */
            freeReplyObject(r);
            b->stats.script_reloads++;
            argv[0] = "EVAL";
            argv[1] = script_body[s];
            r = command(b, argc, argv);
        }
        if (!r) {
            /* A stale connection (Redis restarted, idle timeout) gets one fresh try; a
             * timeout does not, so a hung Redis costs one timeout, not two. */
            if (was_up && !b->timed_out) continue;
            break;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            *status = script_error(b, r);
            if (*status == BUDGET_UNAVAILABLE) mark_down(b, r->str);
            freeReplyObject(r);
            return NULL;
        }
        mark_up(b);
        if (s != SCRIPT_SNAPSHOT && wait_for_replicas(b) != 0) {
            freeReplyObject(r);
            break;
        }
        return r;
    }
    *status = BUDGET_UNAVAILABLE;
    return NULL;
}

static int64_t reply_int(const redisReply *r) {
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type == REDIS_REPLY_STRING) return strtoll(r->str, NULL, 10);
    return 0;
}

/* Parses the common decision array into *out. Returns 0 or -1 (malformed reply). */
static int parse_decision(budget_t *b, const redisReply *r, budget_decision_t *out) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 9 || r->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(out->detail, sizeof out->detail,
                 "redis at %s: expected a 9-element decision array, found reply type %d", b->addr,
                 r->type);
        out->status = BUDGET_ERROR;
        return -1;
    }
    const char *st = r->element[0]->str;
    out->status = !strcmp(st, "admitted")       ? BUDGET_ADMITTED
                  : !strcmp(st, "over_cap")     ? BUDGET_OVER_CAP
                  : !strcmp(st, "rate_limited") ? BUDGET_RATE_LIMITED
                  : !strcmp(st, "decided")      ? BUDGET_DECIDED
                                                : BUDGET_ERROR;
    out->replayed = reply_int(r->element[1]) != 0;
    out->settled = reply_int(r->element[2]) != 0;
    out->reserved_micros = reply_int(r->element[3]);
    out->charged_micros = reply_int(r->element[4]);
    out->retry_after_ms = reply_int(r->element[5]);
    out->window_reset_ms = reply_int(r->element[6]);
    out->lease_gen = reply_int(r->element[8]);
    if (r->element[7]->type == REDIS_REPLY_STRING)
        snprintf(out->detail, sizeof out->detail, "%s", r->element[7]->str);
    if (out->status == BUDGET_ERROR) {
        snprintf(out->detail, sizeof out->detail, "redis at %s: unknown decision \"%.100s\"", b->addr, st);
        return -1;
    }
    b->stats.decisions++;
    return 0;
}

/* ==== Decision calls ==== */

/* One decision's script call: the script, its keys and arguments, and the buffers
 * they point into (so it is built in place and never copied). Built once by
 * admit_call / settle_call / release_call, run alone (decide) or pipelined
 * (decide_batch). */
typedef struct {
    int script, nkeys, nargs;
    const char *args[ADMIT_NKEYS + ADMIT_ARGC]; /* admit takes the most */
    char numkeys[8];
    char prefix[48], dkey[512], leases[64], ovk[64], ratek[160], vkey[256];
    char num[7][24];
    bool alone; /* batch: re-run this one on the single-call path */
} decision_call_t;

/* Validates the key parts and fills the tier prefix, decision key and the keys every
 * decision script takes. Resets *out. Returns the tier config, or NULL with
 * out->detail set. */
static const tier_config_t *decision_keys(budget_t *b, const char *tier, const char *job_id,
                                          const char *stage, int attempt, decision_call_t *c,
                                          budget_decision_t *out) {
    memset(out, 0, sizeof *out);
    out->status = BUDGET_ERROR;
    const tier_config_t *t = tier ? config_tier(&b->cfg, tier) : NULL;
    if (!t) {
        snprintf(out->detail, sizeof out->detail,
                 "budget: tier: expected \"preview\", \"production\" or \"backfill\", found \"%s\"",
                 tier ? tier : "(null)");
        return NULL;
    }
    if (!job_id || !*job_id || strlen(job_id) > BUDGET_MAX_ID || !stage || !*stage ||
        strlen(stage) > BUDGET_MAX_ID || attempt < 0) {
        snprintf(out->detail, sizeof out->detail,
                 "budget: decision key: expected a job id and stage of 1..%d bytes and an attempt "
                 ">= 0, found job \"%.40s\" stage \"%.40s\" attempt %d",
                 BUDGET_MAX_ID, job_id ? job_id : "(null)", stage ? stage : "(null)", attempt);
        return NULL;
    }
    tier_prefix(t, c->prefix, sizeof c->prefix);
    snprintf(c->dkey, sizeof c->dkey, "%s:d:%s:%s:%d", c->prefix, job_id, stage, attempt);
    snprintf(c->leases, sizeof c->leases, "%s:leases", c->prefix);
    snprintf(c->ovk, sizeof c->ovk, "%s:override", c->prefix);
    c->alone = false;
    return t;
}

/* Sets the script and the count of keys among c->args[0..nargs-1]. */
static void call_script(decision_call_t *c, int script, int nkeys, int nargs) {
    c->script = script;
    c->nkeys = nkeys;
    c->nargs = nargs;
    snprintf(c->numkeys, sizeof c->numkeys, "%d", nkeys);
}

static int admit_call(budget_t *b, const char *tier, const char *model, const char *job_id,
                      const char *stage, int attempt, int64_t worst_case_micros, decision_call_t *c,
                      budget_decision_t *out) {
    const tier_config_t *t = decision_keys(b, tier, job_id, stage, attempt, c, out);
    if (!t) return -1;
    if (!model || !*model || strlen(model) >= 64 || worst_case_micros < 0) {
        snprintf(out->detail, sizeof out->detail,
                 "budget_admit: expected a model name and a worst case >= 0 micros, found \"%.64s\" "
                 "and %" PRId64, model ? model : "(null)", worst_case_micros);
        return -1;
    }
    rate_key(model, c->ratek, sizeof c->ratek);
    verdict_key(job_id, c->vkey, sizeof c->vkey);
    snprintf(c->num[0], sizeof c->num[0], "%" PRId64, worst_case_micros);
    snprintf(c->num[1], sizeof c->num[1], "%" PRId64, t->cap_micros);
    snprintf(c->num[2], sizeof c->num[2], "%d", t->window_s > 0 ? t->window_s : 3600);
    snprintf(c->num[3], sizeof c->num[3], "%d", t->lease_ttl_s > 0 ? t->lease_ttl_s : 60);
    const model_config_t *m = config_model(&b->cfg, model); /* its provider's request rate */
    snprintf(c->num[4], sizeof c->num[4], "%d", m ? m->rate_limit : 0);
    snprintf(c->num[5], sizeof c->num[5], "%d", m ? m->rate_period_s : 0);
    snprintf(c->num[6], sizeof c->num[6], "%d", BUDGET_RETENTION_S);
    const char *args[ADMIT_NKEYS + ADMIT_ARGC] = {
        [KEY_AT(ADMIT_KEY_DECISION)] = c->dkey,
        [KEY_AT(ADMIT_KEY_LEASES)] = c->leases,
        [KEY_AT(ADMIT_KEY_OVERRIDE)] = c->ovk,
        [KEY_AT(ADMIT_KEY_RATE)] = c->ratek,
        [KEY_AT(ADMIT_KEY_VERDICT)] = c->vkey,
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_PREFIX)] = c->prefix,
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_MODEL)] = model,
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_WORST_MICROS)] = c->num[0],
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_CFG_CAP)] = c->num[1],
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_CFG_WINDOW_S)] = c->num[2],
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_LEASE_TTL_S)] = c->num[3],
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_RATE_LIMIT)] = c->num[4],
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_RATE_PERIOD_S)] = c->num[5],
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_RETENTION_S)] = c->num[6],
        [ARG_AT(ADMIT_NKEYS, ADMIT_ARG_HOLDER)] = b->holder,
    };
    memcpy(c->args, args, sizeof args);
    call_script(c, SCRIPT_ADMIT, ADMIT_NKEYS, ADMIT_NKEYS + ADMIT_ARGC);
    return 0;
}

static int settle_call(budget_t *b, const char *tier, const char *job_id, const char *stage,
                       int attempt, int64_t actual_micros, int64_t gen, decision_call_t *c,
                       budget_decision_t *out) {
    const tier_config_t *t = decision_keys(b, tier, job_id, stage, attempt, c, out);
    if (!t) return -1;
    if (actual_micros < 0) {
        snprintf(out->detail, sizeof out->detail,
                 "budget_settle: expected an actual price >= 0 micros, found %" PRId64, actual_micros);
        return -1;
    }
    snprintf(c->num[0], sizeof c->num[0], "%" PRId64, actual_micros);
    snprintf(c->num[1], sizeof c->num[1], "%" PRId64, t->cap_micros);
    snprintf(c->num[2], sizeof c->num[2], "%d", t->window_s > 0 ? t->window_s : 3600);
    snprintf(c->num[3], sizeof c->num[3], "%d", BUDGET_RETENTION_S);
    snprintf(c->num[4], sizeof c->num[4], "%d", t->lease_ttl_s > 0 ? t->lease_ttl_s : 60);
    snprintf(c->num[5], sizeof c->num[5], "%" PRId64, gen > 0 ? gen : 0);
    const char *args[SETTLE_NKEYS + SETTLE_ARGC] = {
        [KEY_AT(SETTLE_KEY_DECISION)] = c->dkey,
        [KEY_AT(SETTLE_KEY_LEASES)] = c->leases,
        [KEY_AT(SETTLE_KEY_OVERRIDE)] = c->ovk,
        [ARG_AT(SETTLE_NKEYS, SETTLE_ARG_PREFIX)] = c->prefix,
        [ARG_AT(SETTLE_NKEYS, SETTLE_ARG_ACTUAL_MICROS)] = c->num[0],
        [ARG_AT(SETTLE_NKEYS, SETTLE_ARG_CFG_CAP)] = c->num[1],
        [ARG_AT(SETTLE_NKEYS, SETTLE_ARG_CFG_WINDOW_S)] = c->num[2],
        [ARG_AT(SETTLE_NKEYS, SETTLE_ARG_RETENTION_S)] = c->num[3],
        [ARG_AT(SETTLE_NKEYS, SETTLE_ARG_LEASE_TTL_S)] = c->num[4],
        [ARG_AT(SETTLE_NKEYS, SETTLE_ARG_GEN)] = c->num[5],
    };
    _Static_assert(sizeof args <= sizeof c->args, "settle's keys and arguments fit a decision call");
    memcpy(c->args, args, sizeof args);
    call_script(c, SCRIPT_SETTLE, SETTLE_NKEYS, SETTLE_NKEYS + SETTLE_ARGC);
    return 0;
}

static int release_call(budget_t *b, const char *tier, const char *job_id, const char *stage,
                        int attempt, int64_t gen, decision_call_t *c, budget_decision_t *out) {
    if (!decision_keys(b, tier, job_id, stage, attempt, c, out)) return -1;
    snprintf(c->num[0], sizeof c->num[0], "%" PRId64, gen > 0 ? gen : 0);
    const char *args[RELEASE_NKEYS + RELEASE_ARGC] = {
        [KEY_AT(RELEASE_KEY_DECISION)] = c->dkey,
        [KEY_AT(RELEASE_KEY_LEASES)] = c->leases,
        [ARG_AT(RELEASE_NKEYS, RELEASE_ARG_PREFIX)] = c->prefix,
        [ARG_AT(RELEASE_NKEYS, RELEASE_ARG_GEN)] = c->num[0],
    };
    _Static_assert(sizeof args <= sizeof c->args, "release's keys and arguments fit a decision call");
    memcpy(c->args, args, sizeof args);
    call_script(c, SCRIPT_RELEASE, RELEASE_NKEYS, RELEASE_NKEYS + RELEASE_ARGC);
    return 0;
}

/* Runs one decision on the single-call path (reload, reconnect and retry included),
 * parses the answer into *out. Returns 0 or -1. Called with the lock held. */
static int decide(budget_t *b, decision_call_t *c, budget_decision_t *out) {
    budget_status_t st = BUDGET_UNAVAILABLE;
    redisReply *r = run_script(b, c->script, c->nkeys, c->nargs, c->args, &st);
    if (!r) {
        out->status = st;
        snprintf(out->detail, sizeof out->detail, "%.255s", b->errstr);
        return -1;
    }
    int rc = parse_decision(b, r, out);
    freeReplyObject(r);
    return rc;
}

static int decide_locked(budget_t *b, decision_call_t *c, budget_decision_t *out) {
    pthread_mutex_lock(&b->mu);
    int rc = decide(b, c, out);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int budget_rate_slot(budget_t *b, const char *tier, const char *model, int horizon_ms,
                     budget_decision_t *out) {
    memset(out, 0, sizeof *out);
    out->status = BUDGET_ERROR;
    const tier_config_t *t = tier ? config_tier(&b->cfg, tier) : NULL;
    const model_config_t *m = model ? config_model(&b->cfg, model) : NULL;
    if (!t || !m) {
        snprintf(out->detail, sizeof out->detail, "budget_rate_slot: unknown tier \"%.20s\" or model \"%.64s\"",
                 tier ? tier : "(null)", model ? model : "(null)");
        return -1;
    }
    if (m->rate_limit <= 0 || m->rate_period_s <= 0) { /* no limit: the slot is now */
        out->status = BUDGET_ADMITTED;
        return 0;
    }
    char prefix[48], ratek[160], limit[16], period[16], horizon[16];
    tier_prefix(t, prefix, sizeof prefix);
    rate_key(m->name, ratek, sizeof ratek);
    snprintf(limit, sizeof limit, "%d", m->rate_limit);
    snprintf(period, sizeof period, "%d", m->rate_period_s);
    snprintf(horizon, sizeof horizon, "%d", horizon_ms > 0 ? horizon_ms : 0);
    const char *args[RATE_SLOT_NKEYS + RATE_SLOT_ARGC] = {
        [KEY_AT(RATE_SLOT_KEY_RATE)] = ratek,
        [ARG_AT(RATE_SLOT_NKEYS, RATE_SLOT_ARG_PREFIX)] = prefix,
        [ARG_AT(RATE_SLOT_NKEYS, RATE_SLOT_ARG_MODEL)] = m->name,
        [ARG_AT(RATE_SLOT_NKEYS, RATE_SLOT_ARG_RATE_LIMIT)] = limit,
        [ARG_AT(RATE_SLOT_NKEYS, RATE_SLOT_ARG_RATE_PERIOD_S)] = period,
        [ARG_AT(RATE_SLOT_NKEYS, RATE_SLOT_ARG_HORIZON_MS)] = horizon,
    };
    decision_call_t c = {.args = {0}};
    _Static_assert(sizeof args <= sizeof c.args, "rate_slot's keys and arguments fit a decision call");
    memcpy(c.args, args, sizeof args);
    call_script(&c, SCRIPT_RATE_SLOT, RATE_SLOT_NKEYS, RATE_SLOT_NKEYS + RATE_SLOT_ARGC);
    return decide_locked(b, &c, out);
}

/* Pipelines the prepared calls (cs[i].script >= 0, all the same script) over the
 * current connection: every EVALSHA written, then every reply read, one round trip.
 * Calls it cannot answer are flagged `alone`, or failed closed after a timeout.
 * Called with the lock held, the connection up and the script's sha known. */
static void pipeline_calls(budget_t *b, decision_call_t *cs, budget_call_t *calls, size_t n) {
    const char *argv[32];
    size_t sent = 0;
    int script = -1;
    for (size_t i = 0; i < n; i++) {
        if (cs[i].script < 0) continue;
        script = cs[i].script;
        int argc = evalsha_argv(b, cs[i].script, cs[i].numkeys, cs[i].nargs, cs[i].args, argv);
        if (redisAppendCommandArgv(b->rc, argc, argv, NULL) != REDIS_OK) {
            cs[i].alone = true; /* out of memory formatting it: try it alone */
            continue;
        }
        cs[i].alone = false;
        sent++;
    }
    if (!sent) return;
    b->stats.round_trips++;
    bool lost = false, answered = false, noscript = false;
    char why[160] = "";
    for (size_t i = 0; i < n; i++) {
        if (cs[i].script < 0 || cs[i].alone) continue;
        redisReply *r = NULL;
        if (!lost) {
            errno = 0;
            if (redisGetReply(b->rc, (void **)&r) != REDIS_OK || !r) {
                b->timed_out = b->rc->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
                snprintf(why, sizeof why, "%s", b->rc->errstr[0] ? b->rc->errstr : "connection lost");
                lost = true;
                r = NULL;
            }
        }
        budget_call_t *call = &calls[i];
        if (!r) {
            /* Reply lost. A stale connection gets the single path's fresh try; after a
             * timeout the rest fail closed (a hung Redis costs one timeout, not n). */
            cs[i].alone = !b->timed_out;
            call->rc = -1;
            call->d.status = BUDGET_UNAVAILABLE;
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
            noscript = true; /* Redis restarted or SCRIPT FLUSH: reload, then alone */
            cs[i].alone = true;
        } else if (redirect_to(r, "MOVED ") || redirect_to(r, "ASK ")) {
            cs[i].alone = true; /* the single path follows the redirect */
            call->rc = -1;
            call->d.status = BUDGET_UNAVAILABLE;
        } else if (r->type == REDIS_REPLY_ERROR) {
            call->rc = -1;
            call->d.status = script_error(b, r);
            snprintf(call->d.detail, sizeof call->d.detail, "%.255s", b->errstr);
            if (call->d.status == BUDGET_UNAVAILABLE) snprintf(why, sizeof why, "%s", r->str);
        } else {
            call->rc = parse_decision(b, r, &call->d);
            answered = true;
        }
        freeReplyObject(r);
    }
    if (noscript) {
        b->stats.script_reloads++;
        b->sha[script][0] = '\0';
    }
    if (why[0]) {
        mark_down(b, why);
        for (size_t i = 0; i < n; i++)
            if (cs[i].script >= 0 && calls[i].rc && calls[i].d.status == BUDGET_UNAVAILABLE &&
                !calls[i].d.detail[0])
                snprintf(calls[i].d.detail, sizeof calls[i].d.detail, "%.255s", b->errstr);
    } else if (answered) {
        mark_up(b);
        if (script != SCRIPT_SNAPSHOT && wait_for_replicas(b) != 0)
            for (size_t i = 0; i < n; i++) /* not replicated: not counted, asked again later */
                if (cs[i].script >= 0 && !cs[i].alone && calls[i].rc == 0) {
                    calls[i].rc = -1;
                    calls[i].d.status = BUDGET_UNAVAILABLE;
                    snprintf(calls[i].d.detail, sizeof calls[i].d.detail, "%.255s", b->errstr);
                }
    }
}

/* Decides every prepared call: pipelined when the connection is up, the rest (and
 * whatever the pipeline could not answer) on the single-call path. */
static int decide_batch(budget_t *b, decision_call_t *cs, budget_call_t *calls, size_t n) {
    pthread_mutex_lock(&b->mu);
    size_t i = 0;
    /* Until the script is loaded (first use, or after NOSCRIPT), one call goes alone:
     * it loads the script and reconnects if needed. */
    for (; i < n && (!b->rc || !b->sha[cs[i].script < 0 ? 0 : cs[i].script][0]); i++) {
        if (cs[i].script < 0) continue;
        calls[i].rc = decide(b, &cs[i], &calls[i].d);
        cs[i].script = -1; /* decided */
        if (calls[i].rc && calls[i].d.status == BUDGET_UNAVAILABLE) {
            /* Redis is down: the rest fail closed the same way without a try each. */
            for (size_t j = i + 1; j < n; j++) {
                if (cs[j].script < 0) continue;
                calls[j].rc = -1;
                calls[j].d.status = BUDGET_UNAVAILABLE;
                snprintf(calls[j].d.detail, sizeof calls[j].d.detail, "%.255s", calls[i].d.detail);
                cs[j].script = -1;
            }
        }
    }
    if (i < n) pipeline_calls(b, cs + i, calls + i, n - i);
    int ok = 0;
    for (size_t j = 0; j < n; j++) {
        if (cs[j].script >= 0 && cs[j].alone) {
            memset(&calls[j].d, 0, sizeof calls[j].d);
            calls[j].rc = decide(b, &cs[j], &calls[j].d);
        }
        if (calls[j].rc == 0) ok++;
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

/* ==== Decisions ==== */

int budget_admit(budget_t *b, const char *tier, const char *model, const char *job_id,
                 const char *stage, int attempt, int64_t worst_case_micros,
                 budget_decision_t *out) {
    decision_call_t c;
    if (admit_call(b, tier, model, job_id, stage, attempt, worst_case_micros, &c, out)) return -1;
    return decide_locked(b, &c, out);
}

int budget_settle(budget_t *b, const char *tier, const char *job_id, const char *stage,
                  int attempt, int64_t gen, int64_t actual_micros, budget_decision_t *out) {
    decision_call_t c;
    if (settle_call(b, tier, job_id, stage, attempt, actual_micros, gen, &c, out)) return -1;
    return decide_locked(b, &c, out);
}

int budget_release(budget_t *b, const char *tier, const char *job_id, const char *stage,
                   int attempt, int64_t gen, budget_decision_t *out) {
    decision_call_t c;
    if (release_call(b, tier, job_id, stage, attempt, gen, &c, out)) return -1;
    return decide_locked(b, &c, out);
}

static const tier_config_t *tier_or_fail(budget_t *b, const char *tier, char *prefix, size_t plen);

/* Leases per renew call: EVALSHA, sha, numkeys, the leases key, the prefix and the
 * TTL take 6 of run_script's 32 argv slots; each lease a key and a gen. */
#define RENEW_CHUNK 13

int budget_renew(budget_t *b, const char *tier, const budget_lease_t *leases, size_t n) {
    char prefix[48], lkey[64], ttl[16];
    char dkeys[RENEW_CHUNK][512], gens[RENEW_CHUNK][24];
    int renewed = 0;
    pthread_mutex_lock(&b->mu);
    const tier_config_t *t = tier_or_fail(b, tier, prefix, sizeof prefix);
    if (!t) {
        pthread_mutex_unlock(&b->mu);
        return -1;
    }
    snprintf(lkey, sizeof lkey, "%s:leases", prefix);
    snprintf(ttl, sizeof ttl, "%d", t->lease_ttl_s > 0 ? t->lease_ttl_s : 60);
    for (size_t i = 0; i < n; i += RENEW_CHUNK) {
        size_t m = n - i < RENEW_CHUNK ? n - i : RENEW_CHUNK;
        const char *args[2 * RENEW_CHUNK + 3];
        int nkeys = 1, k = 0;
        args[k++] = lkey;
        for (size_t j = 0; j < m; j++) {
            const budget_lease_t *l = &leases[i + j];
            snprintf(dkeys[j], sizeof dkeys[j], "%s:d:%s:%s:%d", prefix, l->job_id, l->stage, l->attempt);
            snprintf(gens[j], sizeof gens[j], "%" PRId64, l->gen);
            args[k++] = dkeys[j];
            nkeys++;
        }
        args[k++] = prefix;
        args[k++] = ttl;
        for (size_t j = 0; j < m; j++) args[k++] = gens[j];
        budget_status_t st;
        redisReply *r = run_script(b, SCRIPT_RENEW, nkeys, k, args, &st);
        if (!r) {
            renewed = -1;
            break;
        }
        renewed += (int)reply_int(r);
        freeReplyObject(r);
    }
    pthread_mutex_unlock(&b->mu);
    return renewed;
}

/* Prepares each call (admit, or settle when !admit), then decides the batch. */
static int run_batch(budget_t *b, const char *tier, const char *model, budget_call_t *calls,
                     size_t n, bool admit) {
    if (!n) return 0;
    decision_call_t *cs = malloc(n * sizeof *cs);
    if (!cs) {
        for (size_t i = 0; i < n; i++) {
            calls[i].rc = -1;
            calls[i].d.status = BUDGET_UNAVAILABLE;
            snprintf(calls[i].d.detail, sizeof calls[i].d.detail, "budget: out of memory for a batch of %zu", n);
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        budget_call_t *c = &calls[i];
        c->rc = admit ? admit_call(b, tier, model, c->job_id, c->stage, c->attempt, c->micros, &cs[i], &c->d)
                      : settle_call(b, tier, c->job_id, c->stage, c->attempt, c->micros, c->gen, &cs[i], &c->d);
        if (c->rc) cs[i].script = -1; /* bad arguments: answered already */
    }
    int ok = decide_batch(b, cs, calls, n);
    free(cs);
    return ok;
}

int budget_admit_batch(budget_t *b, const char *tier, const char *model, budget_call_t *calls,
                       size_t n) {
    return run_batch(b, tier, model, calls, n, true);
}

int budget_settle_batch(budget_t *b, const char *tier, budget_call_t *calls, size_t n) {
    return run_batch(b, tier, NULL, calls, n, false);
}

/* ==== Snapshot and operator commands ==== */

static const tier_config_t *tier_or_fail(budget_t *b, const char *tier, char *prefix, size_t plen) {
    const tier_config_t *t = tier ? config_tier(&b->cfg, tier) : NULL;
    if (!t) {
        snprintf(b->errstr, sizeof b->errstr,
                 "budget: tier: expected \"preview\", \"production\" or \"backfill\", found \"%s\"",
                 tier ? tier : "(null)");
        return NULL;
    }
    tier_prefix(t, prefix, plen);
    return t;
}

static budget_model_usage_t *model_usage(budget_snapshot_t *s, const char *name) {
    for (int i = 0; i < s->n_models; i++)
        if (!strcmp(s->models[i].model, name)) return &s->models[i];
    if (s->n_models >= BUDGET_MAX_MODELS) return NULL;
    budget_model_usage_t *m = &s->models[s->n_models++];
    snprintf(m->model, sizeof m->model, "%s", name);
    return m;
}

int budget_snapshot(budget_t *b, const char *tier, budget_snapshot_t *out) {
    memset(out, 0, sizeof *out);
    char prefix[48], leases[64], ovk[64], cap[24], win[16], deferred[64];
    pthread_mutex_lock(&b->mu);
    const tier_config_t *t = tier_or_fail(b, tier, prefix, sizeof prefix);
    if (!t) {
        pthread_mutex_unlock(&b->mu);
        return -1;
    }
    snprintf(out->tier, sizeof out->tier, "%s", t->name);
    snprintf(deferred, sizeof deferred, "%s:deferred", prefix);
    snprintf(leases, sizeof leases, "%s:leases", prefix);
    snprintf(ovk, sizeof ovk, "%s:override", prefix);
    snprintf(cap, sizeof cap, "%" PRId64, t->cap_micros);
    snprintf(win, sizeof win, "%d", t->window_s > 0 ? t->window_s : 3600);
    const char *args[SNAPSHOT_NKEYS + SNAPSHOT_ARGC] = {
        [KEY_AT(SNAPSHOT_KEY_LEASES)] = leases,
        [KEY_AT(SNAPSHOT_KEY_OVERRIDE)] = ovk,
        [KEY_AT(SNAPSHOT_KEY_DEFERRED)] = deferred,
        [ARG_AT(SNAPSHOT_NKEYS, SNAPSHOT_ARG_PREFIX)] = prefix,
        [ARG_AT(SNAPSHOT_NKEYS, SNAPSHOT_ARG_CFG_CAP)] = cap,
        [ARG_AT(SNAPSHOT_NKEYS, SNAPSHOT_ARG_CFG_WINDOW_S)] = win,
    };
    budget_status_t st;
    redisReply *r = run_script(b, SCRIPT_SNAPSHOT, SNAPSHOT_NKEYS, SNAPSHOT_NKEYS + SNAPSHOT_ARGC, args, &st);
    int rc = -1;
    if (!r) goto done;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 9 ||
        r->element[7]->type != REDIS_REPLY_ARRAY) {
        snprintf(b->errstr, sizeof b->errstr,
                 "redis at %s: snapshot: expected a 9-element array, found reply type %d", b->addr,
                 r->type);
        goto done;
    }
    out->cap_micros = reply_int(r->element[0]);
    out->window_s = (int)reply_int(r->element[1]);
    out->window_id = reply_int(r->element[2]);
    out->window_reset_ms = reply_int(r->element[3]);
    out->in_flight = reply_int(r->element[4]);
    out->overridden = reply_int(r->element[5]) != 0;
    out->now_ms = reply_int(r->element[6]);
    out->deferred = reply_int(r->element[8]);
    const redisReply *h = r->element[7];
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const char *f = h->element[i]->str;
        int64_t v = reply_int(h->element[i + 1]);
        budget_model_usage_t *m;
        if (!f) continue;
        if (!strcmp(f, "spent")) out->spent_micros = v;
        else if (!strcmp(f, "reserved")) out->reserved_micros = v;
        else if (!strcmp(f, "admitted")) out->admitted = v;
        else if (!strcmp(f, "settled")) out->settled = v;
        else if (!strcmp(f, "released")) out->released = v;
        else if (!strcmp(f, "expired")) out->expired = v;
        else if (!strcmp(f, "charged_unsettled")) out->charged_unsettled_micros = v;
        else if (!strcmp(f, "late_settles")) out->late_settles = v;
        else if (!strncmp(f, "spent:", 6) && (m = model_usage(out, f + 6))) m->spent_micros = v;
        else if (!strncmp(f, "reserved:", 9) && (m = model_usage(out, f + 9))) m->reserved_micros = v;
    }
    rc = 0;
done:
    if (r) freeReplyObject(r);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int budget_set_cap(budget_t *b, const char *tier, int64_t cap_micros, int window_s) {
    char prefix[48], ovk[64], cap[24], win[16];
    pthread_mutex_lock(&b->mu);
    int rc = -1;
    if (!tier_or_fail(b, tier, prefix, sizeof prefix)) goto done;
    if (cap_micros < 0 || window_s < 0) {
        snprintf(b->errstr, sizeof b->errstr,
                 "budget_set_cap: expected a cap >= 0 micros and a window >= 0 s, found %" PRId64
                 " and %d", cap_micros, window_s);
        goto done;
    }
    snprintf(ovk, sizeof ovk, "%s:override", prefix);
    snprintf(cap, sizeof cap, "%" PRId64, cap_micros);
    snprintf(win, sizeof win, "%d", window_s);
    const char *argv[] = {"HSET", ovk, "cap_micros", cap, "window_s", win};
    if (ensure_connected(b, true)) goto done;
    redisReply *r = command(b, window_s > 0 ? 6 : 4, argv);
    if (!r) goto done;
    if (r->type == REDIS_REPLY_ERROR)
        snprintf(b->errstr, sizeof b->errstr, "redis at %s: HSET %s: %.200s", b->addr, ovk, r->str);
    else {
        mark_up(b);
        rc = 0;
    }
    freeReplyObject(r);
done:
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int budget_record_verdict(budget_t *b, const task_t *task, const char *verdict) {
    char key[JOB_KEY_LEN], vkey[256], retention[16];
    job_key(&task->job, key, sizeof key);
    if (strlen(key) > BUDGET_MAX_ID) return 0; /* no decision was ever made under it */
    verdict_key(key, vkey, sizeof vkey);
    snprintf(retention, sizeof retention, "%d", BUDGET_RETENTION_S);
    decision_call_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.prefix, sizeof c.prefix, "{pressroom}");
    const char *args[VERDICT_NKEYS + VERDICT_ARGC] = {
        [KEY_AT(VERDICT_KEY_VERDICT)] = vkey,
        [ARG_AT(VERDICT_NKEYS, VERDICT_ARG_PREFIX)] = c.prefix,
        [ARG_AT(VERDICT_NKEYS, VERDICT_ARG_VERDICT)] = verdict,
        [ARG_AT(VERDICT_NKEYS, VERDICT_ARG_RETENTION_S)] = retention,
    };
    _Static_assert(sizeof args <= sizeof c.args, "verdict's keys and arguments fit a decision call");
    memcpy(c.args, args, sizeof args);
    call_script(&c, SCRIPT_VERDICT, VERDICT_NKEYS, VERDICT_NKEYS + VERDICT_ARGC);
    budget_decision_t d;
    return decide_locked(b, &c, &d);
}

int budget_verify_charges(budget_t *b, task_t *task) {
    int64_t settled[TASK_MAX_CHARGES];
    char key[JOB_KEY_LEN];
    job_key(&task->job, key, sizeof key);
    pthread_mutex_lock(&b->mu);
    int rc = 0;
    for (int i = 0; i < task->n_charges && rc == 0; i++) {
        const charge_t *c = &task->charges[i];
        const tier_config_t *t = config_tier(&b->cfg, task->backfill ? "backfill" : stage_name(c->stage));
        settled[i] = 0;
        if (!t || strlen(key) > BUDGET_MAX_ID) continue; /* no such tier: nothing settled */
        char prefix[48], dkey[512], attempt[16];
        tier_prefix(t, prefix, sizeof prefix);
        snprintf(dkey, sizeof dkey, "%s:d:%s:%s:%d", prefix, key, stage_name(c->stage), c->attempt);
        snprintf(attempt, sizeof attempt, "%d", c->attempt);
        const char *argv[] = {"HMGET", dkey, "state", "charged"};
        redisReply *r = ensure_connected(b, false) ? NULL : command(b, 4, argv);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            rc = -1;
        } else {
            const redisReply *st = r->element[0];
            if (st->type == REDIS_REPLY_STRING && !strcmp(st->str, "settled")) settled[i] = reply_int(r->element[1]);
            mark_up(b);
        }
        if (r) freeReplyObject(r);
    }
    pthread_mutex_unlock(&b->mu);
    if (rc) return -1;
    int changed = 0;
    for (int i = 0; i < task->n_charges; i++)
        if (task->charges[i].micros != settled[i]) {
            task->charges[i].micros = settled[i];
            changed++;
        }
    return changed;
}

/* ==== Deferred jobs ==== */

/* The three keys every deferred-job script takes, and the override (claim's fourth). */
typedef struct {
    char prefix[48], waiting[64], claimed[80], bodies[80], ovk[64];
} deferred_keys_t;

static const tier_config_t *deferred_keys(budget_t *b, const char *tier, deferred_keys_t *k) {
    const tier_config_t *t = tier_or_fail(b, tier, k->prefix, sizeof k->prefix);
    if (!t) return NULL;
    snprintf(k->waiting, sizeof k->waiting, "%s:deferred", k->prefix);
    snprintf(k->claimed, sizeof k->claimed, "%s:deferred:claimed", k->prefix);
    snprintf(k->bodies, sizeof k->bodies, "%s:deferred:body", k->prefix);
    snprintf(k->ovk, sizeof k->ovk, "%s:override", k->prefix);
    return t;
}

int budget_defer(budget_t *b, const char *tier, const char *id, const char *topic, const char *key,
                 const char *payload, size_t len, int64_t due_ms) {
    deferred_keys_t k;
    char due[24];
    snprintf(due, sizeof due, "%" PRId64, due_ms);
    size_t blen = strlen(topic) + strlen(key) + len + 3;
    char *body = xmalloc(blen);
    int n = snprintf(body, blen, "%s\n%s\n", topic, key);
    memcpy(body + n, payload, len);
    body[n + len] = 0;
    pthread_mutex_lock(&b->mu);
    int rc = -1;
    if (deferred_keys(b, tier, &k) && !strchr(topic, '\n') && !strchr(key, '\n') && strlen(body) == blen - 1) {
        const char *args[DEFER_NKEYS + DEFER_ARGC] = {
            [KEY_AT(DEFERRED_KEY_WAITING)] = k.waiting,
            [KEY_AT(DEFERRED_KEY_CLAIMED)] = k.claimed,
            [KEY_AT(DEFERRED_KEY_BODIES)] = k.bodies,
            [ARG_AT(DEFER_NKEYS, DEFER_ARG_PREFIX)] = k.prefix,
            [ARG_AT(DEFER_NKEYS, DEFER_ARG_ID)] = id,
            [ARG_AT(DEFER_NKEYS, DEFER_ARG_DUE_MS)] = due,
            [ARG_AT(DEFER_NKEYS, DEFER_ARG_BODY)] = body,
        };
        budget_status_t st;
        redisReply *r = run_script(b, SCRIPT_DEFER, DEFER_NKEYS, DEFER_NKEYS + DEFER_ARGC, args, &st);
        if (r && r->type == REDIS_REPLY_INTEGER) rc = 0;
        else if (r) snprintf(b->errstr, sizeof b->errstr, "redis at %s: defer: unexpected reply", b->addr);
        if (r) freeReplyObject(r);
    } else if (b->errstr[0] == 0) {
        snprintf(b->errstr, sizeof b->errstr, "budget: defer: a topic, key and message without newlines and NULs");
    }
    pthread_mutex_unlock(&b->mu);
    free(body);
    return rc;
}

int budget_claim_deferred(budget_t *b, const char *tier, int64_t worst_micros, int max, int claim_ttl_s,
                          budget_deferred_t *out, int64_t *waiting) {
    deferred_keys_t k;
    char worst[24], cap[24], win[16], maxs[16], ttl[16];
    pthread_mutex_lock(&b->mu);
    int n = -1;
    const tier_config_t *t = deferred_keys(b, tier, &k);
    if (!t) goto done;
    snprintf(worst, sizeof worst, "%" PRId64, worst_micros);
    snprintf(cap, sizeof cap, "%" PRId64, t->cap_micros);
    snprintf(win, sizeof win, "%d", t->window_s > 0 ? t->window_s : 3600);
    snprintf(maxs, sizeof maxs, "%d", max);
    snprintf(ttl, sizeof ttl, "%d", claim_ttl_s);
    const char *args[CLAIM_NKEYS + CLAIM_ARGC] = {
        [KEY_AT(DEFERRED_KEY_WAITING)] = k.waiting,
        [KEY_AT(DEFERRED_KEY_CLAIMED)] = k.claimed,
        [KEY_AT(DEFERRED_KEY_BODIES)] = k.bodies,
        [KEY_AT(DEFERRED_KEY_OVERRIDE)] = k.ovk,
        [ARG_AT(CLAIM_NKEYS, CLAIM_ARG_PREFIX)] = k.prefix,
        [ARG_AT(CLAIM_NKEYS, CLAIM_ARG_WORST_MICROS)] = worst,
        [ARG_AT(CLAIM_NKEYS, CLAIM_ARG_CFG_CAP)] = cap,
        [ARG_AT(CLAIM_NKEYS, CLAIM_ARG_CFG_WINDOW_S)] = win,
        [ARG_AT(CLAIM_NKEYS, CLAIM_ARG_MAX)] = maxs,
        [ARG_AT(CLAIM_NKEYS, CLAIM_ARG_CLAIM_TTL_S)] = ttl,
    };
    budget_status_t st;
    redisReply *r = run_script(b, SCRIPT_CLAIM_DEFERRED, CLAIM_NKEYS, CLAIM_NKEYS + CLAIM_ARGC, args, &st);
    if (!r) goto done;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->elements % 2 != 1) {
        snprintf(b->errstr, sizeof b->errstr, "redis at %s: claim_deferred: unexpected reply", b->addr);
        freeReplyObject(r);
        goto done;
    }
    if (waiting) *waiting = reply_int(r->element[0]);
    n = 0;
    for (size_t i = 1; i + 1 < r->elements && n < max; i += 2) {
        const redisReply *id = r->element[i], *body = r->element[i + 1];
        if (id->type != REDIS_REPLY_STRING || body->type != REDIS_REPLY_STRING) continue;
        const char *nl1 = memchr(body->str, '\n', body->len);
        const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', body->len - (size_t)(nl1 + 1 - body->str)) : NULL;
        if (!nl2) continue; /* not ours: left claimed, it expires back and is skipped again */
        budget_deferred_t *d = &out[n++];
        memset(d, 0, sizeof *d);
        snprintf(d->id, sizeof d->id, "%.*s", (int)id->len, id->str);
        snprintf(d->topic, sizeof d->topic, "%.*s", (int)(nl1 - body->str), body->str);
        snprintf(d->key, sizeof d->key, "%.*s", (int)(nl2 - nl1 - 1), nl1 + 1);
        d->len = body->len - (size_t)(nl2 + 1 - body->str);
        d->payload = xmalloc(d->len + 1);
        memcpy(d->payload, nl2 + 1, d->len);
        d->payload[d->len] = 0;
    }
    freeReplyObject(r);
    mark_up(b);
done:
    pthread_mutex_unlock(&b->mu);
    return n;
}

int budget_finish_deferred(budget_t *b, const char *tier, const char *id) {
    deferred_keys_t k;
    pthread_mutex_lock(&b->mu);
    int rc = -1;
    if (deferred_keys(b, tier, &k)) {
        const char *args[FINISH_NKEYS + FINISH_ARGC] = {
            [KEY_AT(DEFERRED_KEY_WAITING)] = k.waiting,
            [KEY_AT(DEFERRED_KEY_CLAIMED)] = k.claimed,
            [KEY_AT(DEFERRED_KEY_BODIES)] = k.bodies,
            [ARG_AT(FINISH_NKEYS, FINISH_ARG_PREFIX)] = k.prefix,
            [ARG_AT(FINISH_NKEYS, FINISH_ARG_ID)] = id,
        };
        budget_status_t st;
        redisReply *r = run_script(b, SCRIPT_FINISH_DEFERRED, FINISH_NKEYS, FINISH_NKEYS + FINISH_ARGC, args, &st);
        if (r) {
            rc = 0;
            freeReplyObject(r);
        }
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void budget_set_lease_ttl(budget_t *b, const char *tier, int lease_ttl_s) {
    pthread_mutex_lock(&b->mu);
    tier_config_t *t = (tier_config_t *)config_tier(&b->cfg, tier); /* b's own copy */
    if (t && lease_ttl_s > 0) t->lease_ttl_s = lease_ttl_s;
    pthread_mutex_unlock(&b->mu);
}

int budget_reset(budget_t *b, const char *tier) {
    char prefix[48], leases[64], ovk[64], win[16];
    pthread_mutex_lock(&b->mu);
    int rc = -1;
    const tier_config_t *t = tier_or_fail(b, tier, prefix, sizeof prefix);
    if (t) {
        snprintf(leases, sizeof leases, "%s:leases", prefix);
        snprintf(ovk, sizeof ovk, "%s:override", prefix);
        snprintf(win, sizeof win, "%d", t->window_s > 0 ? t->window_s : 3600);
        const char *args[RESET_NKEYS + RESET_ARGC] = {
            [KEY_AT(RESET_KEY_LEASES)] = leases,
            [KEY_AT(RESET_KEY_OVERRIDE)] = ovk,
            [ARG_AT(RESET_NKEYS, RESET_ARG_PREFIX)] = prefix,
            [ARG_AT(RESET_NKEYS, RESET_ARG_CFG_WINDOW_S)] = win,
        };
        budget_status_t st;
        redisReply *r = run_script(b, SCRIPT_RESET, RESET_NKEYS, RESET_NKEYS + RESET_ARGC, args, &st);
        if (r) {
            rc = 0;
            freeReplyObject(r);
        }
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}
