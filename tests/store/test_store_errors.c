/*
 * Every error path of the store returns its documented code, leaves a message
 * naming the problem, and changes nothing.
 */
#include "testutil.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ctxmem_scope alice = {"alice", NULL, NULL};

static int count_words(void *user, const char *text, size_t len, size_t *n)
{
    (void)user;
    *n = len ? 1 : 0;
    for (size_t i = 0; i < len; i++)
        *n += text[i] == ' ';
    return 0;
}

static int count_fails(void *user, const char *text, size_t len, size_t *n)
{
    (void)user, (void)text, (void)len, (void)n;
    return -1;
}

struct fixture {
    char *dir;
    ctxmem_tokenizer *tok;
    ctxmem_store *store;
};

static int setup(void **state)
{
    static const ctxmem_tokenizer_cb cb = {CTXMEM_TOKENIZER_CB_VERSION, count_words, NULL, NULL,
                                           NULL};
    struct fixture *f = calloc(1, sizeof(*f));
    ctxmem_options o = CTXMEM_OPTIONS_INIT;

    f->dir = tu_tempdir();
    if (ctxmem_tokenizer_new_custom(&f->tok, "words", &cb, NULL) != CTXMEM_OK)
        return -1;
    o.tokenizer_handle = f->tok;
    if (ctxmem_store_open(&f->store, f->dir, &o) != CTXMEM_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ctxmem_store_close(f->store);
    ctxmem_tokenizer_free(f->tok);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static uint64_t segment_count(ctxmem_store *s)
{
    ctxmem_store_info info;

    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    return info.segments;
}

static ctxmem_segment_in seg(const char *text)
{
    ctxmem_segment_in in = {0};

    in.role = CTXMEM_ROLE_USER;
    in.text = text;
    in.text_len = strlen(text);
    return in;
}

/* Add that must fail with `want` and leave the store's segment count alone. */
static void expect_add_fails(struct fixture *f, const ctxmem_scope *scope,
                             const ctxmem_segment_in *in, size_t n, int want, const char *needle)
{
    uint64_t before = segment_count(f->store);

    assert_ctxmem(ctxmem_store_add(f->store, scope, in, n, NULL), want);
    if (needle && !strstr(ctxmem_error_last()->message, needle))
        fail_msg("message '%s' lacks '%s'", ctxmem_error_last()->message, needle);
    assert_int_equal(segment_count(f->store), before);
}

static void test_open_rejects_bad_arguments(void **state)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = NULL;
    char path[4200];
    FILE *file;

    (void)state;
    assert_ctxmem(ctxmem_store_open(NULL, "/tmp", NULL), CTXMEM_EINVAL);
    assert_ctxmem(ctxmem_store_open(&s, NULL, NULL), CTXMEM_EINVAL);
    assert_ctxmem(ctxmem_store_open(&s, "", NULL), CTXMEM_EINVAL);
    o.version = 99;
    assert_ctxmem(ctxmem_store_open(&s, "/tmp/never", &o), CTXMEM_EINVAL);
    assert_non_null(strstr(ctxmem_error_last()->message, "version 99"));
    o.version = CTXMEM_OPTIONS_VERSION;
    o.flags = 0x100;
    assert_ctxmem(ctxmem_store_open(&s, "/tmp/never", &o), CTXMEM_EINVAL);
    o.flags = 0;
    o.map_size = 2 << 20, o.map_size_max = 1 << 20;
    assert_ctxmem(ctxmem_store_open(&s, "/tmp/never", &o), CTXMEM_EINVAL);
    assert_null(s);

    char *dir = tu_tempdir();
    o = (ctxmem_options)CTXMEM_OPTIONS_INIT;
    o.flags = CTXMEM_OPEN_NOCREATE;
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_ctxmem(ctxmem_store_open(&s, path, &o), CTXMEM_ENOTFOUND);
    assert_false(tu_exists(path));
    snprintf(path, sizeof(path), "%s/file", dir);
    file = fopen(path, "w");
    fclose(file);
    assert_ctxmem(ctxmem_store_open(&s, path, NULL), CTXMEM_EINVAL);
    assert_non_null(strstr(ctxmem_error_last()->message, "not a directory"));
    tu_rmtree(dir);
}

static void test_open_with_unknown_tokenizer_creates_nothing(void **state)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = NULL;
    char *dir = tu_tempdir();

    (void)state;
    o.tokenizer = "no_such_encoding";
    assert_true(ctxmem_store_open(&s, dir, &o) < 0);
    assert_null(s);
    /* No metadata was committed: the store can still be created with approx. */
    o.tokenizer = "approx";
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_OK);
    assert_string_equal(ctxmem_tokenizer_name(ctxmem_store_tokenizer(s)), "approx");
    ctxmem_store_close(s);
    tu_rmtree(dir);
}

static void test_add_rejects_bad_scopes(void **state)
{
    struct fixture *f = *state;
    ctxmem_segment_in in = seg("hello");
    char long_name[200];
    ctxmem_scope no_user = {NULL, "a", "s"}, slash = {"a/b", NULL, NULL};
    ctxmem_scope backslash = {"a", "x\\y", NULL}, control = {"a", NULL, "s\n1"};
    ctxmem_scope too_long = {long_name, NULL, NULL}, bad_utf8 = {"\xC3\x28", NULL, NULL};

    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    expect_add_fails(f, NULL, &in, 1, CTXMEM_EINVAL, "NULL scope");
    expect_add_fails(f, &no_user, &in, 1, CTXMEM_EINVAL, "user name is required");
    expect_add_fails(f, &slash, &in, 1, CTXMEM_EINVAL, "0x2F");
    expect_add_fails(f, &backslash, &in, 1, CTXMEM_EINVAL, "agent name");
    expect_add_fails(f, &control, &in, 1, CTXMEM_EINVAL, "0x0A at offset 1");
    expect_add_fails(f, &too_long, &in, 1, CTXMEM_EINVAL, "exceeds 128");
    expect_add_fails(f, &bad_utf8, &in, 1, CTXMEM_EINVAL, "UTF-8");
}

static void test_add_rejects_bad_segments_and_keeps_batch_atomic(void **state)
{
    struct fixture *f = *state;
    ctxmem_segment_in batch[2] = {seg("fine"), seg("bad \xED\xA0\x80 surrogate")};
    ctxmem_segment_in in = seg("x");

    expect_add_fails(f, &alice, batch, 2, CTXMEM_EINVAL,
                     "segment 1: utf8: invalid UTF-8 at "
                     "byte offset 4");
    expect_add_fails(f, &alice, batch, 0, CTXMEM_EINVAL, NULL);
    expect_add_fails(f, &alice, NULL, 1, CTXMEM_EINVAL, NULL);
    in.role = 42;
    expect_add_fails(f, &alice, &in, 1, CTXMEM_EINVAL, "unknown role 42");
    in = seg("x");
    in.meta_json = "{not json";
    expect_add_fails(f, &alice, &in, 1, CTXMEM_EINVAL, "not JSON");
    in.meta_json = "[1,2]";
    expect_add_fails(f, &alice, &in, 1, CTXMEM_EINVAL, "not an object");
    in = seg("x");
    in.text = NULL;
    expect_add_fails(f, &alice, &in, 1, CTXMEM_EINVAL, "NULL text");
    in = seg("x");
    in.name = "\xFF";
    expect_add_fails(f, &alice, &in, 1, CTXMEM_EINVAL, "name is not valid UTF-8");
    assert_ctxmem(ctxmem_store_add(NULL, &alice, batch, 1, NULL), CTXMEM_EINVAL);
}

static void test_add_rejects_oversized_text(void **state)
{
    struct fixture *f = *state;
    size_t big = (1 << 20) + 1;
    char *text = malloc(big);
    ctxmem_segment_in in = seg("");

    memset(text, 'a', big);
    in.text = text, in.text_len = big;
    expect_add_fails(f, &alice, &in, 1, CTXMEM_EFULL, "max_segment_bytes");
    in.text_len = big - 1;
    assert_ctxmem(ctxmem_store_add(f->store, &alice, &in, 1, NULL), CTXMEM_OK);
    free(text);
}

static void test_add_reports_failing_tokenizer_callback(void **state)
{
    static const ctxmem_tokenizer_cb cb = {CTXMEM_TOKENIZER_CB_VERSION, count_fails, NULL, NULL,
                                           NULL};
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_tokenizer *tok = NULL;
    ctxmem_store *s = NULL;
    char *dir = tu_tempdir();
    ctxmem_segment_in in = seg("text");

    (void)state;
    assert_ctxmem(ctxmem_tokenizer_new_custom(&tok, "failing", &cb, NULL), CTXMEM_OK);
    o.tokenizer_handle = tok;
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_add(s, &alice, &in, 1, NULL), CTXMEM_ECALLBACK);
    assert_non_null(strstr(ctxmem_error_last()->message, "segment 0"));
    assert_int_equal(segment_count(s), 0);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

static void test_get_missing_and_corrupt_segments(void **state)
{
    struct fixture *f = *state;
    ctxmem_segment_in in = seg("to be damaged");
    ctxmem_segment *out = (ctxmem_segment *)f;
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    uint64_t id;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    unsigned char key[8] = {0}, junk[80];
    MDB_val k = {8, key}, v = {sizeof(junk), junk};

    assert_ctxmem(ctxmem_store_get(&out, f->store, 999999), CTXMEM_ENOTFOUND);
    assert_null(out);
    assert_ctxmem(ctxmem_store_get(NULL, f->store, 1), CTXMEM_EINVAL);
    assert_ctxmem(ctxmem_store_add(f->store, &alice, &in, 1, &id), CTXMEM_OK);
    ctxmem_store_close(f->store);

    /* Damage the record: lengths that point past its end. */
    memset(junk, 0xEE, sizeof(junk));
    junk[0] = 1, junk[1] = CTXMEM_ROLE_USER;
    for (int i = 0; i < 8; i++)
        key[7 - i] = (unsigned char)(id >> (8 * i));
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "segments", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    o.tokenizer_handle = f->tok;
    assert_ctxmem(ctxmem_store_open(&f->store, f->dir, &o), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_get(&out, f->store, id), CTXMEM_ECORRUPT);
    assert_null(out);
}

static void test_utf8_check_names_offset_of_each_bad_form(void **state)
{
    static const struct {
        const char *text;
        size_t len, offset;
    } cases[] = {
        {"ab\x80", 3, 2},             /* lone continuation */
        {"\xC0\xAF", 2, 0},           /* overlong '/' */
        {"x\xE0\x80\xAF", 4, 1},      /* overlong 3-byte */
        {"\xED\xA0\x80", 3, 0},       /* surrogate */
        {"ok\xF4\x90\x80\x80", 6, 2}, /* above U+10FFFF */
        {"\xE2\x82", 2, 0},           /* truncated */
        {"abc\xFF", 4, 3},            /* never valid */
    };
    char needle[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_ctxmem(ctxmem_utf8_check(cases[i].text, cases[i].len), CTXMEM_EINVAL);
        snprintf(needle, sizeof(needle), "byte offset %zu", cases[i].offset);
        assert_non_null(strstr(ctxmem_error_last()->message, needle));
    }
    assert_ctxmem(ctxmem_utf8_check("a\0b\xF0\x9F\x98\x80", 7), CTXMEM_OK);
    assert_ctxmem(ctxmem_utf8_check(NULL, 0), CTXMEM_OK);
    assert_ctxmem(ctxmem_utf8_check(NULL, 1), CTXMEM_EINVAL);
}

static void test_error_names_and_clear(void **state)
{
    (void)state;
    assert_string_equal(ctxmem_strerror(CTXMEM_EVERSION), "unsupported format version");
    assert_string_equal(ctxmem_strerror(12345), "unknown error");
    ctxmem_utf8_check("\xFF", 1);
    assert_int_equal(ctxmem_error_last()->code, CTXMEM_EINVAL);
    ctxmem_error_clear();
    assert_int_equal(ctxmem_error_last()->code, CTXMEM_OK);
    assert_string_equal(ctxmem_error_last()->message, "");
    assert_string_equal(ctxmem_role_name(CTXMEM_ROLE_TOOL_RESULT), "tool_result");
    assert_int_equal(ctxmem_role_parse("summary"), CTXMEM_ROLE_SUMMARY);
    assert_ctxmem(ctxmem_role_parse("boss"), CTXMEM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_rejects_bad_arguments),
        cmocka_unit_test(test_open_with_unknown_tokenizer_creates_nothing),
        cmocka_unit_test_setup_teardown(test_add_rejects_bad_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_rejects_bad_segments_and_keeps_batch_atomic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_add_rejects_oversized_text, setup, teardown),
        cmocka_unit_test(test_add_reports_failing_tokenizer_callback),
        cmocka_unit_test_setup_teardown(test_get_missing_and_corrupt_segments, setup, teardown),
        cmocka_unit_test(test_utf8_check_names_offset_of_each_bad_form),
        cmocka_unit_test(test_error_names_and_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
