/*
 * ctxmem_search: scope resolution, the two rankings, reciprocal-rank fusion,
 * filters and neighbour expansion.
 *
 * Isolation: scopes are resolved from the caller's patterns by an exact match
 * of the user name (a prefix scan over "user NUL" in DB_SCOPES, where names
 * cannot hold NUL); every candidate afterwards carries a scope id from that
 * list, and every index read is keyed by it.
 */
#include "index_internal.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_K 20
#define DEFAULT_DEPTH 100
#define MAX_K ((size_t)1 << 20)
#define MAX_DEPTH ((size_t)1 << 22) /* also keeps depth * sizeof(...) far from overflow */
#define DEFAULT_W_VECTOR 0.3f
#define DEFAULT_W_LEXICAL 1.0f
#define DEFAULT_W_RECENCY 0.001f
#define DEFAULT_RRF_K 20
#define DEFAULT_NEIGHBOURS 1
#define DEFAULT_NEIGHBOUR_W 0.6f
#define DEFAULT_BM25_K1 1.2f
#define DEFAULT_BM25_B 0.75f
#define MAX_SCOPES 4096

/* ---- bounded heap ---- */

static int better(const rank_cand *a, const rank_cand *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->scope != b->scope)
        return a->scope > b->scope;
    return a->seq > b->seq;
}

static void sift_down(rank_cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        rank_cand t;
        if (l < n && better(&h[m], &h[l]))
            m = l;
        if (r < n && better(&h[m], &h[r]))
            m = r;
        if (m == i)
            return;
        t = h[i], h[i] = h[m], h[m] = t;
        i = m;
    }
}

void rank_heap_push(rank_cand *heap, size_t *n, size_t cap, const rank_cand *c)
{
    size_t i;

    if (cap == 0)
        return;
    if (*n == cap) {
        if (!better(c, &heap[0]))
            return;
        heap[0] = *c;
        sift_down(heap, *n, 0);
        return;
    }
    i = (*n)++;
    heap[i] = *c;
    while (i > 0 && better(&heap[(i - 1) / 2], &heap[i])) {
        rank_cand t = heap[i];
        heap[i] = heap[(i - 1) / 2], heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static int cmp_best_first(const void *a, const void *b)
{
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

void rank_heap_sort(rank_cand *heap, size_t n)
{
    if (n > 1)
        qsort(heap, n, sizeof(*heap), cmp_best_first);
}

/* The order of rank_heap_sort for a list that is already nearly in it. */
static void rank_sort_ordered(rank_cand *c, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        rank_cand t = c[i];
        size_t j = i;
        for (; j > 0 && better(&t, &c[j - 1]); j--)
            c[j] = c[j - 1];
        c[j] = t;
    }
}

/* ---- options ---- */

static float pick(float v, float dflt)
{
    return v < 0 ? 0 : v > 0 ? v : dflt;
}

static int resolve_opts(const ctxmem_search_opts *in, ctxmem_search_opts *o)
{
    ctxmem_search_opts d = CTXMEM_SEARCH_OPTS_INIT;

    *o = in ? *in : d;
    if (o->version != CTXMEM_SEARCH_OPTS_VERSION)
        return err_set(CTXMEM_EINVAL, "search: options version %u, this library knows %u",
                       o->version, CTXMEM_SEARCH_OPTS_VERSION);
    if (o->signals & ~(unsigned)CTXMEM_SIGNAL_ALL)
        return err_set(CTXMEM_EINVAL, "search: unknown signals 0x%x", o->signals);
    if (o->k > MAX_K || o->depth > MAX_DEPTH)
        return err_set(CTXMEM_EINVAL, "search: k %zu or depth %zu over the maximum (%zu, %zu)",
                       o->k, o->depth, MAX_K, MAX_DEPTH);
    o->k = o->k ? o->k : DEFAULT_K;
    o->signals = o->signals ? o->signals : CTXMEM_SIGNAL_ALL;
    o->depth = o->depth ? o->depth : (o->k * 4 > DEFAULT_DEPTH ? o->k * 4 : DEFAULT_DEPTH);
    o->weight_vector = pick(o->weight_vector, DEFAULT_W_VECTOR);
    o->weight_lexical = pick(o->weight_lexical, DEFAULT_W_LEXICAL);
    o->weight_recency = pick(o->weight_recency, DEFAULT_W_RECENCY);
    o->rrf_k = o->rrf_k ? o->rrf_k : DEFAULT_RRF_K;
    o->neighbours = o->neighbours < 0 ? 0 : o->neighbours ? o->neighbours : DEFAULT_NEIGHBOURS;
    o->neighbour_weight = pick(o->neighbour_weight, DEFAULT_NEIGHBOUR_W);
    o->bm25_k1 = o->bm25_k1 > 0 ? o->bm25_k1 : DEFAULT_BM25_K1;
    o->bm25_b = o->bm25_b > 0 ? (o->bm25_b > 1 ? 1 : o->bm25_b) : DEFAULT_BM25_B;
    return CTXMEM_OK;
}

/* ---- scopes ---- */

/* Does the part of key (user NUL agent NUL session NUL) match a pattern? */
static int part_matches(const char *pattern, const char *part)
{
    return !pattern || strcmp(pattern, part) == 0;
}

static int add_scope(ctxmem_store *s, MDB_txn *txn, uint32_t id, rank_scope *out, size_t *n)
{
    unsigned char kb[4];
    MDB_val k = {4, kb}, v;
    int rc;

    for (size_t i = 0; i < *n; i++)
        if (out[i].id == id)
            return CTXMEM_OK;
    if (*n == MAX_SCOPES)
        return err_set(CTXMEM_EFULL, "search: more than %d scopes match", MAX_SCOPES);
    store_put_be32(kb, id);
    rc = mdb_get(txn, s->dbi[DB_SCOPE_INFO], &k, &v);
    if (rc != 0 || v.mv_size < 8)
        return rc ? store_lmdb_error(rc, "read scope record")
                  : err_set(CTXMEM_ECORRUPT, "search: scope %u record", id);
    out[*n].id = id;
    out[(*n)++].max_seq = store_get_be64(v.mv_data) - 1;
    return CTXMEM_OK;
}

static int match_pattern(ctxmem_store *s, MDB_txn *txn, MDB_cursor *c, const ctxmem_scope *p,
                         rank_scope *out, size_t *n)
{
    size_t ulen = strlen(p->user) + 1;
    MDB_val k = {ulen, (void *)p->user}, v;
    int rc = CTXMEM_OK, mrc;

    for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == CTXMEM_OK && mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *key = k.mv_data, *agent, *session;
        if (k.mv_size < ulen + 2 || memcmp(key, p->user, ulen) != 0 || key[k.mv_size - 1])
            break;
        agent = key + ulen;
        session = agent + strlen(agent) + 1;
        if (session >= key + k.mv_size || v.mv_size != 4)
            return err_set(CTXMEM_ECORRUPT, "search: malformed scope key");
        if (part_matches(p->agent, agent) && part_matches(p->session, session))
            rc = add_scope(s, txn, store_get_be32(v.mv_data), out, n);
    }
    if (rc == CTXMEM_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = store_lmdb_error(mrc, "read scopes");
    return rc;
}

static int resolve_scopes(ctxmem_store *s, MDB_txn *txn, const ctxmem_scope *pats, size_t n,
                          rank_scope *out, size_t *n_out)
{
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[DB_SCOPES], &c);

    *n_out = 0;
    if (rc != 0)
        return store_lmdb_error(rc, "open scopes");
    for (size_t i = 0; rc == CTXMEM_OK && i < n; i++)
        rc = match_pattern(s, txn, c, &pats[i], out, n_out);
    mdb_cursor_close(c);
    return rc;
}

static int check_patterns(const ctxmem_scope *pats, size_t n)
{
    char key[3 * 130];
    size_t len;

    if (!pats || n == 0)
        return err_set(CTXMEM_EINVAL, "search: no scopes given");
    for (size_t i = 0; i < n; i++)
        if (store_scope_key(&pats[i], key, sizeof(key), &len) != CTXMEM_OK)
            return err_wrap(CTXMEM_EINVAL, "search: scope %zu", i);
    return CTXMEM_OK;
}

/* ---- fusion ---- */

typedef struct fused {
    uint32_t scope;
    uint64_t seq, id, neighbour_of;
    float score, vscore, lscore, recency;
    int vrank, lrank;
    uint32_t tokens;
} fused;

typedef struct fused_list {
    fused *f;
    size_t n, cap;
} fused_list;

static int cmp_pos(const void *a, const void *b)
{
    const fused *x = a, *y = b;

    if (x->scope != y->scope)
        return x->scope < y->scope ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_score(const void *a, const void *b)
{
    const fused *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return -cmp_pos(a, b); /* ties: newer first */
}

static int list_push(fused_list *l, const fused *f)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        fused *nf = realloc(l->f, cap * sizeof(*nf));
        if (!nf)
            return err_set(CTXMEM_ENOMEM, "search: out of memory");
        l->f = nf, l->cap = cap;
    }
    l->f[l->n++] = *f;
    return CTXMEM_OK;
}

/* Slot of (scope, seq) in an open-addressing table of `mask + 1` entries of index + 1. */
static size_t pos_slot(const fused_list *l, const uint32_t *table, size_t mask, uint32_t scope,
                       uint64_t seq)
{
    size_t i = (size_t)(((seq ^ ((uint64_t)scope << 40)) * 0x9E3779B97F4A7C15ull) >> 32) & mask;

    while (table[i] && (l->f[table[i] - 1].scope != scope || l->f[table[i] - 1].seq != seq))
        i = (i + 1) & mask;
    return i;
}

/*
 * Both rankings into one list, one entry per segment, with their ranks. The
 * order of the list does not matter: select_hits sorts it by score.
 */
static int merge_ranks(const rank_cand *v, size_t nv, const rank_cand *lx, size_t nl,
                       fused_list *out)
{
    size_t cap = 16, mask;
    uint32_t *table;
    int rc = CTXMEM_OK;

    while (cap < 2 * (nv + nl))
        cap *= 2;
    mask = cap - 1;
    if (!(table = calloc(cap, sizeof(*table))))
        return err_set(CTXMEM_ENOMEM, "search: out of memory");
    for (size_t i = 0; rc == CTXMEM_OK && i < nv + nl; i++) {
        const rank_cand *c = i < nv ? &v[i] : &lx[i - nv];
        size_t slot = pos_slot(out, table, mask, c->scope, c->seq);
        fused *a;
        if (!table[slot]) {
            fused f = {c->scope, c->seq, 0, 0, 0, 0, 0, 0, 0, 0, 0};
            if ((rc = list_push(out, &f)) != CTXMEM_OK)
                break;
            table[slot] = (uint32_t)out->n;
        }
        a = &out->f[table[slot] - 1];
        if (i < nv)
            a->vrank = (int)i + 1, a->vscore = c->score;
        else
            a->lrank = (int)(i - nv) + 1, a->lscore = c->score;
    }
    free(table);
    return rc;
}

static uint64_t scope_max_seq(const rank_scope *scopes, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (scopes[i].id == id)
            return scopes[i].max_seq;
    return 0;
}

static void fuse_scores(fused_list *l, const ctxmem_search_opts *o, const rank_scope *scopes,
                        size_t n_scopes)
{
    for (size_t i = 0; i < l->n; i++) {
        fused *f = &l->f[i];
        uint64_t max = scope_max_seq(scopes, n_scopes, f->scope);
        f->recency = max > 1 ? (float)(f->seq - 1) / (float)(max - 1) : 1.0f;
        f->score = o->weight_recency * f->recency;
        if (f->vrank)
            f->score += o->weight_vector / (float)(o->rrf_k + (unsigned)f->vrank);
        if (f->lrank)
            f->score += o->weight_lexical / (float)(o->rrf_k + (unsigned)f->lrank);
    }
}

/*
 * Read a candidate's segment and apply the filters. CTXMEM_ENOTFOUND when it
 * is gone (forgotten, or newer than a cached index) or filtered out.
 */
static int load_cand(ctxmem_store *s, MDB_txn *txn, const ctxmem_search_opts *o, fused *f)
{
    unsigned char kb[12];
    MDB_val k = {12, kb}, v;
    ctxmem_segment seg;
    int rc;

    store_put_be32(kb, f->scope);
    store_put_be64(kb + 4, f->seq);
    rc = mdb_get(txn, s->dbi[DB_SEQUENCE], &k, &v);
    if (rc == 0 && v.mv_size == 8) {
        f->id = store_get_be64(v.mv_data);
        k.mv_size = 8, k.mv_data = v.mv_data;
        rc = mdb_get(txn, s->dbi[DB_SEGMENTS], &k, &v);
    }
    if (rc == MDB_NOTFOUND)
        return CTXMEM_ENOTFOUND;
    if (rc != 0)
        return store_lmdb_error(rc, "read candidate");
    rc = rec_decode(v.mv_data, v.mv_size, f->id, &seg);
    if (rc != CTXMEM_OK)
        return rc;
    /* Never trust a cache over LMDB: the record must be where the index says. */
    if (seg.scope != f->scope || seg.seq != f->seq)
        return err_set(CTXMEM_ECORRUPT, "search: segment %llu is not at scope %u seq %llu",
                       (unsigned long long)f->id, f->scope, (unsigned long long)f->seq);
    f->tokens = seg.tokens;
    if ((o->roles && !(o->roles & (1u << seg.role))) || (o->time_from && seg.time < o->time_from) ||
        (o->time_to && seg.time >= o->time_to))
        return CTXMEM_ENOTFOUND;
    return CTXMEM_OK;
}

static fused *find_pos(fused_list *l, size_t n, uint32_t scope, uint64_t seq)
{
    for (size_t i = 0; i < n; i++)
        if (l->f[i].scope == scope && l->f[i].seq == seq)
            return &l->f[i];
    return NULL;
}

/* Pull the neighbours of hit h (index into out) into out. */
static int expand_one(ctxmem_store *s, MDB_txn *txn, const ctxmem_search_opts *o,
                      fused_list *out, size_t h, const rank_scope *scopes, size_t n_scopes)
{
    uint64_t max = scope_max_seq(scopes, n_scopes, out->f[h].scope);
    float w = 1.0f;
    int rc = CTXMEM_OK;

    for (int d = 1; rc == CTXMEM_OK && d <= o->neighbours; d++) {
        w *= o->neighbour_weight;
        for (int side = -1; rc == CTXMEM_OK && side <= 1; side += 2) {
            fused hit = out->f[h], nb = {0};
            fused *have;

            nb.scope = hit.scope, nb.seq = hit.seq + (uint64_t)(side * d);
            if ((side < 0 && hit.seq <= (uint64_t)d) || nb.seq > max)
                continue;
            have = find_pos(out, out->n, nb.scope, nb.seq);
            if (have) {
                have->score = have->score > hit.score * w ? have->score : hit.score * w;
                continue;
            }
            nb.score = hit.score * w, nb.neighbour_of = hit.id;
            nb.recency = max > 1 ? (float)(nb.seq - 1) / (float)(max - 1) : 1.0f;
            rc = load_cand(s, txn, o, &nb);
            rc = rc == CTXMEM_OK ? list_push(out, &nb) : rc == CTXMEM_ENOTFOUND ? CTXMEM_OK : rc;
        }
    }
    return rc;
}

/*
 * The best k of `all` that pass the filters, plus their neighbours, into
 * `out`, sorted by score. Records are read best first, only as far as needed.
 */
static int select_hits(ctxmem_store *s, MDB_txn *txn, const ctxmem_search_opts *o,
                       fused_list *all, fused_list *out, const rank_scope *scopes,
                       size_t n_scopes)
{
    size_t k;
    int rc = CTXMEM_OK;

    if (all->n > 1)
        qsort(all->f, all->n, sizeof(*all->f), cmp_score);
    for (size_t i = 0; rc == CTXMEM_OK && i < all->n && out->n < o->k; i++) {
        rc = load_cand(s, txn, o, &all->f[i]);
        rc = rc == CTXMEM_OK ? list_push(out, &all->f[i]) : rc == CTXMEM_ENOTFOUND ? CTXMEM_OK : rc;
    }
    k = out->n;
    for (size_t i = 0; rc == CTXMEM_OK && i < k && o->neighbours > 0; i++)
        rc = expand_one(s, txn, o, out, i, scopes, n_scopes);
    if (rc == CTXMEM_OK && out->n > 1)
        qsort(out->f, out->n, sizeof(*out->f), cmp_score);
    return rc;
}

/* ---- the search ---- */

struct query {
    lex_doc terms;
    float *vec; /* NULL: no vector signal */
};

static int prepare_query(ctxmem_store *s, const char *q, size_t len,
                         const ctxmem_search_opts *o, struct query *out)
{
    struct sb_stemmer *st = NULL;
    size_t dim = s->index->dim;
    int rc = CTXMEM_OK;

    if ((o->signals & CTXMEM_SIGNAL_VECTOR) && (o->query_embedding || (s->index->emb && len))) {
        if (!(out->vec = malloc(dim * sizeof(float))))
            return err_set(CTXMEM_ENOMEM, "search: out of memory");
        rc = o->query_embedding ? embed_check_copy(o->query_embedding, o->query_embedding_dim,
                                                   dim, out->vec, "query embedding")
                                : embed_texts(s, &q, &len, 1, out->vec);
    }
    if (rc == CTXMEM_OK && (o->signals & CTXMEM_SIGNAL_LEXICAL) && len) {
        rc = lex_stemmer_new(&st, s->index->language);
        if (rc == CTXMEM_OK)
            rc = lex_analyze(st, s->index->english_stops, q, len, &out->terms);
        lex_stemmer_free(st);
    }
    return rc;
}

/* Vector candidates of every scope, best `depth` overall. */
static int vector_rank(ctxmem_store *s, MDB_txn *txn, const rank_scope *scopes, size_t n,
                       const float *q, size_t depth, rank_cand **out, size_t *n_out)
{
    rank_cand *heap = malloc(depth * sizeof(*heap)), *one = NULL;
    size_t h = 0, m;
    int rc = heap ? CTXMEM_OK : err_set(CTXMEM_ENOMEM, "search: out of memory");

    if (rc == CTXMEM_OK && n == 1) {
        /* FAISS returns one scope's list best first; only ties need ordering */
        rc = vindex_search(s, txn, &scopes[0], q, depth, heap, &h);
        rank_sort_ordered(heap, h);
    } else if (rc == CTXMEM_OK) {
        if (!(one = malloc(depth * sizeof(*one))))
            rc = err_set(CTXMEM_ENOMEM, "search: out of memory");
        for (size_t i = 0; rc == CTXMEM_OK && i < n; i++) {
            rc = vindex_search(s, txn, &scopes[i], q, depth, one, &m);
            for (size_t j = 0; rc == CTXMEM_OK && j < m; j++)
                rank_heap_push(heap, &h, depth, &one[j]);
        }
        rank_heap_sort(heap, h);
    }
    free(one);
    if (rc != CTXMEM_OK) {
        free(heap);
        return rc;
    }
    *out = heap, *n_out = h;
    return CTXMEM_OK;
}

static int rank_all(ctxmem_store *s, MDB_txn *txn, const ctxmem_search_opts *o,
                    const struct query *q, const rank_scope *scopes, size_t n_scopes,
                    fused_list *all)
{
    lex_params p = {o->bm25_k1, o->bm25_b};
    rank_cand *v = NULL, *l = NULL;
    size_t nv = 0, nl = 0;
    int rc = CTXMEM_OK;

    if (q->vec)
        rc = vector_rank(s, txn, scopes, n_scopes, q->vec, o->depth, &v, &nv);
    if (rc == CTXMEM_OK && q->terms.n)
        rc = lex_search(s, txn, scopes, n_scopes, &q->terms, &p, o->depth, &l, &nl);
    if (rc == CTXMEM_OK)
        rc = merge_ranks(v, nv, l, nl, all);
    if (rc == CTXMEM_OK)
        fuse_scores(all, o, scopes, n_scopes);
    free(v);
    free(l);
    return rc;
}

static int export_hits(const fused_list *l, ctxmem_hit **hits, size_t *n_hits)
{
    ctxmem_hit *h;

    if (l->n == 0)
        return CTXMEM_OK;
    if (!(h = calloc(l->n, sizeof(*h))))
        return err_set(CTXMEM_ENOMEM, "search: out of memory");
    for (size_t i = 0; i < l->n; i++) {
        const fused *f = &l->f[i];
        ctxmem_hit x = {f->id,     f->scope,  f->seq,   f->tokens,       f->score,
                        f->vscore, f->lscore, f->recency, f->vrank, f->lrank, f->neighbour_of};
        h[i] = x;
    }
    *hits = h, *n_hits = l->n;
    return CTXMEM_OK;
}

static int search_in_txn(ctxmem_store *s, MDB_txn *txn, const ctxmem_scope *pats, size_t n_pats,
                         const ctxmem_search_opts *o, const struct query *q, fused_list *out)
{
    rank_scope *scopes = malloc(MAX_SCOPES * sizeof(*scopes));
    fused_list all = {0};
    size_t n_scopes = 0;
    int rc = scopes ? CTXMEM_OK : err_set(CTXMEM_ENOMEM, "search: out of memory");

    if (rc == CTXMEM_OK)
        rc = resolve_scopes(s, txn, pats, n_pats, scopes, &n_scopes);
    if (rc == CTXMEM_OK && n_scopes)
        rc = rank_all(s, txn, o, q, scopes, n_scopes, &all);
    if (rc == CTXMEM_OK)
        rc = select_hits(s, txn, o, &all, out, scopes, n_scopes);
    free(all.f);
    free(scopes);
    return rc;
}

int ctxmem_search(ctxmem_hit **hits, size_t *n_hits, ctxmem_store *store,
                  const ctxmem_scope *scopes, size_t n_scopes, const char *query,
                  size_t query_len, const ctxmem_search_opts *opts)
{
    ctxmem_search_opts o;
    struct query q = {{0}, NULL};
    fused_list out = {0};
    MDB_txn *txn = NULL;
    int rc;

    if (!hits || !n_hits)
        return err_set(CTXMEM_EINVAL, "search: NULL hits or n_hits");
    *hits = NULL, *n_hits = 0;
    if (!store || (!query && query_len))
        return err_set(CTXMEM_EINVAL, "search: NULL store or query");
    rc = resolve_opts(opts, &o);
    if (rc == CTXMEM_OK)
        rc = check_patterns(scopes, n_scopes);
    if (rc == CTXMEM_OK && ctxmem_utf8_check(query, query_len) != CTXMEM_OK)
        rc = err_wrap(CTXMEM_EINVAL, "search: query");
    if (rc == CTXMEM_OK)
        rc = prepare_query(store, query ? query : "", query_len, &o, &q);
    if (rc == CTXMEM_OK)
        rc = store_read_begin(store, &txn);
    if (rc == CTXMEM_OK)
        rc = search_in_txn(store, txn, scopes, n_scopes, &o, &q, &out);
    store_read_end(store, txn);
    if (rc == CTXMEM_OK)
        rc = export_hits(&out, hits, n_hits);
    free(out.f);
    free(q.vec);
    lex_doc_free(&q.terms);
    return rc;
}

void ctxmem_hits_free(ctxmem_hit *hits)
{
    free(hits);
}
