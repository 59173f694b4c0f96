/* test_blobstore.c — blob references are trusted only inside the store: a real temp
 * folder with blobs, links out of it, a FIFO, a folder and an oversized file; every
 * reference that leaves the store is refused as BLOB_OUTSIDE_STORE, never read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <poll.h>
#include <unistd.h>

#include "base/config.h"
#include "blob/blob_pool.h"
#include "blob/blobstore.h"
#include "base/fileio.h"

static char dir[PATH_MAX];             /* the temp folder: blobs/ and what lies outside it */
static char root[PATH_MAX + 16];       /* file://<dir>/blobs */
static char root_slash[PATH_MAX + 16]; /* the same with a trailing slash */

static const char BLOB[] = "\x89PNG inside the store";
static const char OUTSIDE[] = "secret outside the store";

/* The store opened on a root string, as a worker opens it from blob_root; kept until
 * the end of the run. */
static struct {
    char root[PATH_MAX + 16];
    blob_store_t *store;
} stores[8];

static const blob_store_t *S(const char *r) {
    for (size_t i = 0; i < sizeof stores / sizeof *stores; i++) {
        if (stores[i].store && !strcmp(stores[i].root, r)) return stores[i].store;
        if (!stores[i].store) {
            config_t cfg;
            config_defaults(&cfg);
            snprintf(cfg.blob_root, sizeof cfg.blob_root, "%s", r);
            char err[512];
            stores[i].store = blob_store_open(&cfg, err, sizeof err);
            if (!stores[i].store) fail_msg("blob_store_open(%s): %s", r, err);
            snprintf(stores[i].root, sizeof stores[i].root, "%s", r);
            return stores[i].store;
        }
    }
    fail_msg("too many stores");
    return NULL;
}

static void put_file(const char *rel, const char *data, size_t len) {
    char path[PATH_MAX * 2], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    assert_int_equal(file_write_atomic(path, data, len, err, sizeof err), 0);
}

static void make_link(const char *target, const char *rel) {
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    assert_int_equal(symlink(target, path), 0);
}

static int make_store(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pressroom-test-blobstore.XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(root, sizeof root, "file://%s/blobs", dir);
    snprintf(root_slash, sizeof root_slash, "%s/", root);
    put_file("blobs/job-1/preview-1.png", BLOB, sizeof BLOB - 1);
    put_file("outside.png", OUTSIDE, sizeof OUTSIDE - 1);
    put_file("outside_dir/x.png", OUTSIDE, sizeof OUTSIDE - 1);
    put_file("blobs-evil/x.png", OUTSIDE, sizeof OUTSIDE - 1);
    make_link("../outside.png", "blobs/link.png");
    make_link("/etc/passwd", "blobs/job-1/passwd.png");
    make_link("../outside_dir", "blobs/linkdir");
    make_link("blobs", "rootlink");
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/blobs/job-1/fifo.png", dir);
    if (mkfifo(path, 0644) != 0) return -1;
    static char big[4096];
    memset(big, 'x', sizeof big);
    put_file("blobs/job-1/big.png", big, sizeof big);
    return 0;
}

static int remove_store(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof stores / sizeof *stores; i++) blob_store_free(stores[i].store);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* blob_get on <root>/<rel> (rel "" names the root itself; a leading '!' takes rel as
 * the whole URI). Returns the status; on BLOB_OK, checks the bytes were `expect`. */
static blob_status_t get(const char *rel, size_t max, const char *expect) {
    char uri[PATH_MAX * 2], err[512] = "";
    if (rel[0] == '!') snprintf(uri, sizeof uri, "%s", rel + 1);
    else snprintf(uri, sizeof uri, "%s%s", root, rel);
    unsigned char *data = (unsigned char *)"not set";
    size_t len = 0;
    alarm(5); /* a read that blocks (a FIFO) kills the test instead of hanging it */
    blob_status_t s = blob_get(S(root), uri, max, &data, &len, err, sizeof err);
    alarm(0);
    if (s == BLOB_OK) {
        assert_non_null(data);
        assert_int_equal(len, strlen(expect));
        assert_memory_equal(data, expect, len);
        free(data);
    } else {
        assert_null(data);
        assert_true(err[0] != 0);
    }
    return s;
}

static bool inside(const char *rel) {
    char uri[PATH_MAX * 2];
    if (rel[0] == '!') snprintf(uri, sizeof uri, "%s", rel + 1);
    else snprintf(uri, sizeof uri, "%s%s", root, rel);
    return blob_uri_inside(S(root), uri, NULL, 0);
}

static void test_a_blob_inside_the_store_is_read(void **state) {
    (void)state;
    assert_int_equal(get("/job-1/preview-1.png", 1 << 20, BLOB), BLOB_OK);
    assert_true(inside("/job-1/preview-1.png"));
    /* The root's trailing slash does not matter. */
    char uri[PATH_MAX * 2], err[512];
    snprintf(uri, sizeof uri, "%s/job-1/preview-1.png", root);
    unsigned char *data;
    size_t len;
    assert_int_equal(blob_get(S(root_slash), uri, 1 << 20, &data, &len, err, sizeof err), BLOB_OK);
    free(data);
    assert_non_null(blob_local_path(S(root), uri));
    assert_string_equal(blob_local_path(S(root), uri), uri + strlen("file://"));
}

static void test_what_the_store_writes_it_reads_back(void **state) {
    (void)state;
    char uri[1024], err[512];
    assert_int_equal(blob_image_uri(S(root_slash), "job-2", "r0123456789abcdef", "production", 3, uri, sizeof uri), 0);
    assert_int_equal(blob_put(S(root), uri, BLOB, sizeof BLOB - 1, err, sizeof err), 0);
    assert_int_equal(blob_exists(S(root), uri, err, sizeof err), 1);
    unsigned char *data;
    size_t len;
    assert_int_equal(blob_get(S(root), uri, 1 << 20, &data, &len, err, sizeof err), BLOB_OK);
    assert_memory_equal(data, BLOB, len);
    free(data);
}

static void test_a_missing_blob_is_missing_not_outside(void **state) {
    (void)state;
    assert_int_equal(get("/job-1/preview-9.png", 1 << 20, NULL), BLOB_MISSING);
    assert_int_equal(get("/job-9/preview-1.png", 1 << 20, NULL), BLOB_MISSING);
    assert_int_equal(get("/job-1/preview-1.png/x.png", 1 << 20, NULL), BLOB_MISSING);
    /* Not written yet, but a place in the store: may be passed on. */
    assert_true(inside("/job-9/preview-1.png"));
}

static void test_dot_dot_and_unnormalised_paths_are_outside(void **state) {
    (void)state;
    const char *bad[] = {
        "/../outside.png",           "/job-1/../../outside.png", "/job-1/../job-1/preview-1.png",
        "/./job-1/preview-1.png",    "//job-1/preview-1.png",    "/job-1//preview-1.png",
        "/job-1/",                   "/",                        "",
        "/%2e%2e/outside.png",       "/job-1/preview-1%2Epng",   "/job-1/preview-1.png%00",
        "/job-1/preview-1.png?x=1",  "/job-1/preview-1.png#f",   "/job-1/\npreview-1.png",
        "/job-1/\x01preview-1.png",  "/.hidden",                 "/job-1\\..\\..\\outside.png",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (get(bad[i], 1 << 20, NULL) != BLOB_OUTSIDE_STORE) fail_msg("%s: expected outside the store", bad[i]);
        assert_false(inside(bad[i]));
    }
}

static void test_absolute_paths_outside_the_root_are_outside(void **state) {
    (void)state;
    char uri[PATH_MAX * 2];
    snprintf(uri, sizeof uri, "!file://%s/outside.png", dir);
    assert_int_equal(get(uri, 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    /* A sibling whose name starts with the root's is not inside it. */
    snprintf(uri, sizeof uri, "!file://%s/blobs-evil/x.png", dir);
    assert_int_equal(get(uri, 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    assert_false(inside(uri));
    assert_null(blob_local_path(S(root), uri + 1));
    assert_int_equal(get("!file:///etc/passwd", 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    assert_false(inside("!file:///etc/shadow"));
    assert_int_equal(get("!/etc/passwd", 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    assert_int_equal(get("!http://example.com/x.png", 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    /* A root that is not an absolute file:// path contains nothing. */
    char err[512];
    config_t cfg;
    config_defaults(&cfg);
    snprintf(cfg.blob_root, sizeof cfg.blob_root, "file://relative/blobs");
    assert_null(blob_store_open(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "blob_root file://relative/blobs: expected file:///absolute/path"));
}

static void test_a_nul_ends_the_uri_and_what_precedes_it_is_judged_alone(void **state) {
    (void)state;
    /* A C string cannot carry a NUL: the bytes after it are never seen, and the
     * percent-escaped form is refused like any escape. */
    char uri[PATH_MAX * 2];
    int n = snprintf(uri, sizeof uri, "file:///etc/passwd");
    snprintf(uri + n + 1, sizeof uri - (size_t)n - 1, "%s/job-1/preview-1.png", root);
    char err[512];
    unsigned char *data;
    size_t len;
    assert_int_equal(blob_get(S(root), uri, 1 << 20, &data, &len, err, sizeof err), BLOB_OUTSIDE_STORE);
    assert_int_equal(get("/job-1/preview-1.png%00/../../outside.png", 1 << 20, NULL), BLOB_OUTSIDE_STORE);
}

static void test_a_link_to_a_file_outside_is_outside(void **state) {
    (void)state;
    assert_int_equal(get("/link.png", 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    assert_int_equal(get("/job-1/passwd.png", 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    assert_false(inside("/link.png"));
    assert_false(inside("/job-1/passwd.png"));
}

static void test_a_link_to_a_folder_outside_is_outside(void **state) {
    (void)state;
    assert_int_equal(get("/linkdir/x.png", 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    assert_false(inside("/linkdir/x.png"));
    assert_false(inside("/linkdir/not-there.png"));
}

static void test_a_root_reached_through_a_link_is_the_operators_choice(void **state) {
    (void)state;
    char link_root[PATH_MAX + 16], uri[PATH_MAX * 2], err[512];
    snprintf(link_root, sizeof link_root, "file://%s/rootlink", dir);
    snprintf(uri, sizeof uri, "%s/job-1/preview-1.png", link_root);
    unsigned char *data;
    size_t len;
    assert_int_equal(blob_get(S(link_root), uri, 1 << 20, &data, &len, err, sizeof err), BLOB_OK);
    free(data);
}

static void test_a_fifo_inside_is_refused_at_once(void **state) {
    (void)state;
    assert_int_equal(get("/job-1/fifo.png", 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    assert_false(inside("/job-1/fifo.png"));
}

static void test_a_folder_is_not_a_blob(void **state) {
    (void)state;
    assert_int_equal(get("/job-1", 1 << 20, NULL), BLOB_OUTSIDE_STORE);
    assert_false(inside("/job-1"));
}

static void test_an_oversized_blob_is_refused_before_reading(void **state) {
    (void)state;
    char uri[PATH_MAX * 2], err[512];
    snprintf(uri, sizeof uri, "%s/job-1/big.png", root);
    unsigned char *data;
    size_t len;
    assert_int_equal(blob_get(S(root), uri, 4095, &data, &len, err, sizeof err), BLOB_TOO_LARGE);
    assert_null(data);
    assert_non_null(strstr(err, "4096 bytes"));
    assert_int_equal(blob_get(S(root), uri, 4096, &data, &len, err, sizeof err), BLOB_OK);
    assert_int_equal(len, 4096);
    free(data);
}

static void test_status_names_prefix_reasons(void **state) {
    (void)state;
    assert_string_equal(blob_status_name(BLOB_OUTSIDE_STORE), "blob_outside_store");
    assert_string_equal(blob_status_name(BLOB_MISSING), "blob_missing");
    assert_string_equal(blob_status_name(BLOB_TOO_LARGE), "blob_too_large");
    assert_string_equal(blob_status_name(BLOB_UNREADABLE), "blob_unreadable");
}

/* Takes the pool's next completion, waiting on its eventfd (at most 10 s). */
static blob_done_t pool_next(blob_pool_t *p) {
    blob_done_t done;
    for (int i = 0; i < 100; i++) {
        if (blob_pool_next(p, &done)) return done;
        struct pollfd pfd = {.fd = blob_pool_fd(p), .events = POLLIN};
        poll(&pfd, 1, 100);
    }
    fail_msg("no completion from the blob pool in 10 s");
    return done;
}

/* The verifier's reads: blob_get on a pool thread, the status and bytes handed back. */
static void test_the_pool_reads_blobs_with_their_status(void **state) {
    (void)state;
    char err[512];
    blob_pool_t *p = blob_pool_new(S(root), 2, err, sizeof err);
    assert_non_null(p);
    char ok[PATH_MAX * 2], missing[PATH_MAX * 2];
    snprintf(ok, sizeof ok, "%s/job-1/preview-1.png", root);
    snprintf(missing, sizeof missing, "%s/job-1/preview-9.png", root);
    int tags[3];
    blob_pool_get(p, ok, 1 << 20, &tags[0]);
    blob_pool_get(p, missing, 1 << 20, &tags[1]);
    blob_pool_get(p, ok, 4, &tags[2]); /* above the caller's limit */
    bool seen[3] = {false, false, false};
    for (int n = 0; n < 3; n++) {
        blob_done_t d = pool_next(p);
        assert_int_equal(d.op, BLOB_OP_GET);
        int i = (int)((int *)d.opaque - tags);
        assert_true(i >= 0 && i < 3 && !seen[i]);
        seen[i] = true;
        if (i == 0) {
            assert_int_equal(d.status, BLOB_OK);
            assert_int_equal(d.rc, 0);
            assert_int_equal(d.len, sizeof BLOB - 1);
            assert_memory_equal(d.data, BLOB, d.len);
        } else {
            assert_int_equal(d.status, i == 1 ? BLOB_MISSING : BLOB_TOO_LARGE);
            assert_int_equal(d.rc, -1);
            assert_null(d.data);
            assert_true(d.err[0] != '\0');
        }
        free(d.data);
    }
    assert_int_equal(blob_pool_pending(p), 0);
    /* A read nobody takes: its bytes go with the pool (ASan's leak check). */
    blob_pool_get(p, ok, 1 << 20, NULL);
    for (int i = 0; i < 100 && blob_pool_pending(p); i++) {
        struct pollfd pfd = {.fd = blob_pool_fd(p), .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0) break;
    }
    blob_pool_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_blob_inside_the_store_is_read),
        cmocka_unit_test(test_what_the_store_writes_it_reads_back),
        cmocka_unit_test(test_a_missing_blob_is_missing_not_outside),
        cmocka_unit_test(test_dot_dot_and_unnormalised_paths_are_outside),
        cmocka_unit_test(test_absolute_paths_outside_the_root_are_outside),
        cmocka_unit_test(test_a_nul_ends_the_uri_and_what_precedes_it_is_judged_alone),
        cmocka_unit_test(test_a_link_to_a_file_outside_is_outside),
        cmocka_unit_test(test_a_link_to_a_folder_outside_is_outside),
        cmocka_unit_test(test_a_root_reached_through_a_link_is_the_operators_choice),
        cmocka_unit_test(test_a_fifo_inside_is_refused_at_once),
        cmocka_unit_test(test_a_folder_is_not_a_blob),
        cmocka_unit_test(test_an_oversized_blob_is_refused_before_reading),
        cmocka_unit_test(test_status_names_prefix_reasons),
        cmocka_unit_test(test_the_pool_reads_blobs_with_their_status),
    };
    return cmocka_run_group_tests(tests, make_store, remove_store);
}
