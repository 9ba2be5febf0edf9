/* Throughput of libplasmite through its C ABI: append one per call, append batched (JSONL, one
 * lock per batch), and stream `next` over history. Prints the median of RUNS runs of each. */
#include "plasmite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RUNS 5
#define N 200000
#define BATCH 1000

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v) {
    qsort(v, RUNS, sizeof *v, cmp);
    return v[RUNS / 2];
}

static void die(const char *what, plsm_error_t *err) {
    fprintf(stderr, "%s: %s\n", what, err ? err->message : "?");
    exit(1);
}

int main(void) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s/plsm-bench-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    plsm_client_t *client = NULL;
    plsm_error_t *err = NULL;
    if (plsm_client_new(dir, &client, &err)) die("client", err);
    const char *msg = "{\"kind\":\"tick\",\"n\":12345,\"ok\":true}";
    size_t msg_len = strlen(msg);
    char *jsonl = malloc((msg_len + 1) * BATCH);
    for (int i = 0; i < BATCH; i++) {
        memcpy(jsonl + i * (msg_len + 1), msg, msg_len);
        jsonl[i * (msg_len + 1) + msg_len] = '\n';
    }
    double single[RUNS], batched[RUNS], stream[RUNS];
    for (int r = 0; r < RUNS; r++) {
        char name[32];
        snprintf(name, sizeof name, "b%d", r);
        plsm_pool_t *pool = NULL;
        if (plsm_pool_create(client, name, 64u << 20, &pool, &err)) die("create", err);

        double t0 = now();
        for (int i = 0; i < N; i++) {
            plsm_buf_t out = {0};
            if (plsm_pool_append_json(pool, (const uint8_t *)msg, msg_len, NULL, 0, 0, &out, &err))
                die("append", err);
            plsm_buf_free(&out);
        }
        single[r] = N / (now() - t0);

        t0 = now();
        for (int i = 0; i < N / BATCH; i++) {
            uint64_t first, count;
            if (plsm_pool_append_batch_jsonl(pool, (const uint8_t *)jsonl, (msg_len + 1) * BATCH,
                                             NULL, 0, 0, &first, &count, &err))
                die("batch", err);
        }
        batched[r] = N / (now() - t0);

        plsm_stream_t *s = NULL;
        if (plsm_stream_open(pool, 0, 0, 0, 0, 0, 1, &s, &err)) die("stream", err);
        plsm_buf_t m = {0};
        long n = 0;
        t0 = now();
        while (plsm_stream_next(s, &m, &err) == 1) {
            plsm_buf_free(&m);
            n++;
        }
        stream[r] = n / (now() - t0);
        plsm_stream_free(s);
        plsm_pool_free(pool);
        if (plsm_pool_delete(client, name, &err)) die("delete", err);
    }
    printf("append one per call : %10.0f msgs/s (median of %d x %d)\n", median(single), RUNS, N);
    printf("append batched %4d : %10.0f msgs/s (median of %d x %d)\n", BATCH, median(batched),
           RUNS, N);
    printf("stream next         : %10.0f msgs/s (median of %d x %d)\n", median(stream), RUNS,
           2 * N);
    free(jsonl);
    plsm_client_free(client);
    rmdir(dir);
    return 0;
}
