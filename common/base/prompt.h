/* prompt.h — the prompt grammar: what a prompt's own words say must be drawn. The one
 * implementation read by job_default_text (the lines a job must carry when it has no
 * text[], so what the verifier checks), job_render_prompt (the prompt sent to a model)
 * and the reference renderer's prompt_parse (what it draws).
 *
 * Quoted lines (prompt_lines):
 *   1. Double quotes. When the prompt holds a double-quote opener — a straight " or a
 *      left curly “ (U+201C) — the lines are the double-quoted strings and single
 *      quotes are ordinary characters. A line runs from an opener to the next closer:
 *      " or a curly ” (U+201D) or “ (so "x”, “x" and “x“ all close). No nesting, no
 *      escapes.
 *   2. Single quotes, only when there is no double-quote opener at all. Openers: ' and
 *      ‘ (U+2018); closers: ', ’ (U+2019) and ‘. An opener counts only at the start of
 *      the prompt or after a byte that is not an ASCII letter or digit; a closer only
 *      at the end or before such a byte. So the apostrophes of it's, Chef’s and kids'
 *      never open a quote, and the one in 'Chef's Table' does not close it.
 *   3. Empty quotes ("", '', “”) are skipped: they draw nothing.
 *   4. A single-quote opener with no closer ends the search (a leading apostrophe, as
 *      in 'tis, is common): the lines before it stand, no error.
 *   5. Errors (prompt_lines returns -1 with a sentence): a double-quote opener with no
 *      closer; a 9th line (at most PROMPT_MAX_LINES); a line of PROMPT_LINE_LEN bytes or
 *      more. Reading stops at the first error and keeps the lines before it. The
 *      renderer refuses such a prompt (HTTP 400); job_default_text takes the lines kept.
 *
 *   Banner with "SUMMER SALE" and “50% off”          -> SUMMER SALE | 50% off
 *   The chef's table, title 'Chef's Table' on top    -> Chef's Table
 *   Poster with ‘NEW’ and 'HOT', for kids’ rooms     -> NEW | HOT
 *   "A" and 'B'                                      -> A (double quotes win)
 *   "" and "A"                                       -> A
 *   rock 'n roll                                     -> (none, no error)
 *   "A" on a 5" screen                               -> A, then error: no closing quote
 *
 * Palette (prompt_palette): every "#RRGGBB" token — '#', exactly six hex digits, not
 * preceded and not followed by an ASCII letter or digit — in order, at most
 * PROMPT_MAX_PALETTE: "palette #1E3A8A #FACC15" -> 0x1E3A8A, 0xFACC15.
 *
 * Text area (prompt_text_area): the first "text area:" (any case) followed by four
 * percentages "X%,Y%,W%,H%" (blanks allowed around each): "text area: 10%,60%,80%,30%"
 * -> x 0.1, y 0.6, w 0.8, h 0.3. It must lie inside the image (X+W and Y+H at most
 * 100, W and H above 0); anything else after "text area:" is an error.
 *
 * job_render_prompt writes its additions in exactly this grammar: the lines in
 * straight double quotes, ". Brand palette: #RRGGBB ..." and ". text area: X%,Y%,W%,H%". */
#ifndef PRESSROOM_PROMPT_H
#define PRESSROOM_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/message.h"

#define PROMPT_MAX_LINES 8
#define PROMPT_LINE_LEN 256 /* a line is at most 255 bytes */
#define PROMPT_MAX_PALETTE 8

typedef struct {
    char lines[PROMPT_MAX_LINES][PROMPT_LINE_LEN];
    int n_lines;
} prompt_lines_t;

/* The quoted lines of a prompt, in order (rules 1-5 above). Returns 0, or -1 with a
 * sentence in err (err may be NULL) and the lines read before the error in out. */
int prompt_lines(const char *prompt, prompt_lines_t *out, char *err, size_t errlen);

/* The "#RRGGBB" tokens of a prompt as 0xRRGGBB, in order; returns how many. */
int prompt_palette(const char *prompt, uint32_t palette[PROMPT_MAX_PALETTE]);

/* The "text area: X%,Y%,W%,H%" of a prompt as fractions. *found is false when there
 * is none. Returns 0, or -1 with a sentence in err when it is malformed or outside
 * the image. */
int prompt_text_area(const char *prompt, bool *found, region_t *area, char *err, size_t errlen);

/* Copies s into buf (at most len - 1 bytes, NUL-terminated) without the quote marks
 * the grammar would read: every double-quote mark (" “ ”), then the single-quote marks
 * that open and close a quote (apostrophes stay). prompt_lines finds no line in the
 * result. Returns the length written. */
size_t prompt_unquote(const char *s, char *buf, size_t len);

/* Fills job->text from the prompt's quoted lines (prompt_lines; on an error, the lines
 * before it). For a job that gave no text[]. */
void job_default_text(job_t *job);

/* The prompt sent to a model. When the prompt's quoted lines are exactly the job's
 * text, in order: the prompt as it is. Otherwise the prompt without its quote marks
 * (prompt_unquote) and ". Overlay text, exactly: "L1" "L2"": the text to draw is quoted
 * exactly once. Then the palette, the text area when the job has one and, when given,
 * ". Fix: " and the guidance of a failed check without its quote marks (the fix must
 * not quote the misspelling it asks to avoid). */
void job_render_prompt(const job_t *job, const char *guidance, char *buf, size_t len);

/* A job naming a template (job->template_name, "" = nothing to do): its prompt is the
 * template's (or the job's own, when it gave one) with every "{slot}" replaced by the
 * job's value for that slot, else the slot's default; its text, when the job gave no
 * text[], is the built prompt's quoted lines; its region and palette are the template's
 * zone and palette unless the job gave its own (explicit fields win). Idempotent: a
 * built prompt has no placeholders left. Returns 0, or -1 with a sentence in err:
 *   job: template: expected one of the configured templates (weekly-deals), found "x"
 *   job: slots.color: expected a slot of template "weekly-deals" (headline, product)
 *   job: slots.headline: expected a value (template "weekly-deals" has no default) */
int job_apply_template(job_t *job, const config_t *cfg, char *err, size_t errlen);

#endif
