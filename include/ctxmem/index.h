/*
 * ctxmem/index.h - the cold tier: embeddings, search and forgetting.
 *
 * Every segment added to a store is indexed twice: a vector index over its
 * embedding (FAISS, one index per scope, a cache rebuilt from LMDB when
 * missing, stale or corrupt) and a lexical index in LMDB (BM25 over stemmed
 * terms). A search fuses both rankings by reciprocal rank, with a recency
 * prior and optional neighbour expansion, and is always confined to the
 * scopes the caller names: no search returns another user's segment.
 *
 * Threading: as the store (ctxmem/store.h). Embedder callbacks may be called
 * from any thread that adds or searches.
 */
#ifndef CTXMEM_INDEX_H
#define CTXMEM_INDEX_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * An application-supplied embedder. The store records `name` and `dim` when
 * it is created; opening it later with another embedder is refused with
 * CTXMEM_EMISMATCH unless CTXMEM_OPEN_REEMBED is given.
 */
typedef struct ctxmem_embedder {
    unsigned version; /**< CTXMEM_EMBEDDER_VERSION */
    const char *name; /**< identity, 1-64 printable ASCII bytes, e.g. "minilm-l6-v2" */
    size_t dim;       /**< floats per vector, 1-4096 */
    /**
     * Embed n texts: write n * dim floats to `out`, row i for texts[i]
     * (lens[i] bytes of UTF-8). Return 0 on success, nonzero on failure
     * (reported as CTXMEM_ECALLBACK). Vectors need not be normalised.
     */
    int (*embed)(void *user, const char *const *texts, const size_t *lens, size_t n, float *out);
    void *user; /**< passed to embed */
} ctxmem_embedder;

#define CTXMEM_EMBEDDER_VERSION 1

/** Kinds of ranking signal, for ctxmem_search_opts.signals. */
enum {
    CTXMEM_SIGNAL_VECTOR = 1 << 0,
    CTXMEM_SIGNAL_LEXICAL = 1 << 1,
    CTXMEM_SIGNAL_ALL = CTXMEM_SIGNAL_VECTOR | CTXMEM_SIGNAL_LEXICAL
};

/**
 * Search options. Initialise with CTXMEM_SEARCH_OPTS_INIT. A zero field takes
 * its default; for the weights, neighbours and neighbour_weight a negative
 * value switches the feature off. The defaults were tuned on LoCoMo (evidence
 * recall of the top hits packed into 2,048 tokens; bench/index/locomo_recall,
 * results in bench/RESULTS.md).
 *
 * Ranking: each signal ranks up to `depth` candidates (vector: inner product
 * with the query embedding; lexical: BM25 over stems). A candidate's score is
 *   weight_vector / (rrf_k + vector_rank) + weight_lexical / (rrf_k + lexical_rank)
 *   + weight_recency * recency
 * where a missing rank contributes 0 and recency is the segment's position in
 * its scope, (seq - 1) / (last seq - 1), in [0, 1]. Role and time filters are
 * applied to these candidates, so a very selective filter may need a larger
 * depth. The best k are then expanded: each pulls in up to `neighbours`
 * adjacent turns on each side (same scope, by sequence number) with the
 * score hit.score * neighbour_weight^distance, unless they rank higher on
 * their own.
 */
typedef struct ctxmem_search_opts {
    unsigned version;             /**< CTXMEM_SEARCH_OPTS_VERSION */
    size_t k;                     /**< hits wanted before neighbours; default 20, max 2^20 */
    unsigned signals;             /**< CTXMEM_SIGNAL_*; default ALL */
    uint32_t roles;               /**< bit (1 << role) per role kept; 0 = all */
    int64_t time_from;            /**< keep segments with time >= this; 0 = no bound */
    int64_t time_to;              /**< keep segments with time < this; 0 = no bound */
    const float *query_embedding; /**< use this vector instead of embedding the query */
    size_t query_embedding_dim;   /**< floats at query_embedding (the embedder's dim) */
    float weight_vector;          /**< RRF weight of the vector ranking; default 0.3 */
    float weight_lexical;         /**< RRF weight of the lexical ranking; default 1.0 */
    float weight_recency;         /**< weight of the recency prior; default 0.001 */
    unsigned rrf_k;               /**< RRF constant; default 20 */
    int neighbours;               /**< adjacent turns per side and hit; default 1 */
    float neighbour_weight;       /**< a neighbour's share of its hit's score; default 0.6 */
    size_t depth;                 /**< candidates per signal; default max(100, 4k), max 2^22 */
    float bm25_k1;                /**< BM25 term-frequency saturation; default 1.2 */
    float bm25_b;                 /**< BM25 length normalisation; default 0.75 */
} ctxmem_search_opts;

#define CTXMEM_SEARCH_OPTS_VERSION 1
#define CTXMEM_SEARCH_OPTS_INIT                                                                  \
    {CTXMEM_SEARCH_OPTS_VERSION, 0, 0, 0, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/** One search result, with the contribution of each signal. */
typedef struct ctxmem_hit {
    uint64_t id;         /**< segment id */
    uint32_t scope;      /**< scope id */
    uint64_t seq;        /**< sequence number in its scope */
    uint32_t tokens;     /**< the segment's token count */
    float score;         /**< fused score; hits are sorted by it, descending */
    float vector_score;  /**< query inner product (IVF: from 8-bit codes); 0 when not ranked */
    float lexical_score; /**< BM25 score; 0 when not ranked */
    float recency;       /**< recency prior in [0, 1] */
    int vector_rank;     /**< 1-based rank in the vector list; 0 when absent */
    int lexical_rank;    /**< 1-based rank in the lexical list; 0 when absent */
    uint64_t neighbour_of; /**< segment id whose hit pulled this one in; 0 if none */
} ctxmem_hit;

/**
 * Search a set of scopes for segments relevant to a query.
 *
 * Each scope in `scopes` names a user and optionally an agent and a session;
 * here a NULL agent or session means "any", while "" means "none". The cost
 * follows the size of the matched scopes, not of the whole store.
 *
 * @param[out] hits     a malloc'd array sorted by score, freed with
 *                      ctxmem_hits_free; NULL when there are none.
 * @param[out] n_hits   number of hits, at most opts->k (plus neighbours).
 * @param[in]  store    the store.
 * @param[in]  scopes   n_scopes scope patterns, n_scopes >= 1.
 * @param[in]  query    UTF-8 query text (may be NULL when opts gives an embedding).
 * @param[in]  query_len bytes of query.
 * @param[in]  opts     options or NULL for defaults.
 * @return CTXMEM_OK (no match gives zero hits); CTXMEM_EINVAL for NULL
 *         arguments, a bad scope, invalid UTF-8, a bad options version or
 *         k or depth over their maximum;
 *         CTXMEM_EMISMATCH for a query embedding on a store without vectors;
 *         CTXMEM_ECALLBACK when the embedder failed; CTXMEM_EIO; CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_search(ctxmem_hit **hits, size_t *n_hits, ctxmem_store *store,
                             const ctxmem_scope *scopes, size_t n_scopes, const char *query,
                             size_t query_len, const ctxmem_search_opts *opts);

/** Free hits returned by ctxmem_search. NULL is fine. */
CTXMEM_API void ctxmem_hits_free(ctxmem_hit *hits);

/**
 * Forget a segment: remove it from LMDB and from both indexes, in one
 * transaction.
 *
 * @return CTXMEM_OK; CTXMEM_EINVAL; CTXMEM_ENOTFOUND; CTXMEM_EREADONLY;
 *         CTXMEM_EIO.
 */
CTXMEM_API int ctxmem_store_forget(ctxmem_store *store, uint64_t id);

#ifdef __cplusplus
}
#endif

#endif /* CTXMEM_INDEX_H */
