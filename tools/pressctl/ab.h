/* ab.h — `pressctl ab`, the side-by-side harness (cmd_ab.c runs it and writes
 * results.jsonl and summary.json; ab_report.c writes report.html from the same run). */
#ifndef PRESSROOM_PRESSCTL_AB_H
#define PRESSROOM_PRESSCTL_AB_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "base/message.h"
#include "model/model_client.h"

/* The steps of one request, in the order they happen; times in microseconds. */
typedef enum {
    AB_STEP_DNS,
    AB_STEP_CONNECT,
    AB_STEP_TLS,
    AB_STEP_FIRST_BYTE,
    AB_STEP_TRANSFER,
    AB_STEP_DECODE,
    AB_STEP_VERIFY,
    AB_STEP_REQUEST, /* submit to answer, retries included */
    AB_N_STEPS
} ab_step_t;
extern const char *const AB_STEP_NAMES[AB_N_STEPS];

/* The verifier's checks, by the reason codes each owns (verify.h). */
typedef enum { AB_CHECK_SANITY, AB_CHECK_TEXT, AB_CHECK_LAYOUT, AB_CHECK_CONTRAST, AB_CHECK_PALETTE, AB_N_CHECKS } ab_check_t;
extern const char *const AB_CHECK_NAMES[AB_N_CHECKS];
/* The check a reason code belongs to. */
ab_check_t ab_check_of_reason(const char *reason);

typedef struct {
    char name[64];             /* the alias (models.NAME) */
    const model_config_t *cfg;
    model_client_t *client;
} ab_model_t;

/* One request: a job, a seed, a model. */
typedef struct {
    int job, seed, model;      /* indexes into the run's arrays */
    bool rendered;             /* the model answered with an image */
    bool verified;             /* the verifier judged it */
    bool pass;
    char reason[64];           /* the render's failure when !rendered */
    char detail[512];
    int http_status, attempts;
    render_sent_t sent;
    int64_t step_us[AB_N_STEPS];
    int64_t cost_micros;       /* the model's price when it answered, else 0 */
    char image[256];           /* the PNG's path under the output folder, "" when none */
    unsigned failed_checks;    /* bit (1u << ab_check_t) per failed check */
    cJSON *report;             /* the verifier's report (owned), NULL until verified */
} ab_result_t;

/* What the report says about one model. */
typedef struct {
    int requests, rendered, verified, accepted;
    int check_pass[AB_N_CHECKS]; /* verified images that passed the check */
    double pct_ms[AB_N_STEPS][3]; /* p50, p95, p99 */
    int64_t cost_micros;
    int seed_not_sent;         /* requests whose provider took no seed */
    char seed_note[256];       /* the adapter's note, e.g. "openai takes no seed" */
} ab_model_summary_t;

typedef struct {
    const config_t *cfg;
    job_t *jobs;
    int n_jobs;
    uint64_t *seeds;
    int n_seeds;
    ab_model_t *models;
    int n_models;
    ab_result_t *results;      /* (job * n_seeds + seed) * n_models + model */
    int n_results;
    ab_model_summary_t *summary; /* per model */
    const char *out_dir;
    int concurrency;
    int64_t wall_ms;
} ab_run_t;

static inline ab_result_t *ab_result(const ab_run_t *run, int job, int seed, int model) {
    return &run->results[(job * run->n_seeds + seed) * run->n_models + model];
}

/* The lines the verifier read for each expected line of r ("" when none was read;
 * NULL when not verified), as a JSON array of {"expected","read"}; the caller deletes. */
cJSON *ab_reading(const ab_result_t *r);
/* The checks on which the models disagree for one job and seed, as bits. */
unsigned ab_differing_checks(const ab_run_t *run, int job, int seed);

/* Writes report.html into the run's output folder. Returns 0, or -1 with err. */
int ab_write_report(const ab_run_t *run, const char *path, char *err, size_t errlen);

#endif
