/*
 * Transactions, map growth and LMDB error mapping.
 *
 * Every transaction holds the store's resize lock shared; growing the map
 * takes it exclusively, because LMDB only allows mdb_env_set_mapsize while the
 * process has no transaction open.
 */
#include "store_internal.h"
#include "internal.h"

/* The last LMDB code mapped on this thread, so store_write can tell a full map
 * (worth growing) from other size limits. */
static _Thread_local int last_mdb_rc;

int store_lmdb_error(int mdb_rc, const char *what)
{
    int code;

    last_mdb_rc = mdb_rc;
    switch (mdb_rc) {
    case MDB_NOTFOUND:
        code = CTXMEM_ENOTFOUND;
        break;
    case MDB_MAP_FULL:
        code = CTXMEM_EFULL;
        break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_BAD_TXN:
        code = CTXMEM_ECORRUPT;
        break;
    case MDB_VERSION_MISMATCH:
        code = CTXMEM_EVERSION;
        break;
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL:
        code = CTXMEM_EFULL;
        break;
    default:
        code = mdb_rc > 0 ? err_from_errno(mdb_rc) : CTXMEM_EIO;
        break;
    }
    return err_set(code, "lmdb: %s: %s", what, mdb_strerror(mdb_rc));
}

void store_put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

uint64_t store_get_be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void store_put_be32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

uint32_t store_get_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Adopt a map size grown by another process (MDB_MAP_RESIZED). */
static int adopt_resize(ctxmem_store *s)
{
    MDB_envinfo info;
    int rc;

    pthread_rwlock_wrlock(&s->resize_lock);
    rc = mdb_env_set_mapsize(s->env, 0);
    if (rc == 0 && mdb_env_info(s->env, &info) == 0)
        s->map_size = info.me_mapsize;
    pthread_rwlock_unlock(&s->resize_lock);
    return rc ? store_lmdb_error(rc, "adopt grown map") : CTXMEM_OK;
}

static int txn_begin(ctxmem_store *s, unsigned flags, MDB_txn **txn)
{
    int rc;

    for (int attempt = 0; attempt < 3; attempt++) {
        pthread_rwlock_rdlock(&s->resize_lock);
        rc = mdb_txn_begin(s->env, NULL, flags, txn);
        if (rc == 0)
            return CTXMEM_OK;
        pthread_rwlock_unlock(&s->resize_lock);
        if (rc != MDB_MAP_RESIZED)
            break;
        if (adopt_resize(s) != CTXMEM_OK)
            return ctxmem_error_last()->code;
    }
    *txn = NULL;
    return store_lmdb_error(rc, "begin transaction");
}

int store_read_begin(ctxmem_store *s, MDB_txn **txn)
{
    return txn_begin(s, MDB_RDONLY, txn);
}

void store_read_end(ctxmem_store *s, MDB_txn *txn)
{
    if (!txn)
        return;
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->resize_lock);
}

/* Double the map, up to map_size_max; CTXMEM_EFULL when already there. */
static int grow_map(ctxmem_store *s)
{
    size_t want;
    int rc;

    if (s->map_size >= s->map_size_max)
        return err_set(CTXMEM_EFULL,
                       "store: map is full at its maximum of %zu bytes "
                       "(raise ctxmem_options.map_size_max)",
                       s->map_size_max);
    want = s->map_size * 2 > s->map_size_max ? s->map_size_max : s->map_size * 2;

    pthread_rwlock_wrlock(&s->resize_lock);
    rc = mdb_env_set_mapsize(s->env, want);
    if (rc == 0)
        s->map_size = want;
    pthread_rwlock_unlock(&s->resize_lock);
    return rc ? store_lmdb_error(rc, "grow map") : CTXMEM_OK;
}

int store_write(ctxmem_store *s, store_write_fn fn, void *ctx)
{
    MDB_txn *txn = NULL;
    int rc, mrc;

    if (s->flags & CTXMEM_OPEN_READONLY)
        return err_set(CTXMEM_EREADONLY, "store: '%s' was opened read-only", s->dir);
    for (;;) {
        rc = txn_begin(s, 0, &txn);
        if (rc != CTXMEM_OK)
            return rc;
        last_mdb_rc = 0;
        rc = fn(s, txn, ctx);
        if (rc == CTXMEM_OK) {
            mrc = mdb_txn_commit(txn);
            rc = mrc ? store_lmdb_error(mrc, "commit") : CTXMEM_OK;
        } else {
            mdb_txn_abort(txn);
        }
        pthread_rwlock_unlock(&s->resize_lock);
        /* EFULL from a full map is retried after growing; a size limit is not. */
        if (rc != CTXMEM_EFULL || last_mdb_rc != MDB_MAP_FULL)
            return rc;
        rc = grow_map(s);
        if (rc != CTXMEM_OK)
            return rc;
    }
}
