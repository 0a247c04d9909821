/*
 * The tokenizer API's contract: errors for bad input and bad rank files, the
 * lookup order, approx and custom tokenizers.
 */
#include "tt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARED_TABLES CTXMEM_SHARED_DIR "/tokenizers"

static ctxmem_tokenizer *o200k;

static int setup(void **state)
{
    (void)state;
    o200k = tt_load("o200k_base");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ctxmem_tokenizer_free(o200k);
    return 0;
}

static void assert_message_has(const char *needle)
{
    const char *msg = ctxmem_error_last()->message;

    if (!strstr(msg, needle))
        fail_msg("message '%s' lacks '%s'", msg, needle);
}

static void test_invalid_utf8_is_rejected_with_byte_offset(void **state)
{
    static const char bad[] = "ok \xE2\x82 broken";
    uint32_t *ids = (uint32_t *)1;
    size_t n = 7, cut = 7;

    (void)state;
    assert_ctxmem(ctxmem_tokenizer_count(o200k, bad, sizeof(bad) - 1, &n), CTXMEM_EINVAL);
    assert_message_has("byte offset 3");
    assert_ctxmem(ctxmem_tokenizer_encode(o200k, bad, sizeof(bad) - 1, &ids, &n), CTXMEM_EINVAL);
    assert_null(ids);
    assert_ctxmem(ctxmem_tokenizer_truncate(o200k, "\xC0\x80", 2, 5, &cut), CTXMEM_EINVAL);
    assert_message_has("byte offset 0");
}

static void test_text_with_nul_is_counted_by_length(void **state)
{
    size_t n = 0;

    (void)state;
    assert_ctxmem(ctxmem_tokenizer_count(o200k, "a\0b", 3, &n), CTXMEM_OK);
    assert_int_equal(n, 3); /* golden: "a\u0000b" -> [64, 15, 65] */
    assert_ctxmem(ctxmem_tokenizer_count(o200k, "", 0, &n), CTXMEM_OK);
    assert_int_equal(n, 0);
}

static void test_special_token_text_is_ordinary_text(void **state)
{
    uint32_t *ids = NULL;
    size_t n = 0;

    (void)state;
    assert_ctxmem(ctxmem_tokenizer_encode(o200k, "<|endoftext|>", 13, &ids, &n), CTXMEM_OK);
    assert_true(n > 1);
    for (size_t i = 0; i < n; i++)
        assert_true(ids[i] != 199999);
    free(ids);
}

static void test_decode_rejects_id_outside_vocabulary(void **state)
{
    uint32_t ids[] = {13225, 199998};
    char *bytes = (char *)1;
    size_t len = 0;

    (void)state;
    assert_ctxmem(ctxmem_tokenizer_decode(o200k, ids, 2, &bytes, &len), CTXMEM_EINVAL);
    assert_null(bytes);
    assert_message_has("199998");
}

static void test_unknown_encoding_is_invalid(void **state)
{
    ctxmem_tokenizer *tok = (ctxmem_tokenizer *)1;

    (void)state;
    assert_ctxmem(ctxmem_tokenizer_load(&tok, "p50k_base", SHARED_TABLES), CTXMEM_EINVAL);
    assert_null(tok);
    assert_message_has("p50k_base");
}

static void test_missing_rank_file_reports_every_place_tried(void **state)
{
    char *dir = tu_tempdir(), *env = tu_tempdir();
    ctxmem_tokenizer *tok = NULL;
    char *saved = getenv("CTXMEM_TOKENIZER_DIR") ? strdup(getenv("CTXMEM_TOKENIZER_DIR")) : NULL;
    int rc;

    (void)state;
    setenv("CTXMEM_TOKENIZER_DIR", env, 1);
    rc = ctxmem_tokenizer_load(&tok, "cl100k_base", dir);
    if (saved)
        setenv("CTXMEM_TOKENIZER_DIR", saved, 1);
    free(saved);
    if (rc == CTXMEM_OK) { /* the install dir has the tables: nothing is missing */
        ctxmem_tokenizer_free(tok);
        tu_rmtree(dir);
        tu_rmtree(env);
        skip();
    }
    assert_int_equal(rc, CTXMEM_ENOTFOUND);
    assert_null(tok);
    assert_message_has(dir);
    assert_message_has(env);
    assert_message_has("install dir");
    assert_message_has("scripts/fetch-tokenizers");
    tu_rmtree(dir);
    tu_rmtree(env);
}

static void test_explicit_dir_comes_before_environment(void **state)
{
    char *saved = getenv("CTXMEM_TOKENIZER_DIR") ? strdup(getenv("CTXMEM_TOKENIZER_DIR")) : NULL;
    ctxmem_tokenizer *tok = NULL;
    int rc;

    (void)state;
    setenv("CTXMEM_TOKENIZER_DIR", "/nonexistent/ctxmem", 1);
    rc = ctxmem_tokenizer_load(&tok, "cl100k_base", SHARED_TABLES);
    if (saved)
        setenv("CTXMEM_TOKENIZER_DIR", saved, 1);
    free(saved);
    assert_int_equal(rc, CTXMEM_OK);
    assert_string_equal(ctxmem_tokenizer_name(tok), "cl100k_base");
    assert_true(ctxmem_tokenizer_is_exact(tok));
    ctxmem_tokenizer_free(tok);
}

/* Write `len` bytes of a changed copy of the shared cl100k table and load it. */
static int load_altered(const char *text, size_t len)
{
    char *dir = tu_tempdir(), path[4096];
    ctxmem_tokenizer *tok = NULL;
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "%s/cl100k_base.tiktoken", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    rc = ctxmem_tokenizer_load_file(&tok, "cl100k_base", path);
    assert_true(rc == CTXMEM_OK || tok == NULL);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
    return rc;
}

static char *shared_table(size_t *len)
{
    char *text = tu_read_file(SHARED_TABLES "/cl100k_base.tiktoken", len);

    if (!text)
        skip();
    return text;
}

static void test_truncated_rank_file_is_corrupt(void **state)
{
    size_t len;
    char *text = shared_table(&len);
    char *line_end = memchr(text + len / 2, '\n', len / 2);

    (void)state;
    assert_ctxmem(load_altered(text, len / 2), CTXMEM_ECORRUPT);
    assert_ctxmem(load_altered(text, (size_t)(line_end + 1 - text)), CTXMEM_ECORRUPT);
    assert_message_has("expected 100256");
    assert_ctxmem(load_altered(text, len - 1), CTXMEM_ECORRUPT);
    assert_ctxmem(load_altered(text, len), CTXMEM_OK);
    free(text);
}

/* Replace the `line`-th line (1-based) of the table with `repl` and load it. */
static int load_with_line(const char *text, size_t len, size_t line, const char *repl)
{
    const char *start = text, *end;
    char *copy = malloc(len + strlen(repl) + 1);
    size_t head, n;
    int rc;

    for (size_t i = 1; i < line; i++)
        start = strchr(start, '\n') + 1;
    end = strchr(start, '\n');
    head = (size_t)(start - text);
    memcpy(copy, text, head);
    n = head + (size_t)sprintf(copy + head, "%s", repl);
    memcpy(copy + n, end, len - (size_t)(end - text));
    n += len - (size_t)(end - text);
    rc = load_altered(copy, n);
    free(copy);
    return rc;
}

static void test_malformed_rank_lines_are_corrupt(void **state)
{
    size_t len;
    char *text = shared_table(&len);

    (void)state;
    assert_ctxmem(load_with_line(text, len, 500, "*bad 499"), CTXMEM_ECORRUPT);
    assert_message_has("line 500");
    assert_ctxmem(load_with_line(text, len, 3, "Iw== 0"), CTXMEM_ECORRUPT);
    assert_ctxmem(load_with_line(text, len, 3, "Iw== 100256"), CTXMEM_ECORRUPT);
    assert_ctxmem(load_with_line(text, len, 3, "Iw==2"), CTXMEM_ECORRUPT);
    /* Unique new bytes in place of "A": every rank present, but a single byte missing. */
    assert_ctxmem(load_with_line(text, len, 33, "//4= 32"), CTXMEM_ECORRUPT);
    assert_message_has("byte 0x41");
    /* The same bytes under two ranks. */
    assert_ctxmem(load_with_line(text, len, 33, "Ig== 32"), CTXMEM_ECORRUPT);
    free(text);
}

static void compare_tables(const char *name)
{
    const char *env = getenv("CTXMEM_TOKENIZER_DIR");
    char fetched[4096], shared[4096];
    size_t n_fetched = 0, n_shared = 0;
    char *a, *b;

    snprintf(shared, sizeof(shared), "%s/%s.tiktoken", SHARED_TABLES, name);
    snprintf(fetched, sizeof(fetched), "%s/%s.tiktoken", env ? env : "(unset)", name);
    if (!tu_exists(shared)) {
        print_message("skip: %s is absent, nothing to compare with\n", shared);
        skip();
    }
    a = tu_read_file(fetched, &n_fetched);
    if (!a)
        fail_msg("%s is missing: run scripts/fetch-tokenizers on $CTXMEM_TOKENIZER_DIR", fetched);
    b = tu_read_file(shared, &n_shared);
    assert_non_null(b);
    assert_int_equal(n_fetched, n_shared);
    assert_memory_equal(a, b, n_shared);
    free(a);
    free(b);
}

static void test_fetched_tables_equal_shared_tables(void **state)
{
    (void)state;
    compare_tables("cl100k_base");
    compare_tables("o200k_base");
}

static void test_approx_counts_ascii_quarters_and_wide_characters(void **state)
{
    ctxmem_tokenizer *tok = NULL;
    uint32_t *ids = NULL;
    size_t n = 0;

    (void)state;
    assert_ctxmem(ctxmem_tokenizer_load(&tok, "approx", "/nonexistent"), CTXMEM_OK);
    assert_false(ctxmem_tokenizer_is_exact(tok));
    assert_string_equal(ctxmem_tokenizer_name(tok), "approx");
    assert_ctxmem(ctxmem_tokenizer_count(tok, "abcdefghi", 9, &n), CTXMEM_OK);
    assert_int_equal(n, 3);
    assert_ctxmem(ctxmem_tokenizer_count(tok, "ab\xE6\x97\xA5\xE6\x9C\xAC", 8, &n), CTXMEM_OK);
    assert_int_equal(n, 3);
    assert_ctxmem(ctxmem_tokenizer_encode(tok, "ab", 2, &ids, &n), CTXMEM_EINVAL);
    ctxmem_tokenizer_free(tok);
}

/* A word counter standing in for an application's tokenizer. */
static int words_count(void *user, const char *text, size_t len, size_t *n)
{
    int in_word = 0;

    (*(int *)user)++;
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        int space = text[i] == ' ';

        *n += !space && !in_word;
        in_word = !space;
    }
    return 0;
}

static int failing_count(void *user, const char *text, size_t len, size_t *n)
{
    (void)user, (void)text, (void)len, (void)n;
    return -1;
}

static void count_destroy(void *user)
{
    *(int *)user = -100;
}

static void test_custom_tokenizer_counts_through_callbacks(void **state)
{
    ctxmem_tokenizer_cb cb = {CTXMEM_TOKENIZER_CB_VERSION, words_count, NULL, NULL, count_destroy};
    ctxmem_tokenizer *tok = NULL;
    uint32_t *ids = NULL;
    int calls = 0;
    size_t n = 0;

    (void)state;
    assert_ctxmem(ctxmem_tokenizer_new_custom(&tok, "words", &cb, &calls), CTXMEM_OK);
    assert_true(ctxmem_tokenizer_is_exact(tok));
    assert_ctxmem(ctxmem_tokenizer_count(tok, "one two  three", 14, &n), CTXMEM_OK);
    assert_int_equal(n, 3);
    assert_int_equal(calls, 1);
    assert_ctxmem(ctxmem_tokenizer_count(tok, "\xFF", 1, &n), CTXMEM_EINVAL);
    assert_int_equal(calls, 1);
    assert_ctxmem(ctxmem_tokenizer_encode(tok, "one", 3, &ids, &n), CTXMEM_EINVAL);
    ctxmem_tokenizer_free(tok);
    assert_int_equal(calls, -100);

    cb.count = failing_count;
    cb.destroy = NULL;
    assert_ctxmem(ctxmem_tokenizer_new_custom(&tok, "failing", &cb, NULL), CTXMEM_OK);
    assert_ctxmem(ctxmem_tokenizer_count(tok, "x", 1, &n), CTXMEM_ECALLBACK);
    ctxmem_tokenizer_free(tok);
    assert_ctxmem(ctxmem_tokenizer_new_custom(&tok, "", &cb, NULL), CTXMEM_EINVAL);
    assert_null(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_utf8_is_rejected_with_byte_offset),
        cmocka_unit_test(test_text_with_nul_is_counted_by_length),
        cmocka_unit_test(test_special_token_text_is_ordinary_text),
        cmocka_unit_test(test_decode_rejects_id_outside_vocabulary),
        cmocka_unit_test(test_unknown_encoding_is_invalid),
        cmocka_unit_test(test_missing_rank_file_reports_every_place_tried),
        cmocka_unit_test(test_explicit_dir_comes_before_environment),
        cmocka_unit_test(test_truncated_rank_file_is_corrupt),
        cmocka_unit_test(test_malformed_rank_lines_are_corrupt),
        cmocka_unit_test(test_fetched_tables_equal_shared_tables),
        cmocka_unit_test(test_approx_counts_ascii_quarters_and_wide_characters),
        cmocka_unit_test(test_custom_tokenizer_counts_through_callbacks),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
