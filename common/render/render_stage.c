/* render_stage.c — admit, render, store, settle, verify; see render_stage.h. */
#include "render/render_stage.h"
#include "base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "blob/blob_pool.h"
#include "blob/blobstore.h"
#include "budget/budget.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/prompt.h"
#include "model/model_client.h"
#include "route/route.h"
#include "runtime/loop.h"

#define REDIS_RETRY_MS 1000
#define SETTLE_RETRY_MS 500
#define CLAIM_EVERY_MS 1000   /* how often deferred jobs are asked back from Redis */
#define CLAIM_MAX 64          /* deferred jobs claimed per call */
#define CLAIM_TTL_S 60        /* a claim not finished by then is claimable again */
#define RATE_HORIZON_MS 30000 /* a retry or fallback takes a rate slot at most this far ahead */

/* One render in flight, being stored, or waiting for its charge to be recorded. */
typedef struct render {
    input_t *in;
    task_t task;
    char key[JOB_KEY_LEN];   /* job_key(): the revision's decisions in Redis */
    char prompt[4096];
    render_result_t *result; /* set once the model answered and settle is pending */
    char uri[1024];          /* where the image is stored */
    int64_t retry_at_ms;     /* non-zero: stored, the charge waits for Redis */
    int64_t lease_gen;       /* the reservation admission made for it */
    struct render *next;     /* rs->unsettled */
    struct render *live_prev, *live_next; /* rs->live: every render holding a lease */
} render_t;

/* A job waiting for the next admission batch (the before-sleep hook). */
typedef struct {
    input_t *in;
    task_t task;
    char key[JOB_KEY_LEN];
} pending_t;

/* A replayed (settled) render whose image is being looked for in the store. */
typedef struct replay {
    input_t *in;
    task_t task;
    budget_decision_t d;
    char uri[1024];
    struct replay *prev, *next; /* rs->replays */
} replay_t;

struct render_stage {
    const config_t *cfg;
    const tier_config_t *tier;
    model_client_t *mc;
    budget_t *budget;
    blob_store_t *store;     /* validated at start-up */
    blob_pool_t *blobs;      /* puts and existence checks, off the loop */
    int n_storing;           /* rendered, the image's put not yet done */
    replay_t *replays;       /* settled renders whose stored image is being looked for */
    int n_replays;
    int64_t worst_case_micros;
    int inflight;            /* model requests */
    render_t *unsettled;     /* rendered, charge not yet recorded (Redis down) */
    render_t *live;          /* every render holding a lease, in flight or unsettled */
    int n_live;
    int64_t next_renew_ms;   /* monotonic: when the live leases are renewed next */
    int lease_ttl_s;         /* the tier's, or derived from the longest request */
    budget_lease_t *renewing; /* scratch for a renewal */
    int cap_renewing;
    int n_unsettled;
    bool deferred_logged;    /* one log line per deferral episode */
    worker_t *w;
    pending_t *pending;      /* admissions for the next batch */
    int n_pending, cap_pending;
    budget_call_t *calls;    /* scratch for a batch: cap_calls entries */
    render_t **settling;     /* scratch: renders settled in this batch */
    int *order;              /* scratch: a batch's entries, the stage's tier first, then the lane's */
    bool *lane;              /* scratch: which entries are the backfill lane's */
    int cap_calls;
    metric_t *http_attempts, *render_seconds; /* per tier: found once, counted per render */
    /* Deferred jobs (budget_defer): claimed back every CLAIM_EVERY_MS and published to
     * their topic; the ids the broker acknowledged wait here to be finished in Redis. */
    int64_t next_claim_ms;   /* monotonic */
    int republishing;        /* published, not yet acknowledged */
    struct republication *republished; /* acknowledged, to finish in Redis */
    int n_republished, cap_republished;
    metric_t *deferred_waiting, *lane_deferred_waiting;
    budget_snapshot_t window; /* the tier's window as Redis saw it at the last stats turn */
    bool have_window;
};

/* The budget tier a render is admitted and charged in: the stage's, or the backfill
 * lane's (its own cap and window: a backfill never spends the live tiers' money). */
static const char *budget_tier(const render_stage_t *rs, const task_t *t) {
    return t->backfill ? rs->cfg->backfill.name : rs->tier->name;
}

/* One deferred job on its way back to its topic. */
typedef struct republication {
    render_stage_t *rs;
    char tier[16];
    char id[sizeof ((budget_deferred_t *)0)->id];
} republication_t;

/* The model client's rate gate: retries and fallbacks take their model's slot in Redis
 * (admission took the first attempt's). */
static int rate_gate(void *ctx, const char *model, int64_t *delay_ms) {
    render_stage_t *rs = ctx;
    budget_decision_t d;
    if (budget_rate_slot(rs->budget, rs->tier->name, model, RATE_HORIZON_MS, &d) != 0) return -1;
    *delay_ms = d.retry_after_ms;
    return d.status == BUDGET_ADMITTED ? 0 : 1;
}

/* The stage's verdicts (a failed render, a refused image) are recorded like the
 * verifier's: a replay of the revision then ends at admission. */
static int check_charges(void *ctx, task_t *task) {
    render_stage_t *rs = ctx;
    return budget_verify_charges(rs->budget, task);
}
static int record_verdict(void *ctx, const task_t *task, const char *verdict) {
    render_stage_t *rs = ctx;
    return budget_record_verdict(rs->budget, task, verdict);
}
/* A deferred job's message goes to Redis under its render decision's id, due when the
 * window turns; the input then ends (route_apply). */
static int hold_deferred(void *ctx, const input_t *in, const task_t *task, int64_t due_ms) {
    render_stage_t *rs = ctx;
    char key[JOB_KEY_LEN], id[sizeof ((budget_deferred_t *)0)->id];
    snprintf(id, sizeof id, "%s:%s:%d", job_key(&task->job, key, sizeof key), stage_name(task->stage),
             task->attempt);
    return budget_defer(rs->budget, budget_tier(rs, task), id, input_topic(in), task->job.job_id, input_payload(in),
                        input_len(in), due_ms);
}

static render_stage_t *render_stage_new(worker_t *w, const tier_config_t *tier, char *err, size_t errlen) {
    const config_t *cfg = worker_config(w);
    render_stage_t *rs = xcalloc(1, sizeof *rs);
    rs->w = w;
    rs->cfg = cfg;
    rs->tier = tier;
    rs->mc = model_client_new(cfg, tier, worker_loop(w), err, errlen);
    if (!rs->mc) {
        free(rs);
        return NULL;
    }
    rs->budget = budget_connect(cfg, err, errlen);
    if (!rs->budget) {
        model_client_free(rs->mc);
        free(rs);
        return NULL;
    }
    rs->store = blob_store_open(cfg, err, errlen);
    rs->blobs = rs->store ? blob_pool_new(rs->store, cfg->blob_threads, err, errlen) : NULL;
    if (!rs->blobs) {
        blob_store_free(rs->store);
        budget_free(rs->budget);
        model_client_free(rs->mc);
        free(rs);
        return NULL;
    }
    rs->worst_case_micros = model_client_worst_case_micros(rs->mc);
    rs->have_window = budget_snapshot(rs->budget, tier->name, &rs->window) == 0; /* /metrics before 10 s */
    /* A lease must outlive the longest request: between two renewals nothing else keeps
     * a live render's reservation from being taken for a dead worker's. */
    int64_t longest = model_client_longest_request_ms(rs->mc);
    int need_s = (int)((longest + 999) / 1000);
    if (tier->lease_ttl_s > 0 && tier->lease_ttl_s < need_s) {
        snprintf(err, errlen,
                 "tiers.%s.lease_ttl_s: expected at least %d s, the longest a request can take "
                 "(tiers.%s.max_latency_ms %d and max_retries %d over %d model%s: every attempt to its "
                 "timeout, every wait as long as allowed), found %d",
                 tier->name, need_s, tier->name, tier->max_latency_ms, tier->max_retries, 1 + tier->n_fallbacks,
                 tier->n_fallbacks ? "s" : "", tier->lease_ttl_s);
        blob_pool_free(rs->blobs);
        blob_store_free(rs->store);
        budget_free(rs->budget);
        model_client_free(rs->mc);
        free(rs);
        return NULL;
    }
    rs->lease_ttl_s = tier->lease_ttl_s > 0 ? tier->lease_ttl_s : (need_s * 3 / 2 > 60 ? need_s * 3 / 2 : 60);
    budget_set_lease_ttl(rs->budget, tier->name, rs->lease_ttl_s);
    budget_set_lease_ttl(rs->budget, cfg->backfill.name, rs->lease_ttl_s); /* the lane's renders are this stage's */
    model_client_set_rate_gate(rs->mc, rate_gate, rs);
    route_set_ledger(&(route_ledger_t){
        .check_charges = check_charges, .record_verdict = record_verdict, .hold = hold_deferred, .ctx = rs});
    rs->deferred_waiting = metric_get(METRIC_GAUGE, "pressroom_deferred_jobs",
                                      "Deferred jobs waiting in Redis for their window or room (not consumer lag).",
                                      "tier", tier->name, NULL);
    rs->lane_deferred_waiting = metric_get(METRIC_GAUGE, "pressroom_deferred_jobs",
                                           "Deferred jobs waiting in Redis for their window or room (not consumer lag).",
                                           "tier", cfg->backfill.name, NULL);
    rs->http_attempts = metric_get(METRIC_COUNTER, "pressroom_model_http_attempts_total",
                                   "HTTP attempts, retries and fallbacks included.", "tier", tier->name, NULL);
    rs->render_seconds = metric_get(METRIC_HISTOGRAM, "pressroom_render_seconds",
                                    "Model call time, submit to answer, retries included.", "tier", tier->name,
                                    NULL);
    return rs;
}

static void render_free(render_stage_t *rs, render_t *r);

static void live_add(render_stage_t *rs, render_t *r) {
    r->live_prev = NULL;
    r->live_next = rs->live;
    if (rs->live) rs->live->live_prev = r;
    rs->live = r;
    rs->n_live++;
}

static void live_remove(render_stage_t *rs, render_t *r) {
    if (r->live_prev) r->live_prev->live_next = r->live_next;
    else rs->live = r->live_next;
    if (r->live_next) r->live_next->live_prev = r->live_prev;
    rs->n_live--;
}

/* Every lease_ttl_s / 3, one pipelined renewal of every lease this worker holds: a
 * render that outlives its lease is never taken for a dead worker's (its worst case
 * charged, more jobs admitted past the cap). */
static void renew_leases(render_stage_t *rs) {
    int64_t now = mono_ms();
    if (!rs->n_live || now < rs->next_renew_ms) return;
    int ttl_ms = rs->lease_ttl_s * 1000;
    rs->next_renew_ms = now + ttl_ms / 3;
    if (rs->n_live > rs->cap_renewing) {
        rs->renewing = xrealloc(rs->renewing, (size_t)rs->n_live * sizeof *rs->renewing);
        rs->cap_renewing = rs->n_live;
    }
    int n = 0, n_live = 0;
    for (int pass = 0; pass < 2; pass++) /* the stage's tier, then the lane's */
        for (render_t *r = rs->live; r; r = r->live_next)
            if (r->task.backfill == (pass == 1))
                rs->renewing[n++] = (budget_lease_t){.job_id = r->key, .stage = stage_name(r->task.stage),
                                                     .attempt = r->task.attempt, .gen = r->lease_gen};
    for (render_t *r = rs->live; r; r = r->live_next) n_live += !r->task.backfill;
    int renewed = n_live ? budget_renew(rs->budget, rs->tier->name, rs->renewing, (size_t)n_live) : 0;
    int lane_renewed = n > n_live ? budget_renew(rs->budget, rs->cfg->backfill.name, rs->renewing + n_live,
                                                 (size_t)(n - n_live))
                                  : 0;
    if (renewed >= 0 && lane_renewed >= 0) renewed += lane_renewed;
    else renewed = -1;
    if (renewed < 0) {
        rs->next_renew_ms = now + 1000; /* Redis down: ask again soon */
        return;
    }
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_lease_renewals_total", "Leases renewed while their request ran.",
                          "tier", rs->tier->name, NULL),
               renewed);
    if (renewed < n) {
        char lost[16];
        snprintf(lost, sizeof lost, "%d", n - renewed);
        log_warn("leases_lost", "tier", rs->tier->name, "count", lost, "msg",
                 "leases expired before renewal (their worst cases are charged); a late settle reconciles them", NULL);
    }
}

static void render_stage_free(render_stage_t *rs) {
    if (!rs) return;
    free(rs->renewing);
    free(rs->republished); /* not finished: their claims expire and they are claimed again */
    model_client_free(rs->mc);
    /* Puts running finish, queued ones are dropped: their renders' inputs are not
     * ended, so they are redelivered (and stored then). */
    blob_pool_free(rs->blobs);
    while (rs->replays) {
        replay_t *p = rs->replays;
        rs->replays = p->next;
        free(p);
    }
    /* In flight or unsettled: their inputs are not ended, so they are redelivered. */
    while (rs->live) render_free(rs, rs->live);
    /* Never admitted: not ended, so they are redelivered. */
    free(rs->pending);
    free(rs->calls);
    free(rs->settling);
    free(rs->order);
    free(rs->lane);
    budget_free(rs->budget);
    blob_store_free(rs->store);
    free(rs);
}

static int render_stage_inflight(const render_stage_t *rs) {
    return rs->inflight + rs->n_storing + rs->n_unsettled + rs->n_pending + rs->n_replays;
}

/* Makes room for n decisions in the batch scratch arrays. */
static void reserve_calls(render_stage_t *rs, int n) {
    if (n <= rs->cap_calls) return;
    rs->calls = xrealloc(rs->calls, (size_t)n * sizeof *rs->calls);
    rs->settling = xrealloc(rs->settling, (size_t)n * sizeof *rs->settling);
    rs->order = xrealloc(rs->order, (size_t)n * sizeof *rs->order);
    rs->lane = xrealloc(rs->lane, (size_t)n * sizeof *rs->lane);
    rs->cap_calls = n;
}

/* Orders a batch of n entries (rs->lane[i] says which are the lane's) into rs->order:
 * the stage's tier first, then the lane's, each in arrival order. Returns how many are
 * the stage's: one Redis batch per tier. */
static int order_by_lane(render_stage_t *rs, int n) {
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++)
            if (rs->lane[i] == (pass == 1)) rs->order[k++] = i;
    int live = 0;
    for (int i = 0; i < n; i++) live += !rs->lane[i];
    return live;
}

/* A stored render whose charge Redis could not record yet: retried after SETTLE_RETRY_MS
 * (its input stays unended). */
static void defer_settle(render_stage_t *rs, render_t *r, int64_t now) {
    r->retry_at_ms = now + SETTLE_RETRY_MS;
    r->next = rs->unsettled;
    rs->unsettled = r;
    rs->n_unsettled++;
}


/* ==== Event metrics ==== */

static void count_admission(const render_stage_t *rs, const char *decision) {
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_admissions_total",
                          "Budget admission outcomes: admitted, replayed, over_cap, rate_limited, decided (the revision has its verdict), unavailable.",
                          "tier", rs->tier->name, "decision", decision, NULL),
               1);
}

static void count_render(const render_stage_t *rs, const render_result_t *res) {
    metric_inc(metric_get(METRIC_COUNTER, "pressroom_renders_total",
                          "Model renders by the model that answered and the result (ok or a reason).",
                          "tier", rs->tier->name, "model", res->model, "result", res->ok ? "ok" : res->reason,
                          NULL),
               1);
    metric_inc(rs->http_attempts, res->attempts);
    metric_observe(rs->render_seconds, (double)res->latency_ms / 1000.0);
}

/* ==== Admission ==== */

/* Applies the asset class's over-budget policy (route_over_budget). */
static void over_budget(render_stage_t *rs, input_t *in, const asset_class_t *cls, const task_t *task,
                        const budget_decision_t *d) {
    fate_t f = route_over_budget(cls, task, budget_tier(rs, task), d->detail, d->window_reset_ms);
    if (f.kind == FATE_DEFER && !rs->deferred_logged) {
        char reset[32];
        snprintf(reset, sizeof reset, "%lld", (long long)d->window_reset_ms);
        log_warn("budget_deferred", "tier", rs->tier->name, "job_id", task->job.job_id, "window_resets_at_ms", reset,
                 NULL);
        rs->deferred_logged = true;
    }
    route_apply(rs->w, in, task, &f, NULL);
}

/* The render request for a task: the job's size and seed, the guidance for its attempt.
 * The prompt goes into prompt (len bytes); NULL: a throwaway one (planning only). */
static render_request_t render_request_for(const render_stage_t *rs, const task_t *task, char *prompt, size_t len) {
    static char scratch[4096];
    if (!prompt) {
        prompt = scratch;
        len = sizeof scratch;
    }
    job_render_prompt(&task->job, task->guidance, prompt, len);
    return (render_request_t){.prompt = prompt,
                              .width = task->job.width,
                              .height = task->job.height,
                              .seed = task->job.seed + (uint64_t)(task->attempt - 1),
                              .guidance = route_guidance_scale(task->attempt),
                              .negative_prompt = task->guidance[0] ? "misspelled text, cropped text" : NULL,
                              .tmpl = task->job.template_name[0] ? config_template(rs->cfg, task->job.template_name) : NULL,
                              .rate_admitted = true};
}

/* Records in the task what its render asked the provider for (the verifier checks it). */
static void task_set_render(task_t *t, const render_sent_t *s) {
    t->render = (task_render_t){.known = true, .width = s->width, .height = s->height, .seed_sent = s->seed_sent};
    snprintf(t->render.aspect_ratio, sizeof t->render.aspect_ratio, "%s", s->aspect_ratio);
    snprintf(t->render.note, sizeof t->render.note, "%s", s->note);
}

/* Hands a stored image to the verifier and ends the input. */
static void to_verifier(worker_t *w, input_t *in, task_t *task, const char *uri) {
    snprintf(task->image_uri, sizeof task->image_uri, "%s", uri);
    char *json = task_encode(task);
    worker_emit(w, in, "verify", task->job.job_id, json);
    free(json);
    input_done(w, in);
}

static void start_render(render_stage_t *rs, input_t *in, const task_t *task, const budget_decision_t *d,
                         const char *uri);

/* Acts on one admission decision (rc, d from budget_admit): park, apply the
 * over-budget policy, look for a replayed render's image, or start the render. */
static void admitted(render_stage_t *rs, input_t *in, const task_t *task, int rc, const budget_decision_t *d) {
    worker_t *w = rs->w;
    const char *id = task->job.job_id;
    count_admission(rs, rc != 0                             ? "unavailable"
                        : d->status == BUDGET_RATE_LIMITED ? "rate_limited"
                        : d->status == BUDGET_OVER_CAP     ? "over_cap"
                        : d->status == BUDGET_DECIDED      ? "decided"
                        : d->settled                       ? "replayed"
                                                           : "admitted");
    if (rc != 0) /* Redis unreachable: fail closed, retry later */
        return input_park(w, in, now_ms() + REDIS_RETRY_MS, true, "redis_unavailable");
    if (d->status == BUDGET_DECIDED) {
        /* A redelivery or replay of a revision whose verdict was given: done, nothing
         * rendered, no second verdict. */
        log_info("job_already_decided", "job_id", id, "revision", task->job.revision, "stage",
                 stage_name(task->stage), "verdict", d->detail, NULL);
        return input_done(w, in);
    }
    if (d->status == BUDGET_RATE_LIMITED)
        return input_park(w, in, now_ms() + (d->retry_after_ms > 0 ? d->retry_after_ms : 100), true, "rate_limited");
    char err[512];
    const asset_class_t *cls = route_class(rs->cfg, task->job.asset_class, err, sizeof err);
    if (!cls) return input_dlq(w, in, err);
    if (d->status == BUDGET_OVER_CAP) return over_budget(rs, in, cls, task, d);
    rs->deferred_logged = false;
    char uri[1024];
    if (blob_image_uri(rs->store, id, task->job.revision, stage_name(task->stage), task->attempt, uri, sizeof uri) !=
        0) {
        budget_decision_t rd;
        char key[JOB_KEY_LEN];
        budget_release(rs->budget, budget_tier(rs, task), job_key(&task->job, key, sizeof key),
                       stage_name(task->stage), task->attempt, d->lease_gen, &rd);
        fate_t f = {.kind = FATE_FINISH, .verdict = VERDICT_REJECTED, .reason = "storage_failed", .image_uri = ""};
        snprintf(f.detail, sizeof f.detail, "the image URI under blob_root %s does not fit", rs->cfg->blob_root);
        return route_apply(w, in, task, &f, NULL);
    }
    if (d->settled) {
        /* Maybe a replay of a finished render: is its image stored? Asked off the loop
         * (a HEAD for s3); replay_checked acts on the answer. */
        replay_t *p = xcalloc(1, sizeof *p);
        *p = (replay_t){.in = in, .task = *task, .d = *d, .next = rs->replays};
        snprintf(p->uri, sizeof p->uri, "%s", uri);
        if (rs->replays) rs->replays->prev = p;
        rs->replays = p;
        rs->n_replays++;
        blob_pool_exists(rs->blobs, uri, p);
        return;
    }
    start_render(rs, in, task, d, uri);
}

/* Sends the model request for an admitted job whose image goes to uri. */
static void start_render(render_stage_t *rs, input_t *in, const task_t *task, const budget_decision_t *d,
                         const char *uri) {
    worker_t *w = rs->w;
    render_t *r = xcalloc(1, sizeof *r);
    r->in = in;
    r->lease_gen = d->lease_gen;
    r->task = *task;
    job_key(&task->job, r->key, sizeof r->key);
    snprintf(r->uri, sizeof r->uri, "%s", uri);
    if (!r->task.started_ms) r->task.started_ms = now_ms();
    render_request_t req = render_request_for(rs, task, r->prompt, sizeof r->prompt);
    if (model_client_submit(rs->mc, &req, r) != 0) {
        free(r);
        return input_park(w, in, now_ms() + REDIS_RETRY_MS, false, "out_of_memory");
    }
    if (!rs->n_live) rs->next_renew_ms = mono_ms() + rs->lease_ttl_s * 1000 / 3;
    live_add(rs, r);
    rs->inflight++;
}

/* The store answered whether a settled render's image is there: replay it (same
 * image, same recorded charge), or render it again (stored nothing, or the store could
 * not tell: rendering again is the safe side). */
static void replay_checked(render_stage_t *rs, replay_t *p, int rc, const char *err) {
    if (p->prev) p->prev->next = p->next;
    else rs->replays = p->next;
    if (p->next) p->next->prev = p->prev;
    rs->n_replays--;
    const char *id = p->task.job.job_id;
    if (rc == 1) {
        task_t t = p->task;
        snprintf(t.model, sizeof t.model, "%s", rs->tier->model);
        render_request_t again = render_request_for(rs, &p->task, NULL, 0);
        render_sent_t sent;
        if (model_client_plan(rs->mc, &again, &sent) == 0) task_set_render(&t, &sent);
        task_add_charge(&t, p->task.stage, p->task.attempt, rs->tier->model, p->d.charged_micros);
        log_info("render_replayed", "job_id", id, "stage", stage_name(p->task.stage), NULL);
        to_verifier(rs->w, p->in, &t, p->uri);
    } else {
        if (rc < 0) log_warn("blob_exists_failed", "job_id", id, "error", err, "msg", "rendering it again", NULL);
        start_render(rs, p->in, &p->task, &p->d, p->uri);
    }
    free(p);
}

/* Is (job, stage, attempt) already being rendered here, or waiting for admission? */
static bool rendering_here(const render_stage_t *rs, const task_t *task) {
    for (const render_t *r = rs->live; r; r = r->live_next)
        if (r->task.stage == task->stage && r->task.attempt == task->attempt &&
            !strcmp(r->task.job.job_id, task->job.job_id) && !strcmp(r->task.job.revision, task->job.revision))
            return true;
    for (const replay_t *p = rs->replays; p; p = p->next)
        if (p->task.stage == task->stage && p->task.attempt == task->attempt &&
            !strcmp(p->task.job.job_id, task->job.job_id) && !strcmp(p->task.job.revision, task->job.revision))
            return true;
    for (int i = 0; i < rs->n_pending; i++) {
        const task_t *t = &rs->pending[i].task;
        if (t->stage == task->stage && t->attempt == task->attempt && !strcmp(t->job.job_id, task->job.job_id) &&
            !strcmp(t->job.revision, task->job.revision))
            return true;
    }
    return false;
}

void render_stage_start(worker_t *w, input_t *in, const task_t *task) {
    render_stage_t *rs = worker_state(w);
    /* A duplicate message of a render this worker is running waits for it, then replays
     * its stored image: never a second request for one reservation. */
    if (rendering_here(rs, task)) return input_park(w, in, now_ms() + 500, false, "in_flight");
    if (rs->n_pending == rs->cap_pending) {
        int cap = rs->cap_pending ? rs->cap_pending * 2 : 64;
        rs->pending = xrealloc(rs->pending, (size_t)cap * sizeof *rs->pending);
        rs->cap_pending = cap;
    }
    /* Decided with the rest of this turn's jobs in one Redis round trip. */
    pending_t *p = &rs->pending[rs->n_pending++];
    *p = (pending_t){.in = in, .task = *task};
    job_key(&task->job, p->key, sizeof p->key);
}

/* Admits every pending job in one batch (one Redis round trip) and acts on each
 * decision in arrival order. */
static void admit_pending(render_stage_t *rs) {
    int n = rs->n_pending;
    reserve_calls(rs, n);
    for (int i = 0; i < n; i++) rs->lane[i] = rs->pending[i].task.backfill;
    int live = order_by_lane(rs, n);
    for (int j = 0; j < n; j++) {
        const pending_t *p = &rs->pending[rs->order[j]];
        rs->calls[j] = (budget_call_t){.job_id = p->key, .stage = stage_name(p->task.stage),
                                       .attempt = p->task.attempt, .micros = rs->worst_case_micros};
    }
    if (live) budget_admit_batch(rs->budget, rs->tier->name, rs->tier->model, rs->calls, (size_t)live);
    if (n > live)
        budget_admit_batch(rs->budget, rs->cfg->backfill.name, rs->tier->model, rs->calls + live, (size_t)(n - live));
    rs->n_pending = 0; /* admitted() never queues more: it does not re-enter start */
    for (int j = 0; j < n; j++) {
        pending_t *p = &rs->pending[rs->order[j]];
        admitted(rs, p->in, &p->task, rs->calls[j].rc, &rs->calls[j].d);
    }
}

/* ==== Completion ==== */

static void render_failed(render_stage_t *rs, render_t *r) {
    task_t *t = &r->task;
    budget_decision_t d;
    budget_release(rs->budget, budget_tier(rs, t), r->key, stage_name(t->stage), t->attempt, r->lease_gen, &d);
    snprintf(t->model, sizeof t->model, "%s", r->result->model);
    char err[512];
    const asset_class_t *cls = route_class(rs->cfg, t->job.asset_class, err, sizeof err);
    if (!cls) return input_dlq(rs->w, r->in, err);
    fate_t f = route_after_render_failure(cls, t, r->result->reason, r->result->detail);
    route_apply(rs->w, r->in, t, &f, NULL);
}

/* The image's put failed: the job is rejected (storage_failed) with the render's charge
 * recorded (the provider billed it). */
static void storage_failed(render_stage_t *rs, render_t *r, const char *err) {
    task_t *t = &r->task;
    log_error("blob_put_failed", "job_id", t->job.job_id, "error", err, NULL);
    budget_decision_t d;
    budget_settle(rs->budget, budget_tier(rs, t), r->key, stage_name(t->stage), t->attempt, r->lease_gen,
                  r->result->price_micros, &d);
    task_add_charge(t, t->stage, t->attempt, r->result->model, r->result->price_micros);
    fate_t f = {.kind = FATE_FINISH, .verdict = VERDICT_REJECTED, .reason = "storage_failed", .image_uri = ""};
    snprintf(f.detail, sizeof f.detail, "%s", err);
    route_apply(rs->w, r->in, t, &f, NULL);
}

static void render_free(render_stage_t *rs, render_t *r) {
    live_remove(rs, r);
    render_result_free(r->result);
    free(r);
}

/* Records the charges of the n stored renders in rs->settling in one batch (one
 * Redis round trip): each settled one goes to the verifier; the others wait on the
 * unsettled list and are retried after SETTLE_RETRY_MS (the input stays held). */
static void settle_batch(render_stage_t *rs, int n) {
    for (int i = 0; i < n; i++) rs->lane[i] = rs->settling[i]->task.backfill;
    int live = order_by_lane(rs, n);
    for (int j = 0; j < n; j++) {
        render_t *r = rs->settling[rs->order[j]];
        rs->calls[j] = (budget_call_t){.job_id = r->key, .stage = stage_name(r->task.stage),
                                       .attempt = r->task.attempt, .micros = r->result->price_micros,
                                       .gen = r->lease_gen};
    }
    if (live) budget_settle_batch(rs->budget, rs->tier->name, rs->calls, (size_t)live);
    if (n > live) budget_settle_batch(rs->budget, rs->cfg->backfill.name, rs->calls + live, (size_t)(n - live));
    int64_t now = now_ms();
    for (int j = 0; j < n; j++) {
        render_t *r = rs->settling[rs->order[j]];
        task_t *t = &r->task;
        if (rs->calls[j].rc != 0) {
            defer_settle(rs, r, now);
            continue;
        }
        if (!strncmp(rs->calls[j].d.detail, "settled after", 13))
            log_warn("settled_after_lease_expired", "tier", budget_tier(rs, t), "job_id", t->job.job_id, "detail",
                     rs->calls[j].d.detail, NULL);
        snprintf(t->model, sizeof t->model, "%s", r->result->model);
        task_set_render(t, &r->result->sent);
        task_add_charge(t, t->stage, t->attempt, r->result->model, rs->calls[j].d.charged_micros);
        to_verifier(rs->w, r->in, t, r->uri);
        render_free(rs, r);
    }
}

/* ==== Deferred jobs coming back ==== */

static void on_republished(void *ctx, bool ok) {
    republication_t *p = ctx;
    render_stage_t *rs = p->rs;
    rs->republishing--;
    if (ok) { /* finished in Redis in the next before-sleep; not acknowledged: the claim expires */
        if (rs->n_republished == rs->cap_republished) {
            rs->cap_republished = rs->cap_republished ? rs->cap_republished * 2 : 64;
            rs->republished = xrealloc(rs->republished, (size_t)rs->cap_republished * sizeof *rs->republished);
        }
        rs->republished[rs->n_republished++] = *p;
    }
    free(p);
}

/* Claims the deferred jobs of one tier that are due or fit its window's room and
 * publishes each to its topic, where it is consumed like any job (by this worker or
 * another). Returns how many still wait, or -1 when Redis could not be asked. */
static int64_t claim_deferred(render_stage_t *rs, const char *tier) {
    budget_deferred_t items[CLAIM_MAX];
    int64_t waiting = 0;
    int n = budget_claim_deferred(rs->budget, tier, rs->worst_case_micros, CLAIM_MAX, CLAIM_TTL_S, items, &waiting);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        republication_t *p = xcalloc(1, sizeof *p);
        p->rs = rs;
        snprintf(p->tier, sizeof p->tier, "%s", tier);
        snprintf(p->id, sizeof p->id, "%s", items[i].id);
        rs->republishing++;
        log_info("deferred_job_returned", "tier", tier, "id", items[i].id, "topic", items[i].topic, NULL);
        worker_publish(rs->w, items[i].topic, items[i].key, items[i].payload, items[i].len, on_republished, p);
        free(items[i].payload);
    }
    return waiting;
}

/* Finishes the deferred jobs the broker took back, then (every CLAIM_EVERY_MS, while the
 * worker runs) claims those of the stage's tier and of the backfill lane's. */
static void return_deferred(render_stage_t *rs) {
    int done = 0;
    while (done < rs->n_republished &&
           budget_finish_deferred(rs->budget, rs->republished[done].tier, rs->republished[done].id) == 0)
        done++;
    if (done) {
        memmove(rs->republished, rs->republished + done,
                (size_t)(rs->n_republished - done) * sizeof *rs->republished);
        rs->n_republished -= done;
    }
    int64_t now = mono_ms();
    if (!worker_running(rs->w)) return;
    if (now < rs->next_claim_ms) return loop_sleep_at_most(worker_loop(rs->w), (int)(rs->next_claim_ms - now));
    rs->next_claim_ms = now + CLAIM_EVERY_MS;
    int64_t waiting = claim_deferred(rs, rs->tier->name);
    if (waiting >= 0) metric_set(rs->deferred_waiting, (double)waiting);
    waiting = claim_deferred(rs, rs->cfg->backfill.name);
    if (waiting >= 0) metric_set(rs->lane_deferred_waiting, (double)waiting);
    /* Every worker of the tier asks, so a deferred job comes back whoever deferred it. */
    loop_sleep_at_most(worker_loop(rs->w), rs->n_republished ? SETTLE_RETRY_MS : CLAIM_EVERY_MS);
}

/* Before every wait: finished renders (store, settle in one batch), charges due for a
 * retry, the admission batch, and the rate gate's slots: every Redis call of the stage
 * runs here, batched, never inside a transfer's handler. */
static void render_stage_before_sleep(void *ctx) {
    render_stage_t *rs = ctx;
    /* Charges Redis could not record yet that are due for a retry go first. */
    int n = 0;
    int64_t now = now_ms();
    for (render_t **pp = &rs->unsettled; *pp;) {
        render_t *r = *pp;
        if (r->retry_at_ms > now) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        rs->n_unsettled--;
        reserve_calls(rs, n + 1);
        rs->settling[n++] = r;
    }
    /* Stores finished (or existence answers): a stored image's charge is settled in
     * this batch, so its task is emitted only after the store acknowledged the image. */
    blob_done_t done;
    while (blob_pool_next(rs->blobs, &done)) {
        if (done.op == BLOB_OP_EXISTS) {
            replay_checked(rs, done.opaque, done.rc, done.err);
            continue;
        }
        render_t *r = done.opaque;
        rs->n_storing--;
        if (done.rc != 0) {
            storage_failed(rs, r, done.err);
            render_free(rs, r);
        } else {
            reserve_calls(rs, n + 1);
            rs->settling[n++] = r;
        }
    }
    void *opaque;
    render_result_t *res;
    while ((res = model_client_next(rs->mc, &opaque))) {
        render_t *r = opaque;
        rs->inflight--;
        r->result = res;
        count_render(rs, res);
        if (!res->ok) {
            render_failed(rs, r);
            render_free(rs, r);
        } else { /* to the store threads; settled once stored */
            rs->n_storing++;
            blob_pool_put(rs->blobs, r->uri, res->png, res->png_len, r);
        }
    }
    if (n) settle_batch(rs, n);
    if (rs->n_pending) admit_pending(rs);
    renew_leases(rs);
    return_deferred(rs);
    model_client_run_gate(rs->mc);
    if (model_client_ready(rs->mc)) loop_wake(worker_loop(rs->w)); /* answered during the batch */
    if (rs->unsettled) loop_sleep_at_most(worker_loop(rs->w), SETTLE_RETRY_MS);
}

static void render_stage_log_stats(render_stage_t *rs) {
    budget_stats_t st;
    budget_stats(rs->budget, &st);
    char rt[24], dec[24], out[24], rel[24];
    snprintf(rt, sizeof rt, "%llu", (unsigned long long)st.round_trips);
    snprintf(dec, sizeof dec, "%llu", (unsigned long long)st.decisions);
    snprintf(out, sizeof out, "%llu", (unsigned long long)st.outages);
    snprintf(rel, sizeof rel, "%llu", (unsigned long long)st.script_reloads);
    log_info("budget_stats", "tier", rs->tier->name, "redis_available", st.available ? "true" : "false",
             "redis_outages", out, "round_trips", rt, "decisions", dec, "script_reloads", rel, NULL);
    /* The fleet's spend against the cap, for /metrics: one round trip per stats turn. */
    rs->have_window = st.available && budget_snapshot(rs->budget, rs->tier->name, &rs->window) == 0;
}

/* ==== Metrics and readiness ==== */

static void render_stage_refresh_metrics(render_stage_t *rs) {
    budget_stats_t st;
    budget_stats(rs->budget, &st);
    const char *tier = rs->tier->name;
    const struct {
        metric_kind_t kind;
        const char *name, *help;
        double value;
    } budget_metrics[] = {
        {METRIC_GAUGE, "pressroom_redis_available", "1 while the budget store answers; 0 = admission fails closed.",
         st.available},
        {METRIC_COUNTER, "pressroom_redis_outages_total", "Times the budget store became unreachable.",
         (double)st.outages},
        {METRIC_COUNTER, "pressroom_redis_round_trips_total", "Round trips to the budget store.",
         (double)st.round_trips},
        {METRIC_COUNTER, "pressroom_budget_decisions_total", "Admit, settle and release decisions taken in Redis.",
         (double)st.decisions},
        {METRIC_COUNTER, "pressroom_redis_script_reloads_total", "Budget scripts reloaded after NOSCRIPT.",
         (double)st.script_reloads},
    };
    for (size_t i = 0; i < sizeof budget_metrics / sizeof budget_metrics[0]; i++)
        metric_set(metric_get(budget_metrics[i].kind, budget_metrics[i].name, budget_metrics[i].help, "tier",
                              tier, NULL),
                   budget_metrics[i].value);
    for (int i = -1; i < rs->tier->n_fallbacks; i++) {
        const char *model = i < 0 ? rs->tier->model : rs->tier->fallbacks[i];
        const char *state = model_client_breaker_state(rs->mc, model, NULL);
        metric_set(metric_get(METRIC_GAUGE, "pressroom_model_breaker_open",
                              "1 while a model's circuit breaker is open or half-open.", "tier", tier,
                              "model", model, NULL),
                   state && strcmp(state, "closed") != 0);
    }
    if (rs->have_window) {
        metric_set(metric_get(METRIC_GAUGE, "pressroom_budget_cap_usd",
                              "The tier's spend cap for the current window (0 = none), fleet-wide.", "tier", tier,
                              NULL),
                   rs->window.cap_micros / 1e6);
        metric_set(metric_get(METRIC_GAUGE, "pressroom_budget_spent_usd",
                              "Spent in the tier's current window by the whole fleet (Redis).", "tier", tier, NULL),
                   rs->window.spent_micros / 1e6);
        metric_set(metric_get(METRIC_GAUGE, "pressroom_budget_reserved_usd",
                              "Reserved by renders in flight in the tier's current window, fleet-wide.", "tier",
                              tier, NULL),
                   rs->window.reserved_micros / 1e6);
    }
    metric_set(metric_get(METRIC_GAUGE, "pressroom_unsettled_renders",
                          "Stored renders whose charge waits for Redis.", "tier", tier, NULL),
               rs->n_unsettled);
}

static const char *render_stage_not_ready(render_stage_t *rs) {
    budget_stats_t st;
    budget_stats(rs->budget, &st);
    return st.available ? NULL : "the budget store (Redis) is unreachable: admission fails closed";
}

/* ==== The worker stage ==== */

/* The store threads finished something: the before-sleep hook that runs next takes it
 * (blob_pool_next also clears the eventfd). */
static void on_blobs_ready(void *ctx, int fd, int events) {}

int render_stage_attach(worker_t *w, const tier_config_t *tier, char *err, size_t errlen) {
    render_stage_t *rs = render_stage_new(w, tier, err, errlen);
    if (!rs) return -1;
    loop_before_sleep(worker_loop(w), render_stage_before_sleep, rs);
    loop_watch(worker_loop(w), blob_pool_fd(rs->blobs), LOOP_READ, on_blobs_ready, rs);
    worker_set_state(w, rs);
    worker_set_max_inflight(w, tier->max_inflight);
    return 0;
}

static int stage_inflight(worker_t *w) { return render_stage_inflight(worker_state(w)); }
static void stage_fini(worker_t *w) { render_stage_free(worker_state(w)); }
static void stage_log_stats(worker_t *w) { render_stage_log_stats(worker_state(w)); }
static void stage_refresh_metrics(worker_t *w) { render_stage_refresh_metrics(worker_state(w)); }
static const char *stage_not_ready(worker_t *w) { return render_stage_not_ready(worker_state(w)); }

worker_stage_t render_stage_worker(const char *name, const char *input,
                                   int (*init)(worker_t *w, char *err, size_t errlen),
                                   void (*on_input)(worker_t *w, input_t *in)) {
    return (worker_stage_t){.name = name,
                            .input = input,
                            .init = init,
                            .on_input = on_input,
                            .inflight = stage_inflight,
                            .fini = stage_fini,
                            .log_stats = stage_log_stats,
                            .refresh_metrics = stage_refresh_metrics,
                            .not_ready = stage_not_ready};
}
