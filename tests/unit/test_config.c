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

static const char *write_config_bytes(const char *text, size_t len) {
    snprintf(path, sizeof path, "/tmp/pressroom-test-config-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static const char *write_config(const char *text) { return write_config_bytes(text, strlen(text)); }

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

/* The file of len bytes fails to load with an error naming the file and needle. */
static void expect_error_bytes(const char *text, size_t len, const char *needle) {
    config_t cfg;
    char err[512] = "";
    const char *p = write_config_bytes(text, len);
    assert_int_equal(config_load(&cfg, p, err, sizeof err), -1);
    if (!strstr(err, p)) fail_msg("error does not name the file: %s", err);
    if (!strstr(err, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
    unlink(p);
}

static void expect_error(const char *text, const char *needle) { expect_error_bytes(text, strlen(text), needle); }

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

/* Strict JSON (base/json.h): what cJSON would accept or cut silently fails, naming
 * the file, the key, the expected form and what was found. */
static void test_the_file_must_be_strict_json(void **state) {
    (void)state;
    clear_env();
    expect_error("{\"redis\": \"127.0.0.1\\u0000:6379\"}",
                 ": redis: expected text without NUL characters, found the escape \\u0000 at byte 20");
    const char raw_nul[] = "{\"kafka\": {\"brokers\": \"k:9092\0x\"}}";
    expect_error_bytes(raw_nul, sizeof raw_nul - 1, ": kafka.brokers: expected text without NUL characters, found a raw NUL byte");
    const char nul_after[] = "{}\0{\"redis\": 1}";
    expect_error_bytes(nul_after, sizeof nul_after - 1, ": (top level): expected text without NUL characters, found a raw NUL byte at byte 2");
    expect_error("{\"tiers\": {\"preview\": {\"model\": \"sd3.5_turbo\xC0\xAF\"}}}",
                 ": tiers.preview.model: expected UTF-8, found an overlong encoding (\\xC0\\xAF)");
    expect_error("{\"blob_root\": \"file:///\xED\xB0\x80\"}", ": blob_root: expected UTF-8, found an encoded UTF-16 surrogate");
    expect_error("{\"blob_root\": \"file:///\xF4\x90\x80\x80\"}", ": blob_root: expected UTF-8, found a code point above U+10FFFF");
    expect_error("{\"renderer_url\": \"http://x\xE2\x82\"}", ": renderer_url: expected UTF-8, found a truncated sequence (\\xE2\\x82)");
    expect_error("{\"models\": {\"m\xFF\": {}}}", ": models.m: expected UTF-8, found a byte that never occurs in UTF-8 (\\xFF)");
    expect_error("{\"redis\": \"\\uD800:6379\"}", ": redis: expected a UTF-16 surrogate pair (\\uD800..\\uDBFF then \\uDC00..\\uDFFF), found the lone surrogate \\uD800");
    expect_error("{\"redis\": \"a\\uDC00\"}", ": redis: expected a UTF-16 surrogate pair");
    expect_error("{\"verify_ocr\": true, \"verify_ocr\": false}",
                 ": verify_ocr: expected each key once in its object, found \"verify_ocr\" a second time");
    expect_error("{\"tiers\": {\"preview\": {\"cap_usd\": 1, \"max_latency_ms\": 800, \"cap_usd\": 1000}}}",
                 ": tiers.preview.cap_usd: expected each key once in its object");
    expect_error("{\"models\": {\"m\": {}, \"m\": {\"price_usd\": 9}}}", ": models.m: expected each key once in its object");
    expect_error("{\"verify_ocr\": true} {\"verify_ocr\": false}",
                 ": (top level): expected one JSON value and nothing after it, found trailing bytes \"{\\\"verify_ocr\\\": f\" at byte 21");
    expect_error("[]", ": (top level): expected a JSON object, found []");
    /* UTF-8 text and surrogate pairs are fine. */
    config_t cfg;
    load_ok("{\"blob_root\": \"file:///tmp/caf\xC3\xA9-\\uD83D\\uDE00\"}", &cfg);
    assert_string_equal(cfg.blob_root, "file:///tmp/caf\xC3\xA9-\xF0\x9F\x98\x80");
}

static void test_arrays_items_and_missing_members_are_named(void **state) {
    (void)state;
    clear_env();
    expect_error("{\"tiers\": {\"preview\": {\"fallbacks\": [\"imagen4_ultra\", 7]}}}",
                 ": tiers.preview.fallbacks[1]: expected a non-empty string, found 7");
    expect_error("{\"tiers\": {\"preview\": {\"fallbacks\": [\"imagen4_ultra\", \"nope\"]}}}",
                 ": tiers.preview.fallbacks[1]: expected the name of a model configured under \"models\", found \"nope\"");
    expect_error("{\"models\": {\"sd3.5_turbo\": {\"rate_limit\": {\"requests\": 150}}}}",
                 ": models.sd3.5_turbo.rate_limit.per_s: expected seconds, from 1 to 86400 (required), found nothing");
    expect_error("{\"tiers\": {\"preview\": {\"window\": \"2h\"}}}", ": tiers.preview.window: expected \"1h\" or \"1d\", found \"2h\"");
}

static void test_provider_keys_name_file_key_and_expected_form(void **state) {
    (void)state;
    clear_env();
    expect_error("{\"tiers\": {\"preview\": {\"fallback_on\": [503, \"always\"]}}}",
                 ": tiers.preview.fallback_on[1]: expected an array of HTTP statuses (400..599) and \"timeout\"");
    expect_error("{\"models\": {\"m\": {\"provider\": \"a1111\", \"params\": {\"override_settings\": {}}}}}",
                 ": models.m.params.override_settings: expected a string, a number or a boolean, found {}");
    expect_error("{\"models\": {\"m\": {\"provider\": \"openai\", \"token_source\": \"metadata\"}}}",
                 ": models.m.token_source: expected \"key\" (\"metadata\" is an OAuth token for provider vertex)");
    expect_error("{\"models\": {\"m\": {\"provider\": \"vertex\", \"token_source\": \"metadata\", \"api_key_env\": \"K\"}}}",
                 ": models.m.token_source: expected \"key\" when api_key_env or api_key_file is set");
    expect_error("{\"models\": {\"m\": {\"provider\": \"vertex\", \"provider_model\": \"\"}}}",
                 ": models.m.provider_model: expected the provider's model id");
    config_t cfg;
    load_ok("{\"models\": {\"m\": {\"provider\": \"vertex\", \"provider_model\": \"imagen-4.0-generate-001\", "
            "\"token_source\": \"metadata\", \"params\": {\"enhancePrompt\": false}}},"
            " \"tiers\": {\"production\": {\"model\": \"m\", \"fallback_on\": [429, \"timeout\", \"breaker_open\"]}}}", &cfg);
    const model_config_t *m = config_model(&cfg, "m");
    assert_string_equal(m->provider_model, "imagen-4.0-generate-001");
    assert_true(m->token_from_metadata);
    assert_string_equal(m->metadata_url, "http://metadata.google.internal");
    assert_string_equal(m->params_json, "{\"enhancePrompt\":false}");
    assert_true(cfg.production.fallback_configured);
    assert_int_equal(cfg.production.n_fallback_status, 1);
    assert_int_equal(cfg.production.fallback_status[0], 429);
    assert_int_equal(cfg.production.fallback_on, FALLBACK_ON_TIMEOUT | FALLBACK_ON_BREAKER_OPEN);
    assert_false(cfg.preview.fallback_configured); /* absent: today's rule */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_keys_name_file_key_and_expected_form),
        cmocka_unit_test(test_seed_snippet_loads_unchanged),
        cmocka_unit_test(test_bad_values_name_file_key_and_expected_form),
        cmocka_unit_test(test_provider_list_names_every_provider),
        cmocka_unit_test(test_classes_inherit_the_top_level_max_attempts_in_any_order),
        cmocka_unit_test(test_class_names_list_every_class_quoted),
        cmocka_unit_test(test_environment_overrides_the_file),
        cmocka_unit_test(test_missing_file_is_an_error),
        cmocka_unit_test(test_the_file_must_be_strict_json),
        cmocka_unit_test(test_arrays_items_and_missing_members_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
