/* message.c — codecs for the messages on pressroom's topics; see message.h.
 * The single place where Kafka payloads are parsed and validated. */
#include "base/message.h"

#include "base/json.h"
#include "base/prompt.h"
#include "base/sha256.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Stages and verdicts: their names on the wire ==== */

/* Indexed by stage_t and job_verdict_t: the codecs read and write these strings. */
static const char *const STAGE_NAMES[] = {"preview", "production", NULL};
static const char *const VERDICT_NAMES[] = {"accepted", "degraded", "rejected", NULL};

const char *stage_name(stage_t s) {
    return s >= STAGE_PREVIEW && s <= STAGE_PRODUCTION ? STAGE_NAMES[s] : "unknown";
}

const char *job_verdict_name(job_verdict_t v) {
    return v >= VERDICT_ACCEPTED && v <= VERDICT_REJECTED ? VERDICT_NAMES[v] : "unknown";
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

/* A template's name: lower case, digits, - and _, starting with a letter ("weekly-deals"). */
static bool valid_template(const char *s) {
    if (!islower((unsigned char)*s)) return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_' && *s != '-') return false;
    return true;
}

uint64_t job_id_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* ==== Job ==== */

static const char *const JOB_KEYS[] = {"job_id", "revision", "asset_class", "prompt", "text", "size", "seed",
                                       "palette", "min_contrast", "safe_zone", "region",
                                       "case_insensitive", "submitted_at_ms", "metadata", "template", "slots", NULL};

/* The default revision: a digest of the fields that decide the image and its verdict. */
static void default_revision(job_t *job) {
    job_t canon = *job;
    canon.job_id[0] = 0;
    canon.revision[0] = 0;
    canon.submitted_ms = 0;
    canon.metadata[0] = 0;
    char *json = job_encode(&canon);
    char hex[65];
    sha256_hex(json, strlen(json), hex);
    free(json);
    snprintf(job->revision, sizeof job->revision, "r%.16s", hex);
}

const char *job_key(const job_t *job, char *buf, size_t len) {
    snprintf(buf, len, "%s@%s", job->job_id, job->revision);
    return buf;
}

/* "WIDTHxHEIGHT", canonical decimal only: no sign, space or leading zero (as the
 * schema says), 16 to 8192. */
static int read_size(json_reader_t *r, const cJSON *o, const char *at, job_t *job) {
    job->width = 768;
    job->height = 512;
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
    if (!size) return 0;
    int w = 0, h = 0, n = 0;
    const char *s = cJSON_IsString(size) ? size->valuestring : "";
    const char *x = strchr(s, 'x');
    bool canonical = s[0] >= '1' && s[0] <= '9' && x && x[1] >= '1' && x[1] <= '9';
    if (!canonical || sscanf(s, "%dx%d%n", &w, &h, &n) != 2 || s[n] || w < 16 || h < 16 || w > 8192 || h > 8192) {
        char path[256];
        return json_fail(r, json_path(path, sizeof path, at, "size"),
                         "\"WIDTHxHEIGHT\" in pixels, 16 to 8192, e.g. \"768x512\"", size);
    }
    job->width = w;
    job->height = h;
    return 0;
}

static int read_text(json_reader_t *r, const cJSON *o, const char *at, job_t *job) {
    char path[256], item[256];
    json_path(path, sizeof path, at, "text");
    const cJSON *text = json_read_array(r, o, at, "text", JSON_OPTIONAL, JOB_MAX_TEXT,
                                        "an array of at most 8 strings");
    if (!text) {
        if (!cJSON_GetObjectItemCaseSensitive(o, "text")) {
            job_default_text(job);
            job->text_default = true;
        }
        return r->failed ? -1 : 0;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, text) {
        if (json_read_string_at(r, it, json_index_path(item, sizeof item, path, job->n_text), JSON_REQUIRED,
                                job->text[job->n_text], JOB_TEXT_LEN))
            return -1;
        job->n_text++;
    }
    return 0;
}

static int read_palette(json_reader_t *r, const cJSON *o, const char *at, job_t *job) {
    char path[256], item[256];
    json_path(path, sizeof path, at, "palette");
    const cJSON *pal = json_read_array(r, o, at, "palette", JSON_OPTIONAL, JOB_MAX_PALETTE,
                                       "an array of at most 8 colours \"#RRGGBB\"");
    const cJSON *it;
    cJSON_ArrayForEach(it, pal) {
        if (!cJSON_IsString(it) || it->valuestring[0] != '#' ||
            parse_hex_color(it->valuestring, &job->palette[job->n_palette]) != 0)
            return json_fail(r, json_index_path(item, sizeof item, path, job->n_palette), "a colour \"#RRGGBB\"", it);
        job->n_palette++;
    }
    return 0;
}

static int read_region(json_reader_t *r, const cJSON *o, const char *at, job_t *job) {
    char path[256];
    json_path(path, sizeof path, at, "region");
    const cJSON *reg = json_read_object(r, o, at, "region", JSON_OPTIONAL,
                                        "an object {\"x\",\"y\",\"w\",\"h\"} of fractions");
    if (!reg) return r->failed ? -1 : 0;
    static const char *const keys[] = {"x", "y", "w", "h", NULL};
    double *dst[] = {&job->region.x, &job->region.y, &job->region.w, &job->region.h};
    json_check_keys(r, reg, path, keys);
    for (int i = 0; i < 4; i++)
        json_read_double(r, reg, path, keys[i], JSON_REQUIRED, dst[i], 0, 1, "a fraction from 0 to 1");
    if (r->failed) return -1;
    if (job->region.w <= 0 || job->region.h <= 0 || job->region.x + job->region.w > 1.0001 ||
        job->region.y + job->region.h > 1.0001)
        return json_fail(r, path, "a non-empty rectangle inside the image", reg);
    job->has_region = true;
    return 0;
}

/* "template" and "slots": {"NAME": "value", ...}; whether the template and its slots
 * exist is the config's to say (job_apply_template). */
static int read_template(json_reader_t *r, const cJSON *o, const char *at, job_t *job) {
    char path[256], item[320];
    const cJSON *tv = cJSON_GetObjectItemCaseSensitive(o, "template");
    if (json_read_string(r, o, at, "template", JSON_OPTIONAL, job->template_name, sizeof job->template_name))
        return -1;
    if (tv && !valid_template(job->template_name))
        return json_fail(r, json_path(path, sizeof path, at, "template"),
                         "a template name in lower case, digits, - and _ (a key of the config's templates)", tv);
    const cJSON *slots = json_read_object(r, o, at, "slots", JSON_OPTIONAL,
                                          "an object of slot values {\"NAME\": \"value\"}");
    if (r->failed) return -1;
    if (slots && !job->template_name[0])
        return json_fail(r, json_path(path, sizeof path, at, "slots"), "no slots without a \"template\"", slots);
    json_path(path, sizeof path, at, "slots");
    const cJSON *it;
    cJSON_ArrayForEach(it, slots) {
        json_path(item, sizeof item, path, it->string);
        if (job->n_slots >= JOB_MAX_SLOTS || strlen(it->string) >= JOB_SLOT_NAME_LEN || !it->string[0])
            return json_failf(r, item, "at most 8 slots with names under 32 bytes", "slot \"%.40s\"", it->string);
        snprintf(job->slot_names[job->n_slots], JOB_SLOT_NAME_LEN, "%s", it->string);
        if (json_read_string_at(r, it, item, JSON_OPTIONAL, job->slot_values[job->n_slots], JOB_SLOT_VALUE_LEN))
            return -1;
        /* No braces: a value must not read as a placeholder when a built job is built again. */
        if (strpbrk(job->slot_values[job->n_slots], "{}"))
            return json_fail(r, item, "a value without { or } (they mark placeholders)", it);
        job->n_slots++;
    }
    return 0;
}

/* "metadata": any JSON object, kept as its compact text, at most JOB_METADATA_MAX
 * bytes. Its contents are never looked at: strings, nesting and key order pass through
 * as they are (numbers as JSON doubles: integers are exact up to 2^53). */
static int read_metadata(json_reader_t *r, const cJSON *o, const char *at, char *dst, size_t cap) {
    char path[256];
    dst[0] = 0;
    const cJSON *md = json_read_object(r, o, at, "metadata", JSON_OPTIONAL, "an object (opaque to pressroom)");
    if (!md) return r->failed ? -1 : 0;
    char *text = cJSON_PrintUnformatted(md);
    if (!text) return json_fail(r, json_path(path, sizeof path, at, "metadata"), "an object pressroom can copy", md);
    size_t n = strlen(text);
    if (n >= cap) {
        free(text);
        return json_failf(r, json_path(path, sizeof path, at, "metadata"), "an object of at most 4096 bytes as compact JSON",
                          "%zu bytes", n);
    }
    memcpy(dst, text, n + 1);
    free(text);
    return 0;
}

/* Adds dst's metadata text (compact JSON of an object) to o as "metadata". */
static void add_metadata(cJSON *o, const char *metadata) {
    if (!metadata[0]) return;
    cJSON *md = cJSON_Parse(metadata);
    if (md) cJSON_AddItemToObject(o, "metadata", md);
}

/* The job in o, whose fields are under the path `at` ("" at the top, "job" in a task). */
static int job_read(json_reader_t *r, const cJSON *o, const char *at, job_t *job) {
    char path[256];
    memset(job, 0, sizeof *job);
    if (!cJSON_IsObject(o)) return json_fail(r, at, "a JSON object", o);
    if (json_check_keys(r, o, at, JOB_KEYS)) return -1;
    if (json_read_string(r, o, at, "job_id", JSON_REQUIRED, job->job_id, sizeof job->job_id) == 0 &&
        !valid_id(job->job_id))
        json_fail(r, json_path(path, sizeof path, at, "job_id"), "letters, digits and ._:- only, not starting with a dot",
                  cJSON_GetObjectItemCaseSensitive(o, "job_id"));
    const cJSON *rev = cJSON_GetObjectItemCaseSensitive(o, "revision");
    if (json_read_string(r, o, at, "revision", JSON_OPTIONAL, job->revision, sizeof job->revision) == 0 && rev &&
        (!job->revision[0] || !valid_id(job->revision)))
        json_fail(r, json_path(path, sizeof path, at, "revision"),
                  "1 to 64 letters, digits and ._:- not starting with a dot", rev);
    if (json_read_string(r, o, at, "asset_class", JSON_REQUIRED, job->asset_class, sizeof job->asset_class) == 0 &&
        !valid_class(job->asset_class))
        json_fail(r, json_path(path, sizeof path, at, "asset_class"), "a lower-case name like \"thumbnail\"",
                  cJSON_GetObjectItemCaseSensitive(o, "asset_class"));
    if (read_template(r, o, at, job)) return -1;
    json_read_string(r, o, at, "prompt", job->template_name[0] ? JSON_OPTIONAL : JSON_REQUIRED, job->prompt,
                     sizeof job->prompt);
    if (r->failed) return -1;
    if (read_text(r, o, at, job) || read_size(r, o, at, job)) return -1;
    int64_t seed = -1;
    json_read_i64(r, o, at, "seed", JSON_OPTIONAL, &seed, 0, 9007199254740991LL, NULL);
    job->seed = seed >= 0 ? (uint64_t)seed : job_id_hash(job->job_id) % 4294967296ULL;
    if (read_palette(r, o, at, job)) return -1;
    json_read_double(r, o, at, "min_contrast", JSON_OPTIONAL, &job->min_contrast, 1.0, 21.0, NULL);
    json_read_double(r, o, at, "safe_zone", JSON_OPTIONAL, &job->safe_zone, 0.1, 1.0, NULL);
    if (read_region(r, o, at, job)) return -1;
    json_read_bool(r, o, at, "case_insensitive", JSON_OPTIONAL, &job->case_insensitive);
    json_read_i64(r, o, at, "submitted_at_ms", JSON_OPTIONAL, &job->submitted_ms, 0, 9007199254740991LL, NULL);
    if (r->failed || read_metadata(r, o, at, job->metadata, sizeof job->metadata)) return -1;
    if (!job->revision[0]) default_revision(job);
    return 0;
}

int job_from_json(const cJSON *o, job_t *job, char *err, size_t errlen) {
    json_reader_t r;
    json_reader_init(&r, "job", err, errlen);
    return job_read(&r, o, "", job);
}

int job_parse(const char *buf, size_t len, job_t *job, char *err, size_t errlen) {
    json_reader_t r;
    json_reader_init(&r, "job", err, errlen);
    memset(job, 0, sizeof *job);
    cJSON *root = json_parse_object(&r, buf, len);
    if (!root) return -1;
    int rc = job_read(&r, root, "", job);
    cJSON_Delete(root);
    return rc;
}

cJSON *job_to_json(const job_t *job) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job_id", job->job_id);
    if (job->revision[0]) cJSON_AddStringToObject(o, "revision", job->revision);
    cJSON_AddStringToObject(o, "asset_class", job->asset_class);
    cJSON_AddStringToObject(o, "prompt", job->prompt);
    /* A template job that gave no text[] takes its text from the prompt the template
     * builds: written out it would be the unbuilt prompt's (none), so it stays out. */
    if (!(job->text_default && job->template_name[0])) {
        cJSON *t = cJSON_AddArrayToObject(o, "text");
        for (int i = 0; i < job->n_text; i++) cJSON_AddItemToArray(t, cJSON_CreateString(job->text[i]));
    }
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
    add_metadata(o, job->metadata);
    if (job->template_name[0]) cJSON_AddStringToObject(o, "template", job->template_name);
    if (job->n_slots) {
        cJSON *sl = cJSON_AddObjectToObject(o, "slots");
        for (int i = 0; i < job->n_slots; i++) cJSON_AddStringToObject(sl, job->slot_names[i], job->slot_values[i]);
    }
    return o;
}

char *job_encode(const job_t *job) {
    cJSON *o = job_to_json(job);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ==== Charges ==== */

int task_add_charge(task_t *task, stage_t stage, int attempt, const char *model, int64_t micros) {
    for (int i = 0; i < task->n_charges; i++) {
        charge_t *c = &task->charges[i];
        if (c->stage == stage && c->attempt == attempt) {
            c->micros = micros; /* the same render charged again: replace, never add */
            snprintf(c->model, sizeof c->model, "%s", model);
            return 0;
        }
    }
    if (task->n_charges >= TASK_MAX_CHARGES) return -1;
    charge_t *c = &task->charges[task->n_charges++];
    c->stage = stage;
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
        cJSON_AddStringToObject(c, "stage", stage_name(charges[i].stage));
        cJSON_AddNumberToObject(c, "attempt", charges[i].attempt);
        cJSON_AddStringToObject(c, "model", charges[i].model);
        cJSON_AddNumberToObject(c, "usd_micros", (double)charges[i].micros);
        cJSON_AddItemToArray(arr, c);
    }
    return arr;
}

/* A stage: "preview" or "production". */
static int read_stage(json_reader_t *r, const cJSON *o, const char *at, json_need_t need, stage_t *stage) {
    int v = (int)*stage;
    int rc = json_read_enum(r, o, at, "stage", need, STAGE_NAMES, &v);
    *stage = (stage_t)v;
    return rc;
}

static int charges_from_json(json_reader_t *r, const cJSON *o, charge_t *charges, int *n) {
    *n = 0;
    const cJSON *arr = json_read_array(r, o, "", "charges", JSON_OPTIONAL, TASK_MAX_CHARGES,
                                       "an array of at most 16 charges");
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        char at[64];
        json_index_path(at, sizeof at, "charges", *n);
        charge_t *c = &charges[*n];
        memset(c, 0, sizeof *c);
        if (!cJSON_IsObject(it)) return json_fail(r, at, "a charge object", it);
        read_stage(r, it, at, JSON_REQUIRED, &c->stage);
        json_read_int(r, it, at, "attempt", JSON_REQUIRED, &c->attempt, 1, 100, NULL);
        json_read_string(r, it, at, "model", JSON_OPTIONAL, c->model, sizeof c->model);
        json_read_i64(r, it, at, "usd_micros", JSON_REQUIRED, &c->micros, 0, INT64_C(1) << 50, NULL);
        if (r->failed) return -1;
        (*n)++;
    }
    return r->failed ? -1 : 0;
}

/* ==== Task ==== */

static const char *const RENDER_KEYS[] = {"width", "height", "aspect_ratio", "seed_sent", "note", NULL};

static void render_read(json_reader_t *r, const cJSON *root, task_render_t *rd) {
    const cJSON *o = json_read_object(r, root, "", "render", JSON_OPTIONAL, NULL);
    if (!o) return;
    json_check_keys(r, o, "render", RENDER_KEYS);
    rd->known = true;
    json_read_int(r, o, "render", "width", JSON_OPTIONAL, &rd->width, 16, 16384, "pixels, 16 to 16384");
    json_read_int(r, o, "render", "height", JSON_OPTIONAL, &rd->height, 16, 16384, "pixels, 16 to 16384");
    json_read_string(r, o, "render", "aspect_ratio", JSON_OPTIONAL, rd->aspect_ratio, sizeof rd->aspect_ratio);
    json_read_bool(r, o, "render", "seed_sent", JSON_OPTIONAL, &rd->seed_sent);
    json_read_string(r, o, "render", "note", JSON_OPTIONAL, rd->note, sizeof rd->note);
    int a = 0, b = 0, n = 0;
    if (r->failed) return;
    if (rd->aspect_ratio[0] &&
        (sscanf(rd->aspect_ratio, "%d:%d%n", &a, &b, &n) != 2 || rd->aspect_ratio[n] || a < 1 || b < 1 || a > 99 || b > 99))
        json_fail(r, "render.aspect_ratio", "\"W:H\" with each side from 1 to 99, e.g. \"4:3\"",
                  cJSON_GetObjectItemCaseSensitive(o, "aspect_ratio"));
    else if (!rd->aspect_ratio[0] == !(rd->width && rd->height))
        json_failf(r, "render", "either width and height or aspect_ratio", "%s",
                   rd->aspect_ratio[0] ? "both" : "neither");
}

cJSON *task_render_to_json(const task_render_t *rd) {
    if (!rd->known) return NULL;
    cJSON *o = cJSON_CreateObject();
    if (rd->aspect_ratio[0]) cJSON_AddStringToObject(o, "aspect_ratio", rd->aspect_ratio);
    else {
        cJSON_AddNumberToObject(o, "width", rd->width);
        cJSON_AddNumberToObject(o, "height", rd->height);
    }
    cJSON_AddBoolToObject(o, "seed_sent", rd->seed_sent);
    if (rd->note[0]) cJSON_AddStringToObject(o, "note", rd->note);
    return o;
}

int task_parse(const char *buf, size_t len, task_t *task, char *err, size_t errlen) {
    memset(task, 0, sizeof *task);
    json_reader_t r;
    json_reader_init(&r, "task", err, errlen);
    cJSON *root = json_parse_object(&r, buf, len);
    if (!root) return -1;
    const cJSON *job = json_read_object(&r, root, "", "job", JSON_REQUIRED, "the job object");
    if (job) job_read(&r, job, "job", &task->job);
    read_stage(&r, root, "", JSON_REQUIRED, &task->stage);
    json_read_int(&r, root, "", "attempt", JSON_REQUIRED, &task->attempt, 1, 10, NULL);
    json_read_string(&r, root, "", "model", JSON_OPTIONAL, task->model, sizeof task->model);
    json_read_string(&r, root, "", "image", JSON_OPTIONAL, task->image_uri, sizeof task->image_uri);
    json_read_string(&r, root, "", "guidance", JSON_OPTIONAL, task->guidance, sizeof task->guidance);
    json_read_string(&r, root, "", "escalation", JSON_OPTIONAL, task->escalation, sizeof task->escalation);
    json_read_string(&r, root, "", "preview_image", JSON_OPTIONAL, task->preview_uri, sizeof task->preview_uri);
    json_read_i64(&r, root, "", "started_at_ms", JSON_OPTIONAL, &task->started_ms, 0, 9007199254740991LL, NULL);
    json_read_int(&r, root, "", "failed_checks", JSON_OPTIONAL, &task->failed_checks, 0, 100, NULL);
    if (!r.failed) charges_from_json(&r, root, task->charges, &task->n_charges);
    if (!r.failed) render_read(&r, root, &task->render);
    cJSON_Delete(root);
    return r.failed ? -1 : 0;
}

char *task_encode(const task_t *task) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "job", job_to_json(&task->job));
    cJSON_AddStringToObject(o, "stage", stage_name(task->stage));
    cJSON_AddNumberToObject(o, "attempt", task->attempt);
    cJSON_AddStringToObject(o, "model", task->model);
    if (task->image_uri[0]) cJSON_AddStringToObject(o, "image", task->image_uri);
    if (task->guidance[0]) cJSON_AddStringToObject(o, "guidance", task->guidance);
    if (task->escalation[0]) cJSON_AddStringToObject(o, "escalation", task->escalation);
    if (task->preview_uri[0]) cJSON_AddStringToObject(o, "preview_image", task->preview_uri);
    cJSON_AddItemToObject(o, "charges", charges_to_json(task->charges, task->n_charges));
    cJSON_AddNumberToObject(o, "started_at_ms", (double)task->started_ms);
    cJSON_AddNumberToObject(o, "failed_checks", task->failed_checks);
    cJSON *rd = task_render_to_json(&task->render);
    if (rd) cJSON_AddItemToObject(o, "render", rd);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ==== Outcome ==== */

int outcome_parse(const char *buf, size_t len, outcome_t *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    json_reader_t r;
    json_reader_init(&r, "outcome", err, errlen);
    cJSON *root = json_parse_object(&r, buf, len);
    if (!root) return -1;
    int verdict = VERDICT_ACCEPTED;
    json_read_string(&r, root, "", "job_id", JSON_REQUIRED, out->job_id, sizeof out->job_id);
    json_read_string(&r, root, "", "revision", JSON_OPTIONAL, out->revision, sizeof out->revision);
    json_read_string(&r, root, "", "asset_class", JSON_OPTIONAL, out->asset_class, sizeof out->asset_class);
    json_read_string(&r, root, "", "prompt", JSON_OPTIONAL, out->prompt, sizeof out->prompt);
    json_read_string(&r, root, "", "template", JSON_OPTIONAL, out->template_name, sizeof out->template_name);
    const cJSON *slots = json_read_object(&r, root, "", "slots", JSON_OPTIONAL, "an object of slot values");
    const cJSON *sv;
    cJSON_ArrayForEach(sv, slots) {
        char path[320];
        json_path(path, sizeof path, "slots", sv->string);
        if (out->n_slots >= JOB_MAX_SLOTS || strlen(sv->string) >= JOB_SLOT_NAME_LEN) {
            json_failf(&r, path, "at most 8 slots with names under 32 bytes", "slot \"%.40s\"", sv->string);
            break;
        }
        snprintf(out->slot_names[out->n_slots], JOB_SLOT_NAME_LEN, "%s", sv->string);
        if (json_read_string_at(&r, sv, path, JSON_OPTIONAL, out->slot_values[out->n_slots], JOB_SLOT_VALUE_LEN)) break;
        out->n_slots++;
    }
    out->has_seed = cJSON_GetObjectItemCaseSensitive(root, "seed") != NULL;
    int64_t seed = 0;
    json_read_i64(&r, root, "", "seed", JSON_OPTIONAL, &seed, 0, 9007199254740991LL, NULL);
    out->seed = (uint64_t)seed;
    if (!r.failed) read_metadata(&r, root, "", out->metadata, sizeof out->metadata);
    json_read_enum(&r, root, "", "verdict", JSON_REQUIRED, VERDICT_NAMES, &verdict);
    out->verdict = (job_verdict_t)verdict;
    json_read_string(&r, root, "", "reason", JSON_OPTIONAL, out->reason, sizeof out->reason);
    json_read_string(&r, root, "", "detail", JSON_OPTIONAL, out->detail, sizeof out->detail);
    json_read_string(&r, root, "", "image", JSON_OPTIONAL, out->image_uri, sizeof out->image_uri);
    json_read_string(&r, root, "", "image_url", JSON_OPTIONAL, out->image_url, sizeof out->image_url);
    read_stage(&r, root, "", JSON_OPTIONAL, &out->stage);
    json_read_int(&r, root, "", "attempt", JSON_OPTIONAL, &out->attempt, 0, 100, NULL);
    json_read_string(&r, root, "", "model", JSON_OPTIONAL, out->model, sizeof out->model);
    json_read_i64(&r, root, "", "cost_micros", JSON_OPTIONAL, &out->cost_micros, 0, INT64_C(1) << 50, NULL);
    json_read_i64(&r, root, "", "latency_ms", JSON_OPTIONAL, &out->latency_ms, 0, INT64_C(1) << 50, NULL);
    json_read_int(&r, root, "", "escalations", JSON_OPTIONAL, &out->escalations, 0, 100, NULL);
    json_read_int(&r, root, "", "failed_checks", JSON_OPTIONAL, &out->failed_checks, 0, 100, NULL);
    static const char *const LANES[] = {"live", "backfill", NULL};
    int lane = 0;
    json_read_enum(&r, root, "", "lane", JSON_OPTIONAL, LANES, &lane);
    out->backfill = lane == 1;
    if (!r.failed) charges_from_json(&r, root, out->charges, &out->n_charges);
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(root, "report");
    if (!r.failed && rep) out->report = cJSON_Duplicate(rep, 1);
    cJSON_Delete(root);
    return r.failed ? -1 : 0;
}

cJSON *outcome_to_json(const outcome_t *out) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job_id", out->job_id);
    if (out->revision[0]) cJSON_AddStringToObject(o, "revision", out->revision);
    cJSON_AddStringToObject(o, "asset_class", out->asset_class);
    if (out->prompt[0]) cJSON_AddStringToObject(o, "prompt", out->prompt);
    if (out->template_name[0]) cJSON_AddStringToObject(o, "template", out->template_name);
    if (out->n_slots) {
        cJSON *sl = cJSON_AddObjectToObject(o, "slots");
        for (int i = 0; i < out->n_slots; i++) cJSON_AddStringToObject(sl, out->slot_names[i], out->slot_values[i]);
    }
    if (out->has_seed) cJSON_AddNumberToObject(o, "seed", (double)out->seed);
    add_metadata(o, out->metadata);
    cJSON_AddStringToObject(o, "verdict", job_verdict_name(out->verdict));
    cJSON_AddStringToObject(o, "reason", out->reason);
    cJSON_AddStringToObject(o, "detail", out->detail);
    cJSON_AddStringToObject(o, "image", out->image_uri);
    if (out->image_url[0]) cJSON_AddStringToObject(o, "image_url", out->image_url);
    cJSON_AddStringToObject(o, "stage", stage_name(out->stage));
    cJSON_AddNumberToObject(o, "attempt", out->attempt);
    cJSON_AddStringToObject(o, "model", out->model);
    cJSON_AddNumberToObject(o, "cost_micros", (double)out->cost_micros);
    cJSON_AddItemToObject(o, "charges", charges_to_json(out->charges, out->n_charges));
    cJSON_AddNumberToObject(o, "latency_ms", (double)out->latency_ms);
    cJSON_AddNumberToObject(o, "escalations", out->escalations);
    cJSON_AddNumberToObject(o, "failed_checks", out->failed_checks);
    if (out->backfill) cJSON_AddStringToObject(o, "lane", "backfill");
    if (out->report) cJSON_AddItemToObject(o, "report", cJSON_Duplicate(out->report, 1));
    return o;
}

char *outcome_encode(const outcome_t *out) {
    cJSON *o = outcome_to_json(out);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

void outcome_free(outcome_t *out) {
    cJSON_Delete(out->report);
    out->report = NULL;
}

/* ==== Moderation decisions ==== */

static const char *const MODERATION_NAMES[] = {"approved", "rejected", NULL};

const char *moderation_decision_name(moderation_decision_t d) {
    return d >= MODERATION_APPROVED && d <= MODERATION_REJECTED ? MODERATION_NAMES[d] : "unknown";
}

int moderation_parse(const char *buf, size_t len, moderation_t *out, char *err, size_t errlen) {
    static const char *const KEYS[] = {"job_id", "revision", "decision", "reason", "reviewer", "decided_at_ms",
                                       "asset_class", "template", "model", "verdict", NULL};
    memset(out, 0, sizeof *out);
    json_reader_t r;
    json_reader_init(&r, "moderation", err, errlen);
    cJSON *root = json_parse_object(&r, buf, len);
    if (!root) return -1;
    json_check_keys(&r, root, "", KEYS);
    if (json_read_string(&r, root, "", "job_id", JSON_REQUIRED, out->job_id, sizeof out->job_id) == 0 &&
        !valid_id(out->job_id))
        json_fail(&r, "job_id", "letters, digits and ._:- only, not starting with a dot",
                  cJSON_GetObjectItemCaseSensitive(root, "job_id"));
    if (json_read_string(&r, root, "", "revision", JSON_REQUIRED, out->revision, sizeof out->revision) == 0 &&
        !valid_id(out->revision))
        json_fail(&r, "revision", "1 to 64 letters, digits and ._:- not starting with a dot",
                  cJSON_GetObjectItemCaseSensitive(root, "revision"));
    int d = 0;
    json_read_enum(&r, root, "", "decision", JSON_REQUIRED, MODERATION_NAMES, &d);
    out->decision = (moderation_decision_t)d;
    json_read_string(&r, root, "", "reason", JSON_REQUIRED, out->reason, sizeof out->reason);
    json_read_string(&r, root, "", "reviewer", JSON_OPTIONAL, out->reviewer, sizeof out->reviewer);
    json_read_i64(&r, root, "", "decided_at_ms", JSON_REQUIRED, &out->decided_at_ms, 0, INT64_C(1) << 50, NULL);
    if (json_read_string(&r, root, "", "asset_class", JSON_OPTIONAL, out->asset_class, sizeof out->asset_class) ==
            0 &&
        out->asset_class[0] && !valid_class(out->asset_class))
        json_fail(&r, "asset_class", "a lower-case class name", cJSON_GetObjectItemCaseSensitive(root, "asset_class"));
    json_read_string(&r, root, "", "template", JSON_OPTIONAL, out->template_name, sizeof out->template_name);
    json_read_string(&r, root, "", "model", JSON_OPTIONAL, out->model, sizeof out->model);
    int v = -1;
    json_read_enum(&r, root, "", "verdict", JSON_OPTIONAL, VERDICT_NAMES, &v);
    if (v >= 0) {
        out->has_verdict = true;
        out->verdict = (job_verdict_t)v;
    }
    cJSON_Delete(root);
    return r.failed ? -1 : 0;
}

char *moderation_encode(const moderation_t *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job_id", m->job_id);
    cJSON_AddStringToObject(o, "revision", m->revision);
    cJSON_AddStringToObject(o, "decision", moderation_decision_name(m->decision));
    cJSON_AddStringToObject(o, "reason", m->reason);
    if (m->reviewer[0]) cJSON_AddStringToObject(o, "reviewer", m->reviewer);
    cJSON_AddNumberToObject(o, "decided_at_ms", (double)m->decided_at_ms);
    if (m->asset_class[0]) cJSON_AddStringToObject(o, "asset_class", m->asset_class);
    if (m->template_name[0]) cJSON_AddStringToObject(o, "template", m->template_name);
    if (m->model[0]) cJSON_AddStringToObject(o, "model", m->model);
    if (m->has_verdict) cJSON_AddStringToObject(o, "verdict", job_verdict_name(m->verdict));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
