/* json.h — strict JSON in, and the one family of field readers over it.
 *
 * Every JSON document pressroom reads at a boundary (the message codecs in
 * base/message.c, the config in base/config.c) is parsed by json_parse_object and
 * read with the json_read_* family, so every error is one sentence of one shape:
 *
 *   "<where>: <field path>: expected <form>, found <what was found>"
 *
 * <where> names the source (the config file's path; the codec for a message: "job",
 * "task", "outcome"), <field path> the field, dotted, with array indexes
 * ("tiers.preview.model", "charges[1].stage"; "(top level)" for the document
 * itself). A syntax error names the position instead of a field:
 *   "<where>:<line>:<column>: expected valid JSON, found ..."
 *
 * Strict: beyond what cJSON checks, json_parse_object refuses
 *   - bytes that are not UTF-8 (overlong forms, encoded surrogates, code points
 *     above U+10FFFF, truncated sequences, stray continuation bytes);
 *   - NUL, raw or escaped as \u0000 (cJSON would silently cut the string there);
 *   - an escaped lone UTF-16 surrogate (\uD800 without its \uDC00..\uDFFF);
 *   - a control character (U+0001..U+001F) raw inside a string;
 *   - a key twice in one object (cJSON keeps both and lookups see the first);
 *   - anything but whitespace after the value, and a value that is not an object. */
#ifndef PRESSROOM_JSON_H
#define PRESSROOM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Where the errors go: the first one is kept in err, later ones are dropped. */
typedef struct {
    const char *where; /* the source, first in every error sentence (borrowed) */
    char *err;
    size_t errlen;
    bool failed;       /* an error was recorded */
} json_reader_t;

/* A field the document must have, or may leave out (then its destination keeps
 * the default it holds). A required string must also be non-empty. */
typedef enum { JSON_OPTIONAL = 0, JSON_REQUIRED } json_need_t;

void json_reader_init(json_reader_t *r, const char *where, char *err, size_t errlen);

/* Parses buf[0..len) (it need not be NUL-terminated and is never read past len) as
 * one strict JSON object. Returns the tree (the caller deletes it) or NULL with the
 * error recorded in r. */
cJSON *json_parse_object(json_reader_t *r, const char *buf, size_t len);

/* Records "<where>: <path>: expected <expected>, found <found>": found shown as
 * compact JSON (long values cut), NULL as "nothing". Returns -1. */
int json_fail(json_reader_t *r, const char *path, const char *expected, const cJSON *found);
/* The same with found as printf-formatted text. Returns -1. */
int json_failf(json_reader_t *r, const char *path, const char *expected, const char *found_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Field paths: "parent.name" ("name" at the top), "parent[index]". Into buf;
 * returns buf. Control characters in a name are shown as '?'. */
const char *json_path(char *buf, size_t len, const char *parent, const char *name);
const char *json_index_path(char *buf, size_t len, const char *parent, int index);

/* The readers. Each looks up `name` in obj (a missing field is fine when optional),
 * checks its type and range, writes *dst and returns 0, or records the error under
 * the path parent.name and returns -1. expected: the form named in the error; NULL
 * for the default ("an integer from lo to hi", ...). */
int json_read_string(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                     char *dst, size_t size);
int json_read_i64(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                  int64_t *dst, int64_t lo, int64_t hi, const char *expected);
int json_read_int(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                  int *dst, int lo, int hi, const char *expected);
int json_read_double(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                     double *dst, double lo, double hi, const char *expected);
int json_read_bool(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                   bool *dst);
/* A string that must be one of names (NULL-terminated); *dst gets its index. */
int json_read_enum(json_reader_t *r, const cJSON *obj, const char *parent, const char *name, json_need_t need,
                   const char *const *names, int *dst);

/* A string value v found at path (an array item): the same checks as
 * json_read_string. v NULL is a missing value. */
int json_read_string_at(json_reader_t *r, const cJSON *v, const char *path, json_need_t need, char *dst,
                        size_t size);

/* The member `name` of obj when it is an object (or an array of at most max_items);
 * NULL when it is missing (an error when required) or of another type (an error,
 * naming expected, NULL: "an object" / "an array of at most N items"). */
const cJSON *json_read_object(json_reader_t *r, const cJSON *obj, const char *parent, const char *name,
                              json_need_t need, const char *expected);
const cJSON *json_read_array(json_reader_t *r, const cJSON *obj, const char *parent, const char *name,
                             json_need_t need, int max_items, const char *expected);

/* Refuses a key of obj that is not in known (NULL-terminated): a typo must not pass
 * silently. The error lists the known keys. Returns 0 or -1. */
int json_check_keys(json_reader_t *r, const cJSON *obj, const char *parent, const char *const *known);

/* ==== Lenient parse of bodies that carry an image (provider replies) ==== */

/* Exactly cJSON_ParseWithLength(buf, len): the same tree, the same documents accepted
 * and refused (cJSON's own leniency included: this is not json_parse_object). Faster
 * when the document carries one long string (at least min_bulk bytes) with no escape
 * and no NUL, such as a base64 image: cJSON parses a copy with that string emptied,
 * and the string's bytes (its exact value, having no escapes) are copied in with
 * memcpy instead of going through cJSON's per-byte string parser. Whenever the emptied
 * string cannot be found again in the tree at its place (an unusual document), the
 * whole body is parsed by cJSON as it is. Returns the tree or NULL. */
cJSON *json_parse_bulk(const char *buf, size_t len, size_t min_bulk);

#endif
