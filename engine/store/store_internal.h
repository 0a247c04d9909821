/*
 * Private view of the store, shared by the engine modules that keep their own
 * data in the store's LMDB environment (indexes, tiers).
 */
#ifndef CTXMEM_STORE_INTERNAL_H
#define CTXMEM_STORE_INTERNAL_H

#include "ctxmem/store.h"
#include "ctxmem/window.h"

#include <lmdb.h>
#include <pthread.h>

/* Named databases of a store (see docs/FORMAT.md). */
enum store_db {
    DB_META,        /* string key -> value: format, tokenizer, counters */
    DB_SEGMENTS,    /* u64 BE segment id -> segment record */
    DB_SCOPES,      /* scope key (user NUL agent NUL session) -> u32 BE scope id */
    DB_SCOPE_INFO,  /* u32 BE scope id -> scope record */
    DB_SEQUENCE,    /* u32 BE scope id + u64 BE seq -> u64 BE segment id */
    DB_STATUS,      /* u64 BE segment id -> end time, successor (superseded segments only) */
    DB_FACTS,       /* u32 BE scope id + fact key -> u64 BE current segment id */
    DB_PAIRS,       /* u32 BE scope id + pair id -> u64 BE tool call id, u64 BE result id */
    DB_DIGESTS,     /* u32 BE scope id + u64 BE digest -> u64 BE segment id (documents, notes) */
    DB_PINS,        /* u32 BE scope id + pin name -> pin record (engine/tiers/pins.c) */
    DB_TIERS,       /* u32 BE scope id -> tier state (engine/tiers/tiers.c) */
    DB_SUMMARIES,   /* u32 BE scope id + u64 BE first seq -> summary record */
    DB_VECTORS,     /* u32 BE scope id + u64 BE seq -> float[dim] (engine/index/vindex.c) */
    DB_POSTINGS,    /* u32 BE scope id + u64 BE term hash -> dup postings (engine/index) */
    DB_INDEX_STATE, /* u32 BE scope id -> per-scope index counters (engine/index) */
    DB_COUNT
};

struct ctxmem_store {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    char *dir;
    unsigned flags;
    size_t map_size;
    size_t map_size_max;
    size_t max_segment_bytes;
    ctxmem_tokenizer *tok_owned;
    const ctxmem_tokenizer *tok;
    struct index_state *index; /* the cold-tier index (engine/index) */
    /* Held shared by every transaction, exclusively while the map is resized. */
    pthread_rwlock_t resize_lock;
    ctxmem_summarizer summarizer; /* version 0: the built-in extractive one */
    ctxmem_trace_cb trace;
    void *trace_user;
};

/* Per-scope record kept in DB_SCOPE_INFO. */
typedef struct store_scope_rec {
    uint64_t next_seq;
    uint64_t segments;
    uint64_t tokens;
} store_scope_rec;

/* Begin a read transaction (holds resize_lock shared until store_read_end). */
int store_read_begin(ctxmem_store *s, MDB_txn **txn);
void store_read_end(ctxmem_store *s, MDB_txn *txn);

/*
 * Run `fn` inside one write transaction and commit. When the map fills, the
 * transaction is aborted, the map grown and `fn` run again from the start, so
 * `fn` must not keep side effects outside the transaction. Returns fn's error
 * or the commit's.
 */
typedef int (*store_write_fn)(ctxmem_store *s, MDB_txn *txn, void *ctx);
int store_write(ctxmem_store *s, store_write_fn fn, void *ctx);

/* Map an LMDB return code to a ctxmem code, recording "lmdb: what: text". */
int store_lmdb_error(int mdb_rc, const char *what);

/* Big-endian key helpers. */
void store_put_be64(unsigned char *p, uint64_t v);
uint64_t store_get_be64(const unsigned char *p);
void store_put_be32(unsigned char *p, uint32_t v);
uint32_t store_get_be32(const unsigned char *p);

/* Validate a scope and build its key; returns CTXMEM_OK or CTXMEM_EINVAL. */
int store_scope_key(const ctxmem_scope *scope, char *key, size_t cap, size_t *len);

/* The last sequence number used in a scope; 0 when none or unreadable. */
uint64_t store_scope_last_seq(ctxmem_store *s, MDB_txn *txn, uint32_t scope);

/* Find or create a scope inside a write transaction. */
int store_scope_create(ctxmem_store *s, MDB_txn *txn, const char *key, size_t len, uint32_t *id);

/* Longest scope key store_scope_key produces. */
#define STORE_SCOPE_KEY_MAX (3 * 129)

/* Look a scope id up inside a transaction; CTXMEM_ENOTFOUND when absent. */
int store_scope_lookup(ctxmem_store *s, MDB_txn *txn, const char *key, size_t len, uint32_t *id);

/* Facts, pairs and duplicates (facts.c), inside ctxmem_store_add's transaction. */
int facts_check(ctxmem_store *s, MDB_txn *txn, uint32_t scope, const ctxmem_segment_in *in,
                size_t index, uint64_t *duplicate_of);
int facts_on_add(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t id,
                 const ctxmem_segment_in *in, int64_t time);

/* A segment's status inside a transaction (zeros while current). */
int facts_status_read(ctxmem_store *s, MDB_txn *txn, uint64_t id, ctxmem_segment_status *status);

/* Read a segment inside a transaction; its strings point into the map until the txn ends. */
int store_segment_read(ctxmem_store *s, MDB_txn *txn, uint64_t id, ctxmem_segment *seg);

/* The same, by the segment's place in its scope. */
int store_segment_at(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq,
                     ctxmem_segment *seg);

/* A copy that owns its strings, freed with ctxmem_segment_free; NULL on ENOMEM. */
ctxmem_segment *store_segment_dup(const ctxmem_segment *src);

/* The tool call and result ids of a pair; 0 for a half that does not exist. */
int facts_pair_lookup(ctxmem_store *s, uint32_t scope, const char *pair_id, uint64_t *call,
                      uint64_t *result);

/* Segment records (record.c). */
#define REC_LAYOUT 1
#define REC_HEADER 64

typedef struct rec_fields {
    uint64_t seq;
    uint32_t scope;
    int role;
    int64_t time;
    uint32_t flags;
    uint32_t tokens;
    const char *text;
    size_t text_len;
    const char *name;
    const char *meta_json;
    const char *pair_id;
    const char *key;
    uint64_t supersedes;
} rec_fields;

size_t rec_size(const rec_fields *f);
void rec_encode(const rec_fields *f, unsigned char *buf);
/* Decode in place: the strings of `out` point into `buf`. */
int rec_decode(const unsigned char *buf, size_t len, uint64_t id, ctxmem_segment *out);

#endif /* CTXMEM_STORE_INTERNAL_H */
