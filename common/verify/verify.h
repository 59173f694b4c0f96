/* verify.h — the verifier gate: checks a rendered PNG against the constraints its
 * job states (exact text, layout, contrast, palette, sanity) and returns a verdict
 * with machine-readable reason codes, scores and re-render guidance.
 *
 * Reason codes (each failure also carries its scores in the report):
 *   image_undecodable size_mismatch blank_image blurred
 *   text_unreadable text_missing text_mismatch text_extra text_duplicated text_unexpected
 *   text_outside_safe_zone text_touches_edge text_outside_region
 *   low_contrast off_palette
 *
 * Two ways in: verify_png() checks one image synchronously on the caller's OCR
 * engine; verify_pool_* runs checks on a pool of threads (one Tesseract handle per
 * thread, created once) and signals finished verdicts on a pollable fd. */
#ifndef PRESSROOM_VERIFY_H
#define PRESSROOM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "base/message.h"

typedef struct ocr_engine ocr_engine_t;
typedef struct verdict verdict_t;

/* ==== Verdicts ==== */

bool verdict_pass(const verdict_t *v);
/* Comma-joined reason codes ("" when the image passed). */
const char *verdict_reasons(const verdict_t *v);
/* What a re-render must fix, sentences joined by "; " ("" when passed). */
const char *verdict_guidance(const verdict_t *v);
/* The full report as a new cJSON object; the caller owns (and deletes) it. */
cJSON *verdict_report(const verdict_t *v);
/* True when the reason codes contain `code`. */
bool verdict_has_reason(const verdict_t *v, const char *code);
void verdict_free(verdict_t *v);

/* ==== Synchronous check ==== */

/* Checks png (len bytes, not taken) against job under cfg. ocr may be NULL: the
 * text is then not read (no text checks beyond "some text is present"), the other
 * checks run. Always returns a verdict (an undecodable image is a failed verdict
 * with reason image_undecodable). */
verdict_t *verify_png(ocr_engine_t *ocr, const verifier_config_t *cfg, const job_t *job,
                      const unsigned char *png, size_t len);

/* ==== Thread pool ==== */

typedef struct verify_pool verify_pool_t;

/* Starts `threads` checker threads (0 = cfg->threads, and 0 there = one per core),
 * each with its own Tesseract handle when ocr_enabled. Returns NULL with err. */
verify_pool_t *verify_pool_new(const verifier_config_t *cfg, bool ocr_enabled, int threads,
                               char *err, size_t errlen);
/* Queues a check of png for job; takes ownership of png (malloc'd, or NULL with len 0:
 * an image that could not be read, checked as image_undecodable), copies job.
 * A check from the backfill lane waits while any live check is queued: the threads
 * take live work first, so a replay never queues ahead of live traffic.
 * Never blocks for long (the queue is unbounded; callers bound it with
 * verify_pool_pending). Returns 0, or -1 when the pool is shutting down (png freed). */
int verify_pool_submit(verify_pool_t *p, const job_t *job, unsigned char *png, size_t len,
                       bool backfill, void *opaque);
/* Readable (eventfd) while at least one verdict is ready. */
int verify_pool_fd(const verify_pool_t *p);
/* Takes one finished verdict and its submitter's opaque pointer; NULL when none. */
verdict_t *verify_pool_next(verify_pool_t *p, void **opaque);
/* Checks submitted and not yet taken with verify_pool_next. */
int verify_pool_pending(const verify_pool_t *p);
int verify_pool_threads(const verify_pool_t *p);
/* Finishes queued checks, joins the threads, frees verdicts nobody took. */
void verify_pool_free(verify_pool_t *p);

#endif
