/* Shared helpers of the C tests: a check macro that reports and counts failures. */
#ifndef PLSM_TEST_COMMON_H
#define PLSM_TEST_COMMON_H

#include "plasmite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

/* Checks that `rc` is -1 with an error of `kind`, then frees the error. */
#define CHECK_ERR(rc, err, want_kind)                                                    \
    do {                                                                                 \
        CHECK((rc) == -1);                                                               \
        CHECK((err) != NULL);                                                            \
        if ((err) != NULL) {                                                             \
            if ((err)->kind != (want_kind))                                              \
                fprintf(stderr, "%s:%d: kind %d (%s), want %d\n", __FILE__, __LINE__,   \
                        (err)->kind, (err)->message ? (err)->message : "(null)",         \
                        (int)(want_kind));                                               \
            CHECK((err)->kind == (want_kind));                                           \
            CHECK((err)->message != NULL);                                               \
            plsm_error_free(err);                                                        \
            (err) = NULL;                                                                \
        }                                                                                \
    } while (0)

static int finish(const char *name) {
    if (failures) {
        fprintf(stderr, "%s: %d failure(s)\n", name, failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

/* A fresh directory under $TMPDIR for one test program. */
static void temp_dir(char *out, size_t n, const char *name) {
    const char *base = getenv("TMPDIR");
    snprintf(out, n, "%s/plsm-ctest-%s-%d", base ? base : "/tmp", name, (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot clear %s\n", out);
    }
}

static void rm_dir(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", dir);
    }
}

static void opts_init(plsm_stream_options_t *o) {
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

#endif
