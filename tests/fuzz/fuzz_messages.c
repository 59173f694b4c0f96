/* libFuzzer harness: every Kafka payload parser (job, task, outcome) on arbitrary
 * bytes must return 0 or -1 with a message, never crash, never read past the
 * buffer. What a parser accepts is strict JSON (base/json.h): no NUL byte, valid
 * UTF-8, and its re-encoding is strict JSON again that the same codec parses back
 * to the very same encoding. Build and run: `make fuzz` (clang, ASan + UBSan, 60 s). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/message.h"
#include "base/prompt.h"

/* Well-formed UTF-8 by the Unicode standard's table 3-7 (written apart from
 * base/json.c's decoder, so the two check each other). */
static bool utf8_ok(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k;
        uint8_t lo = 0x80, hi = 0xBF; /* the second byte's range */
        if (c <= 0x7F) { i++; continue; }
        else if (c >= 0xC2 && c <= 0xDF) k = 2;
        else if (c == 0xE0) { k = 3; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) k = 3;
        else if (c == 0xED) { k = 3; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) k = 3;
        else if (c == 0xF0) { k = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) k = 4;
        else if (c == 0xF4) { k = 4; hi = 0x8F; }
        else return false;
        if (i + k > n || s[i + 1] < lo || s[i + 1] > hi) return false;
        for (size_t j = 2; j < k; j++)
            if (s[i + j] < 0x80 || s[i + j] > 0xBF) return false;
        i += k;
    }
    return true;
}

/* What an accepted payload and its re-encoding must be. */
static void check_strict(const char *what, const char *buf, size_t len) {
    (void)what;
    if (memchr(buf, 0, len) || !utf8_ok((const uint8_t *)buf, len)) abort();
    char err[512];
    json_reader_t r;
    json_reader_init(&r, what, err, sizeof err);
    cJSON *root = json_parse_object(&r, buf, len);
    if (!root) abort();
    cJSON_Delete(root);
}

/* encoded is a codec's output: strict JSON, and parse + encode gives it back. */
static void check_round_trip(const char *what, char *encoded, char *(*again)(const char *, size_t)) {
    if (!encoded) abort();
    size_t len = strlen(encoded);
    check_strict(what, encoded, len);
    char *twice = again(encoded, len);
    if (!twice || strcmp(encoded, twice)) abort(); /* the same encoding, byte for byte */
    free(twice);
    free(encoded);
}

static char *job_again(const char *s, size_t len) {
    job_t job;
    char err[512];
    return job_parse(s, len, &job, err, sizeof err) ? NULL : job_encode(&job);
}

static char *task_again(const char *s, size_t len) {
    task_t task;
    char err[512];
    return task_parse(s, len, &task, err, sizeof err) ? NULL : task_encode(&task);
}

static char *outcome_again(const char *s, size_t len) {
    outcome_t out;
    char err[512];
    if (outcome_parse(s, len, &out, err, sizeof err)) return NULL;
    char *e = outcome_encode(&out);
    outcome_free(&out);
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    /* An exact-size copy so ASan catches any read past the payload. */
    char *buf = malloc(size ? size : 1);
    if (size) memcpy(buf, data, size);
    job_t job;
    if (job_parse(buf, size, &job, err, sizeof err) == 0) {
        check_strict("job", buf, size);
        check_round_trip("job", job_encode(&job), job_again);
        char prompt[4096];
        job_render_prompt(&job, "expected \"X\"", prompt, sizeof prompt);
        /* The prompt without its quote marks quotes nothing (base/prompt.h). */
        char plain[sizeof job.prompt];
        prompt_unquote(job.prompt, plain, sizeof plain);
        prompt_lines_t lines;
        if (prompt_lines(plain, &lines, NULL, 0) != 0 || lines.n_lines != 0) abort();
    } else if (!err[0]) {
        abort(); /* refused without a reason */
    }
    task_t task;
    if (task_parse(buf, size, &task, err, sizeof err) == 0) {
        check_strict("task", buf, size);
        check_round_trip("task", task_encode(&task), task_again);
    } else if (!err[0]) {
        abort();
    }
    outcome_t out;
    if (outcome_parse(buf, size, &out, err, sizeof err) == 0) {
        check_strict("outcome", buf, size);
        check_round_trip("outcome", outcome_encode(&out), outcome_again);
        outcome_free(&out);
    } else if (!err[0]) {
        abort();
    }
    free(buf);
    return 0;
}
