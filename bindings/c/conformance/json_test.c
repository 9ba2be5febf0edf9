/*
 * json_test.c — checks of the conformance runner's JSON reader and writer (json.h): the
 * invariants the runner's comparisons rest on. Prints each failed check; exits 1 if any.
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "json_test: %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

static json_t *parse(const char *s) {
    return json_parse(s, strlen(s), NULL, 0);
}

/* Parses `in`, writes it, and compares with `want`. */
static void round_trip(const char *in, const char *want) {
    json_t *v = parse(in);
    CHECK(v != NULL);
    if (!v) return;
    size_t len;
    char *out = json_write(v, &len);
    if (strlen(want) != len || memcmp(out, want, len) != 0) {
        fprintf(stderr, "json_test: %s wrote %.*s, want %s\n", in, (int)len, out, want);
        failures++;
    }
    free(out);
    json_free(v);
}

static void equal(const char *a, const char *b, int want) {
    json_t *x = parse(a), *y = parse(b);
    CHECK(x && y);
    if (x && y && json_equal(x, y) != want) {
        fprintf(stderr, "json_test: equal(%s, %s) should be %d\n", a, b, want);
        failures++;
    }
    json_free(x);
    json_free(y);
}

static void refused(const char *in) {
    char err[128];
    json_t *v = json_parse(in, strlen(in), err, sizeof err);
    if (v || !err[0]) {
        fprintf(stderr, "json_test: %s should be refused with a message\n", in);
        failures++;
    }
    json_free(v);
}

/* Escapes decode to UTF-8, surrogate pairs included. */
static void test_unicode_escapes_decode_to_utf8(void) {
    json_t *v = parse("\"\\u00e9\\u4e2d\\ud83d\\ude00\\u0000x\"");
    CHECK(v && v->type == JSON_STRING);
    if (v) {
        const char want[] = "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\0x";
        CHECK(v->len == sizeof want - 1 && memcmp(v->str, want, v->len) == 0);
    }
    json_free(v);
    round_trip("\"a\\u0000b\\u0001\\t\\n\\\"\\\\\\/\"", "\"a\\u0000b\\u0001\\t\\n\\\"\\\\/\"");
    round_trip("\"\xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\x80\"");
    refused("\"\\ud83d\"");
    refused("\"\\ude00\"");
    refused("\"\\ud83dx\"");
    refused("\"\\u12\"");
}

/* Integers stay integers (both ends of int64, and uint64 beyond it); others are doubles. */
static void test_numbers_keep_integer_or_double(void) {
    json_t *v = parse("[-9223372036854775808, 9223372036854775807, 18446744073709551615, "
                      "18446744073709551616, 1.0, 1e2, -0, 0.1]");
    CHECK(v && v->len == 8);
    if (v && v->len == 8) {
        CHECK(v->items[0]->type == JSON_INT && v->items[0]->i == INT64_MIN);
        CHECK(v->items[1]->type == JSON_INT && v->items[1]->i == INT64_MAX);
        CHECK(v->items[2]->type == JSON_UINT && v->items[2]->u == UINT64_MAX);
        CHECK(v->items[3]->type == JSON_DOUBLE);
        CHECK(v->items[4]->type == JSON_DOUBLE && v->items[4]->d == 1.0);
        CHECK(v->items[5]->type == JSON_DOUBLE && v->items[5]->d == 100.0);
        CHECK(v->items[6]->type == JSON_INT && v->items[6]->i == 0);
        CHECK(v->items[7]->type == JSON_DOUBLE && v->items[7]->d == 0.1);
    }
    json_free(v);
    round_trip("[1.0,0.1,1e+300,-2.5,23.5,1e-7,-9223372036854775808]",
               "[1.0,0.1,1e+300,-2.5,23.5,1e-07,-9223372036854775808]");
    refused("01");
    refused("1.");
    refused("-");
    refused("1e");
}

/* Object member order never matters; array order does; 1 is not 1.0. */
static void test_equality_is_structural(void) {
    equal("{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}", 1);
    equal("[1,2]", "[2,1]", 0);
    equal("{\"x\":1}", "{\"x\":1.0}", 0);
    equal("{\"x\":1}", "{\"x\":1,\"y\":null}", 0);
    equal("{}", "[]", 0);
    equal("\"a\\u0000b\"", "\"a\\u0000c\"", 0);
    equal("null", "null", 1);
}

/* Malformed text is refused, never half-parsed. */
static void test_malformed_text_is_refused(void) {
    refused("");
    refused("{");
    refused("{\"a\" 1}");
    refused("[1,]");
    refused("{\"a\":1,}");
    refused("tru");
    refused("\"abc");
    refused("\"a\nb\"");
    refused("1 2");
    round_trip(" { \"a\" : [ true , false , null ] } ", "{\"a\":[true,false,null]}");
}

int main(void) {
    test_unicode_escapes_decode_to_utf8();
    test_numbers_keep_integer_or_double();
    test_equality_is_structural();
    test_malformed_text_is_refused();
    if (failures) {
        fprintf(stderr, "json_test: %d failed\n", failures);
        return 1;
    }
    return 0;
}
