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

/*
 * Ranking walks the query terms' postings document at a time with MaxScore
 * pruning: the terms are ordered by the most they can add to a score, and
 * once the k-th best score exceeds what the weakest terms could add together,
 * those terms stop producing candidates; they are only looked up, by a seek
 * to the candidate's sequence number, for documents the other terms found,
 * and only while that can still lift the document into the k best. Frequent
 * terms, whose postings are long and weigh little, are thus mostly skipped
 * page by page instead of read. The result is exact: a document's terms are
 * summed in one order however it was found, and a document is only passed
 * over when its upper bound is below the k-th score.
 */
typedef struct term_walk {
    MDB_cursor *c;
    unsigned char key[12];
    const unsigned char *page; /* the current page of postings (MDB_GET_MULTIPLE) */
    size_t n, i;               /* postings on it; the current one */
    uint64_t seq;              /* the current posting's sequence number; UINT64_MAX at the end */
    float idf;
    double bound; /* the most this term can add to a score */
} term_walk;

#define WALK_END UINT64_MAX

static uint64_t posting_seq(const term_walk *w, size_t i)
{
    return store_get_be64(w->page + i * POSTING_SIZE);
}

static void walk_load(term_walk *w, const MDB_val *v)
{
    w->page = v->mv_data, w->n = v->mv_size / POSTING_SIZE, w->i = 0;
    w->seq = w->n ? posting_seq(w, 0) : WALK_END;
}

/*
 * Read a page of postings. `v` holds the value the cursor is on: for a term
 * with a single posting LMDB keeps no duplicate page, and MDB_GET_MULTIPLE
 * succeeds without touching `v`.
 */
static int walk_fetch(term_walk *w, MDB_cursor_op op, MDB_val *v)
{
    MDB_val k = {sizeof(w->key), w->key};
    int rc = mdb_cursor_get(w->c, &k, v, op);

    if (rc == MDB_NOTFOUND) {
        w->seq = WALK_END, w->n = 0;
        return CTXMEM_OK;
    }
    if (rc != 0)
        return store_lmdb_error(rc, "read postings");
    walk_load(w, v);
    return CTXMEM_OK;
}

/* Position at the term's first posting; *found is 0 when the scope lacks it. */
static int walk_open(term_walk *w, MDB_txn *txn, MDB_dbi dbi, uint32_t scope, uint64_t hash,
                     int *found)
{
    MDB_val k = {sizeof(w->key), w->key}, v;
    int rc;

    *found = 0;
    posting_key(w->key, scope, hash);
    if ((rc = mdb_cursor_open(txn, dbi, &w->c)) != 0)
        return store_lmdb_error(rc, "open postings");
    rc = mdb_cursor_get(w->c, &k, &v, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return CTXMEM_OK;
    if (rc != 0)
        return store_lmdb_error(rc, "read postings");
    *found = 1;
    return walk_fetch(w, MDB_GET_MULTIPLE, &v);
}

static int walk_next(term_walk *w)
{
    MDB_val v = {0, NULL};

    if (++w->i < w->n) {
        w->seq = posting_seq(w, w->i);
        return CTXMEM_OK;
    }
    return walk_fetch(w, MDB_NEXT_MULTIPLE, &v);
}

/* First posting at or after `target` in [lo, n) of the current page. */
static void walk_find(term_walk *w, size_t lo, uint64_t target)
{
    size_t hi = w->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (posting_seq(w, mid) < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    w->i = lo;
    w->seq = lo < w->n ? posting_seq(w, lo) : WALK_END;
}

/* Move forward to the first posting at or after `target`, skipping pages. */
static int walk_seek(term_walk *w, uint64_t target)
{
    unsigned char vb[POSTING_SIZE] = {0};
    MDB_val k = {sizeof(w->key), w->key}, v = {sizeof(vb), vb};
    int rc;

    if (w->seq >= target)
        return CTXMEM_OK;
    if (posting_seq(w, w->n - 1) >= target) {
        walk_find(w, w->i + 1, target);
        return CTXMEM_OK;
    }
    store_put_be64(vb, target);
    rc = mdb_cursor_get(w->c, &k, &v, MDB_GET_BOTH_RANGE);
    if (rc == MDB_NOTFOUND) {
        w->seq = WALK_END, w->n = 0;
        return CTXMEM_OK;
    }
    if (rc != 0)
        return store_lmdb_error(rc, "seek postings");
    if ((rc = walk_fetch(w, MDB_GET_MULTIPLE, &v)) != CTXMEM_OK || w->seq == WALK_END)
        return rc;
    walk_find(w, 0, target);
    return CTXMEM_OK;
}

static int term_df(MDB_cursor *c, uint32_t scope, uint64_t hash, size_t *df)
{
    unsigned char kb[12];
    MDB_val k = {sizeof(kb), kb}, v;
    int rc;

    *df = 0;
    posting_key(kb, scope, hash);
    rc = mdb_cursor_get(c, &k, &v, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return CTXMEM_OK;
    if (rc == 0)
        rc = mdb_cursor_count(c, df);
    return rc ? store_lmdb_error(rc, "count postings") : CTXMEM_OK;
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

/* What one search needs across scopes. */
typedef struct bm25_run {
    const lex_doc *q;
    float *idf; /* per query term; 0 for a term no scope holds */
    float k1, b, avgdl;
    rank_cand *heap; /* the best `depth` so far */
    size_t n_heap, depth;
    float *contrib; /* per walk, for the document being scored */
} bm25_run;

/* Inverse document frequencies over the union of the scopes. */
static int query_idf(MDB_cursor *c, const rank_scope *scopes, size_t n, double docs,
                     bm25_run *r)
{
    for (size_t t = 0; t < r->q->n; t++) {
        double df = 0;
        for (size_t i = 0; i < n; i++) {
            size_t d;
            int rc = term_df(c, scopes[i].id, r->q->terms[t].hash, &d);
            if (rc != CTXMEM_OK)
                return rc;
            df += (double)d;
        }
        r->idf[t] = df > 0 ? (float)log(1.0 + (docs - df + 0.5) / (df + 0.5)) : 0;
    }
    return CTXMEM_OK;
}

static float bm25_term(const bm25_run *r, float idf, const unsigned char *p)
{
    uint32_t tf = ((uint32_t)p[8] << 8) | p[9], len = ((uint32_t)p[10] << 8) | p[11];
    float norm = r->k1 * (1.0f - r->b + r->b * (float)len / r->avgdl);

    return idf * (float)tf * (r->k1 + 1.0f) / ((float)tf + norm);
}

/* The k-th best score once `depth` documents are held; below it nothing enters. */
static double heap_floor(const bm25_run *r)
{
    return r->n_heap == r->depth ? (double)r->heap[0].score : 0.0;
}

static int cmp_bound(const void *a, const void *b)
{
    const term_walk *x = a, *y = b;
    return x->bound < y->bound ? -1 : x->bound > y->bound;
}

/*
 * Score document `d`: the essential terms sitting on it, then the others by
 * seek, strongest first, while the bound still reaches the k-th score.
 * `below[j]` is the sum of the bounds of walks 0..j-1.
 */
static int score_doc(bm25_run *r, term_walk *w, size_t m, size_t e, const double *below,
                     uint64_t d, uint32_t scope)
{
    double have = 0, floor = heap_floor(r);
    float score = 0;
    int rc;

    memset(r->contrib, 0, m * sizeof(float));
    for (size_t j = e; j < m; j++)
        if (w[j].seq == d) {
            float c = bm25_term(r, w[j].idf, w[j].page + w[j].i * POSTING_SIZE);
            r->contrib[j] = c, have += c;
            if ((rc = walk_next(&w[j])) != CTXMEM_OK)
                return rc;
        }
    for (size_t j = e; j-- > 0;) {
        if (have + below[j + 1] < floor)
            return CTXMEM_OK;
        if ((rc = walk_seek(&w[j], d)) != CTXMEM_OK)
            return rc;
        if (w[j].seq == d) {
            float c = bm25_term(r, w[j].idf, w[j].page + w[j].i * POSTING_SIZE);
            r->contrib[j] = c, have += c;
        }
    }
    for (size_t j = 0; j < m; j++)
        score += r->contrib[j];
    if (score > 0) {
        rank_cand c = {scope, d, score};
        rank_heap_push(r->heap, &r->n_heap, r->depth, &c);
    }
    return CTXMEM_OK;
}

/* Walks 0..e-1 cannot make a document reach the k-th score on their own. */
static size_t essential_from(const double *below, size_t m, size_t e, double floor)
{
    while (e < m && below[e + 1] < floor)
        e++;
    return e;
}

static int walk_scope(bm25_run *r, term_walk *w, size_t m, const rank_scope *sc)
{
    double *below = malloc((m + 1) * sizeof(*below));
    size_t e = 0;
    int rc = CTXMEM_OK;

    if (!below)
        return err_set(CTXMEM_ENOMEM, "index: out of memory ranking");
    qsort(w, m, sizeof(*w), cmp_bound);
    below[0] = 0;
    for (size_t j = 0; j < m; j++)
        below[j + 1] = below[j] + w[j].bound;
    for (;;) {
        uint64_t d = WALK_END;
        e = essential_from(below, m, e, heap_floor(r));
        for (size_t j = e; j < m; j++)
            d = w[j].seq < d ? w[j].seq : d;
        if (d == WALK_END || d > sc->max_seq)
            break;
        if ((rc = score_doc(r, w, m, e, below, d, sc->id)) != CTXMEM_OK)
            break;
    }
    free(below);
    return rc;
}

/* Open a walk for every query term the scope holds, then rank its documents. */
static int rank_scope_terms(ctxmem_store *s, MDB_txn *txn, bm25_run *r, const rank_scope *sc)
{
    term_walk *w = calloc(r->q->n ? r->q->n : 1, sizeof(*w));
    size_t m = 0;
    int rc = CTXMEM_OK;

    if (!w)
        return err_set(CTXMEM_ENOMEM, "index: out of memory ranking");
    for (size_t t = 0; rc == CTXMEM_OK && t < r->q->n; t++) {
        int found = 0;
        if (r->idf[t] <= 0)
            continue;
        rc = walk_open(&w[m], txn, s->dbi[DB_POSTINGS], sc->id, r->q->terms[t].hash, &found);
        if (rc == CTXMEM_OK && found && w[m].seq != WALK_END) {
            w[m].idf = r->idf[t];
            /* tf/(tf+norm) < 1; the margin covers float rounding of the sum */
            w[m].bound = (double)r->idf[t] * (r->k1 + 1.0) * (1.0 + 1e-5);
            m++;
        } else if (w[m].c) { /* only walks 0..m-1 keep a cursor */
            mdb_cursor_close(w[m].c);
            w[m].c = NULL;
        }
    }
    if (rc == CTXMEM_OK && m)
        rc = walk_scope(r, w, m, sc);
    for (size_t j = 0; j < m; j++)
        mdb_cursor_close(w[j].c);
    free(w);
    return rc;
}

int lex_search(ctxmem_store *s, MDB_txn *txn, const rank_scope *scopes, size_t n_scopes,
               const lex_doc *query, const lex_params *p, size_t depth, rank_cand **out,
               size_t *n_out)
{
    bm25_run r = {query, NULL, p->k1, p->b, 1, NULL, 0, depth ? depth : 1, NULL};
    size_t nt = query->n ? query->n : 1;
    MDB_cursor *c = NULL;
    double docs = 0, avgdl = 1;
    int rc, mrc;

    *out = NULL, *n_out = 0;
    r.idf = calloc(nt, sizeof(float)), r.contrib = calloc(nt, sizeof(float));
    r.heap = malloc(r.depth * sizeof(*r.heap));
    if (!r.idf || !r.contrib || !r.heap)
        rc = err_set(CTXMEM_ENOMEM, "index: out of memory ranking");
    else
        rc = union_stats(s, txn, scopes, n_scopes, &docs, &avgdl);
    r.avgdl = (float)avgdl;
    if (rc == CTXMEM_OK && (mrc = mdb_cursor_open(txn, s->dbi[DB_POSTINGS], &c)) != 0)
        rc = store_lmdb_error(mrc, "open postings");
    if (rc == CTXMEM_OK && docs > 0)
        rc = query_idf(c, scopes, n_scopes, docs, &r);
    if (c)
        mdb_cursor_close(c);
    for (size_t i = 0; rc == CTXMEM_OK && docs > 0 && depth && i < n_scopes; i++)
        rc = rank_scope_terms(s, txn, &r, &scopes[i]);
    free(r.idf);
    free(r.contrib);
    if (rc != CTXMEM_OK) {
        free(r.heap);
        return rc;
    }
    rank_heap_sort(r.heap, r.n_heap);
    *out = r.heap, *n_out = r.n_heap;
    return CTXMEM_OK;
}
