/*
 * ctxmem/store.h - the durable segment store.
 *
 * A store is one directory holding one LMDB environment. Every segment (a
 * message, tool call, document chunk, note or summary) is kept there with its
 * scope, role, time, per-scope sequence number, token count and text.
 *
 * Threading and processes: one ctxmem_store handle may be used by any number
 * of threads at once. Any number of processes may open the same store; writes
 * are serialised by LMDB's writer lock and readers never block the writer.
 * Do not open the same directory twice in one process (an LMDB rule): share
 * the handle instead.
 */
#ifndef CTXMEM_STORE_H
#define CTXMEM_STORE_H

#include "common.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctxmem_store ctxmem_store;
typedef struct ctxmem_iter ctxmem_iter;
typedef struct ctxmem_embedder ctxmem_embedder; /* see ctxmem/index.h */

/** The on-disk format version this library writes and reads. */
#define CTXMEM_STORE_FORMAT 1

/** Flags for ctxmem_options.flags. */
enum {
    CTXMEM_OPEN_READONLY = 1 << 0, /**< open for reading; writes fail with EREADONLY */
    CTXMEM_OPEN_NOCREATE = 1 << 1, /**< fail with ENOTFOUND if the store does not exist */
    /**
     * When ctxmem_options.embedder differs from the store's, record the new
     * one and re-embed every segment from its stored text (in one write
     * transaction, during open) instead of failing with CTXMEM_EMISMATCH.
     */
    CTXMEM_OPEN_REEMBED = 1 << 2,
    /**
     * Do not flush to disk at each commit (LMDB's MDB_NOSYNC): much faster
     * bulk loads and tests. A system crash may lose the last commits, never
     * the store's consistency; a process crash loses nothing.
     */
    CTXMEM_OPEN_NOSYNC = 1 << 3
};

/**
 * Kinds of vector index, for ctxmem_options.vector_index. IVF indexes are
 * approximate: a search scans the lists of the nearest 1/32 of the
 * centroids (at least 4). IVF keeps each vector as 8-bit codes over [-1, 1]
 * per dimension (a quarter of the float bytes; the inner products it reports
 * are within about 0.01 of the exact ones); IVF_FLAT keeps the floats, which
 * costs four times the memory and load time and scans faster with a FAISS
 * built without AVX2. The option is not recorded: a scope's cached index of
 * another kind is rebuilt at its first search.
 */
enum {
    CTXMEM_VINDEX_AUTO = 0,    /**< flat up to vector_flat_max vectors per scope, then IVF */
    CTXMEM_VINDEX_FLAT = 1,    /**< always exact (cost grows with the scope) */
    CTXMEM_VINDEX_IVF = 2,     /**< IVF (8-bit codes) once a scope has 2,496 vectors */
    CTXMEM_VINDEX_IVF_FLAT = 3 /**< IVF with full-precision vectors, from 2,496 vectors */
};

/**
 * Options for ctxmem_store_open. Initialise with CTXMEM_OPTIONS_INIT; a zero
 * field means its default.
 */
typedef struct ctxmem_options {
    unsigned version;         /**< CTXMEM_OPTIONS_VERSION */
    unsigned flags;           /**< CTXMEM_OPEN_* */
    size_t map_size;          /**< initial LMDB map size, bytes; default 64 MiB */
    size_t map_size_max;      /**< the map grows up to this, bytes; default 64 GiB */
    size_t max_segment_bytes; /**< largest segment text accepted; default 1 MiB */
    /**
     * Encoding that counts tokens: "o200k_base" (default for a new store),
     * "cl100k_base" or "approx". An existing store keeps the one it was
     * created with; naming another is refused with CTXMEM_EMISMATCH.
     */
    const char *tokenizer;
    const char *tokenizer_dir; /**< where NAME.tiktoken lives; NULL: the usual lookup */
    /**
     * An application tokenizer to count with instead (borrowed: it must
     * outlive the store). Its name is recorded like a built-in one.
     */
    const ctxmem_tokenizer *tokenizer_handle;
    /**
     * The embedder of the vector index (borrowed: it must outlive the store).
     * NULL means the built-in "ctxmem-hash-v1" (128 dimensions) for a new
     * store, and whatever the store recorded for an existing one: a store
     * created with an application embedder then opens without it, adds
     * need caller-supplied embeddings and text searches are lexical only.
     * A new store records the name and dimension; naming another embedder
     * later is refused with CTXMEM_EMISMATCH unless CTXMEM_OPEN_REEMBED.
     */
    const ctxmem_embedder *embedder;
    /**
     * Snowball language of the lexical index ("english", "french", ... as
     * libstemmer names them); NULL: "english" for a new store, the recorded
     * one otherwise. English also drops English stop words. Naming another
     * language than the store's is refused with CTXMEM_EMISMATCH.
     */
    const char *language;
    unsigned vector_index;  /**< CTXMEM_VINDEX_*; default AUTO (not recorded in the store) */
    size_t vector_flat_max; /**< AUTO's flat-to-IVF threshold, vectors; default 8192 */
} ctxmem_options;

#define CTXMEM_OPTIONS_VERSION 1
#define CTXMEM_OPTIONS_INIT {CTXMEM_OPTIONS_VERSION, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0}

/**
 * A scope: whose memory a segment belongs to. `user` is required; `agent` and
 * `session` may be NULL or "" (meaning "none"). Each name is 1-128 bytes of
 * UTF-8 with no control characters and no '/' or '\\'.
 */
typedef struct ctxmem_scope {
    const char *user;
    const char *agent;
    const char *session;
} ctxmem_scope;

/** What a segment is. */
typedef enum ctxmem_role {
    CTXMEM_ROLE_SYSTEM = 1,
    CTXMEM_ROLE_USER = 2,
    CTXMEM_ROLE_ASSISTANT = 3,
    CTXMEM_ROLE_TOOL_CALL = 4,   /**< an assistant's tool call; pair_id links its result */
    CTXMEM_ROLE_TOOL_RESULT = 5, /**< a tool's answer; pair_id names its call */
    CTXMEM_ROLE_DOCUMENT = 6,    /**< a chunk of a document */
    CTXMEM_ROLE_NOTE = 7,        /**< an application note */
    CTXMEM_ROLE_SUMMARY = 8      /**< a summary of a span of segments */
} ctxmem_role;

/** Name of a role ("user", "tool_call", ...); "unknown" for others. Static. */
CTXMEM_API const char *ctxmem_role_name(int role);

/** Parse a role name; returns the role or CTXMEM_EINVAL. */
CTXMEM_API int ctxmem_role_parse(const char *name);

/**
 * A segment to add. Unused pointer fields are NULL.
 *
 * Facts that change: a segment may replace an earlier one, named by id
 * (`supersedes`) or by a shared `key`. The earlier segment stays stored,
 * gets an end time (ctxmem_store_status) and is ranked below its successor.
 * Exact duplicates of a document or note (same scope, role, key and text) are
 * not stored twice: the add returns the existing id.
 */
typedef struct ctxmem_segment_in {
    int role;              /**< a ctxmem_role */
    int64_t time;          /**< Unix time in milliseconds; 0 means now */
    const char *text;      /**< UTF-8, may hold NUL bytes */
    size_t text_len;       /**< bytes of text */
    const char *name;      /**< speaker or tool name, or NULL */
    const char *meta_json; /**< a JSON object of application metadata, or NULL */
    const char *pair_id;   /**< links a tool call to its result, or NULL */
    uint32_t flags;        /**< application flags, stored as given */
    /**
     * A fact key such as "user.city", or NULL. Adding a segment with a key
     * supersedes the scope's current segment with that key.
     */
    const char *key;
    uint64_t supersedes; /**< id of an earlier segment of the same scope this one replaces, or 0 */
    /**
     * The segment's embedding, or NULL to compute it with the store's
     * embedder. embedding_dim must equal the embedder's dimension and every
     * value be finite (else CTXMEM_EINVAL). Stored L2-normalised.
     */
    const float *embedding;
    size_t embedding_dim; /**< floats at embedding */
} ctxmem_segment_in;

/**
 * A stored segment. Strings are NUL-terminated (text may also hold NUL bytes
 * inside; use text_len). Absent strings are "".
 */
typedef struct ctxmem_segment {
    uint64_t id;     /**< store-wide id, increasing in insertion order, never reused */
    uint32_t scope;  /**< scope id (see ctxmem_store_scope_id) */
    uint64_t seq;    /**< position in its scope, from 1 */
    int role;        /**< a ctxmem_role */
    int64_t time;    /**< Unix milliseconds */
    uint32_t flags;  /**< application flags */
    uint32_t tokens; /**< tokens of text under the store's tokenizer (no framing) */
    const char *text;
    size_t text_len;
    const char *name;
    const char *meta_json;
    const char *pair_id;
    const char *key;      /**< fact key, "" when none */
    uint64_t supersedes;  /**< segment this one replaced (as added), 0 when none */
} ctxmem_segment;

/** Store statistics (ctxmem_store_stat). */
typedef struct ctxmem_store_info {
    uint32_t format;        /**< on-disk format version */
    uint64_t segments;      /**< segments in the store */
    uint64_t scopes;        /**< scopes in the store */
    uint64_t tokens;        /**< sum of segment tokens */
    size_t map_size;        /**< current LMDB map size, bytes */
    size_t used_bytes;      /**< bytes of the map in use */
    const char *tokenizer;  /**< tokenizer name; valid while the store is open */
    const char *embedder;   /**< embedder name; valid while the store is open */
    size_t embedder_dim;    /**< its dimension */
    const char *language;   /**< stemming language of the lexical index */
} ctxmem_store_info;

/**
 * Open (and by default create) the store in directory `dir`.
 *
 * A missing directory is created with mode 0700, store files with 0600. A new
 * store records the format version and tokenizer name. An existing store's
 * format is checked; stale reader slots of dead processes are cleared.
 *
 * @param[out] out   the store; NULL on failure.
 * @param[in]  dir   the store directory.
 * @param[in]  opts  options, or NULL for defaults.
 * @return CTXMEM_OK;
 *         CTXMEM_EINVAL for a NULL out/dir, a bad options version or values;
 *         CTXMEM_ENOTFOUND with CTXMEM_OPEN_NOCREATE when no store exists, or
 *         when the tokenizer's rank file is missing (see ctxmem_tokenizer_load);
 *         CTXMEM_EVERSION when the store was written by a newer format;
 *         CTXMEM_EMISMATCH when opts names a different tokenizer, language or
 *         (without CTXMEM_OPEN_REEMBED) embedder than the store's;
 *         CTXMEM_ECORRUPT when the directory holds something that is not a
 *         valid store; CTXMEM_EREADONLY when the directory cannot be written
 *         and READONLY was not asked for; CTXMEM_EIO, CTXMEM_ENOMEM.
 * Ownership: close with ctxmem_store_close.
 */
CTXMEM_API int ctxmem_store_open(ctxmem_store **out, const char *dir, const ctxmem_options *opts);

/** Close a store. Open iterators must be freed first. NULL is fine. */
CTXMEM_API void ctxmem_store_close(ctxmem_store *store);

/** The store's tokenizer. Borrowed; valid until the store is closed. */
CTXMEM_API const ctxmem_tokenizer *ctxmem_store_tokenizer(const ctxmem_store *store);

/**
 * Add `n` segments to one scope in a single durable write transaction: all are
 * added or none.
 *
 * Each text is checked for valid UTF-8 and size, then counted with the store's
 * tokenizer. Sequence numbers continue the scope's sequence in array order.
 *
 * @param[in]  store  the store.
 * @param[in]  scope  the scope (created on first use).
 * @param[in]  segs   n segments.
 * @param[in]  n      number of segments, >= 1.
 * @param[out] ids    n ids in array order, or NULL.
 * @return CTXMEM_OK;
 *         CTXMEM_EINVAL for NULL arguments, n == 0, a bad scope name, an unknown
 *         role, invalid UTF-8 (message names segment index and byte offset),
 *         meta_json that is not a JSON object, `supersedes` naming a segment
 *         that does not exist or belongs to another scope (CTXMEM_ENOTFOUND for
 *         an unknown id), a tool result whose pair_id has no tool call;
 *         CTXMEM_EFULL for a text over max_segment_bytes, or when the map
 *         reached map_size_max (nothing of the batch is stored);
 *         an embedding of the wrong dimension or with a NaN or infinity;
 *         CTXMEM_EMISMATCH for a segment without an embedding when the
 *         store's embedder was not given at open;
 *         CTXMEM_EREADONLY on a read-only store; CTXMEM_EIO; CTXMEM_ENOMEM;
 *         CTXMEM_ECALLBACK when a custom tokenizer or the embedder failed.
 *
 * Segments are embedded and analysed before the write transaction; their
 * vectors and lexical postings are written in the same transaction as the
 * segments, so a committed segment is always searchable (ctxmem/index.h).
 */
CTXMEM_API int ctxmem_store_add(ctxmem_store *store, const ctxmem_scope *scope,
                                const ctxmem_segment_in *segs, size_t n, uint64_t *ids);

/**
 * Read one segment by id.
 *
 * @param[out] out  a copy of the segment, freed with ctxmem_segment_free;
 *                  NULL on failure.
 * @return CTXMEM_OK; CTXMEM_EINVAL for NULL arguments; CTXMEM_ENOTFOUND;
 *         CTXMEM_ECORRUPT when the record fails its checks; CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_store_get(ctxmem_segment **out, ctxmem_store *store, uint64_t id);

/** Free a segment returned by ctxmem_store_get. NULL is fine. */
CTXMEM_API void ctxmem_segment_free(ctxmem_segment *seg);

/** The mutable status of a segment (ctxmem_store_status). */
typedef struct ctxmem_segment_status {
    int64_t end_time;     /**< when it was superseded, Unix ms; 0 while current */
    uint64_t successor;   /**< the segment that superseded it; 0 while current */
} ctxmem_segment_status;

/**
 * Read whether a segment is current or superseded.
 * @return CTXMEM_OK; CTXMEM_EINVAL; CTXMEM_ENOTFOUND for an unknown id.
 */
CTXMEM_API int ctxmem_store_status(ctxmem_store *store, uint64_t id,
                                   ctxmem_segment_status *status);

/**
 * Look up a scope's id.
 *
 * @return CTXMEM_OK; CTXMEM_EINVAL for a bad scope; CTXMEM_ENOTFOUND when the
 *         scope has no segments yet.
 */
CTXMEM_API int ctxmem_store_scope_id(ctxmem_store *store, const ctxmem_scope *scope,
                                     uint32_t *scope_id);

/** One scope of a store, as listed by ctxmem_store_scopes. */
typedef struct ctxmem_scope_info {
    uint32_t id;         /**< scope id */
    ctxmem_scope scope;  /**< names; "" for an absent agent or session */
    uint64_t segments;   /**< segments in the scope */
    uint64_t tokens;     /**< sum of their tokens */
} ctxmem_scope_info;

/** Called once per scope; return nonzero to stop early. */
typedef int (*ctxmem_scope_cb)(void *user, const ctxmem_scope_info *info);

/**
 * List the store's scopes in id order, in one snapshot.
 *
 * The info and its strings are borrowed for the duration of the callback.
 * @return CTXMEM_OK (also when the callback stopped early); CTXMEM_EINVAL
 *         for a NULL store or callback; CTXMEM_ECORRUPT; CTXMEM_EIO.
 */
CTXMEM_API int ctxmem_store_scopes(ctxmem_store *store, ctxmem_scope_cb cb, void *user);

/**
 * Iterate over one scope's segments in sequence order, starting at sequence
 * number `from_seq` (1 for the start).
 *
 * The iterator reads one consistent snapshot: segments added after it was
 * created are not seen. It holds an LMDB read transaction, so free it soon.
 *
 * @param[out] out  the iterator; NULL on failure.
 * @return CTXMEM_OK (an unknown scope gives an empty iterator); CTXMEM_EINVAL;
 *         CTXMEM_EIO; CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_iter_new(ctxmem_iter **out, ctxmem_store *store, const ctxmem_scope *scope,
                               uint64_t from_seq);

/**
 * Step an iterator.
 *
 * @param[out] seg  the next segment, borrowed: valid until the next call on
 *                  this iterator or ctxmem_iter_free.
 * @return CTXMEM_OK with *seg set; CTXMEM_ENOTFOUND at the end;
 *         CTXMEM_ECORRUPT for a damaged record; CTXMEM_EINVAL.
 */
CTXMEM_API int ctxmem_iter_next(ctxmem_iter *it, const ctxmem_segment **seg);

/** Free an iterator (ends its read transaction). NULL is fine. */
CTXMEM_API void ctxmem_iter_free(ctxmem_iter *it);

/**
 * Store statistics, read in one snapshot.
 * @return CTXMEM_OK; CTXMEM_EINVAL; CTXMEM_EIO.
 */
CTXMEM_API int ctxmem_store_stat(ctxmem_store *store, ctxmem_store_info *info);

#ifdef __cplusplus
}
#endif

#endif /* CTXMEM_STORE_H */
