/* Reading by assignment (kafka_reader_*, what `pressctl results` uses) against
 * librdkafka's mock cluster: it reads every partition to the end it had when it
 * started and stops there, an empty topic is at its end at once, and reading commits
 * nothing: the reader's group has no committed offsets afterwards. A time range
 * [since, until) returns exactly the messages whose timestamps are in it (the mock
 * cluster cannot look offsets up by time: this is the reader's fallback, filtering by
 * timestamp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "base/clock.h"
#include "base/config.h"
#include "runtime/kafka.h"

#define TIMED_BASE INT64_C(1764547200000) /* 2025-12-01T00:00:00Z */

typedef struct {
    rd_kafka_t *rk; /* a producer owning the mock cluster */
    config_t cfg;
} fixture_t;

static int setup(void **state) {
    static fixture_t f;
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", e, sizeof e), RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "0", e, sizeof e), RD_KAFKA_CONF_OK);
    f.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    assert_non_null(f.rk);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(f.rk);
    assert_non_null(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "full", 3, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "empty", 2, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "timed", 2, 1), 0);
    char err[512];
    assert_int_equal(config_load(&f.cfg, NULL, err, sizeof err), 0);
    snprintf(f.cfg.brokers, sizeof f.cfg.brokers, "%s", rd_kafka_mock_cluster_bootstraps(mc));
    for (int i = 0; i < 30; i++) {
        char key[16];
        snprintf(key, sizeof key, "job-%d", i);
        assert_int_equal(rd_kafka_producev(f.rk, RD_KAFKA_V_TOPIC("full"), RD_KAFKA_V_KEY(key, strlen(key)),
                                           RD_KAFKA_V_VALUE(key, strlen(key)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END),
                         0);
    }
    for (int i = 0; i < 30; i++) { /* timestamps TIMED_BASE + i s, over both partitions */
        char key[16];
        snprintf(key, sizeof key, "t-%d", i);
        assert_int_equal(rd_kafka_producev(f.rk, RD_KAFKA_V_TOPIC("timed"), RD_KAFKA_V_PARTITION(i % 2),
                                           RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(key, strlen(key)),
                                           RD_KAFKA_V_TIMESTAMP(TIMED_BASE + i * 1000),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                         0);
    }
    assert_int_equal(rd_kafka_flush(f.rk, 10000), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    rd_kafka_destroy(f->rk);
    return 0;
}

/* Reads until the reader is at its end (or 10 s); returns the messages read. */
static int read_to_end(kafka_reader_t *r) {
    int n = 0;
    int64_t deadline = now_ms() + 10000;
    while (!kafka_reader_at_end(r) && now_ms() < deadline) {
        rd_kafka_message_t *m = kafka_reader_next(r, 100);
        if (m) {
            n++;
            rd_kafka_message_destroy(m);
        }
    }
    return n;
}

static void test_reader_reads_every_partition_to_its_end_and_stops(void **state) {
    fixture_t *f = *state;
    char err[512];
    const char *topics[] = {"full", "empty"};
    kafka_reader_t *r = kafka_reader_new(&f->cfg, topics, 2, 0, 0, 5000, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(read_to_end(r), 30);
    assert_true(kafka_reader_at_end(r));
    kafka_reader_free(r);
}

static void test_reader_on_an_empty_topic_is_at_its_end_at_once(void **state) {
    fixture_t *f = *state;
    char err[512];
    const char *topics[] = {"empty"};
    kafka_reader_t *r = kafka_reader_new(&f->cfg, topics, 1, 0, 0, 5000, err, sizeof err);
    assert_non_null(r);
    assert_true(kafka_reader_at_end(r));
    kafka_reader_free(r);
}

static void test_reader_since_the_future_reads_nothing(void **state) {
    fixture_t *f = *state;
    char err[512];
    const char *topics[] = {"full"};
    kafka_reader_t *r = kafka_reader_new(&f->cfg, topics, 1, now_ms() + 3600000, 0, 5000, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(read_to_end(r), 0);
    assert_true(kafka_reader_at_end(r));
    kafka_reader_free(r);
}

/* Reads the range of "timed" and checks every message is inside it; returns how many. */
static int read_timed(const fixture_t *f, int64_t since, int64_t until) {
    char err[512];
    const char *topics[] = {"timed"};
    kafka_reader_t *r = kafka_reader_new(&f->cfg, topics, 1, since, until, 5000, err, sizeof err);
    assert_non_null(r);
    int n = 0;
    int64_t deadline = now_ms() + 10000;
    while (!kafka_reader_at_end(r) && now_ms() < deadline) {
        rd_kafka_message_t *m = kafka_reader_next(r, 100);
        if (!m) continue;
        int64_t ts = rd_kafka_message_timestamp(m, NULL);
        assert_true(ts >= (since > 0 ? since : 0));
        if (until > 0) assert_true(ts < until);
        n++;
        rd_kafka_message_destroy(m);
    }
    assert_true(kafka_reader_at_end(r));
    kafka_reader_free(r);
    return n;
}

static void test_reader_time_range_is_since_inclusive_until_exclusive(void **state) {
    fixture_t *f = *state;
    assert_int_equal(read_timed(f, TIMED_BASE + 5000, TIMED_BASE + 20000), 15);
    assert_int_equal(read_timed(f, 0, TIMED_BASE + 10000), 10);
    assert_int_equal(read_timed(f, TIMED_BASE + 29000, 0), 1);
    assert_int_equal(read_timed(f, 0, TIMED_BASE), 0);
    assert_int_equal(read_timed(f, 0, 0), 30);
}

static void test_reader_commits_nothing(void **state) {
    fixture_t *f = *state;
    char err[512];
    const char *topics[] = {"full"};
    kafka_reader_t *r = kafka_reader_new(&f->cfg, topics, 1, 0, 0, 5000, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(read_to_end(r), 30);
    kafka_reader_free(r);
    /* Ask the group coordinator what the reader's group has committed: nothing. */
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", f->cfg.brokers, e, sizeof e), RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "pressroom-reader", e, sizeof e), RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "0", e, sizeof e), RD_KAFKA_CONF_OK);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    assert_non_null(c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++) rd_kafka_topic_partition_list_add(l, "full", p);
    assert_int_equal(rd_kafka_committed(c, l, 5000), 0);
    for (int p = 0; p < 3; p++) assert_true(l->elems[p].offset < 0); /* RD_KAFKA_OFFSET_INVALID */
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy_flags(c, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_reads_every_partition_to_its_end_and_stops),
        cmocka_unit_test(test_reader_on_an_empty_topic_is_at_its_end_at_once),
        cmocka_unit_test(test_reader_since_the_future_reads_nothing),
        cmocka_unit_test(test_reader_time_range_is_since_inclusive_until_exclusive),
        cmocka_unit_test(test_reader_commits_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
