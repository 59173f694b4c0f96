/* test_provider_contracts.c — every adapter's requests, as they go over the wire, against
 * the request schemas in tests/contracts/ (written from each provider's public reference,
 * not from the adapters).
 *
 * The test builds each adapter's request (provider->build, the code the workers run) for
 * a matrix of jobs — first render, re-renders with stronger guidance, with and without a
 * negative prompt, seeds at the edges, odd sizes, per-provider extras from
 * models.NAME.params — sends it with libcurl to a capture server on loopback (so the
 * bytes are libcurl's, multipart included), writes each captured request to a folder
 * and runs tests/contracts/check.py on it (python3-jsonschema). check.py also proves the
 * schemas bite: every request with one extra field must fail, and so must the
 * deliberate drifts built here from real adapter requests. */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "base/base64.h"
#include "model/provider.h"

/* ==== The capture server: one request at a time, answered 204 ==== */

static struct {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    char method[16], path[1024], content_type[256];
    char *body;
    size_t body_len;
} cap;

static void *capture_loop(void *arg) {
    (void)arg;
    for (;;) {
        int c = accept(cap.fd, NULL, NULL);
        if (c < 0) return NULL;
        size_t cap_len = 1 << 16, len = 0;
        char *buf = malloc(cap_len + 1);
        char *hend = NULL;
        long want = -1;
        for (;;) {
            if (len == cap_len) {
                cap_len *= 2;
                buf = realloc(buf, cap_len + 1);
            }
            ssize_t n = read(c, buf + len, cap_len - len);
            if (n <= 0) break;
            len += (size_t)n;
            buf[len] = '\0';
            if (!hend && (hend = strstr(buf, "\r\n\r\n"))) {
                const char *cl = strcasestr(buf, "\r\nContent-Length:");
                want = cl && cl < hend ? strtol(cl + 17, NULL, 10) : 0;
            }
            if (hend && (long)(len - (size_t)(hend + 4 - buf)) >= want) break;
        }
        pthread_mutex_lock(&cap.lock);
        cap.method[0] = cap.path[0] = cap.content_type[0] = '\0';
        if (hend) {
            sscanf(buf, "%15s %1023s", cap.method, cap.path);
            const char *ct = strcasestr(buf, "\r\nContent-Type:");
            if (ct && ct < hend) {
                ct += 15;
                while (*ct == ' ') ct++;
                size_t n = strcspn(ct, "\r\n");
                snprintf(cap.content_type, sizeof cap.content_type, "%.*s", (int)n, ct);
            }
            free(cap.body);
            cap.body_len = len - (size_t)(hend + 4 - buf);
            cap.body = malloc(cap.body_len + 1);
            memcpy(cap.body, hend + 4, cap.body_len);
        }
        pthread_mutex_unlock(&cap.lock);
        const char *resp = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
        if (write(c, resp, strlen(resp)) < 0) {}
        close(c);
        free(buf);
    }
}

static char outdir[256];
static int n_records;

static int setup(void **state) {
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cap.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(cap.fd, (struct sockaddr *)&a, sizeof a) || listen(cap.fd, 16) ||
        getsockname(cap.fd, (struct sockaddr *)&a, &alen))
        return -1;
    cap.port = ntohs(a.sin_port);
    pthread_mutex_init(&cap.lock, NULL);
    if (pthread_create(&cap.thread, NULL, capture_loop, NULL)) return -1;
    snprintf(outdir, sizeof outdir, "/tmp/pressroom-contracts.XXXXXX");
    return mkdtemp(outdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    shutdown(cap.fd, SHUT_RDWR);
    close(cap.fd);
    pthread_join(cap.thread, NULL);
    free(cap.body);
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", outdir);
    if (system(cmd)) return -1;
    curl_global_cleanup();
    return 0;
}

/* ==== Sending one adapter request and recording it ==== */

typedef struct {
    const char *provider, *provider_model, *params; /* params: JSON text or NULL */
} model_case_t;

/* Sends req over HTTP to the capture server and writes the captured request as
 * OUTDIR/NNN.json for check.py. */
static void send_and_record(CURL *h, provider_request_t *req, const char *provider, const char *name,
                            const char *expect) {
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    struct curl_slist *hd = curl_slist_append(req->headers, "Expect:");
    req->headers = hd;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, req->headers);
    if (req->mime) curl_easy_setopt(h, CURLOPT_MIMEPOST, req->mime);
    else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) fprintf(stderr, "%s %s: %s\n", provider, name, curl_easy_strerror(cc));
    assert_int_equal(cc, CURLE_OK);
    pthread_mutex_lock(&cap.lock);
    char *b64 = base64_encode(cap.body, cap.body_len, NULL);
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "provider", provider);
    cJSON_AddStringToObject(rec, "case", name);
    cJSON_AddStringToObject(rec, "expect", expect);
    cJSON_AddStringToObject(rec, "method", cap.method);
    cJSON_AddStringToObject(rec, "path", cap.path);
    cJSON_AddStringToObject(rec, "content_type", cap.content_type);
    cJSON_AddStringToObject(rec, "body_b64", b64);
    pthread_mutex_unlock(&cap.lock);
    free(b64);
    char path[320];
    snprintf(path, sizeof path, "%s/%03d.json", outdir, n_records++);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    char *text = cJSON_PrintUnformatted(rec);
    fputs(text, f);
    fclose(f);
    free(text);
    cJSON_Delete(rec);
}

static void base_for(const char *provider, char *base, size_t len) {
    if (!strcmp(provider, "vertex"))
        snprintf(base, len, "http://127.0.0.1:%d/v1/projects/p/locations/us-central1/publishers/google/models", cap.port);
    else
        snprintf(base, len, "http://127.0.0.1:%d", cap.port);
}

/* The pipeline's guidance per attempt (route_guidance_scale): 0, 10.5, 14. */
static const double guidance_by_attempt[] = {0, 10.5, 14};

static void test_every_adapter_request_matches_its_providers_schema(void **state) {
    (void)state;
    static const model_case_t models[] = {
        {"openai", "dall-e-2", NULL},
        {"openai", "dall-e-3", "{\"quality\":\"hd\",\"style\":\"natural\"}"},
        {"openai", "gpt-image-1", "{\"quality\":\"high\",\"background\":\"opaque\",\"moderation\":\"low\"}"},
        {"openai", "gpt-image-1-mini", NULL},
        {"openai", "sd3.5_turbo", "{\"user\":\"pressroom\"}"}, /* an OpenAI-compatible server's id */
        {"stability", "sd3.5-large", "{\"style_preset\":\"photographic\"}"},
        {"stability", "sd3.5-large-turbo", NULL},
        {"stability", "sd3.5-medium", NULL},
        {"a1111", "sd_xl_base_1.0.safetensors", "{\"sampler_name\":\"Euler a\",\"steps\":30,\"scheduler\":\"karras\"}"},
        {"a1111", "v1-5-pruned-emaonly", NULL},
        {"vertex", "imagen-4.0-generate-001", "{\"personGeneration\":\"dont_allow\",\"enhancePrompt\":false}"},
        {"vertex", "imagen-3.0-generate-002", NULL},
        {"vertex", "imagen-3.0-generate-001", "{\"safetySetting\":\"block_only_high\",\"language\":\"en\"}"},
        {"vertex", "imagegeneration@006", NULL},
        {"raw", "sd3.5_turbo", NULL},
    };
    static const int sizes[][2] = {{768, 512}, {1024, 1024}, {640, 360}, {333, 777}, {2000, 100}, {64, 64}, {512, 768}};
    static const uint64_t seeds[] = {0, 42, 4294967294ull, 4294967295ull, UINT64_MAX};
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        const model_case_t *m = &models[mi];
        const provider_t *p = provider_find(m->provider);
        assert_non_null(p);
        char base[256];
        base_for(m->provider, base, sizeof base);
        cJSON *params = m->params ? cJSON_Parse(m->params) : NULL;
        provider_target_t t = {.model = "alias", .provider_model = m->provider_model, .base_url = base,
                               .api_key = "sk-contract-test-key", .params = params};
        char err[512] = "";
        if (provider_check_params(p, &t, err, sizeof err)) fprintf(stderr, "%s: %s\n", m->provider_model, err);
        assert_int_equal(provider_check_params(p, &t, err, sizeof err), 0);
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            for (int attempt = 1; attempt <= 3; attempt++) {
                render_request_t r = {
                    .prompt = "Poster with the headline \"SALE\" in #112233 on #F0F0F0. Fix: expected SALE, read SAIE",
                    .width = sizes[si][0], .height = sizes[si][1],
                    .seed = seeds[(si + (size_t)attempt) % (sizeof seeds / sizeof seeds[0])],
                    .guidance = guidance_by_attempt[attempt - 1],
                    .negative_prompt = attempt > 1 ? "misspelled text, cropped text" : NULL};
                /* A template job's adapter on a1111 (second attempts): LoRA tags, alwayson_scripts. */
                static template_config_t tmpl = {.name = "weekly-deals", .n_adapters = 1,
                                                 .adapters = {{.provider = "a1111", .n_loras = 2,
                                                               .lora = {"deals_style", "brand-v2"},
                                                               .lora_weight = {0.8, 1},
                                                               .alwayson_scripts_json =
                                                                   "{\"ADetailer\":{\"args\":[true,{\"ad_model\":\"face_yolov8n.pt\"}]}}"}}};
                if (!strcmp(m->provider, "a1111") && attempt == 2) r.tmpl = &tmpl;
                CURL *h = curl_easy_init();
                provider_request_t req;
                memset(&req, 0, sizeof req);
                assert_int_equal(p->build(&t, &r, h, &req, err, sizeof err), 0);
                /* What the request says it asked for is what a provider of this kind takes. */
                if (!strcmp(m->provider, "stability") || !strcmp(m->provider, "vertex")) {
                    assert_true(req.sent.aspect_ratio[0]);
                    assert_int_equal(req.sent.width, 0);
                } else {
                    assert_true(req.sent.width >= 64 && req.sent.height >= 64);
                }
                assert_int_equal(req.sent.seed_sent, strcmp(m->provider, "openai") != 0);
                if (!strcmp(m->provider, "a1111")) {
                    /* Restoring the settings would reload the checkpoint on every request. */
                    cJSON *b = cJSON_ParseWithLength(req.body, req.body_len);
                    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(b, "override_settings_restore_afterwards")));
                    const char *pr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "prompt"));
                    const cJSON *as = cJSON_GetObjectItemCaseSensitive(b, "alwayson_scripts");
                    if (r.tmpl) {
                        assert_non_null(strstr(pr, ", <lora:deals_style:0.8>, <lora:brand-v2:1>"));
                        assert_non_null(cJSON_GetObjectItemCaseSensitive(as, "ADetailer"));
                    } else {
                        assert_null(strstr(pr, "<lora:"));
                        assert_null(as);
                    }
                    cJSON_Delete(b);
                }
                char name[160];
                snprintf(name, sizeof name, "%s %dx%d attempt %d", m->provider_model, sizes[si][0], sizes[si][1], attempt);
                send_and_record(h, &req, m->provider, name, "valid");
                provider_request_free(&req);
                curl_easy_cleanup(h);
            }
        }
        cJSON_Delete(params);
    }
}

/* Deliberate drifts from real adapter requests: what the adapters used to send. The
 * schemas must refuse each (check.py fails the run when one passes). */
static void test_drifted_requests_are_refused_by_the_schemas(void **state) {
    (void)state;
    char base[256], err[256];
    render_request_t r = {.prompt = "\"SALE\"", .width = 768, .height = 512, .seed = 7, .guidance = 10.5,
                          .negative_prompt = "blurry"};
    /* openai with a seed, the old size and response_format on gpt-image-1. */
    static const char *const openai_drifts[][2] = {{"seed", "3"}, {"size", "\"768x512\""}, {"response_format", "\"b64_json\""},
                                                   {"guidance_scale", "10.5"}, {"negative_prompt", "\"blurry\""}};
    for (size_t i = 0; i < sizeof openai_drifts / sizeof openai_drifts[0]; i++) {
        base_for("openai", base, sizeof base);
        provider_target_t t = {.model = "a", .provider_model = "gpt-image-1", .base_url = base, .api_key = ""};
        CURL *h = curl_easy_init();
        provider_request_t req;
        memset(&req, 0, sizeof req);
        assert_int_equal(provider_openai.build(&t, &r, h, &req, err, sizeof err), 0);
        cJSON *b = cJSON_ParseWithLength(req.body, req.body_len);
        cJSON_DeleteItemFromObjectCaseSensitive(b, openai_drifts[i][0]);
        cJSON_AddItemToObject(b, openai_drifts[i][0], cJSON_Parse(openai_drifts[i][1]));
        free(req.body);
        req.body = cJSON_PrintUnformatted(b);
        req.body_len = strlen(req.body);
        cJSON_Delete(b);
        char name[64];
        snprintf(name, sizeof name, "drift %s", openai_drifts[i][0]);
        send_and_record(h, &req, "openai", name, "reject");
        provider_request_free(&req);
        curl_easy_cleanup(h);
    }
    /* stability: the unclamped cfg_scale 10.5 and an alias as the model id. */
    static const char *const stab_drifts[][2] = {{"cfg_scale", "10.5"}, {"model", "sd3.5_turbo"}};
    for (size_t i = 0; i < 2; i++) {
        base_for("stability", base, sizeof base);
        provider_target_t t = {.model = "a", .provider_model = i == 1 ? stab_drifts[1][1] : "sd3.5-large",
                               .base_url = base, .api_key = ""};
        render_request_t rs = r;
        rs.guidance = 0; /* no cfg_scale from the adapter: the drift adds the old one */
        CURL *h = curl_easy_init();
        provider_request_t req;
        memset(&req, 0, sizeof req);
        assert_int_equal(provider_stability.build(&t, &rs, h, &req, err, sizeof err), 0);
        if (i == 0) {
            curl_mimepart *part = curl_mime_addpart(req.mime);
            curl_mime_name(part, stab_drifts[0][0]);
            curl_mime_data(part, stab_drifts[0][1], CURL_ZERO_TERMINATED);
        }
        char name[64];
        snprintf(name, sizeof name, "drift %s", stab_drifts[i][0]);
        send_and_record(h, &req, "stability", name, "reject");
        provider_request_free(&req);
        curl_easy_cleanup(h);
    }
    /* vertex: guidanceScale; negativePrompt to imagen-4. */
    for (int i = 0; i < 2; i++) {
        base_for("vertex", base, sizeof base);
        provider_target_t t = {.model = "a", .provider_model = "imagen-4.0-generate-001", .base_url = base, .api_key = ""};
        CURL *h = curl_easy_init();
        provider_request_t req;
        memset(&req, 0, sizeof req);
        assert_int_equal(provider_vertex.build(&t, &r, h, &req, err, sizeof err), 0);
        cJSON *b = cJSON_ParseWithLength(req.body, req.body_len);
        cJSON *par = cJSON_GetObjectItemCaseSensitive(b, "parameters");
        if (i == 0) cJSON_AddNumberToObject(par, "guidanceScale", 10.5);
        else cJSON_AddStringToObject(par, "negativePrompt", "blurry");
        free(req.body);
        req.body = cJSON_PrintUnformatted(b);
        req.body_len = strlen(req.body);
        cJSON_Delete(b);
        send_and_record(h, &req, "vertex", i == 0 ? "drift guidanceScale" : "drift negativePrompt on imagen-4", "reject");
        provider_request_free(&req);
        curl_easy_cleanup(h);
    }
    /* a1111: a cfg_scale over the UI's range, an unknown member. */
    for (int i = 0; i < 2; i++) {
        base_for("a1111", base, sizeof base);
        provider_target_t t = {.model = "a", .provider_model = "v1-5", .base_url = base, .api_key = ""};
        CURL *h = curl_easy_init();
        provider_request_t req;
        memset(&req, 0, sizeof req);
        assert_int_equal(provider_a1111.build(&t, &r, h, &req, err, sizeof err), 0);
        cJSON *b = cJSON_ParseWithLength(req.body, req.body_len);
        if (i == 0) cJSON_ReplaceItemInObjectCaseSensitive(b, "cfg_scale", cJSON_CreateNumber(31));
        else cJSON_AddNumberToObject(b, "guidance", 7);
        free(req.body);
        req.body = cJSON_PrintUnformatted(b);
        req.body_len = strlen(req.body);
        cJSON_Delete(b);
        send_and_record(h, &req, "a1111", i == 0 ? "drift cfg_scale 31" : "drift unknown member", "reject");
        provider_request_free(&req);
        curl_easy_cleanup(h);
    }
}

/* Runs check.py over everything captured above. */
static void test_captured_requests_pass_check_py(void **state) {
    (void)state;
    /* This binary is BUILD/tests/NAME in the repository: check.py is ../../tests/contracts. */
    char exe[PATH_MAX], cmd[PATH_MAX + 400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    for (int up = 0; up < 3; up++) *strrchr(exe, '/') = '\0';
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/contracts/check.py' '%s'", exe, outdir);
    int rc = system(cmd);
    assert_int_equal(rc, 0);
}

/* Unknown or ill-formed models.NAME.params are refused naming the key and the form. */
static void test_params_are_checked_against_each_adapter(void **state) {
    (void)state;
    static const struct { const char *provider, *model, *params, *want; } cases[] = {
        {"openai", "gpt-image-1", "{\"seed\":3}", "params.seed: expected a parameter openai documents"},
        {"openai", "gpt-image-1", "{\"quality\":\"hd\"}", "params.quality: expected one of \"low\""},
        {"openai", "dall-e-3", "{\"background\":\"opaque\"}", "params.background: expected no background for model dall-e-3"},
        {"stability", "sd3.5-large", "{\"style_preset\":\"oil\"}", "params.style_preset: expected one of \"3d-model\""},
        {"stability", "sd3.5-large", "{\"cfg_scale\":12}", "params.cfg_scale: expected a parameter stability documents"},
        {"a1111", "x", "{\"steps\":500}", "params.steps: expected an integer from 1 to 150, found 500"},
        {"a1111", "x", "{\"enable_hr\":true}", "params.enable_hr: expected a parameter a1111 documents"},
        {"vertex", "imagen-4.0-generate-001", "{\"guidanceScale\":9}", "params.guidanceScale: expected a parameter vertex documents"},
        {"vertex", "imagen-4.0-generate-001", "{\"enhancePrompt\":\"yes\"}", "params.enhancePrompt: expected true or false, found \"yes\""},
        {"raw", "x", "{\"steps\":20}", "params.steps: expected a parameter raw documents (none: it takes no extras)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *params = cJSON_Parse(cases[i].params);
        provider_target_t t = {.model = "m", .provider_model = cases[i].model, .base_url = "http://x", .api_key = "",
                               .params = params};
        char err[512] = "";
        assert_int_equal(provider_check_params(provider_find(cases[i].provider), &t, err, sizeof err), -1);
        if (!strstr(err, cases[i].want)) fprintf(stderr, "expected \"%s\" in \"%s\"\n", cases[i].want, err);
        assert_non_null(strstr(err, cases[i].want));
        cJSON_Delete(params);
    }
}

/* The documented sizes: nearest aspect, then nearest area. */
static void test_openai_sizes_map_to_the_nearest_documented_one(void **state) {
    (void)state;
    static const struct { const char *model; int w, h; const char *want; } cases[] = {
        {"gpt-image-1", 768, 512, "1536x1024"}, {"gpt-image-1", 512, 768, "1024x1536"},
        {"gpt-image-1", 640, 360, "1536x1024"}, {"gpt-image-1", 500, 500, "1024x1024"},
        {"dall-e-3", 768, 512, "1792x1024"},    {"dall-e-3", 1000, 1100, "1024x1024"},
        {"dall-e-2", 768, 512, "512x512"},      {"dall-e-2", 300, 300, "256x256"},
        {"dall-e-2", 500, 520, "512x512"},      {"other", 640, 360, "1792x1024"},
        {"other", 300, 300, "256x256"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(provider_nearest_size(cases[i].w, cases[i].h, openai_sizes_for(cases[i].model)),
                            cases[i].want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_are_checked_against_each_adapter),
        cmocka_unit_test(test_openai_sizes_map_to_the_nearest_documented_one),
        cmocka_unit_test(test_every_adapter_request_matches_its_providers_schema),
        cmocka_unit_test(test_drifted_requests_are_refused_by_the_schemas),
        cmocka_unit_test(test_captured_requests_pass_check_py),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
