/* admission_bench.c — how many budget decisions per second Redis gives the fleet,
 * and how many round trips a job costs.
 *
 *   admission_bench [--seconds S] [--procs N,M,...] [--keep-caps] [--procs-only]
 *
 * Uses $PRESSROOM_REDIS (or the config's redis) when set; otherwise starts its own
 * redis-server on a free loopback port and stops it at the end. Runs, each for S
 * seconds (default 2):
 *   1. one connection, serially: admit+settle pairs (a job), with per-call latency;
 *   2. one connection, serially: admit only (single decisions);
 *   3. N processes, one connection each, admit+settle pairs, for each N in --procs
 *      (default 4,8).
 * Caps and rate limits are lifted (cap 0, no GCRA) so every decision does the full
 * write path, unless --keep-caps: then the configured caps apply and over-cap
 * decisions are counted (the integration test drives spend this way). --procs-only
 * skips runs 1 and 2.
 * Prints one line per run. Exit status 1 when a decision fails (Redis unavailable,
 * error reply). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include "base/config.h"
#include "base/log.h"

typedef struct {
    int64_t jobs;        /* admitted and settled */
    int64_t decisions;   /* budget calls answered */
    int64_t over_cap;
    int64_t round_trips;
    int64_t charged;
    int64_t failures;    /* UNAVAILABLE / ERROR */
} run_result_t;

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ==== A private redis-server when none is configured ==== */

static pid_t redis_pid;

static int start_redis(char *addr, size_t len) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &alen))
        return -1;
    close(fd);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    redis_pid = fork();
    if (redis_pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", "/tmp", (char *)NULL);
        _exit(127);
    }
    snprintf(addr, len, "127.0.0.1:%s", port);
    return redis_pid > 0 ? 0 : -1;
}

/* ==== Runs ==== */

/* Admit (+ settle when `pairs`) distinct jobs for `seconds` on one connection. When
 * lat is given, stores per-call latency (µs) there, up to lat_cap samples. */
static run_result_t run_serial(const config_t *cfg, const char *tag, bool pairs, double seconds,
                               int64_t *lat, size_t lat_cap, size_t *n_lat) {
    run_result_t r = {0};
    char err[256];
    budget_t *b = budget_connect(cfg, err, sizeof err);
    if (!b) {
        fprintf(stderr, "admission_bench: %s\n", err);
        r.failures = 1;
        return r;
    }
    budget_decision_t d;
    budget_snapshot_t warm;
    budget_snapshot(b, "preview", &warm); /* connection up before the clock starts */
    budget_stats_t s0, s1;
    budget_stats(b, &s0);
    int64_t end = mono_us() + (int64_t)(seconds * 1e6);
    unsigned seed = (unsigned)getpid();
    if (n_lat) *n_lat = 0;
    for (int64_t j = 0; mono_us() < end; j++) {
        char job[64];
        snprintf(job, sizeof job, "%s-%d-%" PRId64, tag, (int)getpid(), j);
        int64_t worst = 20000 + rand_r(&seed) % 40001;
        int64_t t0 = mono_us();
        int rc = budget_admit(b, "preview", cfg->preview.model, job, "preview", 1, worst, &d);
        if (lat && *n_lat < lat_cap) lat[(*n_lat)++] = mono_us() - t0;
        if (rc) { r.failures++; break; }
        r.decisions++;
        if (d.status == BUDGET_OVER_CAP) { r.over_cap++; continue; }
        if (d.status != BUDGET_ADMITTED) continue;
        if (!pairs) { r.jobs++; continue; }
        int64_t actual = worst / 2 + rand_r(&seed) % (worst / 2 + 1);
        t0 = mono_us();
        rc = budget_settle(b, "preview", job, "preview", 1, 0, actual, &d);
        if (lat && *n_lat < lat_cap) lat[(*n_lat)++] = mono_us() - t0;
        if (rc) { r.failures++; break; }
        r.decisions++;
        r.jobs++;
        r.charged += d.charged_micros;
    }
    budget_stats(b, &s1);
    r.round_trips = (int64_t)(s1.round_trips - s0.round_trips);
    budget_free(b);
    return r;
}

/* N processes, each run_serial(pairs); sums their results. */
static run_result_t run_procs(const config_t *cfg, int procs, double seconds) {
    run_result_t total = {0};
    int fds[64][2];
    pid_t pids[64];
    for (int i = 0; i < procs; i++) {
        if (pipe(fds[i])) { perror("pipe"); exit(1); }
        pids[i] = fork();
        if (pids[i] == 0) {
            char tag[32];
            snprintf(tag, sizeof tag, "p%d", procs);
            run_result_t r = run_serial(cfg, tag, true, seconds, NULL, 0, NULL);
            ssize_t n = write(fds[i][1], &r, sizeof r);
            _exit(n == (ssize_t)sizeof r ? 0 : 1);
        }
        close(fds[i][1]);
    }
    for (int i = 0; i < procs; i++) {
        run_result_t r;
        if (read(fds[i][0], &r, sizeof r) != (ssize_t)sizeof r) {
            total.failures++;
        } else {
            total.jobs += r.jobs;
            total.decisions += r.decisions;
            total.over_cap += r.over_cap;
            total.round_trips += r.round_trips;
            total.charged += r.charged;
            total.failures += r.failures;
        }
        close(fds[i][0]);
        waitpid(pids[i], NULL, 0);
    }
    return total;
}

/* One line per run. Round trips per job count only jobs that were admitted; an
 * over-cap refusal costs one round trip and no job. */
static void report(const char *label, const run_result_t *r, double seconds) {
    printf("%-28s %9.0f jobs/s  %9.0f decisions/s  %5.2f round trips/decision",
           label, r->jobs / seconds, r->decisions / seconds,
           r->decisions ? (double)r->round_trips / (double)r->decisions : 0.0);
    if (!r->over_cap && r->jobs) printf("  %4.2f round trips/job", (double)r->round_trips / (double)r->jobs);
    printf("  (%" PRId64 " jobs, %" PRId64 " over cap, $%.2f charged)\n", r->jobs, r->over_cap,
           r->charged / 1e6);
}

int main(int argc, char **argv) {
    log_init("admission_bench");
    log_set_level(LOG_ERROR);
    double seconds = 2;
    bool keep_caps = false, procs_only = false;
    int procs[8] = {4, 8}, n_procs = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--keep-caps")) keep_caps = true;
        else if (!strcmp(argv[i], "--procs-only")) procs_only = true;
        else if (!strcmp(argv[i], "--procs") && i + 1 < argc) {
            n_procs = 0;
            for (char *tok = strtok(argv[++i], ","); tok && n_procs < 8; tok = strtok(NULL, ","))
                procs[n_procs++] = atoi(tok);
        } else {
            fprintf(stderr, "usage: admission_bench [--seconds S] [--procs N,M,...] [--keep-caps] [--procs-only]\n");
            return 2;
        }
    }
    if (seconds <= 0) seconds = 2;
    for (int i = 0; i < n_procs; i++)
        if (procs[i] < 1 || procs[i] > 64) {
            fprintf(stderr, "admission_bench: --procs: expected 1..64, found %d\n", procs[i]);
            return 2;
        }

    config_t cfg;
    char err[1024];
    if (config_load(&cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "admission_bench: %s\n", err);
        return 2;
    }
    const char *env = getenv("PRESSROOM_REDIS");
    bool own = !(env && *env) && !getenv("PRESSROOM_CONFIG");
    if (own && start_redis(cfg.redis, sizeof cfg.redis)) {
        fprintf(stderr, "admission_bench: could not start redis-server\n");
        return 1;
    }
    if (!keep_caps) {
        cfg.preview.cap_micros = 0;
        for (int i = 0; i < cfg.n_models; i++) cfg.models[i].rate_limit = 0;
    }
    if (own) { /* wait for it */
        budget_t *b = budget_connect(&cfg, err, sizeof err);
        budget_snapshot_t s;
        for (int i = 0; i < 100 && budget_snapshot(b, "preview", &s); i++) usleep(50000);
        budget_free(b);
    }
    printf("admission_bench: redis %s%s, %.1f s per run, tier preview, model %s%s\n", cfg.redis,
           own ? " (started by the bench)" : "", seconds, cfg.preview.model,
           keep_caps ? ", configured caps" : ", no cap, no rate limit");

    int rc = 0;
    run_result_t r;
    if (!procs_only) {
        size_t lat_cap = 2000000, n_lat = 0;
        int64_t *lat = malloc(lat_cap * sizeof *lat);
        r = run_serial(&cfg, "s", true, seconds, lat, lat_cap, &n_lat);
        report("1 connection, admit+settle", &r, seconds);
        if (n_lat) {
            qsort(lat, n_lat, sizeof *lat, cmp_i64);
            printf("%-28s p50 %.3f ms  p99 %.3f ms  max %.3f ms per decision\n", "",
                   lat[n_lat / 2] / 1e3, lat[n_lat * 99 / 100] / 1e3, lat[n_lat - 1] / 1e3);
        }
        rc |= r.failures > 0;
        free(lat);
        r = run_serial(&cfg, "a", false, seconds, NULL, 0, NULL);
        report("1 connection, admit only", &r, seconds);
        rc |= r.failures > 0;
    }
    for (int i = 0; i < n_procs; i++) {
        char label[64];
        snprintf(label, sizeof label, "%d processes, admit+settle", procs[i]);
        r = run_procs(&cfg, procs[i], seconds);
        report(label, &r, seconds);
        rc |= r.failures > 0;
    }
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, NULL, 0);
    }
    if (rc) fprintf(stderr, "admission_bench: some decisions failed (Redis unavailable or error)\n");
    return rc;
}
