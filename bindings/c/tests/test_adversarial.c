/* Misuse: NULLs everywhere, non-UTF-8 strings, oversized lengths, repeated and NULL frees.
 * Every call answers an error (or is a documented no-op), never a crash or a leak. */
#include "common.h"

#include <stdint.h>

int main(void) {
    char dir[512];
    temp_dir(dir, sizeof dir, "adv");
    plsm_error_t *err = NULL;
    plsm_client_t *client = NULL;
    plsm_pool_t *pool = NULL;
    plsm_buf_t buf = {0};
    plsm_lite3_frame_t frame = {0};
    uint64_t seq = 0, count = 0;
    const char bad_utf8[] = {'p', (char)0xff, (char)0xfe, 0};

    CHECK_ERR(plsm_client_new(dir, NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_client_new(bad_utf8, &client, &err), err, PLSM_ERROR_USAGE);
    CHECK(client == NULL);
    CHECK(plsm_client_new(dir, &client, NULL) == 0);
    CHECK(plsm_client_new(dir, NULL, NULL) == -1); /* no out_err: just -1 */

    CHECK_ERR(plsm_pool_create(NULL, "p", 0, &pool, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_create(client, NULL, 0, &pool, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_create(client, bad_utf8, 0, &pool, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_create(client, "p", 0, NULL, &err), err, PLSM_ERROR_USAGE);
    /* Refused before anything happened: the pool was not created. */
    CHECK_ERR(plsm_pool_open(client, "p", &pool, &err), err, PLSM_ERROR_NOT_FOUND);
    CHECK_ERR(plsm_pool_open(NULL, "p", &pool, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_open(client, NULL, &pool, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_open(client, "p", NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_create(client, "ftp://x/y", 0, &pool, &err), err, PLSM_ERROR_USAGE);
    CHECK(pool == NULL);
    CHECK(plsm_pool_create(client, "p", 0, &pool, &err) == 0);

    const uint8_t *j = (const uint8_t *)"{\"a\":1}";
    CHECK_ERR(plsm_pool_append_json(NULL, j, 7, NULL, 0, 0, &buf, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_json(pool, NULL, 7, NULL, 0, 0, &buf, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_json(pool, j, 7, NULL, 0, 0, NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_json(pool, j, SIZE_MAX, NULL, 0, 0, &buf, &err), err,
              PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_json(pool, (const uint8_t *)bad_utf8, 3, NULL, 0, 0, &buf, &err),
              err, PLSM_ERROR_USAGE);
    const char *tags_bad[] = {bad_utf8};
    CHECK_ERR(plsm_pool_append_json(pool, j, 7, tags_bad, 1, 0, &buf, &err), err,
              PLSM_ERROR_USAGE);
    const char *tags_ok[] = {"t"};
    CHECK_ERR(plsm_pool_append_json(pool, j, 7, tags_ok, SIZE_MAX, 0, &buf, &err), err,
              PLSM_ERROR_USAGE);
    /* None of the refused appends committed anything. */
    CHECK_ERR(plsm_pool_get_json(pool, 1, &buf, &err), err, PLSM_ERROR_NOT_FOUND);

    CHECK_ERR(plsm_pool_append_lite3(NULL, j, 7, 0, &seq, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_lite3(pool, NULL, 7, 0, &seq, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_lite3(pool, j, 7, 0, NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_lite3(pool, j, SIZE_MAX, 0, &seq, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_get_json(NULL, 1, &buf, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_get_json(pool, 1, NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_get_lite3(NULL, 1, &frame, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_get_lite3(pool, 1, NULL, &err), err, PLSM_ERROR_USAGE);

    plsm_stream_t *s = NULL;
    plsm_lite3_stream_t *ls = NULL;
    CHECK_ERR(plsm_stream_open(NULL, 0, 0, 0, 0, 0, 0, &s, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_stream_open(pool, 0, 0, 0, 0, 0, 0, NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_lite3_stream_open(NULL, 0, 0, 0, 0, 0, 0, &ls, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_lite3_stream_open_ex(pool, NULL, &ls, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_stream_next(NULL, &buf, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_lite3_stream_next(NULL, &frame, &err), err, PLSM_ERROR_USAGE);
    CHECK(plsm_stream_open(pool, 0, 0, 0, 0, 0, 1, &s, &err) == 0);
    CHECK(plsm_pool_append_json(pool, j, 7, NULL, 0, 0, &buf, &err) == 0);
    plsm_buf_free(&buf);
    /* A NULL output is refused before the message is taken: the next call still gets it. */
    CHECK_ERR(plsm_stream_next(s, NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK(plsm_stream_next(s, &buf, &err) == 1);
    plsm_buf_free(&buf);
    plsm_stream_free(s);
    CHECK(plsm_lite3_stream_open(pool, 0, 0, 0, 0, 0, 1, &ls, &err) == 0);
    CHECK_ERR(plsm_lite3_stream_next(ls, NULL, &err), err, PLSM_ERROR_USAGE);
    plsm_lite3_stream_free(ls);

    /* Extension filter misuse. */
    plsm_stream_options_t o;
    opts_init(&o);
    plsm_stream_filter_t f;
    memset(&f, 0, sizeof f);
    f.struct_size = 8;
    CHECK_ERR(plsm_stream_open_ex2(pool, &o, &f, &s, &err), err, PLSM_ERROR_USAGE);
    f.struct_size = sizeof f;
    f.start = 77;
    CHECK_ERR(plsm_stream_open_ex2(pool, &o, &f, &s, &err), err, PLSM_ERROR_USAGE);
    f.start = 0;
    const char *null_tags[] = {NULL};
    f.tags = null_tags;
    f.tags_len = 1;
    CHECK_ERR(plsm_stream_open_ex2(pool, &o, &f, &s, &err), err, PLSM_ERROR_USAGE);
    f.tags = NULL;
    f.where_exprs = tags_bad;
    f.where_len = 1;
    CHECK_ERR(plsm_stream_open_ex2(pool, &o, &f, &s, &err), err, PLSM_ERROR_USAGE);

    CHECK_ERR(plsm_pool_info_json(NULL, &buf, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_info_json(pool, NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_list_json(NULL, &buf, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_list_json(client, NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_delete(NULL, "p", &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_delete(client, NULL, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_delete(client, bad_utf8, &err), err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_batch_jsonl(NULL, j, 7, NULL, 0, 0, &seq, &count, &err), err,
              PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_batch_jsonl(pool, NULL, 7, NULL, 0, 0, &seq, &count, &err), err,
              PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_batch_jsonl(pool, j, 7, NULL, 0, 0, NULL, &count, &err), err,
              PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_batch_jsonl(pool, j, SIZE_MAX, NULL, 0, 0, &seq, &count, &err),
              err, PLSM_ERROR_USAGE);
    CHECK_ERR(plsm_pool_append_batch_jsonl(pool, j, 7, NULL, 0, 3, &seq, &count, &err), err,
              PLSM_ERROR_USAGE);

    /* Success leaves *out_err untouched; failure overwrites it. */
    plsm_error_t *sentinel = (plsm_error_t *)&sentinel;
    err = sentinel;
    CHECK(plsm_pool_get_lite3(pool, 1, &frame, &err) == 0 && err == sentinel);
    plsm_lite3_frame_free(&frame);
    uint64_t untouched = 12345;
    CHECK(plsm_pool_append_lite3(pool, (const uint8_t *)"x", 1, 0, &untouched, &err) == -1);
    CHECK(err != sentinel && err->kind == PLSM_ERROR_CORRUPT && untouched == 12345);
    plsm_error_free(err);
    err = NULL;

    /* Frees: NULL and repeated frees of buffers/frames through the API are no-ops. */
    plsm_client_free(NULL);
    plsm_pool_free(NULL);
    plsm_stream_free(NULL);
    plsm_lite3_stream_free(NULL);
    plsm_buf_free(NULL);
    plsm_lite3_frame_free(NULL);
    plsm_error_free(NULL);
    plsm_buf_t zero = {0};
    plsm_buf_free(&zero);
    plsm_buf_free(&zero);
    CHECK(plsm_pool_get_lite3(pool, 1, &frame, &err) == 0);
    plsm_lite3_frame_free(&frame);
    plsm_lite3_frame_free(&frame);

    plsm_pool_free(pool);
    plsm_client_free(client);
    rm_dir(dir);
    return finish("test_adversarial");
}
