/* message.h — the typed messages that travel on pressroom's topics, and their
 * codecs. Every Kafka payload is parsed here, exactly once, validated, and turned
 * into one of these structs; everything downstream trusts the struct.
 *
 * Topics (prefix from config, keyed by job_id):
 *   jobs        job_t                     (upstream, pressctl submit)
 *   verify      task_t with image_uri     (preview-/production-worker -> verifier)
 *   production  task_t with guidance      (verifier escalations, production_only routes)
 *   results     outcome_t verdict VERDICT_ACCEPTED | VERDICT_DEGRADED
 *   rejected    outcome_t verdict VERDICT_REJECTED
 *   dlq         original bytes + headers pressroom-reason, -topic, -partition, -offset
 */
#ifndef PRESSROOM_MESSAGE_H
#define PRESSROOM_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define JOB_MAX_TEXT 8
#define JOB_TEXT_LEN 256
#define JOB_MAX_PALETTE 8
#define TASK_MAX_CHARGES 16
#define JOB_REVISION_LEN 65 /* at most 64 characters */
#define JOB_METADATA_MAX 4096 /* a job's metadata, as compact JSON, at most this many bytes */
#define JOB_TEMPLATE_LEN 64
#define JOB_MAX_SLOTS 8
#define JOB_SLOT_NAME_LEN 32
#define JOB_SLOT_VALUE_LEN 128
/* "<job_id>@<revision>": a job revision's identity in decision keys and dedupe. */
#define JOB_KEY_LEN (128 + 1 + JOB_REVISION_LEN)

/* The two render stages: the fast preview, then the high-fidelity production
 * renders. On the wire "preview" | "production" (stage_name); only the codecs here
 * turn strings into stages. */
typedef enum { STAGE_PREVIEW = 0, STAGE_PRODUCTION } stage_t;
const char *stage_name(stage_t s);

/* A job's terminal verdict: "accepted" | "degraded" | "rejected" on the wire
 * (job_verdict_name); only the codecs here turn strings into verdicts. */
typedef enum { VERDICT_ACCEPTED = 0, VERDICT_DEGRADED, VERDICT_REJECTED } job_verdict_t;
const char *job_verdict_name(job_verdict_t v);

/* A rectangle as fractions of the image (0..1). */
typedef struct {
    double x, y, w, h;
} region_t;

/* A render job as submitted upstream. Required: job_id, asset_class, prompt (a job naming
 * a template may leave prompt out: the template's prompt is used).
 * text[]: the exact lines the image must carry; when absent, the prompt's quoted
 * strings ("SALE", “SALE”, 'SALE' or ‘SALE’: the grammar in base/prompt.h).
 *
 * A job's identity is (job_id, revision). revision is the job's `revision` field when
 * it has one, else "r" and 16 hex digits of the SHA-256 of every field that decides the
 * image or its verdict, as job_to_json writes them (all but job_id, submitted_at_ms
 * and revision): the same job delivered again (a retry, a redelivery, a replay of the
 * same bytes, a resubmission with a new submitted_at_ms) is the same revision, so it is
 * deduplicated; a changed job under the same id is a new revision, rendered, charged
 * and given its own verdict. */
typedef struct {
    char job_id[128];
    char revision[JOB_REVISION_LEN];
    char asset_class[32];
    char prompt[2048];
    char text[JOB_MAX_TEXT][JOB_TEXT_LEN];
    int n_text;
    int width, height;          /* default 768x512 */
    uint64_t seed;              /* default: derived from job_id */
    uint32_t palette[JOB_MAX_PALETTE]; /* 0xRRGGBB brand palette */
    int n_palette;
    double min_contrast;        /* 0 = verifier default */
    double safe_zone;           /* 0 = verifier default */
    bool has_region;
    region_t region;            /* where the text must be */
    bool case_insensitive;
    int64_t submitted_ms;       /* epoch ms; 0 = unknown */
    char metadata[JOB_METADATA_MAX + 1]; /* the job's "metadata" object as compact JSON, "" = none:
                                   opaque to pressroom, passed through to the verdict unchanged
                                   (upstream maps results back to its posts); not part of the
                                   default revision, since it decides nothing about the image */
    char template_name[JOB_TEMPLATE_LEN]; /* "template": a key of the config's templates, "" = none;
                                   the preview worker fills prompt, region and palette from it
                                   (job_apply_template, base/prompt.h) */
    char slot_names[JOB_MAX_SLOTS][JOB_SLOT_NAME_LEN]; /* "slots": {"NAME": "value"}: the template's */
    char slot_values[JOB_MAX_SLOTS][JOB_SLOT_VALUE_LEN]; /* "{NAME}" placeholders, in the job's order */
    int n_slots;
    bool text_default;          /* never on the wire: the job gave no text[] (its text is its prompt's) */
    char check_aspect[8];       /* never on the wire: the verifier sets it from the task's
                                   render.aspect_ratio (a provider that takes a ratio), and
                                   then checks the image's aspect, not width x height */
} job_t;

/* What the render of a task asked the provider for (the adapter's render_sent_t): the
 * verifier checks the image against it, not against the job's size. On the wire
 * "render": {"width","height"} or {"aspect_ratio"}, "seed_sent", "note". */
typedef struct {
    bool known;                 /* the task carries it */
    int width, height;          /* an exact size asked for; 0 when a ratio was */
    char aspect_ratio[8];
    bool seed_sent;
    char note[256];             /* what the provider could not be told ("openai takes no seed") */
} task_render_t;

/* A charge against a tier's budget: one render. */
typedef struct {
    stage_t stage;
    int attempt;
    char model[64];
    int64_t micros;
} charge_t;

/* A job in flight between workers: the job, where it is, what it cost so far. */
typedef struct {
    job_t job;
    stage_t stage;              /* stage that rendered image_uri */
    int attempt;                /* renders so far, 1 = the preview */
    char model[64];             /* model that rendered image_uri */
    char image_uri[1024];       /* "" on the production topic */
    char guidance[1024];        /* what a re-render must fix ("" = none) */
    char escalation[64];        /* why it went to production: final_render | verification_failed */
    char preview_uri[1024];     /* the verified preview, for the degrade policy */
    charge_t charges[TASK_MAX_CHARGES];
    int n_charges;
    int failed_checks;          /* verifications this job failed so far */
    int64_t started_ms;         /* when the first worker picked the job up */
    bool backfill;              /* in the backfill lane: set by the stage from its input's
                                   topic (input_backfill), never read from a message */
    task_render_t render;       /* what image_uri's render asked for */
} task_t;

/* The render object of a task as JSON (for the verdict's report), or NULL when unknown. */
cJSON *task_render_to_json(const task_render_t *r);

/* A terminal verdict (results or rejected): one per (job_id, revision). */
typedef struct {
    char job_id[128];
    char revision[JOB_REVISION_LEN];
    char asset_class[32];
    char prompt[2048];          /* the job's prompt, as submitted */
    char template_name[JOB_TEMPLATE_LEN]; /* "template": the job's editorial template, "" = none */
    char slot_names[JOB_MAX_SLOTS][JOB_SLOT_NAME_LEN]; /* "slots": the template job's slot values */
    char slot_values[JOB_MAX_SLOTS][JOB_SLOT_VALUE_LEN];
    int n_slots;
    bool has_seed;              /* "seed": the seed the delivered image was rendered with */
    uint64_t seed;
    char metadata[JOB_METADATA_MAX + 1]; /* the job's metadata object, compact JSON, "" = none */
    job_verdict_t verdict;
    char reason[64];            /* rejected: budget_exhausted | verification_failed |
                                   render_failed | invalid_job ... */
    char detail[1024];
    char image_uri[1024];
    char image_url[2048];       /* "" or an HTTP URL of the image (presigned, expires) */
    stage_t stage;
    int attempt;
    char model[64];
    int64_t cost_micros;        /* sum of charges */
    charge_t charges[TASK_MAX_CHARGES];
    int n_charges;
    int64_t latency_ms;         /* submitted/started -> verdict */
    int escalations;            /* production renders */
    int failed_checks;          /* verifications the job failed on its way */
    bool backfill;              /* "lane": "backfill" (charged to tiers.backfill) */
    cJSON *report;              /* verification report (owned), may be NULL */
} outcome_t;

/* A moderation decision (pressroom.moderation, keyed by job_id): a reviewer's (or a
 * tool's) judgement of a job revision after its verdict. The latest decision per
 * (job_id, revision) wins: the last one on the topic (a job's decisions share a
 * partition). asset_class, template, model and verdict are optional on the wire: what
 * the recorder (`pressctl moderate`) found on the terminal topics, so a consumer can
 * label a decision without joining topics. */
typedef enum { MODERATION_APPROVED = 0, MODERATION_REJECTED } moderation_decision_t;
const char *moderation_decision_name(moderation_decision_t d);
typedef struct {
    char job_id[128];
    char revision[JOB_REVISION_LEN];
    moderation_decision_t decision;
    char reason[512];
    char reviewer[128];         /* "" = not given */
    int64_t decided_at_ms;
    char asset_class[32];       /* "" = not given */
    char template_name[JOB_TEMPLATE_LEN];
    char model[64];
    bool has_verdict;           /* verdict below was given */
    job_verdict_t verdict;      /* the verdict moderated */
} moderation_t;

/* Parsers: return 0, or -1 with a sentence in err naming the codec, the field, what
 * was expected and what was found ("job: size: expected ..., found \"huge\"").
 * They never read past len and take strict JSON only (base/json.h): UTF-8, no NUL,
 * no lone surrogate, no key twice, nothing after the object. */
int job_parse(const char *buf, size_t len, job_t *job, char *err, size_t errlen);
/* "<job_id>@<revision>" into buf (JOB_KEY_LEN bytes are always enough); returns buf. */
const char *job_key(const job_t *job, char *buf, size_t len);
/* FNV-1a of a job id: the default seed of a job without one, and lookup tables. */
uint64_t job_id_hash(const char *job_id);
int job_from_json(const cJSON *obj, job_t *job, char *err, size_t errlen);
int task_parse(const char *buf, size_t len, task_t *task, char *err, size_t errlen);
int outcome_parse(const char *buf, size_t len, outcome_t *out, char *err, size_t errlen);
int moderation_parse(const char *buf, size_t len, moderation_t *out, char *err, size_t errlen);

/* Encoders: a malloc'd NUL-terminated JSON string (caller frees); *_to_json: the
 * tree (caller deletes). */
cJSON *job_to_json(const job_t *job);
cJSON *outcome_to_json(const outcome_t *out);
char *job_encode(const job_t *job);
char *task_encode(const task_t *task);
char *outcome_encode(const outcome_t *out);
char *moderation_encode(const moderation_t *m);
void outcome_free(outcome_t *out);

/* job_default_text (a job's text from its prompt) and job_render_prompt (the prompt
 * sent to a model) are in base/prompt.h, with the prompt grammar. */

int64_t task_cost(const task_t *task);
int task_add_charge(task_t *task, stage_t stage, int attempt, const char *model, int64_t micros);

/* Parses "#RRGGBB" (or "RRGGBB"); returns 0 or -1. */
int parse_hex_color(const char *s, uint32_t *rgb);

#endif
