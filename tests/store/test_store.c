/*
 * The segment store: durable adds, reads and iteration across reopen, map
 * growth, format-version refusal.
 */
#include "testutil.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const ctxmem_scope alice = {"alice", "helper", "s1"};
static const ctxmem_scope bob = {"bob", NULL, NULL};

/* A tokenizer whose count is known independently: one token per byte. */
static int count_bytes(void *user, const char *text, size_t len, size_t *n)
{
    (void)user, (void)text;
    *n = len;
    return 0;
}

static ctxmem_tokenizer *byte_tokenizer(void)
{
    static const ctxmem_tokenizer_cb cb = {CTXMEM_TOKENIZER_CB_VERSION, count_bytes, NULL, NULL,
                                           NULL};
    ctxmem_tokenizer *tok = NULL;

    assert_ctxmem(ctxmem_tokenizer_new_custom(&tok, "bytes", &cb, NULL), CTXMEM_OK);
    return tok;
}

static ctxmem_store *open_with(const char *dir, const ctxmem_tokenizer *tok, size_t map,
                               size_t map_max)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = NULL;

    o.tokenizer_handle = tok;
    o.map_size = map;
    o.map_size_max = map_max;
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_OK);
    assert_non_null(s);
    return s;
}

static ctxmem_segment_in text_segment(int role, const char *text, int64_t time)
{
    ctxmem_segment_in in = {0};

    in.role = role;
    in.text = text;
    in.text_len = strlen(text);
    in.time = time;
    return in;
}

static void test_store_open_creates_private_directory_and_files(void **state)
{
    char *dir = tu_tempdir();
    char path[4200];
    struct stat st;
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_store *s;

    (void)state;
    snprintf(path, sizeof(path), "%s/store", dir);
    s = open_with(path, tok, 0, 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_string_equal(ctxmem_tokenizer_name(ctxmem_store_tokenizer(s)), "bytes");
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

static void test_store_add_get_iterate_survive_reopen(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_store *s = open_with(dir, tok, 0, 0);
    ctxmem_segment_in in[3] = {text_segment(CTXMEM_ROLE_USER, "hello there", 1000),
                               text_segment(CTXMEM_ROLE_ASSISTANT, "hi, how can I help?", 2000),
                               text_segment(CTXMEM_ROLE_USER, "bob's own line", 3000)};
    static const char nul_text[] = "a\0b";
    ctxmem_segment_in with_nul = {.role = CTXMEM_ROLE_NOTE,
                                  .time = 4000,
                                  .text = nul_text,
                                  .text_len = 3,
                                  .name = "memo",
                                  .meta_json = "{\"k\":1}",
                                  .flags = 7};
    uint64_t ids[3], id_nul, id_bob;
    ctxmem_segment *seg = NULL;
    const ctxmem_segment *it_seg;
    ctxmem_iter *it = NULL;
    ctxmem_store_info info;

    (void)state;
    in[0].name = "Alice";
    assert_ctxmem(ctxmem_store_add(s, &alice, in, 2, ids), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_add(s, &bob, &in[2], 1, &id_bob), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_add(s, &alice, &with_nul, 1, &id_nul), CTXMEM_OK);
    assert_true(ids[0] < ids[1] && ids[1] < id_bob && id_bob < id_nul);
    ctxmem_store_close(s);

    s = open_with(dir, tok, 0, 0);
    assert_ctxmem(ctxmem_store_get(&seg, s, ids[1]), CTXMEM_OK);
    assert_int_equal(seg->role, CTXMEM_ROLE_ASSISTANT);
    assert_int_equal(seg->time, 2000);
    assert_int_equal(seg->seq, 2);
    assert_int_equal(seg->tokens, strlen("hi, how can I help?"));
    assert_string_equal(seg->text, "hi, how can I help?");
    ctxmem_segment_free(seg);

    assert_ctxmem(ctxmem_store_get(&seg, s, id_nul), CTXMEM_OK);
    assert_int_equal(seg->text_len, 3);
    assert_memory_equal(seg->text, nul_text, 3);
    assert_string_equal(seg->name, "memo");
    assert_string_equal(seg->meta_json, "{\"k\":1}");
    assert_int_equal(seg->flags, 7);
    ctxmem_segment_free(seg);

    /* Alice's scope holds her three segments in order and nothing of Bob's. */
    assert_ctxmem(ctxmem_iter_new(&it, s, &alice, 1), CTXMEM_OK);
    assert_ctxmem(ctxmem_iter_next(it, &it_seg), CTXMEM_OK);
    assert_int_equal(it_seg->id, ids[0]);
    assert_string_equal(it_seg->name, "Alice");
    assert_ctxmem(ctxmem_iter_next(it, &it_seg), CTXMEM_OK);
    assert_int_equal(it_seg->id, ids[1]);
    assert_ctxmem(ctxmem_iter_next(it, &it_seg), CTXMEM_OK);
    assert_int_equal(it_seg->id, id_nul);
    assert_int_equal(it_seg->seq, 3);
    assert_ctxmem(ctxmem_iter_next(it, &it_seg), CTXMEM_ENOTFOUND);
    ctxmem_iter_free(it);

    /* Starting mid-scope. */
    assert_ctxmem(ctxmem_iter_new(&it, s, &alice, 3), CTXMEM_OK);
    assert_ctxmem(ctxmem_iter_next(it, &it_seg), CTXMEM_OK);
    assert_int_equal(it_seg->id, id_nul);
    ctxmem_iter_free(it);

    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_int_equal(info.segments, 4);
    assert_int_equal(info.scopes, 2);
    assert_int_equal(info.tokens, strlen("hello there") + strlen("hi, how can I help?") +
                                      strlen("bob's own line") + 3);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

static void test_store_iterator_of_unknown_scope_is_empty(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_store *s = open_with(dir, tok, 0, 0);
    ctxmem_scope nobody = {"nobody", NULL, NULL};
    const ctxmem_segment *seg;
    ctxmem_iter *it = NULL;

    (void)state;
    assert_ctxmem(ctxmem_iter_new(&it, s, &nobody, 1), CTXMEM_OK);
    assert_ctxmem(ctxmem_iter_next(it, &seg), CTXMEM_ENOTFOUND);
    assert_null(seg);
    ctxmem_iter_free(it);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

/* Fill a store that starts with a 64 KiB map; it must grow, and keep every segment. */
static void test_store_map_grows_from_tiny_initial_size(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_store *s = open_with(dir, tok, 64 << 10, 0);
    char text[2000];
    ctxmem_segment_in in = text_segment(CTXMEM_ROLE_USER, "", 1);
    ctxmem_store_info info;
    ctxmem_segment *seg = NULL;
    uint64_t id = 0;

    (void)state;
    for (int i = 0; i < 400; i++) {
        memset(text, 'a' + i % 26, sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';
        in.text = text, in.text_len = sizeof(text) - 1;
        assert_ctxmem(ctxmem_store_add(s, &alice, &in, 1, &id), CTXMEM_OK);
    }
    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_int_equal(info.segments, 400);
    assert_true(info.map_size > (64 << 10));
    assert_ctxmem(ctxmem_store_get(&seg, s, id), CTXMEM_OK);
    assert_int_equal(seg->text[0], 'a' + 399 % 26);
    ctxmem_segment_free(seg);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

/* At map_size_max the add fails with EFULL and what was committed stays. */
static void test_store_full_map_fails_cleanly_and_keeps_committed(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_store *s = open_with(dir, tok, 64 << 10, 256 << 10);
    static char text[8000];
    ctxmem_segment_in in = text_segment(CTXMEM_ROLE_USER, "", 1);
    ctxmem_store_info info;
    uint64_t committed = 0;
    int rc = CTXMEM_OK;

    (void)state;
    memset(text, 'x', sizeof(text) - 1);
    in.text = text, in.text_len = sizeof(text) - 1;
    while (rc == CTXMEM_OK && committed < 1000) {
        rc = ctxmem_store_add(s, &alice, &in, 1, NULL);
        committed += rc == CTXMEM_OK;
    }
    assert_int_equal(rc, CTXMEM_EFULL);
    assert_non_null(strstr(ctxmem_error_last()->message, "map_size_max"));
    assert_true(committed > 5);
    ctxmem_store_close(s);

    s = open_with(dir, tok, 64 << 10, 256 << 10);
    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_int_equal(info.segments, committed);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

/* Overwrite the recorded format version with a newer one, through LMDB itself. */
static void set_format(const char *dir, uint32_t format)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    unsigned char b[4] = {(unsigned char)(format >> 24), (unsigned char)(format >> 16),
                          (unsigned char)(format >> 8), (unsigned char)format};
    MDB_val k = {6, "format"}, v = {4, b};

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_store_refuses_newer_format_version(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = open_with(dir, tok, 0, 0);

    (void)state;
    ctxmem_store_close(s);
    set_format(dir, CTXMEM_STORE_FORMAT + 1);
    o.tokenizer_handle = tok;
    s = (ctxmem_store *)&o; /* must be reset to NULL on failure */
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_EVERSION);
    assert_null(s);
    assert_non_null(strstr(ctxmem_error_last()->message, "format 2"));

    set_format(dir, CTXMEM_STORE_FORMAT);
    s = open_with(dir, tok, 0, 0);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

static void test_store_refuses_other_tokenizer(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = open_with(dir, tok, 0, 0);

    (void)state;
    ctxmem_store_close(s);
    o.tokenizer = "approx";
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_EMISMATCH);
    assert_non_null(strstr(ctxmem_error_last()->message, "'bytes'"));
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

static void test_store_readonly_open_reads_and_refuses_writes(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = open_with(dir, tok, 0, 0);
    ctxmem_segment_in in = text_segment(CTXMEM_ROLE_USER, "kept", 1);
    ctxmem_store_info info;
    uint64_t id;

    (void)state;
    assert_ctxmem(ctxmem_store_add(s, &alice, &in, 1, &id), CTXMEM_OK);
    ctxmem_store_close(s);
    o.flags = CTXMEM_OPEN_READONLY;
    o.tokenizer_handle = tok;
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_add(s, &alice, &in, 1, NULL), CTXMEM_EREADONLY);
    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_int_equal(info.segments, 1);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

static void test_store_fact_key_supersedes_previous_value(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_store *s = open_with(dir, tok, 0, 0);
    ctxmem_segment_in a = text_segment(CTXMEM_ROLE_NOTE, "I live in Lisbon", 1000);
    ctxmem_segment_in b = text_segment(CTXMEM_ROLE_NOTE, "I moved to Porto", 5000);
    ctxmem_segment_status st;
    ctxmem_segment *seg = NULL;
    uint64_t ida, idb;

    (void)state;
    a.key = b.key = "user.city";
    assert_ctxmem(ctxmem_store_add(s, &alice, &a, 1, &ida), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_status(s, ida, &st), CTXMEM_OK);
    assert_int_equal(st.end_time, 0);
    assert_ctxmem(ctxmem_store_add(s, &alice, &b, 1, &idb), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_status(s, ida, &st), CTXMEM_OK);
    assert_int_equal(st.end_time, 5000);
    assert_int_equal(st.successor, idb);
    assert_ctxmem(ctxmem_store_status(s, idb, &st), CTXMEM_OK);
    assert_int_equal(st.successor, 0);
    assert_ctxmem(ctxmem_store_get(&seg, s, idb), CTXMEM_OK);
    assert_string_equal(seg->key, "user.city");
    ctxmem_segment_free(seg);

    /* Explicit supersedes by id, and refusal across scopes. */
    ctxmem_segment_in c = text_segment(CTXMEM_ROLE_NOTE, "correction", 6000);
    c.supersedes = idb;
    assert_ctxmem(ctxmem_store_add(s, &bob, &c, 1, NULL), CTXMEM_EINVAL);
    assert_non_null(strstr(ctxmem_error_last()->message, "another scope"));
    c.supersedes = 987654;
    assert_ctxmem(ctxmem_store_add(s, &alice, &c, 1, NULL), CTXMEM_ENOTFOUND);
    c.supersedes = idb;
    assert_ctxmem(ctxmem_store_add(s, &alice, &c, 1, NULL), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_status(s, idb, &st), CTXMEM_OK);
    assert_int_equal(st.end_time, 6000);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

static void test_store_duplicate_note_is_stored_once(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_store *s = open_with(dir, tok, 0, 0);
    ctxmem_segment_in note = text_segment(CTXMEM_ROLE_NOTE, "invoice date must match the L/C", 1);
    ctxmem_segment_in turn = text_segment(CTXMEM_ROLE_USER, "yes", 1);
    ctxmem_store_info info;
    uint64_t id1, id2, t1, t2;

    (void)state;
    assert_ctxmem(ctxmem_store_add(s, &alice, &note, 1, &id1), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_add(s, &alice, &note, 1, &id2), CTXMEM_OK);
    assert_int_equal(id1, id2);
    /* Conversation turns are never merged: saying "yes" twice is two turns. */
    assert_ctxmem(ctxmem_store_add(s, &alice, &turn, 1, &t1), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_add(s, &alice, &turn, 1, &t2), CTXMEM_OK);
    assert_int_not_equal(t1, t2);
    /* The same note in another scope is that scope's own. */
    assert_ctxmem(ctxmem_store_add(s, &bob, &note, 1, &id2), CTXMEM_OK);
    assert_int_not_equal(id1, id2);
    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_int_equal(info.segments, 4);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

static void test_store_tool_results_need_their_call(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_tokenizer *tok = byte_tokenizer();
    ctxmem_store *s = open_with(dir, tok, 0, 0);
    ctxmem_segment_in pair[2] = {text_segment(CTXMEM_ROLE_TOOL_CALL, "{\"q\":1}", 1),
                                 text_segment(CTXMEM_ROLE_TOOL_RESULT, "42", 2)};
    ctxmem_store_info info;

    (void)state;
    pair[0].pair_id = pair[1].pair_id = "call_1";
    assert_ctxmem(ctxmem_store_add(s, &alice, &pair[1], 1, NULL), CTXMEM_EINVAL);
    assert_non_null(strstr(ctxmem_error_last()->message, "unpaired tool result"));
    assert_ctxmem(ctxmem_store_add(s, &alice, pair, 2, NULL), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_add(s, &alice, &pair[1], 1, NULL), CTXMEM_EINVAL);
    assert_ctxmem(ctxmem_store_add(s, &alice, &pair[0], 1, NULL), CTXMEM_EINVAL);
    pair[0].pair_id = NULL;
    assert_ctxmem(ctxmem_store_add(s, &alice, &pair[0], 1, NULL), CTXMEM_EINVAL);
    /* Bob cannot answer Alice's call. */
    pair[0].pair_id = "call_2";
    assert_ctxmem(ctxmem_store_add(s, &alice, &pair[0], 1, NULL), CTXMEM_OK);
    pair[1].pair_id = "call_2";
    assert_ctxmem(ctxmem_store_add(s, &bob, &pair[1], 1, NULL), CTXMEM_EINVAL);
    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_int_equal(info.segments, 3);
    ctxmem_store_close(s);
    ctxmem_tokenizer_free(tok);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_open_creates_private_directory_and_files),
        cmocka_unit_test(test_store_add_get_iterate_survive_reopen),
        cmocka_unit_test(test_store_iterator_of_unknown_scope_is_empty),
        cmocka_unit_test(test_store_map_grows_from_tiny_initial_size),
        cmocka_unit_test(test_store_full_map_fails_cleanly_and_keeps_committed),
        cmocka_unit_test(test_store_refuses_newer_format_version),
        cmocka_unit_test(test_store_refuses_other_tokenizer),
        cmocka_unit_test(test_store_readonly_open_reads_and_refuses_writes),
        cmocka_unit_test(test_store_fact_key_supersedes_previous_value),
        cmocka_unit_test(test_store_duplicate_note_is_stored_once),
        cmocka_unit_test(test_store_tool_results_need_their_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
