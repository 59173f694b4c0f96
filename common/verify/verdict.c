/* verdict.c — the verdict on one image: the reason codes and guidance sentences
 * the checks record (verdict_fail), the report's summary (pass, reasons, guidance,
 * elapsed time) once the checks are done, and the public verdict_* accessors of
 * verify.h. See verify_internal.h. */
#include "verify/verify_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

/* ==== Verdicts ==== */

struct verdict {
    bool pass;
    char reasons[512];
    char guidance[2048];
    cJSON *report;
};

bool verdict_pass(const verdict_t *v) { return v && v->pass; }
const char *verdict_reasons(const verdict_t *v) { return v ? v->reasons : ""; }
const char *verdict_guidance(const verdict_t *v) { return v ? v->guidance : ""; }
cJSON *verdict_report(const verdict_t *v) { return v ? cJSON_Duplicate(v->report, 1) : NULL; }

bool verdict_has_reason(const verdict_t *v, const char *code) {
    if (!v) return false;
    size_t n = strlen(code);
    for (const char *p = v->reasons; (p = strstr(p, code)); p += n)
        if ((p == v->reasons || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

void verdict_free(verdict_t *v) {
    if (!v) return;
    cJSON_Delete(v->report);
    free(v);
}

verdict_t *verdict_new(void) {
    verdict_t *v = calloc(1, sizeof *v);
    if (v) v->pass = true;
    return v;
}

/* Records a failure: the reason code (once) and a guidance sentence. */
void verdict_fail(vctx_t *c, const char *code, const char *fmt, ...) {
    verdict_t *v = c->v;
    v->pass = false;
    if (!verdict_has_reason(v, code)) {
        size_t n = strlen(v->reasons);
        snprintf(v->reasons + n, sizeof v->reasons - n, "%s%s", n ? "," : "", code);
    }
    char sentence[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sentence, sizeof sentence, fmt, ap);
    va_end(ap);
    size_t n = strlen(v->guidance);
    if (!strstr(v->guidance, sentence))
        snprintf(v->guidance + n, sizeof v->guidance - n, "%s%s", n ? "; " : "", sentence);
}

verdict_t *verdict_close(vctx_t *c, double t0) {
    verdict_t *v = c->v;
    cJSON_AddBoolToObject(c->report, "pass", v->pass);
    cJSON *reasons = cJSON_AddArrayToObject(c->report, "reasons");
    char tmp[sizeof v->reasons];
    snprintf(tmp, sizeof tmp, "%s", v->reasons);
    for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(reasons, cJSON_CreateString(tok));
    cJSON_AddStringToObject(c->report, "guidance", v->guidance);
    cJSON_AddNumberToObject(c->report, "elapsed_ms", round(((double)mono_us() / 1e3 - t0) * 10) / 10);
    v->report = c->report;
    return v;
}
