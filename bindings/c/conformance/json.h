/*
 * json.h — a small JSON reader and writer for the C conformance runner.
 *
 * Role: parses manifests and the envelopes libplasmite returns, compares JSON values
 * structurally, and writes compact JSON to hand to libplasmite.
 *
 * Invariants
 * - Strings are UTF-8 with an explicit length: "\u0000" survives a parse/write round trip.
 * - \u escapes decode to UTF-8, surrogate pairs included; a lone surrogate is an error.
 * - A number is an integer (int64, or uint64 above INT64_MAX) when its text has no fraction
 *   or exponent and fits; otherwise a double. Integers and doubles never compare equal
 *   (as serde_json, the Rust runner's JSON, compares them).
 * - Object member order is kept for writing and ignored by json_equal.
 *
 * Spec: spec/CONFORMANCE.md §3.2.
 */
#ifndef CONFORMANCE_JSON_H
#define CONFORMANCE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum json_type {
    JSON_NULL,
    JSON_BOOL,
    JSON_INT,    /* int64 in `i` */
    JSON_UINT,   /* uint64 above INT64_MAX in `u` */
    JSON_DOUBLE, /* `d` */
    JSON_STRING, /* `str`, `len` */
    JSON_ARRAY,  /* `items`, `len` */
    JSON_OBJECT  /* `keys`, `klens`, `items`, `len` */
} json_type_t;

typedef struct json {
    json_type_t type;
    bool b;
    int64_t i;
    uint64_t u;
    double d;
    char *str;           /* NUL-terminated too, for convenience */
    size_t len;          /* string bytes, array items or object members */
    struct json **items; /* array items / object values */
    char **keys;         /* object keys (NUL-terminated too) */
    size_t *klens;
    size_t cap;
} json_t;

/* Parses text[0..len). On failure returns NULL and writes a message into err[0..errlen). */
json_t *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(json_t *v);

/* Constructors (NULL on allocation failure is not handled: the runner aborts). */
json_t *json_new(json_type_t type);
json_t *json_new_int(int64_t i);
json_t *json_new_string(const char *s, size_t len);
json_t *json_clone(const json_t *v);
/* Sets (replaces or appends) member `key` of an object; takes ownership of `val`. */
void json_object_set(json_t *obj, const char *key, json_t *val);
void json_array_push(json_t *arr, json_t *val);

/* Member `key` of an object, or NULL (also when `obj` is NULL or not an object). */
const json_t *json_get(const json_t *obj, const char *key);
/* The string of a string value, else NULL. */
const char *json_str(const json_t *v);
/* A non-negative integer into *out: true on success. */
bool json_as_u64(const json_t *v, uint64_t *out);
bool json_is_null(const json_t *v); /* NULL pointer or JSON null */

/* Structural equality: object key order ignored, arrays ordered, int vs double distinct. */
bool json_equal(const json_t *a, const json_t *b);

/* Compact JSON text; free() the result. *out_len gets its length (optional). */
char *json_write(const json_t *v, size_t *out_len);

#endif
