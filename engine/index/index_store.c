/*
 * The index's part of the store's life: recording or checking the embedder
 * and language at open, indexing inside ctxmem_store_add's transaction,
 * re-embedding on request, and persisting the vector caches at close.
 *
 * Metadata keys (DB_META): "embedder" (name), "embedder_dim" (u32 BE),
 * "language" (Snowball language name).
 */
#include "index_internal.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_FLAT_MAX 8192
#define REEMBED_BATCH 256

static int meta_read(ctxmem_store *s, MDB_txn *txn, const char *key, MDB_val *v)
{
    MDB_val k = {strlen(key), (void *)key};
    int rc = mdb_get(txn, s->dbi[DB_META], &k, v);

    if (rc == MDB_NOTFOUND)
        return err_set(CTXMEM_ECORRUPT, "index: store '%s' has no '%s' record", s->dir, key);
    return rc ? store_lmdb_error(rc, "read index metadata") : CTXMEM_OK;
}

static int meta_write(ctxmem_store *s, MDB_txn *txn, const char *key, const void *p, size_t n)
{
    MDB_val k = {strlen(key), (void *)key}, v = {n, (void *)p};
    int rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);

    return rc ? store_lmdb_error(rc, "write index metadata") : CTXMEM_OK;
}

static int check_embedder(const ctxmem_embedder *e)
{
    size_t n = e->name ? strlen(e->name) : 0;

    if (e->version != CTXMEM_EMBEDDER_VERSION)
        return err_set(CTXMEM_EINVAL, "index: embedder version %u, this library knows %u",
                       e->version, CTXMEM_EMBEDDER_VERSION);
    if (n == 0 || n > 64)
        return err_set(CTXMEM_EINVAL, "index: embedder name must be 1-64 bytes");
    for (size_t i = 0; i < n; i++)
        if (e->name[i] < 0x21 || e->name[i] > 0x7E)
            return err_set(CTXMEM_EINVAL, "index: embedder name '%s' is not printable ASCII",
                           e->name);
    if (e->dim < 1 || e->dim > EMBED_MAX_DIM)
        return err_set(CTXMEM_EINVAL, "index: embedder dimension %zu is outside 1-%d", e->dim,
                       EMBED_MAX_DIM);
    if (!e->embed)
        return err_set(CTXMEM_EINVAL, "index: embedder '%s' has no embed function", e->name);
    return CTXMEM_OK;
}

static int record_embedder(ctxmem_store *s, MDB_txn *txn, const ctxmem_embedder *e)
{
    unsigned char dim[4];
    int rc = meta_write(s, txn, "embedder", e->name, strlen(e->name));

    store_put_be32(dim, (uint32_t)e->dim);
    return rc == CTXMEM_OK ? meta_write(s, txn, "embedder_dim", dim, 4) : rc;
}

/* Read the recorded embedder name and dimension into the index state. */
static int read_embedder(ctxmem_store *s, MDB_txn *txn, struct index_state *x)
{
    MDB_val v;
    int rc = meta_read(s, txn, "embedder", &v);

    if (rc == CTXMEM_OK && (v.mv_size == 0 || v.mv_size >= sizeof(x->emb_name)))
        rc = err_set(CTXMEM_ECORRUPT, "index: embedder record of %zu bytes", v.mv_size);
    if (rc != CTXMEM_OK)
        return rc;
    memcpy(x->emb_name, v.mv_data, v.mv_size);
    x->emb_name[v.mv_size] = '\0';
    rc = meta_read(s, txn, "embedder_dim", &v);
    if (rc == CTXMEM_OK && v.mv_size != 4)
        rc = err_set(CTXMEM_ECORRUPT, "index: embedder dimension record of %zu bytes", v.mv_size);
    if (rc == CTXMEM_OK)
        x->dim = store_get_be32(v.mv_data);
    return rc;
}

static int read_language(ctxmem_store *s, MDB_txn *txn, struct index_state *x)
{
    MDB_val v;
    int rc = meta_read(s, txn, "language", &v);

    if (rc == CTXMEM_OK && (v.mv_size == 0 || v.mv_size >= sizeof(x->language)))
        rc = err_set(CTXMEM_ECORRUPT, "index: language record of %zu bytes", v.mv_size);
    if (rc == CTXMEM_OK) {
        memcpy(x->language, v.mv_data, v.mv_size);
        x->language[v.mv_size] = '\0';
    }
    return rc;
}

/* The language: recorded for a new store, checked against an existing one. */
static int open_language(ctxmem_store *s, MDB_txn *txn, const char *want, int created)
{
    struct index_state *x = s->index;
    struct sb_stemmer *st = NULL;
    int rc;

    if (want && strlen(want) >= sizeof(x->language))
        return err_set(CTXMEM_EINVAL, "index: language name '%s' is too long", want);
    if (created) {
        snprintf(x->language, sizeof(x->language), "%s", want ? want : LEX_DEFAULT_LANGUAGE);
        rc = meta_write(s, txn, "language", x->language, strlen(x->language));
    } else {
        rc = read_language(s, txn, x);
        if (rc == CTXMEM_OK && want && strcmp(want, x->language) != 0)
            rc = err_set(CTXMEM_EMISMATCH, "index: store '%s' indexes words in '%s', not '%s'",
                         s->dir, x->language, want);
    }
    if (rc == CTXMEM_OK)
        rc = lex_stemmer_new(&st, x->language);
    lex_stemmer_free(st);
    x->english_stops = strcmp(x->language, "english") == 0;
    return rc;
}

/* The embedder: recorded for a new store, checked (or replaced) otherwise. */
static int open_embedder(ctxmem_store *s, MDB_txn *txn, const ctxmem_options *o, int created,
                         int *reembed)
{
    struct index_state *x = s->index;
    const ctxmem_embedder *want = o->embedder ? o->embedder : embed_default();
    int rc;

    if (created || !o->embedder) {
        rc = created ? record_embedder(s, txn, want) : read_embedder(s, txn, x);
        if (created)
            snprintf(x->emb_name, sizeof(x->emb_name), "%s", want->name), x->dim = want->dim;
        x->emb = !strcmp(x->emb_name, want->name) && x->dim == want->dim ? want : NULL;
        return rc;
    }
    rc = read_embedder(s, txn, x);
    if (rc != CTXMEM_OK || (!strcmp(x->emb_name, want->name) && x->dim == want->dim)) {
        x->emb = want;
        return rc;
    }
    if (!(o->flags & CTXMEM_OPEN_REEMBED))
        return err_set(CTXMEM_EMISMATCH, "index: store '%s' was embedded with '%s' (%zu "
                       "dimensions), not '%s' (%zu); open with CTXMEM_OPEN_REEMBED to re-embed",
                       s->dir, x->emb_name, x->dim, want->name, want->dim);
    if (o->flags & CTXMEM_OPEN_READONLY)
        return err_set(CTXMEM_EREADONLY, "index: cannot re-embed a store opened read-only");
    *reembed = 1;
    x->emb = want;
    return CTXMEM_OK;
}

int index_open(ctxmem_store *s, MDB_txn *txn, const ctxmem_options *o, int created,
               int *reembed)
{
    int rc;

    *reembed = 0;
    if (o->embedder && (rc = check_embedder(o->embedder)) != CTXMEM_OK)
        return rc;
    s->index = calloc(1, sizeof(*s->index));
    if (!s->index || vindex_set_new(&s->index->vectors) != CTXMEM_OK)
        return err_set(CTXMEM_ENOMEM, "index: out of memory");
    s->index->vkind = o->vector_index;
    s->index->flat_max = o->vector_flat_max ? o->vector_flat_max : DEFAULT_FLAT_MAX;
    rc = open_language(s, txn, o->language, created);
    if (rc == CTXMEM_OK)
        rc = open_embedder(s, txn, o, created, reembed);
    return rc;
}

void index_close(ctxmem_store *s)
{
    if (!s->index)
        return;
    vindex_set_free(s, s->index->vectors);
    free(s->index);
    s->index = NULL;
}

/* ---- adding ---- */

static int batch_vectors(ctxmem_store *s, const ctxmem_segment_in *segs, size_t n, float *out)
{
    size_t dim = s->index->dim, m = 0;
    const char **texts = malloc(n * sizeof(*texts));
    size_t *lens = malloc(n * sizeof(*lens)), *rows = malloc(n * sizeof(*rows));
    float *tmp = NULL;
    int rc = texts && lens && rows ? CTXMEM_OK : err_set(CTXMEM_ENOMEM, "index: out of memory");

    for (size_t i = 0; rc == CTXMEM_OK && i < n; i++) {
        char what[48];
        snprintf(what, sizeof(what), "segment %zu: embedding", i);
        if (segs[i].embedding)
            rc = embed_check_copy(segs[i].embedding, segs[i].embedding_dim, dim,
                                  out + i * dim, what);
        else
            texts[m] = segs[i].text ? segs[i].text : "", lens[m] = segs[i].text_len, rows[m++] = i;
    }
    if (rc == CTXMEM_OK && m && !(tmp = malloc(m * dim * sizeof(float))))
        rc = err_set(CTXMEM_ENOMEM, "index: out of memory embedding");
    if (rc == CTXMEM_OK && m)
        rc = embed_texts(s, texts, lens, m, tmp);
    for (size_t j = 0; rc == CTXMEM_OK && j < m; j++)
        memcpy(out + rows[j] * dim, tmp + j * dim, dim * sizeof(float));
    free(tmp);
    free(rows);
    free(lens);
    free(texts);
    return rc;
}

int index_batch_prepare(ctxmem_store *s, const ctxmem_segment_in *segs, size_t n,
                        index_batch *b)
{
    struct sb_stemmer *st = NULL;
    int rc;

    memset(b, 0, sizeof(*b));
    b->vectors = malloc(n * s->index->dim * sizeof(float));
    b->docs = calloc(n, sizeof(*b->docs));
    b->n = n;
    if (!b->vectors || !b->docs)
        return err_set(CTXMEM_ENOMEM, "index: out of memory indexing %zu segments", n);
    rc = batch_vectors(s, segs, n, b->vectors);
    if (rc == CTXMEM_OK)
        rc = lex_stemmer_new(&st, s->index->language);
    for (size_t i = 0; rc == CTXMEM_OK && i < n; i++)
        rc = lex_analyze(st, s->index->english_stops, segs[i].text ? segs[i].text : "",
                         segs[i].text_len, &b->docs[i]);
    lex_stemmer_free(st);
    return rc;
}

void index_batch_free(index_batch *b)
{
    for (size_t i = 0; b->docs && i < b->n; i++)
        lex_doc_free(&b->docs[i]);
    free(b->docs);
    free(b->vectors);
    memset(b, 0, sizeof(*b));
}

int index_batch_put(ctxmem_store *s, MDB_txn *txn, const index_batch *b, size_t i,
                    uint32_t scope, uint64_t seq)
{
    index_scope_state st;
    int rc = vindex_put(s, txn, scope, seq, b->vectors + i * s->index->dim);

    if (rc == CTXMEM_OK)
        rc = lex_put(s, txn, scope, seq, &b->docs[i]);
    if (rc == CTXMEM_OK)
        rc = index_state_read(s, txn, scope, &st);
    if (rc != CTXMEM_OK)
        return rc;
    st.docs++;
    st.total_len += b->docs[i].len;
    return index_state_write(s, txn, scope, &st);
}

/* ---- re-embedding ---- */

struct reembed {
    const char *texts[REEMBED_BATCH];
    size_t lens[REEMBED_BATCH];
    uint32_t scope[REEMBED_BATCH];
    uint64_t seq[REEMBED_BATCH];
    size_t n;
    float *vec;
};

static int reembed_flush(ctxmem_store *s, MDB_txn *txn, struct reembed *r)
{
    int rc = r->n ? embed_texts(s, r->texts, r->lens, r->n, r->vec) : CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < r->n; i++)
        rc = vindex_put(s, txn, r->scope[i], r->seq[i], r->vec + i * s->index->dim);
    r->n = 0;
    return rc;
}

static int bump_generations(ctxmem_store *s, MDB_txn *txn)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, s->dbi[DB_SCOPE_INFO], &c), mrc;

    if (rc != 0)
        return store_lmdb_error(rc, "open scopes");
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == CTXMEM_OK && mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        index_scope_state st;
        uint32_t scope = store_get_be32(k.mv_data);
        rc = index_state_read(s, txn, scope, &st);
        st.vgen++;
        if (rc == CTXMEM_OK)
            rc = index_state_write(s, txn, scope, &st);
    }
    mdb_cursor_close(c);
    return rc;
}

static int reembed_in_txn(ctxmem_store *s, MDB_txn *txn, void *arg)
{
    struct reembed *r = arg;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    ctxmem_segment seg;
    int rc = record_embedder(s, txn, s->index->emb), mrc;

    if (rc == CTXMEM_OK && (mrc = mdb_drop(txn, s->dbi[DB_VECTORS], 0)) != 0)
        rc = store_lmdb_error(mrc, "clear vectors");
    if (rc == CTXMEM_OK && (mrc = mdb_cursor_open(txn, s->dbi[DB_SEGMENTS], &c)) != 0)
        rc = store_lmdb_error(mrc, "open segments");
    r->n = 0;
    for (mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_FIRST);
         rc == CTXMEM_OK && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        rc = rec_decode(v.mv_data, v.mv_size, store_get_be64(k.mv_data), &seg);
        if (rc != CTXMEM_OK)
            break;
        r->texts[r->n] = seg.text, r->lens[r->n] = seg.text_len;
        r->scope[r->n] = seg.scope, r->seq[r->n++] = seg.seq;
        if (r->n == REEMBED_BATCH)
            rc = reembed_flush(s, txn, r);
    }
    if (c)
        mdb_cursor_close(c);
    if (rc == CTXMEM_OK)
        rc = reembed_flush(s, txn, r);
    return rc == CTXMEM_OK ? bump_generations(s, txn) : rc;
}

int index_reembed(ctxmem_store *s)
{
    struct reembed *r = calloc(1, sizeof(*r));
    int rc;

    if (!r || !(r->vec = malloc(REEMBED_BATCH * s->index->dim * sizeof(float)))) {
        free(r);
        return err_set(CTXMEM_ENOMEM, "index: out of memory re-embedding");
    }
    snprintf(s->index->emb_name, sizeof(s->index->emb_name), "%s", s->index->emb->name);
    s->index->dim = s->index->emb->dim;
    rc = store_write(s, reembed_in_txn, r);
    if (rc == CTXMEM_OK)
        vindex_drop_all(s);
    free(r->vec);
    free(r);
    return rc == CTXMEM_OK ? rc : err_wrap(rc, "index: re-embed '%s'", s->dir);
}

void index_describe(const ctxmem_store *s, const char **embedder, size_t *dim,
                    const char **language)
{
    *embedder = s->index ? s->index->emb_name : "";
    *dim = s->index ? s->index->dim : 0;
    *language = s->index ? s->index->language : "";
}
