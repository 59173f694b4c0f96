/* The config: the seed's snippet loads unchanged, everything else has defaults,
 * bad values fail naming the file, the key and the expected form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/providers.h"

static char path[64];

static const char *write_config(const char *text) {
    snprintf(path, sizeof path, "/tmp/pressroom-test-config-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void clear_env(void) {
    unsetenv("PRESSROOM_CONFIG");
    unsetenv("PRESSROOM_BROKERS");
    unsetenv("PRESSROOM_REDIS");
    unsetenv("PRESSROOM_RENDERER");
    unsetenv("PRESSROOM_BLOBS");
}

static void test_seed_snippet_loads_unchanged(void **state) {
    (void)state;
    clear_env();
    config_t cfg;
    char err[512];
    const char *p = write_config(
        "{\"tiers\": {\"preview\": {\"model\": \"sd3.5_turbo\", \"max_latency_ms\": 800}, "
        "\"production\": {\"model\": \"imagen4_ultra\", \"max_latency_ms\": 2200}}, \"verify_ocr\": true}");
    assert_int_equal(config_load(&cfg, p, err, sizeof err), 0);
    assert_string_equal(cfg.preview.model, "sd3.5_turbo");
    assert_int_equal(cfg.production.max_latency_ms, 2200);
    assert_true(cfg.verify_ocr);
    assert_non_null(config_model(&cfg, "imagen4_ultra"));
    assert_non_null(config_class(&cfg, "editorial"));
    assert_int_equal(config_class(&cfg, "editorial")->route, ROUTE_FINAL);
    unlink(p);
}

static void expect_error(const char *text, const char *needle) {
    config_t cfg;
    char err[512] = "";
    const char *p = write_config(text);
    assert_int_equal(config_load(&cfg, p, err, sizeof err), -1);
    if (!strstr(err, p)) fail_msg("error does not name the file: %s", err);
    if (!strstr(err, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
    unlink(p);
}

static void test_bad_values_name_file_key_and_expected_form(void **state) {
    (void)state;
    clear_env();
    expect_error("{\"tiers\":{\"preview\":{\"max_latency_ms\":\"fast\"}}}",
                 "tiers.preview.max_latency_ms: expected a positive integer (milliseconds), found \"fast\"");
    expect_error("{\"tiers\":{\"preview\":{\"model\":\"nope\"}}}", "tiers.preview.model");
    expect_error("{\"tiers\":{\"staging\":{}}}", "tiers.staging");
    expect_error("{\"verify_ocr\":\"yes\"}", "verify_ocr: expected true or false");
    expect_error("{\"verfy_ocr\":true}", "verfy_ocr: expected one of the known keys");
    expect_error("{\"asset_classes\":{\"paid\":{\"route\":\"fast\"}}}", "asset_classes.paid.route");
    expect_error("{\"models\":{\"m\":{\"provider\":\"dalle\"}}}", "models.m.provider");
    expect_error("{\"models\":{\"m\":{\"rates\":{\"typo\":2}}}}", "models.m.rates.typo");
    expect_error("{\"tiers\":{\"preview\":{\"window\":\"1w\"}}}", "tiers.preview.window");
    expect_error("{\"tiers\": {\n  \"preview\": {,}\n}}", ":2:");
}

/* The provider list (base/providers.h) is the validator's and its message's. */
static void test_provider_list_names_every_provider(void **state) {
    (void)state;
    clear_env();
    char list[128];
    assert_int_equal(provider_names_list(list, sizeof list), strlen("openai, raw, stability, a1111, vertex"));
    assert_string_equal(list, "openai, raw, stability, a1111, vertex");
    char small[8];
    assert_int_equal(provider_names_list(small, sizeof small), strlen(list)); /* truncated, NUL-terminated */
    assert_string_equal(small, "openai,");
    assert_int_equal(provider_names_list(NULL, 0), strlen(list));
    for (int i = 0; i < PROVIDER_COUNT; i++) assert_true(provider_known(provider_names[i]));
    assert_false(provider_known("dalle"));
    assert_false(provider_known(""));
    expect_error("{\"models\":{\"m\":{\"provider\":\"dalle\"}}}",
                 "models.m.provider: expected one of openai, raw, stability, a1111, vertex, found \"dalle\"");
    /* Every provider in the list loads. */
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof text, "{\"models\":{");
    for (int i = 0; i < PROVIDER_COUNT; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"m_%s\":{\"provider\":\"%s\"}", i ? "," : "",
                              provider_names[i], provider_names[i]);
    snprintf(text + n, sizeof text - n, "}}");
    config_t cfg;
    char err[512] = "";
    const char *p = write_config(text);
    if (config_load(&cfg, p, err, sizeof err)) fail_msg("%s", err);
    unlink(p);
}

static void load_ok(const char *text, config_t *cfg) {
    char err[512] = "";
    const char *p = write_config(text);
    if (config_load(cfg, p, err, sizeof err)) fail_msg("%s", err);
    unlink(p);
}

/* A class without max_attempts takes the top-level one, built-in or added by the file,
 * whichever key comes first; its own max_attempts wins. */
static void test_classes_inherit_the_top_level_max_attempts_in_any_order(void **state) {
    (void)state;
    clear_env();
    const char *texts[] = {
        "{\"max_attempts\": 5, \"asset_classes\": {\"banner\": {\"route\": \"final\"}, "
        "\"poster\": {\"max_attempts\": 2}, \"paid\": {\"over_budget\": \"defer\"}}}",
        "{\"asset_classes\": {\"banner\": {\"route\": \"final\"}, \"poster\": {\"max_attempts\": 2}, "
        "\"paid\": {\"over_budget\": \"defer\"}}, \"max_attempts\": 5}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        config_t cfg;
        load_ok(texts[i], &cfg);
        assert_int_equal(cfg.default_max_attempts, 5);
        assert_int_equal(config_class(&cfg, "banner")->max_attempts, 5);   /* added by the file */
        assert_int_equal(config_class(&cfg, "banner")->route, ROUTE_FINAL);
        assert_int_equal(config_class(&cfg, "poster")->max_attempts, 2);   /* its own wins */
        assert_int_equal(config_class(&cfg, "paid")->max_attempts, 5);     /* built-in, listed */
        assert_int_equal(config_class(&cfg, "editorial")->max_attempts, 5); /* built-in, not listed */
    }
    config_t cfg;
    load_ok("{\"asset_classes\": {\"banner\": {}}}", &cfg);
    assert_int_equal(config_class(&cfg, "banner")->max_attempts, 3); /* no top-level: 3 */
}

static void test_class_names_list_every_class_quoted(void **state) {
    (void)state;
    clear_env();
    config_t cfg;
    config_defaults(&cfg);
    char buf[256];
    const char *want = "\"avatar\", \"auto_preview\", \"thumbnail\", \"editorial\", \"paid\"";
    assert_int_equal(config_class_names(&cfg, buf, sizeof buf), strlen(want));
    assert_string_equal(buf, want);
    char small[10];
    assert_int_equal(config_class_names(&cfg, small, sizeof small), strlen(want)); /* truncated */
    assert_string_equal(small, "\"avatar\",");
    assert_int_equal(config_class_names(&cfg, NULL, 0), strlen(want));
    load_ok("{\"asset_classes\": {\"banner\": {}}}", &cfg);
    config_class_names(&cfg, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"paid\", \"banner\""));
    cfg.n_classes = 0;
    assert_int_equal(config_class_names(&cfg, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    /* config_class is unchanged: known names only. */
    assert_null(config_class(&cfg, "avatar"));
}

static void test_environment_overrides_the_file(void **state) {
    (void)state;
    clear_env();
    const char *p = write_config("{\"redis\":\"10.0.0.1:6379\",\"kafka\":{\"brokers\":\"k:9092\"}}");
    setenv("PRESSROOM_CONFIG", p, 1);
    setenv("PRESSROOM_REDIS", "127.0.0.1:7000", 1);
    config_t cfg;
    char err[512];
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    assert_string_equal(cfg.redis, "127.0.0.1:7000");
    assert_string_equal(cfg.brokers, "k:9092");
    assert_string_equal(cfg.path, p);
    clear_env();
    unlink(p);
}

static void test_missing_file_is_an_error(void **state) {
    (void)state;
    clear_env();
    config_t cfg;
    char err[512];
    assert_int_equal(config_load(&cfg, "/nonexistent/pressroom.json", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/pressroom.json"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_snippet_loads_unchanged),
        cmocka_unit_test(test_bad_values_name_file_key_and_expected_form),
        cmocka_unit_test(test_provider_list_names_every_provider),
        cmocka_unit_test(test_classes_inherit_the_top_level_max_attempts_in_any_order),
        cmocka_unit_test(test_class_names_list_every_class_quoted),
        cmocka_unit_test(test_environment_overrides_the_file),
        cmocka_unit_test(test_missing_file_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
