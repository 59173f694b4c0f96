/* actions.c — the console's one action: re-driving dead letters, behind a token.
 *
 * Without a token the console is read-only: no action endpoint, no button (main.c
 * answers 405). With one, POST /dlq/redrive re-drives through common/runtime/dlq.h, the
 * same function `pressctl dlq redrive` calls (attempt header, limit, source topic). The
 * request handling in main.c has checked the method, the Origin and the token first. The
 * token is registered for redaction, so no log line carries it, and no page echoes it. */
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/redact.h"
#include "console.h"
#include "runtime/dlq.h"

#define TOKEN_MIN 16
#define TOKEN_MAX 256
#define READ_IDLE_MS 5000

int console_load_token(console_t *c, const char *file) {
    char *tok = NULL;
    const char *where = file ? "--token-file" : "PRESSROOM_CONSOLE_TOKEN";
    if (file) {
        char err[512];
        size_t len = 0;
        if (!(tok = file_read_all(file, 4096, &len, err, sizeof err))) {
            fprintf(stderr, "pressroom-console: --token-file: %s\n", err);
            return -1;
        }
        while (len && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' ')) tok[--len] = 0;
    } else {
        const char *e = getenv("PRESSROOM_CONSOLE_TOKEN");
        if (!e || !*e) return 0;
        tok = xstrdup(e);
    }
    size_t n = strlen(tok);
    bool printable = true;
    for (size_t i = 0; i < n; i++) printable &= tok[i] > ' ' && tok[i] < 127;
    if (n < TOKEN_MIN || n > TOKEN_MAX || !printable) {
        fprintf(stderr, "pressroom-console: %s: the action token must be %d to %d printable characters without spaces "
                        "(it has %zu)\n", where, TOKEN_MIN, TOKEN_MAX, n);
        free(tok);
        return -1;
    }
    redact_add_secret(tok);
    c->action_token = tok;
    return 0;
}

bool console_token_ok(const console_t *c, const char *given) {
    if (!c->action_token || !given) return false;
    const unsigned char *want = (const unsigned char *)c->action_token, *got = (const unsigned char *)given;
    size_t lw = strlen(c->action_token), lg = strlen(given);
    /* Every byte of the token is looked at whatever the input: the time says nothing
     * about how much of it matched. */
    volatile unsigned diff = lw != lg;
    for (size_t i = 0; i < lw; i++) diff |= want[i] ^ (i < lg ? got[i] : 0u);
    return diff == 0;
}

const char *form_value(const char *body, const char *key, char *buf, size_t len) {
    size_t kl = strlen(key);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t fl = amp ? (size_t)(amp - p) : strlen(p);
        if (fl > kl && p[kl] == '=' && !strncmp(p, key, kl)) {
            size_t vl = fl - kl - 1;
            if (vl >= len) vl = len - 1;
            memcpy(buf, p + kl + 1, vl);
            buf[vl] = 0;
            for (char *q = buf; *q; q++)
                if (*q == '+') *q = ' ';
            MHD_http_unescape(buf);
            return buf;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void result_row(html_t *h, const dlq_letter_t *t, int rc, const dlq_redrive_result_t *r) {
    const char *what = rc == 0 ? "redriven" : rc == 1 ? "refused" : "failed";
    html_printf(h, "<tr data-result=\"%s\" data-letter=\"%d:%" PRId64 "\" data-topic=\"", what, (int)t->partition,
                t->offset);
    html_str(h, r->topic);
    html_printf(h, "\" data-partition=\"%d\" data-offset=\"%" PRId64 "\" data-attempt=\"%d\"><td>%d:%" PRId64 "</td><td>",
                (int)r->partition, r->offset, r->attempt, (int)t->partition, t->offset);
    html_str(h, t->key[0] ? t->key : "-");
    html_printf(h, "</td><td class=\"%s\">%s</td><td>", rc == 0 ? "ok" : "bad", what);
    if (rc == 0) {
        html_str(h, r->topic);
        html_printf(h, " [%d] @%" PRId64 ", attempt %d", (int)r->partition, r->offset, r->attempt);
    } else html_str(h, r->why);
    html_raw(h, "</td></tr>");
    char id[48], part[16], off[24], att[16];
    snprintf(id, sizeof id, "%d:%" PRId64, (int)t->partition, t->offset);
    snprintf(part, sizeof part, "%d", (int)r->partition);
    snprintf(off, sizeof off, "%" PRId64, r->offset);
    snprintf(att, sizeof att, "%d", r->attempt);
    if (rc == 0)
        log_info("console_redrive", "letter", id, "key", t->key, "topic", r->topic, "partition", part, "offset", off,
                 "attempt", att, NULL);
    else log_warn("console_redrive_refused", "letter", id, "key", t->key, "outcome", what, "why", r->why, NULL);
}

static int done_page(html_t *h, int status, const char *msg) {
    if (msg) {
        html_raw(h, "<p class=\"error\" id=\"action-error\">");
        html_str(h, msg);
        html_raw(h, "</p>");
    }
    html_raw(h, "<p><a href=\"/dlq\">back to the dead letters</a></p>");
    page_end(h);
    return status;
}

int action_redrive(console_t *c, html_t *h, const char *body) {
    page_begin(h, "Re-drive", "/dlq");
    char letter[64], reason[1100], filtered[8], err[1024];
    const char *id = form_value(body, "letter", letter, sizeof letter);
    const char *f_reason = form_value(body, "reason", reason, sizeof reason);
    bool bulk = form_value(body, "filtered", filtered, sizeof filtered) != NULL;
    int32_t p = 0;
    int64_t off = 0;
    if (!bulk && dlq_letter_id_parse(id, &p, &off))
        return done_page(h, 400, "expected a letter as PARTITION:OFFSET (the field \"letter\")");
    if (bulk && (!f_reason || !*f_reason))
        return done_page(h, 400, "re-driving by filter needs a reason filter: name the reason the letters start with");
    if (!c->producer && !(c->producer = kafka_new(&c->cfg, NULL, NULL, 0, err, sizeof err)))
        return done_page(h, 502, err);
    dlq_letters_t l = {0};
    char dlq[256];
    if (dlq_letters_read(&c->cfg, 0, READ_IDLE_MS, &l, dlq, sizeof dlq, err, sizeof err)) {
        dlq_letters_free(&l);
        return done_page(h, 502, err);
    }
    int n = 0;
    if (bulk) {
        dlq_filter_t f = {.reason_prefix = f_reason};
        n = dlq_select_newest(&l, &f);
    } else {
        dlq_letter_t *t = dlq_letters_find(&l, p, off);
        if (t) t->selected = true, n = 1;
    }
    if (!n) {
        dlq_letters_free(&l);
        return done_page(h, 404, bulk ? "no letter's reason starts with that" : "no such letter on the dead-letter topic");
    }
    html_raw(h, "<table id=\"redrive\"><thead><tr><th>letter</th><th>key</th><th>outcome</th><th>where / why</th></tr>"
                "</thead><tbody>");
    int redriven = 0, refused = 0;
    for (int i = 0; i < l.n; i++) {
        if (!l.v[i].selected) continue;
        dlq_redrive_result_t r;
        int rc = dlq_redrive_letter(c->producer, &c->cfg, dlq, &l.v[i], NULL, 0, c->max_attempts, &r);
        result_row(h, &l.v[i], rc, &r);
        rc == 0 ? redriven++ : refused++;
    }
    html_printf(h, "</tbody></table><p class=\"note\" id=\"redrive-summary\" data-redriven=\"%d\" data-refused=\"%d\">"
                   "%d re-driven, %d refused (attempt limit %d)</p>",
                redriven, refused, redriven, refused, c->max_attempts);
    dlq_letters_free(&l);
    return done_page(h, 200, NULL);
}
