/* test_model_client.c — the model client against the real reference renderer over real
 * HTTP: every dialect, retries, Retry-After, timeouts, fallbacks, the circuit breaker,
 * malformed and safety answers, and many requests in flight at once.
 *
 * The binary starts its own build/bin/pressroom-renderer (next to this binary's
 * folder: BUILD/tests/ -> BUILD/bin/, else build/bin/) on a free loopback port with the
 * config below, and stops it at the end. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base64.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/providers.h"
#include "model/model_client.h"
#include "model/provider.h"
#include "runtime/loop.h"

/* Models by role, in two renderer processes (a config holds at most 16 models, the two
 * built-in ones included). Latencies are tiny except where a test needs them. */
static const char *config_resilience =
    "{\"tiers\": {\"preview\": {\"model\": \"m_raw\", \"max_latency_ms\": 200}},\n"
    " \"models\": {\n"
    "  \"m_openai\":    {\"provider\": \"openai\",    \"price_usd\": 0.01, \"latency_p50_ms\": 5, \"latency_p99_ms\": 10},\n"
    "  \"m_raw\":       {\"provider\": \"raw\",       \"price_usd\": 0.02, \"latency_p50_ms\": 5, \"latency_p99_ms\": 10},\n"
    "  \"m_stability\": {\"provider\": \"stability\", \"provider_model\": \"sd3.5-large-turbo\", \"price_usd\": 0.03, \"latency_p50_ms\": 5, \"latency_p99_ms\": 10},\n"
    "  \"m_a1111\":     {\"provider\": \"a1111\",     \"price_usd\": 0.04, \"latency_p50_ms\": 5, \"latency_p99_ms\": 10},\n"
    "  \"m_vertex\":    {\"provider\": \"vertex\",    \"price_usd\": 0.05, \"latency_p50_ms\": 5, \"latency_p99_ms\": 10},\n"
    "  \"flaky_500\":   {\"provider\": \"openai\", \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"status\", \"status\": 500, \"first_n\": 2}},\n"
    "  \"flaky_429\":   {\"provider\": \"raw\",    \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"status\", \"status\": 429, \"first_n\": 1, \"retry_after_s\": 1}},\n"
    "  \"flaky_hang\":  {\"provider\": \"a1111\",  \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"timeout\", \"first_n\": 1}},\n"
    "  \"dead_503\":    {\"provider\": \"openai\", \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"price_usd\": 0.5, \"fault\": {\"kind\": \"status\", \"status\": 503, \"rate\": 1}},\n"
    "  \"dead_hang\":   {\"provider\": \"raw\",    \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"timeout\", \"rate\": 1}},\n"
    "  \"dead_502\":    {\"provider\": \"vertex\", \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"status\", \"status\": 502, \"rate\": 1}},\n"
    "  \"backup\":      {\"provider\": \"raw\",    \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"price_usd\": 0.07},\n"
    "  \"recovering\":  {\"provider\": \"raw\",    \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"status\", \"status\": 500, \"first_n\": 3}},\n"
    "  \"refusing_400\":{\"provider\": \"openai\", \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"status\", \"status\": 400, \"rate\": 1}}\n"
    " }}\n";

/* The second process: garbage_<dialect> and safety_<dialect> are generated, one pair
 * per provider in base/providers.h. */
static const char *config_answers =
    "{\"tiers\": {\"preview\": {\"model\": \"slow_300\", \"max_latency_ms\": 1000}},\n"
    " \"models\": {\n"
    "  \"backup\":      {\"provider\": \"raw\",    \"latency_p50_ms\": 1, \"latency_p99_ms\": 2},\n"
    "  \"throttled\":   {\"provider\": \"openai\", \"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"status\", \"status\": 429, \"rate\": 1, \"retry_after_s\": 30}},\n"
    "  \"slow_300\":    {\"provider\": \"raw\",    \"latency_p50_ms\": 300, \"latency_p99_ms\": 300, \"prerendered\": true}\n"
    " }}\n";
/* The third process checks credentials: --api-key-file TMP/accepted.key (re-read per
 * request) and the metadata token endpoint with a 2 s lifetime. "@TMP@" is the test's
 * folder. */
static const char *config_credentials =
    "{\"tiers\": {\"preview\": {\"model\": \"tok_file\", \"max_latency_ms\": 500}},\n"
    " \"models\": {\n"
    "  \"tok_file\": {\"provider\": \"vertex\", \"provider_model\": \"imagen-4.0-generate-001\", \"api_key_file\": \"@TMP@/worker.key\", \"latency_p50_ms\": 1, \"latency_p99_ms\": 2},\n"
    "  \"tok_meta\": {\"provider\": \"vertex\", \"provider_model\": \"imagen-3.0-generate-002\", \"token_source\": \"metadata\", \"latency_p50_ms\": 1, \"latency_p99_ms\": 2},\n"
    "  \"tok_meta_dead\": {\"provider\": \"vertex\", \"provider_model\": \"imagegeneration@006\", \"token_source\": \"metadata\", \"metadata_url\": \"http://127.0.0.1:1\", \"latency_p50_ms\": 1, \"latency_p99_ms\": 2}\n"
    " }}\n";
static const char *group_config;

static char tmpdir[PATH_MAX];
static char config_path[PATH_MAX];
static char renderer_bin[PATH_MAX];
static char renderer_url[128];
static pid_t renderer_pid;
static config_t cfg;
static loop_t *g_loop; /* the event loop every client of these tests runs on */

/* ==== The renderer process ==== */

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len)) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int port_open(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void write_config(void) {
    if (group_config == config_credentials) {
        char text[4096], key[PATH_MAX + 32];
        const char *at = strstr(group_config, "@TMP@");
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - group_config), group_config, tmpdir, at + 5);
        write_text(config_path, text);
        snprintf(key, sizeof key, "%s/accepted.key", tmpdir);
        write_text(key, "key-one-AAAAAA\n");
        snprintf(key, sizeof key, "%s/worker.key", tmpdir);
        write_text(key, "key-one-AAAAAA\n");
        return;
    }
    FILE *f = fopen(config_path, "w");
    assert_non_null(f);
    /* Splice the generated fault models into the second config's models object. */
    const char *end = strstr(group_config, "\n }}");
    assert_non_null(end);
    fwrite(group_config, 1, (size_t)(end - group_config), f);
    for (size_t i = 0; group_config == config_answers && i < (size_t)PROVIDER_COUNT; i++) {
        /* Stability takes only its own model ids: one per model here. */
        bool stab = !strcmp(provider_names[i], "stability");
        fprintf(f, ",\n  \"garbage_%s\": {\"provider\": \"%s\", %s\"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"garbage\", \"rate\": 1}}",
                provider_names[i], provider_names[i], stab ? "\"provider_model\": \"sd3.5-medium\", " : "");
        fprintf(f, ",\n  \"safety_%s\": {\"provider\": \"%s\", %s\"latency_p50_ms\": 1, \"latency_p99_ms\": 2, \"fault\": {\"kind\": \"safety\", \"rate\": 1}}",
                provider_names[i], provider_names[i], stab ? "\"provider_model\": \"sd3.5-flash\", " : "");
    }
    fputs(end, f);
    fclose(f);
}

static int start_renderer(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pressroom-test_model_client.XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(config_path, sizeof config_path, "%s/config.json", tmpdir);
    write_config();
    int port = free_port();
    if (port <= 0) return -1;
    char listen[64], log_path[PATH_MAX + 16];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(log_path, sizeof log_path, "%s/renderer.log", tmpdir);
    renderer_pid = fork();
    if (renderer_pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        char keyfile[PATH_MAX + 16];
        snprintf(keyfile, sizeof keyfile, "%s/accepted.key", tmpdir);
        if (group_config == config_credentials)
            execl(renderer_bin, renderer_bin, "--config", config_path, "--listen", listen, "--api-key-file", keyfile,
                  "--token-lifetime-s", "2", (char *)NULL);
        else
            execl(renderer_bin, renderer_bin, "--config", config_path, "--listen", listen, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", renderer_bin, strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < 200 && !port_open(port); i++) {
        int st;
        if (waitpid(renderer_pid, &st, WNOHANG) == renderer_pid) {
            fprintf(stderr, "renderer %s exited before listening; its log:\n", renderer_bin);
            char cmd[PATH_MAX + 32];
            snprintf(cmd, sizeof cmd, "cat '%s' >&2", log_path);
            if (system(cmd)) fprintf(stderr, "(no log)\n");
            renderer_pid = 0;
            return -1;
        }
        usleep(50 * 1000);
    }
    if (!port_open(port)) return -1;
    snprintf(renderer_url, sizeof renderer_url, "http://127.0.0.1:%d", port);
    char err[512];
    if (config_load(&cfg, config_path, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    snprintf(cfg.renderer_url, sizeof cfg.renderer_url, "%s", renderer_url);
    model_config_t *meta = (model_config_t *)config_model(&cfg, "tok_meta");
    if (meta) snprintf(meta->metadata_url, sizeof meta->metadata_url, "%s", renderer_url); /* the renderer is the metadata server */
    return 0;
}

static int stop_renderer(void **state) {
    (void)state;
    if (renderer_pid > 0) {
        kill(renderer_pid, SIGTERM);
        waitpid(renderer_pid, NULL, 0);
    }
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) return -1;
    return 0;
}

/* ==== Helpers ==== */

/* A tier on `model` with the given fallbacks (NULL-terminated). */
static tier_config_t tier_for(const char *model, int max_retries, int max_latency_ms, ...) {
    tier_config_t t = cfg.preview;
    snprintf(t.model, sizeof t.model, "%s", model);
    t.max_retries = max_retries;
    t.max_latency_ms = max_latency_ms;
    t.n_fallbacks = 0;
    va_list ap;
    va_start(ap, max_latency_ms);
    const char *fb;
    while ((fb = va_arg(ap, const char *)) && t.n_fallbacks < CFG_MAX_FALLBACKS)
        snprintf(t.fallbacks[t.n_fallbacks++], sizeof t.fallbacks[0], "%s", fb);
    va_end(ap);
    return t;
}

static model_client_t *client_for(const tier_config_t *t) {
    char err[512] = "";
    model_client_t *mc = model_client_new(&cfg, t, g_loop, err, sizeof err);
    if (!mc) fprintf(stderr, "model_client_new: %s\n", err);
    assert_non_null(mc);
    return mc;
}

static render_request_t request(int w, int h, uint64_t seed) {
    render_request_t r = {.prompt = "Poster with the headline \"SALE\" in #112233 on #F0F0F0", .width = w,
                          .height = h, .seed = seed};
    return r;
}

/* Polls until every submitted request came back or deadline_ms passed; results land in
 * out[opaque index]. Returns how many came back. */
static int collect(model_client_t *mc, render_result_t **out, int n, int deadline_ms) {
    int got = 0;
    int64_t end = mono_ms() + deadline_ms;
    while (got < n && mono_ms() < end) {
        model_client_run_gate(mc); /* what a worker's before-sleep hook does */
        loop_run_once(g_loop, 50);
        void *op;
        render_result_t *r;
        while ((r = model_client_next(mc, &op))) {
            intptr_t i = (intptr_t)op;
            assert_true(i >= 0 && i < n);
            assert_null(out[i]);
            out[i] = r;
            got++;
        }
    }
    return got;
}

/* One request, start to end. */
static render_result_t *render_one(model_client_t *mc, const render_request_t *req, int deadline_ms) {
    render_result_t *r = NULL;
    assert_int_equal(model_client_submit(mc, req, (void *)0), 0);
    assert_int_equal(model_client_inflight(mc), 1);
    assert_int_equal(collect(mc, &r, 1, deadline_ms), 1);
    assert_int_equal(model_client_inflight(mc), 0);
    return r;
}

static void png_size(const render_result_t *r, int *w, int *h) {
    assert_true(r->png_len > 24);
    assert_memory_equal(r->png, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(r->png + 12, "IHDR", 4);
    const unsigned char *p = r->png + 16;
    *w = (int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    *h = (int)((uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7]);
}

static void expect_ok(const render_result_t *r, const char *model) {
    if (!r->ok) fprintf(stderr, "unexpected failure: %s: %s\n", r->reason, r->detail);
    assert_true(r->ok);
    assert_string_equal(r->model, model);
    assert_non_null(r->png);
}

/* ==== Dialects ==== */

/* Each dialect: the size the adapter asked for when the API takes one (the job's for raw,
 * a1111; the nearest documented one for openai), the requested aspect ratio when the API
 * takes a ratio (stability, vertex); the result says which. */
static void check_dialect_renders(const char *model, bool exact_size) {
    tier_config_t t = tier_for(model, 0, 1000, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(640, 360, 42);
    req.guidance = 9;
    req.negative_prompt = "blurry";
    render_result_t *r = render_one(mc, &req, 5000);
    expect_ok(r, model);
    int w, h;
    png_size(r, &w, &h);
    if (exact_size) {
        assert_int_equal(w, r->sent.width);
        assert_int_equal(h, r->sent.height);
        assert_string_equal(r->sent.aspect_ratio, "");
        if (!strcmp(config_model(&cfg, model)->provider, "openai")) {
            /* 640x360 is no size OpenAI takes: 16:9 is nearest to 1792x1024; no seed goes out. */
            assert_int_equal(w, 1792);
            assert_int_equal(h, 1024);
            assert_false(r->sent.seed_sent);
            assert_non_null(strstr(r->sent.note, "openai takes no seed"));
        } else {
            assert_int_equal(w, 640);
            assert_int_equal(h, 360);
            assert_true(r->sent.seed_sent);
        }
    } else {
        assert_string_equal(r->sent.aspect_ratio, "16:9");
        assert_int_equal(r->sent.width, 0);
        assert_true(w > h); /* 16:9 */
        assert_true(abs(w * 9 - h * 16) <= 16 * 8);
    }
    assert_int_equal(r->attempts, 1);
    assert_int_equal(r->price_micros, config_model(&cfg, model)->price_micros);
    render_result_free(r);

    /* Deterministic for a seed: the same request gives the same image. */
    render_result_t *a = render_one(mc, &req, 5000), *b = render_one(mc, &req, 5000);
    expect_ok(a, model);
    expect_ok(b, model);
    assert_int_equal(a->png_len, b->png_len);
    assert_memory_equal(a->png, b->png, a->png_len);
    render_result_free(a);
    render_result_free(b);
    model_client_free(mc);
}

static void test_openai_dialect_renders_png_of_requested_size(void **s) { (void)s; check_dialect_renders("m_openai", true); }
static void test_raw_dialect_renders_png_of_requested_size(void **s) { (void)s; check_dialect_renders("m_raw", true); }
static void test_a1111_dialect_renders_png_of_requested_size(void **s) { (void)s; check_dialect_renders("m_a1111", true); }
static void test_stability_dialect_renders_png_of_nearest_ratio(void **s) { (void)s; check_dialect_renders("m_stability", false); }
static void test_vertex_dialect_renders_png_of_nearest_ratio(void **s) { (void)s; check_dialect_renders("m_vertex", false); }

/* ==== Retries ==== */

static void test_500s_are_retried_until_success(void **s) {
    (void)s;
    tier_config_t t = tier_for("flaky_500", 3, 500, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 1);
    render_result_t *r = render_one(mc, &req, 10000);
    expect_ok(r, "flaky_500");
    assert_int_equal(r->attempts, 3); /* two 500s, then the image */
    render_result_free(r);
    model_client_free(mc);
}

static void test_429_waits_for_retry_after_then_succeeds(void **s) {
    (void)s;
    tier_config_t t = tier_for("flaky_429", 2, 1000, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 2);
    render_result_t *r = render_one(mc, &req, 10000);
    expect_ok(r, "flaky_429");
    assert_int_equal(r->attempts, 2);
    assert_true(r->latency_ms >= 1000); /* Retry-After: 1 */
    render_result_free(r);
    model_client_free(mc);
}

static void test_timeout_is_retried_until_success(void **s) {
    (void)s;
    /* max_latency 100 ms: each attempt may take 2 x 100 + 1000 ms. */
    tier_config_t t = tier_for("flaky_hang", 2, 100, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 3);
    render_result_t *r = render_one(mc, &req, 10000);
    expect_ok(r, "flaky_hang");
    assert_int_equal(r->attempts, 2);
    assert_true(r->latency_ms >= 1200);
    render_result_free(r);
    model_client_free(mc);
}

static void test_5xx_on_every_attempt_ends_in_upstream_unavailable(void **s) {
    (void)s;
    tier_config_t t = tier_for("dead_503", 1, 100, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 4);
    render_result_t *r = render_one(mc, &req, 10000);
    assert_false(r->ok);
    assert_string_equal(r->reason, "upstream_unavailable");
    assert_int_equal(r->http_status, 503);
    assert_int_equal(r->attempts, 2); /* 1 + max_retries */
    assert_non_null(strstr(r->detail, "dead_503"));
    assert_int_equal(r->price_micros, 0);
    render_result_free(r);
    model_client_free(mc);
}

static void test_timeouts_on_every_attempt_end_in_reason_timeout(void **s) {
    (void)s;
    tier_config_t t = tier_for("dead_hang", 1, 100, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 4);
    render_result_t *r = render_one(mc, &req, 10000);
    assert_false(r->ok);
    assert_string_equal(r->reason, "timeout");
    assert_int_equal(r->http_status, 0);
    assert_int_equal(r->attempts, 2);
    assert_true(r->latency_ms >= 2 * 1200);
    assert_non_null(strstr(r->detail, "1200 ms"));
    render_result_free(r);
    model_client_free(mc);
}

/* ==== Fallbacks and the breaker ==== */

static void test_fallback_model_answers_when_primary_exhausted(void **s) {
    (void)s;
    tier_config_t t = tier_for("dead_503", 2, 500, "backup", NULL);
    model_client_t *mc = client_for(&t);
    assert_int_equal(model_client_worst_case_micros(mc), 500000); /* dead_503 costs $0.50 */
    render_request_t req = request(320, 240, 5);
    render_result_t *r = render_one(mc, &req, 10000);
    expect_ok(r, "backup");
    assert_int_equal(r->attempts, 4); /* 3 on the primary, 1 on the fallback */
    assert_int_equal(r->price_micros, 70000);
    int w, h;
    png_size(r, &w, &h);
    assert_int_equal(w, 320);
    assert_int_equal(h, 240);
    render_result_free(r);
    model_client_free(mc);
}

static void test_terminal_reason_when_fallbacks_fail_too(void **s) {
    (void)s;
    tier_config_t t = tier_for("dead_503", 1, 500, "dead_502", NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 6);
    render_result_t *r = render_one(mc, &req, 10000);
    assert_false(r->ok);
    assert_string_equal(r->reason, "upstream_unavailable");
    assert_string_equal(r->model, "dead_502");
    assert_int_equal(r->attempts, 4);
    assert_non_null(strstr(r->detail, "dead_503"));
    assert_non_null(strstr(r->detail, "dead_502"));
    render_result_free(r);
    model_client_free(mc);
}

static void test_circuit_opens_after_k_failures_and_requests_skip_it(void **s) {
    (void)s;
    tier_config_t t = tier_for("dead_503", 10, 500, "backup", NULL);
    t.breaker_failures = 3;
    t.breaker_cooldown_ms = 60000;
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 7);
    render_result_t *r = render_one(mc, &req, 10000);
    expect_ok(r, "backup");
    assert_int_equal(r->attempts, 4); /* the breaker cut the 10 retries short after 3 */
    render_result_free(r);
    int failures = 0;
    assert_string_equal(model_client_breaker_state(mc, "dead_503", &failures), "open");
    assert_int_equal(failures, 3);

    /* Next requests go straight to the fallback: one attempt each. */
    for (int i = 0; i < 3; i++) {
        r = render_one(mc, &req, 5000);
        expect_ok(r, "backup");
        assert_int_equal(r->attempts, 1);
        render_result_free(r);
    }
    /* No fallback left: the terminal reason is the open circuit. */
    model_client_free(mc);
    t = tier_for("dead_503", 10, 500, NULL);
    t.breaker_failures = 2;
    t.breaker_cooldown_ms = 60000;
    mc = client_for(&t);
    r = render_one(mc, &req, 10000);
    assert_false(r->ok);
    assert_int_equal(r->attempts, 2);
    render_result_free(r);
    r = render_one(mc, &req, 5000);
    assert_false(r->ok);
    assert_string_equal(r->reason, "circuit_open");
    assert_int_equal(r->attempts, 0);
    assert_non_null(strstr(r->detail, "circuit open"));
    render_result_free(r);
    model_client_free(mc);
}

static void test_half_open_probe_closes_breaker_on_success(void **s) {
    (void)s;
    /* "recovering" fails its first 3 requests, then answers. */
    tier_config_t t = tier_for("recovering", 5, 500, "backup", NULL);
    t.breaker_failures = 3;
    t.breaker_cooldown_ms = 300;
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 8);
    render_result_t *r = render_one(mc, &req, 10000);
    expect_ok(r, "backup");
    render_result_free(r);
    assert_string_equal(model_client_breaker_state(mc, "recovering", NULL), "open");
    usleep(350 * 1000);
    assert_string_equal(model_client_breaker_state(mc, "recovering", NULL), "half_open");
    r = render_one(mc, &req, 5000);
    expect_ok(r, "recovering");
    assert_int_equal(r->attempts, 1);
    render_result_free(r);
    int failures = -1;
    assert_string_equal(model_client_breaker_state(mc, "recovering", &failures), "closed");
    assert_int_equal(failures, 0);
    model_client_free(mc);
}

/* ==== Rate gate ==== */

/* A rate gate that answers from a script and records who asked when. */
typedef struct {
    int calls;
    const int *answers;      /* per call: 0 slot, 1 no slot, -1 cannot tell */
    const int64_t *delays;   /* per call */
    char models[8][64];
    int64_t at_ms[8];
} gate_log_t;

static int scripted_gate(void *ctx, const char *model, int64_t *delay_ms) {
    gate_log_t *g = ctx;
    int i = g->calls++;
    assert_true(i < 8);
    snprintf(g->models[i], sizeof g->models[i], "%s", model);
    g->at_ms[i] = mono_ms();
    *delay_ms = g->delays[i];
    return g->answers[i];
}

static void test_rate_gate_holds_retries_and_fallbacks_not_the_admitted_first_attempt(void **s) {
    (void)s;
    model_config_t *dead = (model_config_t *)config_model(&cfg, "dead_503");
    model_config_t *backup = (model_config_t *)config_model(&cfg, "backup");
    dead->rate_limit = backup->rate_limit = 10;
    dead->rate_period_s = backup->rate_period_s = 1;
    tier_config_t t = tier_for("dead_503", 2, 500, "backup", NULL);
    model_client_t *mc = client_for(&t);
    /* retry 1: cannot tell (wait 1 s, ask again), then a slot in 150 ms; retry 2: a
     * slot now; the fallback: a slot now. */
    static const int answers[] = {-1, 0, 0, 0};
    static const int64_t delays[] = {0, 150, 0, 0};
    gate_log_t g = {.answers = answers, .delays = delays};
    model_client_set_rate_gate(mc, scripted_gate, &g);
    render_request_t req = request(256, 256, 11);
    req.rate_admitted = true; /* admission took the first attempt's slot */
    int64_t t0 = mono_ms();
    render_result_t *r = render_one(mc, &req, 15000);
    int64_t took = mono_ms() - t0;
    expect_ok(r, "backup");
    assert_int_equal(r->attempts, 4); /* 3 on dead_503, 1 on backup */
    assert_int_equal(g.calls, 4);
    assert_string_equal(g.models[0], "dead_503");
    assert_string_equal(g.models[1], "dead_503");
    assert_string_equal(g.models[2], "dead_503");
    assert_string_equal(g.models[3], "backup");
    assert_true(g.at_ms[1] - g.at_ms[0] >= 1000); /* fail closed: asked again after 1 s */
    assert_true(took >= 1000 + 150);
    render_result_free(r);
    model_client_free(mc);

    /* Without rate_admitted the first attempt asks too. */
    mc = client_for(&t);
    static const int answers2[] = {0, 0, 0, 0};
    static const int64_t delays2[] = {0, 0, 0, 0};
    gate_log_t g2 = {.answers = answers2, .delays = delays2};
    model_client_set_rate_gate(mc, scripted_gate, &g2);
    req.rate_admitted = false;
    r = render_one(mc, &req, 15000);
    expect_ok(r, "backup");
    assert_int_equal(g2.calls, r->attempts);
    render_result_free(r);
    model_client_free(mc);
    dead->rate_limit = backup->rate_limit = 0;
}

/* ==== Terminal answers ==== */

static void test_4xx_is_terminal_and_keeps_provider_message(void **s) {
    (void)s;
    tier_config_t t = tier_for("refusing_400", 3, 500, "backup", NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 9);
    render_result_t *r = render_one(mc, &req, 5000);
    assert_false(r->ok);
    assert_string_equal(r->reason, "http_4xx");
    assert_int_equal(r->http_status, 400);
    assert_int_equal(r->attempts, 1); /* neither retried nor sent to the fallback */
    assert_non_null(strstr(r->detail, "HTTP 400 from refusing_400: "));
    assert_true(strlen(r->detail) > strlen("HTTP 400 from refusing_400: ") + 3);
    render_result_free(r);
    model_client_free(mc);
}

static void test_garbage_responses_are_bad_response_in_every_dialect(void **s) {
    (void)s;
    for (size_t d = 0; d < (size_t)PROVIDER_COUNT; d++) {
        char model[64];
        snprintf(model, sizeof model, "garbage_%s", provider_names[d]);
        tier_config_t t = tier_for(model, 3, 500, NULL);
        t.breaker_failures = 1000;
        t.breaker_cooldown_ms = 1000;
        model_client_t *mc = client_for(&t);
        enum { N = 12 }; /* the renderer varies its garbage; see several kinds */
        render_result_t *out[N] = {0};
        for (intptr_t i = 0; i < N; i++) {
            render_request_t req = request(256, 256, (uint64_t)i + 100);
            assert_int_equal(model_client_submit(mc, &req, (void *)i), 0);
        }
        assert_int_equal(collect(mc, out, N, 10000), N);
        for (int i = 0; i < N; i++) {
            if (out[i]->ok || strcmp(out[i]->reason, "bad_response"))
                fprintf(stderr, "%s: ok=%d reason=%s detail=%s\n", model, out[i]->ok, out[i]->reason, out[i]->detail);
            assert_false(out[i]->ok);
            assert_string_equal(out[i]->reason, "bad_response");
            assert_int_equal(out[i]->attempts, 1); /* terminal: not retried */
            assert_true(strlen(out[i]->detail) > 20);
            assert_non_null(strstr(out[i]->detail, "expected"));
            render_result_free(out[i]);
        }
        model_client_free(mc);
    }
}

static void test_safety_refusals_are_safety_filtered_in_every_dialect(void **s) {
    (void)s;
    for (size_t d = 0; d < (size_t)PROVIDER_COUNT; d++) {
        char model[64];
        snprintf(model, sizeof model, "safety_%s", provider_names[d]);
        tier_config_t t = tier_for(model, 3, 500, "backup", NULL);
        model_client_t *mc = client_for(&t);
        render_request_t req = request(256, 256, 10);
        render_result_t *r = render_one(mc, &req, 5000);
        if (r->ok || strcmp(r->reason, "safety_filtered"))
            fprintf(stderr, "%s: ok=%d reason=%s detail=%s\n", model, r->ok, r->reason, r->detail);
        assert_false(r->ok);
        assert_string_equal(r->reason, "safety_filtered");
        assert_int_equal(r->attempts, 1); /* a refusal is an answer: no retry, no fallback */
        assert_string_equal(r->model, model);
        render_result_free(r);
        model_client_free(mc);
    }
}

/* ==== Configuration ==== */

static void test_missing_api_key_env_fails_construction_naming_the_variable(void **s) {
    (void)s;
    config_t c2 = cfg;
    model_config_t *m = (model_config_t *)config_model(&c2, "m_openai");
    snprintf(m->api_key_env, sizeof m->api_key_env, "PRESSROOM_TEST_NO_SUCH_KEY");
    unsetenv("PRESSROOM_TEST_NO_SUCH_KEY");
    tier_config_t t = tier_for("m_openai", 0, 500, NULL);
    char err[512] = "";
    assert_null(model_client_new(&c2, &t, g_loop, err, sizeof err));
    assert_non_null(strstr(err, "PRESSROOM_TEST_NO_SUCH_KEY"));
    assert_non_null(strstr(err, "models.m_openai.api_key_env"));

    /* With the key set (env, then file), requests carry it and still render. */
    setenv("PRESSROOM_TEST_NO_SUCH_KEY", "sk-test-secret-123", 1);
    model_client_t *mc = model_client_new(&c2, &t, g_loop, err, sizeof err);
    assert_non_null(mc);
    render_request_t req = request(128, 128, 11);
    render_result_t *r = render_one(mc, &req, 5000);
    expect_ok(r, "m_openai");
    render_result_free(r);
    model_client_free(mc);
    unsetenv("PRESSROOM_TEST_NO_SUCH_KEY");

    char keyfile[PATH_MAX + 16];
    snprintf(keyfile, sizeof keyfile, "%s/key", tmpdir);
    m->api_key_env[0] = '\0';
    snprintf(m->api_key_file, sizeof m->api_key_file, "%s", keyfile);
    assert_null(model_client_new(&c2, &t, g_loop, err, sizeof err)); /* no such file yet */
    assert_non_null(strstr(err, "models.m_openai.api_key_file"));
    FILE *f = fopen(keyfile, "w");
    fputs("sk-from-file\n", f);
    fclose(f);
    mc = model_client_new(&c2, &t, g_loop, err, sizeof err);
    assert_non_null(mc);
    model_client_free(mc);
}

static void test_retry_after_longer_than_timeout_moves_on_to_fallback(void **s) {
    (void)s;
    /* Retry-After: 30 against a 1200 ms attempt timeout: not worth waiting for. */
    tier_config_t t = tier_for("throttled", 3, 100, "backup", NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(256, 256, 12);
    render_result_t *r = render_one(mc, &req, 5000);
    expect_ok(r, "backup");
    assert_int_equal(r->attempts, 2);
    assert_true(r->latency_ms < 1000);
    render_result_free(r);
    /* Without a fallback: the terminal reason says rate limited, and why it did not wait. */
    t = tier_for("throttled", 3, 100, NULL);
    model_client_free(mc);
    mc = client_for(&t);
    r = render_one(mc, &req, 5000);
    assert_false(r->ok);
    assert_string_equal(r->reason, "rate_limited");
    assert_int_equal(r->http_status, 429);
    assert_non_null(strstr(r->detail, "Retry-After 30 s exceeds"));
    render_result_free(r);
    model_client_free(mc);
}

/* ==== The event loop ==== */

static int64_t g_timer_fired_ms;
static int g_hook_runs, g_fd_events;
static void on_test_timer(void *ctx) { g_timer_fired_ms = mono_ms(); }
static void on_test_hook(void *ctx) { g_hook_runs++; }
static void on_test_fd(void *ctx, int fd, int events) {
    char b;
    if (read(fd, &b, 1) == 1) g_fd_events++;
}

/* The loop waits for its fds and timers, runs hooks before every wait, and a client's
 * transfer completes on it without any poll of the client's own. */
static void test_loop_runs_fd_handlers_timers_and_hooks(void **s) {
    (void)s;
    loop_t *l = loop_new();
    assert_non_null(l);
    assert_int_equal(loop_before_sleep(l, on_test_hook, NULL), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(loop_watch(l, p[0], LOOP_READ, on_test_fd, NULL), 0);
    g_hook_runs = g_fd_events = 0;
    int64_t t0 = mono_ms();
    assert_int_equal(loop_run_once(l, 200), 0); /* nothing: waits the timeout */
    assert_true(mono_ms() - t0 >= 150);
    assert_int_equal(g_hook_runs, 1);
    assert_int_equal(write(p[1], "x", 1), 1);
    t0 = mono_ms();
    assert_int_equal(loop_run_once(l, 5000), 1); /* the fd wakes it */
    assert_true(mono_ms() - t0 < 1000);
    assert_int_equal(g_fd_events, 1);
    g_timer_fired_ms = 0;
    t0 = mono_ms();
    loop_timer_at(l, t0 + 50, on_test_timer, NULL);
    loop_timer_id gone = loop_timer_at(l, t0 + 20, on_test_timer, NULL);
    loop_timer_cancel(l, gone);
    while (!g_timer_fired_ms && mono_ms() - t0 < 2000) loop_run_once(l, 5000);
    assert_true(g_timer_fired_ms - t0 >= 45); /* the cancelled one never fired */
    assert_true(g_timer_fired_ms - t0 < 1000);
    loop_unwatch(l, p[0]);
    close(p[0]);
    close(p[1]);
    loop_free(l);

    tier_config_t t = tier_for("backup", 0, 100, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(64, 64, 13);
    assert_int_equal(model_client_submit(mc, &req, NULL), 0);
    render_result_t *r = NULL;
    assert_int_equal(collect(mc, &r, 1, 5000), 1);
    assert_true(r->ok);
    render_result_free(r);
    model_client_free(mc);
}

/* ==== base64 ==== */

static void test_base64_round_trips_every_length(void **s) {
    (void)s;
    unsigned char data[64];
    for (int i = 0; i < 64; i++) data[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof data; n++) {
        size_t elen = 0, dlen = 0;
        char *enc = base64_encode(data, n, &elen);
        assert_int_equal(elen, 4 * ((n + 2) / 3));
        char err[160];
        unsigned char *dec = base64_decode(enc, elen, 1 << 20, &dlen, err, sizeof err);
        assert_non_null(dec);
        assert_int_equal(dlen, n);
        if (n) assert_memory_equal(dec, data, n);
        free(enc);
        free(dec);
    }
    char err[160];
    size_t len;
    unsigned char *d = base64_decode("TWFu", 4, 16, &len, err, sizeof err);
    assert_memory_equal(d, "Man", 3);
    free(d);
}

static void test_base64_rejects_foreign_characters_and_bad_padding(void **s) {
    (void)s;
    char err[160];
    size_t len;
    const char *bad[] = {"TW@u", "T===", "TWFu=", "TWFuT", "TW=u", "=TWF"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_null(base64_decode(bad[i], strlen(bad[i]), 64, &len, err, sizeof err));
        assert_non_null(strstr(err, "base64"));
    }
    /* The size cap holds. */
    assert_null(base64_decode("TWFuTWFu", 8, 4, &len, err, sizeof err));
    assert_non_null(strstr(err, "exceeds 4 bytes"));
}

/* ==== Concurrency ==== */

static void test_hundreds_in_flight_complete_in_about_one_latency(void **s) {
    (void)s;
    enum { N = 128 };
    tier_config_t t = tier_for("slow_300", 0, 1000, NULL);
    t.max_inflight = N;
    model_client_t *mc = client_for(&t);
    render_result_t *out[N] = {0};
    int64_t t0 = mono_ms();
    for (intptr_t i = 0; i < N; i++) {
        render_request_t req = request(256, 256, 7); /* prerendered: the same image */
        assert_int_equal(model_client_submit(mc, &req, (void *)i), 0);
    }
    assert_int_equal(model_client_inflight(mc), N);
    assert_int_equal(collect(mc, out, N, 20000), N);
    int64_t elapsed = mono_ms() - t0;
    int64_t serial = (int64_t)N * 300;
    fprintf(stderr, "%d requests at 300 ms each: %lld ms (serial: %lld ms)\n", N, (long long)elapsed,
            (long long)serial);
    for (int i = 0; i < N; i++) {
        expect_ok(out[i], "slow_300");
        assert_int_equal(out[i]->attempts, 1);
        assert_true(out[i]->latency_ms >= 290);
        render_result_free(out[i]);
    }
    assert_true(elapsed < serial / 10);
    model_client_free(mc);
}

/* The registry is the provider list: every name finds its adapter, named alike. */
static void test_every_provider_in_the_list_has_its_adapter(void **state) {
    (void)state;
    for (int i = 0; i < PROVIDER_COUNT; i++) {
        const provider_t *p = provider_find(provider_names[i]);
        if (!p) fail_msg("provider \"%s\" has no adapter", provider_names[i]);
        assert_string_equal(p->name, provider_names[i]);
    }
    assert_null(provider_find("dalle"));
}


/* ==== Fallback triggers (tiers.*.fallback_on) ==== */

static void test_fallback_on_without_5xx_keeps_a_503_on_its_model(void **s) {
    (void)s;
    tier_config_t t = tier_for("dead_503", 1, 500, "backup", NULL);
    t.fallback_configured = true;
    t.fallback_on = FALLBACK_ON_TIMEOUT; /* 503 not listed */
    t.breaker_failures = 1000;
    model_client_t *mc = client_for(&t);
    render_request_t req = request(128, 128, 1);
    render_result_t *r = render_one(mc, &req, 5000);
    assert_false(r->ok);
    assert_string_equal(r->reason, "upstream_unavailable");
    assert_string_equal(r->model, "dead_503");
    assert_int_equal(r->attempts, 2); /* retried on its model, never sent to backup */
    assert_non_null(strstr(r->detail, "fallback_on does not list"));
    render_result_free(r);
    model_client_free(mc);
}

static void test_fallback_on_a_listed_status_moves_a_refusal_on(void **s) {
    (void)s;
    tier_config_t t = tier_for("refusing_400", 3, 500, "backup", NULL);
    t.fallback_configured = true;
    t.fallback_on = 0;
    t.fallback_status[t.n_fallback_status++] = 400;
    model_client_t *mc = client_for(&t);
    render_request_t req = request(128, 128, 2);
    render_result_t *r = render_one(mc, &req, 5000);
    expect_ok(r, "backup");
    assert_int_equal(r->attempts, 2); /* a 400 is not retried: straight to the fallback */
    render_result_free(r);
    model_client_free(mc);
}

static void test_unknown_params_fail_start_up_naming_file_and_key(void **s) {
    (void)s;
    config_t *c2 = malloc(sizeof *c2);
    *c2 = cfg;
    model_config_t *m = (model_config_t *)config_model(c2, "m_a1111");
    snprintf(m->params_json, sizeof m->params_json, "{\"sampler_name\":\"Euler a\",\"hires\":true}");
    tier_config_t t = tier_for("m_a1111", 0, 500, NULL);
    char err[1024] = "";
    assert_null(model_client_new(c2, &t, g_loop, err, sizeof err));
    assert_non_null(strstr(err, config_path));
    assert_non_null(strstr(err, "models.m_a1111.params.hires: expected a parameter a1111 documents (steps, sampler_name"));
    /* Documented ones go through to the wire, and the renderer (as strict as the webui) takes them. */
    snprintf(m->params_json, sizeof m->params_json, "{\"sampler_name\":\"Euler a\",\"steps\":12}");
    model_client_t *mc = model_client_new(c2, &t, g_loop, err, sizeof err);
    assert_non_null(mc);
    render_request_t req = request(128, 128, 3);
    render_result_t *r = render_one(mc, &req, 5000);
    expect_ok(r, "m_a1111");
    render_result_free(r);
    model_client_free(mc);
    free(c2);
}

/* ==== Credentials that last ==== */

static void key_path(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmpdir, name); }

static void test_rotated_key_file_is_reread_before_the_next_request(void **s) {
    (void)s;
    tier_config_t t = tier_for("tok_file", 0, 500, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(128, 128, 4);
    render_result_t *r = render_one(mc, &req, 5000);
    expect_ok(r, "tok_file");
    assert_int_equal(r->attempts, 1);
    render_result_free(r);
    char a[PATH_MAX + 32], w[PATH_MAX + 32];
    key_path(a, sizeof a, "accepted.key");
    key_path(w, sizeof w, "worker.key");
    write_text(a, "key-two-BBBBBB\n");
    write_text(w, "key-two-BBBBBB\n"); /* a sidecar rewrote it: the client sees the change */
    usleep(20 * 1000);
    r = render_one(mc, &req, 5000);
    expect_ok(r, "tok_file");
    assert_int_equal(r->attempts, 1);
    render_result_free(r);
    model_client_free(mc);
}

static void test_a_401_rereads_the_key_and_retries_once(void **s) {
    (void)s;
    tier_config_t t = tier_for("tok_file", 0, 500, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(128, 128, 5);
    char a[PATH_MAX + 32], w[PATH_MAX + 32];
    key_path(a, sizeof a, "accepted.key");
    key_path(w, sizeof w, "worker.key");
    write_text(a, "key-two-BBBBBB\n");
    write_text(w, "key-two-BBBBBB\n");
    render_result_t *r = render_one(mc, &req, 5000);
    expect_ok(r, "tok_file");
    render_result_free(r);
    /* Rotated, and the file looks unchanged (same inode, size and mtime): only the 401 tells. */
    struct stat st;
    assert_int_equal(stat(w, &st), 0);
    write_text(a, "key-three-CCCC\n");
    write_text(w, "key-three-CCCC\n");
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, w, times, 0), 0);
    r = render_one(mc, &req, 5000);
    expect_ok(r, "tok_file");
    assert_int_equal(r->attempts, 2); /* 401, re-read, retried at once */
    render_result_free(r);
    /* A key that stays wrong: one retry, then the provider's 401, the key redacted. */
    write_text(a, "key-four-DDDDD\n");
    r = render_one(mc, &req, 5000);
    assert_false(r->ok);
    assert_string_equal(r->reason, "http_4xx");
    assert_int_equal(r->http_status, 401);
    assert_int_equal(r->attempts, 2);
    assert_null(strstr(r->detail, "key-three-CCCC"));
    assert_non_null(strstr(r->detail, "[redacted]")); /* the renderer echoes what it was sent */
    render_result_free(r);
    model_client_free(mc);
}

static void test_metadata_tokens_are_fetched_refreshed_and_retried_after_a_401(void **s) {
    (void)s;
    char a[PATH_MAX + 32];
    key_path(a, sizeof a, "accepted.key");
    write_text(a, "ya29.meta-one-EEEE\n");
    tier_config_t t = tier_for("tok_meta", 0, 500, NULL);
    model_client_t *mc = client_for(&t);
    render_request_t req = request(128, 128, 6);
    render_result_t *r = render_one(mc, &req, 5000);
    expect_ok(r, "tok_meta");
    assert_int_equal(r->attempts, 1);
    render_result_free(r);
    /* The token lives 2 s: after that the client fetches a new one before sending. */
    write_text(a, "ya29.meta-two-FFFF\n");
    usleep(2100 * 1000);
    r = render_one(mc, &req, 5000);
    expect_ok(r, "tok_meta");
    assert_int_equal(r->attempts, 1);
    render_result_free(r);
    /* Revoked early: the 401 refreshes the token and retries once. */
    write_text(a, "ya29.meta-three-GG\n");
    r = render_one(mc, &req, 5000);
    expect_ok(r, "tok_meta");
    assert_int_equal(r->attempts, 2);
    render_result_free(r);
    model_client_free(mc);

    /* A metadata server that does not answer: the attempt fails naming where it asked. */
    t = tier_for("tok_meta_dead", 0, 500, NULL);
    mc = client_for(&t);
    r = render_one(mc, &req, 5000);
    assert_false(r->ok);
    assert_string_equal(r->reason, "upstream_unavailable");
    assert_non_null(strstr(r->detail, "http://127.0.0.1:1/computeMetadata/v1/instance/service-accounts/default/token"));
    render_result_free(r);
    model_client_free(mc);
}

int main(int argc, char **argv) {
    (void)argc;
    char self[PATH_MAX];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(renderer_bin, sizeof renderer_bin, "%s/../bin/pressroom-renderer", dirname(self));
    if (access(renderer_bin, X_OK)) snprintf(renderer_bin, sizeof renderer_bin, "build/bin/pressroom-renderer");
    const struct CMUnitTest resilience[] = {
        cmocka_unit_test(test_openai_dialect_renders_png_of_requested_size),
        cmocka_unit_test(test_raw_dialect_renders_png_of_requested_size),
        cmocka_unit_test(test_a1111_dialect_renders_png_of_requested_size),
        cmocka_unit_test(test_stability_dialect_renders_png_of_nearest_ratio),
        cmocka_unit_test(test_vertex_dialect_renders_png_of_nearest_ratio),
        cmocka_unit_test(test_500s_are_retried_until_success),
        cmocka_unit_test(test_429_waits_for_retry_after_then_succeeds),
        cmocka_unit_test(test_timeout_is_retried_until_success),
        cmocka_unit_test(test_5xx_on_every_attempt_ends_in_upstream_unavailable),
        cmocka_unit_test(test_timeouts_on_every_attempt_end_in_reason_timeout),
        cmocka_unit_test(test_fallback_model_answers_when_primary_exhausted),
        cmocka_unit_test(test_terminal_reason_when_fallbacks_fail_too),
        cmocka_unit_test(test_circuit_opens_after_k_failures_and_requests_skip_it),
        cmocka_unit_test(test_half_open_probe_closes_breaker_on_success),
        cmocka_unit_test(test_rate_gate_holds_retries_and_fallbacks_not_the_admitted_first_attempt),
        cmocka_unit_test(test_4xx_is_terminal_and_keeps_provider_message),
        cmocka_unit_test(test_missing_api_key_env_fails_construction_naming_the_variable),
        cmocka_unit_test(test_fallback_on_without_5xx_keeps_a_503_on_its_model),
        cmocka_unit_test(test_fallback_on_a_listed_status_moves_a_refusal_on),
        cmocka_unit_test(test_unknown_params_fail_start_up_naming_file_and_key),
    };
    const struct CMUnitTest credentials[] = {
        cmocka_unit_test(test_rotated_key_file_is_reread_before_the_next_request),
        cmocka_unit_test(test_a_401_rereads_the_key_and_retries_once),
        cmocka_unit_test(test_metadata_tokens_are_fetched_refreshed_and_retried_after_a_401),
    };
    const struct CMUnitTest answers[] = {
        cmocka_unit_test(test_garbage_responses_are_bad_response_in_every_dialect),
        cmocka_unit_test(test_safety_refusals_are_safety_filtered_in_every_dialect),
        cmocka_unit_test(test_retry_after_longer_than_timeout_moves_on_to_fallback),
        cmocka_unit_test(test_loop_runs_fd_handlers_timers_and_hooks),
        cmocka_unit_test(test_every_provider_in_the_list_has_its_adapter),
        cmocka_unit_test(test_base64_round_trips_every_length),
        cmocka_unit_test(test_base64_rejects_foreign_characters_and_bad_padding),
        cmocka_unit_test(test_hundreds_in_flight_complete_in_about_one_latency),
    };
    if (getenv("PRESSROOM_TEST_DEBUG")) log_set_level(LOG_DEBUG);
    group_config = config_resilience;
    g_loop = loop_new();
    int failed = cmocka_run_group_tests(resilience, start_renderer, stop_renderer);
    group_config = config_answers;
    failed += cmocka_run_group_tests(answers, start_renderer, stop_renderer);
    group_config = config_credentials;
    failed += cmocka_run_group_tests(credentials, start_renderer, stop_renderer);
    loop_free(g_loop);
    return failed;
}
