/* cmd_blob.c — pressctl blob: the blob store as the workers see it (blob_root,
 * PRESSROOM_BLOBS, the s3 section), for operators checking a deployment's store and
 * for the tests.
 *
 *   pressctl blob check               open the store as a worker does at start-up
 *   pressctl blob put FILE URI        store FILE at URI (a URI inside the store)
 *   pressctl blob get URI [--max N]   the blob's bytes on stdout (at most N, default 16 MiB)
 *   pressctl blob url URI [--ttl S]   a presigned GET URL (s3), S seconds (default blob_presign_ttl_s, else 900)
 *
 * Exit 0 on success; 1 when the store refused (the status name and a sentence on
 * stderr: blob_missing: ..., blob_too_large: ...); 2 on usage or config errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/fileio.h"
#include "blob/blobstore.h"
#include "pressctl.h"

static int usage(void) {
    pressctl_usage(stderr, "blob", NULL);
    return 2;
}

static int run(blob_store_t *store, int argc, char **argv) {
    const char *sub = argv[1];
    char err[1024];
    if (!strcmp(sub, "check")) {
        printf("ok: %s\n", blob_store_root(store));
        return 0;
    }
    if (!strcmp(sub, "put") && argc == 4) {
        size_t len;
        char *data = file_read_all(argv[2], 1u << 30, &len, err, sizeof err);
        if (!data) {
            fprintf(stderr, "pressctl: %s\n", err);
            return 2;
        }
        int rc = blob_put(store, argv[3], data, len, err, sizeof err);
        free(data);
        if (rc) fprintf(stderr, "pressctl: %s\n", err);
        return rc ? 1 : 0;
    }
    if (!strcmp(sub, "get") && (argc == 3 || (argc == 5 && !strcmp(argv[3], "--max")))) {
        int max = 16 << 20;
        if (argc == 5 && arg_int("blob get", "--max", argv[4], 1, 1 << 30, &max)) return 2;
        unsigned char *data;
        size_t len;
        blob_status_t s = blob_get(store, argv[2], (size_t)max, &data, &len, err, sizeof err);
        if (s != BLOB_OK) {
            fprintf(stderr, "pressctl: %s: %s\n", blob_status_name(s), err);
            return 1;
        }
        fwrite(data, 1, len, stdout);
        free(data);
        return 0;
    }
    if (!strcmp(sub, "url") && (argc == 3 || (argc == 5 && !strcmp(argv[3], "--ttl")))) {
        int ttl = blob_presign_ttl_s(store) > 0 ? blob_presign_ttl_s(store) : 900;
        if (argc == 5 && arg_int("blob url", "--ttl", argv[4], 1, 604800, &ttl)) return 2;
        char url[2048];
        if (blob_presign(store, argv[2], ttl, url, sizeof url, err, sizeof err)) {
            fprintf(stderr, "pressctl: %s\n", err);
            return 1;
        }
        printf("%s\n", url);
        return 0;
    }
    return usage();
}

int cmd_blob(int argc, char **argv) {
    if (argc < 2) return usage();
    config_t cfg;
    char err[1024];
    if (config_load(&cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 2;
    }
    blob_store_t *store = blob_store_open(&cfg, err, sizeof err);
    if (!store) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 2;
    }
    int rc = run(store, argc, argv);
    blob_store_free(store);
    return rc;
}
