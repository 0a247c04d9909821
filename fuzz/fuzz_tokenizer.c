/*
 * libFuzzer target: the tokenizer on arbitrary bytes. Invalid UTF-8 must give
 * CTXMEM_EINVAL from count, encode and truncate; valid text must encode to
 * as many ids as count says, decode back to the same bytes, and truncate to a
 * valid prefix within the budget. Rank tables come from CTXMEM_TOKENIZER_DIR.
 */
#include "ctxmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ctxmem_tokenizer *bpe, *approx;

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_tokenizer: %s failed at line %d\n", #cond, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (ctxmem_tokenizer_load(&bpe, "o200k_base", NULL) != CTXMEM_OK ||
        ctxmem_tokenizer_load(&approx, "approx", NULL) != CTXMEM_OK) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", ctxmem_error_last()->message);
        exit(2);
    }
    return 0;
}

static void check_valid(const char *text, size_t len)
{
    size_t n = 0, n_ids = 0, out_len = 0, cut = 0;
    uint32_t *ids = NULL;
    char *bytes = NULL;

    REQUIRE(ctxmem_tokenizer_count(bpe, text, len, &n) == CTXMEM_OK);
    REQUIRE(ctxmem_tokenizer_encode(bpe, text, len, &ids, &n_ids) == CTXMEM_OK);
    REQUIRE(n_ids == n);
    REQUIRE(ctxmem_tokenizer_decode(bpe, ids, n_ids, &bytes, &out_len) == CTXMEM_OK);
    REQUIRE(out_len == len && (len == 0 || memcmp(bytes, text, len) == 0));
    REQUIRE(ctxmem_tokenizer_truncate(bpe, text, len, n / 2, &cut) == CTXMEM_OK);
    REQUIRE(cut <= len && ctxmem_utf8_check(text, cut) == CTXMEM_OK);
    REQUIRE(ctxmem_tokenizer_count(bpe, text, cut, &n) == CTXMEM_OK && n <= n_ids / 2);
    REQUIRE(ctxmem_tokenizer_count(approx, text, len, &n) == CTXMEM_OK);
    free(ids);
    free(bytes);
}

static void check_invalid(const char *text, size_t len)
{
    size_t n = 0, n_ids = 0, cut = 0;
    uint32_t *ids = NULL;

    REQUIRE(ctxmem_tokenizer_count(bpe, text, len, &n) == CTXMEM_EINVAL);
    REQUIRE(ctxmem_tokenizer_encode(bpe, text, len, &ids, &n_ids) == CTXMEM_EINVAL);
    REQUIRE(ids == NULL);
    REQUIRE(ctxmem_tokenizer_truncate(bpe, text, len, 5, &cut) == CTXMEM_EINVAL);
    REQUIRE(ctxmem_tokenizer_count(approx, text, len, &n) == CTXMEM_EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;

    if (ctxmem_utf8_check(text, size) == CTXMEM_OK)
        check_valid(text, size);
    else
        check_invalid(text, size);
    return 0;
}
