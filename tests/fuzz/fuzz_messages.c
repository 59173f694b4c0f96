/* libFuzzer harness: every Kafka payload parser (job, task, outcome) on arbitrary
 * bytes must return 0 or -1 with a message, never crash, never read past the
 * buffer. Build and run: `make fuzz` (clang, ASan + UBSan, 60 s). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/message.h"
#include "base/prompt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    /* An exact-size copy so ASan catches any read past the payload. */
    char *buf = malloc(size ? size : 1);
    if (size) memcpy(buf, data, size);
    job_t job;
    if (job_parse(buf, size, &job, err, sizeof err) == 0) {
        char *again = job_encode(&job);
        job_t back;
        if (job_parse(again, strlen(again), &back, err, sizeof err) != 0) abort(); /* round trip */
        free(again);
        char prompt[4096];
        job_render_prompt(&job, "expected \"X\"", prompt, sizeof prompt);
        /* The prompt without its quote marks quotes nothing (base/prompt.h). */
        char plain[sizeof job.prompt];
        prompt_unquote(job.prompt, plain, sizeof plain);
        prompt_lines_t lines;
        if (prompt_lines(plain, &lines, NULL, 0) != 0 || lines.n_lines != 0) abort();
    }
    /* Whatever a strict codec accepted re-encodes to JSON the same codec accepts again
     * (valid UTF-8, no NUL, no duplicate key: json.h). */
    task_t task;
    if (task_parse(buf, size, &task, err, sizeof err) == 0) {
        char *again = task_encode(&task);
        task_t back;
        if (task_parse(again, strlen(again), &back, err, sizeof err) != 0) abort();
        free(again);
    }
    outcome_t out;
    if (outcome_parse(buf, size, &out, err, sizeof err) == 0) {
        char *again = outcome_encode(&out);
        outcome_t back;
        if (outcome_parse(again, strlen(again), &back, err, sizeof err) != 0) abort();
        outcome_free(&back);
        free(again);
        outcome_free(&out);
    }
    free(buf);
    return 0;
}
