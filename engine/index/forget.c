/*
 * ctxmem_store_forget: remove a segment from LMDB, its vector and its
 * postings in one write transaction, then from the loaded FAISS cache.
 */
#include "index_internal.h"
#include "internal.h"

#include <string.h>

struct forget {
    uint64_t id;
    uint32_t scope;
    uint64_t seq, vgen;
};

static int del_key(ctxmem_store *s, MDB_txn *txn, int db, const unsigned char *k, size_t n)
{
    MDB_val key = {n, (void *)k};
    int rc = mdb_del(txn, s->dbi[db], &key, NULL);

    return rc ? store_lmdb_error(rc, "delete segment") : CTXMEM_OK;
}

/* Subtract the segment from its scope record and the store's token total. */
static int update_counts(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint32_t tokens)
{
    unsigned char kb[4], buf[512];
    MDB_val k = {4, kb}, v, tk = {6, "tokens"};
    int rc;

    store_put_be32(kb, scope);
    rc = mdb_get(txn, s->dbi[DB_SCOPE_INFO], &k, &v);
    if (rc != 0 || v.mv_size < 24 || v.mv_size > sizeof(buf))
        return rc ? store_lmdb_error(rc, "read scope record")
                  : err_set(CTXMEM_ECORRUPT, "forget: scope %u record", scope);
    memcpy(buf, v.mv_data, v.mv_size);
    store_put_be64(buf + 8, store_get_be64(buf + 8) - 1);
    store_put_be64(buf + 16, store_get_be64(buf + 16) - tokens);
    v.mv_data = buf;
    rc = mdb_put(txn, s->dbi[DB_SCOPE_INFO], &k, &v, 0);
    if (rc == 0)
        rc = mdb_get(txn, s->dbi[DB_META], &tk, &v);
    if (rc == 0 && v.mv_size == 8) {
        unsigned char t[8];
        MDB_val nv = {8, t};
        store_put_be64(t, store_get_be64(v.mv_data) - tokens);
        rc = mdb_put(txn, s->dbi[DB_META], &tk, &nv, 0);
    }
    return rc ? store_lmdb_error(rc, "update counters") : CTXMEM_OK;
}

static int unindex(ctxmem_store *s, MDB_txn *txn, struct forget *f, const lex_doc *d)
{
    index_scope_state st;
    int rc = vindex_del(s, txn, f->scope, f->seq);

    if (rc == CTXMEM_OK)
        rc = lex_del(s, txn, f->scope, f->seq, d);
    if (rc == CTXMEM_OK)
        rc = index_state_read(s, txn, f->scope, &st);
    if (rc != CTXMEM_OK)
        return rc;
    st.docs -= st.docs ? 1 : 0;
    st.total_len -= st.total_len >= d->len ? d->len : st.total_len;
    f->vgen = ++st.vgen;
    return index_state_write(s, txn, f->scope, &st);
}

static int forget_in_txn(ctxmem_store *s, MDB_txn *txn, void *arg)
{
    struct forget *f = arg;
    unsigned char kb[8], sk[12];
    MDB_val k = {8, kb}, v;
    ctxmem_segment seg;
    struct sb_stemmer *st = NULL;
    lex_doc d = {0};
    int rc;

    store_put_be64(kb, f->id);
    rc = mdb_get(txn, s->dbi[DB_SEGMENTS], &k, &v);
    if (rc != 0)
        return rc == MDB_NOTFOUND ? err_set(CTXMEM_ENOTFOUND, "forget: no segment %llu",
                                            (unsigned long long)f->id)
                                  : store_lmdb_error(rc, "read segment");
    rc = rec_decode(v.mv_data, v.mv_size, f->id, &seg);
    if (rc == CTXMEM_OK)
        rc = lex_stemmer_new(&st, s->index->language);
    /* Analyse before deleting: the text lives in the page being changed. */
    if (rc == CTXMEM_OK)
        rc = lex_analyze(st, s->index->english_stops, seg.text, seg.text_len, &d);
    lex_stemmer_free(st);
    f->scope = seg.scope, f->seq = seg.seq;
    store_put_be32(sk, seg.scope);
    store_put_be64(sk + 4, seg.seq);
    if (rc == CTXMEM_OK)
        rc = update_counts(s, txn, seg.scope, seg.tokens);
    if (rc == CTXMEM_OK)
        rc = del_key(s, txn, DB_SEGMENTS, kb, 8);
    if (rc == CTXMEM_OK)
        rc = del_key(s, txn, DB_SEQUENCE, sk, 12);
    if (rc == CTXMEM_OK)
        rc = unindex(s, txn, f, &d);
    lex_doc_free(&d);
    return rc;
}

int ctxmem_store_forget(ctxmem_store *store, uint64_t id)
{
    struct forget f = {id, 0, 0, 0};
    int rc;

    if (!store)
        return err_set(CTXMEM_EINVAL, "forget: NULL store");
    rc = store_write(store, forget_in_txn, &f);
    if (rc == CTXMEM_OK)
        vindex_forgotten(store, f.scope, f.seq, f.vgen);
    return rc;
}
