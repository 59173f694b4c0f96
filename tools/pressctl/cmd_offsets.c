/* cmd_offsets.c — `pressctl offsets show|reset --group G`: a consumer group's committed
 * offsets, the high watermarks and the lag per partition, and moving them.
 *
 * The topics are the ones named with --topic, else every pressroom topic that exists
 * (show lists only the partitions the group has committed offsets for, unless --topic).
 * reset first asks the group coordinator for the group's members (DescribeGroups, via
 * rd_kafka_list_groups) and refuses while it has any: a member would commit over the
 * reset, or rebalance around it. A broker that cannot describe groups (librdkafka's mock
 * cluster, the embedded broker) is asked by joining the group, subscribed to every
 * pressroom topic: given every partition, this tool is the only member and commits as
 * one; given fewer, it leaves and refuses (joining makes live members rebalance once: acceptable where the broker
 * leaves no other way). A real Kafka broker also refuses the commit itself while the
 * group is not empty.
 * --to-datetime T: each partition's first offset at or after T (rd_kafka_offsets_for_times;
 * on a broker that cannot look offsets up by time, found by reading the partition with
 * the reader by assignment), the high watermark when nothing is that new. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/config.h"
#include "pressctl.h"
#include "runtime/kafka.h"

#define MAX_TOPICS 16

typedef enum { TO_NONE, TO_EARLIEST, TO_LATEST, TO_DATETIME } reset_to_t;

typedef struct {
    const char *sub, *group;
    char topics[MAX_TOPICS][256];
    int n_topics;
    reset_to_t to;
    int64_t at_ms;
    bool dry_run;
} offsets_opts_t;

static const char *const ALL_TOPICS[] = {"jobs",     "backfill", "verify",   "verify.backfill", "production",
                                         "production.backfill", "results", "rejected", "dlq"};

/* Every partition of the topics (unknown topics skipped when skip_unknown). */
static rd_kafka_topic_partition_list_t *partitions_of(rd_kafka_t *rk, const offsets_opts_t *o, bool skip_unknown,
                                                       char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(64);
    for (int t = 0; t < o->n_topics; t++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topics[t], NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t me = rd_kafka_metadata(rk, 0, rkt, &md, BROKER_PROBE_MS * 2);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_resp_err_t te = me ? me : md && md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (!te && md->topics[0].partition_cnt == 0) te = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (te) {
            if (md) rd_kafka_metadata_destroy(md);
            if (skip_unknown && te != RD_KAFKA_RESP_ERR__TRANSPORT && te != RD_KAFKA_RESP_ERR__TIMED_OUT) continue;
            snprintf(err, errlen, "cannot read the partitions of %s: %s", o->topics[t], rd_kafka_err2str(te));
            rd_kafka_topic_partition_list_destroy(parts);
            return NULL;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, o->topics[t], md->topics[0].partitions[p].id);
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_partition_list_sort(parts, NULL, NULL);
    return parts;
}

/* The group's members: >= 0, or -1 when the brokers cannot say (reason in err). */
static int group_members(rd_kafka_t *rk, const char *group, char *state, size_t slen, char *err, size_t errlen) {
    const struct rd_kafka_group_list *gl = NULL;
    rd_kafka_resp_err_t e = rd_kafka_list_groups(rk, group, &gl, BROKER_PROBE_MS * 2);
    if (e || !gl) {
        snprintf(err, errlen, "the brokers did not describe group %s: %s", group, rd_kafka_err2str(e));
        return -1;
    }
    int members = 0;
    snprintf(state, slen, "%s", "unknown");
    for (int i = 0; i < gl->group_cnt; i++) {
        if (strcmp(gl->groups[i].group, group)) continue;
        if (gl->groups[i].err) {
            snprintf(err, errlen, "the brokers did not describe group %s: %s", group,
                     rd_kafka_err2str(gl->groups[i].err));
            rd_kafka_group_list_destroy(gl);
            return -1;
        }
        members += gl->groups[i].member_cnt;
        snprintf(state, slen, "%s", gl->groups[i].state ? gl->groups[i].state : "unknown");
    }
    rd_kafka_group_list_destroy(gl);
    return members;
}

/* The lag itself is kafka_group_lag's (common/runtime/kafka.h), the console's too. */
static int offsets_show(rd_kafka_t *rk, const config_t *cfg, const offsets_opts_t *o, bool all_topics) {
    char err[768], state[64];
    const char *topics[MAX_TOPICS];
    for (int t = 0; t < o->n_topics; t++) topics[t] = o->topics[t];
    int max = 256 * MAX_TOPICS;
    kafka_partition_lag_t *rows = xcalloc((size_t)max, sizeof *rows);
    int n = kafka_group_lag(cfg, o->group, topics, o->n_topics, all_topics, rows, max, BROKER_PROBE_MS * 2, err,
                            sizeof err);
    if (n < 0) {
        fprintf(stderr, "pressctl offsets show: %s\n", err);
        free(rows);
        return 1;
    }
    int members = group_members(rk, o->group, state, sizeof state, err, sizeof err);
    if (members >= 0) printf("group %s: %s, %d member(s)\n", o->group, state, members);
    else printf("group %s: members unknown (%s)\n", o->group, err);
    printf("%-34s %9s %12s %12s %10s\n", "TOPIC", "PARTITION", "COMMITTED", "HIGH", "LAG");
    int64_t total = 0;
    int shown = 0;
    for (int i = 0; i < n; i++) {
        const kafka_partition_lag_t *p = &rows[i];
        if (all_topics && p->committed < 0) continue;
        char committed[24];
        if (p->committed >= 0) snprintf(committed, sizeof committed, "%" PRId64, p->committed);
        else snprintf(committed, sizeof committed, "-");
        printf("%-34s %9d %12s %12" PRId64 " %10" PRId64 "\n", p->topic, (int)p->partition, committed, p->high, p->lag);
        total += p->lag;
        shown++;
    }
    if (!shown) printf("(no committed offsets for group %s)\n", o->group);
    printf("total lag: %" PRId64 "\n", total);
    free(rows);
    return 0;
}

/* Each partition's first offset at or after at_ms by reading it (the fallback for a
 * broker that cannot look offsets up by time); -1 where nothing is that new. */
static int offsets_by_reading(const config_t *cfg, rd_kafka_topic_partition_list_t *parts, int64_t at_ms, char *err,
                              size_t errlen) {
    const char *topics[MAX_TOPICS];
    int n = 0;
    for (int i = 0; i < parts->cnt; i++) {
        parts->elems[i].offset = -1;
        bool have = false;
        for (int j = 0; j < n && !have; j++) have = !strcmp(topics[j], parts->elems[i].topic);
        if (!have && n < MAX_TOPICS) topics[n++] = parts->elems[i].topic;
    }
    kafka_reader_t *r = kafka_reader_new(cfg, topics, n, at_ms, 0, BROKER_PROBE_MS * 2, err, errlen);
    if (!r) return -1;
    int found = 0;
    int64_t idle_since = now_ms();
    while (!kafka_reader_at_end(r) && found < parts->cnt) {
        rd_kafka_message_t *m = kafka_reader_next(r, 200);
        if (!m) {
            if (now_ms() - idle_since <= READ_IDLE_MS) continue;
            snprintf(err, errlen, "nothing came from the topics for %d s before their end", READ_IDLE_MS / 1000);
            kafka_reader_free(r);
            return -1;
        }
        idle_since = now_ms();
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt),
                                                                            m->partition);
        if (p && p->offset < 0) {
            p->offset = m->offset;
            found++;
        }
        rd_kafka_message_destroy(m);
    }
    kafka_reader_free(r);
    return 0;
}

/* The partitions of parts the group has committed offsets for (the others dropped). */
static rd_kafka_topic_partition_list_t *committed_only(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                                                       char *err, size_t errlen) {
    rd_kafka_resp_err_t ce = rd_kafka_committed(rk, parts, BROKER_PROBE_MS * 2);
    rd_kafka_topic_partition_list_t *kept = NULL;
    if (ce) snprintf(err, errlen, "cannot read the committed offsets: %s", rd_kafka_err2str(ce));
    else {
        kept = rd_kafka_topic_partition_list_new(parts->cnt ? parts->cnt : 1);
        for (int i = 0; i < parts->cnt; i++)
            if (parts->elems[i].offset >= 0)
                rd_kafka_topic_partition_list_add(kept, parts->elems[i].topic, parts->elems[i].partition);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return kept;
}

static int offsets_reset(rd_kafka_t *rk, const config_t *cfg, const offsets_opts_t *o, bool all_topics) {
    char err[768], state[64];
    int members = group_members(rk, o->group, state, sizeof state, err, sizeof err);
    if (members > 0) {
        fprintf(stderr,
                "pressctl offsets reset: group %s has %d member(s) (%s): stop its consumers first (scale the "
                "workers to 0), then reset\n",
                o->group, members, state);
        return 1;
    }
    rd_kafka_topic_partition_list_t *parts = partitions_of(rk, o, all_topics, err, sizeof err);
    if (parts && all_topics) parts = committed_only(rk, parts, err, sizeof err);
    if (!parts) {
        fprintf(stderr, "pressctl offsets reset: %s\n", err);
        return 1;
    }
    if (!parts->cnt) {
        fprintf(stderr, "pressctl offsets reset: group %s has no committed offsets on the pressroom topics; name "
                        "them with --topic\n", o->group);
        rd_kafka_topic_partition_list_destroy(parts);
        return 1;
    }
    if (o->to == TO_DATETIME) {
        rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_copy(parts);
        for (int i = 0; i < q->cnt; i++) q->elems[i].offset = o->at_ms;
        bool looked_up = rd_kafka_offsets_for_times(rk, q, BROKER_PROBE_MS * 2) == 0;
        for (int i = 0; looked_up && i < q->cnt; i++)
            if (q->elems[i].err) looked_up = false;
        /* -1 from a broker that can look times up means nothing is that new; the mock
         * cluster answers -1 for everything, so a -1 is checked by reading. */
        bool any_unknown = false;
        for (int i = 0; looked_up && i < q->cnt; i++) {
            parts->elems[i].offset = q->elems[i].offset;
            any_unknown |= q->elems[i].offset < 0;
        }
        rd_kafka_topic_partition_list_destroy(q);
        if ((!looked_up || any_unknown) && offsets_by_reading(cfg, parts, o->at_ms, err, sizeof err)) {
            fprintf(stderr, "pressctl offsets reset: %s\n", err);
            rd_kafka_topic_partition_list_destroy(parts);
            return 1;
        }
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t we =
            rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &low, &high, BROKER_PROBE_MS * 2);
        if (we) {
            fprintf(stderr, "pressctl offsets reset: cannot read the ends of %s [%d]: %s\n", p->topic,
                    (int)p->partition, rd_kafka_err2str(we));
            rd_kafka_topic_partition_list_destroy(parts);
            return 1;
        }
        if (o->to == TO_EARLIEST) p->offset = low;
        else if (o->to == TO_LATEST || p->offset < 0) p->offset = high;
        printf("%s%s [%d] to %" PRId64 " (low %" PRId64 ", high %" PRId64 ")\n",
               o->dry_run ? "would reset " : "resetting ", p->topic, (int)p->partition, p->offset, low, high);
    }
    /* Brokers that cannot describe the group (the mock cluster): join it, subscribed to
     * every pressroom topic. The assignor balances the partitions over the members, so
     * given all of them this tool is the only member and commits as one; given fewer,
     * other members hold the rest: refuse. */
    rd_kafka_t *member = NULL;
    if (members < 0) {
        offsets_opts_t every = *o;
        every.n_topics = 0;
        for (size_t i = 0; i < sizeof ALL_TOPICS / sizeof *ALL_TOPICS; i++)
            config_topic(cfg, ALL_TOPICS[i], every.topics[every.n_topics++], sizeof every.topics[0]);
        rd_kafka_topic_partition_list_t *all = partitions_of(rk, &every, true, err, sizeof err);
        if (!all) {
            fprintf(stderr, "pressctl offsets reset: %s\n", err);
            rd_kafka_topic_partition_list_destroy(parts);
            return 1;
        }
        const char *topics[MAX_TOPICS];
        int nt = 0;
        for (int i = 0; i < all->cnt; i++) {
            bool have = false;
            for (int j = 0; j < nt && !have; j++) have = !strcmp(topics[j], all->elems[i].topic);
            if (!have && nt < MAX_TOPICS) topics[nt++] = all->elems[i].topic;
        }
        int assigned = 0, total = all->cnt;
        char jerr[768];
        member = kafka_group_join(cfg, o->group, topics, nt, cfg->session_timeout_ms * 4 + 5000, &assigned, jerr,
                                  sizeof jerr);
        if (!member) {
            rd_kafka_topic_partition_list_destroy(all);
            fprintf(stderr, "pressctl offsets reset: %s (and %s)\n", err, jerr);
            rd_kafka_topic_partition_list_destroy(parts);
            return 1;
        }
        rd_kafka_topic_partition_list_destroy(all);
        if (assigned < total) {
            fprintf(stderr,
                    "pressctl offsets reset: group %s has other members (%s; joining it, this tool was given %d of "
                    "the %d partitions): stop its consumers first (scale the workers to 0), then reset\n",
                    o->group, err, assigned, total);
            rd_kafka_consumer_close(member);
            rd_kafka_destroy(member);
            rd_kafka_topic_partition_list_destroy(parts);
            return 1;
        }
    }
    int rc = 0;
    if (!o->dry_run) {
        rd_kafka_resp_err_t e = rd_kafka_commit(member ? member : rk, parts, 0);
        if (e) {
            fprintf(stderr, "pressctl offsets reset: the brokers refused the commit for group %s: %s\n", o->group,
                    rd_kafka_err2str(e));
            rc = 1;
        } else {
            printf("group %s: %d partition(s) reset\n", o->group, parts->cnt);
        }
    }
    if (member) {
        rd_kafka_consumer_close(member);
        rd_kafka_destroy(member);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

int cmd_offsets(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "show") && strcmp(argv[1], "reset"))) {
        fprintf(stderr, "pressctl offsets: expected a subcommand show or reset, found \"%s\"\n",
                argc < 2 ? "" : argv[1]);
        pressctl_usage(stderr, "offsets", NULL);
        return 2;
    }
    offsets_opts_t o = {.sub = argv[1]};
    bool reset = !strcmp(o.sub, "reset");
    config_t cfg;
    char err[1024];
    if (config_load(&cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 2;
    }
    int n_to = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (reset && !strcmp(a, "--to-earliest")) o.to = TO_EARLIEST, n_to++;
        else if (reset && !strcmp(a, "--to-latest")) o.to = TO_LATEST, n_to++;
        else if (reset && !strcmp(a, "--dry-run")) o.dry_run = true;
        else if (has && !strcmp(a, "--group")) o.group = argv[++i];
        else if (has && reset && !strcmp(a, "--to-datetime")) {
            if (arg_time_ms("offsets reset", "--to-datetime", argv[++i], &o.at_ms)) return 2;
            o.to = TO_DATETIME;
            n_to++;
        } else if (has && !strcmp(a, "--topic")) {
            if (o.n_topics == MAX_TOPICS) {
                fprintf(stderr, "pressctl offsets: at most %d --topic\n", MAX_TOPICS);
                return 2;
            }
            if (!arg_topic("offsets", "--topic", &cfg, argv[++i], o.topics[o.n_topics], sizeof o.topics[0], NULL))
                return 2;
            o.n_topics++;
        } else {
            fprintf(stderr, "pressctl offsets %s: unknown option or missing value: %s\n", o.sub, a);
            pressctl_usage(stderr, "offsets", o.sub);
            return 2;
        }
    }
    if (!o.group || !*o.group) {
        fprintf(stderr, "pressctl offsets %s: --group G is required (e.g. pressroom-preview)\n", o.sub);
        return 2;
    }
    if (reset && n_to != 1) {
        fprintf(stderr, "pressctl offsets reset: expected exactly one of --to-datetime TIME, --to-earliest, "
                        "--to-latest\n");
        return 2;
    }
    bool all_topics = o.n_topics == 0;
    for (size_t i = 0; all_topics && i < sizeof ALL_TOPICS / sizeof *ALL_TOPICS; i++)
        config_topic(&cfg, ALL_TOPICS[i], o.topics[o.n_topics++], sizeof o.topics[0]);
    if (require_broker(&cfg)) return 1;
    rd_kafka_t *rk = kafka_group_client(&cfg, o.group, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "pressctl offsets: %s\n", err);
        return 1;
    }
    int rc = reset ? offsets_reset(rk, &cfg, &o, all_topics) : offsets_show(rk, &cfg, &o, all_topics);
    rd_kafka_destroy(rk);
    return rc;
}
