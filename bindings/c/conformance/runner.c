/*
 * runner.c — the C runner of the conformance suite: runs manifests (spec/CONFORMANCE.md)
 * through libplasmite's C ABI.
 *
 * Role: the `c` surface of ci/conformance. It reads each manifest, runs its steps in order
 * through plasmite.h (pools, appends, gets, streams with gap policy / tags / where / live /
 * last-N, and the info, list, delete and batch extensions), compares every outcome with the
 * step's expectations, and prints one line per failed or unsupported step and, per manifest,
 * `conformance: N passed, M failed, K unsupported (c: PATH)`. It behaves as the Rust runner
 * (cli/examples/conformance) does: same ops, same comparisons, same lines, same exit codes.
 *
 * Invariants
 * - Every step is run and counted: a failed step does not stop the manifest.
 * - An op the surface cannot express is reported unsupported, never passed silently (the C
 *   ABI expresses every op, so none is).
 * - Exit status: 0 when no step failed, 1 when one did, 2 on a usage or manifest error.
 * - A second writer (append_after_open, the retention-gap fill) is a second pool handle,
 *   opened beside the one the step's own operation uses.
 *
 * Usage: conformance-c MANIFEST…   (the CLI for spawned processes is $PLASMITE_BIN, else pls)
 *
 * Spec: spec/CONFORMANCE.md.
 */
#define _GNU_SOURCE
#include "json.h"
#include "plasmite.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Every op a manifest may use (v0 ops first, then the extensions). */
static const char *const OPS[] = {
    "create_pool", "append",       "get",          "tail",          "retention_gap",
    "list_pools",  "pool_info",    "delete_pool",  "spawn_poke",    "corrupt_pool_header",
    "chmod_path",  "append_batch", "append_many",  "install_pool",  "spawn_reader",
    "await_reader",
};
#define N_OPS (sizeof OPS / sizeof OPS[0])

/* ---- Small helpers ----------------------------------------------------------------------- */

static char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static char *vfmt(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) n = 0;
    char *s = malloc((size_t)n + 1);
    if (!s) abort();
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s = vfmt(f, ap);
    va_end(ap);
    return s;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- Verdicts ---------------------------------------------------------------------------- */

enum { V_PASS = 0, V_FAIL = 1, V_UNSUPPORTED = 2 };

/* An error as the ABI reports it: the fields the manifests compare. */
typedef struct failure {
    const char *kind;
    char *message;
    bool has_path;
    bool has_seq;
    uint64_t seq;
    bool has_offset;
} failure_t;

static const char *kind_name(int32_t kind) {
    switch (kind) {
    case PLSM_ERROR_INTERNAL: return "Internal";
    case PLSM_ERROR_USAGE: return "Usage";
    case PLSM_ERROR_NOT_FOUND: return "NotFound";
    case PLSM_ERROR_ALREADY_EXISTS: return "AlreadyExists";
    case PLSM_ERROR_BUSY: return "Busy";
    case PLSM_ERROR_PERMISSION: return "Permission";
    case PLSM_ERROR_CORRUPT: return "Corrupt";
    case PLSM_ERROR_IO: return "Io";
    case PLSM_ERROR_RETENTION_GAP: return "RetentionGap";
    default: return "Internal";
    }
}

/* Takes over an ABI error (frees it) into *f. A failure without an error object (the ABI
 * always gives one) is Internal. */
static void take_error(plsm_error_t *e, failure_t *f) {
    memset(f, 0, sizeof *f);
    if (!e) {
        f->kind = "Internal";
        f->message = xstrdup("failed without an error");
        return;
    }
    f->kind = kind_name(e->kind);
    f->message = xstrdup(e->message ? e->message : "");
    f->has_path = e->path != NULL;
    f->has_seq = e->has_seq != 0;
    f->seq = e->seq;
    f->has_offset = e->has_offset != 0;
    plsm_error_free(e);
}

static void failure_clear(failure_t *f) {
    free(f->message);
    memset(f, 0, sizeof *f);
}

static char *failure_text(const failure_t *f) {
    if (f->has_seq) return fmt("%s: %s (seq: %" PRIu64 ")", f->kind, f->message, f->seq);
    return fmt("%s: %s", f->kind, f->message);
}

/* ---- The run ----------------------------------------------------------------------------- */

typedef struct reader {
    char *name;
    pid_t pid;
    int fd;
    uint64_t max;
} reader_t;

typedef struct run {
    char *mdir;    /* the manifest's directory */
    char *workdir; /* the pool directory */
    plsm_client_t *client;
    reader_t *readers;
    size_t n_readers;
    char *reason;  /* a failed step's reason, or an unsupported step's why */
    char *feature; /* an unsupported step's feature */
} run_t;

static int fail(run_t *r, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    free(r->reason);
    r->reason = vfmt(f, ap);
    va_end(ap);
    return V_FAIL;
}

/* Outcomes of a surface call: OK, an ABI error (compared with expect.error), or the runner
 * could not do its part (r->reason says why). */
enum { OC_OK = 0, OC_ERROR = -1, OC_BROKEN = -2 };

static int broken(run_t *r, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    free(r->reason);
    r->reason = vfmt(f, ap);
    va_end(ap);
    return OC_BROKEN;
}

static char *resolve(const run_t *r, const char *pool) {
    if (strchr(pool, '/')) return xstrdup(pool);
    size_t n = strlen(pool);
    if (n >= 9 && strcmp(pool + n - 9, ".plasmite") == 0) return fmt("%s/%s", r->workdir, pool);
    return fmt("%s/%s.plasmite", r->workdir, pool);
}

/* ---- Manifest values --------------------------------------------------------------------- */

typedef struct strlist {
    const char **v;
    size_t n;
} strlist_t;

/* Tags (or where predicates): absent or null is none; else an array of strings. */
static int tags_of(run_t *r, const json_t *v, strlist_t *out) {
    out->v = NULL;
    out->n = 0;
    if (json_is_null(v)) return V_PASS;
    if (v->type != JSON_ARRAY) return fail(r, "tags must be array");
    out->v = calloc(v->len + 1, sizeof *out->v);
    if (!out->v) abort();
    for (size_t k = 0; k < v->len; k++) {
        const char *s = json_str(v->items[k]);
        if (!s) {
            free(out->v);
            out->v = NULL;
            return fail(r, "expected string array");
        }
        out->v[k] = s;
    }
    out->n = v->len;
    return V_PASS;
}

typedef struct in_msg {
    const json_t *data;
    strlist_t tags;
} in_msg_t;

static void in_msgs_free(in_msg_t *m, size_t n) {
    for (size_t k = 0; k < n; k++) free(m[k].tags.v);
    free(m);
}

/* `[{data, tags?}]` */
static int messages_of(run_t *r, const json_t *v, in_msg_t **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!v || v->type != JSON_ARRAY) return fail(r, "input.messages must be array");
    in_msg_t *m = calloc(v->len + 1, sizeof *m);
    if (!m) abort();
    for (size_t k = 0; k < v->len; k++) {
        m[k].data = json_get(v->items[k], "data");
        if (!m[k].data || tags_of(r, json_get(v->items[k], "tags"), &m[k].tags) != V_PASS) {
            in_msgs_free(m, k + 1);
            if (!json_get(v->items[k], "data")) return fail(r, "message.data is required");
            return V_FAIL;
        }
    }
    *out = m;
    *n_out = v->len;
    return V_PASS;
}

/* One message as read back: an envelope {seq, time, meta: {tags}, data}. */
typedef struct msg {
    uint64_t seq;
    json_t *env;
    const json_t *data;
    const json_t *tags; /* an array of strings */
} msg_t;

typedef struct msgs {
    msg_t *v;
    size_t n, cap;
} msgs_t;

static void msgs_free(msgs_t *m) {
    for (size_t k = 0; k < m->n; k++) json_free(m->v[k].env);
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* Parses an envelope (taking over `env`): false when it is not one. */
static bool msg_from_envelope(json_t *env, msg_t *out) {
    const json_t *tags = json_get(json_get(env, "meta"), "tags");
    if (!json_as_u64(json_get(env, "seq"), &out->seq) || !json_get(env, "data") || !tags ||
        tags->type != JSON_ARRAY)
        return false;
    for (size_t k = 0; k < tags->len; k++)
        if (tags->items[k]->type != JSON_STRING) return false;
    out->env = env;
    out->data = json_get(env, "data");
    out->tags = tags;
    return true;
}

/* A libplasmite buffer holding an envelope into *out (frees the buffer). */
static int msg_from_buf(run_t *r, plsm_buf_t *buf, msg_t *out) {
    char err[256];
    json_t *env = json_parse((const char *)buf->data, buf->len, err, sizeof err);
    if (!env || !msg_from_envelope(env, out)) {
        int rc = broken(r, "not an envelope: %.*s", (int)buf->len, (const char *)buf->data);
        json_free(env);
        plsm_buf_free(buf);
        return rc;
    }
    plsm_buf_free(buf);
    return OC_OK;
}

static void msgs_push(msgs_t *m, msg_t v) {
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->v = realloc(m->v, m->cap * sizeof *m->v);
        if (!m->v) abort();
    }
    m->v[m->n++] = v;
}

/* ---- The surface: libplasmite ------------------------------------------------------------ */

static int open_pool(run_t *r, const char *pool, plsm_pool_t **out, failure_t *f) {
    plsm_error_t *e = NULL;
    if (plsm_pool_open(r->client, pool, out, &e) != 0) {
        take_error(e, f);
        return OC_ERROR;
    }
    return OC_OK;
}

static int s_create_pool(run_t *r, const char *pool, uint64_t size, failure_t *f) {
    plsm_pool_t *p = NULL;
    plsm_error_t *e = NULL;
    if (plsm_pool_create(r->client, pool, size, &p, &e) != 0) {
        take_error(e, f);
        return OC_ERROR;
    }
    plsm_pool_free(p);
    return OC_OK;
}

/* Appends through an open handle; *seq gets the committed sequence. */
static int append_on(run_t *r, plsm_pool_t *p, const json_t *data, const strlist_t *tags,
                     uint64_t *seq, failure_t *f) {
    size_t len;
    char *text = json_write(data, &len);
    plsm_buf_t out = {0};
    plsm_error_t *e = NULL;
    int rc = plsm_pool_append_json(p, (const uint8_t *)text, len, tags->v, tags->n, 0, &out, &e);
    free(text);
    if (rc != 0) {
        take_error(e, f);
        return OC_ERROR;
    }
    msg_t m;
    if ((rc = msg_from_buf(r, &out, &m)) != OC_OK) return rc;
    *seq = m.seq;
    json_free(m.env);
    return OC_OK;
}

static int s_append(run_t *r, const char *pool, const json_t *data, const strlist_t *tags,
                    uint64_t *seq, failure_t *f) {
    plsm_pool_t *p = NULL;
    int rc = open_pool(r, pool, &p, f);
    if (rc == OC_OK) rc = append_on(r, p, data, tags, seq, f);
    plsm_pool_free(p);
    return rc;
}

static bool same_tags(const strlist_t *a, const strlist_t *b) {
    if (a->n != b->n) return false;
    for (size_t k = 0; k < a->n; k++)
        if (strcmp(a->v[k], b->v[k]) != 0) return false;
    return true;
}

/* Appends the messages with plsm_pool_append_batch_jsonl: one call per run of consecutive
 * messages with the same tags (the call takes one tag set for all its lines). */
static int s_append_batch(run_t *r, const char *pool, const in_msg_t *m, size_t n,
                          bool *has_first, uint64_t *first, uint64_t *count, failure_t *f) {
    plsm_pool_t *p = NULL;
    int rc = open_pool(r, pool, &p, f);
    *has_first = false;
    *count = 0;
    for (size_t k = 0; rc == OC_OK && k < n;) {
        size_t end = k + 1;
        while (end < n && same_tags(&m[k].tags, &m[end].tags)) end++;
        char *jsonl = NULL;
        size_t len = 0;
        for (size_t j = k; j < end; j++) {
            size_t l;
            char *line = json_write(m[j].data, &l);
            jsonl = realloc(jsonl, len + l + 1);
            if (!jsonl) abort();
            memcpy(jsonl + len, line, l);
            jsonl[len + l] = '\n';
            len += l + 1;
            free(line);
        }
        uint64_t fs = 0, c = 0;
        plsm_error_t *e = NULL;
        if (plsm_pool_append_batch_jsonl(p, (const uint8_t *)jsonl, len, m[k].tags.v,
                                         m[k].tags.n, 0, &fs, &c, &e) != 0) {
            take_error(e, f);
            rc = OC_ERROR;
        } else {
            if (!*has_first && c > 0) {
                *has_first = true;
                *first = fs;
            }
            *count += c;
        }
        free(jsonl);
        k = end;
    }
    plsm_pool_free(p);
    return rc;
}

static int s_get(run_t *r, const char *pool, uint64_t seq, msg_t *out, failure_t *f) {
    plsm_pool_t *p = NULL;
    int rc = open_pool(r, pool, &p, f);
    if (rc == OC_OK) {
        plsm_buf_t buf = {0};
        plsm_error_t *e = NULL;
        if (plsm_pool_get_json(p, seq, &buf, &e) != 0) {
            take_error(e, f);
            rc = OC_ERROR;
        } else {
            rc = msg_from_buf(r, &buf, out);
        }
    }
    plsm_pool_free(p);
    return rc;
}

enum { START_OLDEST, START_LIVE, START_LAST };

typedef struct tail_spec {
    bool has_since;
    uint64_t since;
    bool has_max;
    uint64_t max;
    strlist_t tags;
    strlist_t wheres;
    int start;
    uint64_t last;
    bool gap_error;
    uint64_t timeout_ms;
} tail_spec_t;

/* Called right after the tail opened (n = 0) and after each message (n read so far). Returns
 * false with r->reason set when the runner's part failed. */
typedef bool (*hook_fn)(run_t *r, void *ctx, size_t n);

/* Reads a tail into *out; *err gets the error that ended it (opening included), if any. */
static int s_tail(run_t *r, const char *pool, const tail_spec_t *spec, hook_fn hook, void *ctx,
                  msgs_t *out, failure_t *err, bool *has_err) {
    memset(out, 0, sizeof *out);
    *has_err = false;
    plsm_pool_t *p = NULL;
    if (open_pool(r, pool, &p, err) != OC_OK) {
        *has_err = true;
        return OC_OK;
    }
    plsm_stream_options_t o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.gap_policy = spec->gap_error ? PLSM_GAP_ERROR : PLSM_GAP_CONTINUE;
    if (spec->start == START_OLDEST && spec->has_since) {
        o.has_since = 1;
        o.since_seq = spec->since;
    }
    if (spec->has_max) {
        o.has_max = 1;
        o.max_messages = spec->max;
    }
    o.has_timeout = 1;
    o.timeout_ms = spec->timeout_ms;
    plsm_stream_filter_t flt;
    memset(&flt, 0, sizeof flt);
    flt.struct_size = sizeof flt;
    flt.start = spec->start == START_LIVE   ? PLSM_START_LIVE
                : spec->start == START_LAST ? PLSM_START_LAST
                                            : PLSM_START_DEFAULT;
    flt.last_n = spec->last;
    flt.tags = spec->tags.n ? spec->tags.v : NULL;
    flt.tags_len = spec->tags.n;
    flt.where_exprs = spec->wheres.n ? spec->wheres.v : NULL;
    flt.where_len = spec->wheres.n;
    plsm_stream_t *s = NULL;
    plsm_error_t *e = NULL;
    int rc = plsm_stream_open_ex2(p, &o, &flt, &s, &e);
    plsm_pool_free(p);
    if (rc != 0) {
        take_error(e, err);
        *has_err = true;
        return OC_OK;
    }
    int result = OC_OK;
    if (hook && !hook(r, ctx, 0)) {
        result = OC_BROKEN;
        goto done;
    }
    for (;;) {
        plsm_buf_t buf = {0};
        e = NULL;
        rc = plsm_stream_next(s, &buf, &e);
        if (rc == 0) break;
        if (rc < 0) {
            take_error(e, err);
            *has_err = true;
            break;
        }
        msg_t m;
        if ((result = msg_from_buf(r, &buf, &m)) != OC_OK) break;
        msgs_push(out, m);
        if (hook && !hook(r, ctx, out->n)) {
            result = OC_BROKEN;
            break;
        }
    }
done:
    plsm_stream_free(s);
    if (result != OC_OK) {
        msgs_free(out);
        if (*has_err) failure_clear(err);
        *has_err = false;
    }
    return result;
}

static int s_list_pools(run_t *r, json_t **names, failure_t *f) {
    plsm_buf_t buf = {0};
    plsm_error_t *e = NULL;
    if (plsm_pool_list_json(r->client, &buf, &e) != 0) {
        take_error(e, f);
        return OC_ERROR;
    }
    char err[256];
    json_t *list = json_parse((const char *)buf.data, buf.len, err, sizeof err);
    plsm_buf_free(&buf);
    if (!list || list->type != JSON_ARRAY) {
        json_free(list);
        return broken(r, "pool list is not a JSON array: %s", err);
    }
    *names = json_new(JSON_ARRAY);
    for (size_t k = 0; k < list->len; k++) {
        const json_t *name = json_get(list->items[k], "name");
        if (name) json_array_push(*names, json_clone(name));
    }
    json_free(list);
    return OC_OK;
}

static int s_pool_info(run_t *r, const char *pool, json_t **info, failure_t *f) {
    plsm_pool_t *p = NULL;
    int rc = open_pool(r, pool, &p, f);
    if (rc == OC_OK) {
        plsm_buf_t buf = {0};
        plsm_error_t *e = NULL;
        if (plsm_pool_info_json(p, &buf, &e) != 0) {
            take_error(e, f);
            rc = OC_ERROR;
        } else {
            char err[256];
            *info = json_parse((const char *)buf.data, buf.len, err, sizeof err);
            plsm_buf_free(&buf);
            if (!*info) rc = broken(r, "pool info is not JSON: %s", err);
        }
    }
    plsm_pool_free(p);
    return rc;
}

static int s_delete_pool(run_t *r, const char *pool, failure_t *f) {
    plsm_error_t *e = NULL;
    if (plsm_pool_delete(r->client, pool, &e) != 0) {
        take_error(e, f);
        return OC_ERROR;
    }
    return OC_OK;
}

/* ---- Comparisons (spec/CONFORMANCE.md §3) ------------------------------------------------ */

static int match_error(run_t *r, const json_t *w, const failure_t *e) {
    const char *kind = json_str(json_get(w, "kind"));
    if (!kind) return fail(r, "expect.error.kind is required");
    if (strcmp(kind, e->kind) != 0)
        return fail(r, "expected error kind %s, got %s", kind, e->kind);
    const char *sub = json_str(json_get(w, "message_contains"));
    if (sub && !strstr(e->message, sub))
        return fail(r, "expected message to contain '%s', got '%s'", sub, e->message);
    struct {
        const char *key;
        bool has;
        const char *what;
    } presence[] = {
        {"has_path", e->has_path, "path"},
        {"has_seq", e->has_seq, "seq"},
        {"has_offset", e->has_offset, "offset"},
    };
    for (size_t k = 0; k < 3; k++) {
        const json_t *want = json_get(w, presence[k].key);
        if (want && want->type == JSON_BOOL && want->b != presence[k].has)
            return fail(r, "%s presence mismatch", presence[k].what);
    }
    /* Extension: the exact sequence the error names. */
    uint64_t seq;
    if (json_as_u64(json_get(w, "seq"), &seq) && !(e->has_seq && e->seq == seq)) {
        if (e->has_seq)
            return fail(r, "expected error seq %" PRIu64 ", got Some(%" PRIu64 ")", seq, e->seq);
        return fail(r, "expected error seq %" PRIu64 ", got None", seq);
    }
    return V_PASS;
}

enum { CE_OK, CE_DONE, CE_FAIL };

/* expect.error against an outcome: CE_OK when the op succeeded and no error was expected (go
 * on checking), CE_DONE when an expected error matched, CE_FAIL (reason set) otherwise. Clears
 * the failure. */
static int check_error(run_t *r, const json_t *expect, int rc, failure_t *f) {
    const json_t *want = json_get(expect, "error");
    if (json_is_null(want)) want = NULL;
    int out;
    if (rc == OC_OK) {
        out = want ? (fail(r, "expected error but operation succeeded"), CE_FAIL) : CE_OK;
    } else if (rc == OC_BROKEN) {
        out = CE_FAIL;
    } else if (!want) {
        char *t = failure_text(f);
        fail(r, "unexpected error: %s", t);
        free(t);
        out = CE_FAIL;
    } else {
        out = match_error(r, want, f) == V_PASS ? CE_DONE : CE_FAIL;
    }
    failure_clear(f);
    return out;
}

/* Whether `got` matches the expected entry {data?, tags?, seq?}. */
static bool msg_matches(run_t *r, const json_t *want, const msg_t *got) {
    const json_t *d = json_get(want, "data");
    if (d && !json_equal(d, got->data)) return false;
    const json_t *t = json_get(want, "tags");
    if (t) {
        strlist_t tl;
        char *saved = r->reason;
        r->reason = NULL;
        int ok = tags_of(r, t, &tl);
        free(r->reason);
        r->reason = saved;
        if (ok != V_PASS) return false;
        free(tl.v);
        if (!json_equal(t->type == JSON_NULL ? NULL : t, got->tags)) {
            /* null expects no tags */
            if (!(t->type == JSON_NULL && got->tags->len == 0)) return false;
        }
    }
    uint64_t seq;
    if (json_as_u64(json_get(want, "seq"), &seq) && seq != got->seq) return false;
    return true;
}

static char *seq_list(const msgs_t *got) {
    size_t cap = 16 + got->n * 22, len = 0;
    char *s = malloc(cap);
    if (!s) abort();
    len += (size_t)snprintf(s + len, cap - len, "[");
    for (size_t k = 0; k < got->n; k++)
        len += (size_t)snprintf(s + len, cap - len, "%s%" PRIu64, k ? ", " : "", got->v[k].seq);
    snprintf(s + len, cap - len, "]");
    return s;
}

static int check_messages(run_t *r, const json_t *expect, const msgs_t *got, bool required) {
    const json_t *ordered = json_get(expect, "messages");
    const json_t *unordered = json_get(expect, "messages_unordered");
    if (ordered && ordered->type != JSON_ARRAY) ordered = NULL;
    if (unordered && unordered->type != JSON_ARRAY) unordered = NULL;
    if (ordered && unordered)
        return fail(r, "expect.messages and expect.messages_unordered are mutually exclusive");
    const json_t *list = ordered ? ordered : unordered;
    if (!list) {
        if (required) return fail(r, "expect.messages or expect.messages_unordered is required");
        return V_PASS;
    }
    if (list->len != got->n) {
        char *seqs = seq_list(got);
        fail(r, "expected %zu messages, got %zu (seqs %s)", list->len, got->n, seqs);
        free(seqs);
        return V_FAIL;
    }
    for (size_t k = 1; k < got->n; k++)
        if (got->v[k - 1].seq >= got->v[k].seq) return fail(r, "tail messages out of order");
    if (ordered) {
        for (size_t k = 0; k < got->n; k++) {
            if (!msg_matches(r, list->items[k], &got->v[k])) {
                char *w = json_write(list->items[k], NULL);
                char *d = json_write(got->v[k].data, NULL);
                char *t = json_write(got->v[k].tags, NULL);
                fail(r, "message mismatch at %zu: expected %s, got seq %" PRIu64 " data %s tags %s",
                     k, w, got->v[k].seq, d, t);
                free(w);
                free(d);
                free(t);
                return V_FAIL;
            }
        }
        return V_PASS;
    }
    bool *used = calloc(got->n + 1, sizeof *used);
    if (!used) abort();
    int out = V_PASS;
    for (size_t k = 0; k < list->len && out == V_PASS; k++) {
        size_t j = 0;
        while (j < got->n && (used[j] || !msg_matches(r, list->items[k], &got->v[j]))) j++;
        if (j == got->n) {
            char *w = json_write(list->items[k], NULL);
            out = fail(r, "message mismatch: nothing matches %s", w);
            free(w);
        } else {
            used[j] = true;
        }
    }
    free(used);
    return out;
}

/* ---- Second writer ----------------------------------------------------------------------- */

/* Appends through a second pool handle, beside the step's own. */
static bool side_append(run_t *r, const char *pool, const json_t *data, const strlist_t *tags,
                        uint64_t *seq) {
    failure_t f = {0};
    uint64_t s = 0;
    int rc = s_append(r, pool, data, tags, &s, &f);
    if (rc == OC_ERROR) {
        char *t = failure_text(&f);
        free(r->reason);
        r->reason = t;
        failure_clear(&f);
    }
    if (rc != OC_OK) return false;
    if (seq) *seq = s;
    return true;
}

/* Appends padding messages through a second handle until `seq` is no longer retained. */
static bool fill_past(run_t *r, const char *pool, uint64_t seq) {
    failure_t f = {0};
    plsm_pool_t *p = NULL;
    if (open_pool(r, pool, &p, &f) != OC_OK) {
        free(r->reason);
        r->reason = failure_text(&f);
        failure_clear(&f);
        return false;
    }
    char pad[4097];
    memset(pad, 'x', 4096);
    pad[4096] = '\0';
    bool ok = false;
    strlist_t none = {NULL, 0};
    for (int n = 0; n < 10000; n++) {
        plsm_buf_t buf = {0};
        plsm_error_t *e = NULL;
        if (plsm_pool_get_json(p, seq, &buf, &e) != 0) {
            int kind = e ? e->kind : 0;
            take_error(e, &f);
            if (kind == PLSM_ERROR_NOT_FOUND) {
                ok = true;
            } else {
                free(r->reason);
                r->reason = failure_text(&f);
            }
            failure_clear(&f);
            plsm_pool_free(p);
            return ok;
        }
        plsm_buf_free(&buf);
        json_t *data = json_new(JSON_OBJECT);
        json_object_set(data, "i", json_new_int(n));
        json_object_set(data, "padding", json_new_string(pad, 4096));
        uint64_t s;
        int rc = append_on(r, p, data, &none, &s, &f);
        json_free(data);
        if (rc != OC_OK) {
            if (rc == OC_ERROR) {
                free(r->reason);
                r->reason = failure_text(&f);
                failure_clear(&f);
            }
            plsm_pool_free(p);
            return false;
        }
    }
    plsm_pool_free(p);
    free(r->reason);
    r->reason = fmt("sequence %" PRIu64 " remained retained after filling pool", seq);
    return false;
}

/* ---- Steps ------------------------------------------------------------------------------- */

static int parse_tail_spec(run_t *r, const json_t *input, tail_spec_t *spec) {
    memset(spec, 0, sizeof *spec);
    const json_t *w = json_get(input, "where");
    if (w && w->type == JSON_STRING) {
        spec->wheres.v = calloc(2, sizeof *spec->wheres.v);
        if (!spec->wheres.v) abort();
        spec->wheres.v[0] = w->str;
        spec->wheres.n = 1;
    } else if (tags_of(r, w, &spec->wheres) != V_PASS) {
        return V_FAIL;
    }
    const char *start = json_str(json_get(input, "start"));
    spec->start = START_OLDEST;
    if (!start || strcmp(start, "oldest") == 0) {
    } else if (strcmp(start, "live") == 0) {
        spec->start = START_LIVE;
    } else if (strcmp(start, "last") == 0) {
        spec->start = START_LAST;
        if (!json_as_u64(json_get(input, "last"), &spec->last)) spec->last = 1;
    } else {
        return fail(r, "invalid input.start: %s", start);
    }
    const char *gap = json_str(json_get(input, "gap"));
    if (!gap || strcmp(gap, "continue") == 0) {
    } else if (strcmp(gap, "error") == 0) {
        spec->gap_error = true;
    } else {
        return fail(r, "invalid input.gap: %s", gap);
    }
    spec->has_since = json_as_u64(json_get(input, "since_seq"), &spec->since);
    spec->has_max = json_as_u64(json_get(input, "max"), &spec->max);
    if (tags_of(r, json_get(input, "tags"), &spec->tags) != V_PASS) return V_FAIL;
    if (!json_as_u64(json_get(input, "timeout_ms"), &spec->timeout_ms)) spec->timeout_ms = 1000;
    return V_PASS;
}

static void tail_spec_free(tail_spec_t *spec) {
    free(spec->tags.v);
    free(spec->wheres.v);
}

typedef struct after_open {
    const char *pool;
    in_msg_t *msgs;
    size_t n;
} after_open_t;

static bool after_open_hook(run_t *r, void *ctx, size_t n) {
    after_open_t *a = ctx;
    if (n != 0) return true;
    for (size_t k = 0; k < a->n; k++)
        if (!side_append(r, a->pool, a->msgs[k].data, &a->msgs[k].tags, NULL)) return false;
    return true;
}

static int step_tail(run_t *r, const char *pool, const json_t *input, const json_t *expect) {
    tail_spec_t spec;
    if (parse_tail_spec(r, input, &spec) != V_PASS) {
        tail_spec_free(&spec);
        return V_FAIL;
    }
    after_open_t a = {pool, NULL, 0};
    const json_t *after = json_get(input, "append_after_open");
    if (after && messages_of(r, after, &a.msgs, &a.n) != V_PASS) {
        tail_spec_free(&spec);
        return V_FAIL;
    }
    msgs_t got;
    failure_t err = {0};
    bool has_err;
    int rc = s_tail(r, pool, &spec, after_open_hook, &a, &got, &err, &has_err);
    in_msgs_free(a.msgs, a.n);
    tail_spec_free(&spec);
    if (rc != OC_OK) return V_FAIL;
    const json_t *want = json_get(expect, "error");
    if (json_is_null(want)) want = NULL;
    int out = V_PASS;
    if (!has_err && want) {
        out = fail(r, "expected error but operation succeeded");
    } else if (has_err && !want) {
        char *t = failure_text(&err);
        out = fail(r, "unexpected error: %s", t);
        free(t);
    } else if (has_err) {
        out = match_error(r, want, &err);
    }
    if (out == V_PASS) out = check_messages(r, expect, &got, want == NULL);
    failure_clear(&err);
    msgs_free(&got);
    return out;
}

typedef struct gap_ctx {
    const char *pool;
    bool has_missing;
    uint64_t missing;
} gap_ctx_t;

static bool gap_hook(run_t *r, void *ctx, size_t n) {
    gap_ctx_t *g = ctx;
    if (n != 2) return true;
    json_t *d = json_new(JSON_OBJECT);
    json_object_set(d, "kind", json_new_string("first-missing", 13));
    strlist_t none = {NULL, 0};
    bool ok = side_append(r, g->pool, d, &none, &g->missing);
    json_free(d);
    if (!ok) return false;
    g->has_missing = true;
    return fill_past(r, g->pool, g->missing);
}

/* A surface call inside the scenario that did not succeed: the step fails. */
static int gap_broken(run_t *r, const char *what, int rc, failure_t *f) {
    if (rc == OC_ERROR) {
        char *t = failure_text(f);
        failure_clear(f);
        fail(r, "%s: unexpected error: %s", what, t);
        free(t);
        return V_FAIL;
    }
    char *why = r->reason;
    r->reason = NULL;
    fail(r, "%s: %s", what, why ? why : "");
    free(why);
    return V_FAIL;
}

/* The v0 scripted scenario (§2.1): continue vs fail-closed policy, a filter cannot hide a
 * gap, and a gap after an established position. */
static int step_retention_gap(run_t *r, const char *base, const json_t *input) {
    uint64_t size;
    if (!json_as_u64(json_get(input, "size_bytes"), &size)) size = 65536;
    failure_t f = {0};
    strlist_t none = {NULL, 0};
    int out = V_PASS, rc;
    char *stale = fmt("%s-stale", base);
    char *est = fmt("%s-established", base);
    json_t *d_first = json_new(JSON_OBJECT);
    json_object_set(d_first, "kind", json_new_string("first", 5));
    json_t *d_seed = json_new(JSON_OBJECT);
    json_object_set(d_seed, "kind", json_new_string("seed", 4));
    json_t *d_second = json_new(JSON_OBJECT);
    json_object_set(d_second, "kind", json_new_string("second", 6));
    const char *never[] = {"never", NULL};
    tail_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.has_since = true;
    spec.timeout_ms = 1000;
    spec.start = START_OLDEST;
    msgs_t got = {0};
    bool has_err = false;
    uint64_t first = 0, s1 = 0, ignored;

    if ((rc = s_create_pool(r, stale, size, &f)) != OC_OK) {
        out = gap_broken(r, "create", rc, &f);
        goto done;
    }
    if ((rc = s_append(r, stale, d_first, &none, &first, &f)) != OC_OK) {
        out = gap_broken(r, "append", rc, &f);
        goto done;
    }
    if (!fill_past(r, stale, first)) {
        out = V_FAIL;
        goto done;
    }
    /* 2. Under continue, max 1: one message after F. */
    spec.since = first;
    spec.has_max = true;
    spec.max = 1;
    if ((rc = s_tail(r, stale, &spec, NULL, NULL, &got, &f, &has_err)) != OC_OK) {
        out = gap_broken(r, "continue tail", rc, &f);
        goto done;
    }
    if (has_err || got.n != 1 || got.v[0].seq <= first) {
        out = fail(r, "default tail did not continue after gap");
        goto done;
    }
    msgs_free(&got);
    /* 3. Under error, filtered on a tag no message has: RetentionGap at F, nothing first. */
    spec.has_max = false;
    spec.gap_error = true;
    spec.tags.v = never;
    spec.tags.n = 1;
    if ((rc = s_tail(r, stale, &spec, NULL, NULL, &got, &f, &has_err)) != OC_OK) {
        out = gap_broken(r, "fail-closed tail", rc, &f);
        goto done;
    }
    if (!(has_err && got.n == 0 && strcmp(f.kind, "RetentionGap") == 0 && f.has_seq &&
          f.seq == first)) {
        char *t = has_err ? failure_text(&f) : xstrdup("None");
        out = fail(r, "fail-closed tail did not fail with RetentionGap at %" PRIu64 ": %s", first,
                   t);
        free(t);
        goto done;
    }
    failure_clear(&f);
    has_err = false;
    msgs_free(&got);
    /* 4. An established position, then a writer laps the reader. */
    if ((rc = s_create_pool(r, est, size, &f)) != OC_OK) {
        out = gap_broken(r, "create", rc, &f);
        goto done;
    }
    if ((rc = s_append(r, est, d_seed, &none, &s1, &f)) != OC_OK ||
        (rc = s_append(r, est, d_second, &none, &ignored, &f)) != OC_OK) {
        out = gap_broken(r, "append", rc, &f);
        goto done;
    }
    gap_ctx_t g = {est, false, 0};
    spec.since = s1;
    spec.tags.v = NULL;
    spec.tags.n = 0;
    if ((rc = s_tail(r, est, &spec, gap_hook, &g, &got, &f, &has_err)) != OC_OK) {
        out = gap_broken(r, "established tail", rc, &f);
        goto done;
    }
    if (!(got.n == 2 && got.v[0].seq == s1 && got.v[1].seq == s1 + 1)) {
        char *seqs = seq_list(&got);
        out = fail(r, "tail established the wrong sequence: %s", seqs);
        free(seqs);
        goto done;
    }
    if (!(has_err && g.has_missing && strcmp(f.kind, "RetentionGap") == 0 && f.has_seq &&
          f.seq == g.missing)) {
        char *t = has_err ? failure_text(&f) : xstrdup("None");
        char *m = g.has_missing ? fmt("Some(%" PRIu64 ")", g.missing) : xstrdup("None");
        out = fail(r, "gap after an established position: expected RetentionGap at %s, got %s",
                   m, t);
        free(t);
        free(m);
    }
done:
    if (has_err) failure_clear(&f);
    msgs_free(&got);
    json_free(d_first);
    json_free(d_seed);
    json_free(d_second);
    free(stale);
    free(est);
    return out;
}

static const char *pls_bin(void) {
    const char *p = getenv("PLASMITE_BIN");
    return p && *p ? p : "pls";
}

/* Starts `argv` with stdout to `out_fd` (-1: /dev/null) and stderr to /dev/null when
 * `quiet_err`. Returns the pid, or -1. */
static pid_t start(char **argv, int out_fd, bool quiet_err) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0) return pid;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(out_fd >= 0 ? out_fd : null, 1);
    if (quiet_err) dup2(null, 2);
    execvp(argv[0], argv);
    _exit(127);
}

static int step_spawn_poke(run_t *r, const char *pool, const json_t *input) {
    in_msg_t *m;
    size_t n;
    if (messages_of(r, json_get(input, "messages"), &m, &n) != V_PASS) return V_FAIL;
    pid_t *pids = calloc(n + 1, sizeof *pids);
    if (!pids) abort();
    for (size_t k = 0; k < n; k++) {
        char *data = json_write(m[k].data, NULL);
        size_t argc = 0;
        char **argv = calloc(7 + 2 * m[k].tags.n, sizeof *argv);
        if (!argv) abort();
        argv[argc++] = (char *)pls_bin();
        argv[argc++] = "--dir";
        argv[argc++] = r->workdir;
        argv[argc++] = "feed";
        argv[argc++] = (char *)pool;
        argv[argc++] = data;
        for (size_t t = 0; t < m[k].tags.n; t++) {
            argv[argc++] = "--tag";
            argv[argc++] = (char *)m[k].tags.v[t];
        }
        pids[k] = start(argv, -1, false);
        free(argv);
        free(data);
    }
    bool ok = true;
    for (size_t k = 0; k < n; k++) {
        int status;
        if (pids[k] < 0 || waitpid(pids[k], &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            ok = false;
    }
    free(pids);
    in_msgs_free(m, n);
    return ok ? V_PASS : fail(r, "feed process failed");
}

/* Waits (up to 5 s) until process `pid` has `pool` mapped: a local reader that has opened its
 * pool has fixed where it starts. */
static void wait_mapped(pid_t pid, const char *pool) {
    char *want = realpath(pool, NULL);
    const char *needle = want ? want : pool;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    for (int k = 0; k < 500; k++) {
        FILE *fp = fopen(path, "r");
        bool found = false;
        if (fp) {
            char *line = NULL;
            size_t cap = 0;
            while (!found && getline(&line, &cap, fp) > 0) found = strstr(line, needle) != NULL;
            free(line);
            fclose(fp);
        }
        if (found) {
            sleep_ms(30); /* the position is read right after the mapping */
            break;
        }
        sleep_ms(10);
    }
    free(want);
}

static int step_spawn_reader(run_t *r, const char *pool, const json_t *input) {
    const char *name = json_str(json_get(input, "name"));
    if (!name) return fail(r, "missing input.name");
    uint64_t max, since, timeout;
    if (!json_as_u64(json_get(input, "max"), &max)) max = 1;
    if (!json_as_u64(json_get(input, "since_seq"), &since)) since = 1;
    if (!json_as_u64(json_get(input, "timeout_ms"), &timeout)) timeout = 10000;
    strlist_t tags;
    if (tags_of(r, json_get(input, "tags"), &tags) != V_PASS) return V_FAIL;
    char *where = fmt(".seq >= %" PRIu64, since);
    char *to = fmt("%" PRIu64 "ms", timeout);
    size_t argc = 0;
    char **argv = calloc(14 + 2 * tags.n, sizeof *argv);
    if (!argv) abort();
    argv[argc++] = (char *)pls_bin();
    argv[argc++] = "--dir";
    argv[argc++] = r->workdir;
    argv[argc++] = "follow";
    argv[argc++] = (char *)pool;
    argv[argc++] = "--jsonl";
    argv[argc++] = "--tail";
    argv[argc++] = "1000000000";
    argv[argc++] = "--where";
    argv[argc++] = where;
    for (size_t t = 0; t < tags.n; t++) {
        argv[argc++] = "--tag";
        argv[argc++] = (char *)tags.v[t];
    }
    argv[argc++] = "--timeout";
    argv[argc++] = to;
    int fds[2];
    pid_t pid = -1;
    if (pipe2(fds, O_CLOEXEC) == 0) {
        pid = start(argv, fds[1], true);
        close(fds[1]);
        if (pid < 0) close(fds[0]);
    }
    free(argv);
    free(where);
    free(to);
    free(tags.v);
    if (pid < 0) return fail(r, "cannot start a reader: %s", strerror(errno));
    char *path = resolve(r, pool);
    wait_mapped(pid, path);
    free(path);
    r->readers = realloc(r->readers, (r->n_readers + 1) * sizeof *r->readers);
    if (!r->readers) abort();
    r->readers[r->n_readers++] = (reader_t){xstrdup(name), pid, fds[0], max};
    return V_PASS;
}

static void reader_stop(reader_t *rd) {
    kill(rd->pid, SIGKILL);
    waitpid(rd->pid, NULL, 0);
    if (rd->fd >= 0) close(rd->fd);
    free(rd->name);
}

static int step_await_reader(run_t *r, const json_t *input, const json_t *expect) {
    const char *name = json_str(json_get(input, "name"));
    if (!name) return fail(r, "missing input.name");
    size_t at = 0;
    while (at < r->n_readers && strcmp(r->readers[at].name, name) != 0) at++;
    if (at == r->n_readers) return fail(r, "no reader named %s", name);
    reader_t rd = r->readers[at];
    r->readers[at] = r->readers[--r->n_readers];
    /* Its first `max` lines (fewer if it ends first). */
    msgs_t got = {0};
    FILE *fp = fdopen(rd.fd, "r");
    if (fp) {
        rd.fd = -1;
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        for (uint64_t k = 0; k < rd.max && (len = getline(&line, &cap, fp)) > 0; k++) {
            json_t *env = json_parse(line, (size_t)len, NULL, 0);
            msg_t m;
            if (env && msg_from_envelope(env, &m)) msgs_push(&got, m);
            else json_free(env);
        }
        free(line);
    }
    reader_stop(&rd);
    if (fp) fclose(fp);
    int out = check_messages(r, expect, &got, true);
    msgs_free(&got);
    return out;
}

static int copy_file(const char *from, const char *to, char **why) {
    FILE *in = fopen(from, "rb");
    if (!in) {
        *why = fmt("%s", strerror(errno));
        return -1;
    }
    FILE *out = fopen(to, "wb");
    if (!out) {
        *why = fmt("%s", strerror(errno));
        fclose(in);
        return -1;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = -1;
    if (ferror(in)) rc = -1;
    if (fclose(out) != 0) rc = -1;
    fclose(in);
    if (rc != 0) *why = fmt("%s", strerror(errno));
    return rc;
}

static int step_append_many(run_t *r, const char *pool, const json_t *input,
                            const json_t *expect) {
    uint64_t count;
    if (!json_as_u64(json_get(input, "count"), &count)) count = 1;
    const json_t *base = json_get(input, "data");
    json_t *empty = NULL;
    if (!base) base = empty = json_new(JSON_OBJECT);
    strlist_t tags;
    if (tags_of(r, json_get(input, "tags"), &tags) != V_PASS) {
        json_free(empty);
        return V_FAIL;
    }
    int out = V_PASS;
    if (base->type != JSON_OBJECT) {
        out = fail(r, "input.data must be an object");
        goto done;
    }
    bool has_last = false;
    uint64_t last = 0;
    for (uint64_t k = 1; k <= count;) {
        uint64_t end = count - k >= 999 ? k + 999 : count;
        size_t n = (size_t)(end - k + 1);
        in_msg_t *chunk = calloc(n, sizeof *chunk);
        json_t **datas = calloc(n, sizeof *datas);
        if (!chunk || !datas) abort();
        for (size_t j = 0; j < n; j++) {
            datas[j] = json_clone(base);
            json_object_set(datas[j], "i", json_new_int((int64_t)(k + j)));
            chunk[j].data = datas[j];
            chunk[j].tags = tags;
        }
        bool has_first;
        uint64_t first = 0, c = 0;
        failure_t f = {0};
        int rc = s_append_batch(r, pool, chunk, n, &has_first, &first, &c, &f);
        for (size_t j = 0; j < n; j++) json_free(datas[j]);
        free(datas);
        free(chunk);
        k = end + 1;
        int ce = check_error(r, expect, rc, &f);
        if (ce == CE_FAIL) {
            out = V_FAIL;
            goto done;
        }
        if (ce == CE_DONE) goto done;
        has_last = has_first;
        last = has_first ? first + c - 1 : 0;
    }
    uint64_t want;
    if (json_as_u64(json_get(expect, "last_seq"), &want) && !(has_last && want == last)) {
        if (has_last)
            out = fail(r, "expected last_seq %" PRIu64 ", got Some(%" PRIu64 ")", want, last);
        else
            out = fail(r, "expected last_seq %" PRIu64 ", got None", want);
    }
done:
    free(tags.v);
    json_free(empty);
    return out;
}

static int step_pool_info(run_t *r, const char *pool, const json_t *expect) {
    failure_t f = {0};
    json_t *info = NULL;
    int rc = s_pool_info(r, pool, &info, &f);
    int ce = check_error(r, expect, rc, &f);
    int out = ce == CE_FAIL ? V_FAIL : V_PASS;
    if (ce == CE_OK) {
        const char *keys[] = {"file_size", "ring_size"};
        for (size_t k = 0; k < 2 && out == V_PASS; k++) {
            uint64_t want, got = 0;
            json_as_u64(json_get(info, keys[k]), &got);
            if (json_as_u64(json_get(expect, keys[k]), &want) && want != got)
                out = fail(r, "%s mismatch: expected %" PRIu64 ", got %" PRIu64, keys[k], want,
                           got);
        }
        const json_t *b = json_get(expect, "bounds");
        const json_t *gb = json_get(info, "bounds");
        const char *bk[] = {"oldest", "newest"};
        for (size_t k = 0; b && k < 2 && out == V_PASS; k++) {
            const json_t *want = json_get(b, bk[k]);
            if (!want) continue;
            uint64_t w = 0, g = 0;
            bool has_w = json_as_u64(want, &w);
            if (!has_w && want->type != JSON_NULL) {
                out = fail(r, "bounds.%s must be a number or null", bk[k]);
                break;
            }
            bool has_g = json_as_u64(json_get(gb, bk[k]), &g);
            if (has_w != has_g || w != g) out = fail(r, "bounds.%s mismatch", bk[k]);
        }
    }
    json_free(info);
    return out;
}

static int step(run_t *r, const json_t *st) {
    const char *op = json_str(json_get(st, "op"));
    if (!op) return fail(r, "missing op");
    if (strcmp(op, "fetch") == 0) op = "get";
    bool known = false;
    for (size_t k = 0; k < N_OPS; k++) known |= strcmp(op, OPS[k]) == 0;
    if (!known) return fail(r, "unknown op: %s", op);
    const json_t *input = json_get(st, "input");
    const json_t *expect = json_get(st, "expect");
    const char *pool = json_str(json_get(st, "pool"));
    bool needs_pool = strcmp(op, "list_pools") != 0 && strcmp(op, "await_reader") != 0 &&
                      strcmp(op, "chmod_path") != 0;
    if (needs_pool && !pool) return fail(r, "missing pool");
    failure_t f = {0};

    if (strcmp(op, "create_pool") == 0) {
        uint64_t size;
        if (!json_as_u64(json_get(input, "size_bytes"), &size)) size = 1048576;
        return check_error(r, expect, s_create_pool(r, pool, size, &f), &f) == CE_FAIL
                   ? V_FAIL
                   : V_PASS;
    }
    if (strcmp(op, "append") == 0) {
        if (json_is_null(input)) return fail(r, "missing input");
        const json_t *data = json_get(input, "data");
        if (!data) return fail(r, "missing input.data");
        strlist_t tags;
        if (tags_of(r, json_get(input, "tags"), &tags) != V_PASS) return V_FAIL;
        uint64_t seq = 0, want;
        int ce = check_error(r, expect, s_append(r, pool, data, &tags, &seq, &f), &f);
        free(tags.v);
        if (ce == CE_FAIL) return V_FAIL;
        if (ce == CE_OK && json_as_u64(json_get(expect, "seq"), &want) && want != seq)
            return fail(r, "expected seq %" PRIu64 ", got %" PRIu64, want, seq);
        return V_PASS;
    }
    if (strcmp(op, "append_batch") == 0) {
        in_msg_t *m;
        size_t n;
        if (messages_of(r, json_get(input, "messages"), &m, &n) != V_PASS) return V_FAIL;
        bool has_first;
        uint64_t first = 0, count = 0, want;
        int ce = check_error(r, expect,
                             s_append_batch(r, pool, m, n, &has_first, &first, &count, &f), &f);
        in_msgs_free(m, n);
        if (ce == CE_FAIL) return V_FAIL;
        if (ce == CE_OK) {
            if (json_as_u64(json_get(expect, "first_seq"), &want) &&
                !(has_first && first == want)) {
                if (has_first)
                    return fail(r, "expected first_seq %" PRIu64 ", got Some(%" PRIu64 ")", want,
                                first);
                return fail(r, "expected first_seq %" PRIu64 ", got None", want);
            }
            if (json_as_u64(json_get(expect, "count"), &want) && want != count)
                return fail(r, "expected count %" PRIu64 ", got %" PRIu64, want, count);
        }
        return V_PASS;
    }
    if (strcmp(op, "append_many") == 0) return step_append_many(r, pool, input, expect);
    if (strcmp(op, "get") == 0) {
        uint64_t seq;
        if (!json_as_u64(json_get(input, "seq"), &seq)) return fail(r, "missing input.seq");
        msg_t m = {0};
        int ce = check_error(r, expect, s_get(r, pool, seq, &m, &f), &f);
        if (ce != CE_OK) return ce == CE_FAIL ? V_FAIL : V_PASS;
        int out = V_PASS;
        const json_t *d = json_get(expect, "data");
        const json_t *t = json_get(expect, "tags");
        strlist_t tl = {NULL, 0};
        if (d && !json_equal(d, m.data)) {
            char *w = json_write(d, NULL), *g = json_write(m.data, NULL);
            out = fail(r, "data mismatch: expected %s, got %s", w, g);
            free(w);
            free(g);
        } else if (t && tags_of(r, t, &tl) != V_PASS) {
            out = V_FAIL;
        } else if (t && !(t->type == JSON_NULL ? m.tags->len == 0 : json_equal(t, m.tags))) {
            out = fail(r, "tags mismatch");
        } else if (m.seq != seq) {
            out = fail(r, "expected seq %" PRIu64 ", got %" PRIu64, seq, m.seq);
        }
        free(tl.v);
        json_free(m.env);
        return out;
    }
    if (strcmp(op, "tail") == 0) return step_tail(r, pool, input, expect);
    if (strcmp(op, "retention_gap") == 0) return step_retention_gap(r, pool, input);
    if (strcmp(op, "list_pools") == 0) {
        json_t *names = NULL;
        int ce = check_error(r, expect, s_list_pools(r, &names, &f), &f);
        int out = ce == CE_FAIL ? V_FAIL : V_PASS;
        const json_t *want = json_get(expect, "names");
        strlist_t w = {NULL, 0};
        if (ce == CE_OK && want && (out = tags_of(r, want, &w)) == V_PASS) {
            bool same = w.n == names->len;
            for (size_t k = 0; same && k < w.n; k++) {
                bool found = false;
                for (size_t j = 0; !found && j < names->len; j++)
                    found = strcmp(w.v[k], names->items[j]->str) == 0;
                same = found;
            }
            if (!same) {
                char *ws = json_write(want, NULL), *gs = json_write(names, NULL);
                out = fail(r, "pool list mismatch: expected %s, got %s", ws, gs);
                free(ws);
                free(gs);
            }
        }
        free(w.v);
        json_free(names);
        return out;
    }
    if (strcmp(op, "pool_info") == 0) return step_pool_info(r, pool, expect);
    if (strcmp(op, "delete_pool") == 0)
        return check_error(r, expect, s_delete_pool(r, pool, &f), &f) == CE_FAIL ? V_FAIL
                                                                                 : V_PASS;
    if (strcmp(op, "spawn_poke") == 0) return step_spawn_poke(r, pool, input);
    if (strcmp(op, "corrupt_pool_header") == 0) {
        char *path = resolve(r, pool);
        FILE *fp = fopen(path, "wb");
        int out = V_PASS;
        if (!fp || fwrite("NOPE", 1, 4, fp) != 4) out = fail(r, "cannot corrupt the pool: %s",
                                                             strerror(errno));
        if (fp && fclose(fp) != 0 && out == V_PASS)
            out = fail(r, "cannot corrupt the pool: %s", strerror(errno));
        free(path);
        return out;
    }
    if (strcmp(op, "install_pool") == 0) {
        const char *fixture = json_str(json_get(input, "fixture"));
        if (!fixture) return fail(r, "missing input.fixture");
        char *from = fmt("%s/pools/%s", r->mdir, fixture);
        char *to = resolve(r, pool);
        char *why = NULL;
        int out = V_PASS;
        if (copy_file(from, to, &why) != 0) out = fail(r, "cannot install %s: %s", from, why);
        free(why);
        free(from);
        free(to);
        return out;
    }
    if (strcmp(op, "chmod_path") == 0) {
        const char *path = json_str(json_get(input, "path"));
        const char *mode = json_str(json_get(input, "mode"));
        if (!path) return fail(r, "missing input.path");
        if (!mode) return fail(r, "missing input.mode");
        char *end;
        errno = 0;
        unsigned long m = strtoul(mode, &end, 8);
        if (!*mode || *end || errno || m > 07777 || mode[0] == '-' || mode[0] == '+')
            return fail(r, "invalid input.mode");
        if (chmod(path, (mode_t)m) != 0) return fail(r, "chmod failed: %s", strerror(errno));
        return V_PASS;
    }
    if (strcmp(op, "spawn_reader") == 0) return step_spawn_reader(r, pool, input);
    if (strcmp(op, "await_reader") == 0) return step_await_reader(r, input, expect);
    return fail(r, "unknown op: %s", op);
}

/* ---- Manifests --------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc != 0 && errno != ENOENT ? -1 : 0;
}

static int mkdirs(const char *path) {
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

/* Deletes the workdir recursively and recreates it empty. */
static char *reset_workdir(const char *dir) {
    struct stat st;
    if (lstat(dir, &st) == 0) {
        if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
            return fmt("cannot clear %s: %s", dir, strerror(errno));
    } else if (errno != ENOENT) {
        return fmt("cannot clear %s: %s", dir, strerror(errno));
    }
    if (mkdirs(dir) != 0) return fmt("cannot create %s: %s", dir, strerror(errno));
    return NULL;
}

static char *read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char *d = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536;
            d = realloc(d, cap);
            if (!d) abort();
        }
        got = fread(d + n, 1, cap - n, fp);
        n += got;
    } while (got > 0);
    bool bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(d);
        return NULL;
    }
    *len = n;
    return d;
}

/* Runs one manifest: 0 done (counts in *passed etc.), else 2 with the message printed. */
static int run_manifest(const char *file, size_t *passed, size_t *failed, size_t *unsupported) {
    size_t len;
    char *text = read_file(file, &len);
    if (!text) {
        fprintf(stderr, "conformance: %s: failed to read manifest: %s\n", file, strerror(errno));
        return 2;
    }
    char err[256];
    json_t *m = json_parse(text, len, err, sizeof err);
    free(text);
    if (!m) {
        fprintf(stderr, "conformance: %s: failed to parse manifest json: %s\n", file, err);
        return 2;
    }
    const json_t *version = json_get(m, "conformance_version");
    const json_t *steps = json_get(m, "steps");
    uint64_t v;
    const char *problem = NULL;
    char *vtext = NULL;
    if (!version) {
        problem = "missing conformance_version";
    } else if (!json_as_u64(version, &v) || v != 0) {
        vtext = json_write(version, NULL);
    } else if (!steps || steps->type != JSON_ARRAY) {
        problem = "manifest steps must be an array";
    }
    if (problem || vtext) {
        if (problem) fprintf(stderr, "conformance: %s: %s\n", file, problem);
        else fprintf(stderr, "conformance: %s: unsupported conformance_version: %s\n", file, vtext);
        free(vtext);
        json_free(m);
        return 2;
    }
    run_t r;
    memset(&r, 0, sizeof r);
    const char *slash = strrchr(file, '/');
    r.mdir = slash ? fmt("%.*s", (int)(slash - file == 0 ? 1 : slash - file), file)
                   : xstrdup(".");
    const char *wd = json_str(json_get(m, "workdir"));
    if (!wd || !*wd) wd = "work";
    r.workdir = wd[0] == '/' ? xstrdup(wd) : fmt("%s/%s", r.mdir, wd);
    char *why = reset_workdir(r.workdir);
    plsm_error_t *e = NULL;
    if (!why && plsm_client_new(r.workdir, &r.client, &e) != 0) {
        why = fmt("cannot make a client: %s", e && e->message ? e->message : "");
        plsm_error_free(e);
    }
    if (why) {
        fprintf(stderr, "conformance: %s: %s\n", file, why);
        free(why);
        free(r.mdir);
        free(r.workdir);
        json_free(m);
        return 2;
    }
    for (size_t k = 0; k < steps->len; k++) {
        const json_t *st = steps->items[k];
        const char *id = json_str(json_get(st, "id"));
        char *label = id ? fmt("step %zu (%s)", k, id) : fmt("step %zu", k);
        int verdict = step(&r, st);
        if (verdict == V_PASS) {
            (*passed)++;
        } else if (verdict == V_FAIL) {
            fprintf(stderr, "%s: %s\n", label, r.reason ? r.reason : "failed");
            (*failed)++;
        } else {
            fprintf(stderr, "%s: unsupported %s: %s\n", label, r.feature ? r.feature : "?",
                    r.reason ? r.reason : "");
            (*unsupported)++;
        }
        fflush(stderr);
        free(r.reason);
        free(r.feature);
        r.reason = r.feature = NULL;
        free(label);
    }
    for (size_t k = 0; k < r.n_readers; k++) reader_stop(&r.readers[k]);
    free(r.readers);
    plsm_client_free(r.client);
    free(r.mdir);
    free(r.workdir);
    json_free(m);
    return 0;
}

int main(int argc, char **argv) {
    const char *usage = "usage: conformance-c [--list-ops] MANIFEST…";
    bool list = false;
    int first = 1;
    for (; first < argc; first++) {
        if (strcmp(argv[first], "--list-ops") == 0) {
            list = true;
        } else if (strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0) {
            puts(usage);
            return 0;
        } else if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        } else {
            break;
        }
    }
    if (list) {
        for (size_t k = 0; k < N_OPS; k++) printf("%s supported\n", OPS[k]);
        return 0;
    }
    if (first >= argc) {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    bool failed_any = false;
    for (int k = first; k < argc; k++) {
        size_t passed = 0, failed = 0, unsupported = 0;
        if (run_manifest(argv[k], &passed, &failed, &unsupported) != 0) return 2;
        printf("conformance: %zu passed, %zu failed, %zu unsupported (c: %s)\n", passed, failed,
               unsupported, argv[k]);
        fflush(stdout);
        failed_any |= failed > 0;
    }
    return failed_any ? 1 : 0;
}
