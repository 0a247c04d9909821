/*
 * The hot/warm state of a scope: where the hot tier starts and the warm
 * tier's summaries.
 *
 * DB_TIERS (key u32 BE scope id): u64 BE hot_from_seq, u64 BE version.
 * DB_SUMMARIES (key u32 BE scope id + u64 BE first seq): u64 BE last seq,
 * u64 BE time of the last turn covered, then the summary text.
 */
#include "tiers.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SUMMARY_HEAD 16

static int read_summary(const MDB_val *k, const MDB_val *v, tier_summary *out)
{
    const unsigned char *r = v->mv_data;

    if (k->mv_size != 12 || v->mv_size < SUMMARY_HEAD)
        return err_set(CTXMEM_ECORRUPT, "tiers: summary record of %zu bytes", v->mv_size);
    out->first_seq = store_get_be64((const unsigned char *)k->mv_data + 4);
    out->last_seq = store_get_be64(r);
    out->time = (int64_t)store_get_be64(r + 8);
    out->text_len = v->mv_size - SUMMARY_HEAD;
    out->text = malloc(out->text_len + 1);
    if (!out->text)
        return err_set(CTXMEM_ENOMEM, "tiers: out of memory");
    memcpy(out->text, r + SUMMARY_HEAD, out->text_len);
    out->text[out->text_len] = '\0';
    return CTXMEM_OK;
}

static int read_summaries(ctxmem_store *s, MDB_txn *txn, uint32_t scope, tier_state *st)
{
    unsigned char prefix[12] = {0};
    MDB_val k = {12, prefix}, v;
    MDB_cursor *cur = NULL;
    size_t cap = 0;
    int rc = CTXMEM_OK, mrc;

    store_put_be32(prefix, scope);
    if ((mrc = mdb_cursor_open(txn, s->dbi[DB_SUMMARIES], &cur)) != 0)
        return store_lmdb_error(mrc, "open summary cursor");
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == CTXMEM_OK && mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 4 || memcmp(k.mv_data, prefix, 4) != 0)
            break;
        if (st->n_summaries == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            tier_summary *n = realloc(st->summaries, ncap * sizeof(*n));
            if (!n)
                rc = err_set(CTXMEM_ENOMEM, "tiers: out of memory");
            else
                st->summaries = n, cap = ncap;
        }
        if (rc == CTXMEM_OK)
            rc = read_summary(&k, &v, &st->summaries[st->n_summaries]);
        st->n_summaries += rc == CTXMEM_OK;
    }
    mdb_cursor_close(cur);
    return rc;
}

int tier_state_read(ctxmem_store *s, MDB_txn *txn, uint32_t scope, tier_state *st)
{
    unsigned char kb[4];
    MDB_val k = {4, kb}, v;
    int rc;

    memset(st, 0, sizeof(*st));
    st->hot_from_seq = 1;
    store_put_be32(kb, scope);
    rc = mdb_get(txn, s->dbi[DB_TIERS], &k, &v);
    if (rc == 0 && v.mv_size == 16) {
        st->hot_from_seq = store_get_be64(v.mv_data);
        st->version = store_get_be64((unsigned char *)v.mv_data + 8);
    } else if (rc != MDB_NOTFOUND) {
        return rc ? store_lmdb_error(rc, "read tier state")
                  : err_set(CTXMEM_ECORRUPT, "tiers: state of %zu bytes", v.mv_size);
    }
    rc = read_summaries(s, txn, scope, st);
    if (rc != CTXMEM_OK)
        tier_state_clear(st);
    return rc;
}

void tier_state_clear(tier_state *st)
{
    for (size_t i = 0; i < st->n_summaries; i++)
        free(st->summaries[i].text);
    free(st->summaries);
    st->summaries = NULL;
    st->n_summaries = 0;
}

struct state_write {
    uint32_t scope;
    const tier_state *st;
    uint64_t expected;
    int *applied;
};

static int delete_summaries(ctxmem_store *s, MDB_txn *txn, uint32_t scope)
{
    unsigned char prefix[12] = {0};
    MDB_val k = {12, prefix}, v;
    MDB_cursor *cur = NULL;
    int mrc;

    store_put_be32(prefix, scope);
    if ((mrc = mdb_cursor_open(txn, s->dbi[DB_SUMMARIES], &cur)) != 0)
        return store_lmdb_error(mrc, "open summary cursor");
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 4 || memcmp(k.mv_data, prefix, 4) != 0)
            break;
        if ((mrc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return mrc && mrc != MDB_NOTFOUND ? store_lmdb_error(mrc, "delete summaries") : CTXMEM_OK;
}

static int put_summary(ctxmem_store *s, MDB_txn *txn, uint32_t scope, const tier_summary *sum)
{
    unsigned char kb[12];
    MDB_val k = {12, kb}, v = {SUMMARY_HEAD + sum->text_len, NULL};
    int rc;

    store_put_be32(kb, scope);
    store_put_be64(kb + 4, sum->first_seq);
    rc = mdb_put(txn, s->dbi[DB_SUMMARIES], &k, &v, MDB_RESERVE);
    if (rc != 0)
        return store_lmdb_error(rc, "write summary");
    store_put_be64(v.mv_data, sum->last_seq);
    store_put_be64((unsigned char *)v.mv_data + 8, (uint64_t)sum->time);
    memcpy((unsigned char *)v.mv_data + SUMMARY_HEAD, sum->text, sum->text_len);
    return CTXMEM_OK;
}

static int state_write_txn(ctxmem_store *s, MDB_txn *txn, void *arg)
{
    struct state_write *w = arg;
    unsigned char kb[4], vb[16];
    MDB_val k = {4, kb}, v;
    uint64_t version = 0;
    int rc;

    store_put_be32(kb, w->scope);
    rc = mdb_get(txn, s->dbi[DB_TIERS], &k, &v);
    if (rc == 0 && v.mv_size == 16)
        version = store_get_be64((unsigned char *)v.mv_data + 8);
    *w->applied = version == w->expected;
    if (!*w->applied)
        return CTXMEM_OK;

    rc = delete_summaries(s, txn, w->scope);
    for (size_t i = 0; rc == CTXMEM_OK && i < w->st->n_summaries; i++)
        rc = put_summary(s, txn, w->scope, &w->st->summaries[i]);
    if (rc != CTXMEM_OK)
        return rc;
    store_put_be64(vb, w->st->hot_from_seq);
    store_put_be64(vb + 8, version + 1);
    v.mv_size = 16, v.mv_data = vb;
    rc = mdb_put(txn, s->dbi[DB_TIERS], &k, &v, 0);
    return rc ? store_lmdb_error(rc, "write tier state") : CTXMEM_OK;
}

int tier_state_write(ctxmem_store *s, uint32_t scope, const tier_state *st,
                     uint64_t expected_version, int *applied)
{
    struct state_write w = {scope, st, expected_version, applied};

    *applied = 0;
    return store_write(s, state_write_txn, &w);
}

int ctxmem_scope_tiers(ctxmem_store *store, const ctxmem_scope *scope, ctxmem_tier_info *info)
{
    char key[STORE_SCOPE_KEY_MAX];
    size_t len;
    uint32_t id;
    tier_state st;
    MDB_txn *txn = NULL;
    int rc;

    if (!store || !info)
        return err_set(CTXMEM_EINVAL, "tiers: NULL argument");
    memset(info, 0, sizeof(*info));
    info->hot_from_seq = 1;
    rc = store_scope_key(scope, key, sizeof(key), &len);
    if (rc == CTXMEM_OK)
        rc = store_read_begin(store, &txn);
    if (rc != CTXMEM_OK)
        return rc;
    rc = store_scope_lookup(store, txn, key, len, &id);
    if (rc == CTXMEM_OK)
        rc = tier_state_read(store, txn, id, &st);
    if (rc == CTXMEM_OK) {
        info->hot_from_seq = st.hot_from_seq;
        info->summaries = st.n_summaries;
        for (size_t i = 0; i < st.n_summaries; i++)
            info->summary_bytes += st.summaries[i].text_len;
        info->last_seq = store_scope_last_seq(store, txn, id);
        tier_state_clear(&st);
    }
    store_read_end(store, txn);
    return rc == CTXMEM_ENOTFOUND ? CTXMEM_OK : rc;
}
