/* message.c — codecs for the messages on pressroom's topics; see message.h.
 * The single place where Kafka payloads are parsed and validated. */
#include "base/message.h"
#include "base/prompt.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Field readers: each records the first error in err ==== */

typedef struct {
    char *err;
    size_t errlen;
    int failed;
} perr_t;

static int bad(perr_t *p, const char *field, const char *expected) {
    if (!p->failed) snprintf(p->err, p->errlen, "%s: expected %s", field, expected);
    p->failed = 1;
    return -1;
}

static const cJSON *field(const cJSON *o, const char *name) {
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static int read_str(perr_t *p, const cJSON *o, const char *name, char *dst, size_t len,
                    bool required) {
    const cJSON *v = field(o, name);
    if (!v || cJSON_IsNull(v)) {
        if (required) return bad(p, name, "a non-empty string (required)");
        return 0;
    }
    char exp[80];
    snprintf(exp, sizeof exp, "a string of at most %zu bytes", len - 1);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= len) return bad(p, name, exp);
    if (required && !v->valuestring[0]) return bad(p, name, "a non-empty string");
    snprintf(dst, len, "%s", v->valuestring);
    return 0;
}

static int read_i64(perr_t *p, const cJSON *o, const char *name, int64_t *dst, int64_t lo,
                    int64_t hi, bool required) {
    const cJSON *v = field(o, name);
    if (!v) return required ? bad(p, name, "an integer (required)") : 0;
    char exp[96];
    snprintf(exp, sizeof exp, "an integer from %lld to %lld", (long long)lo, (long long)hi);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi)
        return bad(p, name, exp);
    *dst = (int64_t)v->valuedouble;
    return 0;
}

static int read_int(perr_t *p, const cJSON *o, const char *name, int *dst, int lo, int hi,
                    bool required) {
    int64_t v = *dst;
    int rc = read_i64(p, o, name, &v, lo, hi, required);
    *dst = (int)v;
    return rc;
}

static int read_num(perr_t *p, const cJSON *o, const char *name, double *dst, double lo, double hi) {
    const cJSON *v = field(o, name);
    if (!v) return 0;
    char exp[96];
    snprintf(exp, sizeof exp, "a number from %g to %g", lo, hi);
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi) return bad(p, name, exp);
    *dst = v->valuedouble;
    return 0;
}

int parse_hex_color(const char *s, uint32_t *rgb) {
    if (*s == '#') s++;
    if (strlen(s) != 6) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 6; i++) {
        if (!isxdigit((unsigned char)s[i])) return -1;
        v = v * 16 + (uint32_t)(isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
    }
    *rgb = v;
    return 0;
}

static bool valid_id(const char *s) {
    if (*s == '.') return false; /* ids name blob folders: no "." or ".." */
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._:-", *s)) return false;
    return true;
}

static bool valid_class(const char *s) {
    if (!islower((unsigned char)*s)) return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_') return false;
    return true;
}

uint64_t job_id_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* ==== Job ==== */

static const char *const JOB_KEYS[] = {"job_id", "asset_class", "prompt", "text", "size", "seed",
                                       "palette", "min_contrast", "safe_zone", "region",
                                       "case_insensitive", "submitted_at_ms", NULL};

int job_from_json(const cJSON *o, job_t *job, char *err, size_t errlen) {
    perr_t p = {err, errlen, 0};
    memset(job, 0, sizeof *job);
    if (!cJSON_IsObject(o)) return bad(&p, "job", "a JSON object");
    const cJSON *it;
    cJSON_ArrayForEach(it, o) {
        bool known = false;
        for (const char *const *k = JOB_KEYS; *k; k++)
            if (!strcmp(*k, it->string)) known = true;
        if (!known) {
            char f[160];
            snprintf(f, sizeof f, "%.100s", it->string);
            return bad(&p, f, "no such field (unknown field in a job)");
        }
    }
    read_str(&p, o, "job_id", job->job_id, sizeof job->job_id, true);
    if (!p.failed && !valid_id(job->job_id)) bad(&p, "job_id", "letters, digits and ._:- only, not starting with a dot");
    read_str(&p, o, "asset_class", job->asset_class, sizeof job->asset_class, true);
    if (!p.failed && !valid_class(job->asset_class))
        bad(&p, "asset_class", "a lower-case name like \"thumbnail\"");
    read_str(&p, o, "prompt", job->prompt, sizeof job->prompt, true);
    if (p.failed) return -1;

    const cJSON *text = field(o, "text");
    if (text) {
        if (!cJSON_IsArray(text) || cJSON_GetArraySize(text) > JOB_MAX_TEXT)
            return bad(&p, "text", "an array of at most 8 strings");
        cJSON_ArrayForEach(it, text) {
            if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) >= JOB_TEXT_LEN)
                return bad(&p, "text", "an array of non-empty strings of at most 255 bytes");
            snprintf(job->text[job->n_text++], JOB_TEXT_LEN, "%s", it->valuestring);
        }
    } else {
        job_default_text(job);
    }
    job->width = 768;
    job->height = 512;
    const cJSON *size = field(o, "size");
    if (size) {
        int w = 0, h = 0, n = 0;
        const char *s = cJSON_IsString(size) ? size->valuestring : "";
        const char *x = strchr(s, 'x');
        /* Canonical decimal only: no sign, space or leading zero (as the schema says). */
        bool canonical = s[0] >= '1' && s[0] <= '9' && x && x[1] >= '1' && x[1] <= '9';
        if (!canonical || sscanf(s, "%dx%d%n", &w, &h, &n) != 2 || s[n] || w < 16 || h < 16 ||
            w > 8192 || h > 8192)
            return bad(&p, "size", "\"WIDTHxHEIGHT\" in pixels, 16 to 8192, e.g. \"768x512\"");
        job->width = w;
        job->height = h;
    }
    int64_t seed = -1;
    read_i64(&p, o, "seed", &seed, 0, 9007199254740991LL, false);
    job->seed = seed >= 0 ? (uint64_t)seed : job_id_hash(job->job_id) % 4294967296ULL;
    const cJSON *pal = field(o, "palette");
    if (pal) {
        if (!cJSON_IsArray(pal) || cJSON_GetArraySize(pal) > JOB_MAX_PALETTE)
            return bad(&p, "palette", "an array of at most 8 colours \"#RRGGBB\"");
        cJSON_ArrayForEach(it, pal) {
            if (!cJSON_IsString(it) || it->valuestring[0] != '#' ||
                parse_hex_color(it->valuestring, &job->palette[job->n_palette]) != 0)
                return bad(&p, "palette", "an array of colours \"#RRGGBB\"");
            job->n_palette++;
        }
    }
    read_num(&p, o, "min_contrast", &job->min_contrast, 1.0, 21.0);
    read_num(&p, o, "safe_zone", &job->safe_zone, 0.1, 1.0);
    const cJSON *reg = field(o, "region");
    if (reg) {
        if (!cJSON_IsObject(reg)) return bad(&p, "region", "an object {\"x\",\"y\",\"w\",\"h\"} of fractions");
        double *dst[] = {&job->region.x, &job->region.y, &job->region.w, &job->region.h};
        const char *names[] = {"x", "y", "w", "h"};
        for (int i = 0; i < 4; i++) {
            const cJSON *v = field(reg, names[i]);
            if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1)
                return bad(&p, "region", "an object {\"x\",\"y\",\"w\",\"h\"} of fractions from 0 to 1");
            *dst[i] = v->valuedouble;
        }
        if (job->region.w <= 0 || job->region.h <= 0 || job->region.x + job->region.w > 1.0001 ||
            job->region.y + job->region.h > 1.0001)
            return bad(&p, "region", "a non-empty rectangle inside the image");
        job->has_region = true;
    }
    const cJSON *ci = field(o, "case_insensitive");
    if (ci) {
        if (!cJSON_IsBool(ci)) return bad(&p, "case_insensitive", "true or false");
        job->case_insensitive = cJSON_IsTrue(ci);
    }
    read_i64(&p, o, "submitted_at_ms", &job->submitted_ms, 0, 9007199254740991LL, false);
    return p.failed ? -1 : 0;
}

/* Parses buf as one JSON object with nothing after it. */
static cJSON *parse_object(const char *buf, size_t len, char *err, size_t errlen) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - buf) : 0;
        snprintf(err, errlen, "payload: expected a JSON object (not valid JSON near byte %zu)", at);
        return NULL;
    }
    while (end && (size_t)(end - buf) < len && isspace((unsigned char)*end)) end++;
    if (end && (size_t)(end - buf) < len && *end) {
        snprintf(err, errlen, "payload: expected one JSON object (trailing bytes after it)");
        cJSON_Delete(root);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "payload: expected a JSON object");
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int job_parse(const char *buf, size_t len, job_t *job, char *err, size_t errlen) {
    cJSON *root = parse_object(buf, len, err, errlen);
    if (!root) return -1;
    int rc = job_from_json(root, job, err, errlen);
    cJSON_Delete(root);
    return rc;
}

cJSON *job_to_json(const job_t *job) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job_id", job->job_id);
    cJSON_AddStringToObject(o, "asset_class", job->asset_class);
    cJSON_AddStringToObject(o, "prompt", job->prompt);
    cJSON *t = cJSON_AddArrayToObject(o, "text");
    for (int i = 0; i < job->n_text; i++) cJSON_AddItemToArray(t, cJSON_CreateString(job->text[i]));
    char size[32];
    snprintf(size, sizeof size, "%dx%d", job->width, job->height);
    cJSON_AddStringToObject(o, "size", size);
    cJSON_AddNumberToObject(o, "seed", (double)job->seed);
    if (job->n_palette) {
        cJSON *pal = cJSON_AddArrayToObject(o, "palette");
        for (int i = 0; i < job->n_palette; i++) {
            char hex[8];
            snprintf(hex, sizeof hex, "#%06X", job->palette[i] & 0xFFFFFF);
            cJSON_AddItemToArray(pal, cJSON_CreateString(hex));
        }
    }
    if (job->min_contrast > 0) cJSON_AddNumberToObject(o, "min_contrast", job->min_contrast);
    if (job->safe_zone > 0) cJSON_AddNumberToObject(o, "safe_zone", job->safe_zone);
    if (job->has_region) {
        cJSON *r = cJSON_AddObjectToObject(o, "region");
        cJSON_AddNumberToObject(r, "x", job->region.x);
        cJSON_AddNumberToObject(r, "y", job->region.y);
        cJSON_AddNumberToObject(r, "w", job->region.w);
        cJSON_AddNumberToObject(r, "h", job->region.h);
    }
    if (job->case_insensitive) cJSON_AddTrueToObject(o, "case_insensitive");
    if (job->submitted_ms) cJSON_AddNumberToObject(o, "submitted_at_ms", (double)job->submitted_ms);
    return o;
}

char *job_encode(const job_t *job) {
    cJSON *o = job_to_json(job);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ==== Charges ==== */

int task_add_charge(task_t *task, const char *stage, int attempt, const char *model, int64_t micros) {
    for (int i = 0; i < task->n_charges; i++) {
        charge_t *c = &task->charges[i];
        if (!strcmp(c->stage, stage) && c->attempt == attempt) {
            c->micros = micros; /* the same render charged again: replace, never add */
            snprintf(c->model, sizeof c->model, "%s", model);
            return 0;
        }
    }
    if (task->n_charges >= TASK_MAX_CHARGES) return -1;
    charge_t *c = &task->charges[task->n_charges++];
    snprintf(c->stage, sizeof c->stage, "%s", stage);
    c->attempt = attempt;
    snprintf(c->model, sizeof c->model, "%s", model);
    c->micros = micros;
    return 0;
}

int64_t task_cost(const task_t *task) {
    int64_t sum = 0;
    for (int i = 0; i < task->n_charges; i++) sum += task->charges[i].micros;
    return sum;
}

static cJSON *charges_to_json(const charge_t *charges, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "stage", charges[i].stage);
        cJSON_AddNumberToObject(c, "attempt", charges[i].attempt);
        cJSON_AddStringToObject(c, "model", charges[i].model);
        cJSON_AddNumberToObject(c, "usd_micros", (double)charges[i].micros);
        cJSON_AddItemToArray(arr, c);
    }
    return arr;
}

static int charges_from_json(perr_t *p, const cJSON *arr, charge_t *charges, int *n) {
    *n = 0;
    if (!arr) return 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > TASK_MAX_CHARGES)
        return bad(p, "charges", "an array of at most 16 charges");
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        charge_t *c = &charges[*n];
        memset(c, 0, sizeof *c);
        if (!cJSON_IsObject(it)) return bad(p, "charges", "an array of objects");
        read_str(p, it, "stage", c->stage, sizeof c->stage, true);
        read_int(p, it, "attempt", &c->attempt, 1, 100, true);
        read_str(p, it, "model", c->model, sizeof c->model, false);
        read_i64(p, it, "usd_micros", &c->micros, 0, INT64_C(1) << 50, true);
        if (p->failed) return -1;
        (*n)++;
    }
    return 0;
}

static bool valid_stage(const char *s) { return !strcmp(s, "preview") || !strcmp(s, "production"); }

/* ==== Task ==== */

int task_parse(const char *buf, size_t len, task_t *task, char *err, size_t errlen) {
    memset(task, 0, sizeof *task);
    cJSON *root = parse_object(buf, len, err, errlen);
    if (!root) return -1;
    perr_t p = {err, errlen, 0};
    const cJSON *job = field(root, "job");
    if (!job) bad(&p, "job", "the job object (required)");
    else if (job_from_json(job, &task->job, err, errlen) != 0) {
        /* prefix the nested field path */
        char inner[512];
        snprintf(inner, sizeof inner, "%s", err);
        snprintf(err, errlen, "job.%s", inner);
        p.failed = 1;
    }
    read_str(&p, root, "stage", task->stage, sizeof task->stage, true);
    if (!p.failed && !valid_stage(task->stage)) bad(&p, "stage", "\"preview\" or \"production\"");
    read_int(&p, root, "attempt", &task->attempt, 1, 10, true);
    read_str(&p, root, "model", task->model, sizeof task->model, false);
    read_str(&p, root, "image", task->image_uri, sizeof task->image_uri, false);
    read_str(&p, root, "guidance", task->guidance, sizeof task->guidance, false);
    read_str(&p, root, "escalation", task->escalation, sizeof task->escalation, false);
    read_str(&p, root, "preview_image", task->preview_uri, sizeof task->preview_uri, false);
    read_i64(&p, root, "started_at_ms", &task->started_ms, 0, 9007199254740991LL, false);
    read_int(&p, root, "failed_checks", &task->failed_checks, 0, 100, false);
    if (!p.failed) charges_from_json(&p, field(root, "charges"), task->charges, &task->n_charges);
    cJSON_Delete(root);
    return p.failed ? -1 : 0;
}

char *task_encode(const task_t *task) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "job", job_to_json(&task->job));
    cJSON_AddStringToObject(o, "stage", task->stage);
    cJSON_AddNumberToObject(o, "attempt", task->attempt);
    cJSON_AddStringToObject(o, "model", task->model);
    if (task->image_uri[0]) cJSON_AddStringToObject(o, "image", task->image_uri);
    if (task->guidance[0]) cJSON_AddStringToObject(o, "guidance", task->guidance);
    if (task->escalation[0]) cJSON_AddStringToObject(o, "escalation", task->escalation);
    if (task->preview_uri[0]) cJSON_AddStringToObject(o, "preview_image", task->preview_uri);
    cJSON_AddItemToObject(o, "charges", charges_to_json(task->charges, task->n_charges));
    cJSON_AddNumberToObject(o, "started_at_ms", (double)task->started_ms);
    cJSON_AddNumberToObject(o, "failed_checks", task->failed_checks);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ==== Outcome ==== */

int outcome_parse(const char *buf, size_t len, outcome_t *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    cJSON *root = parse_object(buf, len, err, errlen);
    if (!root) return -1;
    perr_t p = {err, errlen, 0};
    read_str(&p, root, "job_id", out->job_id, sizeof out->job_id, true);
    read_str(&p, root, "asset_class", out->asset_class, sizeof out->asset_class, false);
    read_str(&p, root, "verdict", out->verdict, sizeof out->verdict, true);
    if (!p.failed && strcmp(out->verdict, "accepted") && strcmp(out->verdict, "degraded") &&
        strcmp(out->verdict, "rejected"))
        bad(&p, "verdict", "\"accepted\", \"degraded\" or \"rejected\"");
    read_str(&p, root, "reason", out->reason, sizeof out->reason, false);
    read_str(&p, root, "detail", out->detail, sizeof out->detail, false);
    read_str(&p, root, "image", out->image_uri, sizeof out->image_uri, false);
    read_str(&p, root, "stage", out->stage, sizeof out->stage, false);
    read_int(&p, root, "attempt", &out->attempt, 0, 100, false);
    read_str(&p, root, "model", out->model, sizeof out->model, false);
    read_i64(&p, root, "cost_micros", &out->cost_micros, 0, INT64_C(1) << 50, false);
    read_i64(&p, root, "latency_ms", &out->latency_ms, 0, INT64_C(1) << 50, false);
    read_int(&p, root, "escalations", &out->escalations, 0, 100, false);
    read_int(&p, root, "failed_checks", &out->failed_checks, 0, 100, false);
    if (!p.failed) charges_from_json(&p, field(root, "charges"), out->charges, &out->n_charges);
    const cJSON *rep = field(root, "report");
    if (!p.failed && rep) out->report = cJSON_Duplicate(rep, 1);
    cJSON_Delete(root);
    return p.failed ? -1 : 0;
}

char *outcome_encode(const outcome_t *out) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job_id", out->job_id);
    cJSON_AddStringToObject(o, "asset_class", out->asset_class);
    cJSON_AddStringToObject(o, "verdict", out->verdict);
    cJSON_AddStringToObject(o, "reason", out->reason);
    cJSON_AddStringToObject(o, "detail", out->detail);
    cJSON_AddStringToObject(o, "image", out->image_uri);
    cJSON_AddStringToObject(o, "stage", out->stage);
    cJSON_AddNumberToObject(o, "attempt", out->attempt);
    cJSON_AddStringToObject(o, "model", out->model);
    cJSON_AddNumberToObject(o, "cost_micros", (double)out->cost_micros);
    cJSON_AddItemToObject(o, "charges", charges_to_json(out->charges, out->n_charges));
    cJSON_AddNumberToObject(o, "latency_ms", (double)out->latency_ms);
    cJSON_AddNumberToObject(o, "escalations", out->escalations);
    cJSON_AddNumberToObject(o, "failed_checks", out->failed_checks);
    if (out->report) cJSON_AddItemToObject(o, "report", cJSON_Duplicate(out->report, 1));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

void outcome_free(outcome_t *out) {
    cJSON_Delete(out->report);
    out->report = NULL;
}
