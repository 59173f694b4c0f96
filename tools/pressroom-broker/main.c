/* pressroom-broker — an in-memory Kafka cluster for development and tests.
 *
 * librdkafka's mock cluster (rdkafka_mock.h) listening on loopback and speaking the
 * real Kafka protocol: 3 brokers, pressroom's topics created up front. It keeps
 * nothing on disk and is not for production: point real deployments at a real
 * Kafka cluster.
 *
 *   pressroom-broker [--config FILE] [--brokers N] [--partitions N]
 *                    [--bootstrap-file PATH]
 *
 * Prints the bootstrap list as the first line on stdout (and writes it to
 * --bootstrap-file), then serves until SIGTERM or SIGINT. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"

static volatile sig_atomic_t g_run = 1;
static void on_signal(int sig) { (void)sig; g_run = 0; }

static const char *TOPICS[] = {"jobs",     "verify",         "production", "results", "rejected", "dlq", "moderation",
                               "backfill", "verify.backfill", "production.backfill"};

static void usage(void) {
    fprintf(stderr, "usage: pressroom-broker [--config FILE] [--brokers N] [--partitions N] "
                    "[--bootstrap-file PATH]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *config_path = NULL, *bootstrap_file = NULL;
    int brokers = 3, partitions = 6;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) config_path = argv[++i];
        else if (!strcmp(argv[i], "--brokers") && i + 1 < argc) brokers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--partitions") && i + 1 < argc) partitions = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bootstrap-file") && i + 1 < argc) bootstrap_file = argv[++i];
        else usage();
    }
    if (brokers < 1 || partitions < 1) usage();
    log_init("pressroom-broker");

    config_t cfg;
    char err[512];
    if (config_load(&cfg, config_path, err, sizeof err) != 0) FATAL("%s", err);

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) FATAL("cannot create the mock cluster's handle: %s", errstr);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) FATAL("cannot create a mock cluster with %d brokers", brokers);

    for (size_t i = 0; i < sizeof TOPICS / sizeof *TOPICS; i++) {
        char topic[256];
        config_topic(&cfg, TOPICS[i], topic, sizeof topic);
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topic, partitions, brokers < 3 ? brokers : 3);
        if (e) FATAL("cannot create topic %s: %s", topic, rd_kafka_err2str(e));
    }
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    if (bootstrap_file) {
        FILE *f = fopen(bootstrap_file, "w");
        if (!f) FATAL("cannot write %s", bootstrap_file);
        fprintf(f, "%s\n", bootstraps);
        fclose(f);
    }
    printf("%s\n", bootstraps);
    fflush(stdout);
    char np[16];
    snprintf(np, sizeof np, "%d", partitions);
    log_info("broker_ready", "bootstrap", bootstraps, "partitions", np, NULL);

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    while (g_run) pause();

    log_info("broker_stopping", NULL);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
