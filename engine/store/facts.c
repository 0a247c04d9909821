/*
 * What the store keeps beside each segment so that the window can trust it:
 * tool call/result pairs, fact keys and superseded segments, and digests that
 * keep exact duplicates of documents and notes from being stored twice.
 * Everything here runs inside ctxmem_store_add's write transaction.
 */
#include "store_internal.h"
#include "internal.h"

#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#define SCOPED_KEY_MAX (4 + 4096)

/* Key of the form u32 BE scope id + bytes. */
static MDB_val scoped_key(unsigned char *buf, uint32_t scope, const void *bytes, size_t n)
{
    MDB_val k = {4 + n, buf};

    store_put_be32(buf, scope);
    memcpy(buf + 4, bytes, n);
    return k;
}

static int get_ids(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, uint64_t *ids, size_t n, int *found)
{
    MDB_val v;
    int rc = mdb_get(txn, dbi, k, &v);

    *found = 0;
    if (rc == MDB_NOTFOUND)
        return CTXMEM_OK;
    if (rc != 0)
        return store_lmdb_error(rc, "read index");
    if (v.mv_size != 8 * n)
        return err_set(CTXMEM_ECORRUPT, "store: index entry of %zu bytes", v.mv_size);
    for (size_t i = 0; i < n; i++)
        ids[i] = store_get_be64((unsigned char *)v.mv_data + 8 * i);
    *found = 1;
    return CTXMEM_OK;
}

static int put_ids(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, const uint64_t *ids, size_t n)
{
    unsigned char b[16];
    MDB_val v = {8 * n, b};
    int rc;

    for (size_t i = 0; i < n; i++)
        store_put_be64(b + 8 * i, ids[i]);
    rc = mdb_put(txn, dbi, k, &v, 0);
    return rc ? store_lmdb_error(rc, "write index") : CTXMEM_OK;
}

static int check_pair(ctxmem_store *s, MDB_txn *txn, uint32_t scope, const ctxmem_segment_in *in,
                      size_t index)
{
    unsigned char kb[SCOPED_KEY_MAX];
    uint64_t ids[2];
    int found, rc;
    MDB_val k;

    if (!in->pair_id || !*in->pair_id)
        return err_set(CTXMEM_EINVAL, "store: segment %zu: a %s needs a pair_id", index,
                       ctxmem_role_name(in->role));
    k = scoped_key(kb, scope, in->pair_id, strlen(in->pair_id));
    rc = get_ids(txn, s->dbi[DB_PAIRS], &k, ids, 2, &found);
    if (rc != CTXMEM_OK)
        return rc;
    if (in->role == CTXMEM_ROLE_TOOL_CALL && found)
        return err_set(CTXMEM_EINVAL,
                       "store: segment %zu: pair_id '%s' is already used by "
                       "tool call %llu",
                       index, in->pair_id, (unsigned long long)ids[0]);
    if (in->role == CTXMEM_ROLE_TOOL_RESULT && !found)
        return err_set(CTXMEM_EINVAL,
                       "store: segment %zu: unpaired tool result: no tool call "
                       "with pair_id '%s' in this scope",
                       index, in->pair_id);
    if (in->role == CTXMEM_ROLE_TOOL_RESULT && ids[1])
        return err_set(CTXMEM_EINVAL,
                       "store: segment %zu: tool call '%s' already has result "
                       "%llu",
                       index, in->pair_id, (unsigned long long)ids[1]);
    return CTXMEM_OK;
}

static int check_supersedes(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t old,
                            size_t index)
{
    unsigned char kb[8];
    MDB_val k = {8, kb}, v;
    int rc;

    store_put_be64(kb, old);
    rc = mdb_get(txn, s->dbi[DB_SEGMENTS], &k, &v);
    if (rc == MDB_NOTFOUND)
        return err_set(CTXMEM_ENOTFOUND,
                       "store: segment %zu supersedes segment %llu, which "
                       "does not exist",
                       index, (unsigned long long)old);
    if (rc != 0)
        return store_lmdb_error(rc, "read superseded segment");
    if (v.mv_size < REC_HEADER)
        return err_set(CTXMEM_ECORRUPT, "store: segment %llu is damaged", (unsigned long long)old);
    /* The scope id sits at offset 12 of the record, little-endian. */
    const unsigned char *p = v.mv_data;
    uint32_t owner = p[12] | (uint32_t)p[13] << 8 | (uint32_t)p[14] << 16 | (uint32_t)p[15] << 24;
    if (owner != scope)
        return err_set(CTXMEM_EINVAL,
                       "store: segment %zu supersedes segment %llu of another "
                       "scope",
                       index, (unsigned long long)old);
    return CTXMEM_OK;
}

static uint64_t digest_of(const ctxmem_segment_in *in)
{
    XXH3_state_t st;
    unsigned char role = (unsigned char)in->role;

    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, &role, 1);
    if (in->key)
        XXH3_64bits_update(&st, in->key, strlen(in->key) + 1);
    XXH3_64bits_update(&st, in->text ? in->text : "", in->text_len);
    return XXH3_64bits_digest(&st);
}

static int dedup_applies(const ctxmem_segment_in *in)
{
    return in->role == CTXMEM_ROLE_DOCUMENT || in->role == CTXMEM_ROLE_NOTE;
}

/* An existing segment with the same digest and, checked byte for byte, the same text. */
static int find_duplicate(ctxmem_store *s, MDB_txn *txn, uint32_t scope,
                          const ctxmem_segment_in *in, uint64_t *dup)
{
    unsigned char kb[12], sk[8];
    uint64_t digest = digest_of(in), id;
    MDB_val k = {12, kb}, sv = {8, sk}, v;
    ctxmem_segment seg;
    int found, rc;

    store_put_be32(kb, scope);
    store_put_be64(kb + 4, digest);
    rc = get_ids(txn, s->dbi[DB_DIGESTS], &k, &id, 1, &found);
    if (rc != CTXMEM_OK || !found)
        return rc;
    store_put_be64(sk, id);
    if (mdb_get(txn, s->dbi[DB_SEGMENTS], &sv, &v) != 0)
        return CTXMEM_OK;
    rc = rec_decode(v.mv_data, v.mv_size, id, &seg);
    if (rc == CTXMEM_OK && seg.role == in->role && seg.text_len == in->text_len &&
        memcmp(seg.text, in->text ? in->text : "", in->text_len) == 0 &&
        strcmp(seg.key, in->key ? in->key : "") == 0)
        *dup = id;
    return rc;
}

int facts_check(ctxmem_store *s, MDB_txn *txn, uint32_t scope, const ctxmem_segment_in *in,
                size_t index, uint64_t *duplicate_of)
{
    int rc = CTXMEM_OK;

    *duplicate_of = 0;
    if (in->role == CTXMEM_ROLE_TOOL_CALL || in->role == CTXMEM_ROLE_TOOL_RESULT)
        rc = check_pair(s, txn, scope, in, index);
    if (rc == CTXMEM_OK && in->supersedes)
        rc = check_supersedes(s, txn, scope, in->supersedes, index);
    if (rc == CTXMEM_OK && dedup_applies(in))
        rc = find_duplicate(s, txn, scope, in, duplicate_of);
    return rc;
}

static int mark_superseded(ctxmem_store *s, MDB_txn *txn, uint64_t old, uint64_t by, int64_t time)
{
    unsigned char kb[8], vb[16];
    MDB_val k = {8, kb}, v = {16, vb};
    int rc;

    store_put_be64(kb, old);
    store_put_be64(vb, (uint64_t)time);
    store_put_be64(vb + 8, by);
    rc = mdb_put(txn, s->dbi[DB_STATUS], &k, &v, 0);
    return rc ? store_lmdb_error(rc, "write status") : CTXMEM_OK;
}

static int record_pair(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t id,
                       const ctxmem_segment_in *in)
{
    unsigned char kb[SCOPED_KEY_MAX];
    MDB_val k = scoped_key(kb, scope, in->pair_id, strlen(in->pair_id));
    uint64_t ids[2] = {id, 0};
    int found, rc = CTXMEM_OK;

    if (in->role == CTXMEM_ROLE_TOOL_RESULT) {
        rc = get_ids(txn, s->dbi[DB_PAIRS], &k, ids, 2, &found);
        ids[1] = id;
    }
    return rc == CTXMEM_OK ? put_ids(txn, s->dbi[DB_PAIRS], &k, ids, 2) : rc;
}

static int record_key(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t id,
                      const ctxmem_segment_in *in, int64_t time)
{
    unsigned char kb[SCOPED_KEY_MAX];
    MDB_val k = scoped_key(kb, scope, in->key, strlen(in->key));
    uint64_t current;
    int found, rc = get_ids(txn, s->dbi[DB_FACTS], &k, &current, 1, &found);

    if (rc == CTXMEM_OK && found && current != id)
        rc = mark_superseded(s, txn, current, id, time);
    return rc == CTXMEM_OK ? put_ids(txn, s->dbi[DB_FACTS], &k, &id, 1) : rc;
}

static int record_digest(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t id,
                         const ctxmem_segment_in *in)
{
    unsigned char kb[12];
    MDB_val k = {12, kb};

    store_put_be32(kb, scope);
    store_put_be64(kb + 4, digest_of(in));
    return put_ids(txn, s->dbi[DB_DIGESTS], &k, &id, 1);
}

int facts_on_add(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t id,
                 const ctxmem_segment_in *in, int64_t time)
{
    int rc = CTXMEM_OK;

    if (in->role == CTXMEM_ROLE_TOOL_CALL || in->role == CTXMEM_ROLE_TOOL_RESULT)
        rc = record_pair(s, txn, scope, id, in);
    if (rc == CTXMEM_OK && in->key && *in->key)
        rc = record_key(s, txn, scope, id, in, time);
    if (rc == CTXMEM_OK && in->supersedes)
        rc = mark_superseded(s, txn, in->supersedes, id, time);
    if (rc == CTXMEM_OK && dedup_applies(in))
        rc = record_digest(s, txn, scope, id, in);
    return rc;
}

int facts_status_read(ctxmem_store *s, MDB_txn *txn, uint64_t id, ctxmem_segment_status *status)
{
    unsigned char kb[8];
    MDB_val k = {8, kb}, v;
    int rc;

    memset(status, 0, sizeof(*status));
    store_put_be64(kb, id);
    rc = mdb_get(txn, s->dbi[DB_STATUS], &k, &v);
    if (rc == 0 && v.mv_size == 16) {
        status->end_time = (int64_t)store_get_be64(v.mv_data);
        status->successor = store_get_be64((unsigned char *)v.mv_data + 8);
    }
    return rc && rc != MDB_NOTFOUND ? store_lmdb_error(rc, "read status") : CTXMEM_OK;
}

int ctxmem_store_status(ctxmem_store *store, uint64_t id, ctxmem_segment_status *status)
{
    unsigned char kb[8];
    MDB_val k = {8, kb}, v;
    MDB_txn *txn = NULL;
    int rc;

    if (!store || !status)
        return err_set(CTXMEM_EINVAL, "store: NULL argument to status");
    memset(status, 0, sizeof(*status));
    rc = store_read_begin(store, &txn);
    if (rc != CTXMEM_OK)
        return rc;
    store_put_be64(kb, id);
    rc = mdb_get(txn, store->dbi[DB_SEGMENTS], &k, &v);
    if (rc == MDB_NOTFOUND)
        rc = err_set(CTXMEM_ENOTFOUND, "store: no segment %llu", (unsigned long long)id);
    else if (rc != 0)
        rc = store_lmdb_error(rc, "read status");
    else
        rc = facts_status_read(store, txn, id, status);
    store_read_end(store, txn);
    return rc;
}

int facts_pair_lookup(ctxmem_store *s, uint32_t scope, const char *pair_id, uint64_t *call,
                      uint64_t *result)
{
    unsigned char kb[SCOPED_KEY_MAX];
    size_t n = strlen(pair_id);
    uint64_t ids[2] = {0, 0};
    MDB_txn *txn = NULL;
    MDB_val k;
    int found = 0, rc;

    if (n > SCOPED_KEY_MAX - 4)
        return err_set(CTXMEM_EINVAL, "store: pair id of %zu bytes", n);
    rc = store_read_begin(s, &txn);
    if (rc != CTXMEM_OK)
        return rc;
    k = scoped_key(kb, scope, pair_id, n);
    rc = get_ids(txn, s->dbi[DB_PAIRS], &k, ids, 2, &found);
    store_read_end(s, txn);
    *call = ids[0], *result = ids[1];
    return rc;
}
