/*
 * Exactness: ids, counts and round trips against the reference ids that
 * tiktoken 1.0.22 produced for ../shared/tokenizers/golden_public.jsonl.
 */
#include "tt.h"
#include "internal.h" /* utf8_encode, ARRAY_LEN */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[2] = {"cl100k_base", "o200k_base"};

static int ids_equal(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

/* Encode every golden string and compare with the reference ids. */
static void golden_ids_match(tt_fixture *f, int e)
{
    size_t bad = 0;

    for (size_t i = 0; i < f->n; i++) {
        const tt_golden *g = &f->golden[i];
        uint32_t *ids = NULL;
        size_t n = 0;

        assert_ctxmem(ctxmem_tokenizer_encode(f->tok[e], g->text, g->len, &ids, &n), CTXMEM_OK);
        if (!ids_equal(ids, n, g->ids[e], g->n_ids[e]) && bad++ < 5)
            print_message("%s mismatch on line %zu (%zu ids, want %zu): %.60s\n", names[e], i + 1,
                          n, g->n_ids[e], g->text);
        free(ids);
    }
    assert_int_equal(f->n, 351);
    assert_int_equal(bad, 0);
}

static void test_golden_cl100k_ids_match_reference(void **state)
{
    golden_ids_match(*state, 0);
}

static void test_golden_o200k_ids_match_reference(void **state)
{
    golden_ids_match(*state, 1);
}

static void test_golden_count_equals_reference_id_count(void **state)
{
    tt_fixture *f = *state;

    for (int e = 0; e < 2; e++) {
        for (size_t i = 0; i < f->n; i++) {
            size_t n = 0;

            assert_ctxmem(
                ctxmem_tokenizer_count(f->tok[e], f->golden[i].text, f->golden[i].len, &n),
                CTXMEM_OK);
            assert_int_equal(n, f->golden[i].n_ids[e]);
        }
    }
}

static void test_golden_reference_ids_decode_to_text(void **state)
{
    tt_fixture *f = *state;

    for (int e = 0; e < 2; e++) {
        for (size_t i = 0; i < f->n; i++) {
            const tt_golden *g = &f->golden[i];
            char *bytes = NULL;
            size_t len = 0;

            assert_ctxmem(ctxmem_tokenizer_decode(f->tok[e], g->ids[e], g->n_ids[e], &bytes, &len),
                          CTXMEM_OK);
            assert_int_equal(len, g->len);
            assert_memory_equal(bytes, g->text, len);
            assert_int_equal(bytes[len], '\0');
            free(bytes);
        }
    }
}

/* Code points drawn from the scripts and classes the pre-tokenizer treats differently. */
static uint32_t random_code_point(unsigned *seed)
{
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E},        {0x20, 0x20},       {0x09, 0x0D},     {0x30, 0x39},
        {0x27, 0x27},        {0xC0, 0x24F},      {0x300, 0x36F},   {0x400, 0x4FF},
        {0x600, 0x6FF},      {0x900, 0x97F},     {0x3040, 0x30FF}, {0x4E00, 0x9FFF},
        {0xAC00, 0xD7A3},    {0x1F300, 0x1FAFF}, {0x2000, 0x206F}, {0x85, 0x85},
        {0xA0, 0xA0},        {0xFEFF, 0xFEFF},   {0x0, 0x1F},      {0xE000, 0xF8FF},
        {0x10000, 0x10FFFF},
    };
    unsigned r = (unsigned)rand_r(seed);
    const uint32_t *range = ranges[r % ARRAY_LEN(ranges)];
    uint32_t cp = range[0] + (uint32_t)rand_r(seed) % (range[1] - range[0] + 1);

    return cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp;
}

static size_t random_text(char *buf, size_t cap, unsigned *seed)
{
    size_t len = 0, chars = (size_t)rand_r(seed) % 200;

    for (size_t i = 0; i < chars && len + 4 <= cap; i++)
        len += utf8_encode(random_code_point(seed), buf + len);
    return len;
}

static void test_random_utf8_round_trips_and_counts_match(void **state)
{
    tt_fixture *f = *state;
    unsigned seed = 20240611;
    char buf[1024];

    for (int round = 0; round < 2000; round++) {
        size_t len = random_text(buf, sizeof(buf), &seed);

        for (int e = 0; e < 2; e++) {
            uint32_t *ids = NULL;
            char *back = NULL;
            size_t n = 0, count = 0, back_len = 0;

            assert_ctxmem(ctxmem_tokenizer_encode(f->tok[e], buf, len, &ids, &n), CTXMEM_OK);
            assert_ctxmem(ctxmem_tokenizer_count(f->tok[e], buf, len, &count), CTXMEM_OK);
            assert_int_equal(count, n);
            assert_ctxmem(ctxmem_tokenizer_decode(f->tok[e], ids, n, &back, &back_len), CTXMEM_OK);
            assert_int_equal(back_len, len);
            assert_memory_equal(back, buf, len);
            free(ids);
            free(back);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_cl100k_ids_match_reference),
        cmocka_unit_test(test_golden_o200k_ids_match_reference),
        cmocka_unit_test(test_golden_count_equals_reference_id_count),
        cmocka_unit_test(test_golden_reference_ids_decode_to_text),
        cmocka_unit_test(test_random_utf8_round_trips_and_counts_match),
    };

    return cmocka_run_group_tests(tests, tt_setup, tt_teardown);
}
