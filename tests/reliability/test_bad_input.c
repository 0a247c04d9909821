/*
 * Bad input, as a table: each case calls the C API with one bad value on a
 * fresh store holding a small conversation, asserts the exact error code, and
 * (the teardown) that the store is unchanged: same segments, scopes, tokens
 * and pages in use. The cases that must succeed say so (embedded NUL bytes
 * round-trip; a corrupted FAISS cache is rebuilt, not trusted).
 *
 * Elsewhere: full disk and read-only file system (test_space), map full at
 * map_size_max (tests/store), bad CLI input (test_cli_bad_input).
 */
#include "testutil.h"

#include <fcntl.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const ctxmem_scope alice = {"alice", "helper", "s1"};
static const ctxmem_scope bob = {"bob", NULL, NULL};

struct fx {
    char *dir;
    ctxmem_store *s;
    uint64_t alice_id, bob_id;
    ctxmem_store_info before;
};

struct bad_case {
    const char *name;
    int (*run)(struct fx *f);
    int want;
};

struct case_state {
    const struct bad_case *c;
    struct fx f;
};

static ctxmem_segment_in seg(int role, const char *text)
{
    ctxmem_segment_in in = {0};

    in.role = role, in.text = text, in.text_len = strlen(text), in.time = 1700000000000;
    return in;
}

static int add_one(struct fx *f, const ctxmem_scope *scope, ctxmem_segment_in in)
{
    return ctxmem_store_add(f->s, scope, &in, 1, NULL);
}

/* Reopen the fixture's store with tu_store_new's options. */
static ctxmem_store *reopen(const char *dir)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = NULL;

    o.tokenizer = "o200k_base", o.flags = CTXMEM_OPEN_NOSYNC;
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_OK);
    return s;
}

static char *path_in(const struct fx *f, const char *name)
{
    char *p = malloc(4200);

    assert_non_null(p);
    snprintf(p, 4200, "%s/%s", f->dir, name);
    return p;
}

/* ---- open ---- */

static int open_null_out(struct fx *f)
{
    return ctxmem_store_open(NULL, f->dir, NULL);
}

static int open_null_dir(struct fx *f)
{
    ctxmem_store *s = NULL;

    (void)f;
    return ctxmem_store_open(&s, NULL, NULL);
}

static int open_with(struct fx *f, const char *sub, ctxmem_options *o)
{
    ctxmem_store *s = (ctxmem_store *)1;
    char *p = path_in(f, sub);
    int rc = ctxmem_store_open(&s, p, o);

    assert_null(s);
    free(p);
    return rc;
}

static int open_bad_options_version(struct fx *f)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;

    o.version = 99;
    return open_with(f, "other", &o);
}

static int open_unknown_flags(struct fx *f)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;

    o.flags = 1u << 20;
    return open_with(f, "other", &o);
}

static int open_map_size_over_max(struct fx *f)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;

    o.map_size = 4 << 20, o.map_size_max = 1 << 20;
    return open_with(f, "other", &o);
}

static int open_unknown_tokenizer(struct fx *f)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;

    o.tokenizer = "gpt-17";
    return open_with(f, "other", &o);
}

static int open_regular_file(struct fx *f)
{
    char *p = path_in(f, "plain-file");
    FILE *fp = fopen(p, "w");

    assert_non_null(fp);
    fclose(fp);
    free(p);
    return open_with(f, "plain-file", NULL);
}

static int open_garbage_data_file(struct fx *f)
{
    char *d = path_in(f, "garbage"), *p = path_in(f, "garbage/data.mdb");
    FILE *fp;
    int rc;

    assert_int_equal(mkdir(d, 0700), 0);
    fp = fopen(p, "w");
    assert_non_null(fp);
    for (int i = 0; i < 3000; i++)
        fputs("not an lmdb file ", fp);
    fclose(fp);
    rc = open_with(f, "garbage", NULL);
    free(d), free(p);
    return rc;
}

/* A store whose recorded format is newer than this library's. */
static int open_newer_format(struct fx *f)
{
    char *d = path_in(f, "newer");
    ctxmem_store *s = NULL;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    unsigned char b[4] = {0, 0, 0, CTXMEM_STORE_FORMAT + 1};
    MDB_val k = {6, "format"}, v = {4, b};

    assert_ctxmem(ctxmem_store_open(&s, d, NULL), CTXMEM_OK);
    ctxmem_store_close(s);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, d, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    free(d);
    return open_with(f, "newer", NULL);
}

/* ---- add ---- */

static int add_null_store(struct fx *f)
{
    ctxmem_segment_in in = seg(CTXMEM_ROLE_USER, "hello");

    (void)f;
    return ctxmem_store_add(NULL, &alice, &in, 1, NULL);
}

static int add_null_segments(struct fx *f)
{
    return ctxmem_store_add(f->s, &alice, NULL, 1, NULL);
}

static int add_zero_segments(struct fx *f)
{
    ctxmem_segment_in in = seg(CTXMEM_ROLE_USER, "hello");

    return ctxmem_store_add(f->s, &alice, &in, 0, NULL);
}

static int add_null_scope(struct fx *f)
{
    return add_one(f, NULL, seg(CTXMEM_ROLE_USER, "hello"));
}

static int add_utf8_lone_continuation(struct fx *f)
{
    return add_one(f, &alice, seg(CTXMEM_ROLE_USER, "ok \x80 not"));
}

static int add_utf8_overlong(struct fx *f)
{
    return add_one(f, &alice, seg(CTXMEM_ROLE_USER, "slash \xC0\xAF"));
}

static int add_utf8_surrogate(struct fx *f)
{
    return add_one(f, &alice, seg(CTXMEM_ROLE_USER, "half \xED\xA0\x80 pair"));
}

static int add_utf8_truncated(struct fx *f)
{
    return add_one(f, &alice, seg(CTXMEM_ROLE_USER, "euro \xE2\x82"));
}

static int add_utf8_past_max_code_point(struct fx *f)
{
    return add_one(f, &alice, seg(CTXMEM_ROLE_USER, "\xF4\x90\x80\x80"));
}

static int add_null_text_with_length(struct fx *f)
{
    ctxmem_segment_in in = seg(CTXMEM_ROLE_USER, "");

    in.text = NULL, in.text_len = 5;
    return add_one(f, &alice, in);
}

static int add_text_over_max_segment_bytes(struct fx *f)
{
    size_t n = ((size_t)1 << 20) + 1;
    char *big = malloc(n);
    ctxmem_segment_in in = seg(CTXMEM_ROLE_DOCUMENT, "");
    int rc;

    assert_non_null(big);
    memset(big, 'x', n);
    in.text = big, in.text_len = n;
    rc = add_one(f, &alice, in);
    free(big);
    return rc;
}

static int add_role_zero(struct fx *f)
{
    return add_one(f, &alice, seg(0, "no role"));
}

static int add_role_out_of_range(struct fx *f)
{
    return add_one(f, &alice, seg(99, "no such role"));
}

static int add_meta_json_not_object(struct fx *f)
{
    ctxmem_segment_in in = seg(CTXMEM_ROLE_USER, "with meta");

    in.meta_json = "[1, 2]";
    return add_one(f, &alice, in);
}

static int add_embedding(struct fx *f, size_t dim, float poison)
{
    float *v = calloc(dim, sizeof(float));
    ctxmem_segment_in in = seg(CTXMEM_ROLE_USER, "embedded");
    int rc;

    assert_non_null(v);
    for (size_t i = 0; i < dim; i++)
        v[i] = 1.0f / (float)(i + 1);
    v[dim / 2] = poison;
    in.embedding = v, in.embedding_dim = dim;
    rc = add_one(f, &alice, in);
    free(v);
    return rc;
}

static int add_embedding_wrong_dimension(struct fx *f)
{
    return add_embedding(f, 255, 0.5f);
}

static int add_embedding_nan(struct fx *f)
{
    return add_embedding(f, 256, NAN);
}

static int add_embedding_infinity(struct fx *f)
{
    return add_embedding(f, 256, INFINITY);
}

/* One bad segment at the end of a batch: none of the batch is stored. */
static int add_batch_with_bad_last_segment(struct fx *f)
{
    ctxmem_segment_in in[3] = {seg(CTXMEM_ROLE_USER, "first"), seg(CTXMEM_ROLE_ASSISTANT, "ok"),
                               seg(CTXMEM_ROLE_USER, "bad \xFF")};

    return ctxmem_store_add(f->s, &alice, in, 3, NULL);
}

/* ---- scopes ---- */

static int add_in_scope(struct fx *f, const char *user, const char *agent, const char *session)
{
    ctxmem_scope sc = {user, agent, session};

    return add_one(f, &sc, seg(CTXMEM_ROLE_USER, "hello"));
}

static int scope_user_with_slash(struct fx *f)
{
    return add_in_scope(f, "../etc/passwd", NULL, NULL);
}

static int scope_user_with_backslash(struct fx *f)
{
    return add_in_scope(f, "dom\\user", NULL, NULL);
}

static int scope_session_with_newline(struct fx *f)
{
    return add_in_scope(f, "alice", "helper", "s1\nforged");
}

static int scope_agent_with_delete_character(struct fx *f)
{
    return add_in_scope(f, "alice", "help\x7f", NULL);
}

static int scope_empty_user(struct fx *f)
{
    return add_in_scope(f, "", "helper", NULL);
}

static int scope_name_too_long(struct fx *f)
{
    char name[130];

    memset(name, 'u', 129);
    name[129] = '\0';
    return add_in_scope(f, name, NULL, NULL);
}

static int scope_name_invalid_utf8(struct fx *f)
{
    return add_in_scope(f, "al\xC3ice", NULL, NULL);
}

/* ---- facts and pairs ---- */

static int supersede_segment_of_other_scope(struct fx *f)
{
    ctxmem_segment_in in = seg(CTXMEM_ROLE_NOTE, "bob's fact, rewritten by alice");

    in.supersedes = f->bob_id;
    return add_one(f, &alice, in);
}

static int supersede_unknown_segment(struct fx *f)
{
    ctxmem_segment_in in = seg(CTXMEM_ROLE_NOTE, "replaces nothing");

    in.supersedes = 999999;
    return add_one(f, &alice, in);
}

static int unpaired_tool_result(struct fx *f)
{
    ctxmem_segment_in in = seg(CTXMEM_ROLE_TOOL_RESULT, "{\"temp\": 21}");

    in.pair_id = "call-never-made";
    return add_one(f, &alice, in);
}

/* ---- budgets ---- */

static int assemble_with(struct fx *f, const ctxmem_budget *b)
{
    ctxmem_window *w = (ctxmem_window *)1;
    int rc = ctxmem_window_assemble(&w, f->s, &alice, "weather", 7, b);

    assert_null(w);
    return rc;
}

static int budget_zero_limit(struct fx *f)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;

    return assemble_with(f, &b);
}

static int budget_reserve_eats_limit(struct fx *f)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;

    b.limit = 1000, b.reserve_output = 1000;
    return assemble_with(f, &b);
}

static int budget_absurd_limit(struct fx *f)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;

    b.limit = SIZE_MAX;
    return assemble_with(f, &b);
}

static int budget_negative_share(struct fx *f)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;

    b.limit = 1000, b.hot_share = -0.5f;
    return assemble_with(f, &b);
}

static int budget_nan_share(struct fx *f)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;

    b.limit = 1000, b.warm_share = NAN;
    return assemble_with(f, &b);
}

static int budget_null(struct fx *f)
{
    return assemble_with(f, NULL);
}

static int budget_wrong_version(struct fx *f)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;

    b.version = 7, b.limit = 1000;
    return assemble_with(f, &b);
}

/* ---- search, get, forget, pins, recall ---- */

static int search_no_scopes(struct fx *f)
{
    ctxmem_hit *hits = NULL;
    size_t n = 0;

    return ctxmem_search(&hits, &n, f->s, &alice, 0, "weather", 7, NULL);
}

static int search_invalid_utf8_query(struct fx *f)
{
    ctxmem_hit *hits = NULL;
    size_t n = 0;

    return ctxmem_search(&hits, &n, f->s, &alice, 1, "\xFE\xFF", 2, NULL);
}

static int search_query_embedding_wrong_dimension(struct fx *f)
{
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;
    float v[3] = {1, 0, 0};
    ctxmem_hit *hits = NULL;
    size_t n = 0;

    o.query_embedding = v, o.query_embedding_dim = 3;
    return ctxmem_search(&hits, &n, f->s, &alice, 1, NULL, 0, &o);
}

static int get_unknown_segment(struct fx *f)
{
    ctxmem_segment *s = NULL;

    return ctxmem_store_get(&s, f->s, 424242);
}

static int forget_unknown_segment(struct fx *f)
{
    return ctxmem_store_forget(f->s, 424242);
}

static int pin_priority_over_max(struct fx *f)
{
    return ctxmem_pin_set(f->s, &alice, "system", CTXMEM_ROLE_SYSTEM, "Be brief.", 9, 1001, 0);
}

static int pin_text_over_its_limit(struct fx *f)
{
    static const char text[] = "one two three four five six seven eight nine ten";

    return ctxmem_pin_set(f->s, &alice, "system", CTXMEM_ROLE_SYSTEM, text, sizeof(text) - 1, 0,
                          3);
}

static int recall_malformed_arguments(struct fx *f)
{
    char *out = NULL;

    return ctxmem_recall_answer(&out, f->s, &alice, "{\"query\": ", 500);
}

/* ---- tokenizer and rank files ---- */

static int tokenizer_unknown_name(struct fx *f)
{
    ctxmem_tokenizer *t = NULL;

    (void)f;
    return ctxmem_tokenizer_load(&t, "p50k_edit", NULL);
}

static int tokenizer_missing_rank_file(struct fx *f)
{
    ctxmem_tokenizer *t = NULL;
    char *p = path_in(f, "no-such.tiktoken");
    int rc = ctxmem_tokenizer_load_file(&t, "cl100k_base", p);

    free(p);
    return rc;
}

/* Write a damaged copy of the cl100k_base rank file and load it. */
static int load_damaged_ranks(struct fx *f, size_t keep, const char *tail)
{
    size_t len = 0;
    char *ranks = tu_read_file(CTXMEM_SHARED_DIR "/tokenizers/cl100k_base.tiktoken", &len);
    char *p = path_in(f, "damaged.tiktoken");
    ctxmem_tokenizer *t = NULL;
    FILE *fp = fopen(p, "wb");
    int rc;

    if (!ranks)
        skip();
    assert_non_null(fp);
    fwrite(ranks, 1, keep < len ? keep : len, fp);
    fputs(tail, fp);
    fclose(fp);
    rc = ctxmem_tokenizer_load_file(&t, "cl100k_base", p);
    assert_null(t);
    free(ranks), free(p);
    return rc;
}

static int tokenizer_truncated_rank_file(struct fx *f)
{
    return load_damaged_ranks(f, 500000, "");
}

static int tokenizer_corrupted_rank_file(struct fx *f)
{
    return load_damaged_ranks(f, (size_t)-1, "!!not-base64!! 100256\n");
}

static int tokenizer_count_invalid_utf8(struct fx *f)
{
    size_t n = 0;

    return ctxmem_tokenizer_count(ctxmem_store_tokenizer(f->s), "\xC3\x28", 2, &n);
}

static int tokenizer_decode_id_outside_vocabulary(struct fx *f)
{
    uint32_t ids[2] = {10, 4000000000u};
    char *bytes = NULL;
    size_t len = 0;

    return ctxmem_tokenizer_decode(ctxmem_store_tokenizer(f->s), ids, 2, &bytes, &len);
}

/* ---- read-only store, vector cache, embedded NUL ---- */

static int readonly_store_refuses_add(struct fx *f)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    int rc;

    ctxmem_store_close(f->s);
    o.flags = CTXMEM_OPEN_READONLY;
    assert_ctxmem(ctxmem_store_open(&f->s, f->dir, &o), CTXMEM_OK);
    rc = add_one(f, &alice, seg(CTXMEM_ROLE_USER, "read-only"));
    assert_ctxmem(ctxmem_pin_set(f->s, &alice, "p", CTXMEM_ROLE_SYSTEM, "x", 1, 0, 0),
                  CTXMEM_EREADONLY);
    assert_ctxmem(ctxmem_store_forget(f->s, f->alice_id), CTXMEM_EREADONLY);
    ctxmem_store_close(f->s);
    f->s = reopen(f->dir);
    return rc;
}

static void vector_hits(ctxmem_store *s, uint64_t *ids, size_t *n)
{
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;
    ctxmem_hit *hits = NULL;

    o.signals = CTXMEM_SIGNAL_VECTOR, o.neighbours = -1;
    assert_ctxmem(ctxmem_search(&hits, n, s, &alice, 1, "weather in paris", 16, &o), CTXMEM_OK);
    for (size_t i = 0; i < *n; i++)
        ids[i] = hits[i].id;
    ctxmem_hits_free(hits);
}

/* Overwrite the middle of every file in DIR/vindex. */
static void damage_cache_files(struct fx *f)
{
    char *d = path_in(f, "vindex"), name[4400];
    const char *suffix[2] = {"faiss", "state"};
    uint32_t scope = 0;
    int damaged = 0;

    assert_ctxmem(ctxmem_store_scope_id(f->s, &alice, &scope), CTXMEM_OK);
    for (int i = 0; i < 2; i++) {
        struct stat st;
        int fd;
        snprintf(name, sizeof(name), "%s/%u.%s", d, scope, suffix[i]);
        if (stat(name, &st) != 0)
            continue;
        fd = open(name, O_WRONLY);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "\xde\xad\xbe\xef", 4, st.st_size / 2), 4);
        close(fd);
        damaged++;
    }
    assert_int_equal(damaged, 2);
    free(d);
}

static int corrupted_faiss_cache_is_rebuilt(struct fx *f)
{
    uint64_t before[32], after[32];
    size_t n_before = 0, n_after = 0;

    vector_hits(f->s, before, &n_before);
    ctxmem_store_close(f->s); /* writes the cache files */
    f->s = reopen(f->dir);
    damage_cache_files(f);
    ctxmem_store_close(f->s);
    f->s = reopen(f->dir);
    vector_hits(f->s, after, &n_after);
    assert_true(n_before > 0);
    assert_int_equal(n_after, n_before);
    assert_memory_equal(after, before, n_before * sizeof(before[0]));
    return CTXMEM_OK;
}

/* NUL bytes are valid text: stored and read back byte for byte (the store grows). */
static int embedded_nul_round_trips(struct fx *f)
{
    static const char text[] = "before\0after\0";
    ctxmem_segment_in in = seg(CTXMEM_ROLE_USER, "");
    ctxmem_segment *out = NULL;
    uint64_t id = 0;

    in.text = text, in.text_len = sizeof(text) - 1;
    assert_ctxmem(ctxmem_store_add(f->s, &alice, &in, 1, &id), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_get(&out, f->s, id), CTXMEM_OK);
    assert_int_equal(out->text_len, sizeof(text) - 1);
    assert_memory_equal(out->text, text, sizeof(text) - 1);
    ctxmem_segment_free(out);
    assert_ctxmem(ctxmem_store_stat(f->s, &f->before), CTXMEM_OK); /* the new baseline */
    return CTXMEM_OK;
}

#define CASE(fn, want) {#fn, fn, want}

static const struct bad_case cases[] = {
    CASE(open_null_out, CTXMEM_EINVAL),
    CASE(open_null_dir, CTXMEM_EINVAL),
    CASE(open_bad_options_version, CTXMEM_EINVAL),
    CASE(open_unknown_flags, CTXMEM_EINVAL),
    CASE(open_map_size_over_max, CTXMEM_EINVAL),
    CASE(open_unknown_tokenizer, CTXMEM_EINVAL),
    CASE(open_regular_file, CTXMEM_EINVAL),
    CASE(open_garbage_data_file, CTXMEM_ECORRUPT),
    CASE(open_newer_format, CTXMEM_EVERSION),
    CASE(add_null_store, CTXMEM_EINVAL),
    CASE(add_null_segments, CTXMEM_EINVAL),
    CASE(add_zero_segments, CTXMEM_EINVAL),
    CASE(add_null_scope, CTXMEM_EINVAL),
    CASE(add_utf8_lone_continuation, CTXMEM_EINVAL),
    CASE(add_utf8_overlong, CTXMEM_EINVAL),
    CASE(add_utf8_surrogate, CTXMEM_EINVAL),
    CASE(add_utf8_truncated, CTXMEM_EINVAL),
    CASE(add_utf8_past_max_code_point, CTXMEM_EINVAL),
    CASE(add_null_text_with_length, CTXMEM_EINVAL),
    CASE(add_text_over_max_segment_bytes, CTXMEM_EFULL),
    CASE(add_role_zero, CTXMEM_EINVAL),
    CASE(add_role_out_of_range, CTXMEM_EINVAL),
    CASE(add_meta_json_not_object, CTXMEM_EINVAL),
    CASE(add_embedding_wrong_dimension, CTXMEM_EINVAL),
    CASE(add_embedding_nan, CTXMEM_EINVAL),
    CASE(add_embedding_infinity, CTXMEM_EINVAL),
    CASE(add_batch_with_bad_last_segment, CTXMEM_EINVAL),
    CASE(scope_user_with_slash, CTXMEM_EINVAL),
    CASE(scope_user_with_backslash, CTXMEM_EINVAL),
    CASE(scope_session_with_newline, CTXMEM_EINVAL),
    CASE(scope_agent_with_delete_character, CTXMEM_EINVAL),
    CASE(scope_empty_user, CTXMEM_EINVAL),
    CASE(scope_name_too_long, CTXMEM_EINVAL),
    CASE(scope_name_invalid_utf8, CTXMEM_EINVAL),
    CASE(supersede_segment_of_other_scope, CTXMEM_EINVAL),
    CASE(supersede_unknown_segment, CTXMEM_ENOTFOUND),
    CASE(unpaired_tool_result, CTXMEM_EINVAL),
    CASE(budget_zero_limit, CTXMEM_EINVAL),
    CASE(budget_reserve_eats_limit, CTXMEM_EINVAL),
    CASE(budget_absurd_limit, CTXMEM_EINVAL),
    CASE(budget_negative_share, CTXMEM_EINVAL),
    CASE(budget_nan_share, CTXMEM_EINVAL),
    CASE(budget_null, CTXMEM_EINVAL),
    CASE(budget_wrong_version, CTXMEM_EINVAL),
    CASE(search_no_scopes, CTXMEM_EINVAL),
    CASE(search_invalid_utf8_query, CTXMEM_EINVAL),
    CASE(search_query_embedding_wrong_dimension, CTXMEM_EINVAL),
    CASE(get_unknown_segment, CTXMEM_ENOTFOUND),
    CASE(forget_unknown_segment, CTXMEM_ENOTFOUND),
    CASE(pin_priority_over_max, CTXMEM_EINVAL),
    CASE(pin_text_over_its_limit, CTXMEM_EFULL),
    CASE(recall_malformed_arguments, CTXMEM_EINVAL),
    CASE(tokenizer_unknown_name, CTXMEM_EINVAL),
    CASE(tokenizer_missing_rank_file, CTXMEM_ENOTFOUND),
    CASE(tokenizer_truncated_rank_file, CTXMEM_ECORRUPT),
    CASE(tokenizer_corrupted_rank_file, CTXMEM_ECORRUPT),
    CASE(tokenizer_count_invalid_utf8, CTXMEM_EINVAL),
    CASE(tokenizer_decode_id_outside_vocabulary, CTXMEM_EINVAL),
    CASE(readonly_store_refuses_add, CTXMEM_EREADONLY),
    CASE(corrupted_faiss_cache_is_rebuilt, CTXMEM_OK),
    CASE(embedded_nul_round_trips, CTXMEM_OK),
};

/* A fresh store with a short conversation in two scopes. */
static int setup(void **state)
{
    struct case_state *cs = calloc(1, sizeof(*cs));
    ctxmem_segment_in turns[4] = {seg(CTXMEM_ROLE_USER, "What is the weather in Paris?"),
                                  seg(CTXMEM_ROLE_TOOL_CALL, "{\"city\": \"Paris\"}"),
                                  seg(CTXMEM_ROLE_TOOL_RESULT, "{\"temp\": 21}"),
                                  seg(CTXMEM_ROLE_ASSISTANT, "It is 21 degrees in Paris.")};
    ctxmem_segment_in note = seg(CTXMEM_ROLE_NOTE, "Bob prefers tea.");
    uint64_t ids[4];

    assert_non_null(cs);
    cs->c = *state;
    turns[1].name = "weather", turns[1].pair_id = "call-1", turns[2].pair_id = "call-1";
    cs->f.s = tu_store_new(&cs->f.dir);
    assert_ctxmem(ctxmem_store_add(cs->f.s, &alice, turns, 4, ids), CTXMEM_OK);
    cs->f.alice_id = ids[0];
    assert_ctxmem(ctxmem_store_add(cs->f.s, &bob, &note, 1, &cs->f.bob_id), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_stat(cs->f.s, &cs->f.before), CTXMEM_OK);
    *state = cs;
    return 0;
}

static void run_case(void **state)
{
    struct case_state *cs = *state;

    assert_ctxmem(cs->c->run(&cs->f), cs->c->want);
}

/* The store is unchanged by the failed call. */
static int teardown(void **state)
{
    struct case_state *cs = *state;
    ctxmem_store_info now;

    assert_ctxmem(ctxmem_store_stat(cs->f.s, &now), CTXMEM_OK);
    assert_int_equal(now.segments, cs->f.before.segments);
    assert_int_equal(now.scopes, cs->f.before.scopes);
    assert_int_equal(now.tokens, cs->f.before.tokens);
    assert_int_equal(now.used_bytes, cs->f.before.used_bytes);
    tu_store_free(cs->f.s, cs->f.dir);
    free(cs);
    return 0;
}

int main(void)
{
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    struct CMUnitTest tests[N];

    for (size_t i = 0; i < N; i++) {
        struct CMUnitTest t = {cases[i].name, run_case, setup, teardown, (void *)&cases[i]};
        tests[i] = t;
    }
    return _cmocka_run_group_tests("bad_input", tests, N, NULL, NULL);
}
