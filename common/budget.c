/* budget.c — fleet-wide admission control in Redis; see budget.h for the contract
 * and budget_scripts.h for the data model and the scripts. */
#include "budget.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "budget_scripts.h"
#include "log.h"

#define BUDGET_TIMEOUT_MS 1000       /* connect and command timeout */
#define BUDGET_BACKOFF_MIN_MS 100
#define BUDGET_BACKOFF_MAX_MS 2000
#define BUDGET_RETENTION_S (7 * 86400) /* how long a decision is remembered: replays */
#define BUDGET_MAX_ID 200               /* bytes of job_id / stage */

enum { SCRIPT_ADMIT, SCRIPT_SETTLE, SCRIPT_RELEASE, SCRIPT_SNAPSHOT, SCRIPT_RESET, N_SCRIPTS };

static const char *const script_body[N_SCRIPTS] = {
    BUDGET_LUA_ADMIT, BUDGET_LUA_SETTLE, BUDGET_LUA_RELEASE, BUDGET_LUA_SNAPSHOT, BUDGET_LUA_RESET,
};

struct budget {
    config_t cfg;
    char addr[80];              /* "host:port", for messages */
    char host[64];
    int port;
    redisContext *rc;           /* NULL while disconnected */
    bool down;                  /* in an outage (already logged and counted) */
    int64_t down_since_ms;
    int64_t next_attempt_ms;    /* monotonic: no reconnect before this */
    int backoff_ms;
    bool timed_out;             /* the last failed command hit the command timeout */
    char sha[N_SCRIPTS][41];    /* SCRIPT LOAD answers; "" = not loaded yet */
    budget_stats_t stats;
    char errstr[512];
    pthread_mutex_t mu;
};

/* ==== Helpers ==== */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *budget_status_name(budget_status_t s) {
    switch (s) {
    case BUDGET_ADMITTED: return "admitted";
    case BUDGET_OVER_CAP: return "over_cap";
    case BUDGET_RATE_LIMITED: return "rate_limited";
    case BUDGET_UNAVAILABLE: return "unavailable";
    case BUDGET_ERROR: return "error";
    }
    return "?";
}

const char *budget_errstr(const budget_t *b) { return b->errstr; }

/* "host:port" or "redis://host:port[/db]" -> host, port. Returns 0 or -1. */
static int parse_addr(const char *s, char *host, size_t hostlen, int *port) {
    if (!strncmp(s, "redis://", 8)) s += 8;
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= hostlen) return -1;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || (*end && *end != '/') || p < 1 || p > 65535) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return 0;
}

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
    if (parse_addr(cfg->redis, b->host, sizeof b->host, &b->port)) {
        snprintf(err, errlen, "redis address: expected host:port or redis://host:port, found \"%s\"",
                 cfg->redis);
        free(b);
        return NULL;
    }
    snprintf(b->addr, sizeof b->addr, "%.63s:%d", b->host, b->port);
    b->backoff_ms = BUDGET_BACKOFF_MIN_MS;
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

/* ==== Script calls ==== */

/* Is this error reply a sign that Redis cannot decide right now (rather than a bug)? */
static bool transient_error(const redisReply *r) {
    return !strncmp(r->str, "LOADING", 7) || !strncmp(r->str, "MASTERDOWN", 10) ||
           !strncmp(r->str, "BUSY", 4) || !strncmp(r->str, "TRYAGAIN", 8) ||
           !strncmp(r->str, "CLUSTERDOWN", 11);
}

/* One command on the current connection. NULL = connection failure (marked down). */
static redisReply *command(budget_t *b, int argc, const char **argv) {
    b->stats.round_trips++;
    errno = 0;
    redisReply *r = redisCommandArgv(b->rc, argc, argv, NULL);
    if (!r) {
        b->timed_out = b->rc->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
        mark_down(b, b->rc->errstr[0] ? b->rc->errstr : "connection lost");
    }
    return r;
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
        /* EVALSHA sha numkeys keys... args..., or EVAL body ... after NOSCRIPT. */
        int argc = 0;
        argv[argc++] = "EVALSHA";
        argv[argc++] = b->sha[s];
        argv[argc++] = numkeys;
        for (int i = 0; i < nargs && argc < 32; i++) argv[argc++] = args[i];
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
            snprintf(b->errstr, sizeof b->errstr, "redis at %s: script failed: %.180s", b->addr, r->str);
            *status = transient_error(r) ? BUDGET_UNAVAILABLE : BUDGET_ERROR;
            if (*status == BUDGET_UNAVAILABLE) mark_down(b, r->str);
            freeReplyObject(r);
            return NULL;
        }
        mark_up(b);
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
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 8 || r->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(out->detail, sizeof out->detail,
                 "redis at %s: expected an 8-element decision array, found reply type %d", b->addr,
                 r->type);
        out->status = BUDGET_ERROR;
        return -1;
    }
    const char *st = r->element[0]->str;
    out->status = !strcmp(st, "admitted")       ? BUDGET_ADMITTED
                  : !strcmp(st, "over_cap")     ? BUDGET_OVER_CAP
                  : !strcmp(st, "rate_limited") ? BUDGET_RATE_LIMITED
                                                : BUDGET_ERROR;
    out->replayed = reply_int(r->element[1]) != 0;
    out->settled = reply_int(r->element[2]) != 0;
    out->reserved_micros = reply_int(r->element[3]);
    out->charged_micros = reply_int(r->element[4]);
    out->retry_after_ms = reply_int(r->element[5]);
    out->window_reset_ms = reply_int(r->element[6]);
    if (r->element[7]->type == REDIS_REPLY_STRING)
        snprintf(out->detail, sizeof out->detail, "%s", r->element[7]->str);
    if (out->status == BUDGET_ERROR) {
        snprintf(out->detail, sizeof out->detail, "redis at %s: unknown decision \"%.100s\"", b->addr, st);
        return -1;
    }
    b->stats.decisions++;
    return 0;
}

/* Validates the key parts and writes the tier prefix and decision key. Returns the
 * tier config, or NULL with out->detail set. */
static const tier_config_t *decision_keys(budget_t *b, const char *tier, const char *job_id,
                                          const char *stage, int attempt, char *prefix,
                                          size_t plen, char *dkey, size_t dlen,
                                          budget_decision_t *out) {
    const tier_config_t *t = tier ? config_tier(&b->cfg, tier) : NULL;
    if (!t) {
        snprintf(out->detail, sizeof out->detail,
                 "budget: tier: expected \"preview\" or \"production\", found \"%s\"",
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
    snprintf(prefix, plen, "{pressroom:%s}", t->name);
    snprintf(dkey, dlen, "%s:d:%s:%s:%d", prefix, job_id, stage, attempt);
    return t;
}

/* Shared tail of the three decisions: run, parse, report. */
static int decide(budget_t *b, int script, int nkeys, int nargs, const char **args,
                  budget_decision_t *out) {
    budget_status_t st = BUDGET_UNAVAILABLE;
    redisReply *r = run_script(b, script, nkeys, nargs, args, &st);
    if (!r) {
        out->status = st;
        snprintf(out->detail, sizeof out->detail, "%.255s", b->errstr);
        return -1;
    }
    int rc = parse_decision(b, r, out);
    freeReplyObject(r);
    return rc;
}

/* ==== Decisions ==== */

int budget_admit(budget_t *b, const char *tier, const char *model, const char *job_id,
                 const char *stage, int attempt, int64_t worst_case_micros,
                 budget_decision_t *out) {
    memset(out, 0, sizeof *out);
    out->status = BUDGET_ERROR;
    char prefix[48], dkey[512], leases[64], ovk[64], ratek[160];
    const tier_config_t *t =
        decision_keys(b, tier, job_id, stage, attempt, prefix, sizeof prefix, dkey, sizeof dkey, out);
    if (!t) return -1;
    if (!model || !*model || strlen(model) >= 64 || worst_case_micros < 0) {
        snprintf(out->detail, sizeof out->detail,
                 "budget_admit: expected a model name and a worst case >= 0 micros, found \"%.64s\" "
                 "and %" PRId64, model ? model : "(null)", worst_case_micros);
        return -1;
    }
    snprintf(leases, sizeof leases, "%s:leases", prefix);
    snprintf(ovk, sizeof ovk, "%s:override", prefix);
    snprintf(ratek, sizeof ratek, "%s:rate:%s", prefix, model);
    char worst[24], cap[24], win[16], ttl[16], lim[16], per[16], ret[16];
    snprintf(worst, sizeof worst, "%" PRId64, worst_case_micros);
    snprintf(cap, sizeof cap, "%" PRId64, t->cap_micros);
    snprintf(win, sizeof win, "%d", t->window_s > 0 ? t->window_s : 3600);
    snprintf(ttl, sizeof ttl, "%d", t->lease_ttl_s > 0 ? t->lease_ttl_s : 60);
    snprintf(lim, sizeof lim, "%d", t->rate_limit);
    snprintf(per, sizeof per, "%d", t->rate_period_s);
    snprintf(ret, sizeof ret, "%d", BUDGET_RETENTION_S);
    const char *args[] = {dkey, leases, ovk, ratek, prefix, model, worst, cap, win, ttl, lim, per, ret};
    pthread_mutex_lock(&b->mu);
    int rc = decide(b, SCRIPT_ADMIT, 4, 13, args, out);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int budget_settle(budget_t *b, const char *tier, const char *job_id, const char *stage,
                  int attempt, int64_t actual_micros, budget_decision_t *out) {
    memset(out, 0, sizeof *out);
    out->status = BUDGET_ERROR;
    char prefix[48], dkey[512], leases[64], ovk[64];
    const tier_config_t *t =
        decision_keys(b, tier, job_id, stage, attempt, prefix, sizeof prefix, dkey, sizeof dkey, out);
    if (!t) return -1;
    if (actual_micros < 0) {
        snprintf(out->detail, sizeof out->detail,
                 "budget_settle: expected an actual price >= 0 micros, found %" PRId64, actual_micros);
        return -1;
    }
    snprintf(leases, sizeof leases, "%s:leases", prefix);
    snprintf(ovk, sizeof ovk, "%s:override", prefix);
    char actual[24], cap[24], win[16], ret[16], ttl[16];
    snprintf(actual, sizeof actual, "%" PRId64, actual_micros);
    snprintf(cap, sizeof cap, "%" PRId64, t->cap_micros);
    snprintf(win, sizeof win, "%d", t->window_s > 0 ? t->window_s : 3600);
    snprintf(ret, sizeof ret, "%d", BUDGET_RETENTION_S);
    snprintf(ttl, sizeof ttl, "%d", t->lease_ttl_s > 0 ? t->lease_ttl_s : 60);
    const char *args[] = {dkey, leases, ovk, prefix, actual, cap, win, ret, ttl};
    pthread_mutex_lock(&b->mu);
    int rc = decide(b, SCRIPT_SETTLE, 3, 9, args, out);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int budget_release(budget_t *b, const char *tier, const char *job_id, const char *stage,
                   int attempt, budget_decision_t *out) {
    memset(out, 0, sizeof *out);
    out->status = BUDGET_ERROR;
    char prefix[48], dkey[512], leases[64];
    if (!decision_keys(b, tier, job_id, stage, attempt, prefix, sizeof prefix, dkey, sizeof dkey, out))
        return -1;
    snprintf(leases, sizeof leases, "%s:leases", prefix);
    const char *args[] = {dkey, leases, prefix};
    pthread_mutex_lock(&b->mu);
    int rc = decide(b, SCRIPT_RELEASE, 2, 3, args, out);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

/* ==== Snapshot and operator commands ==== */

static const tier_config_t *tier_or_fail(budget_t *b, const char *tier, char *prefix, size_t plen) {
    const tier_config_t *t = tier ? config_tier(&b->cfg, tier) : NULL;
    if (!t) {
        snprintf(b->errstr, sizeof b->errstr,
                 "budget: tier: expected \"preview\" or \"production\", found \"%s\"",
                 tier ? tier : "(null)");
        return NULL;
    }
    snprintf(prefix, plen, "{pressroom:%s}", t->name);
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
    char prefix[48], leases[64], ovk[64], cap[24], win[16];
    pthread_mutex_lock(&b->mu);
    const tier_config_t *t = tier_or_fail(b, tier, prefix, sizeof prefix);
    if (!t) {
        pthread_mutex_unlock(&b->mu);
        return -1;
    }
    snprintf(out->tier, sizeof out->tier, "%s", t->name);
    snprintf(leases, sizeof leases, "%s:leases", prefix);
    snprintf(ovk, sizeof ovk, "%s:override", prefix);
    snprintf(cap, sizeof cap, "%" PRId64, t->cap_micros);
    snprintf(win, sizeof win, "%d", t->window_s > 0 ? t->window_s : 3600);
    const char *args[] = {leases, ovk, prefix, cap, win};
    budget_status_t st;
    redisReply *r = run_script(b, SCRIPT_SNAPSHOT, 2, 5, args, &st);
    int rc = -1;
    if (!r) goto done;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 8 ||
        r->element[7]->type != REDIS_REPLY_ARRAY) {
        snprintf(b->errstr, sizeof b->errstr,
                 "redis at %s: snapshot: expected an 8-element array, found reply type %d", b->addr,
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

int budget_reset(budget_t *b, const char *tier) {
    char prefix[48], leases[64], ovk[64], win[16];
    pthread_mutex_lock(&b->mu);
    int rc = -1;
    const tier_config_t *t = tier_or_fail(b, tier, prefix, sizeof prefix);
    if (t) {
        snprintf(leases, sizeof leases, "%s:leases", prefix);
        snprintf(ovk, sizeof ovk, "%s:override", prefix);
        snprintf(win, sizeof win, "%d", t->window_s > 0 ? t->window_s : 3600);
        const char *args[] = {leases, ovk, prefix, win};
        budget_status_t st;
        redisReply *r = run_script(b, SCRIPT_RESET, 2, 4, args, &st);
        if (r) {
            rc = 0;
            freeReplyObject(r);
        }
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}
