/*
 * Private interface of the cold-tier index: text analysis (lex_), the
 * built-in embedder and embedding checks (embed_), the lexical index in LMDB
 * (lex_), the FAISS vector cache (vindex_) and hybrid ranking (rank_).
 *
 * The store calls the index_* functions: at open to check or record the
 * embedder, inside ctxmem_store_add's write transaction to index new
 * segments, and at close to persist the vector caches.
 */
#ifndef CTXMEM_INDEX_INTERNAL_H
#define CTXMEM_INDEX_INTERNAL_H

#include "ctxmem/index.h"
#include "store/store_internal.h"

#include <pthread.h>

/* The built-in embedder (embed.c): identity and dimension. */
#define EMBED_DEFAULT_NAME "ctxmem-hash-v1"
#define EMBED_DEFAULT_DIM 128
#define EMBED_MAX_DIM 4096

/* Lexical language used when a new store names none. */
#define LEX_DEFAULT_LANGUAGE "english"

/* One word of analysed text: offsets into lex_tokens.buf. */
typedef struct lex_token {
    uint32_t word_off, word_len; /* folded (lowercase) word */
    uint32_t stem_off, stem_len; /* its stem */
    int stop;                    /* a stop word: not indexed */
} lex_token;

typedef struct lex_tokens {
    lex_token *tok;
    size_t n, cap;
    char *buf;
    size_t used, bcap;
} lex_tokens;

/* One term of a document and its frequency. */
typedef struct lex_term {
    uint64_t hash;
    uint32_t tf;
} lex_term;

/* A document's distinct terms (sorted by hash) and its length in terms. */
typedef struct lex_doc {
    lex_term *terms;
    size_t n;
    uint32_t len;
} lex_doc;

struct sb_stemmer;

/* Create a stemmer for a Snowball language; CTXMEM_EINVAL for an unknown one. */
int lex_stemmer_new(struct sb_stemmer **out, const char *language);
void lex_stemmer_free(struct sb_stemmer *st);

/* Split text into folded words with stems; `out` is reset first. */
int lex_tokenize(struct sb_stemmer *st, int english_stops, const char *text, size_t len,
                 lex_tokens *out);
void lex_tokens_free(lex_tokens *t);

/* Hash of a stem: the lexical index's term key. */
uint64_t lex_term_hash(const char *stem, size_t len);

/* The indexed terms of tokenized text (non-stop stems). */
int lex_doc_build(const lex_tokens *t, lex_doc *out);
void lex_doc_free(lex_doc *d);

/* Analyse text straight to a lex_doc. */
int lex_analyze(struct sb_stemmer *st, int english_stops, const char *text, size_t len,
                lex_doc *out);

/* Postings of one segment: add or remove, and the scope's counters. */
int lex_put(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq, const lex_doc *d);
int lex_del(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq, const lex_doc *d);

/* Per-scope index counters (DB_INDEX_STATE). */
typedef struct index_scope_state {
    uint64_t docs;      /* indexed segments */
    uint64_t total_len; /* sum of document lengths, for BM25's average */
    uint64_t vgen;      /* bumped whenever a vector is removed */
} index_scope_state;

int index_state_read(ctxmem_store *s, MDB_txn *txn, uint32_t scope, index_scope_state *st);
int index_state_write(ctxmem_store *s, MDB_txn *txn, uint32_t scope,
                      const index_scope_state *st);

/* A scored candidate in a scope. */
typedef struct rank_cand {
    uint32_t scope;
    uint64_t seq;
    float score;
} rank_cand;

/* A bounded min-heap of the best candidates (cap entries). */
void rank_heap_push(rank_cand *heap, size_t *n, size_t cap, const rank_cand *c);
/* Sort a heap's entries best first (ties: newer first). */
void rank_heap_sort(rank_cand *heap, size_t n);

/* BM25 parameters. */
typedef struct lex_params {
    float k1, b;
} lex_params;

/* A matched scope and the size of its sequence space. */
typedef struct rank_scope {
    uint32_t id;
    uint64_t max_seq; /* highest sequence number ever given */
} rank_scope;

/*
 * BM25 over the union of `scopes` for the query terms; the best `depth`
 * candidates, best first, into a malloc'd *out.
 */
int lex_search(ctxmem_store *s, MDB_txn *txn, const rank_scope *scopes, size_t n_scopes,
               const lex_doc *query, const lex_params *p, size_t depth, rank_cand **out,
               size_t *n_out);

/* Embedding (embed.c). */
int embed_builtin(void *user, const char *const *texts, const size_t *lens, size_t n,
                  float *out);
const ctxmem_embedder *embed_default(void);
/* Check a caller-given vector (dimension, finite values); copy it normalised. */
int embed_check_copy(const float *v, size_t dim, size_t want, float *out, const char *what);
/* Embed n texts with the store's embedder and normalise the rows. */
int embed_texts(ctxmem_store *s, const char *const *texts, const size_t *lens, size_t n,
                float *out);
void embed_normalize(float *v, size_t dim);

/* Vector cache (vindex.c). */
struct vindex_set;
int vindex_set_new(struct vindex_set **out);
void vindex_set_free(ctxmem_store *s, struct vindex_set *vs);
/* Search a scope's vectors (caught up from LMDB first). */
int vindex_search(ctxmem_store *s, MDB_txn *txn, const rank_scope *scope, const float *q,
                  size_t depth, rank_cand *out, size_t *n_out);
/* A segment was forgotten: drop it from the cached index, if loaded. */
void vindex_forgotten(ctxmem_store *s, uint32_t scope, uint64_t seq, uint64_t vgen);
/* Drop every cache (memory and files), e.g. after a re-embed. */
void vindex_drop_all(ctxmem_store *s);
int vindex_put(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq, const float *v);
int vindex_del(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq);
/* Kinds of vector index. */
enum { VINDEX_FLAT = 1, VINDEX_IVF = 2, VINDEX_IVF_FLAT = 3 }; /* IVF: 8-bit codes */

/* The index state kept in the store handle. */
struct index_state {
    const ctxmem_embedder *emb; /* NULL: the store's embedder is not loaded */
    char emb_name[72];
    size_t dim;
    char language[32];
    int english_stops;
    unsigned vkind;  /* CTXMEM_VINDEX_* */
    size_t flat_max; /* AUTO switches to IVF past this many vectors */
    struct vindex_set *vectors;
};

/* Store hooks (index_store.c). */
int index_open(ctxmem_store *s, MDB_txn *txn, const ctxmem_options *o, int created,
               int *reembed);
int index_reembed(ctxmem_store *s);
void index_close(ctxmem_store *s);

/* The embedder's name and dimension and the language, for ctxmem_store_stat. */
void index_describe(const ctxmem_store *s, const char **embedder, size_t *dim,
                    const char **language);

/* What ctxmem_store_add prepares outside the transaction for n segments. */
typedef struct index_batch {
    size_t n;
    float *vectors; /* n * dim, normalised */
    lex_doc *docs;  /* n */
} index_batch;

int index_batch_prepare(ctxmem_store *s, const ctxmem_segment_in *segs, size_t n,
                        index_batch *b);
void index_batch_free(index_batch *b);
/* Index segment i of the batch inside the add transaction. */
int index_batch_put(ctxmem_store *s, MDB_txn *txn, const index_batch *b, size_t i,
                    uint32_t scope, uint64_t seq);

#endif /* CTXMEM_INDEX_INTERNAL_H */
