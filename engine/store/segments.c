/*
 * Adding, reading and iterating segments; scopes.
 */
#include "store_internal.h"
#include "index/index_internal.h"
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCOPE_NAME_MAX 128
#define SCOPE_KEY_MAX  STORE_SCOPE_KEY_MAX
#define SCOPE_REC_HEAD 24

static const char *const role_names[] = {
    NULL, "system", "user", "assistant", "tool_call", "tool_result", "document", "note", "summary"};

const char *ctxmem_role_name(int role)
{
    if (role < CTXMEM_ROLE_SYSTEM || role > CTXMEM_ROLE_SUMMARY)
        return "unknown";
    return role_names[role];
}

int ctxmem_role_parse(const char *name)
{
    for (int r = CTXMEM_ROLE_SYSTEM; name && r <= CTXMEM_ROLE_SUMMARY; r++)
        if (!strcmp(name, role_names[r]))
            return r;
    return err_set(CTXMEM_EINVAL, "role: unknown role '%s'", name ? name : "(null)");
}

static int check_scope_name(const char *what, const char *name, int required)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0)
        return required ? err_set(CTXMEM_EINVAL, "scope: %s name is required", what) : CTXMEM_OK;
    if (n > SCOPE_NAME_MAX)
        return err_set(CTXMEM_EINVAL, "scope: %s name of %zu bytes exceeds %d", what, n,
                       SCOPE_NAME_MAX);
    if (utf8_invalid_offset(name, n) != n)
        return err_set(CTXMEM_EINVAL, "scope: %s name is not valid UTF-8", what);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7F || c == '/' || c == '\\')
            return err_set(CTXMEM_EINVAL,
                           "scope: %s name has byte 0x%02X at offset %zu "
                           "(no control characters, '/' or '\\\\')",
                           what, c, i);
    }
    return CTXMEM_OK;
}

int store_scope_key(const ctxmem_scope *scope, char *key, size_t cap, size_t *len)
{
    const char *parts[3];
    size_t n = 0;
    int rc;

    if (!scope)
        return err_set(CTXMEM_EINVAL, "scope: NULL scope");
    rc = check_scope_name("user", scope->user, 1);
    if (rc == CTXMEM_OK)
        rc = check_scope_name("agent", scope->agent, 0);
    if (rc == CTXMEM_OK)
        rc = check_scope_name("session", scope->session, 0);
    if (rc != CTXMEM_OK)
        return rc;
    parts[0] = scope->user, parts[1] = scope->agent, parts[2] = scope->session;
    for (int i = 0; i < 3; i++) {
        size_t m = parts[i] ? strlen(parts[i]) : 0;
        if (n + m + 1 > cap)
            return err_set(CTXMEM_EINVAL, "scope: key too long");
        memcpy(key + n, parts[i] ? parts[i] : "", m);
        n += m;
        key[n++] = '\0';
    }
    *len = n;
    return CTXMEM_OK;
}

int store_scope_lookup(ctxmem_store *s, MDB_txn *txn, const char *key, size_t len, uint32_t *id)
{
    MDB_val k = {len, (void *)key}, v;
    int rc = mdb_get(txn, s->dbi[DB_SCOPES], &k, &v);

    if (rc == MDB_NOTFOUND)
        return CTXMEM_ENOTFOUND;
    if (rc != 0)
        return store_lmdb_error(rc, "read scope");
    if (v.mv_size != 4)
        return err_set(CTXMEM_ECORRUPT, "store: scope id of %zu bytes", v.mv_size);
    *id = store_get_be32(v.mv_data);
    return CTXMEM_OK;
}

static int scope_rec_read(ctxmem_store *s, MDB_txn *txn, uint32_t id, store_scope_rec *rec)
{
    unsigned char k[4];
    MDB_val key = {4, k}, v;
    int rc;

    store_put_be32(k, id);
    rc = mdb_get(txn, s->dbi[DB_SCOPE_INFO], &key, &v);
    if (rc != 0)
        return rc == MDB_NOTFOUND ? err_set(CTXMEM_ECORRUPT, "store: scope %u has no record", id)
                                  : store_lmdb_error(rc, "read scope record");
    if (v.mv_size < SCOPE_REC_HEAD)
        return err_set(CTXMEM_ECORRUPT, "store: scope %u record of %zu bytes", id, v.mv_size);
    rec->next_seq = store_get_be64(v.mv_data);
    rec->segments = store_get_be64((unsigned char *)v.mv_data + 8);
    rec->tokens = store_get_be64((unsigned char *)v.mv_data + 16);
    return CTXMEM_OK;
}

/* The scope record: counters, then the scope key so that ids map back to names. */
static int scope_rec_write(ctxmem_store *s, MDB_txn *txn, uint32_t id, const store_scope_rec *rec,
                           const char *key, size_t len)
{
    unsigned char k[4], buf[SCOPE_REC_HEAD + SCOPE_KEY_MAX];
    MDB_val mk = {4, k}, v = {SCOPE_REC_HEAD + len, buf};
    int rc;

    store_put_be32(k, id);
    store_put_be64(buf, rec->next_seq);
    store_put_be64(buf + 8, rec->segments);
    store_put_be64(buf + 16, rec->tokens);
    memcpy(buf + SCOPE_REC_HEAD, key, len);
    rc = mdb_put(txn, s->dbi[DB_SCOPE_INFO], &mk, &v, 0);
    return rc ? store_lmdb_error(rc, "write scope record") : CTXMEM_OK;
}

/* Read a counter kept in the metadata; `initial` when it was never written. */
static int counter_get(ctxmem_store *s, MDB_txn *txn, const char *name, uint64_t initial,
                       uint64_t *value)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);

    if (rc == MDB_NOTFOUND) {
        *value = initial;
        return CTXMEM_OK;
    }
    if (rc != 0)
        return store_lmdb_error(rc, "read counter");
    if (v.mv_size != 8)
        return err_set(CTXMEM_ECORRUPT, "store: counter '%s' of %zu bytes", name, v.mv_size);
    *value = store_get_be64(v.mv_data);
    return CTXMEM_OK;
}

static int counter_put(ctxmem_store *s, MDB_txn *txn, const char *name, uint64_t value)
{
    unsigned char b[8];
    MDB_val k = {strlen(name), (void *)name}, v = {8, b};
    int rc;

    store_put_be64(b, value);
    rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
    return rc ? store_lmdb_error(rc, "write counter") : CTXMEM_OK;
}

/* Find or create the scope id for `key`. */
static int scope_ensure(ctxmem_store *s, MDB_txn *txn, const char *key, size_t len, uint32_t *id,
                        store_scope_rec *rec)
{
    MDB_val k = {len, (void *)key}, v;
    unsigned char idb[4];
    uint64_t next;
    int rc = store_scope_lookup(s, txn, key, len, id);

    if (rc == CTXMEM_OK)
        return scope_rec_read(s, txn, *id, rec);
    if (rc != CTXMEM_ENOTFOUND)
        return rc;
    rc = counter_get(s, txn, "next_scope", 1, &next);
    if (rc != CTXMEM_OK)
        return rc;
    if (next > UINT32_MAX)
        return err_set(CTXMEM_EFULL, "store: no scope ids left");
    *id = (uint32_t)next;
    store_put_be32(idb, *id);
    v.mv_size = 4, v.mv_data = idb;
    rc = mdb_put(txn, s->dbi[DB_SCOPES], &k, &v, 0);
    if (rc != 0)
        return store_lmdb_error(rc, "write scope");
    rec->next_seq = 1, rec->segments = 0, rec->tokens = 0;
    return counter_put(s, txn, "next_scope", next + 1);
}

int store_scope_create(ctxmem_store *s, MDB_txn *txn, const char *key, size_t len, uint32_t *id)
{
    store_scope_rec rec;
    int rc = store_scope_lookup(s, txn, key, len, id);

    if (rc != CTXMEM_ENOTFOUND)
        return rc;
    rc = scope_ensure(s, txn, key, len, id, &rec);
    return rc == CTXMEM_OK ? scope_rec_write(s, txn, *id, &rec, key, len) : rc;
}

struct add_ctx {
    const char *scope_key;
    size_t scope_len;
    const ctxmem_segment_in *segs;
    const uint32_t *tokens;
    const int64_t *times;
    size_t n;
    uint64_t *ids;
    const index_batch *index;
};

static int put_segment(ctxmem_store *s, MDB_txn *txn, uint64_t id, const rec_fields *f)
{
    unsigned char kb[8], sk[12];
    MDB_val k = {8, kb}, v = {rec_size(f), NULL}, seqk = {12, sk}, idv = {8, kb};
    int rc;

    store_put_be64(kb, id);
    rc = mdb_put(txn, s->dbi[DB_SEGMENTS], &k, &v, MDB_RESERVE | MDB_NOOVERWRITE);
    if (rc != 0)
        return store_lmdb_error(rc, "write segment");
    rec_encode(f, v.mv_data);

    store_put_be32(sk, f->scope);
    store_put_be64(sk + 4, f->seq);
    rc = mdb_put(txn, s->dbi[DB_SEQUENCE], &seqk, &idv, MDB_NOOVERWRITE);
    return rc ? store_lmdb_error(rc, "write sequence") : CTXMEM_OK;
}

/* Add segment i of the batch; a duplicate document or note reuses its id. */
static int add_one(ctxmem_store *s, MDB_txn *txn, struct add_ctx *c, size_t i, uint32_t scope,
                   store_scope_rec *rec, uint64_t *next_id)
{
    const ctxmem_segment_in *in = &c->segs[i];
    uint64_t duplicate_of = 0;
    int rc = facts_check(s, txn, scope, in, i, &duplicate_of);

    if (rc != CTXMEM_OK)
        return rc;
    if (duplicate_of) {
        c->ids[i] = duplicate_of;
        return CTXMEM_OK;
    }
    rec_fields f = {rec->next_seq++, scope,    in->role,      c->times[i], in->flags,
                    c->tokens[i],    in->text, in->text_len,  in->name,    in->meta_json,
                    in->pair_id,     in->key,  in->supersedes};
    c->ids[i] = (*next_id)++;
    rc = put_segment(s, txn, c->ids[i], &f);
    if (rc == CTXMEM_OK)
        rc = index_batch_put(s, txn, c->index, i, scope, f.seq);
    if (rc == CTXMEM_OK)
        rc = facts_on_add(s, txn, scope, c->ids[i], in, c->times[i]);
    rec->segments++;
    rec->tokens += c->tokens[i];
    return rc;
}

static int add_in_txn(ctxmem_store *s, MDB_txn *txn, void *arg)
{
    struct add_ctx *c = arg;
    store_scope_rec rec;
    uint64_t next_id, total, before;
    uint32_t scope;
    int rc;

    rc = scope_ensure(s, txn, c->scope_key, c->scope_len, &scope, &rec);
    if (rc == CTXMEM_OK)
        rc = counter_get(s, txn, "next_segment", 1, &next_id);
    if (rc == CTXMEM_OK)
        rc = counter_get(s, txn, "tokens", 0, &total);
    before = rec.tokens;
    for (size_t i = 0; rc == CTXMEM_OK && i < c->n; i++)
        rc = add_one(s, txn, c, i, scope, &rec, &next_id);
    if (rc == CTXMEM_OK)
        rc = scope_rec_write(s, txn, scope, &rec, c->scope_key, c->scope_len);
    if (rc == CTXMEM_OK)
        rc = counter_put(s, txn, "next_segment", next_id);
    if (rc == CTXMEM_OK)
        rc = counter_put(s, txn, "tokens", total + (rec.tokens - before));
    return rc;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int check_meta_json(size_t index, const char *meta)
{
    json_error_t jerr;
    json_t *j;
    int is_object;

    if (!meta || !*meta)
        return CTXMEM_OK;
    j = json_loads(meta, 0, &jerr);
    if (!j)
        return err_set(CTXMEM_EINVAL, "store: segment %zu: meta_json is not JSON: %s at offset %d",
                       index, jerr.text, jerr.position);
    is_object = json_is_object(j);
    json_decref(j);
    return is_object
               ? CTXMEM_OK
               : err_set(CTXMEM_EINVAL, "store: segment %zu: meta_json is not an object", index);
}

static int check_optional_string(size_t index, const char *what, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n > 4096)
        return err_set(CTXMEM_EINVAL, "store: segment %zu: %s of %zu bytes exceeds 4096", index,
                       what, n);
    if (utf8_invalid_offset(s, n) != n)
        return err_set(CTXMEM_EINVAL, "store: segment %zu: %s is not valid UTF-8", index, what);
    return CTXMEM_OK;
}

/* Check one segment and count its tokens; nothing is written. */
static int prepare_segment(ctxmem_store *s, size_t i, const ctxmem_segment_in *in, uint32_t *tokens)
{
    size_t n = 0;
    int rc;

    if (in->role < CTXMEM_ROLE_SYSTEM || in->role > CTXMEM_ROLE_SUMMARY)
        return err_set(CTXMEM_EINVAL, "store: segment %zu: unknown role %d", i, in->role);
    if (!in->text && in->text_len)
        return err_set(CTXMEM_EINVAL, "store: segment %zu: NULL text of length %zu", i,
                       in->text_len);
    if (in->text_len > s->max_segment_bytes)
        return err_set(CTXMEM_EFULL,
                       "store: segment %zu: text of %zu bytes exceeds the limit of "
                       "%zu (ctxmem_options.max_segment_bytes)",
                       i, in->text_len, s->max_segment_bytes);
    if (ctxmem_utf8_check(in->text, in->text_len) != CTXMEM_OK)
        return err_wrap(CTXMEM_EINVAL, "store: segment %zu", i);
    rc = check_optional_string(i, "name", in->name);
    if (rc == CTXMEM_OK)
        rc = check_optional_string(i, "pair_id", in->pair_id);
    if (rc == CTXMEM_OK)
        rc = check_optional_string(i, "key", in->key);
    if (rc == CTXMEM_OK)
        rc = check_meta_json(i, in->meta_json);
    if (rc != CTXMEM_OK)
        return rc;
    if (ctxmem_tokenizer_count(s->tok, in->text ? in->text : "", in->text_len, &n) != CTXMEM_OK)
        return err_wrap(ctxmem_error_last()->code, "store: segment %zu", i);
    *tokens = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    return CTXMEM_OK;
}

int ctxmem_store_add(ctxmem_store *store, const ctxmem_scope *scope, const ctxmem_segment_in *segs,
                     size_t n, uint64_t *ids)
{
    char key[SCOPE_KEY_MAX];
    struct add_ctx c = {key, 0, segs, NULL, NULL, n, ids, NULL};
    index_batch batch = {0};
    uint32_t *tokens = NULL;
    int64_t *times = NULL, now = now_ms();
    int rc;

    if (!store || !segs || n == 0)
        return err_set(CTXMEM_EINVAL, "store: add needs a store and at least one segment");
    rc = store_scope_key(scope, key, sizeof(key), &c.scope_len);
    if (rc != CTXMEM_OK)
        return rc;
    tokens = malloc(n * sizeof(*tokens));
    times = malloc(n * sizeof(*times));
    c.ids = ids ? ids : malloc(n * sizeof(*c.ids));
    if (!tokens || !times || !c.ids) {
        rc = err_set(CTXMEM_ENOMEM, "store: out of memory adding %zu segments", n);
        goto done;
    }
    for (size_t i = 0; rc == CTXMEM_OK && i < n; i++) {
        rc = prepare_segment(store, i, &segs[i], &tokens[i]);
        times[i] = segs[i].time ? segs[i].time : now;
    }
    c.tokens = tokens, c.times = times, c.index = &batch;
    /* Embedding and analysis happen before the write lock is taken. */
    if (rc == CTXMEM_OK)
        rc = index_batch_prepare(store, segs, n, &batch);
    if (rc == CTXMEM_OK)
        rc = store_write(store, add_in_txn, &c);
done:
    index_batch_free(&batch);
    if (c.ids != ids)
        free(c.ids);
    free(times);
    free(tokens);
    return rc;
}

int store_segment_read(ctxmem_store *s, MDB_txn *txn, uint64_t id, ctxmem_segment *seg)
{
    unsigned char kb[8];
    MDB_val k = {8, kb}, v;
    int rc;

    store_put_be64(kb, id);
    rc = mdb_get(txn, s->dbi[DB_SEGMENTS], &k, &v);
    if (rc == MDB_NOTFOUND)
        return err_set(CTXMEM_ENOTFOUND, "store: no segment %llu", (unsigned long long)id);
    if (rc != 0)
        return store_lmdb_error(rc, "read segment");
    return rec_decode(v.mv_data, v.mv_size, id, seg);
}

/* One allocation holds the struct and a copy of the whole record. */
static int copy_segment(const ctxmem_segment *src, const MDB_val *raw, ctxmem_segment **out)
{
    ctxmem_segment *seg = malloc(sizeof(*seg) + raw->mv_size);
    const unsigned char *base = raw->mv_data;
    unsigned char *copy;

    if (!seg)
        return err_set(CTXMEM_ENOMEM, "store: out of memory reading a segment");
    copy = (unsigned char *)(seg + 1);
    memcpy(copy, raw->mv_data, raw->mv_size);
    *seg = *src;
    seg->text = (const char *)copy + ((const unsigned char *)src->text - base);
    seg->name = (const char *)copy + ((const unsigned char *)src->name - base);
    seg->meta_json = (const char *)copy + ((const unsigned char *)src->meta_json - base);
    seg->pair_id = (const char *)copy + ((const unsigned char *)src->pair_id - base);
    seg->key = (const char *)copy + ((const unsigned char *)src->key - base);
    *out = seg;
    return CTXMEM_OK;
}

int ctxmem_store_get(ctxmem_segment **out, ctxmem_store *store, uint64_t id)
{
    MDB_txn *txn = NULL;
    ctxmem_segment seg;
    unsigned char kb[8];
    MDB_val k = {8, kb}, v;
    int rc;

    if (!out)
        return err_set(CTXMEM_EINVAL, "store: NULL out");
    *out = NULL;
    if (!store)
        return err_set(CTXMEM_EINVAL, "store: NULL store");
    rc = store_read_begin(store, &txn);
    if (rc != CTXMEM_OK)
        return rc;
    rc = store_segment_read(store, txn, id, &seg);
    store_put_be64(kb, id);
    if (rc == CTXMEM_OK && mdb_get(txn, store->dbi[DB_SEGMENTS], &k, &v) == 0)
        rc = copy_segment(&seg, &v, out);
    store_read_end(store, txn);
    return rc;
}

void ctxmem_segment_free(ctxmem_segment *seg)
{
    free(seg);
}

int ctxmem_store_scope_id(ctxmem_store *store, const ctxmem_scope *scope, uint32_t *scope_id)
{
    char key[SCOPE_KEY_MAX];
    size_t len;
    MDB_txn *txn = NULL;
    int rc;

    if (!store || !scope_id)
        return err_set(CTXMEM_EINVAL, "store: NULL argument");
    rc = store_scope_key(scope, key, sizeof(key), &len);
    if (rc == CTXMEM_OK)
        rc = store_read_begin(store, &txn);
    if (rc != CTXMEM_OK)
        return rc;
    rc = store_scope_lookup(store, txn, key, len, scope_id);
    if (rc == CTXMEM_ENOTFOUND)
        err_set(rc, "store: scope '%s' has no segments", scope->user);
    store_read_end(store, txn);
    return rc;
}

struct ctxmem_iter {
    ctxmem_store *store;
    MDB_txn *txn;
    MDB_cursor *cursor;
    uint32_t scope;
    uint64_t from_seq;
    int started;
    int empty;
    ctxmem_segment current;
};

int ctxmem_iter_new(ctxmem_iter **out, ctxmem_store *store, const ctxmem_scope *scope,
                    uint64_t from_seq)
{
    char key[SCOPE_KEY_MAX];
    size_t len;
    ctxmem_iter *it;
    int rc, mrc;

    if (!out)
        return err_set(CTXMEM_EINVAL, "iter: NULL out");
    *out = NULL;
    if (!store)
        return err_set(CTXMEM_EINVAL, "iter: NULL store");
    rc = store_scope_key(scope, key, sizeof(key), &len);
    if (rc != CTXMEM_OK)
        return rc;
    it = calloc(1, sizeof(*it));
    if (!it)
        return err_set(CTXMEM_ENOMEM, "iter: out of memory");
    it->store = store;
    it->from_seq = from_seq ? from_seq : 1;
    rc = store_read_begin(store, &it->txn);
    if (rc == CTXMEM_OK) {
        rc = store_scope_lookup(store, it->txn, key, len, &it->scope);
        it->empty = rc == CTXMEM_ENOTFOUND;
        rc = it->empty ? CTXMEM_OK : rc;
    }
    if (rc == CTXMEM_OK && !it->empty) {
        mrc = mdb_cursor_open(it->txn, store->dbi[DB_SEQUENCE], &it->cursor);
        rc = mrc ? store_lmdb_error(mrc, "open cursor") : CTXMEM_OK;
    }
    if (rc != CTXMEM_OK) {
        ctxmem_iter_free(it);
        return rc;
    }
    *out = it;
    return CTXMEM_OK;
}

int ctxmem_iter_next(ctxmem_iter *it, const ctxmem_segment **seg)
{
    unsigned char kb[12];
    MDB_val k = {12, kb}, v;
    int rc;

    if (!it || !seg)
        return err_set(CTXMEM_EINVAL, "iter: NULL argument");
    *seg = NULL;
    if (it->empty)
        return err_set(CTXMEM_ENOTFOUND, "iter: end of scope");
    if (!it->started) {
        store_put_be32(kb, it->scope);
        store_put_be64(kb + 4, it->from_seq);
        rc = mdb_cursor_get(it->cursor, &k, &v, MDB_SET_RANGE);
        it->started = 1;
    } else {
        rc = mdb_cursor_get(it->cursor, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && (k.mv_size != 12 || store_get_be32(k.mv_data) != it->scope))
        rc = MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        it->empty = 1;
        return err_set(CTXMEM_ENOTFOUND, "iter: end of scope");
    }
    if (rc != 0)
        return store_lmdb_error(rc, "iterate");
    if (v.mv_size != 8)
        return err_set(CTXMEM_ECORRUPT, "store: sequence entry of %zu bytes", v.mv_size);
    rc = store_segment_read(it->store, it->txn, store_get_be64(v.mv_data), &it->current);
    if (rc == CTXMEM_OK)
        *seg = &it->current;
    return rc;
}

void ctxmem_iter_free(ctxmem_iter *it)
{
    if (!it)
        return;
    if (it->cursor)
        mdb_cursor_close(it->cursor);
    store_read_end(it->store, it->txn);
    free(it);
}

/* Decode a scope record: counters, then "user NUL agent NUL session NUL". */
static int decode_scope(const MDB_val *k, const MDB_val *v, ctxmem_scope_info *info)
{
    const char *key = (const char *)v->mv_data + SCOPE_REC_HEAD;
    size_t len = v->mv_size - SCOPE_REC_HEAD, a, b;

    if (k->mv_size != 4 || v->mv_size < SCOPE_REC_HEAD + 3 || key[len - 1] != '\0')
        return err_set(CTXMEM_ECORRUPT, "store: damaged scope record");
    a = strlen(key) + 1;
    b = a < len ? a + strlen(key + a) + 1 : len;
    if (b >= len)
        return err_set(CTXMEM_ECORRUPT, "store: damaged scope key");
    info->id = store_get_be32(k->mv_data);
    info->segments = store_get_be64((const unsigned char *)v->mv_data + 8);
    info->tokens = store_get_be64((const unsigned char *)v->mv_data + 16);
    info->scope.user = key, info->scope.agent = key + a, info->scope.session = key + b;
    return CTXMEM_OK;
}

int ctxmem_store_scopes(ctxmem_store *store, ctxmem_scope_cb cb, void *user)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    ctxmem_scope_info info;
    int rc, mrc;

    if (!store || !cb)
        return err_set(CTXMEM_EINVAL, "store: NULL argument to scopes");
    rc = store_read_begin(store, &txn);
    if (rc != CTXMEM_OK)
        return rc;
    mrc = mdb_cursor_open(txn, store->dbi[DB_SCOPE_INFO], &cur);
    rc = mrc ? store_lmdb_error(mrc, "open scope cursor") : CTXMEM_OK;
    for (mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        rc = decode_scope(&k, &v, &info);
        if (rc != CTXMEM_OK || cb(user, &info) != 0)
            break;
    }
    if (cur)
        mdb_cursor_close(cur);
    store_read_end(store, txn);
    return rc;
}

uint64_t store_scope_last_seq(ctxmem_store *s, MDB_txn *txn, uint32_t scope)
{
    store_scope_rec rec;

    if (scope_rec_read(s, txn, scope, &rec) != CTXMEM_OK)
        return 0;
    return rec.next_seq - 1;
}

int store_segment_at(ctxmem_store *s, MDB_txn *txn, uint32_t scope, uint64_t seq,
                     ctxmem_segment *seg)
{
    unsigned char kb[12];
    MDB_val k = {12, kb}, v;
    int rc;

    store_put_be32(kb, scope);
    store_put_be64(kb + 4, seq);
    rc = mdb_get(txn, s->dbi[DB_SEQUENCE], &k, &v);
    if (rc == MDB_NOTFOUND)
        return err_set(CTXMEM_ENOTFOUND, "store: scope %u has no sequence number %llu", scope,
                       (unsigned long long)seq);
    if (rc != 0)
        return store_lmdb_error(rc, "read sequence");
    if (v.mv_size != 8)
        return err_set(CTXMEM_ECORRUPT, "store: sequence entry of %zu bytes", v.mv_size);
    return store_segment_read(s, txn, store_get_be64(v.mv_data), seg);
}

static char *dup_part(char **p, const char *src, size_t n)
{
    char *out = *p;

    memcpy(out, src, n);
    out[n] = '\0';
    *p += n + 1;
    return out;
}

ctxmem_segment *store_segment_dup(const ctxmem_segment *src)
{
    size_t nn = strlen(src->name), mn = strlen(src->meta_json), pn = strlen(src->pair_id);
    size_t kn = strlen(src->key);
    ctxmem_segment *seg = malloc(sizeof(*seg) + src->text_len + nn + mn + pn + kn + 5);
    char *p;

    if (!seg) {
        err_set(CTXMEM_ENOMEM, "store: out of memory copying segment %llu",
                (unsigned long long)src->id);
        return NULL;
    }
    *seg = *src;
    p = (char *)(seg + 1);
    seg->text = dup_part(&p, src->text, src->text_len);
    seg->name = dup_part(&p, src->name, nn);
    seg->meta_json = dup_part(&p, src->meta_json, mn);
    seg->pair_id = dup_part(&p, src->pair_id, pn);
    seg->key = dup_part(&p, src->key, kn);
    return seg;
}
