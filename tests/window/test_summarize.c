/*
 * The built-in extractive summarizer keeps constraints verbatim and stays
 * within its token limit.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ctxmem_tokenizer *o200k(void)
{
    ctxmem_tokenizer *tok = NULL;

    assert_ctxmem(ctxmem_tokenizer_load(&tok, "o200k_base", NULL), CTXMEM_OK);
    return tok;
}

static void test_summary_keeps_constraint_sentence_verbatim(void **state)
{
    ctxmem_tokenizer *tok = o200k();
    char text[8192];
    size_t len = 0, n = 0;
    char *out = NULL;
    const char *needle = "The invoice date must match the letter of credit.";

    (void)state;
    len += (size_t)snprintf(text + len, sizeof(text) - len, "A: Hello there, how was the trip?\n");
    len += (size_t)snprintf(text + len, sizeof(text) - len, "B: Fine. %s\n", needle);
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "A: we talked about the weather and the garden again today.\n");
    assert_ctxmem(ctxmem_summarize_extractive(&out, &n, tok, text, len, 40), CTXMEM_OK);
    assert_non_null(strstr(out, needle));
    assert_int_equal(strlen(out), n);
    free(out);
    ctxmem_tokenizer_free(tok);
}

static void test_summary_respects_limit_and_order(void **state)
{
    ctxmem_tokenizer *tok = o200k();
    const char *text = "First we met on 3 May. Then we must pay $200 by Friday. Nothing else "
                       "happened. Finally Anna decided to always book early.";
    char *out = NULL;
    size_t n = 0, count = 0;

    (void)state;
    for (size_t limit = 1; limit < 60; limit += 3) {
        assert_ctxmem(ctxmem_summarize_extractive(&out, &n, tok, text, strlen(text), limit),
                      CTXMEM_OK);
        assert_ctxmem(ctxmem_tokenizer_count(tok, out, n, &count), CTXMEM_OK);
        assert_true(count <= limit);
        /* Kept sentences appear in their original order. */
        const char *pay = strstr(out, "must pay"), *book = strstr(out, "always book");
        if (pay && book)
            assert_true(pay < book);
        free(out);
    }
    assert_ctxmem(ctxmem_summarize_extractive(&out, &n, tok, "\xFF", 1, 10), CTXMEM_EINVAL);
    assert_null(out);
    ctxmem_tokenizer_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_keeps_constraint_sentence_verbatim),
        cmocka_unit_test(test_summary_respects_limit_and_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
