/* json.c — strict JSON parsing and the field readers; see json.h. */
#include "base/json.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a found value an error shows. */
#define JSON_SHOWN_MAX 80
/* Object and array levels the pre-scan names in a path (deeper levels are counted). */
#define JSON_PATH_DEPTH 32

void json_reader_init(json_reader_t *r, const char *where, char *err, size_t errlen) {
    r->where = where;
    r->err = err;
    r->errlen = errlen;
    r->failed = false;
    if (errlen) err[0] = '\0';
}

/* ==== Errors ==== */

/* The length of s[0..n) cut to at most max bytes, not inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max) {
    if (n <= max) return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
    return max;
}

static void vfail(json_reader_t *r, const char *path, const char *expected, const char *fmt, va_list ap) {
    if (r->failed) return;
    r->failed = true;
    char found[256];
    vsnprintf(found, sizeof found, fmt, ap);
    snprintf(r->err, r->errlen, "%s: %s: expected %s, found %s", r->where, path && *path ? path : "(top level)",
             expected, found);
}

int json_failf(json_reader_t *r, const char *path, const char *expected, const char *found_fmt, ...) {
    va_list ap;
    va_start(ap, found_fmt);
    vfail(r, path, expected, found_fmt, ap);
    va_end(ap);
    return -1;
}

int json_fail(json_reader_t *r, const char *path, const char *expected, const cJSON *found) {
    if (r->failed) return -1;
    char *shown = found ? cJSON_PrintUnformatted(found) : NULL;
    if (!shown) return json_failf(r, path, expected, "nothing");
    size_t n = strlen(shown), cut = utf8_cut(shown, n, JSON_SHOWN_MAX);
    json_failf(r, path, expected, "%.*s%s", (int)cut, shown, cut < n ? "..." : "");
    free(shown);
    return -1;
}

/* ==== Paths ==== */

/* Appends s[0..n) to buf (used bytes of cap), control characters as '?', never
 * cutting a UTF-8 sequence; always NUL-terminated. */
static void path_append(char *buf, size_t cap, size_t *used, const char *s, size_t n) {
    size_t room = *used < cap ? cap - 1 - *used : 0;
    n = utf8_cut(s, n, room);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[(*used)++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
    }
    buf[*used] = '\0';
}

const char *json_path(char *buf, size_t len, const char *parent, const char *name) {
    size_t used = 0;
    buf[0] = '\0';
    if (parent && *parent) {
        path_append(buf, len, &used, parent, strlen(parent));
        path_append(buf, len, &used, ".", 1);
    }
    path_append(buf, len, &used, name, strlen(name));
    return buf;
}

const char *json_index_path(char *buf, size_t len, const char *parent, int index) {
    snprintf(buf, len, "%s[%d]", parent ? parent : "", index);
    return buf;
}

/* ==== The pre-scan: UTF-8, NUL, surrogate escapes, raw control characters ==== */

/* The length of the UTF-8 sequence at s (n > 0 bytes left), or 0 when there is
 * none, with why and how many bytes make up the bad sequence. */
static size_t utf8_seq(const unsigned char *s, size_t n, const char **why, size_t *bad) {
    unsigned c = s[0], cp, min;
    size_t need;
    *bad = 1;
    if (c < 0x80) return 1;
    if (c < 0xC0) { *why = "a stray continuation byte"; return 0; }
    if (c < 0xE0) { need = 2; cp = c & 0x1F; min = 0x80; }
    else if (c < 0xF0) { need = 3; cp = c & 0x0F; min = 0x800; }
    else if (c < 0xF8) { need = 4; cp = c & 0x07; min = 0x10000; }
    else { *why = "a byte that never occurs in UTF-8"; return 0; }
    for (size_t i = 1; i < need; i++) {
        if (i >= n || (s[i] & 0xC0) != 0x80) {
            *why = "a truncated sequence";
            *bad = i;
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *bad = need;
    if (cp < min) *why = "an overlong encoding";
    else if (cp >= 0xD800 && cp <= 0xDFFF) *why = "an encoded UTF-16 surrogate";
    else if (cp > 0x10FFFF) *why = "a code point above U+10FFFF";
    else return need;
    return 0;
}

/* Four hex digits at s (n bytes left) as a code unit, or -1. */
static long hex4(const char *s, size_t n) {
    if (n < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        if (!isxdigit((unsigned char)s[i])) return -1;
        v = v * 16 + (isdigit((unsigned char)s[i]) ? s[i] - '0' : tolower((unsigned char)s[i]) - 'a' + 10);
    }
    return v;
}

/* One open object or array, so an error can name the field it is in. */
typedef struct {
    bool object;
    bool key_next;    /* object: the next string is a key */
    int index;        /* array: the item being read */
    const char *key;  /* object: the member being read (raw bytes), NULL before its key */
    size_t key_len;
} frame_t;

typedef struct {
    json_reader_t *r;
    const char *buf;
    size_t len;
    frame_t frames[JSON_PATH_DEPTH];
    int depth; /* may exceed JSON_PATH_DEPTH: the deeper levels are not named */
} scan_t;

static frame_t *scan_top(scan_t *s) {
    return s->depth > 0 && s->depth <= JSON_PATH_DEPTH ? &s->frames[s->depth - 1] : NULL;
}

/* The error at byte `at`: the path comes from the open frames. */
static int scan_fail(scan_t *s, size_t at, const char *expected, const char *found) {
    char path[256];
    size_t used = 0;
    path[0] = '\0';
    int named = s->depth < JSON_PATH_DEPTH ? s->depth : JSON_PATH_DEPTH;
    for (int i = 0; i < named; i++) {
        const frame_t *f = &s->frames[i];
        if (f->object) {
            if (!f->key) break;
            if (used) path_append(path, sizeof path, &used, ".", 1);
            path_append(path, sizeof path, &used, f->key, f->key_len);
        } else {
            char ix[16];
            snprintf(ix, sizeof ix, "[%d]", f->index);
            path_append(path, sizeof path, &used, ix, strlen(ix));
        }
    }
    if (s->depth > JSON_PATH_DEPTH) path_append(path, sizeof path, &used, "...", 3);
    return json_failf(s->r, path, expected, "%s at byte %zu", found, at);
}

/* Refuses the bytes at buf[at] that are not UTF-8 (why, bad of them), shown as \xHH. */
static int scan_fail_utf8(scan_t *s, size_t at, const char *why, size_t bad) {
    char found[160];
    size_t used = (size_t)snprintf(found, sizeof found, "%s (", why);
    for (size_t i = 0; i < bad && used + 6 <= sizeof found; i++)
        used += (size_t)snprintf(found + used, sizeof found - used, "\\x%02X", (unsigned char)s->buf[at + i]);
    snprintf(found + used, sizeof found - used, ")");
    return scan_fail(s, at, "UTF-8", found);
}

static const char *const NO_NUL = "text without NUL characters";

/* The string starting at buf[i] == '"'. Returns the index after it (len when it does
 * not end: cJSON reports that), or (size_t)-1 after recording an error. */
static size_t scan_string(scan_t *s, size_t i) {
    frame_t *top = scan_top(s);
    bool is_key = top && top->object && top->key_next;
    if (is_key) {
        top->key = s->buf + i + 1;
        top->key_len = 0;
        top->key_next = false;
    }
    const char *b = s->buf;
    size_t j = i + 1;
    while (j < s->len) {
        unsigned char c = (unsigned char)b[j];
        if (is_key) top->key_len = j - (i + 1); /* a key with an error is named up to it */
        if (c == '"') {
            return j + 1;
        } else if (c == '\\') {
            unsigned char e = j + 1 < s->len ? (unsigned char)b[j + 1] : 0;
            if (e != 'u') { /* \n, \" ...: skip both, unless the second byte needs checking */
                j += e >= 0x20 && e < 0x80 ? 2 : 1;
                continue;
            }
            long u = hex4(b + j + 2, s->len - (j + 2));
            char esc[40]; /* only when u >= 0: then the six bytes of the escape are there */
            if (u == 0) {
                snprintf(esc, sizeof esc, "the escape %.*s", (int)(s->len - j < 6 ? s->len - j : 6), b + j); /* never past len */
                return scan_fail(s, j, NO_NUL, esc), (size_t)-1;
            }
            bool high = u >= 0xD800 && u <= 0xDBFF, low = u >= 0xDC00 && u <= 0xDFFF;
            if (high && j + 12 <= s->len && b[j + 6] == '\\' && b[j + 7] == 'u') {
                long u2 = hex4(b + j + 8, s->len - (j + 8));
                if (u2 >= 0xDC00 && u2 <= 0xDFFF) {
                    j += 12;
                    continue;
                }
            }
            if (high || low) {
                snprintf(esc, sizeof esc, "the lone surrogate %.*s", (int)(s->len - j < 6 ? s->len - j : 6), b + j); /* never past len */
                return scan_fail(s, j, "a UTF-16 surrogate pair (\\uD800..\\uDBFF then \\uDC00..\\uDFFF)", esc),
                       (size_t)-1;
            }
            j += u < 0 ? 2 : 6; /* a bad escape: cJSON reports it */
        } else if (c == 0) {
            return scan_fail(s, j, NO_NUL, "a raw NUL byte"), (size_t)-1;
        } else if (c < 0x20) {
            char found[32];
            snprintf(found, sizeof found, "the raw byte \\x%02X", c);
            return scan_fail(s, j, "control characters escaped in a string (\\n, \\t, \\u001F ...)", found),
                   (size_t)-1;
        } else if (c >= 0x80) {
            const char *why = "";
            size_t bad, k = utf8_seq((const unsigned char *)b + j, s->len - j, &why, &bad);
            if (!k) return scan_fail_utf8(s, j, why, bad), (size_t)-1;
            j += k;
        } else {
            j++;
        }
    }
    return s->len;
}

/* Walks buf once, tracking the open objects and arrays, and refuses what cJSON
 * would accept or cut silently. Leaves syntax errors to cJSON. */
static int prescan(json_reader_t *r, const char *buf, size_t len) {
    scan_t s = {.r = r, .buf = buf, .len = len};
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)buf[i];
        frame_t *top = scan_top(&s);
        if (c == '"') {
            i = scan_string(&s, i);
            if (i == (size_t)-1) return -1;
            continue;
        }
        if (c == '{' || c == '[') {
            if (s.depth < JSON_PATH_DEPTH)
                s.frames[s.depth] = (frame_t){.object = c == '{', .key_next = c == '{'};
            s.depth++;
        } else if ((c == '}' || c == ']') && s.depth > 0) {
            s.depth--;
        } else if (c == ',' && top) {
            if (top->object) {
                top->key_next = true;
                top->key = NULL;
            } else {
                top->index++;
            }
        } else if (c == 0) {
            return scan_fail(&s, i, NO_NUL, "a raw NUL byte");
        } else if (c >= 0x80) {
            const char *why = "";
            size_t bad;
            if (!utf8_seq((const unsigned char *)buf + i, len - i, &why, &bad)) return scan_fail_utf8(&s, i, why, bad);
        }
        i++;
    }
    return 0;
}

/* ==== Duplicate keys ==== */

static int key_cmp(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* Refuses a key twice in one object, anywhere under v. path holds v's path (used
 * bytes of cap) and is restored before returning. */
static int check_duplicates(json_reader_t *r, const cJSON *v, char *path, size_t used, size_t cap) {
    int n = cJSON_GetArraySize(v);
    if (cJSON_IsObject(v) && n > 1) {
        const cJSON **members = malloc((size_t)n * sizeof *members);
        if (!members) return json_failf(r, path, "a document that fits in memory", "too many keys");
        int k = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, v) members[k++] = it;
        qsort(members, (size_t)n, sizeof *members, key_cmp);
        const char *dup = NULL;
        for (int i = 1; i < n && !dup; i++)
            if (!strcmp(members[i - 1]->string, members[i]->string)) dup = members[i]->string;
        free(members);
        if (dup) {
            char at[256];
            cJSON *key = cJSON_CreateString(dup);
            char *shown = key ? cJSON_PrintUnformatted(key) : NULL;
            json_failf(r, json_path(at, sizeof at, path, dup), "each key once in its object", "%s a second time",
                       shown ? shown : "a key");
            free(shown);
            cJSON_Delete(key);
            return -1;
        }
    }
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) return 0;
    const cJSON *it;
    int index = 0;
    cJSON_ArrayForEach(it, v) {
        size_t u = used;
        if (cJSON_IsObject(v)) {
            if (u) path_append(path, cap, &u, ".", 1);
            path_append(path, cap, &u, it->string, strlen(it->string));
        } else {
            char ix[16];
            snprintf(ix, sizeof ix, "[%d]", index++);
            path_append(path, cap, &u, ix, strlen(ix));
        }
        int rc = check_duplicates(r, it, path, u, cap);
        path[used] = '\0';
        if (rc) return -1;
    }
    return 0;
}

/* ==== Parsing ==== */

/* Up to 16 bytes of buf[at..len) as a JSON string, for an error; the text is UTF-8
 * without NUL (prescan), so it is cut between characters and escaped by cJSON. */
static const char *excerpt(char *out, size_t outlen, const char *buf, size_t at, size_t len) {
    char text[24];
    size_t n = utf8_cut(buf + at, len - at, 16);
    memcpy(text, buf + at, n);
    text[n] = '\0';
    cJSON *s = cJSON_CreateString(text);
    char *shown = s ? cJSON_PrintUnformatted(s) : NULL;
    snprintf(out, outlen, "%s", shown ? shown : "?");
    free(shown);
    cJSON_Delete(s);
    return out;
}

cJSON *json_parse_object(json_reader_t *r, const char *buf, size_t len) {
    if (prescan(r, buf, len)) return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    char shown[128];
    if (!root) {
        size_t at = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : len;
        int line = 1, col = 1;
        for (size_t i = 0; i < at; i++) {
            if (buf[i] == '\n') { line++; col = 1; } else col++;
        }
        if (at >= len) snprintf(shown, sizeof shown, "the end of the input");
        else excerpt(shown, sizeof shown, buf, at, len);
        if (!r->failed)
            snprintf(r->err, r->errlen, "%s:%d:%d: expected valid JSON, found %s, which is not valid JSON (byte %zu)",
                     r->where, line, col, shown, at);
        r->failed = true;
        return NULL;
    }
    size_t at = (size_t)(end - buf);
    while (at < len && isspace((unsigned char)buf[at])) at++;
    char path[256] = "";
    if (at < len)
        json_failf(r, "", "one JSON value and nothing after it", "trailing bytes %s at byte %zu",
                   excerpt(shown, sizeof shown, buf, at, len), at);
    else if (!cJSON_IsObject(root)) json_fail(r, "", "a JSON object", root);
    else check_duplicates(r, root, path, 0, sizeof path);
    if (r->failed) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ==== Readers ==== */

static const cJSON *member(const cJSON *obj, const char *name) {
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

int json_read_string_at(json_reader_t *r, const cJSON *v, const char *path, json_need_t need, char *dst,
                        size_t size) {
    const char *kind = need == JSON_REQUIRED ? "a non-empty string" : "a string";
    if (!v) return need == JSON_REQUIRED ? json_failf(r, path, "a non-empty string (required)", "nothing") : 0;
    if (!cJSON_IsString(v)) return json_fail(r, path, kind, v);
    if (need == JSON_REQUIRED && !v->valuestring[0]) return json_fail(r, path, kind, v);
    if (strlen(v->valuestring) >= size) {
        char expected[64];
        snprintf(expected, sizeof expected, "%s of at most %zu bytes", kind, size - 1);
        return json_fail(r, path, expected, v);
    }
    snprintf(dst, size, "%s", v->valuestring);
    return 0;
}

int json_read_string(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                     char *dst, size_t size) {
    char path[256];
    return json_read_string_at(r, member(obj, name), json_path(path, sizeof path, parent, name), need, dst, size);
}

/* The member, or NULL: then 0 when it may be missing, -1 (recorded) when not. */
static const cJSON *lookup(json_reader_t *r, const cJSON *obj, const char *path, const char *name,
                           json_need_t need, const char *expected, int *rc) {
    const cJSON *v = member(obj, name);
    *rc = 0;
    if (!v && need == JSON_REQUIRED) {
        char required[160];
        snprintf(required, sizeof required, "%s (required)", expected);
        *rc = json_failf(r, path, required, "nothing");
    }
    return v;
}

int json_read_i64(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                  int64_t *dst, int64_t lo, int64_t hi, const char *expected) {
    char path[256], range[96];
    snprintf(range, sizeof range, "an integer from %lld to %lld", (long long)lo, (long long)hi);
    if (!expected) expected = range;
    int rc;
    const cJSON *v = lookup(r, obj, json_path(path, sizeof path, parent, name), name, need, expected, &rc);
    if (!v) return rc;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d == floor(d) && d >= (double)lo && d <= (double)hi)) return json_fail(r, path, expected, v);
    *dst = (int64_t)d;
    return 0;
}

int json_read_int(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                  int *dst, int lo, int hi, const char *expected) {
    int64_t v = *dst;
    int rc = json_read_i64(r, obj, parent, name, need, &v, lo, hi, expected);
    if (rc == 0) *dst = (int)v;
    return rc;
}

int json_read_double(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                     double *dst, double lo, double hi, const char *expected) {
    char path[256], range[96];
    snprintf(range, sizeof range, "a number from %g to %g", lo, hi);
    if (!expected) expected = range;
    int rc;
    const cJSON *v = lookup(r, obj, json_path(path, sizeof path, parent, name), name, need, expected, &rc);
    if (!v) return rc;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) return json_fail(r, path, expected, v);
    *dst = v->valuedouble;
    return 0;
}

int json_read_bool(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                   bool *dst) {
    char path[256];
    int rc;
    const cJSON *v = lookup(r, obj, json_path(path, sizeof path, parent, name), name, need, "true or false", &rc);
    if (!v) return rc;
    if (!cJSON_IsBool(v)) return json_fail(r, path, "true or false", v);
    *dst = cJSON_IsTrue(v);
    return 0;
}

int json_read_enum(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                   const char *const *names, int *dst) {
    char path[256], expected[256];
    size_t n = 0, count = 0;
    while (names[count]) count++;
    expected[0] = '\0';
    for (size_t i = 0; i < count && n < sizeof expected; i++)
        n += (size_t)snprintf(expected + n, sizeof expected - n, "%s\"%s\"",
                              i == 0 ? "" : i + 1 == count ? " or " : ", ", names[i]);
    int rc;
    const cJSON *v = lookup(r, obj, json_path(path, sizeof path, parent, name), name, need, expected, &rc);
    if (!v) return rc;
    for (size_t i = 0; cJSON_IsString(v) && i < count; i++) {
        if (!strcmp(v->valuestring, names[i])) {
            *dst = (int)i;
            return 0;
        }
    }
    return json_fail(r, path, expected, v);
}

const cJSON *json_read_object(json_reader_t *r, const cJSON *obj, const char *parent, const char *name,
                              json_need_t need, const char *expected) {
    char path[256];
    if (!expected) expected = "an object";
    int rc;
    const cJSON *v = lookup(r, obj, json_path(path, sizeof path, parent, name), name, need, expected, &rc);
    if (v && !cJSON_IsObject(v)) {
        json_fail(r, path, expected, v);
        return NULL;
    }
    return v;
}

const cJSON *json_read_array(json_reader_t *r, const cJSON *obj, const char *parent, const char *name,
                             json_need_t need, int max_items, const char *expected) {
    char path[256], dflt[64];
    snprintf(dflt, sizeof dflt, "an array of at most %d items", max_items);
    if (!expected) expected = dflt;
    int rc;
    const cJSON *v = lookup(r, obj, json_path(path, sizeof path, parent, name), name, need, expected, &rc);
    if (v && (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > max_items)) {
        json_fail(r, path, expected, v);
        return NULL;
    }
    return v;
}

int json_check_keys(json_reader_t *r, const cJSON *obj, const char *parent, const char *const *known) {
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++) ok = !strcmp(*k, it->string);
        if (ok) continue;
        char path[256], expected[512];
        size_t n = (size_t)snprintf(expected, sizeof expected, "one of the known keys (");
        for (const char *const *k = known; *k && n < sizeof expected; k++)
            n += (size_t)snprintf(expected + n, sizeof expected - n, "%s%s", k == known ? "" : ", ", *k);
        if (n < sizeof expected) snprintf(expected + n, sizeof expected - n, ")");
        cJSON *key = cJSON_CreateString(it->string);
        json_fail(r, json_path(path, sizeof path, parent, it->string), expected, key);
        cJSON_Delete(key);
        return -1;
    }
    return 0;
}

/* ==== json_parse_bulk ==== */

/* Walks the tree in document order counting string tokens (keys and string values)
 * as the scanner below does; returns the value that is token number *k, or NULL
 * (a key, or fewer tokens). */
static cJSON *nth_string_value(cJSON *item, size_t *k, bool *is_key) {
    for (; item; item = item->next) {
        if (item->string) {
            if ((*k)-- == 0) {
                *is_key = true;
                return NULL;
            }
        }
        if (cJSON_IsString(item)) {
            if ((*k)-- == 0) return item;
        } else if (item->child) {
            cJSON *found = nth_string_value(item->child, k, is_key);
            if (found || *is_key) return found;
        }
    }
    return NULL;
}

cJSON *json_parse_bulk(const char *buf, size_t len, size_t min_bulk) {
    /* Find the longest string token without a backslash or NUL. Outside strings a
     * quote can only open one; inside, a backslash takes the next byte with it
     * (cJSON's rule for finding a string's end). */
    const char *p = buf, *end = buf + len, *best = NULL;
    size_t best_len = 0, best_k = 0, k = 0;
    while (p < end) {
        const char *open = memchr(p, '"', (size_t)(end - p));
        if (!open) break;
        const char *s = open + 1, *r = s, *close = NULL;
        bool escaped = false;
        while (r < end) {
            const char *q = memchr(r, '"', (size_t)(end - r));
            if (!q) break;
            const char *bs = memchr(r, '\\', (size_t)(q - r));
            if (!bs) {
                close = q;
                break;
            }
            escaped = true;
            r = bs + 2;
        }
        if (!close) break; /* unterminated: cJSON refuses it, or stops before it */
        size_t n = (size_t)(close - s);
        if (!escaped && n >= min_bulk && n > best_len && !memchr(s, '\0', n)) {
            best = s;
            best_len = n;
            best_k = k;
        }
        k++;
        p = close + 1;
    }
    if (!best) return cJSON_ParseWithLength(buf, len);

    size_t head = (size_t)(best - buf), tail = len - head - best_len;
    char *hollow = malloc(head + tail + 1);
    if (!hollow) return cJSON_ParseWithLength(buf, len);
    memcpy(hollow, buf, head);
    memcpy(hollow + head, best + best_len, tail);
    hollow[head + tail] = '\0';
    cJSON *root = cJSON_ParseWithLength(hollow, head + tail);
    free(hollow);
    if (!root) return cJSON_ParseWithLength(buf, len);
    size_t want = best_k;
    bool is_key = false;
    cJSON *item = nth_string_value(root, &want, &is_key);
    char *value = item && item->valuestring && !item->valuestring[0] ? cJSON_malloc(best_len + 1) : NULL;
    if (!value) {
        cJSON_Delete(root);
        return cJSON_ParseWithLength(buf, len);
    }
    memcpy(value, best, best_len);
    value[best_len] = '\0';
    cJSON_free(item->valuestring);
    item->valuestring = value;
    return root;
}
