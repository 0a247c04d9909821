/*
 * Helpers of the tokenizer tests: loading an encoding and reading the golden
 * strings of ../shared/tokenizers.
 */
#ifndef CTXMEM_TT_H
#define CTXMEM_TT_H

#include "testutil.h"

/* One golden record: text and reference ids under both encodings. */
typedef struct tt_golden {
    char *text;
    size_t len;
    uint32_t *ids[2]; /* [0] cl100k_base, [1] o200k_base */
    size_t n_ids[2];
} tt_golden;

/*
 * Load an encoding through the normal lookup ($CTXMEM_TOKENIZER_DIR, i.e. the
 * tables scripts/fetch-tokenizers put in the build tree), falling back to the
 * shared copy with a note when the fetched ones are missing. Fails the test
 * when neither exists.
 */
ctxmem_tokenizer *tt_load(const char *name);

/* Read golden_public.jsonl; fails the test when it is absent or malformed. */
tt_golden *tt_golden_read(size_t *n);

void tt_golden_free(tt_golden *g, size_t n);

/* cmocka group state: both encodings ([0] cl100k_base, [1] o200k_base) and the golden set. */
typedef struct tt_fixture {
    ctxmem_tokenizer *tok[2];
    tt_golden *golden;
    size_t n;
} tt_fixture;

int tt_setup(void **state);
int tt_teardown(void **state);

#endif /* CTXMEM_TT_H */
