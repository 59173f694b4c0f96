/* instr_bench.c — the preview stage's and the verifier's per-job CPU work, repeatable
 * under `valgrind --tool=callgrind` (instruction counts are stable on a shared machine,
 * wall time is not). bench/instr_bench.sh drives it and prints instructions per job.
 *
 *   instr_bench capture --url RENDERER_URL --out DIR
 *       asks the reference renderer for one 768x512 image in each provider dialect
 *       (the strict adapters' own requests) and stores each reply body in DIR/NAME.body
 *   instr_bench run --replies DIR --jobs N [--blobs file:///DIR]
 *       N times each: every dialect's reply parse (JSON, base64, PNG checks), the blob
 *       write, the job parse and task encode, and the verifier's PNG decode of the image.
 *       Each part is one function (bench_*) so callgrind's inclusive counts split them.
 *
 * Every parse result is checked (ok, same PNG in every dialect): a fast path that
 * returned garbage would fail the run, not just get faster. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/fileio.h"
#include "base/message.h"
#include "blob/blobstore.h"
#include "model/provider.h"
#include "verify/image.h"

typedef struct {
    const char *name;       /* file name and label */
    const char *provider;
    const char *provider_model;
    const char *base_suffix; /* appended to the renderer URL */
} dialect_t;

static const dialect_t DIALECTS[] = {
    {"openai", "openai", "gpt-image-1", ""},
    {"a1111", "a1111", "sd_xl_base_1.0.safetensors", ""},
    {"vertex", "vertex", "imagen-4.0-generate-001",
     "/v1/projects/pressroom/locations/local/publishers/google/models"},
    {"raw", "raw", "gpt_image", ""},
    {"stability", "stability", "sd3.5-large-turbo", ""},
};
#define N_DIALECTS (sizeof DIALECTS / sizeof DIALECTS[0])
#define RAW 3 /* the 768x512 PNG as drawn: stored, and decoded as the verifier does */

static const char JOB_LINE[] =
    "{\"job_id\": \"edit-0026\", \"asset_class\": \"editorial\", \"prompt\": \"an editorial photo of farmers at a "
    "market stall, with the words 'Storm Warning' and 'Coastal Areas' in bold clean letters\", \"size\": "
    "\"768x512\", \"seed\": 1816637617, \"palette\": [\"#00563F\", \"#FFFFFF\"], \"min_contrast\": 7.0}";

typedef struct {
    char *data;
    size_t len;
} body_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    body_t *b = ud;
    char *nd = realloc(b->data, b->len + sz * n + 1);
    if (!nd) return 0;
    memcpy(nd + b->len, p, sz * n);
    b->data = nd;
    b->len += sz * n;
    b->data[b->len] = '\0';
    return sz * n;
}

static int capture(const char *url, const char *dir) {
    job_t job;
    char err[512];
    if (job_parse(JOB_LINE, strlen(JOB_LINE), &job, err, sizeof err)) {
        fprintf(stderr, "instr_bench: %s\n", err);
        return 1;
    }
    render_request_t r = {.prompt = job.prompt, .width = job.width, .height = job.height, .seed = job.seed};
    for (size_t i = 0; i < N_DIALECTS; i++) {
        const dialect_t *d = &DIALECTS[i];
        const provider_t *p = provider_find(d->provider);
        char base[1024];
        snprintf(base, sizeof base, "%s%s", url, d->base_suffix);
        provider_target_t t = {.model = d->name, .provider_model = d->provider_model, .base_url = base, .api_key = ""};
        CURL *easy = curl_easy_init();
        provider_request_t req = {0};
        if (!p || !easy || p->build(&t, &r, easy, &req, err, sizeof err)) {
            fprintf(stderr, "instr_bench: %s: %s\n", d->name, p ? err : "no such provider");
            return 1;
        }
        body_t body = {0};
        curl_easy_setopt(easy, CURLOPT_URL, req.url);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req.headers);
        if (req.mime) curl_easy_setopt(easy, CURLOPT_MIMEPOST, req.mime);
        else if (req.body) {
            curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req.body);
            curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)req.body_len);
        }
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
        CURLcode rc = curl_easy_perform(easy);
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200) {
            fprintf(stderr, "instr_bench: %s: %s, HTTP %ld: %.300s\n", d->name, curl_easy_strerror(rc), status,
                    body.data ? body.data : "");
            return 1;
        }
        char path[1200];
        snprintf(path, sizeof path, "%s/%s.body", dir, d->name);
        if (file_write_atomic(path, body.data, body.len, err, sizeof err)) {
            fprintf(stderr, "instr_bench: %s\n", err);
            return 1;
        }
        printf("%s: %zu bytes\n", d->name, body.len);
        free(body.data);
        provider_request_free(&req);
        curl_easy_cleanup(easy);
    }
    return 0;
}

/* ==== The measured parts: one function each, never inlined (callgrind splits by name) ==== */

#define MEASURED __attribute__((noinline)) static

MEASURED int bench_parse(const provider_t *p, const provider_response_t *resp, unsigned char **png, size_t *len) {
    provider_outcome_t out = {0};
    p->parse(resp, &out);
    if (!out.ok) {
        fprintf(stderr, "instr_bench: %s reply not accepted: %s: %s\n", p->name, out.reason, out.detail);
        return -1;
    }
    *png = out.png;
    *len = out.png_len;
    return 0;
}

MEASURED int bench_blob_write(const blob_store_t *s, int i, const unsigned char *png, size_t len) {
    char uri[1024], err[256];
    if (blob_image_uri(s, "edit-0026", "r1", "preview", i % 4 + 1, uri, sizeof uri) ||
        blob_put(s, uri, png, len, err, sizeof err)) {
        fprintf(stderr, "instr_bench: blob: %s\n", err);
        return -1;
    }
    return 0;
}

MEASURED int bench_task_encode(const char *uri) {
    task_t *t = calloc(1, sizeof *t);
    char err[256];
    if (!t || job_parse(JOB_LINE, strlen(JOB_LINE), &t->job, err, sizeof err)) {
        fprintf(stderr, "instr_bench: job: %s\n", t ? err : "out of memory");
        free(t);
        return -1;
    }
    t->stage = STAGE_PREVIEW;
    t->attempt = 1;
    snprintf(t->model, sizeof t->model, "gpt_image");
    snprintf(t->image_uri, sizeof t->image_uri, "%s", uri);
    task_add_charge(t, STAGE_PREVIEW, 1, "gpt_image", 40000);
    t->render = (task_render_t){.known = true, .width = 768, .height = 512, .seed_sent = true};
    char *json = task_encode(t);
    int rc = json && strlen(json) > 100 ? 0 : -1;
    free(json);
    free(t);
    return rc;
}

MEASURED int bench_verify_decode(const unsigned char *png, size_t len) {
    image_limits_t lim = {.max_bytes = 32 << 20, .max_dimension = 4096, .max_chunks = 64};
    image_t img;
    char err[256];
    if (image_decode_png(png, len, &lim, &img, err, sizeof err)) {
        fprintf(stderr, "instr_bench: decode: %s\n", err);
        return -1;
    }
    int rc = img.w > 0 && img.h > 0 ? 0 : -1;
    image_free(&img);
    return rc;
}

/* The counted loop (callgrind --toggle-collect=bench_jobs): N jobs' worth of each part. */
MEASURED int bench_jobs(const provider_response_t *resp, unsigned char *const *ref, const size_t *ref_len,
                        const blob_store_t *store, int jobs) {
    for (int j = 0; j < jobs; j++) {
        for (size_t i = 0; i < N_DIALECTS; i++) {
            unsigned char *png;
            size_t len;
            if (bench_parse(provider_find(DIALECTS[i].provider), &resp[i], &png, &len)) return -1;
            if (len != ref_len[i] || memcmp(png, ref[i], len)) {
                fprintf(stderr, "instr_bench: %s: the image differs from the first parse\n", DIALECTS[i].name);
                return -1;
            }
            free(png);
        }
        if (bench_blob_write(store, j, ref[RAW], ref_len[RAW]) ||
            bench_task_encode("file:///x/edit-0026/r1/preview-1.png") || bench_verify_decode(ref[RAW], ref_len[RAW]))
            return -1;
    }
    return 0;
}

static int run(const char *dir, int jobs, const char *blobs) {
    provider_response_t resp[N_DIALECTS];
    unsigned char *bodies[N_DIALECTS];
    char err[512];
    CURL *easy = curl_easy_init(); /* no transfer: stability finds no finish-reason header */
    for (size_t i = 0; i < N_DIALECTS; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s.body", dir, DIALECTS[i].name);
        size_t len = 0;
        bodies[i] = (unsigned char *)file_read_all(path, 64u << 20, &len, err, sizeof err);
        if (!bodies[i]) {
            fprintf(stderr, "instr_bench: %s\n", err);
            return 1;
        }
        resp[i] = (provider_response_t){.status = 200, .body = bodies[i], .body_len = len, .easy = easy,
                                        .model = DIALECTS[i].name};
    }
    config_t *cfg = calloc(1, sizeof *cfg);
    snprintf(cfg->blob_root, sizeof cfg->blob_root, "%s", blobs);
    blob_store_t *store = blob_store_open(cfg, err, sizeof err);
    if (!store) {
        fprintf(stderr, "instr_bench: %s\n", err);
        return 1;
    }
    /* Each dialect's image, from a first parse outside the count: every later parse
     * must give the same bytes, and each must decode as the 768x512 image asked for. */
    unsigned char *ref[N_DIALECTS];
    size_t ref_len[N_DIALECTS];
    for (size_t i = 0; i < N_DIALECTS; i++) {
        if (bench_parse(provider_find(DIALECTS[i].provider), &resp[i], &ref[i], &ref_len[i]) ||
            bench_verify_decode(ref[i], ref_len[i]))
            return 1;
    }
    if (bench_jobs(resp, ref, ref_len, store, jobs)) return 1;
    printf("jobs=%d png_bytes=%zu\n", jobs, ref_len[RAW]);
    for (size_t i = 0; i < N_DIALECTS; i++) {
        free(ref[i]);
        free(bodies[i]);
    }
    blob_store_free(store);
    free(cfg);
    curl_easy_cleanup(easy);
    return 0;
}

int main(int argc, char **argv) {
    const char *url = NULL, *out = NULL, *replies = NULL, *blobs = "file:///tmp/pressroom-instr-bench-blobs";
    int jobs = 20;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url")) url = argv[i + 1];
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        else if (!strcmp(argv[i], "--replies")) replies = argv[i + 1];
        else if (!strcmp(argv[i], "--jobs")) jobs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--blobs")) blobs = argv[i + 1];
        else {
            fprintf(stderr, "instr_bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc > 1 && !strcmp(argv[1], "capture") && url && out) return capture(url, out);
    if (argc > 1 && !strcmp(argv[1], "run") && replies && jobs > 0) return run(replies, jobs, blobs);
    fprintf(stderr, "usage: %s capture --url URL --out DIR | run --replies DIR --jobs N [--blobs file:///DIR]\n",
            argv[0]);
    return 2;
}
