/*
 * Single-thread search latency on one scope of generated English-like
 * segments (fixed seed): 10,000 and 100,000 segments, default search options
 * (hybrid, k = 20, one neighbour per side). Also measured in the same run,
 * as a floor: the bare FAISS search of an index of the same kind built here
 * from the same vectors, plus reading the k hits' records.
 *
 * Usage: search_latency [sizes...]   (default: 10000 100000)
 * Segments are counted with the "approx" tokenizer (ingestion speed only;
 * search does not count tokens).
 */
#include "ctxmem.h"
#include "index/index_internal.h"

#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VOCAB 5000
#define QUERIES 1000
#define K 20

char *mkdtemp(char *templ);

static const char *const syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "pe", "da",
                                  "fi", "gu", "ho", "je", "ba", "zo", "ri", "te", "mu", "na"};
static char vocab[VOCAB][16];
static double zipf_cdf[VOCAB];
static uint64_t rng = 42;

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double urand(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void make_vocab(void)
{
    double sum = 0;

    for (int i = 0; i < VOCAB; i++) {
        int n = 2 + i % 3, v = i;
        vocab[i][0] = '\0';
        for (int s = 0; s < n; s++, v /= 20)
            strcat(vocab[i], syl[(v + s * 7) % 20]);
        sum += 1.0 / (i + 1);
        zipf_cdf[i] = sum;
    }
    for (int i = 0; i < VOCAB; i++)
        zipf_cdf[i] /= sum;
}

static const char *word(void)
{
    double u = urand();
    int lo = 0, hi = VOCAB - 1;

    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (zipf_cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return vocab[lo];
}

static size_t sentence(char *buf, size_t cap, int words)
{
    size_t len = 0;

    for (int w = 0; w < words && len + 20 < cap; w++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", w ? " " : "", word());
    return len;
}

static void fill(ctxmem_store *s, const ctxmem_scope *scope, size_t n)
{
    enum { BATCH = 1000 };
    static char text[BATCH][512];
    ctxmem_segment_in in[BATCH];

    for (size_t done = 0; done < n; done += BATCH) {
        size_t m = n - done < BATCH ? n - done : BATCH;
        memset(in, 0, sizeof(in));
        for (size_t i = 0; i < m; i++) {
            in[i].role = CTXMEM_ROLE_USER;
            in[i].time = (int64_t)(done + i) * 1000 + 1;
            in[i].text = text[i];
            in[i].text_len = sentence(text[i], sizeof(text[i]), 8 + (int)(urand() * 32));
        }
        if (ctxmem_store_add(s, scope, in, m, NULL) != CTXMEM_OK) {
            fprintf(stderr, "add: %s\n", ctxmem_error_last()->message);
            exit(1);
        }
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void percentiles(double *t, size_t n, double *p50, double *p99)
{
    qsort(t, n, sizeof(*t), cmp_d);
    *p50 = t[n / 2];
    *p99 = t[(size_t)ceil(n * 0.99) - 1];
}

/* The same kind of FAISS index as the store's, from the vectors in LMDB. */
static FaissIndex *floor_index(ctxmem_store *s, size_t n)
{
    float *x = malloc(n * EMBED_DEFAULT_DIM * sizeof(float));
    idx_t *ids = malloc(n * sizeof(idx_t));
    FaissIndex *idx = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    size_t m = 0, nl = 64;
    char spec[32];

    mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    mdb_cursor_open(txn, s->dbi[DB_VECTORS], &c);
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && m < n;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        memcpy(x + m * EMBED_DEFAULT_DIM, v.mv_data, v.mv_size);
        ids[m++] = (idx_t)store_get_be64((unsigned char *)k.mv_data + 4);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    while (nl * 2 <= 1024 && nl * 2 * nl * 2 <= m)
        nl *= 2;
    snprintf(spec, sizeof(spec), m > 8192 ? "IVF%zu,Flat" : "IDMap,Flat", nl);
    faiss_index_factory(&idx, EMBED_DEFAULT_DIM, spec, METRIC_INNER_PRODUCT);
    if (m > 8192) {
        faiss_Index_train(idx, (idx_t)(nl * 50 < m ? nl * 50 : m), x);
        faiss_IndexIVF_set_nprobe(faiss_IndexIVF_cast(idx), nl / 32 > 4 ? nl / 32 : 4);
    }
    faiss_Index_add_with_ids(idx, (idx_t)m, x, ids);
    free(x);
    free(ids);
    return idx;
}

/* Floor per query: FAISS search for K labels, then the K records from LMDB. */
static void measure_floor(ctxmem_store *s, char qtext[][256], size_t n, double *out)
{
    FaissIndex *idx = floor_index(s, n);
    float q[EMBED_DEFAULT_DIM], dist[K];
    idx_t labels[K];
    unsigned char kb[12];
    MDB_val k = {12, kb}, v;

    for (int i = 0; i < QUERIES; i++) {
        const char *text = qtext[i];
        size_t len = strlen(text);
        MDB_txn *txn = NULL;
        double t0;
        embed_builtin(NULL, &text, &len, 1, q);
        t0 = now_us();
        faiss_Index_search(idx, 1, q, K, dist, labels);
        mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
        for (int j = 0; j < K && labels[j] >= 0; j++) {
            store_put_be32(kb, 1);
            store_put_be64(kb + 4, (uint64_t)labels[j]);
            k.mv_size = 12, k.mv_data = kb;
            if (mdb_get(txn, s->dbi[DB_SEQUENCE], &k, &v) == 0 &&
                mdb_get(txn, s->dbi[DB_SEGMENTS], &v, &v) != 0)
                exit(1);
        }
        mdb_txn_abort(txn);
        out[i] = now_us() - t0;
    }
    faiss_Index_free(idx);
}

static void run(size_t n)
{
    static const ctxmem_scope scope = {"bench", NULL, NULL};
    char dir[] = "/tmp/ctxmem-latency-XXXXXX", cmd[128], qtext[QUERIES][256];
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    double *t = malloc(QUERIES * sizeof(double)), *f = malloc(QUERIES * sizeof(double));
    double t0, fill_s, first_us, p50, p99, f50, f99;
    ctxmem_store *s = NULL;
    ctxmem_hit *h = NULL;
    size_t nh;

    o.tokenizer = "approx";
    if (!mkdtemp(dir) || ctxmem_store_open(&s, dir, &o) != CTXMEM_OK)
        exit(1);
    t0 = now_us();
    fill(s, &scope, n);
    fill_s = (now_us() - t0) / 1e6;
    for (int q = 0; q < QUERIES; q++)
        sentence(qtext[q], sizeof(qtext[q]), 6 + (int)(urand() * 6));

    /* The first search builds (or trains) the scope's vector index. */
    t0 = now_us();
    ctxmem_search(&h, &nh, s, &scope, 1, qtext[0], strlen(qtext[0]), NULL);
    first_us = now_us() - t0;
    ctxmem_hits_free(h);
    for (int q = 0; q < QUERIES; q++) {
        ctxmem_search_opts so = CTXMEM_SEARCH_OPTS_INIT;
        so.signals = getenv("CTXMEM_SIGNALS") ? (unsigned)atoi(getenv("CTXMEM_SIGNALS")) : 0;
        t0 = now_us();
        if (ctxmem_search(&h, &nh, s, &scope, 1, qtext[q], strlen(qtext[q]), &so) != 0)
            exit(1);
        t[q] = now_us() - t0;
        ctxmem_hits_free(h);
    }
    percentiles(t, QUERIES, &p50, &p99);
    measure_floor(s, qtext, n, f);
    percentiles(f, QUERIES, &f50, &f99);
    printf("%8zu %10.1f %12.1f %10.3f %10.3f %10.3f %10.3f\n", n, fill_s, first_us / 1e3,
           p50 / 1e3, p99 / 1e3, f50 / 1e3, f99 / 1e3);
    ctxmem_store_close(s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(t);
    free(f);
}

int main(int argc, char **argv)
{
    make_vocab();
    printf("search latency, one scope, %d queries, k = %d, single thread (ms)\n", QUERIES, K);
    printf("%8s %10s %12s %10s %10s %10s %10s\n", "segments", "ingest_s", "first_ms", "p50",
           "p99", "floor_p50", "floor_p99");
    if (argc > 1)
        for (int i = 1; i < argc; i++)
            run((size_t)atol(argv[i]));
    else
        run(10000), run(100000);
    return 0;
}
