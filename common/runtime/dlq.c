/* dlq.c — reading dead letters and re-driving them (dlq.h). */
#include "runtime/dlq.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"

#define REDRIVE_ACK_MS 30000

void dlq_letters_free(dlq_letters_t *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i].value);
    free(l->v);
    *l = (dlq_letters_t){0};
}

static int parse_attempt(const char *s) {
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 6) return 0;
    return atoi(s);
}

static void letter_fill(dlq_letter_t *t, const rd_kafka_message_t *m) {
    char buf[1100], kept[32];
    memset(t, 0, sizeof *t);
    t->partition = m->partition;
    t->offset = m->offset;
    t->time_ms = rd_kafka_message_timestamp(m, NULL);
    if (m->key_len)
        snprintf(t->key, sizeof t->key, "%.*s", (int)(m->key_len < sizeof t->key ? m->key_len : sizeof t->key - 1),
                 (const char *)m->key);
    const char *h = kafka_msg_header(m, "pressroom-source-topic", buf, sizeof buf);
    snprintf(t->source, sizeof t->source, "%s", h ? h : "");
    h = kafka_msg_header(m, "pressroom-reason", buf, sizeof buf);
    snprintf(t->reason, sizeof t->reason, "%s", h ? h : "");
    t->attempt = parse_attempt(kafka_msg_header(m, DLQ_ATTEMPT_HEADER, buf, sizeof buf));
    const char *o = kafka_msg_header(m, "pressroom-original-bytes", buf, sizeof buf);
    const char *k = kafka_msg_header(m, "pressroom-kept-bytes", kept, sizeof kept);
    t->bounded = o && k && strcmp(o, k) != 0;
    t->len = m->len;
    t->value = xmalloc(m->len + 1);
    if (m->len) memcpy(t->value, m->payload, m->len);
    t->value[m->len] = 0;
}

int dlq_letters_read(const config_t *cfg, int64_t since_ms, int idle_ms, dlq_letters_t *l, char *dlq, size_t dlqlen,
                     char *err, size_t errlen) {
    char e[768];
    config_topic(cfg, "dlq", dlq, dlqlen);
    const char *topics[] = {dlq};
    kafka_reader_t *r = kafka_reader_new(cfg, topics, 1, since_ms, 0, 8000, e, sizeof e);
    if (!r) {
        snprintf(err, errlen, "%s", e);
        return -1;
    }
    int64_t idle_since = now_ms();
    while (!kafka_reader_at_end(r)) {
        rd_kafka_message_t *m = kafka_reader_next(r, 200);
        if (!m) {
            if (now_ms() - idle_since <= idle_ms) continue;
            snprintf(err, errlen, "nothing came from %s for %d s before its end; stopped", dlq, idle_ms / 1000);
            kafka_reader_free(r);
            return -1;
        }
        idle_since = now_ms();
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 64;
            l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
        }
        letter_fill(&l->v[l->n++], m);
        rd_kafka_message_destroy(m);
    }
    kafka_reader_free(r);
    return 0;
}

int dlq_letter_id_parse(const char *s, int32_t *p, int64_t *off) {
    char *end = NULL;
    if (!s || *s < '0' || *s > '9') return -1;
    long pp = strtol(s, &end, 10);
    if (!end || *end != ':' || end[1] < '0' || end[1] > '9' || pp > 100000) return -1;
    char *e2 = NULL;
    long long oo = strtoll(end + 1, &e2, 10);
    if (!e2 || *e2) return -1;
    *p = (int32_t)pp;
    *off = oo;
    return 0;
}

dlq_letter_t *dlq_letters_find(dlq_letters_t *l, int32_t p, int64_t off) {
    for (int i = 0; i < l->n; i++)
        if (l->v[i].partition == p && l->v[i].offset == off) return &l->v[i];
    return NULL;
}

bool dlq_letter_matches(const dlq_filter_t *f, const dlq_letter_t *t) {
    return (!f->reason_prefix || !strncmp(t->reason, f->reason_prefix, strlen(f->reason_prefix))) &&
           (!f->source_topic || !strcmp(t->source, f->source_topic)) && (!f->key || !strcmp(t->key, f->key));
}

int dlq_select_newest(dlq_letters_t *l, const dlq_filter_t *f) {
    int n = 0;
    for (int i = l->n - 1; i >= 0; i--) {
        dlq_letter_t *t = &l->v[i];
        if (!dlq_letter_matches(f, t)) continue;
        bool newer = false;
        for (int j = i + 1; j < l->n && t->key[0] && !newer; j++)
            newer = l->v[j].selected && !strcmp(l->v[j].key, t->key) && !strcmp(l->v[j].source, t->source);
        if (newer) continue;
        t->selected = true;
        n++;
    }
    return n;
}

int dlq_redrive_letter(kafka_t *k, const config_t *cfg, const char *dlq, const dlq_letter_t *t, const char *value,
                       size_t len, int max_attempts, dlq_redrive_result_t *res) {
    memset(res, 0, sizeof *res);
    res->partition = -1;
    res->offset = -1;
    res->attempt = t->attempt + 1;
    const char *why = NULL;
    if (t->attempt >= max_attempts) why = "at the attempt limit";
    else if (t->bounded && !value) why = "a bounded letter (not the whole message): redrive it with --fix FILE";
    else if (!t->source[0]) why = "no pressroom-source-topic header";
    else if (!config_topic_named(cfg, t->source, res->topic, sizeof res->topic, NULL))
        why = "its pressroom-source-topic is not a pressroom topic";
    if (why) {
        if (t->attempt >= max_attempts)
            snprintf(res->why, sizeof res->why, "%s (%d of %d attempts made)", why, t->attempt, max_attempts);
        else snprintf(res->why, sizeof res->why, "%s", why);
        res->attempt = t->attempt;
        return 1;
    }
    if (!k) {
        res->redriven = true;
        return 0;
    }
    char attempt[16], from[300];
    snprintf(attempt, sizeof attempt, "%d", t->attempt + 1);
    snprintf(from, sizeof from, "%s:%d:%" PRId64, dlq, (int)t->partition, t->offset);
    kafka_header_t h[] = {{DLQ_ATTEMPT_HEADER, attempt}, {DLQ_FROM_HEADER, from}};
    if (kafka_produce_wait(k, res->topic, t->key[0] ? t->key : NULL, value ? value : t->value, value ? len : t->len, h,
                           2, REDRIVE_ACK_MS, &res->partition, &res->offset, res->why, sizeof res->why))
        return -1;
    res->redriven = true;
    return 0;
}
