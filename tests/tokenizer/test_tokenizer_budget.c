/*
 * Budget helpers: truncation to a token budget and chat framing counts.
 */
#include "tt.h"

#include <stdlib.h>
#include <string.h>

static size_t count_of(const ctxmem_tokenizer *tok, const char *text, size_t len)
{
    size_t n = 0;

    assert_ctxmem(ctxmem_tokenizer_count(tok, text, len, &n), CTXMEM_OK);
    return n;
}

static int is_char_start(const char *text, size_t len, size_t at)
{
    return at == len || ((unsigned char)text[at] & 0xC0) != 0x80;
}

/*
 * The cut fits the budget, is valid UTF-8, lies on a bound of the reference
 * tokens, and no later such bound within the first max tokens also fits.
 */
static void check_cut(const ctxmem_tokenizer *tok, const tt_golden *g, int e, size_t max)
{
    size_t cut = (size_t)-1, end = 0, k = 0;

    assert_ctxmem(ctxmem_tokenizer_truncate(tok, g->text, g->len, max, &cut), CTXMEM_OK);
    assert_true(cut <= g->len);
    assert_true(count_of(tok, g->text, cut) <= max);
    assert_int_equal(ctxmem_utf8_check(g->text, cut), CTXMEM_OK);
    if (g->n_ids[e] <= max) {
        assert_int_equal(cut, g->len);
        return;
    }
    while (end < cut) {
        char *bytes = NULL;
        size_t len = 0;

        assert_ctxmem(ctxmem_tokenizer_decode(tok, &g->ids[e][k++], 1, &bytes, &len), CTXMEM_OK);
        end += len;
        free(bytes);
    }
    assert_int_equal(end, cut);
    for (; k < max; k++) {
        char *bytes = NULL;
        size_t len = 0;

        assert_ctxmem(ctxmem_tokenizer_decode(tok, &g->ids[e][k], 1, &bytes, &len), CTXMEM_OK);
        end += len;
        free(bytes);
        if (is_char_start(g->text, g->len, end))
            assert_true(count_of(tok, g->text, end) > max);
    }
}

static void test_truncate_keeps_the_longest_prefix_within_budget(void **state)
{
    static const size_t budgets[] = {0, 1, 2, 3, 5, 8, 13, 40, 1000};
    tt_fixture *f = *state;

    for (int e = 0; e < 2; e++)
        for (size_t i = 0; i < f->n; i++)
            for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++)
                check_cut(f->tok[e], &f->golden[i], e, budgets[b]);
}

static void test_truncate_never_splits_a_character(void **state)
{
    /* U+1F9D1 U+200D U+1F33E: multi-byte characters that BPE may split. */
    static const char farmer[] = "\xF0\x9F\xA7\x91\xE2\x80\x8D\xF0\x9F\x8C\xBE";
    tt_fixture *f = *state;

    for (int e = 0; e < 2; e++) {
        for (size_t max = 0; max < 8; max++) {
            size_t cut = 99;

            assert_ctxmem(ctxmem_tokenizer_truncate(f->tok[e], farmer, 11, max, &cut), CTXMEM_OK);
            assert_true(cut == 0 || cut == 4 || cut == 7 || cut == 11);
            assert_true(count_of(f->tok[e], farmer, cut) <= max);
        }
    }
}

static void test_truncate_approx_finds_longest_fitting_prefix(void **state)
{
    ctxmem_tokenizer *tok = NULL;
    size_t cut = 0;

    (void)state;
    assert_ctxmem(ctxmem_tokenizer_load(&tok, "approx", NULL), CTXMEM_OK);
    /* 8 ASCII bytes = 2 tokens, then each CJK character 1 more. */
    assert_ctxmem(ctxmem_tokenizer_truncate(tok, "abcdefgh\xE6\x97\xA5\xE6\x9C\xAC", 14, 3, &cut),
                  CTXMEM_OK);
    assert_int_equal(cut, 11);
    assert_ctxmem(ctxmem_tokenizer_truncate(tok, "abcdefgh", 8, 1, &cut), CTXMEM_OK);
    assert_int_equal(cut, 4);
    assert_ctxmem(ctxmem_tokenizer_truncate(tok, "abcdefgh", 8, 9, &cut), CTXMEM_OK);
    assert_int_equal(cut, 8);
    ctxmem_tokenizer_free(tok);
}

static void test_openai_chat_framing_has_cookbook_numbers(void **state)
{
    ctxmem_chat_framing fr = CTXMEM_CHAT_FRAMING_INIT;

    (void)state;
    assert_int_equal(fr.per_message + fr.per_name + fr.reply_priming, 0);
    assert_ctxmem(ctxmem_chat_framing_get(&fr, "openai-chat"), CTXMEM_OK);
    assert_int_equal(fr.version, CTXMEM_CHAT_FRAMING_VERSION);
    assert_int_equal(fr.per_message, 3);
    assert_int_equal(fr.per_name, 1);
    assert_int_equal(fr.reply_priming, 3);
    assert_ctxmem(ctxmem_chat_framing_get(&fr, "claude"), CTXMEM_EINVAL);
}

static void test_count_message_adds_framing_to_role_name_and_content(void **state)
{
    tt_fixture *f = *state;
    ctxmem_chat_framing fr = CTXMEM_CHAT_FRAMING_INIT;
    size_t n = 0;

    assert_ctxmem(ctxmem_chat_framing_get(&fr, "openai-chat"), CTXMEM_OK);
    /* o200k: "user" is 1 token, "Hello, world!" 4 (golden), "Bob" 1. */
    assert_ctxmem(
        ctxmem_tokenizer_count_message(f->tok[1], &fr, "user", NULL, "Hello, world!", 13, &n),
        CTXMEM_OK);
    assert_int_equal(n, 3 + 1 + 4);
    assert_ctxmem(
        ctxmem_tokenizer_count_message(f->tok[1], &fr, "user", "Bob", "Hello, world!", 13, &n),
        CTXMEM_OK);
    assert_int_equal(n, 3 + 1 + 4 + 1 + 1);
    assert_ctxmem(
        ctxmem_tokenizer_count_message(f->tok[1], NULL, "user", NULL, "Hello, world!", 13, &n),
        CTXMEM_OK);
    assert_int_equal(n, 1 + 4);
    assert_ctxmem(ctxmem_tokenizer_count_message(f->tok[1], &fr, "user", NULL, "\xFF", 1, &n),
                  CTXMEM_EINVAL);
    fr.version = 99;
    assert_ctxmem(ctxmem_tokenizer_count_message(f->tok[1], &fr, "user", NULL, "", 0, &n),
                  CTXMEM_EINVAL);
}

static void test_count_tool_call_is_name_plus_arguments(void **state)
{
    static const char args[] = "{\"city\": \"Paris\"}";
    tt_fixture *f = *state;
    size_t n = 0;

    assert_ctxmem(
        ctxmem_tokenizer_count_tool_call(f->tok[1], "get_weather", args, sizeof(args) - 1, &n),
        CTXMEM_OK);
    assert_int_equal(n, count_of(f->tok[1], "get_weather", 11) +
                            count_of(f->tok[1], args, sizeof(args) - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncate_keeps_the_longest_prefix_within_budget),
        cmocka_unit_test(test_truncate_never_splits_a_character),
        cmocka_unit_test(test_truncate_approx_finds_longest_fitting_prefix),
        cmocka_unit_test(test_openai_chat_framing_has_cookbook_numbers),
        cmocka_unit_test(test_count_message_adds_framing_to_role_name_and_content),
        cmocka_unit_test(test_count_tool_call_is_name_plus_arguments),
    };

    return cmocka_run_group_tests(tests, tt_setup, tt_teardown);
}
