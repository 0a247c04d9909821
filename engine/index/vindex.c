/*
 * The vector index: a FAISS cache over the vectors kept in LMDB.
 *
 * LMDB's DB_VECTORS (key u32 BE scope id + u64 BE sequence number, value
 * `dim` floats in host order, normalised) is the source of truth. Each scope
 * has its own FAISS index labelled by sequence number, so a search costs what
 * the scope holds, never what the store holds:
 *  - "IDMap,Flat" (exact inner product) up to flat_max vectors (default
 *    8,192 with CTXMEM_VINDEX_AUTO);
 *  - IVF past it: nlist is the power of two at or below sqrt(n), 64-1,024,
 *    trained on at most 50 * nlist vectors, searched with nprobe =
 *    max(4, nlist / 32), retrained when the scope grows to 4 times the size it
 *    was trained at. IVF supports remove_ids, which HNSW does not in FAISS
 *    1.7.3. Its lists hold 8-bit codes (IndexIVFScalarQuantizer, QT_8bit) of
 *    the vectors themselves, not of residuals, over [-1, 1] in every
 *    dimension: the range of any component of a unit vector, so that no
 *    vector added after training is clipped. One byte per dimension is a
 *    quarter of the memory, cache file and load time of floats, for no loss
 *    of recall measured on the scale benchmark (bench_vrecall), but a slower
 *    scan with FAISS's scalar fallback code. CTXMEM_VINDEX_IVF_FLAT keeps
 *    the floats ("IVF<nlist>,Flat").
 *
 * A cache of another kind than the store's options ask for is rebuilt, except
 * that an IVF index is kept when forgets shrink an AUTO scope below the flat
 * threshold.
 *
 * A loaded index is caught up from LMDB before every search (vectors with a
 * higher sequence number are added) and rebuilt when a forget bumped the
 * scope's vector generation. At close, indexes that changed are written to
 * DIR/vindex/<scope>.faiss with a DIR/vindex/<scope>.state file holding the
 * format, embedder, dimension, kind, last sequence number, generation, vector
 * count and an XXH3-64 checksum of the .faiss file. A cache that is missing,
 * unreadable, fails its checksum or disagrees with LMDB is rebuilt; it is
 * never trusted over LMDB.
 */
#include "index_internal.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/IndexScalarQuantizer_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define BATCH 4096
#define STATE_MAGIC "ctxmem-vindex 2"
#define RETRAIN_GROWTH 4

struct vcache {
    uint32_t scope;
    FaissIndex *idx;
    int kind;
    uint64_t last_seq; /* highest sequence number added */
    uint64_t vgen;     /* the scope's vector generation it reflects */
    size_t trained;    /* vectors when an IVF index was trained */
    int dirty;         /* differs from its file */
};

struct vindex_set {
    pthread_mutex_t lock;
    struct vcache *c;
    size_t n, cap;
};

/* Map a FAISS failure, keeping FAISS's own text. */
static int faiss_error(int frc, int code, const char *what)
{
    const char *msg = faiss_get_last_error();

    if (msg && strstr(msg, "bad_alloc"))
        code = CTXMEM_ENOMEM;
    return err_set(code, "faiss: %s (code %d): %s", what, frc, msg ? msg : "no message");
}

int vindex_set_new(struct vindex_set **out)
{
    struct vindex_set *vs = calloc(1, sizeof(*vs));

    if (!vs)
        return err_set(CTXMEM_ENOMEM, "index: out of memory");
    pthread_mutex_init(&vs->lock, NULL);
    *out = vs;
    return CTXMEM_OK;
}

static void cache_reset(struct vcache *c)
{
    if (c->idx)
        faiss_Index_free(c->idx);
    c->idx = NULL;
    c->last_seq = 0, c->vgen = 0, c->trained = 0, c->kind = 0;
    c->dirty = 1;
}

/* Paths of a scope's cache files. */
static void cache_paths(ctxmem_store *s, uint32_t scope, char *faiss, char *state, size_t cap)
{
    snprintf(faiss, cap, "%s/vindex/%" PRIu32 ".faiss", s->dir, scope);
    snprintf(state, cap, "%s/vindex/%" PRIu32 ".state", s->dir, scope);
}

/* ---- vectors in LMDB ---- */

int vindex_put(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq, const float *v)
{
    unsigned char kb[12];
    MDB_val k = {12, kb}, val = {s->index->dim * sizeof(float), (void *)v};
    int rc;

    store_put_be32(kb, scope);
    store_put_be64(kb + 4, seq);
    rc = mdb_put(txn, s->dbi[DB_VECTORS], &k, &val, 0);
    return rc ? store_lmdb_error(rc, "write vector") : CTXMEM_OK;
}

int vindex_del(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq)
{
    unsigned char kb[12];
    MDB_val k = {12, kb};
    int rc;

    store_put_be32(kb, scope);
    store_put_be64(kb + 4, seq);
    rc = mdb_del(txn, s->dbi[DB_VECTORS], &k, NULL);
    return rc && rc != MDB_NOTFOUND ? store_lmdb_error(rc, "delete vector") : CTXMEM_OK;
}

/* Batches of a scope's vectors with seq >= from, handed to fn. */
typedef int (*vec_batch_fn)(void *ctx, const float *x, const idx_t *ids, size_t n);

struct scan {
    float *x;
    idx_t *ids;
    size_t n;
    uint64_t last;
};

static int scan_flush(struct scan *sc, vec_batch_fn fn, void *ctx)
{
    int rc = sc->n ? fn(ctx, sc->x, sc->ids, sc->n) : CTXMEM_OK;

    sc->n = 0;
    return rc;
}

static int scan_vectors(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t from,
                        vec_batch_fn fn, void *ctx, uint64_t *last)
{
    size_t dim = s->index->dim, vbytes = dim * sizeof(float);
    struct scan sc = {malloc(BATCH * vbytes), malloc(BATCH * sizeof(idx_t)), 0, 0};
    unsigned char kb[12];
    MDB_val k = {12, kb}, v;
    MDB_cursor *c = NULL;
    int rc = CTXMEM_OK, mrc;

    if (!sc.x || !sc.ids)
        rc = err_set(CTXMEM_ENOMEM, "index: out of memory reading vectors");
    else if ((mrc = mdb_cursor_open(txn, s->dbi[DB_VECTORS], &c)) != 0)
        rc = store_lmdb_error(mrc, "open vectors");
    store_put_be32(kb, scope);
    store_put_be64(kb + 4, from);
    for (mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
         rc == CTXMEM_OK && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 12 || store_get_be32(k.mv_data) != scope)
            break;
        if (v.mv_size != vbytes) {
            rc = err_set(CTXMEM_ECORRUPT, "index: vector of %zu bytes, want %zu", v.mv_size,
                         vbytes);
            break;
        }
        sc.ids[sc.n] = (idx_t)store_get_be64((unsigned char *)k.mv_data + 4);
        sc.last = (uint64_t)sc.ids[sc.n];
        memcpy(sc.x + sc.n++ * dim, v.mv_data, vbytes);
        if (sc.n == BATCH)
            rc = scan_flush(&sc, fn, ctx);
    }
    if (rc == CTXMEM_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = store_lmdb_error(mrc, "read vectors");
    if (rc == CTXMEM_OK)
        rc = scan_flush(&sc, fn, ctx);
    if (c)
        mdb_cursor_close(c);
    free(sc.x);
    free(sc.ids);
    *last = sc.last;
    return rc;
}

/* ---- building ---- */

static int add_batch(void *ctx, const float *x, const idx_t *ids, size_t n)
{
    FaissIndex *idx = ctx;
    int frc = faiss_Index_add_with_ids(idx, (idx_t)n, x, ids);

    return frc ? faiss_error(frc, CTXMEM_EIO, "add vectors") : CTXMEM_OK;
}

static size_t ivf_nlist(size_t n)
{
    size_t nl = 64;

    while (nl * 2 <= 1024 && (nl * 2) * (nl * 2) <= n)
        nl *= 2;
    return nl;
}

static void ivf_tune(FaissIndex *idx)
{
    FaissIndexIVF *ivf = faiss_IndexIVF_cast(idx);

    if (ivf) {
        size_t nl = faiss_IndexIVF_nlist(ivf);
        faiss_IndexIVF_set_nprobe(ivf, nl / 32 > 4 ? nl / 32 : 4);
    }
}

/* Training sample for IVF: the first vectors of the scope. */
struct sample {
    float *x;
    size_t n, cap, dim;
};

static int take_sample(void *ctx, const float *x, const idx_t *ids, size_t n)
{
    struct sample *sm = ctx;
    size_t take = sm->cap - sm->n < n ? sm->cap - sm->n : n;

    (void)ids;
    memcpy(sm->x + sm->n * sm->dim, x, take * sm->dim * sizeof(float));
    sm->n += take;
    return CTXMEM_OK;
}

/* The kind of IVF index the store's options ask for. */
static int ivf_kind(const ctxmem_store *s)
{
    return s->index->vkind == CTXMEM_VINDEX_IVF_FLAT ? VINDEX_IVF_FLAT : VINDEX_IVF;
}

/* An untrained IVF index of the wanted kind; see the top of the file. */
static int ivf_new(ctxmem_store *s, size_t nl, FaissIndex **out)
{
    size_t dim = s->index->dim;
    FaissIndexFlatIP *q = NULL;
    FaissIndexIVFScalarQuantizer *sq = NULL;
    char spec[32];
    int frc;

    if (ivf_kind(s) == VINDEX_IVF_FLAT) {
        snprintf(spec, sizeof(spec), "IVF%zu,Flat", nl);
        frc = faiss_index_factory(out, (int)dim, spec, METRIC_INNER_PRODUCT);
        return frc ? faiss_error(frc, CTXMEM_EIO, "create IVF index") : CTXMEM_OK;
    }
    frc = faiss_IndexFlatIP_new_with(&q, (idx_t)dim);
    if (frc == 0)
        frc = faiss_IndexIVFScalarQuantizer_new_with_metric(&sq, (FaissIndex *)q, dim, nl, QT_8bit,
                                                            METRIC_INNER_PRODUCT, 0);
    if (frc != 0) {
        faiss_Index_free((FaissIndex *)q);
        return faiss_error(frc, CTXMEM_EIO, "create IVF index");
    }
    faiss_IndexIVFScalarQuantizer_set_own_fields(sq, 1);
    *out = (FaissIndex *)sq;
    return CTXMEM_OK;
}

/* Set every dimension's code range to [-1, 1], whatever the sample spanned. */
static int sq_full_range(FaissIndex *idx, size_t dim)
{
    FaissIndexIVFScalarQuantizer *sq = faiss_IndexIVFScalarQuantizer_cast(idx);
    float *ends = sq ? malloc(2 * dim * sizeof(float)) : NULL;
    int frc;

    if (!sq)
        return CTXMEM_OK;
    if (!ends)
        return err_set(CTXMEM_ENOMEM, "index: out of memory training");
    for (size_t i = 0; i < dim; i++)
        ends[i] = -1.0f, ends[dim + i] = 1.0f;
    frc = faiss_IndexIVFScalarQuantizer_train_residual(sq, 2, ends);
    free(ends);
    return frc ? faiss_error(frc, CTXMEM_EIO, "set the code range") : CTXMEM_OK;
}

static int train_ivf(ctxmem_store *s, MDB_txn *txn, struct vcache *c, size_t n)
{
    size_t nl = ivf_nlist(n), dim = s->index->dim;
    struct sample sm = {NULL, 0, nl * 50 < n ? nl * 50 : n, dim};
    uint64_t last;
    int rc = ivf_new(s, nl, &c->idx), frc;

    if (rc != CTXMEM_OK)
        return rc;
    if (!(sm.x = malloc(sm.cap * dim * sizeof(float))))
        return err_set(CTXMEM_ENOMEM, "index: out of memory training");
    rc = scan_vectors(s, txn, c->scope, 1, take_sample, &sm, &last);
    if (rc == CTXMEM_OK && (frc = faiss_Index_train(c->idx, (idx_t)sm.n, sm.x)) != 0)
        rc = faiss_error(frc, CTXMEM_EIO, "train IVF index");
    if (rc == CTXMEM_OK)
        rc = sq_full_range(c->idx, dim);
    free(sm.x);
    ivf_tune(c->idx);
    c->kind = ivf_kind(s), c->trained = n;
    return rc;
}

static int want_ivf(ctxmem_store *s, size_t n)
{
    unsigned k = s->index->vkind;

    return k == CTXMEM_VINDEX_IVF || k == CTXMEM_VINDEX_IVF_FLAT ||
           (k == CTXMEM_VINDEX_AUTO && n > s->index->flat_max);
}

/* Rebuild a scope's index from LMDB. IVF needs enough vectors to train. */
static int cache_build(ctxmem_store *s, MDB_txn *txn, struct vcache *c,
                       const index_scope_state *st)
{
    int rc = CTXMEM_OK, frc;

    cache_reset(c);
    if (want_ivf(s, st->docs) && st->docs >= 64 * 39) {
        rc = train_ivf(s, txn, c, st->docs);
    } else {
        frc = faiss_index_factory(&c->idx, (int)s->index->dim, "IDMap,Flat",
                                  METRIC_INNER_PRODUCT);
        rc = frc ? faiss_error(frc, CTXMEM_EIO, "create flat index") : CTXMEM_OK;
        c->kind = VINDEX_FLAT;
    }
    if (rc == CTXMEM_OK)
        rc = scan_vectors(s, txn, c->scope, 1, add_batch, c->idx, &c->last_seq);
    c->vgen = st->vgen;
    if (rc != CTXMEM_OK)
        cache_reset(c);
    return rc;
}

/* ---- persistence ---- */

/* XXH3-64 of a stream read in chunks; leaves it at its start. */
static int hash_file(FILE *f, uint64_t *sum)
{
    XXH3_state_t *st = XXH3_createState();
    unsigned char *chunk = malloc(1 << 16);
    size_t n;
    int rc = st && chunk && XXH3_64bits_reset(st) == XXH_OK ? CTXMEM_OK : CTXMEM_ENOMEM;

    while (rc == CTXMEM_OK && (n = fread(chunk, 1, 1 << 16, f)) > 0)
        rc = XXH3_64bits_update(st, chunk, n) == XXH_OK ? CTXMEM_OK : CTXMEM_EIO;
    if (rc == CTXMEM_OK && (ferror(f) || fseek(f, 0, SEEK_SET) != 0))
        rc = CTXMEM_EIO;
    if (rc == CTXMEM_OK)
        *sum = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    free(chunk);
    return rc;
}

struct cache_file {
    char emb[72];
    size_t dim, ntotal, trained;
    int kind;
    uint64_t last_seq, vgen, sum;
};

static int parse_state(const char *path, struct cache_file *cf)
{
    FILE *f = fopen(path, "r");
    char magic[32];
    int ok;

    if (!f)
        return CTXMEM_ENOTFOUND;
    ok = fscanf(f, "%31[^\n] %71s %zu %d %" SCNu64 " %" SCNu64 " %zu %zu %" SCNx64, magic,
                cf->emb, &cf->dim, &cf->kind, &cf->last_seq, &cf->vgen, &cf->ntotal,
                &cf->trained, &cf->sum) == 9 &&
         strcmp(magic, STATE_MAGIC) == 0;
    fclose(f);
    ok = ok && cf->kind >= VINDEX_FLAT && cf->kind <= VINDEX_IVF_FLAT;
    return ok ? CTXMEM_OK : CTXMEM_ECORRUPT;
}

/* Load a scope's cache file; any doubt leaves the cache empty (rebuilt later). */
static void cache_load(ctxmem_store *s, struct vcache *c, const index_scope_state *st,
                       uint64_t max_seq)
{
    char fpath[4096], spath[4096];
    struct cache_file cf;
    uint64_t sum = 0;
    FILE *mf = NULL;

    cache_paths(s, c->scope, fpath, spath, sizeof(fpath));
    if (parse_state(spath, &cf) != CTXMEM_OK || strcmp(cf.emb, s->index->emb_name) != 0 ||
        cf.dim != s->index->dim || cf.vgen != st->vgen || cf.last_seq > max_seq)
        goto done;
    /* Hash and parse through one stream: the file is never held twice in memory, and
     * a cache replaced meanwhile (by rename) cannot mix two versions. */
    mf = fopen(fpath, "rb");
    if (!mf || hash_file(mf, &sum) != CTXMEM_OK || sum != cf.sum ||
        faiss_read_index(mf, 0, &c->idx) != 0)
        goto done;
    if ((size_t)faiss_Index_ntotal(c->idx) != cf.ntotal || faiss_Index_d(c->idx) != (int)cf.dim) {
        faiss_Index_free(c->idx);
        c->idx = NULL;
        goto done;
    }
    c->kind = cf.kind, c->last_seq = cf.last_seq, c->vgen = cf.vgen, c->trained = cf.trained;
    c->dirty = 0;
    ivf_tune(c->idx);
done:
    if (mf)
        fclose(mf);
}

/* Create a cache file 0600, like the store's own files (fopen would use 0666 & ~umask). */
static FILE *fopen_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (fd >= 0 && !f)
        close(fd);
    return f;
}

static int write_index(const char *path, const FaissIndex *idx)
{
    FILE *f = fopen_private(path);
    int rc;

    if (!f)
        return err_set(err_from_errno(errno), "index: create '%s': %s", path, strerror(errno));
    rc = faiss_write_index(idx, f);
    if (fclose(f) != 0 && rc == 0)
        return err_set(CTXMEM_EIO, "index: write '%s': %s", path, strerror(errno));
    return rc ? faiss_error(rc, CTXMEM_EIO, "write vector cache") : CTXMEM_OK;
}

static int write_state(const char *path, ctxmem_store *s, const struct vcache *c, uint64_t sum)
{
    FILE *f = fopen_private(path);
    int ok;

    if (!f)
        return CTXMEM_EIO;
    ok = fprintf(f, "%s\n%s %zu %d %" PRIu64 " %" PRIu64 " %zu %zu %016" PRIx64 "\n", STATE_MAGIC,
                 s->index->emb_name, s->index->dim, c->kind, c->last_seq, c->vgen,
                 (size_t)faiss_Index_ntotal(c->idx), c->trained, sum) > 0;
    return fclose(f) == 0 && ok ? CTXMEM_OK : CTXMEM_EIO;
}

/* Write index then state, each through a temporary file and rename. */
static int cache_save(ctxmem_store *s, struct vcache *c)
{
    char fpath[4096], spath[4096], tmp[4200], dir[4096];
    uint64_t sum = 0;
    FILE *f = NULL;
    int rc;

    snprintf(dir, sizeof(dir), "%s/vindex", s->dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return err_set(err_from_errno(errno), "index: create '%s': %s", dir, strerror(errno));
    cache_paths(s, c->scope, fpath, spath, sizeof(fpath));
    snprintf(tmp, sizeof(tmp), "%s.tmp", fpath);
    rc = write_index(tmp, c->idx);
    if (rc != CTXMEM_OK)
        return rc;
    f = fopen(tmp, "rb");
    rc = f && hash_file(f, &sum) == CTXMEM_OK && rename(tmp, fpath) == 0 ? CTXMEM_OK : CTXMEM_EIO;
    if (f)
        fclose(f);
    snprintf(tmp, sizeof(tmp), "%s.tmp", spath);
    if (rc == CTXMEM_OK)
        rc = write_state(tmp, s, c, sum);
    if (rc == CTXMEM_OK && rename(tmp, spath) != 0)
        rc = CTXMEM_EIO;
    if (rc == CTXMEM_OK)
        c->dirty = 0;
    return rc == CTXMEM_OK ? rc : err_set(rc, "index: cannot write the vector cache of scope %u",
                                          c->scope);
}

/* ---- the cache set ---- */

static struct vcache *cache_find(struct vindex_set *vs, uint32_t scope)
{
    for (size_t i = 0; i < vs->n; i++)
        if (vs->c[i].scope == scope)
            return &vs->c[i];
    return NULL;
}

static struct vcache *cache_add(struct vindex_set *vs, uint32_t scope)
{
    struct vcache *c;

    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 8;
        struct vcache *nc = realloc(vs->c, cap * sizeof(*nc));
        if (!nc)
            return NULL;
        vs->c = nc, vs->cap = cap;
    }
    c = &vs->c[vs->n++];
    memset(c, 0, sizeof(*c));
    c->scope = scope;
    return c;
}

/*
 * Whether a loaded cache is of another kind than the options ask for: an IVF
 * index when they say FLAT, or the other IVF kind. Flat to IVF is left to the
 * growth rule of cache_sync.
 */
static int kind_changed(const ctxmem_store *s, const struct vcache *c)
{
    if (c->kind == VINDEX_FLAT)
        return 0;
    return s->index->vkind == CTXMEM_VINDEX_FLAT || c->kind != ivf_kind(s);
}

/* Bring a scope's cache level with this transaction's snapshot. */
static int cache_sync(ctxmem_store *s, MDB_txn *txn, struct vcache *c, uint64_t max_seq)
{
    index_scope_state st;
    uint64_t last = 0;
    int rc = index_state_read(s, txn, c->scope, &st);

    if (rc != CTXMEM_OK)
        return rc;
    if (!c->idx && !c->dirty)
        cache_load(s, c, &st, max_seq);
    if (!c->idx || st.vgen > c->vgen || kind_changed(s, c))
        return cache_build(s, txn, c, &st);
    if (st.vgen < c->vgen || c->last_seq >= max_seq)
        return CTXMEM_OK; /* this snapshot is older than the cache: results are rechecked */
    rc = scan_vectors(s, txn, c->scope, c->last_seq + 1, add_batch, c->idx, &last);
    if (rc != CTXMEM_OK)
        return cache_build(s, txn, c, &st);
    c->last_seq = last > c->last_seq ? last : c->last_seq;
    c->dirty = 1;
    if ((size_t)faiss_Index_ntotal(c->idx) != st.docs ||
        (c->kind == VINDEX_FLAT && want_ivf(s, st.docs) && st.docs >= 64 * 39) ||
        (c->kind != VINDEX_FLAT && st.docs > RETRAIN_GROWTH * c->trained))
        return cache_build(s, txn, c, &st);
    return CTXMEM_OK;
}

/*
 * One query on the calling thread alone. FAISS opens an OpenMP team for it
 * that has no work to share, and on a busy machine the team's wake-ups and
 * spinning cost more than the search (measured: 11 ms against 1 ms per window
 * in a LoCoMo replay). The thread count is this thread's own OpenMP setting
 * and is put back after the call.
 */
static int search_one(FaissIndex *idx, const float *q, size_t k, float *dist, idx_t *labels)
{
    int threads = omp_get_max_threads(), frc;

    omp_set_num_threads(1);
    frc = faiss_Index_search(idx, 1, q, (idx_t)k, dist, labels);
    omp_set_num_threads(threads);
    return frc;
}

int vindex_search(ctxmem_store *s, MDB_txn *txn, const rank_scope *scope, const float *q,
                  size_t depth, rank_cand *out, size_t *n_out)
{
    struct vindex_set *vs = s->index->vectors;
    float *dist = malloc(depth * sizeof(float));
    idx_t *labels = malloc(depth * sizeof(idx_t));
    struct vcache *c;
    int rc = CTXMEM_OK, frc;

    *n_out = 0;
    if (!dist || !labels)
        rc = err_set(CTXMEM_ENOMEM, "index: out of memory searching");
    pthread_mutex_lock(&vs->lock);
    c = cache_find(vs, scope->id);
    if (rc == CTXMEM_OK && !c && !(c = cache_add(vs, scope->id)))
        rc = err_set(CTXMEM_ENOMEM, "index: out of memory searching");
    if (rc == CTXMEM_OK)
        rc = cache_sync(s, txn, c, scope->max_seq);
    if (rc == CTXMEM_OK && faiss_Index_ntotal(c->idx) > 0) {
        frc = search_one(c->idx, q, depth, dist, labels);
        rc = frc ? faiss_error(frc, CTXMEM_EIO, "search") : CTXMEM_OK;
        for (size_t i = 0; rc == CTXMEM_OK && i < depth && labels[i] >= 0; i++) {
            rank_cand rc_ = {scope->id, (uint64_t)labels[i], dist[i]};
            out[(*n_out)++] = rc_;
        }
    }
    pthread_mutex_unlock(&vs->lock);
    free(dist);
    free(labels);
    return rc;
}

void vindex_forgotten(ctxmem_store *s, uint32_t scope, uint64_t seq, uint64_t vgen)
{
    struct vindex_set *vs = s->index->vectors;
    struct vcache *c;
    FaissIDSelectorRange *sel = NULL;
    size_t removed = 0;

    pthread_mutex_lock(&vs->lock);
    c = cache_find(vs, scope);
    if (c && c->idx && c->vgen + 1 == vgen &&
        faiss_IDSelectorRange_new(&sel, (idx_t)seq, (idx_t)seq + 1) == 0 &&
        faiss_Index_remove_ids(c->idx, (FaissIDSelector *)sel, &removed) == 0) {
        c->vgen = vgen;
        c->dirty = 1;
    }
    faiss_IDSelectorRange_free(sel);
    pthread_mutex_unlock(&vs->lock);
}

void vindex_drop_all(ctxmem_store *s)
{
    struct vindex_set *vs = s->index->vectors;
    char dir[4096], path[4400];
    struct dirent *e;
    DIR *d;

    pthread_mutex_lock(&vs->lock);
    for (size_t i = 0; i < vs->n; i++)
        cache_reset(&vs->c[i]);
    vs->n = 0;
    pthread_mutex_unlock(&vs->lock);

    /* Every cache file goes, also those of scopes never loaded here. */
    snprintf(dir, sizeof(dir), "%s/vindex", s->dir);
    if (!(d = opendir(dir)))
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

void vindex_set_free(ctxmem_store *s, struct vindex_set *vs)
{
    if (!vs)
        return;
    for (size_t i = 0; i < vs->n; i++) {
        struct vcache *c = &vs->c[i];
        /* A cache that cannot be written is rebuilt at the next open. */
        if (c->idx && c->dirty && !(s->flags & CTXMEM_OPEN_READONLY))
            cache_save(s, c);
        if (c->idx)
            faiss_Index_free(c->idx);
    }
    free(vs->c);
    pthread_mutex_destroy(&vs->lock);
    free(vs);
}
