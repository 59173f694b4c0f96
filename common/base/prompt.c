/* prompt.c — the prompt grammar; the rules and examples are in prompt.h. */
#include "base/prompt.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

_Static_assert(PROMPT_MAX_LINES == JOB_MAX_TEXT && PROMPT_LINE_LEN == JOB_TEXT_LEN,
               "a job's text[] holds exactly what the prompt grammar reads");
_Static_assert(PROMPT_MAX_PALETTE == JOB_MAX_PALETTE, "a job's palette is the prompt's");

#define LDQUO "\xe2\x80\x9c" /* “ U+201C */
#define RDQUO "\xe2\x80\x9d" /* ” U+201D */
#define LSQUO "\xe2\x80\x98" /* ‘ U+2018 */
#define RSQUO "\xe2\x80\x99" /* ’ U+2019 */

/* Each returns the length of the mark at p, or 0. */
static size_t dquote_opener(const char *p) {
    if (*p == '"') return 1;
    return strncmp(p, LDQUO, 3) ? 0 : 3;
}

static size_t dquote_closer(const char *p) {
    if (*p == '"') return 1;
    return strncmp(p, RDQUO, 3) && strncmp(p, LDQUO, 3) ? 0 : 3;
}

static size_t squote_opener(const char *p) {
    if (*p == '\'') return 1;
    return strncmp(p, LSQUO, 3) ? 0 : 3;
}

static size_t squote_closer(const char *p) {
    if (*p == '\'') return 1;
    return strncmp(p, RSQUO, 3) && strncmp(p, LSQUO, 3) ? 0 : 3;
}

static bool word_byte(char c) { return isalnum((unsigned char)c) != 0; }

static bool has_dquote_opener(const char *s) {
    for (; *s; s++)
        if (dquote_opener(s)) return true;
    return false;
}

/* One quoted string: marks at [open, open + open_len) and [close, close + close_len). */
typedef struct {
    size_t open, open_len, close, close_len;
} span_t;

/* The next quoted string at or after s[from]: 1 found, 0 none left, -1 a double-quote
 * opener without a closer (sp->open says where). */
static int next_span(const char *s, size_t from, bool dbl, span_t *sp) {
    for (size_t i = from; s[i]; i++) {
        size_t q = dbl ? dquote_opener(s + i) : squote_opener(s + i);
        if (!q || (!dbl && i > 0 && word_byte(s[i - 1]))) continue;
        sp->open = i;
        sp->open_len = q;
        for (size_t j = i + q; s[j]; j++) {
            size_t c = dbl ? dquote_closer(s + j) : squote_closer(s + j);
            if (!c || (!dbl && word_byte(s[j + c]))) continue;
            sp->close = j;
            sp->close_len = c;
            return 1;
        }
        return dbl ? -1 : 0;
    }
    return 0;
}

static int prompt_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int prompt_error(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int prompt_lines(const char *prompt, prompt_lines_t *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    bool dbl = has_dquote_opener(prompt);
    span_t sp;
    int rc;
    for (size_t at = 0; (rc = next_span(prompt, at, dbl, &sp)) == 1; at = sp.close + sp.close_len) {
        size_t start = sp.open + sp.open_len, n = sp.close - start;
        if (n == 0) continue;
        if (out->n_lines >= PROMPT_MAX_LINES)
            return prompt_error(err, errlen, "prompt: expected at most %d quoted text lines, found more",
                                PROMPT_MAX_LINES);
        if (n >= PROMPT_LINE_LEN)
            return prompt_error(err, errlen, "prompt: quoted text line %d is %zu bytes; expected at most %d",
                                out->n_lines + 1, n, PROMPT_LINE_LEN - 1);
        memcpy(out->lines[out->n_lines], prompt + start, n);
        out->lines[out->n_lines][n] = '\0';
        out->n_lines++;
    }
    if (rc < 0)
        return prompt_error(err, errlen, "prompt: expected a closing double quote for the text starting "
                            "at byte %zu", sp.open + sp.open_len);
    return 0;
}

int prompt_palette(const char *prompt, uint32_t palette[PROMPT_MAX_PALETTE]) {
    int n_palette = 0;
    for (const char *p = prompt; *p && n_palette < PROMPT_MAX_PALETTE; p++) {
        if (*p != '#' || (p > prompt && word_byte(p[-1]))) continue;
        int n = 0;
        while (n < 7 && isxdigit((unsigned char)p[1 + n])) n++;
        if (n != 6 || word_byte(p[7])) continue;
        char hex[7];
        memcpy(hex, p + 1, 6);
        hex[6] = '\0';
        palette[n_palette++] = (uint32_t)strtoul(hex, NULL, 16);
    }
    return n_palette;
}

int prompt_text_area(const char *prompt, bool *found, region_t *area, char *err, size_t errlen) {
    *found = false;
    const char *p = strcasestr(prompt, "text area:");
    if (!p) return 0;
    p += strlen("text area:");
    double v[4];
    for (int i = 0; i < 4; i++) {
        while (*p == ' ' || *p == '\t') p++;
        char *end;
        v[i] = strtod(p, &end);
        if (end == p || *end != '%' || !isfinite(v[i]))
            return prompt_error(err, errlen, "prompt: text area: expected four percentages "
                                "\"X%%,Y%%,W%%,H%%\", found \"%.40s\"", p);
        p = end + 1;
        while (*p == ' ' || *p == '\t') p++;
        if (i < 3) {
            if (*p != ',')
                return prompt_error(err, errlen, "prompt: text area: expected a comma after the %s "
                                    "percentage, found \"%.20s\"",
                                    i == 0 ? "first" : i == 1 ? "second" : "third", p);
            p++;
        }
    }
    if (v[0] < 0 || v[1] < 0 || v[2] <= 0 || v[3] <= 0 || v[0] + v[2] > 100 || v[1] + v[3] > 100)
        return prompt_error(err, errlen, "prompt: text area: expected a rectangle inside the image "
                            "(X+W and Y+H at most 100%%, W and H above 0), found %g%%,%g%%,%g%%,%g%%",
                            v[0], v[1], v[2], v[3]);
    *found = true;
    *area = (region_t){v[0] / 100, v[1] / 100, v[2] / 100, v[3] / 100};
    return 0;
}

static size_t dquote_mark(const char *p) {
    if (*p == '"') return 1;
    return strncmp(p, LDQUO, 3) && strncmp(p, RDQUO, 3) ? 0 : 3;
}

/* Copies src into dst (at most len - 1 bytes) without its double-quote marks, closers
 * too (a stray ” is no text either). dst may be src. Returns whether any went. */
static bool drop_dquotes(const char *src, char *dst, size_t len) {
    size_t n = 0;
    bool dropped = false;
    for (const char *p = src; *p && n + 1 < len;) {
        size_t q = dquote_mark(p);
        if (q) {
            p += q;
            dropped = true;
            continue;
        }
        dst[n++] = *p++;
    }
    dst[n] = '\0';
    return dropped;
}

/* Removes the marks of each single-quoted string the grammar reads in buf. Returns
 * whether any went. */
static bool drop_squotes(char *buf) {
    char *src = strdup(buf);
    if (!src) return false;
    size_t n = 0, from = 0;
    span_t sp;
    bool dropped = false;
    while (next_span(src, from, false, &sp) == 1) {
        memcpy(buf + n, src + from, sp.open - from);
        n += sp.open - from;
        size_t start = sp.open + sp.open_len;
        memcpy(buf + n, src + start, sp.close - start);
        n += sp.close - start;
        from = sp.close + sp.close_len;
        dropped = true;
    }
    memcpy(buf + n, src + from, strlen(src + from) + 1);
    free(src);
    return dropped;
}

size_t prompt_unquote(const char *s, char *buf, size_t len) {
    if (!len) return 0;
    drop_dquotes(s, buf, len);
    /* Removing a mark can make another: an apostrophe loses the letter before or after
     * it, or the bytes around it join into a curly quote. Again until none is left;
     * each round removes at least one byte. */
    for (bool again = true; again;) {
        again = drop_squotes(buf);
        again |= drop_dquotes(buf, buf, len);
    }
    return strlen(buf);
}

void job_default_text(job_t *job) {
    prompt_lines_t l;
    prompt_lines(job->prompt, &l, NULL, 0); /* on an error: the lines before it */
    memcpy(job->text, l.lines, sizeof job->text);
    job->n_text = l.n_lines;
}

/* Are s's quoted lines exactly the job's, in order, with no error? */
static bool quotes_exactly(const char *s, const job_t *job) {
    prompt_lines_t l;
    if (prompt_lines(s, &l, NULL, 0) || l.n_lines != job->n_text) return false;
    for (int i = 0; i < job->n_text; i++)
        if (strcmp(l.lines[i], job->text[i])) return false;
    return true;
}

typedef struct {
    char *buf;
    size_t len, n; /* n < len always: the text is NUL-terminated */
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(o->buf + o->n, o->len - o->n, fmt, ap);
    va_end(ap);
    if (r > 0) o->n = o->n + (size_t)r < o->len ? o->n + (size_t)r : o->len - 1;
}

static void render_prompt(const job_t *job, const char *guidance, bool as_is, char *buf, size_t len) {
    out_t o = {buf, len, 0};
    buf[0] = '\0';
    if (as_is) {
        put(&o, "%s", job->prompt);
    } else {
        o.n = prompt_unquote(job->prompt, buf, len);
        if (job->n_text) put(&o, ". Overlay text, exactly:");
        for (int i = 0; i < job->n_text; i++) put(&o, " \"%s\"", job->text[i]);
    }
    if (job->n_palette) put(&o, ". Brand palette:");
    for (int i = 0; i < job->n_palette; i++) put(&o, " #%06X", job->palette[i] & 0xFFFFFF);
    if (job->has_region)
        put(&o, ". text area: %d%%,%d%%,%d%%,%d%%", (int)lround(job->region.x * 100),
            (int)lround(job->region.y * 100), (int)lround(job->region.w * 100),
            (int)lround(job->region.h * 100));
    if (guidance && *guidance && o.n + 8 < len) {
        put(&o, ". Fix: ");
        o.n += prompt_unquote(guidance, buf + o.n, len - o.n);
    }
}

void job_render_prompt(const job_t *job, const char *guidance, char *buf, size_t len) {
    if (!len) return;
    bool as_is = quotes_exactly(job->prompt, job);
    render_prompt(job, guidance, as_is, buf, len);
    /* What follows the prompt has no quote marks, but it can close a single quote the
     * prompt left open ('tis ... kids' ...): then quote the text once, ourselves. */
    if (as_is && !quotes_exactly(buf, job)) render_prompt(job, guidance, false, buf, len);
}

static const char *slot_value(const job_t *job, const template_slot_t *slot) {
    for (int i = 0; i < job->n_slots; i++)
        if (!strcmp(job->slot_names[i], slot->name)) return job->slot_values[i];
    return slot->has_default ? slot->def : NULL;
}

int job_apply_template(job_t *job, const config_t *cfg, char *err, size_t errlen) {
    if (!job->template_name[0]) return 0;
    const template_config_t *t = config_template(cfg, job->template_name);
    char names[512];
    size_t n = 0;
    names[0] = 0;
    if (!t) {
        for (int i = 0; i < cfg->n_templates && n < sizeof names; i++)
            n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", cfg->templates[i].name);
        snprintf(err, errlen, "job: template: expected one of the configured templates (%s), found \"%s\"",
                 cfg->n_templates ? names : "none configured", job->template_name);
        return -1;
    }
    for (int i = 0; i < t->n_slots && n < sizeof names; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", t->slots[i].name);
    for (int i = 0; i < job->n_slots; i++) {
        bool known = false;
        for (int k = 0; k < t->n_slots; k++) known |= !strcmp(t->slots[k].name, job->slot_names[i]);
        if (!known) {
            snprintf(err, errlen, "job: slots.%s: expected a slot of template \"%s\" (%s)", job->slot_names[i], t->name,
                     t->n_slots ? names : "it has none");
            return -1;
        }
    }
    const char *src = job->prompt[0] ? job->prompt : t->prompt;
    if (!src[0]) {
        snprintf(err, errlen, "job: prompt: expected a prompt (template \"%s\" has none)", t->name);
        return -1;
    }
    char built[sizeof job->prompt];
    out_t o = {built, sizeof built, 0};
    built[0] = 0;
    for (const char *p = src; *p;) {
        const char *e = *p == '{' ? strchr(p, '}') : NULL;
        const template_slot_t *slot = NULL;
        for (int k = 0; e && k < t->n_slots; k++)
            if ((size_t)(e - p - 1) == strlen(t->slots[k].name) && !strncmp(p + 1, t->slots[k].name, (size_t)(e - p - 1)))
                slot = &t->slots[k];
        if (!slot) { /* not a placeholder: the byte as it is */
            put(&o, "%c", *p++);
            continue;
        }
        const char *v = slot_value(job, slot);
        if (!v) {
            snprintf(err, errlen, "job: slots.%s: expected a value (template \"%s\" has no default)", slot->name,
                     t->name);
            return -1;
        }
        put(&o, "%s", v);
        p = e + 1;
    }
    if (o.n + 1 >= sizeof built) {
        snprintf(err, errlen, "job: prompt: expected at most %zu bytes once template \"%s\" is filled in",
                 sizeof built - 2, t->name);
        return -1;
    }
    snprintf(job->prompt, sizeof job->prompt, "%s", built);
    if (job->text_default) job_default_text(job);
    if (!job->has_region && t->has_region) {
        job->has_region = true;
        job->region = (region_t){t->region_x, t->region_y, t->region_w, t->region_h};
    }
    if (!job->n_palette && t->n_palette) {
        memcpy(job->palette, t->palette, sizeof t->palette[0] * (size_t)t->n_palette);
        job->n_palette = t->n_palette;
    }
    return 0;
}
