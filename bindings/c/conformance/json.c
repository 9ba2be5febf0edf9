/*
 * json.c — recursive-descent JSON reader, structural comparison and compact writer.
 * See json.h for the invariants.
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 1024

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("conformance: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("conformance: out of memory\n", stderr);
        abort();
    }
    return q;
}

json_t *json_new(json_type_t type) {
    json_t *v = xmalloc(sizeof *v);
    memset(v, 0, sizeof *v);
    v->type = type;
    return v;
}

json_t *json_new_int(int64_t i) {
    json_t *v = json_new(JSON_INT);
    v->i = i;
    return v;
}

json_t *json_new_string(const char *s, size_t len) {
    json_t *v = json_new(JSON_STRING);
    v->str = xmalloc(len + 1);
    memcpy(v->str, s, len);
    v->str[len] = '\0';
    v->len = len;
    return v;
}

void json_free(json_t *v) {
    if (!v) return;
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
        for (size_t k = 0; k < v->len; k++) {
            json_free(v->items[k]);
            if (v->keys) free(v->keys[k]);
        }
        free(v->items);
        free(v->keys);
        free(v->klens);
    }
    free(v->str);
    free(v);
}

static void grow(json_t *v) {
    if (v->len < v->cap) return;
    v->cap = v->cap ? v->cap * 2 : 4;
    v->items = xrealloc(v->items, v->cap * sizeof *v->items);
    if (v->type == JSON_OBJECT) {
        v->keys = xrealloc(v->keys, v->cap * sizeof *v->keys);
        v->klens = xrealloc(v->klens, v->cap * sizeof *v->klens);
    }
}

void json_array_push(json_t *arr, json_t *val) {
    grow(arr);
    arr->items[arr->len++] = val;
}

static void object_push(json_t *obj, char *key, size_t klen, json_t *val) {
    grow(obj);
    obj->keys[obj->len] = key;
    obj->klens[obj->len] = klen;
    obj->items[obj->len] = val;
    obj->len++;
}

static long find_key(const json_t *obj, const char *key, size_t klen) {
    /* The last occurrence wins, as serde_json's maps keep the last duplicate. */
    for (size_t k = obj->len; k > 0; k--) {
        if (obj->klens[k - 1] == klen && memcmp(obj->keys[k - 1], key, klen) == 0)
            return (long)(k - 1);
    }
    return -1;
}

void json_object_set(json_t *obj, const char *key, json_t *val) {
    size_t klen = strlen(key);
    long at = find_key(obj, key, klen);
    if (at >= 0) {
        json_free(obj->items[at]);
        obj->items[at] = val;
        return;
    }
    char *k = xmalloc(klen + 1);
    memcpy(k, key, klen + 1);
    object_push(obj, k, klen, val);
}

json_t *json_clone(const json_t *v) {
    if (!v) return NULL;
    json_t *c = json_new(v->type);
    c->b = v->b;
    c->i = v->i;
    c->u = v->u;
    c->d = v->d;
    switch (v->type) {
    case JSON_STRING:
        json_free(c);
        return json_new_string(v->str, v->len);
    case JSON_ARRAY:
        for (size_t k = 0; k < v->len; k++) json_array_push(c, json_clone(v->items[k]));
        break;
    case JSON_OBJECT:
        for (size_t k = 0; k < v->len; k++) {
            char *key = xmalloc(v->klens[k] + 1);
            memcpy(key, v->keys[k], v->klens[k] + 1);
            object_push(c, key, v->klens[k], json_clone(v->items[k]));
        }
        break;
    default:
        break;
    }
    return c;
}

const json_t *json_get(const json_t *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    long at = find_key(obj, key, strlen(key));
    return at >= 0 ? obj->items[at] : NULL;
}

const char *json_str(const json_t *v) {
    return v && v->type == JSON_STRING ? v->str : NULL;
}

bool json_as_u64(const json_t *v, uint64_t *out) {
    if (!v) return false;
    if (v->type == JSON_INT && v->i >= 0) {
        *out = (uint64_t)v->i;
        return true;
    }
    if (v->type == JSON_UINT) {
        *out = v->u;
        return true;
    }
    return false;
}

bool json_is_null(const json_t *v) {
    return !v || v->type == JSON_NULL;
}

bool json_equal(const json_t *a, const json_t *b) {
    if (!a || !b) return a == b;
    if (a->type != b->type) return false;
    switch (a->type) {
    case JSON_NULL:
        return true;
    case JSON_BOOL:
        return a->b == b->b;
    case JSON_INT:
        return a->i == b->i;
    case JSON_UINT:
        return a->u == b->u;
    case JSON_DOUBLE:
        return a->d == b->d;
    case JSON_STRING:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case JSON_ARRAY:
        if (a->len != b->len) return false;
        for (size_t k = 0; k < a->len; k++)
            if (!json_equal(a->items[k], b->items[k])) return false;
        return true;
    case JSON_OBJECT:
        if (a->len != b->len) return false;
        for (size_t k = 0; k < a->len; k++) {
            long at = find_key(b, a->keys[k], a->klens[k]);
            if (at < 0 || !json_equal(a->items[k], b->items[at])) return false;
        }
        return true;
    }
    return false;
}

/* ---- Reader ---------------------------------------------------------------------------- */

typedef struct parser {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
    bool failed;
} parser_t;

static void perr(parser_t *p, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = true;
    if (!p->err || !p->errlen) return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s at byte %zu", msg, p->pos);
}

static void skip_ws(parser_t *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static bool lit(parser_t *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, word, n) == 0) {
        p->pos += n;
        return true;
    }
    return false;
}

typedef struct sbuf {
    char *d;
    size_t len, cap;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1) cap *= 2;
        b->d = xrealloc(b->d, cap);
        b->cap = cap;
    }
    memcpy(b->d + b->len, s, n);
    b->len += n;
    b->d[b->len] = '\0';
}

static void sb_putc(sbuf_t *b, char c) {
    sb_put(b, &c, 1);
}

static int hex4(parser_t *p, unsigned *out) {
    if (p->len - p->pos < 4) return -1;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->pos + k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static void put_utf8(sbuf_t *b, unsigned cp) {
    char o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sb_put(b, o, n);
}

/* Parses a string at p->pos (the opening quote); the bytes go to *b. */
static bool parse_string(parser_t *p, sbuf_t *b) {
    p->pos++; /* opening quote */
    sb_put(b, "", 0);
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            return true;
        }
        if (c < 0x20) {
            perr(p, "control character in string");
            return false;
        }
        if (c != '\\') {
            size_t start = p->pos;
            while (p->pos < p->len && p->s[p->pos] != '"' && p->s[p->pos] != '\\' &&
                   (unsigned char)p->s[p->pos] >= 0x20)
                p->pos++;
            sb_put(b, p->s + start, p->pos - start);
            continue;
        }
        p->pos++;
        if (p->pos >= p->len) break;
        char e = p->s[p->pos++];
        switch (e) {
        case '"': sb_putc(b, '"'); break;
        case '\\': sb_putc(b, '\\'); break;
        case '/': sb_putc(b, '/'); break;
        case 'b': sb_putc(b, '\b'); break;
        case 'f': sb_putc(b, '\f'); break;
        case 'n': sb_putc(b, '\n'); break;
        case 'r': sb_putc(b, '\r'); break;
        case 't': sb_putc(b, '\t'); break;
        case 'u': {
            unsigned cp;
            if (hex4(p, &cp) != 0) {
                perr(p, "bad \\u escape");
                return false;
            }
            if (cp >= 0xD800 && cp < 0xDC00) {
                unsigned lo;
                if (!lit(p, "\\u") || hex4(p, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    perr(p, "lone surrogate in \\u escape");
                    return false;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                perr(p, "lone surrogate in \\u escape");
                return false;
            }
            put_utf8(b, cp);
            break;
        }
        default:
            perr(p, "bad escape");
            return false;
        }
    }
    perr(p, "unterminated string");
    return false;
}

static json_t *parse_number(parser_t *p) {
    size_t start = p->pos;
    bool integral = true;
    if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
    if (p->pos >= p->len) goto bad;
    if (p->s[p->pos] == '0') {
        p->pos++;
    } else if (p->s[p->pos] >= '1' && p->s[p->pos] <= '9') {
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    } else {
        goto bad;
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        integral = false;
        p->pos++;
        size_t d = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
        if (p->pos == d) goto bad;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        integral = false;
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        size_t d = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
        if (p->pos == d) goto bad;
    }
    {
        char buf[512];
        size_t n = p->pos - start;
        char *text = n < sizeof buf ? buf : xmalloc(n + 1);
        memcpy(text, p->s + start, n);
        text[n] = '\0';
        json_t *v = NULL;
        if (integral) {
            errno = 0;
            long long i = strtoll(text, NULL, 10);
            if (errno == 0) {
                v = json_new_int((int64_t)i);
            } else if (text[0] != '-') {
                errno = 0;
                unsigned long long u = strtoull(text, NULL, 10);
                if (errno == 0) {
                    v = json_new(JSON_UINT);
                    v->u = (uint64_t)u;
                }
            }
        }
        if (!v) {
            v = json_new(JSON_DOUBLE);
            v->d = strtod(text, NULL);
        }
        if (text != buf) free(text);
        return v;
    }
bad:
    perr(p, "bad number");
    return NULL;
}

static json_t *parse_value(parser_t *p, int depth) {
    if (depth > MAX_DEPTH) {
        perr(p, "nesting too deep");
        return NULL;
    }
    skip_ws(p);
    if (p->pos >= p->len) {
        perr(p, "unexpected end of input");
        return NULL;
    }
    char c = p->s[p->pos];
    if (c == '{') {
        json_t *obj = json_new(JSON_OBJECT);
        p->pos++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            return obj;
        }
        for (;;) {
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                perr(p, "expected a key");
                break;
            }
            sbuf_t key = {0};
            if (!parse_string(p, &key)) {
                free(key.d);
                break;
            }
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key.d);
                perr(p, "expected ':'");
                break;
            }
            p->pos++;
            json_t *val = parse_value(p, depth + 1);
            if (!val) {
                free(key.d);
                break;
            }
            long at = find_key(obj, key.d, key.len);
            if (at >= 0) {
                json_free(obj->items[at]);
                obj->items[at] = val;
                free(key.d);
            } else {
                object_push(obj, key.d, key.len, val);
            }
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == '}') {
                p->pos++;
                return obj;
            }
            perr(p, "expected ',' or '}'");
            break;
        }
        json_free(obj);
        return NULL;
    }
    if (c == '[') {
        json_t *arr = json_new(JSON_ARRAY);
        p->pos++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return arr;
        }
        for (;;) {
            json_t *val = parse_value(p, depth + 1);
            if (!val) break;
            json_array_push(arr, val);
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == ']') {
                p->pos++;
                return arr;
            }
            perr(p, "expected ',' or ']'");
            break;
        }
        json_free(arr);
        return NULL;
    }
    if (c == '"') {
        sbuf_t b = {0};
        if (!parse_string(p, &b)) {
            free(b.d);
            return NULL;
        }
        json_t *v = json_new(JSON_STRING);
        v->str = b.d;
        v->len = b.len;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p);
    if (lit(p, "true")) {
        json_t *v = json_new(JSON_BOOL);
        v->b = true;
        return v;
    }
    if (lit(p, "false")) return json_new(JSON_BOOL);
    if (lit(p, "null")) return json_new(JSON_NULL);
    perr(p, "unexpected character");
    return NULL;
}

json_t *json_parse(const char *text, size_t len, char *err, size_t errlen) {
    parser_t p = {text, len, 0, err, errlen, false};
    if (err && errlen) err[0] = '\0';
    json_t *v = parse_value(&p, 0);
    if (!v) return NULL;
    skip_ws(&p);
    if (p.pos != p.len) {
        perr(&p, "trailing characters");
        json_free(v);
        return NULL;
    }
    return v;
}

/* ---- Writer ---------------------------------------------------------------------------- */

static void write_string(sbuf_t *b, const char *s, size_t len) {
    sb_putc(b, '"');
    size_t run = 0;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        const char *esc = NULL;
        char hex[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(hex, sizeof hex, "\\u%04x", c);
                esc = hex;
            }
        }
        if (esc) {
            sb_put(b, s + run, k - run);
            sb_put(b, esc, strlen(esc));
            run = k + 1;
        }
    }
    sb_put(b, s + run, len - run);
    sb_putc(b, '"');
}

static void write_double(sbuf_t *b, double d) {
    if (!isfinite(d)) {
        sb_put(b, "null", 4);
        return;
    }
    char buf[40];
    /* The shortest precision that reads back as the same double. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    sb_put(b, buf, strlen(buf));
    if (!strpbrk(buf, ".eEn")) sb_put(b, ".0", 2); /* stays a float when read back */
}

static void write_value(sbuf_t *b, const json_t *v) {
    char buf[32];
    switch (v->type) {
    case JSON_NULL: sb_put(b, "null", 4); break;
    case JSON_BOOL: v->b ? sb_put(b, "true", 4) : sb_put(b, "false", 5); break;
    case JSON_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)v->i);
        sb_put(b, buf, strlen(buf));
        break;
    case JSON_UINT:
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v->u);
        sb_put(b, buf, strlen(buf));
        break;
    case JSON_DOUBLE: write_double(b, v->d); break;
    case JSON_STRING: write_string(b, v->str, v->len); break;
    case JSON_ARRAY:
        sb_putc(b, '[');
        for (size_t k = 0; k < v->len; k++) {
            if (k) sb_putc(b, ',');
            write_value(b, v->items[k]);
        }
        sb_putc(b, ']');
        break;
    case JSON_OBJECT:
        sb_putc(b, '{');
        for (size_t k = 0; k < v->len; k++) {
            if (k) sb_putc(b, ',');
            write_string(b, v->keys[k], v->klens[k]);
            sb_putc(b, ':');
            write_value(b, v->items[k]);
        }
        sb_putc(b, '}');
        break;
    }
}

char *json_write(const json_t *v, size_t *out_len) {
    sbuf_t b = {0};
    sb_put(&b, "", 0);
    if (v) write_value(&b, v);
    else sb_put(&b, "null", 4);
    if (out_len) *out_len = b.len;
    return b.d;
}
