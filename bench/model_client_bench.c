/* model_client_bench.c — requests per second one process gets out of the model client.
 *
 *   model_client_bench --config FILE --model NAME [--url URL] [--inflight N] [--requests M]
 *
 * Keeps N requests in flight against MODEL (its endpoint, or URL / $PRESSROOM_RENDERER)
 * until M have completed, then prints one line:
 *   model=NAME inflight=N requests=M ok=K failed=F seconds=S rps=R p50_ms=.. p99_ms=..
 * bench/model_client_bench.sh runs it against the reference renderer with a 0 ms and
 * an 800 ms profile. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/config.h"
#include "base/clock.h"
#include "base/log.h"
#include "model/model_client.h"
#include "runtime/loop.h"
#include "base/stats.h"


int main(int argc, char **argv) {
    const char *config = NULL, *model = NULL, *url = NULL;
    int inflight = 256, total = 5000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--config")) config = argv[i + 1];
        else if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--url")) url = argv[i + 1];
        else if (!strcmp(argv[i], "--inflight")) inflight = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--requests")) total = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!model || inflight < 1 || total < 1) {
        fprintf(stderr, "usage: %s --config FILE --model NAME [--url URL] [--inflight N] [--requests M]\n", argv[0]);
        return 2;
    }
    log_init("model_client_bench");
    /* One connection per request in flight, plus the process's own files. */
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    static config_t cfg;
    char err[512];
    if (config_load(&cfg, config, err, sizeof err)) FATAL("%s", err);
    if (url) snprintf(cfg.renderer_url, sizeof cfg.renderer_url, "%s", url);
    const model_config_t *m = config_model(&cfg, model);
    if (!m) FATAL("model %s is not in %s", model, config ? config : "the defaults");
    tier_config_t tier = cfg.preview;
    snprintf(tier.model, sizeof tier.model, "%s", model);
    tier.n_fallbacks = 0;
    tier.max_inflight = inflight;
    tier.max_retries = 0;
    if (tier.max_latency_ms < m->latency_p99_ms) tier.max_latency_ms = m->latency_p99_ms;
    loop_t *loop = loop_new();
    model_client_t *mc = model_client_new(&cfg, &tier, loop, err, sizeof err);
    if (!mc) FATAL("%s", err);

    int64_t *lat = calloc((size_t)total, sizeof *lat);
    int submitted = 0, done = 0, ok = 0;
    char fail_reason[64] = "", fail_detail[512] = "";
    int64_t t0 = mono_us();
    while (done < total) {
        while (submitted < total && model_client_inflight(mc) < inflight) {
            render_request_t req = {.prompt = "Cover with the headline \"BENCH\"", .width = 512, .height = 512,
                                    .seed = 1};
            if (model_client_submit(mc, &req, NULL)) FATAL("submit failed (out of memory)");
            submitted++;
        }
        model_client_run_gate(mc);
        loop_run_once(loop, 100);
        render_result_t *r;
        while ((r = model_client_next(mc, NULL))) {
            lat[done++] = r->latency_ms;
            if (r->ok) ok++;
            else if (!fail_reason[0]) {
                snprintf(fail_reason, sizeof fail_reason, "%s", r->reason);
                snprintf(fail_detail, sizeof fail_detail, "%s", r->detail);
            }
            render_result_free(r);
        }
    }
    double secs = (double)(mono_us() - t0) / 1e6;
    stats_sort_i64(lat, (size_t)total);
    printf("model=%s inflight=%d requests=%d ok=%d failed=%d seconds=%.2f rps=%.0f p50_ms=%lld p99_ms=%lld\n",
           model, inflight, total, ok, total - ok, secs, total / secs, (long long)stats_percentile(lat, (size_t)total, 50),
           (long long)stats_percentile(lat, (size_t)total, 99));
    if (fail_reason[0]) printf("first failure: %s: %s\n", fail_reason, fail_detail);
    free(lat);
    model_client_free(mc);
    loop_free(loop);
    return ok == total ? 0 : 1;
}
