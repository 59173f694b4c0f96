/* pipeline_bench — throughput and latency of the workers on a running stack
 * (PRESSROOM_BROKERS etc. from the environment; bench/run.sh sets it up).
 *
 *   pipeline_bench throughput --jobs N [--topic verify]
 *       publishes one warm-up job and waits for its output on --topic, then
 *       publishes N jobs as fast as the producer allows and times until N outputs
 *       have arrived: jobs/s of the stage(s) between `jobs` and --topic. Gives up
 *       after 30 s without an output (exit status 1).
 *   pipeline_bench latency --rate R --seconds S [--backfill N]
 *       offers R jobs/s for S seconds and measures, for each job, the time from its
 *       submission to its terminal verdict (results/rejected): p50/p95/p99. With
 *       --backfill, N backfill jobs are dumped on pressroom.backfill first (ids
 *       "bfbench-...": their verdicts are not counted), so the figures are the live
 *       jobs' while the lane works beside them.
 *   pipeline_bench batch --file JOBS.jsonl (--rate R | --burst) [--label NAME]
 *       the trade-off study's run (bench/tradeoff.sh): publishes every job of the file
 *       (ids prefixed to be this run's) at R jobs/s, or all at once with --burst, and
 *       reads every verdict; samples the workers' consumer lag (jobs, verify, production,
 *       both lanes) every 250 ms. Prints one table row: hops per job (renders), $ per
 *       rendered image, $ per accepted image, p50/p95/p99 job latency, verification
 *       failure rate (failed checks over renders) and the peak queue depth (the sum of
 *       the three groups' lag).
 *   pipeline_bench drain --jobs N
 *       reads results and rejected from the start with a fresh group and times from
 *       its start until N verdicts are there: the rate of whatever stage is draining a
 *       backlog into them (bench/run.sh starts a verifier-worker on a full verify topic).
 *
 * Jobs are thumbnails with one line of text, ids unique per run. throughput and
 * latency print a line "warm" (flushed) once the warm-up job is through and the
 * clock starts, so a script can take its CPU readings of the workers there
 * (bench/lib.sh bench_row); the last line is the figure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/config.h"
#include "base/clock.h"
#include "runtime/kafka.h"
#include "base/log.h"
#include "base/message.h"
#include "base/stats.h"
#include "runtime/worker.h"

static const char *WORDS[] = {"SALE", "NEW IN", "50% OFF", "TODAY ONLY", "HOT DEALS", "LAST CHANCE"};

static void make_job(job_t *j, const char *run, int i) {
    memset(j, 0, sizeof *j);
    snprintf(j->job_id, sizeof j->job_id, "bench-%s-%d", run, i);
    snprintf(j->asset_class, sizeof j->asset_class, "thumbnail");
    snprintf(j->prompt, sizeof j->prompt, "Product shot for the benchmark");
    snprintf(j->text[0], JOB_TEXT_LEN, "%s", WORDS[i % 6]);
    j->n_text = 1;
    j->width = 768;
    j->height = 512;
    j->seed = (uint64_t)i;
    j->submitted_ms = now_ms();
}

static int publish(kafka_t *k, const char *topic, const job_t *j) {
    char err[512];
    char *json = job_encode(j);
    int rc = kafka_produce(k, topic, j->job_id, json, strlen(json), NULL, 0, NULL, err, sizeof err);
    if (rc) fprintf(stderr, "pipeline_bench: %s\n", err);
    free(json);
    return rc;
}

/* Does this output message belong to this run? (Keys are job ids.) */
static bool ours(const rd_kafka_message_t *m, const char *prefix) {
    return m->key && m->key_len > strlen(prefix) && !memcmp(m->key, prefix, strlen(prefix));
}

/* Publishes one job and waits (up to 60 s) until an output of this run arrives:
 * the workers have joined their groups and warmed up. */
static bool warm_up(kafka_t *k, const char *jobs_t, const char *run, const char *prefix) {
    job_t j;
    make_job(&j, run, 0);
    publish(k, jobs_t, &j);
    kafka_serve(k);
    int64_t deadline = now_ms() + 60000;
    while (now_ms() < deadline) {
        rd_kafka_message_t *m = kafka_poll(k, 100);
        kafka_serve(k);
        if (!m) continue;
        bool done = ours(m, prefix);
        rd_kafka_message_destroy(m);
        if (done) return true;
    }
    fprintf(stderr, "pipeline_bench: the warm-up job never came through\n");
    return false;
}

/* One benchmark run: ids unique to it, a fresh consumer group on the output
 * topics, the workers warmed up by one job. */
typedef struct {
    char id[32], prefix[64], jobs_topic[256];
    kafka_t *k;
} run_t;

static bool start_run(const config_t *cfg, const char *const *outputs, int n_outputs, run_t *r) {
    char topics[2][256], group[96], err[512];
    const char *names[2];
    snprintf(r->id, sizeof r->id, "%lld", (long long)now_ms());
    snprintf(r->prefix, sizeof r->prefix, "bench-%s-", r->id);
    snprintf(group, sizeof group, "bench-%s", r->id);
    config_topic(cfg, "jobs", r->jobs_topic, sizeof r->jobs_topic);
    for (int i = 0; i < n_outputs && i < 2; i++) names[i] = config_topic(cfg, outputs[i], topics[i], sizeof topics[i]);
    r->k = kafka_new(cfg, group, names, n_outputs, err, sizeof err);
    if (!r->k) {
        fprintf(stderr, "pipeline_bench: %s\n", err);
        return false;
    }
    if (!warm_up(r->k, r->jobs_topic, r->id, r->prefix)) {
        kafka_free(r->k);
        return false;
    }
    printf("warm\n");
    fflush(stdout);
    return true;
}

static int throughput(const config_t *cfg, int n, const char *out_short) {
    run_t r;
    const char *outputs[] = {out_short};
    if (!start_run(cfg, outputs, 1, &r)) return 1;
    kafka_t *k = r.k;
    char out_t[256];
    config_topic(cfg, out_short, out_t, sizeof out_t);
    job_t j;
    int64_t deadline, t0 = now_ms();
    for (int i = 1; i <= n; i++) {
        make_job(&j, r.id, i);
        if (publish(k, r.jobs_topic, &j)) break;
        if (i % 1000 == 0) kafka_serve(k);
    }
    /* Gives up after 240 s, or after 30 s without an output of this run (the jobs went
     * elsewhere: escalated, refused over budget; the worker's log says why). */
    int seen = 0;
    int64_t last = now_ms(), end;
    deadline = now_ms() + 240000;
    while (seen < n && (end = now_ms()) < deadline && end - last < 30000) {
        rd_kafka_message_t *m = kafka_poll(k, 100);
        kafka_serve(k);
        if (m) {
            if (ours(m, r.prefix)) {
                seen++;
                last = now_ms();
            }
            rd_kafka_message_destroy(m);
        }
    }
    double secs = ((seen == n ? last : now_ms()) - t0) / 1000.0;
    printf("throughput: %d/%d jobs reached %s in %.2f s: %.0f jobs/s%s\n", seen, n, out_t, secs, seen / secs,
           seen == n ? "" : " (stopped waiting: no output for 30 s, or 240 s in all)");
    kafka_close(k, 1000, true);
    kafka_free(k);
    return seen == n ? 0 : 1;
}

static int latency(const config_t *cfg, double rate, double seconds, int backfill) {
    run_t r;
    const char *outputs[] = {"results", "rejected"};
    if (!start_run(cfg, outputs, 2, &r)) return 1;
    kafka_t *k = r.k;
    char err[512];
    if (backfill > 0) {
        char lane[256], bf_run[48];
        config_topic(cfg, "backfill", lane, sizeof lane);
        snprintf(bf_run, sizeof bf_run, "%s-bf", r.id);
        for (int i = 1; i <= backfill; i++) {
            job_t j;
            make_job(&j, bf_run, i);
            memmove(j.job_id + 2, j.job_id, strlen(j.job_id) + 1); /* "bfbench-...": not ours() */
            memcpy(j.job_id, "bf", 2);
            if (publish(k, lane, &j)) break;
            if (i % 1000 == 0) kafka_serve(k);
        }
        kafka_serve(k);
    }
    int n = (int)(rate * seconds);
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    int got = 0, sent = 0, accepted = 0;
    int64_t t0 = now_ms(), deadline = t0 + (int64_t)(seconds * 1000) + 120000, last = t0;
    while (got < n && now_ms() < deadline) {
        /* pace the offered load */
        int64_t due = (int64_t)((now_ms() - t0) * rate / 1000.0);
        while (sent < n && sent <= due) {
            job_t j;
            make_job(&j, r.id, sent + 1); /* job 0 was the warm-up */
            publish(k, r.jobs_topic, &j);
            sent++;
        }
        rd_kafka_message_t *m = kafka_poll(k, 5);
        kafka_serve(k);
        if (!m) continue;
        outcome_t o;
        if (ours(m, r.prefix) && outcome_parse(m->payload, m->len, &o, err, sizeof err) == 0) {
            if (got < n) lat[got++] = o.latency_ms;
            last = now_ms();
            if (o.verdict == VERDICT_ACCEPTED) accepted++;
            outcome_free(&o);
        }
        rd_kafka_message_destroy(m);
    }
    stats_sort_i64(lat, (size_t)got);
    /* The terminal rate: verdicts per second from the first submission to the last
     * verdict; below the offered rate when the pipeline falls behind. */
    double span = (last - t0) / 1000.0;
    printf("latency: offered %.0f jobs/s for %.0f s%s: %d/%d terminal (%d accepted) in %.1f s, %.1f jobs/s terminal; "
           "p50 %lld ms, p95 %lld ms, p99 %lld ms\n",
           rate, seconds, backfill > 0 ? " beside a backfill" : "", got, n, accepted, span, span > 0 ? got / span : 0.0,
           (long long)stats_percentile(lat, (size_t)got, 50), (long long)stats_percentile(lat, (size_t)got, 95),
           (long long)stats_percentile(lat, (size_t)got, 99));
    free(lat);
    kafka_close(k, 1000, true);
    kafka_free(k);
    return got == n ? 0 : 1;
}

/* The summed lag of the workers' groups on their input topics (live and backfill). */
static int64_t queue_depth(const config_t *cfg) {
    static const char *const GROUPS[][3] = {{"preview-worker", "jobs", "backfill"},
                                            {"verifier-worker", "verify", "verify.backfill"},
                                            {"production-worker", "production", "production.backfill"}};
    int64_t depth = 0;
    for (int g = 0; g < 3; g++) {
        char group[160], t0[256], t1[256], err[512];
        snprintf(group, sizeof group, "%s%s", cfg->group_prefix, GROUPS[g][0]);
        const char *topics[] = {config_topic(cfg, GROUPS[g][1], t0, sizeof t0),
                                config_topic(cfg, GROUPS[g][2], t1, sizeof t1)};
        kafka_partition_lag_t rows[128];
        int n = kafka_group_lag(cfg, group, topics, 2, false, rows, 128, 2000, err, sizeof err);
        for (int i = 0; i < n; i++) depth += rows[i].lag;
    }
    return depth;
}

static int batch(const config_t *cfg, const char *file, double rate, bool burst, const char *label) {
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        return 2;
    }
    run_t r;
    const char *outputs[] = {"results", "rejected"};
    if (!start_run(cfg, outputs, 2, &r)) {
        fclose(f);
        return 1;
    }
    kafka_t *k = r.k;
    char err[512], *line = NULL;
    size_t cap = 0;
    ssize_t len;
    job_t *jobs = NULL;
    int n = 0, ncap = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (len <= 1) continue;
        if (n == ncap) jobs = xrealloc(jobs, (size_t)(ncap = ncap ? 2 * ncap : 256) * sizeof *jobs);
        if (job_parse(line, (size_t)len, &jobs[n], err, sizeof err)) {
            fprintf(stderr, "pipeline_bench: %s: %s\n", file, err);
            continue;
        }
        char id[sizeof jobs[n].job_id];
        snprintf(id, sizeof id, "%s%s", r.prefix, jobs[n].job_id);
        snprintf(jobs[n].job_id, sizeof jobs[n].job_id, "%s", id);
        n++;
    }
    free(line);
    fclose(f);
    int64_t *lat = xcalloc((size_t)n + 1, sizeof *lat);
    int got = 0, sent = 0, accepted = 0, renders = 0, failed = 0;
    int64_t cost = 0, peak = 0, next_sample = 0;
    int64_t t0 = now_ms(), deadline = t0 + (burst ? 0 : (int64_t)(n / rate * 1000)) + 300000;
    while (got < n && now_ms() < deadline) {
        int64_t due = burst ? n : (int64_t)((now_ms() - t0) * rate / 1000.0);
        while (sent < n && sent <= due) {
            jobs[sent].submitted_ms = now_ms();
            publish(k, r.jobs_topic, &jobs[sent]);
            sent++;
        }
        if (now_ms() >= next_sample) {
            kafka_serve(k);
            int64_t d = queue_depth(cfg);
            if (d > peak) peak = d;
            next_sample = now_ms() + 250;
        }
        rd_kafka_message_t *m = kafka_poll(k, 5);
        kafka_serve(k);
        if (!m) continue;
        outcome_t o;
        if (ours(m, r.prefix) && outcome_parse(m->payload, m->len, &o, err, sizeof err) == 0) {
            lat[got++] = o.latency_ms;
            accepted += o.verdict == VERDICT_ACCEPTED;
            renders += o.attempt;
            failed += o.failed_checks;
            cost += o.cost_micros;
            outcome_free(&o);
        }
        rd_kafka_message_destroy(m);
    }
    stats_sort_i64(lat, (size_t)got);
    char load[32], cpa[16];
    if (burst) snprintf(load, sizeof load, "burst");
    else snprintf(load, sizeof load, "%.0f jobs/s", rate);
    if (accepted) snprintf(cpa, sizeof cpa, "$%.4f", cost / 1e6 / accepted);
    else snprintf(cpa, sizeof cpa, "-");
    printf("%-8s %-11s %5d/%-5d %6.2f %9.4f %10s %7lld %7lld %7lld %7.1f%% %6lld\n", label, load, got, n,
           got ? (double)renders / got : 0.0, renders ? cost / 1e6 / renders : 0.0, cpa,
           (long long)stats_percentile(lat, (size_t)got, 50), (long long)stats_percentile(lat, (size_t)got, 95),
           (long long)stats_percentile(lat, (size_t)got, 99), renders ? 100.0 * failed / renders : 0.0,
           (long long)peak);
    free(lat);
    free(jobs);
    kafka_close(k, 1000, true);
    kafka_free(k);
    return got == n ? 0 : 1;
}

static int drain(const config_t *cfg, int n) {
    char topics[2][256], group[96], err[512];
    const char *names[] = {config_topic(cfg, "results", topics[0], sizeof topics[0]),
                           config_topic(cfg, "rejected", topics[1], sizeof topics[1])};
    snprintf(group, sizeof group, "bench-drain-%lld", (long long)now_ms());
    kafka_t *k = kafka_new(cfg, group, names, 2, err, sizeof err);
    if (!k) {
        fprintf(stderr, "pipeline_bench: %s\n", err);
        return 1;
    }
    /* Verdicts produced before this run (an earlier run's) are skipped by timestamp. */
    int seen = 0;
    int64_t t0 = now_ms(), first = 0, last = 0, deadline = t0 + 300000;
    while (seen < n && now_ms() < deadline) {
        rd_kafka_message_t *m = kafka_poll(k, 100);
        if (!m) continue;
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        if (ts >= t0 - 1000) {
            last = now_ms();
            if (!first) first = last;
            seen++;
        }
        rd_kafka_message_destroy(m);
    }
    double secs = (now_ms() - t0) / 1000.0;
    double span = first && last > first ? (last - first) / 1000.0 : 0;
    printf("drain: %d/%d verdicts, the first %.2f s after the start, then %.1f verdicts/s over %.2f s\n", seen, n,
           first ? (first - t0) / 1000.0 : secs, span > 0 ? (seen - 1) / span : 0.0, span);
    kafka_close(k, 1000, false);
    kafka_free(k);
    return seen == n ? 0 : 1;
}

int main(int argc, char **argv) {
    log_init("pipeline_bench");
    if (!getenv("PRESSROOM_LOG_LEVEL")) log_set_level(LOG_WARN);
    if (argc < 2) goto usage;
    config_t cfg;
    char err[1024];
    if (config_load(&cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "pipeline_bench: %s\n", err);
        return 2;
    }
    int jobs = 2000;
    double rate = 20, seconds = 20;
    int backfill = 0;
    const char *topic = "verify", *file = NULL, *label = "run";
    bool burst = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--jobs") && i + 1 < argc) jobs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc) rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--topic") && i + 1 < argc) topic = argv[++i];
        else if (!strcmp(argv[i], "--backfill") && i + 1 < argc) backfill = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--file") && i + 1 < argc) file = argv[++i];
        else if (!strcmp(argv[i], "--label") && i + 1 < argc) label = argv[++i];
        else if (!strcmp(argv[i], "--burst")) burst = true;
        else goto usage;
    }
    if (!strcmp(argv[1], "throughput")) return throughput(&cfg, jobs, topic);
    if (!strcmp(argv[1], "latency")) return latency(&cfg, rate, seconds, backfill);
    if (!strcmp(argv[1], "drain")) return drain(&cfg, jobs);
    if (!strcmp(argv[1], "batch") && file && rate > 0) return batch(&cfg, file, rate, burst, label);
usage:
    fprintf(stderr, "usage: pipeline_bench throughput --jobs N [--topic verify]\n"
                    "       pipeline_bench latency --rate R --seconds S [--backfill N]\n"
                    "       pipeline_bench batch --file JOBS.jsonl (--rate R | --burst) [--label NAME]\n"
                    "       pipeline_bench drain --jobs N\n");
    return 2;
}
