/*
 * How exact the engine's vector index is: recall@k of the scope's cached
 * FAISS index (DIR/vindex/<scope>.faiss, which keeps the engine's nprobe)
 * against an exhaustive inner-product search over the vectors stored in
 * LMDB, for the scale benchmark's queries.
 *
 * usage: bench_vrecall N DIR [--queries Q]
 *
 * DIR is a store built by `bench_scale build N DIR`. For each of Q queries
 * (the same generator and seed as bench_scale), the exact top k is computed
 * by brute force, and recall@k is the share of it that the index returns,
 * for k = 20 (a search's hits) and k = 100 (its default candidate depth).
 * Prints a line of text and one "RESULT {json}" line.
 */
#include "ctxmem.h"
#include "index/index_internal.h"
#include "textgen.h"

#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_io_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define QUERY_CAP 256
#define K_MAX 100

static const ctxmem_scope scope = {"bench", "agent", "s1"};

static void die(const char *what)
{
    fprintf(stderr, "bench_vrecall: %s\n", what);
    exit(1);
}

/* Every vector of the scope, in sequence order, with its sequence number. */
static size_t read_vectors(ctxmem_store *s, uint32_t sid, float **x, uint64_t **seq)
{
    unsigned char kb[12];
    MDB_val k = {12, kb}, v;
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    size_t n = 0, cap = 1024, dim = EMBED_DEFAULT_DIM;
    int rc;

    *x = malloc(cap * dim * sizeof(float)), *seq = malloc(cap * sizeof(uint64_t));
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) ||
        mdb_cursor_open(txn, s->dbi[DB_VECTORS], &c))
        die("cannot read the vectors");
    store_put_be32(kb, sid);
    store_put_be64(kb + 4, 1);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 12 || store_get_be32(k.mv_data) != sid)
            break;
        if (v.mv_size != dim * sizeof(float))
            die("a vector of the wrong size");
        if (n == cap) {
            cap *= 2;
            *x = realloc(*x, cap * dim * sizeof(float));
            *seq = realloc(*seq, cap * sizeof(uint64_t));
        }
        memcpy(*x + n * dim, v.mv_data, v.mv_size);
        (*seq)[n++] = store_get_be64((unsigned char *)k.mv_data + 4);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return n;
}

/* The exact top k by inner product (ties: lower sequence number first). */
static void exact_top(const float *x, const uint64_t *seq, size_t n, const float *q, size_t k,
                      uint64_t *out)
{
    float best[K_MAX];
    size_t have = 0;

    for (size_t i = 0; i < n; i++) {
        float d = 0;
        size_t j;
        for (size_t t = 0; t < EMBED_DEFAULT_DIM; t++)
            d += x[i * EMBED_DEFAULT_DIM + t] * q[t];
        if (have == k && d <= best[k - 1])
            continue;
        j = have < k ? have++ : k - 1;
        for (; j > 0 && best[j - 1] < d; j--)
            best[j] = best[j - 1], out[j] = out[j - 1];
        best[j] = d, out[j] = seq[i];
    }
}

static double overlap(const uint64_t *want, const idx_t *got, size_t k)
{
    size_t hit = 0;

    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            if (got[j] >= 0 && (uint64_t)got[j] == want[i]) {
                hit++;
                break;
            }
    return (double)hit / (double)k;
}

int main(int argc, char **argv)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = NULL;
    FaissIndex *idx = NULL;
    FaissIndexIVF *ivf;
    char path[600], q[QUERY_CAP], kind[64] = "Flat";
    size_t nq = 200, n;
    double r20 = 0, r100 = 0;
    uint64_t *seq, want[K_MAX];
    float *x, v[EMBED_DEFAULT_DIM], dist[K_MAX];
    idx_t got[K_MAX];
    uint32_t sid;
    struct stat st;
    double file_bytes = 0;
    textgen g;

    if (argc < 3)
        die("usage: bench_vrecall N DIR [--queries Q]");
    if (argc >= 5 && strcmp(argv[3], "--queries") == 0)
        nq = (size_t)atol(argv[4]);
    o.tokenizer = "o200k_base";
    o.flags = CTXMEM_OPEN_READONLY;
    if (ctxmem_store_open(&s, argv[2], &o) != CTXMEM_OK ||
        ctxmem_store_scope_id(s, &scope, &sid) != CTXMEM_OK)
        die(ctxmem_error_last()->message);
    snprintf(path, sizeof(path), "%s/vindex/%u.faiss", argv[2], sid);
    if (faiss_read_index_fname(path, 0, &idx) != 0)
        die("cannot read the index file; run bench_scale measure first");
    if ((ivf = faiss_IndexIVF_cast(idx)) != NULL)
        snprintf(kind, sizeof(kind), "IVF%zu, nprobe %zu", faiss_IndexIVF_nlist(ivf),
                 faiss_IndexIVF_nprobe(ivf));
    n = read_vectors(s, sid, &x, &seq);
    if (stat(path, &st) == 0 && n > 0)
        file_bytes = (double)st.st_size / (double)n;
    textgen_init(&g, TEXTGEN_QUERY_SEED);
    for (size_t i = 0; i < nq; i++) {
        const char *text = q;
        size_t len = textgen_query(&g, q, QUERY_CAP);
        embed_builtin(NULL, &text, &len, 1, v);
        embed_normalize(v, EMBED_DEFAULT_DIM);
        exact_top(x, seq, n, v, K_MAX, want);
        faiss_Index_search(idx, 1, v, K_MAX, dist, got);
        r100 += overlap(want, got, K_MAX);
        faiss_Index_search(idx, 1, v, 20, dist, got);
        r20 += overlap(want, got, 20);
    }
    printf("%8s vectors %zu, index %s, %.0f bytes per vector in its file, %zu queries: "
           "recall@20 %.4f, recall@100 %.4f\n", argv[1], n, kind, file_bytes, nq,
           r20 / (double)nq, r100 / (double)nq);
    printf("RESULT {\"bench\":\"vector_recall\",\"segments\":%s,\"vectors\":%zu,"
           "\"index\":\"%s\",\"file_bytes_per_vector\":%.1f,\"queries\":%zu,"
           "\"recall_at_20\":%.4f,\"recall_at_100\":%.4f}\n",
           argv[1], n, kind, file_bytes, nq, r20 / (double)nq, r100 / (double)nq);
    faiss_Index_free(idx);
    ctxmem_store_close(s);
    free(x);
    free(seq);
    return 0;
}
