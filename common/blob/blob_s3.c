/* blob_s3.c — the s3:// backend: S3 and S3-compatible stores over libcurl.
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4, "aws:amz:<region>:s3"). libcurl
 * 7.88 signs the body it sends but adds no x-amz-content-sha256 header, which S3 (and
 * s3rver) require: we hash the body ourselves and send the header, the same value
 * libcurl puts in the canonical request. A session token goes out as
 * x-amz-security-token (signed, like every x-amz-* header). Presigned GET URLs are
 * signed here (SigV4 query-string signing), since libcurl signs only requests it sends.
 *
 *   root s3://bucket/prefix, blob s3://bucket/prefix/job/preview-1.png
 *   path style     <endpoint>/bucket/prefix/job/preview-1.png
 *   virtual host   <scheme>://bucket.<endpoint host>/prefix/job/preview-1.png
 *
 * Every request: at most s3.max_retries retries on 5xx and connection errors, with
 * exponential backoff (100 ms doubling, jittered); 4xx are final. One easy handle per
 * thread, kept (pthread key) so connections are reused. */
#include "blob/blob_backend.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/redact.h"
#include "base/sha256.h"
#include "blob/blob_sigv4.h"

#define S3_SCHEME "s3://"
#define ERROR_BODY_MAX 4096
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_store {
    char bucket[64];
    char prefix[448];        /* "" or names without leading/trailing slash */
    char region[64];
    char scheme[8];          /* "http" or "https" */
    char host[256];          /* the endpoint's host[:port] */
    bool virtual_host;
    char access_key[128];
    char secret_key[256];
    char session_token[2048];
    char creds_from[600];    /* where the credentials came from, for errors */
    char sigv4[96];          /* "aws:amz:<region>:s3" */
    long timeout_ms;
    int max_retries;
};

/* ==== One easy handle per thread ==== */

static pthread_key_t curl_key;
static pthread_once_t curl_key_once = PTHREAD_ONCE_INIT;

static void curl_key_free(void *h) { curl_easy_cleanup(h); }
static void curl_key_make(void) { pthread_key_create(&curl_key, curl_key_free); }

static CURL *thread_curl(void) {
    pthread_once(&curl_key_once, curl_key_make);
    CURL *h = pthread_getspecific(curl_key);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h) pthread_setspecific(curl_key, h);
    return h;
}

/* ==== Addressing ==== */

/* The object's key for rel (names below the root). */
static void object_key(const s3_store_t *s, const char *rel, char *key, size_t len) {
    if (!rel) snprintf(key, len, "%s", s->prefix);
    else snprintf(key, len, "%s%s%s", s->prefix, s->prefix[0] && rel[0] ? "/" : "", rel);
}

/* The request path (canonical URI) and the host for an object key. */
static void object_place(const s3_store_t *s, const char *key, char *host, size_t hlen, char *path, size_t plen) {
    char enc[1024];
    sigv4_encode_path(key, enc, sizeof enc);
    if (s->virtual_host) {
        snprintf(host, hlen, "%s.%s", s->bucket, s->host);
        snprintf(path, plen, "/%s", enc);
    } else {
        snprintf(host, hlen, "%s", s->host);
        snprintf(path, plen, "/%s%s%s", s->bucket, enc[0] ? "/" : "", enc);
    }
}

/* ==== Requests ==== */

typedef struct {
    long status;              /* 0 = no answer */
    unsigned char *body;      /* 2xx: the object; otherwise the start of the error document */
    size_t len, cap, max;
    bool too_large;
    long long content_length; /* -1 = none announced */
} response_t;

static size_t on_header(char *buf, size_t size, size_t n, void *ctx) {
    response_t *r = ctx;
    size_t len = size * n;
    char line[128]; /* the store's header line, NUL-terminated (libcurl's is not) */
    snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), buf);
    if (!strncmp(line, "HTTP/", 5)) {
        const char *sp = strchr(line, ' ');
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->content_length = -1;
    } else if (!strncasecmp(line, "content-length:", 15)) {
        r->content_length = strtoll(line + 15, NULL, 10);
        /* Refused before the body: an announced size past the caller's limit. */
        if (r->status >= 200 && r->status < 300 && r->max && (unsigned long long)r->content_length > r->max) {
            r->too_large = true;
            return 0;
        }
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ctx) {
    response_t *r = ctx;
    size_t len = size * n;
    bool bounded = r->max && r->status >= 200 && r->status < 300; /* an object the caller reads */
    size_t limit = bounded ? r->max : ERROR_BODY_MAX;
    if (r->len + len > limit) {
        if (bounded) {
            r->too_large = true; /* a body growing past the limit: the transfer is aborted */
            return 0;
        }
        len = limit - r->len; /* an error document: its start is enough */
        if (!len) return size * n;
    }
    if (r->len + len + 1 > r->cap) {
        r->cap = (r->len + len + 1) * 2;
        if (r->cap > limit + 1) r->cap = limit + 1;
        r->body = xrealloc(r->body, r->cap);
    }
    memcpy(r->body + r->len, buf, len);
    r->len += len;
    r->body[r->len] = '\0';
    return size * n;
}

/* The text of <tag> in an S3 error document, into out ("" when absent). */
static void xml_field(const response_t *r, const char *tag, char *out, size_t len) {
    out[0] = '\0';
    if (!r->body) return;
    char open[40], close[40];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr((const char *)r->body, open);
    const char *b = a ? strstr(a, close) : NULL;
    if (!b) return;
    a += strlen(open);
    snprintf(out, len, "%.*s", (int)(b - a), a);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
}

static bool retryable(CURLcode rc, long status) {
    if (rc == CURLE_OK) return status >= 500;
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_PARTIAL_FILE || rc == CURLE_SSL_CONNECT_ERROR;
}

static void backoff(int attempt) {
    long ms = 100L << (attempt < 6 ? attempt : 6);
    ms = ms / 2 + rand() % (ms / 2 + 1); /* jitter: half to the whole */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Sends method on key (NULL rel: the prefix itself) with body (PUT), retrying. Returns
 * 0 when the store answered (r->status set; the caller reads it), -1 with err when it
 * could not be reached after the retries or the body passed max (r->too_large). */
static int s3_request(const blob_store_t *store, const char *method, const char *key, const void *body,
                      size_t blen, size_t max, response_t *r, char *err, size_t errlen) {
    const s3_store_t *s = store->s3;
    char host[320], path[1100], url[1500];
    object_place(s, key, host, sizeof host, path, sizeof path);
    snprintf(url, sizeof url, "%s://%s%s", s->scheme, host, path);
    char hash[65];
    if (body) sha256_hex(body, blen, hash);
    else snprintf(hash, sizeof hash, "%s", EMPTY_SHA256);
    char h_hash[96], h_token[2100];
    snprintf(h_hash, sizeof h_hash, "x-amz-content-sha256: %s", hash);
    snprintf(h_token, sizeof h_token, "x-amz-security-token: %s", s->session_token);
    for (int attempt = 0;; attempt++) {
        CURL *h = thread_curl();
        if (!h) {
            snprintf(err, errlen, "%s: cannot create a libcurl handle (out of memory)", url);
            return -1;
        }
        struct curl_slist *hdrs = curl_slist_append(NULL, h_hash);
        if (s->session_token[0]) hdrs = curl_slist_append(hdrs, h_token);
        if (body) hdrs = curl_slist_append(hdrs, "Content-Type: image/png");
        hdrs = curl_slist_append(hdrs, "Expect:");
        free(r->body);
        *r = (response_t){.max = max, .content_length = -1};
        char curl_err[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
        curl_easy_setopt(h, CURLOPT_USERNAME, s->access_key);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->secret_key);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms < 5000 ? s->timeout_ms : 5000L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        if (!strcmp(method, "HEAD")) {
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (!strcmp(method, "PUT")) {
            /* The body as POST fields, sent as PUT: what libcurl 7.88 hashes into the signature. */
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, blen ? body : "");
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        }
        CURLcode rc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
        if (r->too_large) {
            snprintf(err, errlen, "%s %s: more than the limit of %zu bytes", method, url, max);
            return -1;
        }
        if (rc == CURLE_OK && !r->status) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        if (!retryable(rc, r->status) || attempt >= s->max_retries) {
            if (rc != CURLE_OK) {
                snprintf(err, errlen, "%s %s: the store at %s://%s is unreachable (%s) after %d attempt%s", method,
                         url, s->scheme, host, curl_err[0] ? curl_err : curl_easy_strerror(rc), attempt + 1,
                         attempt ? "s" : "");
                redact(err, errlen);
                return -1;
            }
            return 0;
        }
        char status[16];
        snprintf(status, sizeof status, "%ld", r->status);
        log_warn("blob_retry", "method", method, "url", url, "status", status, "error",
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "server error", NULL);
        backoff(attempt);
    }
}

/* A sentence for a refusal (r->status not 2xx): the store's own code and message,
 * and for refused credentials what to check. */
static void refusal(const blob_store_t *store, const char *method, const char *key, const response_t *r, char *err,
                    size_t errlen) {
    const s3_store_t *s = store->s3;
    char code[64], msg[256];
    xml_field(r, "Code", code, sizeof code);
    xml_field(r, "Message", msg, sizeof msg);
    bool creds = r->status == 403 && (!strcmp(code, "InvalidAccessKeyId") || !strcmp(code, "SignatureDoesNotMatch") ||
                                      !strcmp(code, "InvalidToken") || !strcmp(code, "ExpiredToken") ||
                                      !strcmp(code, "AccessDenied") || !code[0]);
    if (creds)
        snprintf(err, errlen,
                 "%s s3://%s/%s: the store refused the credentials from %s (HTTP 403%s%s%s%s): check the access "
                 "key id and secret (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or s3.credentials_file) and their "
                 "permissions on the bucket",
                 method, s->bucket, key, s->creds_from, code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
    else
        snprintf(err, errlen, "%s s3://%s/%s: the store answered HTTP %ld%s%s%s%s", method, s->bucket, key,
                 r->status, code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
    redact(err, errlen);
}

/* ==== Backend operations ==== */

static int s3_put(const blob_store_t *store, const char *uri, const char *rel, const void *data, size_t len,
                  char *err, size_t errlen) {
    char key[1024];
    object_key(store->s3, rel, key, sizeof key);
    response_t r = {0};
    int rc = s3_request(store, "PUT", key, data, len, 0, &r, err, errlen);
    if (rc == 0 && (r.status < 200 || r.status >= 300)) {
        refusal(store, "PUT", key, &r, err, errlen);
        rc = -1;
    }
    free(r.body);
    return rc;
}

static blob_status_t s3_get(const blob_store_t *store, const char *uri, const char *rel, size_t max,
                            unsigned char **data, size_t *len, char *err, size_t errlen) {
    char key[1024];
    object_key(store->s3, rel, key, sizeof key);
    response_t r = {0};
    if (s3_request(store, "GET", key, NULL, 0, max ? max : 1, &r, err, errlen) != 0) {
        free(r.body);
        if (r.too_large) {
            if (r.content_length >= 0)
                snprintf(err, errlen, "%s: %lld bytes, more than the limit of %zu", uri, r.content_length, max);
            else
                snprintf(err, errlen, "%s: more than the limit of %zu bytes (the transfer was stopped there)", uri,
                         max);
            return BLOB_TOO_LARGE;
        }
        return BLOB_UNREADABLE;
    }
    if (r.status >= 200 && r.status < 300) {
        if (!r.body) r.body = xcalloc(1, 1); /* an empty object */
        *data = r.body;
        *len = r.len;
        return BLOB_OK;
    }
    blob_status_t st = r.status == 404 ? BLOB_MISSING : BLOB_UNREADABLE;
    refusal(store, "GET", key, &r, err, errlen);
    free(r.body);
    return st;
}

static int s3_exists(const blob_store_t *store, const char *uri, const char *rel, char *err, size_t errlen) {
    char key[1024];
    object_key(store->s3, rel, key, sizeof key);
    response_t r = {0};
    int rc = s3_request(store, "HEAD", key, NULL, 0, 0, &r, err, errlen);
    free(r.body);
    if (rc != 0) return -1;
    if (r.status >= 200 && r.status < 300) return r.content_length > 0;
    if (r.status == 404) return 0;
    snprintf(err, errlen, "HEAD %s: the store answered HTTP %ld", uri, r.status);
    return -1;
}

/* ==== Presigned URLs ==== */

static int s3_presign(const blob_store_t *store, const char *uri, const char *rel, int ttl_s, char *url, size_t len,
                      char *err, size_t errlen) {
    const s3_store_t *s = store->s3;
    if (s->session_token[0]) {
        snprintf(err, errlen, "%s: no presigned URL with temporary credentials (it would carry the session token)",
                 uri);
        return -1;
    }
    char key[1024], host[320], path[1100];
    object_key(s, rel, key, sizeof key);
    object_place(s, key, host, sizeof host, path, sizeof path);
    sigv4_presign_t p = {.scheme = s->scheme, .host = host, .path = path, .region = s->region,
                         .access_key = s->access_key, .secret_key = s->secret_key,
                         .now = (long long)time(NULL), .ttl_s = ttl_s};
    if (sigv4_presign(&p, url, len) != 0) {
        snprintf(err, errlen, "%s: the presigned URL does not fit in %zu bytes", uri, len);
        return -1;
    }
    return 0;
}

/* ==== Start-up: root, endpoint, credentials, one request ==== */

static const char *env_or(const char *a, const char *b) {
    const char *v = getenv(a);
    if (v && *v) return v;
    v = b ? getenv(b) : NULL;
    return v && *v ? v : NULL;
}

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    size_t i = 0;
    while (isspace((unsigned char)s[i])) i++;
    memmove(s, s + i, n - i + 1);
}

/* Reads [profile]'s aws_access_key_id, aws_secret_access_key, aws_session_token from
 * an AWS shared credentials file. 0, 1 when the file does not exist, or -1 with err. */
static int read_credentials_file(s3_store_t *s, const char *path, const char *key, const char *profile, char *err,
                                 size_t errlen) {
    char ferr[512];
    size_t len;
    char *text = file_read_all(path, 1 << 20, &len, ferr, sizeof ferr);
    if (!text) {
        if (errno == ENOENT && !key) return 1;
        snprintf(err, errlen, "%s: %s", key ? key : "the AWS credentials file", ferr);
        return -1;
    }
    bool in = false, found = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        trim(line);
        if (!line[0] || line[0] == '#' || line[0] == ';') continue;
        if (line[0] == '[') {
            char *end = strchr(line, ']');
            if (end) *end = '\0';
            trim(line + 1);
            in = !strcmp(line + 1, profile);
            found |= in;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!in || !eq) continue;
        *eq = '\0';
        trim(line);
        char *v = eq + 1;
        trim(v);
        if (!strcmp(line, "aws_access_key_id")) snprintf(s->access_key, sizeof s->access_key, "%s", v);
        else if (!strcmp(line, "aws_secret_access_key")) snprintf(s->secret_key, sizeof s->secret_key, "%s", v);
        else if (!strcmp(line, "aws_session_token")) snprintf(s->session_token, sizeof s->session_token, "%s", v);
    }
    memset(text, 0, len);
    free(text);
    if (!found || !s->access_key[0] || !s->secret_key[0]) {
        snprintf(err, errlen,
                 "%s %s: expected a [%s] section with aws_access_key_id and aws_secret_access_key, found %s",
                 key ? key : "the AWS credentials file", path, profile, found ? "the section without them" : "none");
        return -1;
    }
    snprintf(s->creds_from, sizeof s->creds_from, "%s [%s]", path, profile);
    return 0;
}

static int load_credentials(s3_store_t *s, const s3_config_t *c, char *err, size_t errlen) {
    const char *profile = c->profile[0] ? c->profile : env_or("AWS_PROFILE", NULL);
    if (!profile) profile = "default";
    if (c->credentials_file[0]) return read_credentials_file(s, c->credentials_file, "s3.credentials_file", profile,
                                                             err, errlen);
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    if (ak && *ak) {
        if (!sk || !*sk) {
            snprintf(err, errlen, "AWS_SECRET_ACCESS_KEY: expected the secret of AWS_ACCESS_KEY_ID, found it unset");
            return -1;
        }
        snprintf(s->access_key, sizeof s->access_key, "%s", ak);
        snprintf(s->secret_key, sizeof s->secret_key, "%s", sk);
        const char *tok = getenv("AWS_SESSION_TOKEN");
        if (tok) snprintf(s->session_token, sizeof s->session_token, "%s", tok);
        snprintf(s->creds_from, sizeof s->creds_from, "the environment (AWS_ACCESS_KEY_ID)");
        return 0;
    }
    char path[600];
    const char *file = env_or("AWS_SHARED_CREDENTIALS_FILE", NULL);
    const char *home = getenv("HOME");
    if (file) snprintf(path, sizeof path, "%s", file);
    else snprintf(path, sizeof path, "%s/.aws/credentials", home ? home : "");
    int rc = read_credentials_file(s, path, file ? "AWS_SHARED_CREDENTIALS_FILE" : NULL, profile, err, errlen);
    if (rc == 1)
        snprintf(err, errlen,
                 "s3 credentials: expected AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, "
                 "s3.credentials_file, or %s, found none",
                 path);
    return rc ? -1 : 0;
}

static void register_secret(const char *secret, const char *what) {
    if (secret[0] && !redact_add_secret(secret))
        log_warn("s3_secret_not_redacted", "secret", what, "why", "shorter than 6 bytes, or the registry is full",
                 NULL);
}

/* Parses http(s)://host[:port][/] into s->scheme and s->host. */
static int parse_endpoint(s3_store_t *s, const char *ep, const char *key, char *err, size_t errlen) {
    const char *rest = !strncmp(ep, "https://", 8) ? ep + 8 : !strncmp(ep, "http://", 7) ? ep + 7 : NULL;
    size_t n = rest ? strcspn(rest, "/") : 0;
    if (!rest || !n || n >= sizeof s->host || (rest[n] && strcmp(rest + n, "/")) || memchr(rest, '@', n)) {
        snprintf(err, errlen, "%s: expected http://HOST[:PORT] or https://HOST[:PORT] with no path, found \"%s\"", key,
                 ep);
        return -1;
    }
    snprintf(s->scheme, sizeof s->scheme, "%.*s", (int)(rest - ep - 3), ep);
    snprintf(s->host, sizeof s->host, "%.*s", (int)n, rest);
    return 0;
}

static bool bucket_valid(const char *b) {
    size_t n = strlen(b);
    if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1])) return false;
    for (const char *p = b; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' || *p == '-')) return false;
    return true;
}

/* One GET of a key under the prefix that is never written (a name starting with a dot
 * is no blob name): 404 or 200 means the store is reachable and took the signature. */
static int probe(blob_store_t *store, char *err, size_t errlen) {
    s3_store_t *s = store->s3;
    char key[1024], rerr[768];
    object_key(s, ".pressroom-probe", key, sizeof key);
    response_t r = {0};
    int rc = s3_request(store, "GET", key, NULL, 0, ERROR_BODY_MAX, &r, rerr, sizeof rerr);
    if (rc != 0) {
        snprintf(err, errlen, "%s %s: %s", store->key, store->root, rerr);
        free(r.body);
        return -1;
    }
    char code[64];
    xml_field(&r, "Code", code, sizeof code);
    if (r.status == 404 && strcmp(code, "NoSuchBucket") != 0) rc = 0;
    else if (r.status >= 200 && r.status < 300) rc = 0;
    else if (r.status == 403 && !strcmp(code, "AccessDenied")) {
        /* Signature accepted; without s3:ListBucket S3 answers a missing key 403. */
        log_warn("blob_probe_access_denied", "blob_root", store->root, "msg",
                 "the store accepted the credentials but denied a read of a missing key (no s3:ListBucket?)", NULL);
        rc = 0;
    } else {
        refusal(store, "GET", key, &r, rerr, sizeof rerr);
        snprintf(err, errlen, "%s %s: %s", store->key, store->root, rerr);
        rc = -1;
    }
    free(r.body);
    return rc;
}

static void s3_close(blob_store_t *store) {
    if (!store->s3) return;
    /* This thread's handle (the start-up probe's); other threads' go when they exit. */
    pthread_once(&curl_key_once, curl_key_make);
    CURL *h = pthread_getspecific(curl_key);
    if (h) {
        curl_easy_cleanup(h);
        pthread_setspecific(curl_key, NULL);
    }
    memset(store->s3, 0, sizeof *store->s3);
    free(store->s3);
    store->s3 = NULL;
    curl_global_cleanup();
}

static int s3_open(blob_store_t *store, const config_t *cfg, char *err, size_t errlen) {
    const s3_config_t *c = &cfg->s3;
    s3_store_t *s = store->s3 = xcalloc(1, sizeof *store->s3);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* reference counted; thread-safe in 7.84+ */
    const char *rest = store->root + strlen(S3_SCHEME);
    size_t bl = strcspn(rest, "/");
    snprintf(s->bucket, sizeof s->bucket, "%.*s", (int)(bl < sizeof s->bucket ? bl : 0), rest);
    if (rest[bl] == '/') snprintf(s->prefix, sizeof s->prefix, "%s", rest + bl + 1);
    int rc = -1;
    if (!bucket_valid(s->bucket)) {
        snprintf(err, errlen,
                 "%s: expected s3://BUCKET[/PREFIX] with a bucket name of 3 to 63 lowercase letters, digits, dots "
                 "and hyphens, found \"%s\"",
                 store->key, store->root);
    } else if (s->prefix[0] && !blob_names_valid(s->prefix)) {
        snprintf(err, errlen,
                 "%s: expected a prefix of names of letters, digits and ._:- (not starting with a dot) separated by "
                 "single slashes, found \"%s\"",
                 store->key, s->prefix);
    } else {
        rc = 0;
    }
    if (rc) goto fail;
    const char *region = c->region[0] ? c->region : env_or("AWS_REGION", "AWS_DEFAULT_REGION");
    snprintf(s->region, sizeof s->region, "%s", region ? region : "us-east-1");
    for (const char *p = s->region; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-')) {
            snprintf(err, errlen, "s3.region: expected a region name like eu-west-1, found \"%s\"", s->region);
            goto fail;
        }
    char def[128];
    const char *ep = c->endpoint[0] ? c->endpoint : env_or("AWS_ENDPOINT_URL_S3", NULL);
    const char *ep_key = c->endpoint[0] ? "s3.endpoint" : "AWS_ENDPOINT_URL_S3";
    if (!ep) {
        snprintf(def, sizeof def, "https://s3.%s.amazonaws.com", s->region);
        ep = def;
    }
    if (parse_endpoint(s, ep, ep_key, err, errlen)) goto fail;
    s->virtual_host = c->virtual_host;
    s->timeout_ms = c->timeout_ms;
    s->max_retries = c->max_retries;
    snprintf(s->sigv4, sizeof s->sigv4, "aws:amz:%s:s3", s->region);
    if (load_credentials(s, c, err, errlen)) goto fail;
    register_secret(s->secret_key, "the S3 secret access key");
    register_secret(s->session_token, "the S3 session token");
    if (store->presign_ttl_s > 0 && s->session_token[0]) {
        snprintf(err, errlen,
                 "blob_presign_ttl_s: expected 0 with temporary credentials (a presigned URL would carry the session "
                 "token to every reader of the verdicts), found %d",
                 store->presign_ttl_s);
        goto fail;
    }
    if (probe(store, err, errlen)) goto fail;
    return 0;
fail:
    redact(err, errlen);
    s3_close(store);
    return -1;
}

const blob_backend_t blob_s3_backend = {
    .scheme = S3_SCHEME,
    .open = s3_open,
    .close = s3_close,
    .put = s3_put,
    .get = s3_get,
    .exists = s3_exists,
    .presign = s3_presign,
};
