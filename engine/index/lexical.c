/*
 * The lexical index: BM25 postings in LMDB.
 *
 * DB_POSTINGS is a DUPSORT|DUPFIXED database keyed by (u32 BE scope id, u64
 * BE term hash) whose values are fixed 12-byte postings: u64 BE sequence
 * number, u16 BE term frequency, u16 BE document length (both capped at
 * 65535). Keeping the document length in the posting lets a search score a
 * posting without a second lookup; the values of a key sort by sequence
 * number, and a term's document frequency is its number of values.
 * Per-scope document counts and length totals live in DB_INDEX_STATE.
 */
#include "index_internal.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define POSTING_SIZE 12

static void posting_key(unsigned char *k, uint32_t scope, uint64_t hash)
{
    store_put_be32(k, scope);
    store_put_be64(k + 4, hash);
}

static void posting_val(unsigned char *v, uint64_t seq, uint32_t tf, uint32_t len)
{
    tf = tf > 0xFFFF ? 0xFFFF : tf;
    len = len > 0xFFFF ? 0xFFFF : len;
    store_put_be64(v, seq);
    v[8] = (unsigned char)(tf >> 8), v[9] = (unsigned char)tf;
    v[10] = (unsigned char)(len >> 8), v[11] = (unsigned char)len;
}

int lex_put(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq, const lex_doc *d)
{
    unsigned char kb[12], vb[POSTING_SIZE];
    MDB_val k = {sizeof(kb), kb}, v = {sizeof(vb), vb};

    for (size_t i = 0; i < d->n; i++) {
        int rc;
        posting_key(kb, scope, d->terms[i].hash);
        posting_val(vb, seq, d->terms[i].tf, d->len);
        rc = mdb_put(txn, s->dbi[DB_POSTINGS], &k, &v, 0);
        if (rc != 0)
            return store_lmdb_error(rc, "write posting");
    }
    return CTXMEM_OK;
}

int lex_del(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq, const lex_doc *d)
{
    unsigned char kb[12], vb[POSTING_SIZE];
    MDB_val k = {sizeof(kb), kb}, v = {sizeof(vb), vb};

    for (size_t i = 0; i < d->n; i++) {
        int rc;
        posting_key(kb, scope, d->terms[i].hash);
        posting_val(vb, seq, d->terms[i].tf, d->len);
        rc = mdb_del(txn, s->dbi[DB_POSTINGS], &k, &v);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return store_lmdb_error(rc, "delete posting");
    }
    return CTXMEM_OK;
}

int index_state_read(ctxmem_store *s, MDB_txn *txn, uint32_t scope, index_scope_state *st)
{
    unsigned char kb[4];
    MDB_val k = {4, kb}, v;
    int rc;

    memset(st, 0, sizeof(*st));
    store_put_be32(kb, scope);
    rc = mdb_get(txn, s->dbi[DB_INDEX_STATE], &k, &v);
    if (rc == MDB_NOTFOUND)
        return CTXMEM_OK;
    if (rc != 0)
        return store_lmdb_error(rc, "read index state");
    if (v.mv_size != 24)
        return err_set(CTXMEM_ECORRUPT, "index: scope %u state of %zu bytes", scope, v.mv_size);
    st->docs = store_get_be64(v.mv_data);
    st->total_len = store_get_be64((unsigned char *)v.mv_data + 8);
    st->vgen = store_get_be64((unsigned char *)v.mv_data + 16);
    return CTXMEM_OK;
}

int index_state_write(ctxmem_store *s, MDB_txn *txn, uint32_t scope, const index_scope_state *st)
{
    unsigned char kb[4], vb[24];
    MDB_val k = {4, kb}, v = {24, vb};
    int rc;

    store_put_be32(kb, scope);
    store_put_be64(vb, st->docs);
    store_put_be64(vb + 8, st->total_len);
    store_put_be64(vb + 16, st->vgen);
    rc = mdb_put(txn, s->dbi[DB_INDEX_STATE], &k, &v, 0);
    return rc ? store_lmdb_error(rc, "write index state") : CTXMEM_OK;
}

/* Postings of one term in one scope, read page by page (DUPFIXED). */
typedef void (*posting_fn)(void *ctx, uint64_t seq, uint32_t tf, uint32_t len);

static int postings_each(MDB_cursor *c, uint32_t scope, uint64_t hash, posting_fn fn, void *ctx)
{
    unsigned char kb[12];
    MDB_val k = {sizeof(kb), kb}, v;
    int rc;

    posting_key(kb, scope, hash);
    rc = mdb_cursor_get(c, &k, &v, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return CTXMEM_OK;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_GET_MULTIPLE); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_MULTIPLE)) {
        const unsigned char *p = v.mv_data;
        for (size_t i = 0; i + POSTING_SIZE <= v.mv_size; i += POSTING_SIZE)
            fn(ctx, store_get_be64(p + i), ((uint32_t)p[i + 8] << 8) | p[i + 9],
               ((uint32_t)p[i + 10] << 8) | p[i + 11]);
    }
    return rc == MDB_NOTFOUND ? CTXMEM_OK : store_lmdb_error(rc, "read postings");
}

static size_t term_df(MDB_cursor *c, uint32_t scope, uint64_t hash)
{
    unsigned char kb[12];
    MDB_val k = {sizeof(kb), kb}, v;
    size_t n = 0;

    posting_key(kb, scope, hash);
    if (mdb_cursor_get(c, &k, &v, MDB_SET) != 0 || mdb_cursor_count(c, &n) != 0)
        return 0;
    return (size_t)n;
}

struct bm25_acc {
    float *acc;       /* per sequence number of the current scope */
    uint64_t max_seq;
    float idf, k1, b, avgdl;
};

static void bm25_add(void *ctx, uint64_t seq, uint32_t tf, uint32_t len)
{
    struct bm25_acc *a = ctx;
    float norm = a->k1 * (1.0f - a->b + a->b * (float)len / a->avgdl);

    if (seq <= a->max_seq)
        a->acc[seq] += a->idf * (float)tf * (a->k1 + 1.0f) / ((float)tf + norm);
}

/* Corpus statistics of the union of the scopes. */
static int union_stats(ctxmem_store *s, MDB_txn *txn, const rank_scope *scopes, size_t n,
                       double *docs, double *avgdl)
{
    index_scope_state st;
    double len = 0;
    int rc;

    *docs = 0;
    for (size_t i = 0; i < n; i++) {
        rc = index_state_read(s, txn, scopes[i].id, &st);
        if (rc != CTXMEM_OK)
            return rc;
        *docs += (double)st.docs;
        len += (double)st.total_len;
    }
    *avgdl = *docs > 0 && len > 0 ? len / *docs : 1.0;
    return CTXMEM_OK;
}

/* Score every query term into the per-scope accumulators. */
static int score_terms(ctxmem_store *s, MDB_cursor *c, const rank_scope *scopes, size_t n,
                       const lex_doc *q, struct bm25_acc *a, float **accs, double docs)
{
    int rc = CTXMEM_OK;

    for (size_t t = 0; rc == CTXMEM_OK && t < q->n; t++) {
        double df = 0;
        for (size_t i = 0; i < n; i++)
            df += (double)term_df(c, scopes[i].id, q->terms[t].hash);
        if (df == 0)
            continue;
        a->idf = (float)log(1.0 + (docs - df + 0.5) / (df + 0.5));
        for (size_t i = 0; rc == CTXMEM_OK && i < n; i++) {
            a->acc = accs[i], a->max_seq = scopes[i].max_seq;
            rc = postings_each(c, scopes[i].id, q->terms[t].hash, bm25_add, a);
        }
    }
    (void)s;
    return rc;
}

static int collect_top(const rank_scope *scopes, size_t n, float **accs, size_t depth,
                       rank_cand **out, size_t *n_out)
{
    rank_cand *heap = malloc((depth ? depth : 1) * sizeof(*heap));
    size_t h = 0;

    if (!heap)
        return err_set(CTXMEM_ENOMEM, "index: out of memory ranking");
    for (size_t i = 0; i < n; i++)
        for (uint64_t seq = 1; seq <= scopes[i].max_seq; seq++)
            if (accs[i][seq] > 0) {
                rank_cand c = {scopes[i].id, seq, accs[i][seq]};
                rank_heap_push(heap, &h, depth, &c);
            }
    rank_heap_sort(heap, h);
    *out = heap, *n_out = h;
    return CTXMEM_OK;
}

int lex_search(ctxmem_store *s, MDB_txn *txn, const rank_scope *scopes, size_t n_scopes,
               const lex_doc *query, const lex_params *p, size_t depth, rank_cand **out,
               size_t *n_out)
{
    struct bm25_acc a = {NULL, 0, 0, p->k1, p->b, 1};
    float **accs = calloc(n_scopes ? n_scopes : 1, sizeof(*accs));
    MDB_cursor *c = NULL;
    double docs, avgdl;
    int rc, mrc;

    *out = NULL, *n_out = 0;
    if (!accs)
        return err_set(CTXMEM_ENOMEM, "index: out of memory ranking");
    rc = union_stats(s, txn, scopes, n_scopes, &docs, &avgdl);
    a.avgdl = (float)avgdl;
    for (size_t i = 0; rc == CTXMEM_OK && i < n_scopes; i++)
        if (!(accs[i] = calloc(scopes[i].max_seq + 1, sizeof(float))))
            rc = err_set(CTXMEM_ENOMEM, "index: out of memory ranking");
    if (rc == CTXMEM_OK && (mrc = mdb_cursor_open(txn, s->dbi[DB_POSTINGS], &c)) != 0)
        rc = store_lmdb_error(mrc, "open postings");
    if (rc == CTXMEM_OK && docs > 0)
        rc = score_terms(s, c, scopes, n_scopes, query, &a, accs, docs);
    if (rc == CTXMEM_OK)
        rc = collect_top(scopes, n_scopes, accs, depth, out, n_out);
    if (c)
        mdb_cursor_close(c);
    for (size_t i = 0; i < n_scopes; i++)
        free(accs[i]);
    free(accs);
    return rc;
}
