/*
 * The cold-tier index: round trip, cache rebuild, embedder checks, caller
 * embeddings, and BM25 scores against an independent computation.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ctxmem_scope alice = {"alice", "helper", "s1"};

static ctxmem_store *open_store(const char *dir, const ctxmem_embedder *e, unsigned flags)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = NULL;

    o.tokenizer = "approx";
    o.embedder = e;
    o.flags = flags;
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_OK);
    return s;
}

static uint64_t add_text(ctxmem_store *s, const ctxmem_scope *scope, const char *text)
{
    ctxmem_segment_in in = {0};
    uint64_t id = 0;

    in.role = CTXMEM_ROLE_USER;
    in.time = 1000;
    in.text = text;
    in.text_len = strlen(text);
    assert_ctxmem(ctxmem_store_add(s, scope, &in, 1, &id), CTXMEM_OK);
    return id;
}

static size_t search(ctxmem_store *s, const char *q, unsigned signals, ctxmem_hit **hits)
{
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;
    size_t n = 0;

    o.signals = signals;
    o.neighbours = -1;
    assert_ctxmem(ctxmem_search(hits, &n, s, &alice, 1, q, strlen(q), &o), CTXMEM_OK);
    return n;
}

static int has_id(const ctxmem_hit *h, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].id == id)
            return 1;
    return 0;
}

static void test_index_round_trip_add_search_forget_reopen(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_store *s = open_store(dir, NULL, 0);
    ctxmem_hit *h = NULL;
    uint64_t banana, cherry;
    size_t n;

    (void)state;
    add_text(s, &alice, "I planted apple trees in the garden");
    banana = add_text(s, &alice, "The banana bread recipe needs ripe bananas");
    cherry = add_text(s, &alice, "We picked cherries at the farm on Sunday");
    n = search(s, "banana bread", CTXMEM_SIGNAL_ALL, &h);
    assert_true(n >= 1);
    assert_int_equal(h[0].id, banana);
    assert_true(h[0].lexical_rank == 1 && h[0].vector_rank == 1);
    ctxmem_hits_free(h);

    assert_ctxmem(ctxmem_store_forget(s, banana), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_forget(s, banana), CTXMEM_ENOTFOUND);
    n = search(s, "banana bread", CTXMEM_SIGNAL_ALL, &h);
    assert_false(has_id(h, n, banana));
    ctxmem_hits_free(h);
    ctxmem_store_close(s);

    s = open_store(dir, NULL, 0);
    n = search(s, "cherries farm", CTXMEM_SIGNAL_VECTOR, &h);
    assert_true(n >= 1 && h[0].id == cherry);
    assert_false(has_id(h, n, banana));
    ctxmem_hits_free(h);
    n = search(s, "banana", CTXMEM_SIGNAL_LEXICAL, &h);
    assert_int_equal(n, 0);
    ctxmem_hits_free(h);
    ctxmem_store_close(s);
    tu_rmtree(dir);
}

/* Hits of a few fixed queries, flattened for comparison. */
static void snapshot(ctxmem_store *s, uint64_t *ids, float *scores)
{
    static const char *const qs[] = {"word7 word12", "word3 word40 word41", "word99"};

    for (size_t q = 0; q < 3; q++) {
        ctxmem_hit *h = NULL;
        size_t n = search(s, qs[q], CTXMEM_SIGNAL_VECTOR, &h);
        assert_true(n >= 10);
        for (size_t i = 0; i < 10; i++)
            ids[q * 10 + i] = h[i].id, scores[q * 10 + i] = h[i].vector_score;
        ctxmem_hits_free(h);
    }
}

static void fill_store(ctxmem_store *s, size_t n)
{
    unsigned seed = 11;

    for (size_t i = 0; i < n; i++) {
        char text[256];
        int len = 0;
        for (int w = 0; w < 8; w++) {
            seed = seed * 1103515245u + 12345u;
            len += snprintf(text + len, sizeof(text) - (size_t)len, "word%u ", (seed >> 16) % 120);
        }
        add_text(s, &alice, text);
    }
}

static char *cache_file(const char *dir, const char *ext)
{
    char *p = malloc(4200);
    uint32_t scope = 1;

    snprintf(p, 4200, "%s/vindex/%u.%s", dir, scope, ext);
    return p;
}

static void damage(const char *path, int how)
{
    size_t len = 0;
    char *buf = tu_read_file(path, &len);
    FILE *f = fopen(path, "wb");

    assert_non_null(buf);
    assert_non_null(f);
    if (how == 1)
        for (size_t i = len / 2; i < len / 2 + 64 && i < len; i++)
            buf[i] = (char)~buf[i];
    fwrite(buf, 1, how == 2 ? len / 3 : len, f);
    fclose(f);
    free(buf);
}

static void test_index_cache_deleted_or_corrupted_is_rebuilt_identically(void **state)
{
    char *dir = tu_tempdir(), *faiss = cache_file(dir, "faiss"), *st = cache_file(dir, "state");
    uint64_t ids[30], ids2[30];
    float sc[30], sc2[30];
    ctxmem_store *s = open_store(dir, NULL, 0);

    (void)state;
    fill_store(s, 300);
    snapshot(s, ids, sc);
    ctxmem_store_close(s);
    assert_true(tu_exists(faiss) && tu_exists(st));

    for (int how = 0; how < 4; how++) {
        if (how == 0)
            remove(faiss);
        else if (how == 3)
            remove(st);
        else
            damage(faiss, how);
        s = open_store(dir, NULL, 0);
        snapshot(s, ids2, sc2);
        ctxmem_store_close(s);
        assert_memory_equal(ids, ids2, sizeof(ids));
        for (int i = 0; i < 30; i++)
            assert_float_equal(sc[i], sc2[i], 1e-6);
        assert_true(tu_exists(faiss) && tu_exists(st));
    }
    free(faiss);
    free(st);
    tu_rmtree(dir);
}

/* A toy embedder: byte histogram folded into `dim` buckets. */
static int toy_embed(void *user, const char *const *texts, const size_t *lens, size_t n,
                     float *out)
{
    size_t dim = *(size_t *)user;

    for (size_t i = 0; i < n; i++) {
        memset(out + i * dim, 0, dim * sizeof(float));
        for (size_t k = 0; k < lens[i]; k++)
            out[i * dim + (unsigned char)texts[i][k] % dim] += 1.0f;
    }
    return 0;
}

static void test_index_embedder_mismatch_is_refused(void **state)
{
    static size_t d8 = 8, d16 = 16;
    ctxmem_embedder e1 = {CTXMEM_EMBEDDER_VERSION, "toy", 8, toy_embed, &d8};
    ctxmem_embedder e2 = {CTXMEM_EMBEDDER_VERSION, "toy", 16, toy_embed, &d16};
    ctxmem_embedder e3 = {CTXMEM_EMBEDDER_VERSION, "other", 8, toy_embed, &d8};
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    char *dir = tu_tempdir();
    ctxmem_store *s = open_store(dir, &e1, 0);
    ctxmem_hit *h = NULL;

    (void)state;
    add_text(s, &alice, "hello there");
    ctxmem_store_close(s);

    o.tokenizer = "approx";
    o.embedder = &e2;
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_EMISMATCH);
    assert_null(s);
    assert_non_null(strstr(ctxmem_error_last()->message, "toy"));
    o.embedder = &e3;
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_EMISMATCH);
    o.embedder = NULL; /* the default on a store made with another: lexical only */
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_OK);
    ctxmem_store_close(s);

    s = open_store(dir, &e2, CTXMEM_OPEN_REEMBED);
    assert_int_equal(search(s, "hello", CTXMEM_SIGNAL_VECTOR, &h), 1);
    ctxmem_hits_free(h);
    ctxmem_store_close(s);
    s = open_store(dir, &e2, 0);
    ctxmem_store_close(s);
    tu_rmtree(dir);
}

static void test_index_caller_embedding_must_match_and_be_finite(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_store *s = open_store(dir, NULL, 0);
    ctxmem_segment_in in = {0};
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;
    float v[128] = {1.0f};
    ctxmem_hit *h = NULL;
    size_t n;

    (void)state;
    in.role = CTXMEM_ROLE_NOTE;
    in.text = "note";
    in.text_len = 4;
    in.embedding = v;
    in.embedding_dim = 127;
    assert_ctxmem(ctxmem_store_add(s, &alice, &in, 1, NULL), CTXMEM_EINVAL);
    in.embedding_dim = 128;
    v[3] = NAN;
    assert_ctxmem(ctxmem_store_add(s, &alice, &in, 1, NULL), CTXMEM_EINVAL);
    v[3] = 0;
    assert_ctxmem(ctxmem_store_add(s, &alice, &in, 1, NULL), CTXMEM_OK);

    o.query_embedding = v;
    o.query_embedding_dim = 3;
    assert_ctxmem(ctxmem_search(&h, &n, s, &alice, 1, NULL, 0, &o), CTXMEM_EINVAL);
    o.query_embedding_dim = 128;
    assert_ctxmem(ctxmem_search(&h, &n, s, &alice, 1, NULL, 0, &o), CTXMEM_OK);
    assert_int_equal(n, 1);
    assert_float_equal(h[0].vector_score, 1.0, 1e-5);
    ctxmem_hits_free(h);
    ctxmem_store_close(s);
    tu_rmtree(dir);
}

/* BM25 as documented in ctxmem/index.h, computed here from the raw counts. */
static double bm25(double tf, double dl, double avgdl, double df, double n)
{
    double idf = log(1.0 + (n - df + 0.5) / (df + 0.5));

    return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl));
}

static void test_index_bm25_matches_independent_computation(void **state)
{
    static const char *const docs[] = {"kiwi kiwi plum", "plum fig", "fig", "kiwi fig fig fig",
                                       "plum plum plum plum plum"};
    /* term counts per doc: kiwi, fig; lengths 3, 2, 1, 4, 5 (avg 3) */
    static const double kiwi[] = {2, 0, 0, 1, 0}, fig[] = {0, 1, 1, 3, 0}, len[] = {3, 2, 1, 4, 5};
    char *dir = tu_tempdir();
    ctxmem_store *s = open_store(dir, NULL, 0);
    uint64_t ids[5];
    ctxmem_hit *h = NULL;
    size_t n;

    (void)state;
    for (int i = 0; i < 5; i++)
        ids[i] = add_text(s, &alice, docs[i]);
    n = search(s, "Kiwi? FIG!", CTXMEM_SIGNAL_LEXICAL, &h);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        int d = (int)(h[i].id - ids[0]);
        double want = (kiwi[d] ? bm25(kiwi[d], len[d], 3.0, 2, 5) : 0) +
                      (fig[d] ? bm25(fig[d], len[d], 3.0, 3, 5) : 0);
        assert_float_equal(h[i].lexical_score, want, 1e-4);
        assert_int_equal(h[i].lexical_rank, (int)i + 1);
    }
    ctxmem_hits_free(h);
    ctxmem_store_close(s);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_round_trip_add_search_forget_reopen),
        cmocka_unit_test(test_index_cache_deleted_or_corrupted_is_rebuilt_identically),
        cmocka_unit_test(test_index_embedder_mismatch_is_refused),
        cmocka_unit_test(test_index_caller_embedding_must_match_and_be_finite),
        cmocka_unit_test(test_index_bm25_matches_independent_computation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
