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

/* ---- top-k BM25 against an exhaustive ranking ---- */

#define TK_DOCS 3000
#define TK_VOCAB 240
#define TK_DEPTH 30

/* Word w of the test vocabulary: syllables no Snowball English rule changes. */
static void tk_word(unsigned w, char *out)
{
    static const char cons[] = "bdkmptz", vow[] = "aou";
    size_t n = 0;

    for (int i = 0; i < 3; i++, w /= 21) {
        out[n++] = cons[w % 21 % 7];
        out[n++] = vow[w % 21 / 7];
    }
    out[n] = '\0';
}

/* A Zipf-like pick, so that a few words sit in most documents. */
static unsigned tk_pick(unsigned *rng)
{
    *rng = *rng * 1103515245u + 12345u;
    double u = ((*rng >> 8) & 0xFFFF) / 65536.0;
    return (unsigned)(TK_VOCAB * u * u * u) % TK_VOCAB;
}

typedef struct tk_corpus {
    unsigned short tf[TK_DOCS][TK_VOCAB];
    unsigned len[TK_DOCS];
    uint64_t ids[TK_DOCS];
} tk_corpus;

static void tk_fill(ctxmem_store *s, tk_corpus *c)
{
    static const ctxmem_scope scopes[2] = {{"alice", "helper", "s1"}, {"alice", "helper", "s2"}};
    unsigned rng = 7;
    char text[40 * 8], word[8];

    for (size_t d = 0; d < TK_DOCS; d++) {
        unsigned words = 3 + tk_pick(&rng) % 28;
        size_t n = 0;
        for (unsigned i = 0; i < words; i++) {
            unsigned w = tk_pick(&rng);
            tk_word(w, word);
            n += (size_t)sprintf(text + n, "%s ", word);
            c->tf[d][w]++;
        }
        c->len[d] = words;
        c->ids[d] = add_text(s, &scopes[d % 2], text);
    }
}

static double tk_score(const tk_corpus *c, const unsigned *q, size_t nq, size_t d,
                       const double *df, double avgdl)
{
    double sc = 0;

    for (size_t i = 0; i < nq; i++)
        if (c->tf[d][q[i]])
            sc += bm25(c->tf[d][q[i]], c->len[d], avgdl, df[q[i]], TK_DOCS);
    return sc;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* One query: the engine's lexical list must be the exhaustive top TK_DEPTH. */
static void tk_check(ctxmem_store *s, const tk_corpus *c, const unsigned *q, size_t nq,
                     const double *df, double avgdl)
{
    static const ctxmem_scope both = {"alice", "helper", NULL};
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;
    double *all = malloc(TK_DOCS * sizeof(*all));
    char text[16 * 8], word[8];
    ctxmem_hit *h = NULL;
    size_t n = 0, len = 0, ranked = 0, positive = 0;

    for (size_t i = 0; i < nq; i++) {
        tk_word(q[i], word);
        len += (size_t)sprintf(text + len, "%s ", word);
    }
    o.signals = CTXMEM_SIGNAL_LEXICAL;
    o.neighbours = -1;
    o.k = o.depth = TK_DEPTH;
    assert_ctxmem(ctxmem_search(&h, &n, s, &both, 1, text, len, &o), CTXMEM_OK);
    for (size_t d = 0; d < TK_DOCS; d++)
        positive += (all[d] = tk_score(c, q, nq, d, df, avgdl)) > 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = (size_t)(h[i].id - c->ids[0]);
        assert_true(d < TK_DOCS && c->ids[d] == h[i].id);
        assert_float_equal(h[i].lexical_score, all[d], 1e-4 * all[d]);
        ranked += h[i].lexical_rank > 0;
    }
    qsort(all, TK_DOCS, sizeof(*all), cmp_desc);
    assert_int_equal(ranked, positive < TK_DEPTH ? positive : TK_DEPTH);
    for (size_t i = 0; i < n; i++)
        if (h[i].lexical_rank > 0)
            assert_float_equal(h[i].lexical_score, all[h[i].lexical_rank - 1],
                               1e-4 * all[h[i].lexical_rank - 1]);
    ctxmem_hits_free(h);
    free(all);
}

static void test_index_bm25_top_k_matches_exhaustive_ranking(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_store *s = open_store(dir, NULL, CTXMEM_OPEN_NOSYNC);
    tk_corpus *c = calloc(1, sizeof(*c));
    double df[TK_VOCAB] = {0}, total = 0;
    unsigned rng = 99, q[12];

    (void)state;
    tk_fill(s, c);
    for (size_t d = 0; d < TK_DOCS; d++) {
        total += c->len[d];
        for (size_t w = 0; w < TK_VOCAB; w++)
            df[w] += c->tf[d][w] > 0;
    }
    /* Short and long queries over frequent and rare words; repeats are allowed. */
    for (int i = 0; i < 60; i++) {
        size_t nq = 1 + (size_t)i % 12, distinct = 0;
        for (size_t j = 0; j < nq; j++) {
            unsigned w = i % 3 ? tk_pick(&rng) : (unsigned)(rng = rng * 69069u + 1) % TK_VOCAB;
            int seen = 0;
            for (size_t k = 0; k < distinct; k++)
                seen |= q[k] == w;
            if (!seen)
                q[distinct++] = w;
        }
        tk_check(s, c, q, distinct, df, total / TK_DOCS);
    }
    free(c);
    ctxmem_store_close(s);
    tu_rmtree(dir);
}

/* ---- IVF kinds ---- */

#define IV_N 3000

/* Vector i: random unit vector with its energy in the first `dims` dimensions. */
static void iv_vector(unsigned i, int dims, float *v)
{
    unsigned x = i * 2654435761u + 1;
    double norm = 0;

    for (int d = 0; d < 128; d++) {
        x = x * 1103515245u + 12345u;
        v[d] = d < dims ? (float)((x >> 8) & 0xFFFF) / 65536.0f - 0.5f : 0.0f;
        norm += v[d] * v[d];
    }
    for (int d = 0; d < 128; d++)
        v[d] /= (float)sqrt(norm);
}

static ctxmem_store *iv_open(const char *dir, unsigned kind)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = NULL;

    o.tokenizer = "approx";
    o.flags = CTXMEM_OPEN_NOSYNC;
    o.vector_index = kind;
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_OK);
    return s;
}

/* Notes from..to-1 with known vectors; the ids follow on from the first. */
static void iv_add(ctxmem_store *s, unsigned from, unsigned to, int dims)
{
    ctxmem_segment_in in = {0};
    float v[128];

    in.role = CTXMEM_ROLE_NOTE;
    in.embedding = v, in.embedding_dim = 128;
    for (unsigned i = from; i < to; i++) {
        char text[32];
        in.text = text, in.text_len = (size_t)sprintf(text, "note %u", i);
        iv_vector(i, dims, v);
        assert_ctxmem(ctxmem_store_add(s, &alice, &in, 1, NULL), CTXMEM_OK);
    }
}

/* Each probed vector, as the query, is its own best match with a product near 1. */
static void iv_check(ctxmem_store *s, unsigned from, unsigned to, int dims)
{
    ctxmem_search_opts so = CTXMEM_SEARCH_OPTS_INIT;
    float v[128];

    so.signals = CTXMEM_SIGNAL_VECTOR, so.neighbours = -1, so.k = 1;
    so.weight_recency = -1; /* negative: none, so the best vector comes first */
    so.query_embedding = v, so.query_embedding_dim = 128;
    for (unsigned i = from; i < to; i += 37) {
        ctxmem_hit *h = NULL;
        size_t n = 0;
        iv_vector(i, dims, v);
        assert_ctxmem(ctxmem_search(&h, &n, s, &alice, 1, NULL, 0, &so), CTXMEM_OK);
        assert_int_equal(n, 1);
        assert_int_equal(h[0].id, i + 1);
        assert_float_equal(h[0].vector_score, 1.0, 0.01);
        ctxmem_hits_free(h);
    }
}

/* Bytes per vector in the scope's cache file, written at close. */
static double iv_cache_bytes(const char *dir, unsigned n)
{
    char path[600];
    long size;
    FILE *f;

    snprintf(path, sizeof(path), "%s/vindex/1.faiss", dir);
    assert_non_null(f = fopen(path, "rb"));
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    return (double)size / n;
}

/*
 * The first IV_N vectors use 32 dimensions and train the index; the next
 * ones, added after it, use all 128, whose values the training never saw.
 */
static double iv_build(const char *dir, unsigned kind)
{
    ctxmem_store *s = iv_open(dir, kind);

    iv_add(s, 0, IV_N, 32);
    iv_check(s, 0, IV_N, 32);
    iv_add(s, IV_N, IV_N + 600, 128);
    iv_check(s, IV_N, IV_N + 600, 128);
    iv_check(s, 0, IV_N, 32);
    ctxmem_store_close(s);
    return iv_cache_bytes(dir, IV_N + 600);
}

static void test_index_ivf_kinds_find_every_vector_and_keep_their_size(void **state)
{
    char *dir = tu_tempdir(), *dir2 = tu_tempdir();
    ctxmem_store *s = NULL;
    ctxmem_options o = CTXMEM_OPTIONS_INIT;

    (void)state;
    o.vector_index = CTXMEM_VINDEX_IVF_FLAT + 1;
    assert_ctxmem(ctxmem_store_open(&s, dir2, &o), CTXMEM_EINVAL);
    assert_null(s);

    /* 8-bit codes: 128 bytes and an 8-byte id per vector, plus centroids */
    assert_in_range((long)iv_build(dir, CTXMEM_VINDEX_IVF), 136, 136 + 60);
    assert_in_range((long)iv_build(dir2, CTXMEM_VINDEX_IVF_FLAT), 520, 520 + 60);

    /* Reopened with another kind, the cache is rebuilt as the options say. */
    s = iv_open(dir, CTXMEM_VINDEX_IVF_FLAT);
    iv_check(s, 0, IV_N, 32);
    ctxmem_store_close(s);
    assert_in_range((long)iv_cache_bytes(dir, IV_N + 600), 520, 520 + 60);
    s = iv_open(dir2, CTXMEM_VINDEX_IVF);
    iv_check(s, IV_N, IV_N + 600, 128);
    ctxmem_store_close(s);
    assert_in_range((long)iv_cache_bytes(dir2, IV_N + 600), 136, 136 + 60);
    s = iv_open(dir2, CTXMEM_VINDEX_FLAT); /* always exact: IDMap over floats */
    iv_check(s, 0, IV_N, 32);
    iv_check(s, IV_N, IV_N + 600, 128);
    ctxmem_store_close(s);
    assert_in_range((long)iv_cache_bytes(dir2, IV_N + 600), 520, 520 + 20);
    tu_rmtree(dir);
    tu_rmtree(dir2);
}

static void test_index_search_refuses_k_or_depth_over_the_maximum(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_store *s = open_store(dir, NULL, 0);
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;
    ctxmem_hit *h = NULL;
    size_t n = 0;

    (void)state;
    add_text(s, &alice, "kiwi plum");
    o.depth = (size_t)0x0AAAAAAAAAAAAAABull; /* depth * 24 wraps around to 8 */
    assert_ctxmem(ctxmem_search(&h, &n, s, &alice, 1, "kiwi", 4, &o), CTXMEM_EINVAL);
    o.depth = 0, o.k = SIZE_MAX / 2;
    assert_ctxmem(ctxmem_search(&h, &n, s, &alice, 1, "kiwi", 4, &o), CTXMEM_EINVAL);
    o.k = 1 << 20, o.depth = 1 << 22;
    assert_ctxmem(ctxmem_search(&h, &n, s, &alice, 1, "kiwi", 4, &o), CTXMEM_OK);
    assert_int_equal(n, 1);
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
        cmocka_unit_test(test_index_bm25_top_k_matches_exhaustive_ranking),
        cmocka_unit_test(test_index_ivf_kinds_find_every_vector_and_keep_their_size),
        cmocka_unit_test(test_index_search_refuses_k_or_depth_over_the_maximum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
