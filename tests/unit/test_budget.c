/* test_budget.c — budget admission against a real redis-server, started by this test
 * on a free loopback port (and a second, persistent one for the restart test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "budget/budget.h"
#include "base/clock.h"
#include "base/stats.h"
#include "base/config.h"
#include "base/log.h"

#define TEN_YEARS_S 315360000 /* a window that does not turn during a test */

/* ==== A real redis-server ==== */

typedef struct {
    pid_t pid;
    int port;
    char dir[64];
} redis_proc_t;

static redis_proc_t main_redis;
static redis_proc_t aof_redis; /* the restart test's; stopped by the group teardown too */

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len))
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

static void sleep_ms(int64_t ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

static redisContext *raw_connect(int port) {
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Starts redis-server on r->port (persistent: AOF fsync always in r->dir) and waits
 * until it answers PING. Returns 0 or -1. */
static int redis_start(redis_proc_t *r, bool persistent) {
    char port[16];
    snprintf(port, sizeof port, "%d", r->port);
    r->pid = fork();
    if (r->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        for (int fd = 3; fd < 1024; fd++) close(fd); /* hold no pipe of the test open */
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", persistent ? "yes" : "no", "--appendfsync", "always", "--dir", r->dir,
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        redisContext *c = raw_connect(r->port);
        if (c) {
            redisReply *rep = redisCommand(c, "PING");
            bool ok = rep && rep->type == REDIS_REPLY_STATUS && !strcmp(rep->str, "PONG");
            if (rep) freeReplyObject(rep);
            redisFree(c);
            if (ok) return 0;
        }
        sleep_ms(50);
    }
    return -1;
}

static void redis_kill(redis_proc_t *r) {
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

/* Runs a raw command (test setup only); fails the test on an error reply. */
static void raw_cmd(int port, const char *cmd) {
    redisContext *c = raw_connect(port);
    assert_non_null(c);
    redisReply *rep = redisCommand(c, cmd);
    assert_non_null(rep);
    assert_int_not_equal(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
    redisFree(c);
}

static int64_t redis_now_ms(int port) {
    redisContext *c = raw_connect(port);
    assert_non_null(c);
    redisReply *rep = redisCommand(c, "TIME");
    assert_true(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2);
    int64_t ms = strtoll(rep->element[0]->str, NULL, 10) * 1000 +
                 strtoll(rep->element[1]->str, NULL, 10) / 1000;
    freeReplyObject(rep);
    redisFree(c);
    return ms;
}

static int group_setup(void **state) {
    log_init("test_budget");
    log_set_level(LOG_ERROR);
    snprintf(main_redis.dir, sizeof main_redis.dir, "/tmp/pressroom-test-budget.XXXXXX");
    if (!mkdtemp(main_redis.dir)) return -1;
    main_redis.port = free_port();
    return redis_start(&main_redis, false);
}

static int group_teardown(void **state) {
    redis_kill(&aof_redis);
    redis_kill(&main_redis);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", main_redis.dir,
             aof_redis.dir[0] ? aof_redis.dir : main_redis.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Each test: an empty Redis and a config with a cap that a test sets. */
static config_t cfg;

static int test_setup(void **state) {
    raw_cmd(main_redis.port, "FLUSHALL");
    config_defaults(&cfg);
    snprintf(cfg.redis, sizeof cfg.redis, "redis://127.0.0.1:%d", main_redis.port);
    cfg.preview.cap_micros = 1000000;
    cfg.preview.window_s = TEN_YEARS_S;
    cfg.preview.lease_ttl_s = 30;
    return 0;
}

/* The request rate a provider allows for a model of the test config. */
static void set_rate(const char *model, int requests, int per_s) {
    model_config_t *m = (model_config_t *)config_model(&cfg, model);
    assert_non_null(m);
    m->rate_limit = requests;
    m->rate_period_s = per_s;
}

static budget_t *connect_ok(const config_t *c) {
    char err[256] = "";
    budget_t *b = budget_connect(c, err, sizeof err);
    if (!b) fail_msg("budget_connect: %s", err);
    return b;
}

static budget_snapshot_t snap(budget_t *b) {
    budget_snapshot_t s;
    if (budget_snapshot(b, "preview", &s)) fail_msg("budget_snapshot: %s", budget_errstr(b));
    return s;
}

#define ADMIT(b, job, attempt, worst, d) \
    budget_admit(b, "preview", "sd3.5_turbo", job, "preview", attempt, worst, d)
#define SETTLE(b, job, attempt, actual, d) budget_settle(b, "preview", job, "preview", attempt, 0, actual, d)

/* ==== Single decisions ==== */

static void test_admit_reserves_worst_case_and_settle_charges_actual(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "job-1", 1, 60000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_false(d.replayed);
    assert_int_equal(d.reserved_micros, 60000);
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.reserved_micros, 60000);
    assert_int_equal(s.spent_micros, 0);
    assert_int_equal(s.in_flight, 1);
    assert_int_equal(SETTLE(b, "job-1", 1, 20000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_true(d.settled);
    assert_int_equal(d.charged_micros, 20000);
    s = snap(b);
    assert_int_equal(s.reserved_micros, 0);
    assert_int_equal(s.spent_micros, 20000);
    assert_int_equal(s.in_flight, 0);
    assert_int_equal(s.n_models, 1);
    assert_string_equal(s.models[0].model, "sd3.5_turbo");
    assert_int_equal(s.models[0].spent_micros, 20000);
    budget_free(b);
}

static void test_settle_twice_is_one_charge(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "job-2", 1, 50000, &d), 0);
    assert_int_equal(SETTLE(b, "job-2", 1, 40000, &d), 0);
    assert_false(d.replayed);
    assert_int_equal(SETTLE(b, "job-2", 1, 45000, &d), 0);
    assert_true(d.replayed);
    assert_true(d.settled);
    assert_int_equal(d.charged_micros, 40000);
    assert_int_equal(snap(b).spent_micros, 40000);
    budget_free(b);
}

static void test_admit_after_settle_reports_the_recorded_charge(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "job-3", 2, 50000, &d), 0);
    assert_int_equal(SETTLE(b, "job-3", 2, 33000, &d), 0);
    assert_int_equal(ADMIT(b, "job-3", 2, 50000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_true(d.replayed);
    assert_true(d.settled);
    assert_int_equal(d.charged_micros, 33000);
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.spent_micros, 33000);
    assert_int_equal(s.reserved_micros, 0);
    /* Another attempt of the same job is a different decision. */
    assert_int_equal(ADMIT(b, "job-3", 3, 50000, &d), 0);
    assert_false(d.replayed);
    assert_int_equal(snap(b).reserved_micros, 50000);
    budget_free(b);
}

/* Another worker got the redelivery while the first one's lease lives: the first sent
 * its request (the provider bills it), so its worst case is charged and the second
 * renders under a new reservation. The same worker asking again gets its own back. */
/* A job revision whose verdict was recorded answers "decided" on every decision it
 * made (settled or released), so a replay ends without a render or a second verdict; a
 * changed job (another revision) is a new key, admitted and charged. */
static void test_recorded_verdict_makes_replays_decided(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    task_t t;
    memset(&t, 0, sizeof t);
    char err[256];
    const char *job = "{\"job_id\":\"rev-1\",\"asset_class\":\"thumbnail\",\"prompt\":\"p\"}";
    assert_int_equal(job_parse(job, strlen(job), &t.job, err, sizeof err), 0);
    char key[JOB_KEY_LEN];
    job_key(&t.job, key, sizeof key);
    t.stage = STAGE_PRODUCTION;
    t.attempt = 2;
    assert_int_equal(ADMIT(b, key, 1, 50000, &d), 0);
    assert_int_equal(SETTLE(b, key, 1, 30000, &d), 0);
    task_add_charge(&t, STAGE_PREVIEW, 1, "m", 30000);
    /* The production render failed: released, no charge, but a decision. */
    assert_int_equal(budget_admit(b, "production", "hifi", key, "production", 2, 90000, &d), 0);
    assert_int_equal(budget_release(b, "production", key, "production", 2, 0, &d), 0);
    int64_t spent = snap(b).spent_micros;
    assert_int_equal(budget_record_verdict(b, &t, "rejected"), 0);
    assert_int_equal(ADMIT(b, key, 1, 50000, &d), 0);
    assert_int_equal(d.status, BUDGET_DECIDED);
    assert_string_equal(d.detail, "rejected");
    assert_int_equal(budget_admit(b, "production", "hifi", key, "production", 2, 90000, &d), 0);
    assert_int_equal(d.status, BUDGET_DECIDED);
    assert_int_equal(snap(b).spent_micros, spent);
    /* Recording again is harmless; another revision of the job is not decided by it. */
    assert_int_equal(budget_record_verdict(b, &t, "rejected"), 0);
    task_t other = t;
    snprintf(other.job.revision, sizeof other.job.revision, "r2");
    job_key(&other.job, key, sizeof key);
    assert_int_equal(ADMIT(b, key, 1, 50000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_false(d.replayed);
    budget_free(b);
}

static void free_claimed(budget_deferred_t *d, int n) {
    for (int i = 0; i < n; i++) free(d[i].payload);
}

/* Deferred jobs wait in Redis until due or until the window has room; a claim hands them
 * back oldest first, leased: an unfinished claim comes back, a finished one is gone. */
static void test_deferred_jobs_come_back_when_due_or_when_there_is_room(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    budget_deferred_t got[8];
    int64_t waiting = -1;
    /* Fill the window: $1 cap, one $0.95 reservation settled. */
    assert_int_equal(ADMIT(b, "fill", 1, 950000, &d), 0);
    assert_int_equal(SETTLE(b, "fill", 1, 950000, &d), 0);
    int64_t far = now_ms() + 3600 * 1000;
    assert_int_equal(budget_defer(b, "preview", "a:preview:1", "pressroom.jobs", "a", "{\"job\":1}", 9, far), 0);
    assert_int_equal(budget_defer(b, "preview", "b:preview:1", "pressroom.jobs", "b", "{\"job\":2}", 9, far + 1), 0);
    /* A copy of a replaces it: still two. */
    assert_int_equal(budget_defer(b, "preview", "a:preview:1", "pressroom.jobs", "a", "{\"job\":1}", 9, far), 0);
    assert_int_equal(snap(b).deferred, 2);
    /* Not due and no room for a $0.10 worst case: nothing. */
    assert_int_equal(budget_claim_deferred(b, "preview", 100000, 8, 1, got, &waiting), 0);
    assert_int_equal(waiting, 2);
    /* A message with a newline in its key is refused, not stored. */
    assert_int_equal(budget_defer(b, "preview", "c:preview:1", "pressroom.jobs", "c\nx", "{}", 2, far), -1);
    /* A raised cap makes room for one: the oldest comes back, with its topic, key, bytes. */
    assert_int_equal(budget_set_cap(b, "preview", 1100000, 0), 0);
    int n = budget_claim_deferred(b, "preview", 100000, 8, 1, got, &waiting);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].id, "a:preview:1");
    assert_string_equal(got[0].topic, "pressroom.jobs");
    assert_string_equal(got[0].key, "a");
    assert_int_equal(got[0].len, 9);
    assert_string_equal(got[0].payload, "{\"job\":1}");
    assert_int_equal(waiting, 1);
    free_claimed(got, n);
    /* The claimed one takes the room: b is not handed out too. */
    assert_int_equal(budget_claim_deferred(b, "preview", 100000, 8, 1, got, &waiting), 0);
    /* The claim was never finished (the worker died): after its lease, a is back. */
    usleep(1200 * 1000);
    n = budget_claim_deferred(b, "preview", 100000, 8, 30, got, &waiting);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].id, "a:preview:1");
    free_claimed(got, n);
    assert_int_equal(budget_finish_deferred(b, "preview", "a:preview:1"), 0);
    assert_int_equal(snap(b).deferred, 1);
    /* b becomes due (deferred again with a due time in the past): it comes back without room. */
    assert_int_equal(budget_defer(b, "preview", "b:preview:1", "pressroom.jobs", "b", "{\"job\":2}", 9, now_ms() - 1), 0);
    n = budget_claim_deferred(b, "preview", 900000, 8, 30, got, &waiting);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].key, "b");
    free_claimed(got, n);
    assert_int_equal(budget_finish_deferred(b, "preview", "b:preview:1"), 0);
    assert_int_equal(snap(b).deferred, 0);
    assert_int_equal(budget_claim_deferred(b, "preview", 100000, 8, 30, got, &waiting), 0);
    assert_int_equal(waiting, 0);
    budget_free(b);
}

static void test_admit_during_live_lease_takes_over_and_charges_the_old_one(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_t *other = connect_ok(&cfg); /* another worker got the redelivery */
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "job-4", 1, 70000, &d), 0);
    assert_int_equal(d.lease_gen, 1);
    assert_int_equal(ADMIT(b, "job-4", 1, 70000, &d), 0); /* the same worker, its answer lost */
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_int_equal(d.lease_gen, 1);
    assert_int_equal(ADMIT(other, "job-4", 1, 90000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_true(d.replayed);
    assert_false(d.settled);
    assert_int_equal(d.lease_gen, 2);
    assert_int_equal(d.reserved_micros, 90000);
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.reserved_micros, 90000);
    assert_int_equal(s.spent_micros, 70000); /* the first worker's render, billed */
    assert_int_equal(s.charged_unsettled_micros, 70000);
    assert_int_equal(s.in_flight, 1);
    /* Both settle: each render is charged once, the first reconciled to its price. */
    assert_int_equal(budget_settle(b, "preview", "job-4", "preview", 1, 1, 60000, &d), 0);
    assert_int_equal(budget_settle(other, "preview", "job-4", "preview", 1, 2, 61000, &d), 0);
    s = snap(b);
    assert_int_equal(s.spent_micros, 60000 + 61000);
    assert_int_equal(s.charged_unsettled_micros, 0);
    assert_int_equal(s.reserved_micros, 0);
    budget_free(other);
    budget_free(b);
}

static void test_release_returns_the_reservation_without_charge(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "job-5", 1, 80000, &d), 0);
    assert_int_equal(budget_release(b, "preview", "job-5", "preview", 1, 0, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_false(d.replayed);
    assert_int_equal(budget_release(b, "preview", "job-5", "preview", 1, 0, &d), 0);
    assert_true(d.replayed);
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.reserved_micros, 0);
    assert_int_equal(s.spent_micros, 0);
    assert_int_equal(s.released, 1);
    assert_int_equal(s.in_flight, 0);
    /* Releasing a settled decision does not undo its charge. */
    assert_int_equal(ADMIT(b, "job-6", 1, 80000, &d), 0);
    assert_int_equal(SETTLE(b, "job-6", 1, 10000, &d), 0);
    assert_int_equal(budget_release(b, "preview", "job-6", "preview", 1, 0, &d), 0);
    assert_true(d.settled);
    assert_int_equal(snap(b).spent_micros, 10000);
    budget_free(b);
}

static void test_over_cap_reports_when_the_window_resets(void **state) {
    cfg.preview.cap_micros = 100000;
    cfg.preview.window_s = 3600;
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "a", 1, 60000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    int64_t now = redis_now_ms(main_redis.port);
    assert_int_equal(ADMIT(b, "b", 1, 60000, &d), 0);
    assert_int_equal(d.status, BUDGET_OVER_CAP);
    int64_t expect = (now / 3600000 + 1) * 3600000;
    /* The window may have turned between the two clock readings: either boundary. */
    assert_true(d.window_reset_ms == expect || d.window_reset_ms == expect + 3600000);
    assert_true(strstr(d.detail, "cap") != NULL);
    /* Exactly up to the cap is allowed. */
    assert_int_equal(ADMIT(b, "c", 1, 40000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.reserved_micros, 100000);
    budget_free(b);
}

static void test_spend_starts_over_when_the_window_turns(void **state) {
    cfg.preview.cap_micros = 100000;
    cfg.preview.window_s = 1;
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    /* Start right after a boundary so both calls land in the same window. */
    sleep_ms(1000 - redis_now_ms(main_redis.port) % 1000 + 20);
    assert_int_equal(ADMIT(b, "w1", 1, 100000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_int_equal(SETTLE(b, "w1", 1, 100000, &d), 0);
    assert_int_equal(ADMIT(b, "w2", 1, 1, &d), 0);
    assert_int_equal(d.status, BUDGET_OVER_CAP);
    int64_t wait = d.window_reset_ms - redis_now_ms(main_redis.port);
    assert_true(wait > 0 && wait <= 1000);
    sleep_ms(wait + 20);
    assert_int_equal(ADMIT(b, "w2", 1, 1, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_int_equal(snap(b).spent_micros, 0);
    budget_free(b);
}

static void test_cap_override_takes_precedence_and_reset_clears_it(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(budget_set_cap(b, "preview", 50000, 86400), 0);
    budget_snapshot_t s = snap(b);
    assert_true(s.overridden);
    assert_int_equal(s.cap_micros, 50000);
    assert_int_equal(s.window_s, 86400);
    assert_int_equal(ADMIT(b, "o1", 1, 40000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_int_equal(ADMIT(b, "o2", 1, 40000, &d), 0);
    assert_int_equal(d.status, BUDGET_OVER_CAP);
    assert_int_equal(budget_reset(b, "preview"), 0);
    s = snap(b);
    assert_false(s.overridden);
    assert_int_equal(s.cap_micros, 1000000);
    assert_int_equal(s.reserved_micros, 0);
    assert_int_equal(s.in_flight, 0);
    assert_int_equal(ADMIT(b, "o2", 1, 40000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    /* The lease dropped by the reset still charges when its render returns. */
    assert_int_equal(SETTLE(b, "o1", 1, 30000, &d), 0);
    assert_int_equal(d.charged_micros, 30000);
    s = snap(b);
    assert_int_equal(s.spent_micros, 30000);
    assert_int_equal(s.reserved_micros, 40000);
    assert_int_equal(budget_set_cap(b, "nosuchtier", 1, 0), -1);
    assert_true(strstr(budget_errstr(b), "nosuchtier") != NULL);
    budget_free(b);
}

/* Every budget key carries the one hash tag {pressroom}: in a Redis Cluster the whole
 * budget is one slot, so every script and batch goes to one node. */
static void test_keys_share_one_hash_tag_and_name_their_tier(void **state) {
    set_rate("imagen4_ultra", 5, 1);
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "k1", 1, 1000, &d), 0);
    assert_int_equal(budget_admit(b, "production", "imagen4_ultra", "k1", "production", 1, 1000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    redisContext *c = raw_connect(main_redis.port);
    redisReply *rep = redisCommand(c, "KEYS *");
    assert_true(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 6);
    for (size_t i = 0; i < rep->elements; i++) {
        const char *k = rep->element[i]->str;
        assert_true(!strncmp(k, "{pressroom}:preview:", 20) || !strncmp(k, "{pressroom}:production:", 23) ||
                    !strncmp(k, "{pressroom}:rate:", 17));
    }
    freeReplyObject(rep);
    redisFree(c);
    budget_free(b);
}

static void test_one_round_trip_per_decision(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    budget_stats_t s0, s1;
    /* Warm up: the first use of each script loads it. */
    assert_int_equal(ADMIT(b, "r0", 1, 1000, &d), 0);
    assert_int_equal(SETTLE(b, "r0", 1, 1000, &d), 0);
    budget_stats(b, &s0);
    for (int i = 1; i <= 10; i++) {
        char job[16];
        snprintf(job, sizeof job, "r%d", i);
        assert_int_equal(ADMIT(b, job, 1, 1000, &d), 0);
        assert_int_equal(SETTLE(b, job, 1, 1000, &d), 0);
    }
    budget_stats(b, &s1);
    assert_int_equal(s1.round_trips - s0.round_trips, 20);
    assert_int_equal(s1.decisions - s0.decisions, 20);
    budget_free(b);
}

static void test_invalid_arguments_are_errors_not_decisions(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(budget_admit(b, "gold", "m", "j", "preview", 1, 1, &d), -1);
    assert_int_equal(d.status, BUDGET_ERROR);
    assert_true(strstr(d.detail, "gold") != NULL);
    assert_int_equal(ADMIT(b, "", 1, 1, &d), -1);
    assert_int_equal(d.status, BUDGET_ERROR);
    assert_int_equal(ADMIT(b, "j", 1, -5, &d), -1);
    assert_int_equal(SETTLE(b, "j", 1, -5, &d), -1);
    char err[256];
    config_t bad = cfg;
    snprintf(bad.redis, sizeof bad.redis, "localhost");
    assert_null(budget_connect(&bad, err, sizeof err));
    assert_true(strstr(err, "host:port") != NULL);
    budget_free(b);
}

/* ==== Fleet behaviour ==== */

/* Several worker processes, each its own connection, admit and settle random prices
 * while this process samples the window: spent + reserved never exceeds the cap, and
 * the sum of every charge the workers were told equals the window's spend. */
static void test_concurrent_workers_never_exceed_cap_and_every_charge_is_accounted(void **state) {
    enum { WORKERS = 4, JOBS = 150 };
    const int64_t cap = 6000000;
    cfg.preview.cap_micros = cap;
    int fds[WORKERS][2];
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        assert_int_equal(pipe(fds[w]), 0);
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            char err[256];
            budget_t *b = budget_connect(&cfg, err, sizeof err);
            if (!b) _exit(2);
            srand((unsigned)(getpid() * 7919));
            int64_t charged = 0, admitted = 0, over = 0;
            for (int j = 0; j < JOBS; j++) {
                char job[32];
                snprintf(job, sizeof job, "w%d-j%d", w, j);
                int64_t worst = 10000 + rand() % 50001;
                int64_t actual = worst / 2 + rand() % (worst / 2 + 1);
                budget_decision_t d;
                if (ADMIT(b, job, 1, worst, &d)) _exit(3);
                if (d.status == BUDGET_OVER_CAP) { over++; continue; }
                if (d.status != BUDGET_ADMITTED || d.replayed) _exit(4);
                admitted++;
                if (rand() % 10 == 0) { /* a failed render */
                    if (budget_release(b, "preview", job, "preview", 1, 0, &d)) _exit(5);
                    continue;
                }
                if (SETTLE(b, job, 1, actual, &d) || d.charged_micros != actual) _exit(6);
                charged += d.charged_micros;
            }
            int64_t res[3] = {charged, admitted, over};
            if (write(fds[w][1], res, sizeof res) != sizeof res) _exit(7);
            budget_free(b);
            _exit(0);
        }
        close(fds[w][1]);
    }
    budget_t *watcher = connect_ok(&cfg);
    int running = WORKERS, samples = 0, snapshot_failures = 0, statuses[WORKERS] = {0};
    int64_t peak = 0;
    while (running > 0) { /* no assertion may leave the workers running: check after */
        budget_snapshot_t s;
        if (budget_snapshot(watcher, "preview", &s)) snapshot_failures++;
        else samples++;
        if (s.spent_micros + s.reserved_micros > peak) peak = s.spent_micros + s.reserved_micros;
        running = 0;
        for (int w = 0; w < WORKERS; w++) {
            if (!pids[w]) continue;
            if (waitpid(pids[w], &statuses[w], WNOHANG) == 0) running++;
            else pids[w] = 0;
        }
    }
    int64_t charged = 0, admitted = 0, over = 0;
    for (int w = 0; w < WORKERS; w++) {
        int64_t res[3] = {0, 0, 0};
        ssize_t n = read(fds[w][0], res, sizeof res);
        close(fds[w][0]);
        assert_int_equal(n, sizeof res);
        assert_true(WIFEXITED(statuses[w]) && WEXITSTATUS(statuses[w]) == 0);
        charged += res[0];
        admitted += res[1];
        over += res[2];
    }
    budget_snapshot_t s = snap(watcher);
    print_message("    %d samples, peak spent+reserved %" PRId64 " of cap %" PRId64
                  ", %" PRId64 " admitted, %" PRId64 " over cap, spent %" PRId64 "\n",
                  samples, peak, cap, admitted, over, s.spent_micros);
    assert_int_equal(snapshot_failures, 0);
    assert_true(peak <= cap); /* spent + reserved never passed the cap while sampled */
    assert_true(samples > 10);
    assert_true(over > 0);          /* the cap was really reached */
    assert_true(admitted > 0);
    assert_int_equal(s.spent_micros, charged);
    assert_int_equal(s.reserved_micros, 0);
    assert_int_equal(s.in_flight, 0);
    assert_true(s.spent_micros <= cap);
    budget_free(watcher);
}

static void test_replayed_batch_is_not_charged_twice(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    int64_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int j = 0; j < 40; j++) {
            char job[16];
            snprintf(job, sizeof job, "batch-%d", j);
            assert_int_equal(ADMIT(b, job, 1, 20000, &d), 0);
            assert_int_equal(d.status, BUDGET_ADMITTED);
            assert_int_equal(d.replayed, pass == 1);
            assert_int_equal(d.settled, pass == 1);
            if (pass == 1) continue; /* the worker sees "settled" and does not render */
            assert_int_equal(SETTLE(b, job, 1, 15000 + j, &d), 0);
            total += 15000 + j;
        }
        budget_snapshot_t s = snap(b);
        assert_int_equal(s.spent_micros, total);
        assert_int_equal(s.reserved_micros, 0);
    }
    /* A replay that also re-settles (a worker that does not check) changes nothing. */
    for (int j = 0; j < 40; j++) {
        char job[16];
        snprintf(job, sizeof job, "batch-%d", j);
        assert_int_equal(SETTLE(b, job, 1, 99999, &d), 0);
        assert_true(d.replayed);
        assert_int_equal(d.charged_micros, 15000 + j);
    }
    assert_int_equal(snap(b).spent_micros, total);
    budget_free(b);
}

/* A worker killed after sending its request: the provider billed the render, so the
 * expired lease's worst case is charged (charged_unsettled), never returned; the
 * redelivered job's render is a new reservation and a new charge. Redis's spend is then
 * at least what the provider billed (two renders). */
static void test_killed_worker_lease_expires_charged_and_readmit_is_a_new_charge(void **state) {
    cfg.preview.lease_ttl_s = 1;
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char err[256];
        budget_t *b = budget_connect(&cfg, err, sizeof err);
        budget_decision_t d;
        if (!b || ADMIT(b, "doomed", 1, 50000, &d) || d.status != BUDGET_ADMITTED) _exit(1);
        if (write(fd[1], "x", 1) != 1) _exit(1);
        pause(); /* rendering... until SIGKILL */
        _exit(0);
    }
    close(fd[1]);
    char c;
    assert_int_equal(read(fd[0], &c, 1), 1);
    close(fd[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    budget_t *b = connect_ok(&cfg);
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.reserved_micros, 50000);
    assert_int_equal(s.in_flight, 1);
    sleep_ms(1300);
    s = snap(b); /* any script call charges expired reservations */
    assert_int_equal(s.reserved_micros, 0);
    assert_int_equal(s.in_flight, 0);
    assert_int_equal(s.expired, 1);
    assert_int_equal(s.spent_micros, 50000);
    assert_int_equal(s.charged_unsettled_micros, 50000);

    budget_decision_t d;
    assert_int_equal(ADMIT(b, "doomed", 1, 50000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_true(d.replayed);
    assert_false(d.settled);
    assert_int_equal(d.lease_gen, 2);
    assert_int_equal(snap(b).reserved_micros, 50000);
    assert_int_equal(budget_settle(b, "preview", "doomed", "preview", 1, 2, 42000, &d), 0);
    assert_int_equal(budget_settle(b, "preview", "doomed", "preview", 1, 2, 42000, &d), 0);
    assert_true(d.replayed);
    s = snap(b);
    assert_int_equal(s.spent_micros, 50000 + 42000);
    assert_int_equal(s.reserved_micros, 0);
    assert_int_equal(s.charged_unsettled_micros, 50000);
    budget_free(b);
}

/* A render that outlived its lease (the worker was alive): the expired lease's worst
 * case was charged; the late settle reconciles it to the actual price, once, counted. */
static void test_settle_after_lease_expiry_reconciles_the_worst_case_once(void **state) {
    cfg.preview.lease_ttl_s = 1;
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "slow", 1, 50000, &d), 0);
    int64_t gen = d.lease_gen;
    sleep_ms(1200); /* the render outlived its lease */
    assert_int_equal(budget_settle(b, "preview", "slow", "preview", 1, gen, 45000, &d), 0);
    assert_int_equal(d.charged_micros, 45000);
    assert_non_null(strstr(d.detail, "after its lease expired"));
    assert_int_equal(budget_settle(b, "preview", "slow", "preview", 1, gen, 45000, &d), 0);
    assert_true(d.replayed);
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.spent_micros, 45000);
    assert_int_equal(s.reserved_micros, 0);
    assert_int_equal(s.charged_unsettled_micros, 0);
    assert_int_equal(s.late_settles, 1);
    budget_free(b);
}

/* The lease expired, the job was redelivered and re-reserved (gen 2), then the first
 * render's settle arrives: it reconciles gen 1 and leaves gen 2's reservation alone, so
 * gen 2's own settle is charged too. Nothing the provider billed is lost. */
static void test_late_settle_of_an_old_reservation_does_not_swallow_the_new_one(void **state) {
    cfg.preview.lease_ttl_s = 1;
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "twice", 1, 50000, &d), 0);
    assert_int_equal(d.lease_gen, 1);
    sleep_ms(1200);
    assert_int_equal(ADMIT(b, "twice", 1, 50000, &d), 0); /* the redelivery */
    assert_int_equal(d.lease_gen, 2);
    assert_int_equal(budget_settle(b, "preview", "twice", "preview", 1, 1, 40000, &d), 0);
    assert_int_equal(snap(b).reserved_micros, 50000); /* gen 2 still reserved */
    assert_int_equal(budget_settle(b, "preview", "twice", "preview", 1, 2, 41000, &d), 0);
    assert_false(d.replayed);
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.spent_micros, 40000 + 41000);
    assert_int_equal(s.reserved_micros, 0);
    assert_int_equal(s.charged_unsettled_micros, 0);
    budget_free(b);
}

/* Renewed leases outlive lease_ttl_s; an unrenewed one expires (and is charged). */
static void test_renewed_leases_outlive_their_ttl(void **state) {
    cfg.preview.lease_ttl_s = 1;
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "kept", 1, 30000, &d), 0);
    budget_lease_t kept = {.job_id = "kept", .stage = "preview", .attempt = 1, .gen = d.lease_gen};
    assert_int_equal(ADMIT(b, "left", 1, 20000, &d), 0);
    budget_lease_t wrong_gen = {.job_id = "left", .stage = "preview", .attempt = 1, .gen = d.lease_gen + 1};
    for (int i = 0; i < 5; i++) {
        sleep_ms(400);
        budget_lease_t both[] = {kept, wrong_gen};
        assert_int_equal(budget_renew(b, "preview", both, 2), 1); /* only the right gen */
    }
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.in_flight, 1);
    assert_int_equal(s.reserved_micros, 30000);
    assert_int_equal(s.charged_unsettled_micros, 20000);
    assert_int_equal(SETTLE(b, "kept", 1, 25000, &d), 0);
    assert_int_equal(snap(b).late_settles, 0);
    /* More leases than one script call takes. */
    enum { N = 40 };
    budget_lease_t many[N];
    char ids[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "many-%d", i);
        assert_int_equal(ADMIT(b, ids[i], 1, 100, &d), 0);
        many[i] = (budget_lease_t){.job_id = ids[i], .stage = "preview", .attempt = 1, .gen = d.lease_gen};
    }
    assert_int_equal(budget_renew(b, "preview", many, N), N);
    budget_free(b);
}

static void test_gcra_admits_n_per_period_then_rate_limits(void **state) {
    set_rate("sd3.5_turbo", 10, 2); /* one request per 200 ms, bursts of 10 */
    set_rate("imagen4_ultra", 10, 2);
    budget_t *b = connect_ok(&cfg);
    budget_t *other_worker = connect_ok(&cfg);
    budget_decision_t d;
    for (int j = 0; j < 10; j++) {
        char job[16];
        snprintf(job, sizeof job, "g%d", j);
        assert_int_equal(ADMIT(j % 2 ? b : other_worker, job, 1, 1000, &d), 0);
        assert_int_equal(d.status, BUDGET_ADMITTED);
    }
    assert_int_equal(ADMIT(b, "g10", 1, 1000, &d), 0);
    assert_int_equal(d.status, BUDGET_RATE_LIMITED);
    assert_true(d.retry_after_ms > 0 && d.retry_after_ms <= 200);
    int64_t retry_after = d.retry_after_ms;
    assert_int_equal(ADMIT(other_worker, "g10", 1, 1000, &d), 0);
    assert_int_equal(d.status, BUDGET_RATE_LIMITED);
    assert_int_equal(snap(b).reserved_micros, 10 * 1000); /* a refusal reserves nothing */
    /* Another model has its own limiter. */
    assert_int_equal(budget_admit(b, "preview", "imagen4_ultra", "g10-o", "preview", 1, 1000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    sleep_ms(retry_after + 20);
    assert_int_equal(ADMIT(b, "g10", 1, 1000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_int_equal(ADMIT(b, "g11", 1, 1000, &d), 0);
    assert_int_equal(d.status, BUDGET_RATE_LIMITED);
    budget_free(other_worker);
    budget_free(b);
}

/* Retries and fallbacks take slots from the same limiter as admission, scheduled ahead
 * within the horizon; past it nothing is taken. */
static void test_rate_slots_are_scheduled_and_shared_with_admission(void **state) {
    set_rate("sd3.5_turbo", 2, 1); /* bursts of 2, then one per 500 ms */
    budget_t *b = connect_ok(&cfg);
    budget_t *other_worker = connect_ok(&cfg);
    budget_decision_t d;
    /* Slot starts are fixed points in time: compare each wait plus the time already
     * elapsed with the schedule, so a slow machine cannot fail the test. */
    int64_t t0 = mono_us();
#define SINCE_T0_MS ((mono_us() - t0) / 1000)
    assert_int_equal(ADMIT(b, "s0", 1, 1000, &d), 0); /* admission takes the first slot */
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_int_equal(budget_rate_slot(other_worker, "preview", "sd3.5_turbo", 5000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_int_equal(d.retry_after_ms, 0); /* the burst's second slot: now */
    int64_t expect = 500;
    for (int i = 0; i < 4; i++, expect += 500) { /* then one every 500 ms, scheduled */
        assert_int_equal(budget_rate_slot(i % 2 ? b : other_worker, "preview", "sd3.5_turbo", 5000, &d), 0);
        assert_int_equal(d.status, BUDGET_ADMITTED);
        int64_t at = d.retry_after_ms + SINCE_T0_MS;
        assert_true(at >= expect - 5 && at <= expect + 200);
    }
    /* The next free slot starts 2.5 s after t0: beyond a 1 s horizon nothing is taken ... */
    assert_int_equal(budget_rate_slot(b, "preview", "sd3.5_turbo", 1000, &d), 0);
    assert_int_equal(d.status, BUDGET_RATE_LIMITED);
    int64_t at = d.retry_after_ms + SINCE_T0_MS;
    assert_true(at >= 2500 - 5 && at <= 2500 + 200); /* the slot after the four taken */
    assert_int_equal(budget_rate_slot(b, "preview", "sd3.5_turbo", 1000, &d), 0);
    at = d.retry_after_ms + SINCE_T0_MS;
    assert_true(at >= 2500 - 5 && at <= 2500 + 200); /* the same slot: nothing was taken */
    /* ... and admission sees the same queue. */
    assert_int_equal(ADMIT(b, "s1", 1, 1000, &d), 0);
    assert_int_equal(d.status, BUDGET_RATE_LIMITED);
    /* A model without a limit: always now, no Redis key. */
    assert_int_equal(budget_rate_slot(b, "preview", "imagen4_ultra", 0, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_int_equal(d.retry_after_ms, 0);
    assert_int_equal(budget_rate_slot(b, "preview", "no_such_model", 0, &d), -1);
#undef SINCE_T0_MS
    budget_free(other_worker);
    budget_free(b);
}

static void test_script_flush_between_calls_still_works(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "f0", 1, 1000, &d), 0); /* both scripts loaded */
    assert_int_equal(SETTLE(b, "f0", 1, 100, &d), 0);
    raw_cmd(main_redis.port, "SCRIPT FLUSH");
    assert_int_equal(ADMIT(b, "f1", 1, 1000, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_false(d.replayed);
    raw_cmd(main_redis.port, "SCRIPT FLUSH");
    assert_int_equal(SETTLE(b, "f1", 1, 800, &d), 0);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_false(d.replayed);
    budget_stats_t st;
    budget_stats(b, &st);
    assert_int_equal(st.script_reloads, 2);
    assert_int_equal(snap(b).spent_micros, 900);
    budget_free(b);
}

/* ==== Batches (pipelined decisions) ==== */

static void fill_calls(budget_call_t *calls, char ids[][16], int n, const char *prefix, int64_t micros) {
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], 16, "%s%d", prefix, i);
        calls[i] = (budget_call_t){.job_id = ids[i], .stage = "preview", .attempt = 1, .micros = micros};
    }
}

static void test_batch_decides_like_single_calls_in_one_round_trip(void **state) {
    budget_t *b = connect_ok(&cfg); /* cap 1,000,000 micros */
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "warm", 1, 0, &d), 0); /* loads both scripts */
    assert_int_equal(SETTLE(b, "warm", 1, 0, &d), 0);
    budget_call_t calls[13];
    char ids[13][16];
    fill_calls(calls, ids, 13, "b", 100000);
    calls[12].job_id = ""; /* bad arguments: an error for that call only */
    budget_stats_t s0, s1;
    budget_stats(b, &s0);
    assert_int_equal(budget_admit_batch(b, "preview", "sd3.5_turbo", calls, 13), 12);
    budget_stats(b, &s1);
    assert_int_equal(s1.round_trips - s0.round_trips, 1);
    assert_int_equal(s1.decisions - s0.decisions, 12);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(calls[i].rc, 0);
        assert_int_equal(calls[i].d.status, BUDGET_ADMITTED);
        assert_int_equal(calls[i].d.reserved_micros, 100000);
    }
    for (int i = 10; i < 12; i++) { /* in order: the cap is reached by the first ten */
        assert_int_equal(calls[i].rc, 0);
        assert_int_equal(calls[i].d.status, BUDGET_OVER_CAP);
        assert_true(calls[i].d.window_reset_ms > 0);
    }
    assert_int_equal(calls[12].rc, -1);
    assert_int_equal(calls[12].d.status, BUDGET_ERROR);
    assert_true(strstr(calls[12].d.detail, "decision key") != NULL);
    /* Settle the ten in one batch, then again: one charge each. */
    for (int round = 0; round < 2; round++) {
        fill_calls(calls, ids, 10, "b", 40000);
        budget_stats(b, &s0);
        assert_int_equal(budget_settle_batch(b, "preview", calls, 10), 10);
        budget_stats(b, &s1);
        assert_int_equal(s1.round_trips - s0.round_trips, 1);
        for (int i = 0; i < 10; i++) {
            assert_true(calls[i].d.settled);
            assert_int_equal(calls[i].d.charged_micros, 40000);
            assert_int_equal(calls[i].d.replayed, round == 1);
        }
    }
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.spent_micros, 400000);
    assert_int_equal(s.reserved_micros, 0);
    /* A replayed admission in a batch reports the recorded charge. */
    fill_calls(calls, ids, 1, "b", 100000);
    assert_int_equal(budget_admit_batch(b, "preview", "sd3.5_turbo", calls, 1), 1);
    assert_true(calls[0].d.replayed && calls[0].d.settled);
    assert_int_equal(calls[0].d.charged_micros, 40000);
    budget_free(b);
}

static void test_batch_after_script_flush_reloads_and_decides_every_call(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "f0", 1, 1000, &d), 0);
    raw_cmd(main_redis.port, "SCRIPT FLUSH");
    budget_call_t calls[8];
    char ids[8][16];
    fill_calls(calls, ids, 8, "fb", 1000);
    assert_int_equal(budget_admit_batch(b, "preview", "sd3.5_turbo", calls, 8), 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(calls[i].d.status, BUDGET_ADMITTED);
        assert_false(calls[i].d.replayed);
    }
    budget_stats_t st;
    budget_stats(b, &st);
    assert_int_equal(st.script_reloads, 1);
    assert_int_equal(snap(b).reserved_micros, 9000);
    budget_free(b);
}

/* ==== Redis failures ==== */

static void test_unreachable_redis_fails_closed_quickly(void **state) {
    snprintf(cfg.redis, sizeof cfg.redis, "127.0.0.1:%d", free_port());
    int64_t t0 = mono_ms();
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ADMIT(b, "u", 1, 1000, &d), -1);
        assert_int_equal(d.status, BUDGET_UNAVAILABLE);
        assert_true(strstr(d.detail, "unavailable") != NULL);
    }
    assert_int_equal(SETTLE(b, "u", 1, 1000, &d), -1);
    assert_int_equal(d.status, BUDGET_UNAVAILABLE);
    assert_true(mono_ms() - t0 < 1500);
    budget_stats_t st;
    budget_stats(b, &st);
    assert_int_equal(st.outages, 1);
    assert_false(st.available);
    budget_free(b);
}

static void test_hung_redis_fails_closed_within_about_a_second(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "h1", 1, 1000, &d), 0);
    kill(main_redis.pid, SIGSTOP); /* accepts connections, answers nothing */
    int64_t t0 = mono_ms();
    int rc = ADMIT(b, "h2", 1, 1000, &d);
    int64_t took = mono_ms() - t0;
    budget_status_t st = d.status;
    kill(main_redis.pid, SIGCONT);
    assert_int_equal(rc, -1);
    assert_int_equal(st, BUDGET_UNAVAILABLE);
    assert_true(took >= 900 && took < 1600);
    int64_t deadline = mono_ms() + 5000;
    while (ADMIT(b, "h2", 1, 1000, &d) == -1 && mono_ms() < deadline) sleep_ms(50);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    /* The timed-out admit may or may not have run in Redis: either way one reservation. */
    assert_int_equal(snap(b).reserved_micros, 2000);
    budget_free(b);
}

static void test_batch_against_unreachable_redis_fails_closed_quickly(void **state) {
    snprintf(cfg.redis, sizeof cfg.redis, "127.0.0.1:%d", free_port());
    budget_t *b = connect_ok(&cfg);
    budget_call_t calls[64];
    char ids[64][16];
    fill_calls(calls, ids, 64, "ub", 1000);
    int64_t t0 = mono_ms();
    assert_int_equal(budget_admit_batch(b, "preview", "sd3.5_turbo", calls, 64), 0);
    assert_int_equal(budget_settle_batch(b, "preview", calls, 64), 0);
    assert_true(mono_ms() - t0 < 1500);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(calls[i].rc, -1);
        assert_int_equal(calls[i].d.status, BUDGET_UNAVAILABLE);
        assert_true(strstr(calls[i].d.detail, "unavailable") != NULL);
    }
    budget_free(b);
}

static void test_hung_redis_fails_a_batch_closed_within_about_a_second(void **state) {
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    assert_int_equal(ADMIT(b, "hw", 1, 1000, &d), 0); /* loads the script */
    budget_call_t calls[32];
    char ids[32][16];
    fill_calls(calls, ids, 32, "hb", 1000);
    kill(main_redis.pid, SIGSTOP);
    int64_t t0 = mono_ms();
    int ok = budget_admit_batch(b, "preview", "sd3.5_turbo", calls, 32);
    int64_t took = mono_ms() - t0;
    kill(main_redis.pid, SIGCONT);
    assert_int_equal(ok, 0);
    for (int i = 0; i < 32; i++) assert_int_equal(calls[i].d.status, BUDGET_UNAVAILABLE);
    assert_true(took >= 900 && took < 1600);
    /* Retried after the outage: every call decided, each reserved once. */
    int64_t deadline = mono_ms() + 5000;
    while (budget_admit_batch(b, "preview", "sd3.5_turbo", calls, 32) < 32 && mono_ms() < deadline)
        sleep_ms(50);
    for (int i = 0; i < 32; i++) assert_int_equal(calls[i].d.status, BUDGET_ADMITTED);
    assert_int_equal(snap(b).reserved_micros, 33000); /* 32 + the warm-up */
    budget_free(b);
}

static void test_redis_restart_fails_closed_and_recovers_without_losing_charges(void **state) {
    redis_proc_t *r = &aof_redis;
    snprintf(r->dir, sizeof r->dir, "/tmp/pressroom-test-budget-aof.XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    r->port = free_port();
    assert_int_equal(redis_start(r, true), 0);
    snprintf(cfg.redis, sizeof cfg.redis, "127.0.0.1:%d", r->port);
    budget_t *b = connect_ok(&cfg);
    budget_decision_t d;
    int64_t expected = 0;
    for (int j = 0; j < 10; j++) {
        char job[16];
        snprintf(job, sizeof job, "p%d", j);
        assert_int_equal(ADMIT(b, job, 1, 30000, &d), 0);
        assert_int_equal(SETTLE(b, job, 1, 20000 + j, &d), 0);
        expected += 20000 + j;
    }
    for (int j = 10; j < 13; j++) { /* in flight when Redis dies */
        char job[16];
        snprintf(job, sizeof job, "p%d", j);
        assert_int_equal(ADMIT(b, job, 1, 30000, &d), 0);
        assert_int_equal(d.status, BUDGET_ADMITTED);
    }
    /* Capture the log lines of the outage. */
    char logpath[128];
    snprintf(logpath, sizeof logpath, "%s/budget-log.XXXXXX", r->dir); /* removed with the dir */
    int logfd = mkostemp(logpath, O_CLOEXEC);
    assert_true(logfd >= 0);
    fflush(stderr);
    int saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3);
    dup2(logfd, 2);
    log_set_level(LOG_INFO);
    redis_kill(r);

    int64_t t0 = mono_ms();
    assert_int_equal(ADMIT(b, "p13", 1, 30000, &d), -1);
    assert_int_equal(d.status, BUDGET_UNAVAILABLE);
    assert_int_equal(SETTLE(b, "p10", 1, 25000, &d), -1);
    assert_int_equal(d.status, BUDGET_UNAVAILABLE);
    assert_true(mono_ms() - t0 < 1500);
    budget_stats_t st;
    budget_stats(b, &st);
    assert_int_equal(st.outages, 1);

    assert_int_equal(redis_start(r, true), 0);
    int64_t deadline = mono_ms() + 5000;
    while (SETTLE(b, "p10", 1, 25000, &d) == -1 && d.status == BUDGET_UNAVAILABLE &&
           mono_ms() < deadline)
        sleep_ms(50);
    assert_int_equal(d.status, BUDGET_ADMITTED);
    assert_false(d.replayed);
    expected += 25000;
    for (int j = 11; j < 13; j++) {
        char job[16];
        snprintf(job, sizeof job, "p%d", j);
        assert_int_equal(SETTLE(b, job, 1, 25000, &d), 0);
        assert_false(d.replayed);
        expected += 25000;
    }
    for (int j = 0; j < 13; j++) { /* redeliveries after the restart */
        char job[16];
        snprintf(job, sizeof job, "p%d", j);
        assert_int_equal(SETTLE(b, job, 1, 1, &d), 0);
        assert_true(d.replayed);
    }
    log_set_level(LOG_ERROR);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    char logs[8192] = "";
    assert_true(pread(logfd, logs, sizeof logs - 1, 0) > 0);
    close(logfd);
    unlink(logpath);
    int n_down = 0, n_up = 0;
    for (const char *p = logs; (p = strstr(p, "\"redis_unavailable\"")); p++) n_down++;
    for (const char *p = logs; (p = strstr(p, "\"redis_recovered\"")); p++) n_up++;
    assert_int_equal(n_down, 1); /* once per outage, however many calls failed */
    assert_int_equal(n_up, 1);
    budget_snapshot_t s = snap(b);
    assert_int_equal(s.spent_micros, expected);
    assert_int_equal(s.reserved_micros, 0);
    budget_stats(b, &st);
    assert_int_equal(st.outages, 1);
    assert_true(st.available);
    budget_free(b);
    redis_kill(r);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup(f, test_setup)
        T(test_admit_reserves_worst_case_and_settle_charges_actual),
        T(test_settle_twice_is_one_charge),
        T(test_admit_after_settle_reports_the_recorded_charge),
        T(test_recorded_verdict_makes_replays_decided),
        T(test_deferred_jobs_come_back_when_due_or_when_there_is_room),
        T(test_admit_during_live_lease_takes_over_and_charges_the_old_one),
        T(test_release_returns_the_reservation_without_charge),
        T(test_over_cap_reports_when_the_window_resets),
        T(test_spend_starts_over_when_the_window_turns),
        T(test_cap_override_takes_precedence_and_reset_clears_it),
        T(test_keys_share_one_hash_tag_and_name_their_tier),
        T(test_one_round_trip_per_decision),
        T(test_invalid_arguments_are_errors_not_decisions),
        T(test_concurrent_workers_never_exceed_cap_and_every_charge_is_accounted),
        T(test_replayed_batch_is_not_charged_twice),
        T(test_killed_worker_lease_expires_charged_and_readmit_is_a_new_charge),
        T(test_settle_after_lease_expiry_reconciles_the_worst_case_once),
        T(test_late_settle_of_an_old_reservation_does_not_swallow_the_new_one),
        T(test_renewed_leases_outlive_their_ttl),
        T(test_gcra_admits_n_per_period_then_rate_limits),
        T(test_rate_slots_are_scheduled_and_shared_with_admission),
        T(test_script_flush_between_calls_still_works),
        T(test_batch_decides_like_single_calls_in_one_round_trip),
        T(test_batch_after_script_flush_reloads_and_decides_every_call),
        T(test_unreachable_redis_fails_closed_quickly),
        T(test_hung_redis_fails_closed_within_about_a_second),
        T(test_batch_against_unreachable_redis_fails_closed_quickly),
        T(test_hung_redis_fails_a_batch_closed_within_about_a_second),
        T(test_redis_restart_fails_closed_and_recovers_without_losing_charges),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
