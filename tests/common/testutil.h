/*
 * Helpers shared by the cmocka tests: temporary store directories and paths to
 * the shared test data.
 */
#ifndef CTXMEM_TESTUTIL_H
#define CTXMEM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctxmem.h"

/* Create a fresh empty directory under $TMPDIR; the caller frees the path. */
char *tu_tempdir(void);

/* Remove a directory tree created by tu_tempdir and free its path. */
void tu_rmtree(char *path);

/* Read a whole file; NULL when it cannot be read. The caller frees it. */
char *tu_read_file(const char *path, size_t *len);

/* Nonzero when `path` exists. */
int tu_exists(const char *path);

/* Open a fresh store in a new temporary directory with o200k_base (tables
 * from CTXMEM_TOKENIZER_DIR) and no fsync; *dir receives the directory. */
ctxmem_store *tu_store_new(char **dir);

/* Close a store from tu_store_new and remove its directory. */
void tu_store_free(ctxmem_store *s, char *dir);

/* Scale factor for long property tests: $CTXMEM_TEST_SCALE, default 1. */
double tu_scale(void);

/* Assert a ctxmem call returned `want` and, on failure, left a message. */
#define assert_ctxmem(call, want)                                                                  \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != (want))                                                                         \
            fail_msg("%s returned %d (%s), want %d; last error: %s", #call, rc_,                   \
                     ctxmem_strerror(rc_), (want), ctxmem_error_last()->message);                  \
        if ((want) != CTXMEM_OK) {                                                                 \
            assert_int_equal(ctxmem_error_last()->code, (want));                                   \
            assert_true(ctxmem_error_last()->message[0] != '\0');                                  \
        }                                                                                          \
    } while (0)

#endif /* CTXMEM_TESTUTIL_H */
