/* cmd_verify.c — `pressctl verify`: runs the verifier gate on image files.
 *
 *   pressctl verify IMAGE --text "SALE" [--text ...] [--palette "#RRGGBB,..."]
 *                   [--min-contrast 4.5] [--safe-zone 0.9] [--region x,y,w,h]
 *                   [--size WxH] [--case-insensitive] [--no-ocr] [--config FILE]
 *     prints one JSON verdict; exit 0 pass, 1 fail, 2 error.
 *   pressctl verify --batch FILE.jsonl [--threads N] [--no-ocr] [--config FILE]
 *     each line {"image": PATH, "text": [...], optional "palette", "min_contrast",
 *     "safe_zone", "region", "case_insensitive", "size"}; prints one JSON verdict per
 *     line, in input order, carrying "image", "line" and "pass"; a bad line yields
 *     {"image":..., "line":N, "pass":false, "error":"..."}. Exit 0 when every image
 *     passed, 1 when any failed or erred, 2 when the batch could not run.
 *
 * Constraints are parsed by job_from_json (common/message.c), the one parser of
 * jobs: command-line flags are first turned into the same JSON shape. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/message.h"
#include "verify/ocr.h"
#include "pressctl.h"
#include "verify/verify.h"

#define BATCH_LINE_MAX (1 << 20)

static void verify_usage(void) { pressctl_usage(stderr, "verify", NULL); }

/* Turns a batch line / the flags' JSON (no job_id, prompt or asset_class; an
 * "image" key) into a job via job_from_json. Without "size" the size is not
 * checked. Returns 0 or -1 with err. */
static int job_from_verify_json(const cJSON *obj, job_t *job, char *err, size_t errlen) {
    cJSON *copy = cJSON_Duplicate(obj, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "image");
    if (!cJSON_GetObjectItemCaseSensitive(copy, "job_id")) cJSON_AddStringToObject(copy, "job_id", "verify");
    if (!cJSON_GetObjectItemCaseSensitive(copy, "asset_class"))
        cJSON_AddStringToObject(copy, "asset_class", "thumbnail");
    if (!cJSON_GetObjectItemCaseSensitive(copy, "prompt")) cJSON_AddStringToObject(copy, "prompt", "(verify)");
    bool sized = cJSON_GetObjectItemCaseSensitive(copy, "size") != NULL;
    int rc = job_from_json(copy, job, err, errlen);
    cJSON_Delete(copy);
    if (rc == 0 && !sized) job->width = job->height = 0;
    return rc;
}

/* {"image": path, "line": N, ...report} as one line of text (free() it); line 0 = none. */
static char *verdict_line(const char *image, int line, const verdict_t *v) {
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "image", image);
    if (line > 0) cJSON_AddNumberToObject(out, "line", line);
    cJSON *rep = verdict_report(v);
    while (rep && rep->child) {
        cJSON *it = cJSON_DetachItemViaPointer(rep, rep->child);
        cJSON_AddItemToObject(out, it->string, it);
    }
    cJSON_Delete(rep);
    char *s = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return s;
}

static void print_verdict(const char *image, const verdict_t *v) {
    char *s = verdict_line(image, 0, v);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
}

static char *error_line(const char *image, int line, const char *error) {
    cJSON *out = cJSON_CreateObject();
    if (image) cJSON_AddStringToObject(out, "image", image);
    else cJSON_AddNullToObject(out, "image");
    if (line > 0) cJSON_AddNumberToObject(out, "line", line);
    cJSON_AddBoolToObject(out, "pass", false);
    cJSON_AddStringToObject(out, "error", error);
    char *s = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return s;
}

/* Reads an image file, at most the PNG limit plus one byte (so an oversized file
 * is still judged, as image_undecodable, by the verifier). */
static unsigned char *read_image(const char *path, const verifier_config_t *vc, size_t *len, char *err,
                                 size_t errlen) {
    size_t max = (size_t)vc->max_png_bytes + 1;
    return (unsigned char *)file_read_all(path, max, len, err, errlen);
}

/* ==== Batch ==== */

/* Verdicts finish in any order; they are printed in input order. Each input line
 * gets a sequence number; a finished line waits in `out` until every earlier one is
 * printed. The pool's window bounds how many wait. */
typedef struct {
    char image[1024];
    int line; /* in the batch file */
    int seq;
} batch_item_t;

typedef struct {
    char **out;   /* by seq - printed: the finished line's text, NULL while pending */
    int printed;  /* seqs below this are printed */
    int next_seq;
    int cap;
    int failed;
} batch_order_t;

static void order_put(batch_order_t *o, int seq, char *text, bool fail) {
    int slot = seq - o->printed;
    while (slot >= o->cap) {
        int ncap = o->cap ? o->cap * 2 : 64;
        o->out = xrealloc(o->out, (size_t)ncap * sizeof *o->out);
        memset(o->out + o->cap, 0, (size_t)(ncap - o->cap) * sizeof *o->out);
        o->cap = ncap;
    }
    o->out[slot] = text;
    o->failed += fail;
    int n = 0;
    while (n < o->cap && o->out[n]) {
        printf("%s\n", o->out[n]);
        free(o->out[n]);
        n++;
    }
    if (n) {
        fflush(stdout);
        memmove(o->out, o->out + n, (size_t)(o->cap - n) * sizeof *o->out);
        memset(o->out + o->cap - n, 0, (size_t)n * sizeof *o->out);
        o->printed += n;
    }
}

/* Takes every finished verdict off the pool into the order. */
static void drain(verify_pool_t *pool, batch_order_t *o) {
    void *op;
    verdict_t *v;
    while ((v = verify_pool_next(pool, &op))) {
        batch_item_t *bi = op;
        order_put(o, bi->seq, verdict_line(bi->image, bi->line, v), !verdict_pass(v));
        verdict_free(v);
        free(bi);
    }
}

static void wait_ready(verify_pool_t *pool) {
    struct pollfd pfd = {verify_pool_fd(pool), POLLIN, 0};
    poll(&pfd, 1, 1000);
}

static int run_batch(const char *path, const config_t *cfg, bool ocr, int threads) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "pressctl verify: cannot open batch file %s: %s\n", path, strerror(errno));
        return 2;
    }
    char err[512];
    verify_pool_t *pool = verify_pool_new(&cfg->verifier, ocr, threads, err, sizeof err);
    if (!pool) {
        fprintf(stderr, "pressctl verify: %s\n", err);
        fclose(f);
        return 2;
    }
    batch_order_t order = {0};
    int window = 4 * verify_pool_threads(pool), lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0) continue;
        int seq = order.next_seq++;
        cJSON *obj = n < BATCH_LINE_MAX ? cJSON_ParseWithLength(line, (size_t)n) : NULL;
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(obj, "image");
        const char *image = cJSON_IsString(img) ? img->valuestring : NULL;
        job_t job;
        char msg[600];
        if (!cJSON_IsObject(obj)) {
            snprintf(msg, sizeof msg, "%s:%d: expected a JSON object per line", path, lineno);
            order_put(&order, seq, error_line(NULL, lineno, msg), true);
        } else if (!image || !image[0]) {
            snprintf(msg, sizeof msg, "%s:%d: \"image\": expected the path of a PNG file", path, lineno);
            order_put(&order, seq, error_line(NULL, lineno, msg), true);
        } else if (job_from_verify_json(obj, &job, err, sizeof err) != 0) {
            snprintf(msg, sizeof msg, "%s:%d: %s", path, lineno, err);
            order_put(&order, seq, error_line(image, lineno, msg), true);
        } else {
            size_t len;
            unsigned char *png = read_image(image, &cfg->verifier, &len, err, sizeof err);
            if (!png) {
                snprintf(msg, sizeof msg, "%s:%d: %s", path, lineno, err);
                order_put(&order, seq, error_line(image, lineno, msg), true);
            } else {
                batch_item_t *bi = xcalloc(1, sizeof *bi);
                snprintf(bi->image, sizeof bi->image, "%s", image);
                bi->line = lineno;
                bi->seq = seq;
                verify_pool_submit(pool, &job, png, len, false, bi);
                while (verify_pool_pending(pool) >= window) {
                    wait_ready(pool);
                    drain(pool, &order);
                }
            }
        }
        cJSON_Delete(obj);
        drain(pool, &order);
    }
    free(line);
    fclose(f);
    while (verify_pool_pending(pool) > 0) {
        wait_ready(pool);
        drain(pool, &order);
    }
    verify_pool_free(pool);
    free(order.out);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "pressctl verify: cannot write the verdicts: %s\n", strerror(errno));
        return 2;
    }
    return order.failed ? 1 : 0;
}

/* ==== One image ==== */

int cmd_verify(int argc, char **argv) {
    ocr_thread_limit_reexec();
    const char *image = NULL, *batch = NULL, *config_path = NULL;
    bool no_ocr = false;
    int threads = 0;
    cJSON *spec = cJSON_CreateObject();
    cJSON *texts = cJSON_CreateArray();
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--text") || !strcmp(a, "--palette") || !strcmp(a, "--min-contrast") ||
                     !strcmp(a, "--safe-zone") || !strcmp(a, "--region") || !strcmp(a, "--size") ||
                     !strcmp(a, "--config") || !strcmp(a, "--batch") || !strcmp(a, "--threads");
        if (takes && !val) {
            fprintf(stderr, "pressctl verify: %s expects a value\n", a);
            goto out;
        }
        if (!strcmp(a, "--text")) cJSON_AddItemToArray(texts, cJSON_CreateString(argv[++i]));
        else if (!strcmp(a, "--palette")) {
            cJSON *pal = cJSON_AddArrayToObject(spec, "palette");
            char buf[512];
            snprintf(buf, sizeof buf, "%s", argv[++i]);
            for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
                cJSON_AddItemToArray(pal, cJSON_CreateString(t));
        } else if (!strcmp(a, "--min-contrast") || !strcmp(a, "--safe-zone")) {
            char *end;
            double d = strtod(argv[++i], &end);
            if (*end || end == argv[i]) {
                fprintf(stderr, "pressctl verify: %s: expected a number, found \"%s\"\n", a, argv[i]);
                goto out;
            }
            cJSON_AddNumberToObject(spec, a[2] == 'm' ? "min_contrast" : "safe_zone", d);
        } else if (!strcmp(a, "--region")) {
            double r[4];
            int used = 0;
            if (sscanf(argv[++i], "%lf,%lf,%lf,%lf%n", &r[0], &r[1], &r[2], &r[3], &used) != 4 || argv[i][used]) {
                fprintf(stderr, "pressctl verify: --region: expected x,y,w,h as fractions, found \"%s\"\n", argv[i]);
                goto out;
            }
            cJSON *reg = cJSON_AddObjectToObject(spec, "region");
            cJSON_AddNumberToObject(reg, "x", r[0]);
            cJSON_AddNumberToObject(reg, "y", r[1]);
            cJSON_AddNumberToObject(reg, "w", r[2]);
            cJSON_AddNumberToObject(reg, "h", r[3]);
        } else if (!strcmp(a, "--size")) cJSON_AddStringToObject(spec, "size", argv[++i]);
        else if (!strcmp(a, "--case-insensitive")) cJSON_AddBoolToObject(spec, "case_insensitive", true);
        else if (!strcmp(a, "--no-ocr")) no_ocr = true;
        else if (!strcmp(a, "--config")) config_path = argv[++i];
        else if (!strcmp(a, "--batch")) batch = argv[++i];
        else if (!strcmp(a, "--threads")) {
            if (arg_int("verify", "--threads", argv[++i], 0, 256, &threads)) goto out;
        }
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            verify_usage();
            rc = 0;
            goto out;
        } else if (a[0] == '-' || image) {
            fprintf(stderr, "pressctl verify: unexpected argument \"%s\"\n", a);
            verify_usage();
            goto out;
        } else image = a;
    }
    if (!!image == !!batch) {
        verify_usage();
        goto out;
    }
    config_t cfg;
    char err[512];
    if (config_load(&cfg, config_path, err, sizeof err) != 0) {
        fprintf(stderr, "pressctl verify: %s\n", err);
        goto out;
    }
    bool ocr = cfg.verify_ocr && !no_ocr;
    if (batch) {
        rc = run_batch(batch, &cfg, ocr, threads);
        goto out;
    }
    cJSON_AddItemToObject(spec, "text", texts);
    texts = NULL;
    job_t job;
    if (job_from_verify_json(spec, &job, err, sizeof err) != 0) {
        fprintf(stderr, "pressctl verify: %s\n", err);
        goto out;
    }
    size_t len;
    unsigned char *png = read_image(image, &cfg.verifier, &len, err, sizeof err);
    if (!png) {
        fprintf(stderr, "pressctl verify: %s\n", err);
        goto out;
    }
    ocr_engine_t *engine = NULL;
    if (ocr && !(engine = ocr_engine_new(err, sizeof err))) {
        fprintf(stderr, "pressctl verify: %s\n", err);
        free(png);
        goto out;
    }
    verdict_t *v = verify_png(engine, &cfg.verifier, &job, png, len);
    print_verdict(image, v);
    rc = verdict_pass(v) ? 0 : 1;
    if (ferror(stdout)) {
        fprintf(stderr, "pressctl verify: cannot write the verdict: %s\n", strerror(errno));
        rc = 2;
    }
    verdict_free(v);
    ocr_engine_free(engine);
    free(png);
out:
    cJSON_Delete(texts);
    cJSON_Delete(spec);
    return rc;
}
