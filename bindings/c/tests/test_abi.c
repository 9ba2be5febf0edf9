/* Every function of plasmite.h, the error kinds, streams, threads and a writer process. */
#include "common.h"

#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char dir[512];
static plsm_client_t *client;

static int contains(const plsm_buf_t *b, const char *needle) {
    return memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

static uint64_t append(plsm_pool_t *pool, const char *json, const char **tags, size_t ntags) {
    plsm_buf_t out = {0};
    plsm_error_t *err = NULL;
    int rc = plsm_pool_append_json(pool, (const uint8_t *)json, strlen(json), tags, ntags, 0,
                                   &out, &err);
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "append: %s\n", err ? err->message : "?");
        plsm_error_free(err);
        return 0;
    }
    uint64_t seq = strtoull((const char *)out.data + 7, NULL, 10);
    plsm_buf_free(&out);
    return seq;
}

static void test_client_and_pools(void) {
    plsm_error_t *err = NULL;
    plsm_pool_t *pool = NULL;
    CHECK(plsm_pool_create(client, "one", 0, &pool, &err) == 0);
    CHECK(pool != NULL && err == NULL);
    plsm_pool_free(pool);

    pool = NULL;
    CHECK_ERR(plsm_pool_create(client, "one", 0, &pool, &err), err, PLSM_ERROR_ALREADY_EXISTS);
    CHECK(plsm_pool_create(client, "one", 0, &pool, &err) == -1 && err->path != NULL);
    CHECK(strstr(err->path, "one.plasmite") != NULL);
    plsm_error_free(err);
    err = NULL;

    CHECK_ERR(plsm_pool_open(client, "missing", &pool, &err), err, PLSM_ERROR_NOT_FOUND);
    CHECK_ERR(plsm_pool_open(client, "http://host/pool", &pool, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_create(client, "tiny", 100, &pool, &err), err, PLSM_ERROR_USAGE);

    /* A file that is not a pool. */
    char path[600];
    snprintf(path, sizeof path, "%s/garbage.plasmite", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 5000; i++) fputs("garbage!", f);
    fclose(f);
    CHECK_ERR(plsm_pool_open(client, "garbage", &pool, &err), err, PLSM_ERROR_CORRUPT);

    /* Io: the parent "directory" is a regular file. */
    snprintf(path, sizeof path, "%s/garbage.plasmite/inner.plasmite", dir);
    CHECK_ERR(plsm_pool_open(client, path, &pool, &err), err, PLSM_ERROR_IO);

    /* Paths are used verbatim; names ending in .plasmite are not extended again. */
    snprintf(path, sizeof path, "%s/sub/by-path.plasmite", dir);
    CHECK(plsm_pool_create(client, path, 0, &pool, &err) == 0);
    plsm_pool_free(pool);
    plsm_client_t *other = NULL;
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    CHECK(plsm_client_new(sub, &other, &err) == 0);
    CHECK(plsm_pool_open(other, "by-path.plasmite", &pool, &err) == 0);
    plsm_pool_free(pool);
    CHECK(plsm_pool_open(other, "by-path", &pool, &err) == 0);
    plsm_pool_free(pool);
    plsm_client_free(other);

    /* Permission: a read-only pool file cannot be opened for writing (skipped as root). */
    if (geteuid() != 0) {
        CHECK(plsm_pool_create(client, "ro", 0, &pool, &err) == 0);
        plsm_pool_free(pool);
        snprintf(path, sizeof path, "%s/ro.plasmite", dir);
        chmod(path, 0400);
        int rc = plsm_pool_open(client, "ro", &pool, &err);
        if (rc == 0) {
            plsm_buf_t out = {0};
            rc = plsm_pool_append_json(pool, (const uint8_t *)"{}", 2, NULL, 0, 0, &out, &err);
            plsm_pool_free(pool);
        }
        CHECK_ERR(rc, err, PLSM_ERROR_PERMISSION);
    }

    /* NULL pool_dir is the default directory. */
    plsm_client_t *def = NULL;
    CHECK(plsm_client_new(NULL, &def, &err) == 0 && def != NULL);
    plsm_client_free(def);
}

static void test_append_get(void) {
    plsm_error_t *err = NULL;
    plsm_pool_t *pool = NULL;
    CHECK(plsm_pool_create(client, "ag", 0, &pool, &err) == 0);

    const char *tags[] = {"red", "blue"};
    plsm_buf_t out = {0};
    const char *json = "{\"z\":1,\"a\":{\"y\":2.0,\"b\":null}}";
    CHECK(plsm_pool_append_json(pool, (const uint8_t *)json, strlen(json), tags, 2, 1, &out,
                                &err) == 0);
    CHECK(memcmp(out.data, "{\"seq\":1,\"time\":\"", 17) == 0);
    CHECK(contains(&out, "\"meta\":{\"tags\":[\"red\",\"blue\"]},\"data\":{\"a\":{\"b\":null,\"y\":2.0},\"z\":1}}"));

    plsm_buf_t got = {0};
    CHECK(plsm_pool_get_json(pool, 1, &got, &err) == 0);
    CHECK(got.len == out.len && memcmp(got.data, out.data, out.len) == 0);
    plsm_buf_free(&got);
    plsm_buf_free(&out);
    CHECK(out.data == NULL && out.len == 0);
    plsm_buf_free(&out); /* already freed: no-op */

    CHECK_ERR(plsm_pool_get_json(pool, 99, &got, &err), err, PLSM_ERROR_NOT_FOUND);
    CHECK(plsm_pool_get_json(pool, 0, &got, &err) == -1 && err->has_seq == 1);
    plsm_error_free(err);
    err = NULL;

    /* Usage errors of append. */
    CHECK_ERR(plsm_pool_append_json(pool, (const uint8_t *)"[1]", 3, NULL, 0, 0, &out, &err),
              err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_json(pool, (const uint8_t *)"{", 1, NULL, 0, 0, &out, &err), err,
              PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_json(pool, (const uint8_t *)"", 0, NULL, 0, 0, &out, &err), err,
              PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_json(pool, (const uint8_t *)"{}", 2, NULL, 0, 7, &out, &err), err,
              PLSM_ERROR_USAGE);
    const char *null_tag[] = {"ok", NULL};
    CHECK_ERR(plsm_pool_append_json(pool, (const uint8_t *)"{}", 2, null_tag, 2, 0, &out, &err),
              err, PLSM_ERROR_USAGE);
    /* Too large for a 1 MiB pool. */
    size_t big = 2 * 1024 * 1024;
    char *huge = malloc(big + 16);
    memset(huge, 'x', big + 16);
    memcpy(huge, "{\"k\":\"", 6);
    memcpy(huge + big + 6, "\"}", 2);
    CHECK_ERR(plsm_pool_append_json(pool, (const uint8_t *)huge, big + 8, NULL, 0, 0, &out, &err),
              err, PLSM_ERROR_USAGE);
    free(huge);

    /* Lite³: a frame read back appends verbatim; junk is Corrupt. */
    plsm_lite3_frame_t frame = {0};
    CHECK(plsm_pool_get_lite3(pool, 1, &frame, &err) == 0);
    CHECK(frame.seq == 1 && frame.timestamp_ns > 0 && frame.flags == 0 && frame.payload.len > 0);
    uint64_t seq = 0;
    CHECK(plsm_pool_append_lite3(pool, frame.payload.data, frame.payload.len, 0, &seq, &err) == 0);
    CHECK(seq == 2);
    plsm_lite3_frame_free(&frame);
    CHECK(frame.seq == 0 && frame.payload.data == NULL);
    plsm_buf_t b2 = {0}, b1 = {0};
    CHECK(plsm_pool_get_json(pool, 2, &b2, &err) == 0);
    CHECK(plsm_pool_get_json(pool, 1, &b1, &err) == 0);
    CHECK(contains(&b2, "\"seq\":2") && contains(&b2, "\"tags\":[\"red\",\"blue\"]"));
    plsm_buf_free(&b1);
    plsm_buf_free(&b2);
    CHECK_ERR(plsm_pool_append_lite3(pool, (const uint8_t *)"junkjunk", 8, 0, &seq, &err), err,
              PLSM_ERROR_CORRUPT);
    CHECK_ERR(plsm_pool_append_lite3(pool, (const uint8_t *)"", 0, 0, &seq, &err), err,
              PLSM_ERROR_CORRUPT);
    CHECK_ERR(plsm_pool_append_lite3(pool, (const uint8_t *)"", 0, 5, &seq, &err), err,
              PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_get_lite3(pool, 42, &frame, &err), err, PLSM_ERROR_NOT_FOUND);

    /* Extensions: info, list, batch, delete, version. */
    plsm_buf_t info = {0};
    CHECK(plsm_pool_info_json(pool, &info, &err) == 0);
    CHECK(contains(&info, "\"name\":\"ag\"") && contains(&info, "\"newest\":2"));
    plsm_buf_free(&info);
    const char *lines = "{\"i\":1}\n\n{\"i\":2}\n{\"i\":3}";
    uint64_t first = 0, count = 0;
    CHECK(plsm_pool_append_batch_jsonl(pool, (const uint8_t *)lines, strlen(lines), tags, 1, 0,
                                       &first, &count, &err) == 0);
    CHECK(first == 3 && count == 3);
    const char *bad = "{\"i\":1}\nnope\n";
    CHECK_ERR(plsm_pool_append_batch_jsonl(pool, (const uint8_t *)bad, strlen(bad), NULL, 0, 0,
                                           &first, &count, &err),
              err, PLSM_ERROR_USAGE);
    CHECK(plsm_pool_get_json(pool, 6, &b1, &err) == -1);
    plsm_error_free(err);
    err = NULL;
    plsm_buf_t list = {0};
    CHECK(plsm_pool_list_json(client, &list, &err) == 0);
    CHECK(list.data[0] == '[' && contains(&list, "\"name\":\"ag\"") && contains(&list, "\"name\":\"garbage\""));
    plsm_buf_free(&list);
    CHECK(plsm_pool_delete(client, "one", &err) == 0);
    CHECK_ERR(plsm_pool_delete(client, "one", &err), err, PLSM_ERROR_NOT_FOUND);
    CHECK(plsm_version() != NULL && strchr(plsm_version(), '.') != NULL);

    plsm_pool_free(pool);
}

/* Reads a JSON stream to its end; returns the count and the seqs in `seqs`. */
static int drain(plsm_stream_t *s, uint64_t *seqs, int cap, plsm_error_t **err) {
    int n = 0;
    plsm_buf_t m = {0};
    int rc;
    while ((rc = plsm_stream_next(s, &m, err)) == 1) {
        if (n < cap) seqs[n] = strtoull((const char *)m.data + 7, NULL, 10);
        n++;
        plsm_buf_free(&m);
    }
    return rc == 0 ? n : -1;
}

static void test_streams(void) {
    plsm_error_t *err = NULL;
    plsm_pool_t *pool = NULL;
    CHECK(plsm_pool_create(client, "st", 0, &pool, &err) == 0);
    const char *red[] = {"red"};
    for (int i = 1; i <= 10; i++) {
        char j[64];
        snprintf(j, sizeof j, "{\"i\":%d}", i);
        append(pool, j, i % 2 ? red : NULL, i % 2 ? 1 : 0);
    }
    uint64_t seqs[64];
    plsm_stream_t *s = NULL;

    /* timeout 0: history still delivered in full, then the end. */
    CHECK(plsm_stream_open(pool, 0, 0, 0, 0, 0, 1, &s, &err) == 0);
    CHECK(drain(s, seqs, 64, &err) == 10 && seqs[0] == 1 && seqs[9] == 10);
    plsm_stream_free(s);

    /* since + max */
    CHECK(plsm_stream_open(pool, 4, 1, 3, 1, 0, 0, &s, &err) == 0);
    CHECK(drain(s, seqs, 64, &err) == 3 && seqs[0] == 4 && seqs[2] == 6);
    plsm_stream_free(s);

    /* max 0 ends at once */
    CHECK(plsm_stream_open(pool, 0, 0, 0, 1, 0, 0, &s, &err) == 0);
    CHECK(drain(s, seqs, 64, &err) == 0);
    plsm_stream_free(s);

    /* A timeout waits about as long as asked, then ends. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(plsm_stream_open(pool, 11, 1, 0, 0, 150, 1, &s, &err) == 0);
    CHECK(drain(s, seqs, 64, &err) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK(ms >= 140 && ms < 2000);
    plsm_stream_free(s);

    /* The stream outlives its pool handle. */
    plsm_stream_options_t o;
    opts_init(&o);
    o.gap_policy = PLSM_GAP_ERROR;
    o.has_timeout = 1;
    CHECK(plsm_stream_open_ex(pool, &o, &s, &err) == 0);

    /* Options checks. */
    plsm_stream_t *bad = NULL;
    o.struct_size = 40;
    CHECK_ERR(plsm_stream_open_ex(pool, &o, &bad, &err), err, PLSM_ERROR_USAGE);
    o.struct_size = sizeof o;
    o.reserved = 1;
    CHECK_ERR(plsm_stream_open_ex(pool, &o, &bad, &err), err, PLSM_ERROR_USAGE);
    o.reserved = 0;
    o.gap_policy = 9;
    CHECK_ERR(plsm_stream_open_ex(pool, &o, &bad, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_stream_open_ex(pool, NULL, &bad, &err), err, PLSM_ERROR_USAGE);
    o.gap_policy = 0;
    CHECK_ERR(plsm_stream_open_ex(NULL, &o, &bad, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_stream_open_ex(pool, &o, NULL, &err), err, PLSM_ERROR_USAGE);

    /* Lite3 streams. */
    plsm_lite3_stream_t *ls = NULL;
    CHECK(plsm_lite3_stream_open(pool, 9, 1, 0, 0, 0, 1, &ls, &err) == 0);
    plsm_lite3_frame_t fr = {0};
    CHECK(plsm_lite3_stream_next(ls, &fr, &err) == 1 && fr.seq == 9 && fr.payload.len > 0);
    plsm_lite3_frame_free(&fr);
    CHECK(plsm_lite3_stream_next(ls, &fr, &err) == 1 && fr.seq == 10);
    plsm_lite3_frame_free(&fr);
    CHECK(plsm_lite3_stream_next(ls, &fr, &err) == 0);
    plsm_lite3_stream_free(ls);
    opts_init(&o);
    o.has_max = 1;
    o.max_messages = 2;
    CHECK(plsm_lite3_stream_open_ex(pool, &o, &ls, &err) == 0);
    CHECK(plsm_lite3_stream_next(ls, &fr, &err) == 1 && fr.seq == 1);
    plsm_lite3_frame_free(&fr);
    CHECK(plsm_lite3_stream_next(ls, &fr, &err) == 1 && fr.seq == 2);
    plsm_lite3_frame_free(&fr);
    CHECK(plsm_lite3_stream_next(ls, &fr, &err) == 0);
    plsm_lite3_stream_free(ls);

    /* Extension filters: tags, where, last N, live. */
    plsm_stream_filter_t f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.tags = red;
    f.tags_len = 1;
    const char *where[] = {".data.i > 4"};
    f.where_exprs = where;
    f.where_len = 1;
    opts_init(&o);
    o.has_timeout = 1;
    CHECK(plsm_stream_open_ex2(pool, &o, &f, &bad, &err) == 0);
    CHECK(drain(bad, seqs, 64, &err) == 3 && seqs[0] == 5 && seqs[1] == 7 && seqs[2] == 9);
    plsm_stream_free(bad);
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.start = PLSM_START_LAST;
    f.last_n = 2;
    CHECK(plsm_stream_open_ex2(pool, &o, &f, &bad, &err) == 0);
    CHECK(drain(bad, seqs, 64, &err) == 2 && seqs[0] == 9 && seqs[1] == 10);
    plsm_stream_free(bad);
    f.start = PLSM_START_LIVE;
    CHECK(plsm_stream_open_ex2(pool, &o, &f, &bad, &err) == 0);
    CHECK(drain(bad, seqs, 64, &err) == 0);
    plsm_stream_free(bad);
    o.has_since = 1;
    CHECK_ERR(plsm_stream_open_ex2(pool, &o, &f, &bad, &err), err, PLSM_ERROR_USAGE);
    o.has_since = 0;
    const char *bad_where[] = {".data | nosuchfn"};
    f.start = 0;
    f.where_exprs = bad_where;
    f.where_len = 1;
    CHECK_ERR(plsm_stream_open_ex2(pool, &o, &f, &bad, &err), err, PLSM_ERROR_USAGE);
    plsm_lite3_stream_t *lf = NULL;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.tags = red;
    f.tags_len = 1;
    CHECK(plsm_lite3_stream_open_ex2(pool, &o, &f, &lf, &err) == 0);
    int n = 0;
    while (plsm_lite3_stream_next(lf, &fr, &err) == 1) {
        CHECK(fr.seq % 2 == 1);
        plsm_lite3_frame_free(&fr);
        n++;
    }
    CHECK(n == 5);
    plsm_lite3_stream_free(lf);

    plsm_pool_free(pool);
    CHECK(drain(s, seqs, 64, &err) == 10);
    plsm_stream_free(s);
}

/* A full, wrapped pool: a stream from the oldest retained message sees no false gap; a stream
 * from an evicted seq sees a real one. */
static void test_wrapped(void) {
    plsm_error_t *err = NULL;
    plsm_pool_t *pool = NULL;
    CHECK(plsm_pool_create(client, "wrap", 64 * 1024, &pool, &err) == 0);
    char j[300];
    for (int i = 1; i <= 3000; i++) {
        snprintf(j, sizeof j, "{\"i\":%d,\"pad\":\"%0200d\"}", i, i);
        append(pool, j, NULL, 0);
    }
    plsm_stream_options_t o;
    opts_init(&o);
    o.gap_policy = PLSM_GAP_ERROR;
    o.has_timeout = 1;
    plsm_stream_t *s = NULL;
    CHECK(plsm_stream_open_ex(pool, &o, &s, &err) == 0);
    uint64_t seqs[4096];
    int n = drain(s, seqs, 4096, &err);
    if (n < 0) {
        fprintf(stderr, "wrapped: %s\n", err->message);
        plsm_error_free(err);
        err = NULL;
    }
    CHECK(n > 10 && n < 3000);
    CHECK(n > 0 && seqs[n - 1] == 3000 && seqs[0] == 3000 - (uint64_t)n + 1);
    plsm_stream_free(s);

    /* since 1 was evicted: a real gap. */
    o.has_since = 1;
    o.since_seq = 1;
    CHECK(plsm_stream_open_ex(pool, &o, &s, &err) == 0);
    plsm_buf_t m = {0};
    CHECK(plsm_stream_next(s, &m, &err) == -1);
    CHECK(err && err->kind == PLSM_ERROR_RETENTION_GAP && err->has_seq && err->seq == 1);
    plsm_error_free(err);
    err = NULL;
    CHECK(plsm_stream_next(s, &m, &err) == 0);
    plsm_stream_free(s);

    /* Under continue the gap is skipped. */
    CHECK(plsm_stream_open(pool, 1, 1, 1, 1, 0, 1, &s, &err) == 0);
    CHECK(plsm_stream_next(s, &m, &err) == 1);
    CHECK(strtoull((const char *)m.data + 7, NULL, 10) == seqs[0]);
    plsm_buf_free(&m);
    plsm_stream_free(s);
    plsm_pool_free(pool);
}

struct writer_arg {
    plsm_pool_t *pool;
    int id;
};

static void *writer(void *p) {
    struct writer_arg *a = p;
    for (int i = 0; i < 500; i++) {
        char j[64];
        snprintf(j, sizeof j, "{\"w\":%d,\"i\":%d}", a->id, i);
        append(a->pool, j, NULL, 0);
    }
    return NULL;
}

/* Two threads append through one handle; a reader thread's live stream sees all of them. */
static void test_threads(void) {
    plsm_error_t *err = NULL;
    plsm_pool_t *pool = NULL;
    CHECK(plsm_pool_create(client, "threads", 4 * 1024 * 1024, &pool, &err) == 0);
    pthread_t t[2];
    struct writer_arg a[2] = {{pool, 0}, {pool, 1}};
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, writer, &a[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    plsm_stream_t *s = NULL;
    CHECK(plsm_stream_open(pool, 0, 0, 0, 0, 0, 1, &s, &err) == 0);
    static uint64_t seqs[1000];
    CHECK(drain(s, seqs, 1000, &err) == 1000);
    for (int i = 0; i < 1000; i++) CHECK(seqs[i] == (uint64_t)i + 1);
    plsm_stream_free(s);
    plsm_pool_free(pool);
}

/* A writer process and a reader in this one: the reader, waiting live, sees every message. */
static void test_processes(void) {
    plsm_error_t *err = NULL;
    plsm_pool_t *pool = NULL;
    CHECK(plsm_pool_create(client, "procs", 0, &pool, &err) == 0);
    plsm_stream_t *s = NULL;
    CHECK(plsm_stream_open(pool, 0, 0, 100, 1, 10000, 1, &s, &err) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        plsm_client_t *c = NULL;
        plsm_pool_t *p = NULL;
        if (plsm_client_new(dir, &c, NULL) != 0 || plsm_pool_open(c, "procs", &p, NULL) != 0)
            _exit(2);
        for (int i = 0; i < 100; i++) {
            struct timespec d = {0, 1000000};
            nanosleep(&d, NULL);
            plsm_buf_t out = {0};
            if (plsm_pool_append_json(p, (const uint8_t *)"{\"from\":\"child\"}", 16, NULL, 0, 0,
                                      &out, NULL) != 0)
                _exit(3);
            plsm_buf_free(&out);
        }
        plsm_pool_free(p);
        plsm_client_free(c);
        _exit(0);
    }
    uint64_t seqs[128];
    CHECK(drain(s, seqs, 128, &err) == 100);
    CHECK(seqs[99] == 100);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    plsm_stream_free(s);
    plsm_pool_free(pool);
}

static void *cancel_later(void *arg) {
    struct timespec d = {0, 100 * 1000000};
    nanosleep(&d, NULL);
    plsm_stream_cancel((plsm_stream_t *)arg);
    return NULL;
}

/* Another thread cancels a stream waiting without a deadline: the wait ends, and so does every
 * later next; an error carries its hint until freed. */
static void test_cancel_and_hint(void) {
    plsm_error_t *err = NULL;
    plsm_pool_t *pool = NULL;
    CHECK(plsm_pool_create(client, "cancel", 0, &pool, &err) == 0);
    plsm_stream_t *s = NULL;
    CHECK(plsm_stream_open(pool, 0, 0, 0, 0, 0, 0, &s, &err) == 0);
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, s);
    plsm_buf_t out = {0};
    CHECK(plsm_stream_next(s, &out, &err) == 0);
    pthread_join(t, NULL);
    append(pool, "{\"after\":1}", NULL, 0);
    CHECK(plsm_stream_next(s, &out, &err) == 0);
    CHECK(err == NULL);
    plsm_stream_free(s);
    plsm_lite3_stream_cancel(NULL);
    plsm_stream_cancel(NULL);

    CHECK(plsm_error_hint(NULL) == NULL);
    plsm_pool_t *p2 = NULL;
    CHECK(plsm_pool_open(client, "http://host/x", &p2, &err) == -1);
    CHECK(err != NULL && plsm_error_hint(err) != NULL && strlen(plsm_error_hint(err)) > 0);
    plsm_error_free(err);
    plsm_pool_free(pool);
}

int main(void) {
    temp_dir(dir, sizeof dir, "abi");
    plsm_error_t *err = NULL;
    CHECK(plsm_client_new(dir, &client, &err) == 0);
    test_client_and_pools();
    test_append_get();
    test_streams();
    test_wrapped();
    test_threads();
    test_processes();
    test_cancel_and_hint();
    plsm_client_free(client);
    rm_dir(dir);
    return finish("test_abi");
}
