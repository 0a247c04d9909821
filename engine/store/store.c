/*
 * Opening and closing a store: the LMDB environment, its named databases, the
 * format version and the tokenizer recorded in the metadata.
 */
#include "store_internal.h"
#include "index/index_internal.h"
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE    ((size_t)64 << 20)
#define DEFAULT_MAP_MAX     ((size_t)64 << 30)
#define DEFAULT_MAX_SEGMENT ((size_t)1 << 20)
#define DEFAULT_TOKENIZER   "o200k_base"
#define MAX_DBS             32

static const char *const db_names[DB_COUNT] = {
    "meta",    "segments", "scopes", "scope_info", "sequence", "status",   "facts",      "pairs",
    "digests", "pins",     "tiers",  "summaries",  "vectors",  "postings", "index_state"};
static const unsigned db_flags[DB_COUNT] = {[DB_POSTINGS] = MDB_DUPSORT | MDB_DUPFIXED};

static int check_options(const ctxmem_options *o)
{
    if (o->version != CTXMEM_OPTIONS_VERSION)
        return err_set(CTXMEM_EINVAL, "store: options version %u, this library knows %u",
                       o->version, CTXMEM_OPTIONS_VERSION);
    if (o->flags & ~(unsigned)(CTXMEM_OPEN_READONLY | CTXMEM_OPEN_NOCREATE | CTXMEM_OPEN_REEMBED |
                               CTXMEM_OPEN_NOSYNC))
        return err_set(CTXMEM_EINVAL, "store: unknown open flags 0x%x", o->flags);
    if (o->map_size && o->map_size_max && o->map_size > o->map_size_max)
        return err_set(CTXMEM_EINVAL, "store: map_size %zu exceeds map_size_max %zu", o->map_size,
                       o->map_size_max);
    if (o->max_segment_bytes > UINT32_MAX)
        return err_set(CTXMEM_EINVAL, "store: max_segment_bytes %zu exceeds 4 GiB",
                       o->max_segment_bytes);
    if (o->vector_index > CTXMEM_VINDEX_IVF_FLAT)
        return err_set(CTXMEM_EINVAL, "store: unknown vector_index %u", o->vector_index);
    return CTXMEM_OK;
}

static int prepare_dir(const char *dir, unsigned flags)
{
    struct stat st;

    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? CTXMEM_OK
                                   : err_set(CTXMEM_EINVAL, "store: '%s' is not a directory", dir);
    if (errno != ENOENT)
        return err_set(err_from_errno(errno), "store: stat '%s': %s", dir, strerror(errno));
    if (flags & (CTXMEM_OPEN_NOCREATE | CTXMEM_OPEN_READONLY))
        return err_set(CTXMEM_ENOTFOUND, "store: no store at '%s'", dir);
    if (mkdir(dir, 0700) != 0)
        return err_set(err_from_errno(errno), "store: create directory '%s': %s", dir,
                       strerror(errno));
    return CTXMEM_OK;
}

static int open_env(ctxmem_store *s)
{
    unsigned env_flags = MDB_NOTLS | ((s->flags & CTXMEM_OPEN_READONLY) ? MDB_RDONLY : 0) |
                         ((s->flags & CTXMEM_OPEN_NOSYNC) ? MDB_NOSYNC : 0);
    int rc, dead = 0;
    MDB_envinfo info;

    rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, MAX_DBS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    if (rc != 0)
        return store_lmdb_error(rc, "create environment");

    rc = mdb_env_open(s->env, s->dir, env_flags, 0600);
    if (rc == EACCES || rc == EROFS)
        return err_set(CTXMEM_EREADONLY,
                       "store: '%s' is not writable (%s); open it with "
                       "CTXMEM_OPEN_READONLY to read",
                       s->dir, mdb_strerror(rc));
    if (rc == ENOENT && (s->flags & CTXMEM_OPEN_READONLY))
        return err_set(CTXMEM_ENOTFOUND, "store: no store at '%s'", s->dir);
    if (rc != 0)
        return store_lmdb_error(rc, s->dir);

    /* Reader slots left by killed processes would pin old pages forever. */
    mdb_reader_check(s->env, &dead);
    if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size)
        s->map_size = info.me_mapsize;
    return CTXMEM_OK;
}

static int meta_get(ctxmem_store *s, MDB_txn *txn, const char *key, MDB_val *val)
{
    MDB_val k = {strlen(key), (void *)key};
    int rc = mdb_get(txn, s->dbi[DB_META], &k, val);

    if (rc == MDB_NOTFOUND)
        return CTXMEM_ENOTFOUND;
    return rc ? store_lmdb_error(rc, "read metadata") : CTXMEM_OK;
}

static int meta_put(ctxmem_store *s, MDB_txn *txn, const char *key, const void *v, size_t n)
{
    MDB_val k = {strlen(key), (void *)key}, val = {n, (void *)v};
    int rc = mdb_put(txn, s->dbi[DB_META], &k, &val, 0);

    return rc ? store_lmdb_error(rc, "write metadata") : CTXMEM_OK;
}

/* A new store: record the format version and the tokenizer's name. */
static int init_meta(ctxmem_store *s, MDB_txn *txn, const char *tokenizer)
{
    unsigned char format[4];
    int rc;

    store_put_be32(format, CTXMEM_STORE_FORMAT);
    rc = meta_put(s, txn, "format", format, sizeof(format));
    if (rc == CTXMEM_OK)
        rc = meta_put(s, txn, "tokenizer", tokenizer, strlen(tokenizer));
    return rc;
}

static int check_format(ctxmem_store *s, MDB_txn *txn)
{
    MDB_val v;
    uint32_t format;
    int rc = meta_get(s, txn, "format", &v);

    if (rc != CTXMEM_OK)
        return rc == CTXMEM_ENOTFOUND
                   ? err_set(CTXMEM_ECORRUPT, "store: '%s' has no format version", s->dir)
                   : rc;
    if (v.mv_size != 4)
        return err_set(CTXMEM_ECORRUPT, "store: '%s': format record of %zu bytes", s->dir,
                       v.mv_size);
    format = store_get_be32(v.mv_data);
    if (format > CTXMEM_STORE_FORMAT)
        return err_set(CTXMEM_EVERSION,
                       "store: '%s' has format %u; this library (%s) reads up "
                       "to %u",
                       s->dir, format, CTXMEM_VERSION_STRING, CTXMEM_STORE_FORMAT);
    return CTXMEM_OK;
}

/* Open the named databases; a new store gets them created and initialised. */
static int open_dbs(ctxmem_store *s, MDB_txn *txn, const char *tokenizer, int *created)
{
    unsigned create = (s->flags & CTXMEM_OPEN_READONLY) ? 0 : MDB_CREATE;
    MDB_val v;
    int rc;

    rc = mdb_dbi_open(txn, db_names[DB_META], create, &s->dbi[DB_META]);
    if (rc == MDB_NOTFOUND)
        return err_set(CTXMEM_ENOTFOUND, "store: no store at '%s'", s->dir);
    if (rc != 0)
        return store_lmdb_error(rc, "open metadata");
    *created = meta_get(s, txn, "format", &v) == CTXMEM_ENOTFOUND;
    if (*created && (s->flags & CTXMEM_OPEN_NOCREATE))
        return err_set(CTXMEM_ENOTFOUND, "store: no store at '%s'", s->dir);
    rc = *created ? init_meta(s, txn, tokenizer) : check_format(s, txn);
    for (int i = DB_META + 1; rc == CTXMEM_OK && i < DB_COUNT; i++) {
        int mrc = mdb_dbi_open(txn, db_names[i], create | db_flags[i], &s->dbi[i]);
        if (mrc != 0)
            rc = mrc == MDB_NOTFOUND ? err_set(CTXMEM_ECORRUPT, "store: '%s' lacks database '%s'",
                                               s->dir, db_names[i])
                                     : store_lmdb_error(mrc, db_names[i]);
    }
    return rc;
}

/* Read the recorded tokenizer name into buf. */
static int stored_tokenizer(ctxmem_store *s, MDB_txn *txn, char *buf, size_t cap)
{
    MDB_val v;
    int rc = meta_get(s, txn, "tokenizer", &v);

    if (rc == CTXMEM_ENOTFOUND || (rc == CTXMEM_OK && (v.mv_size == 0 || v.mv_size >= cap)))
        return err_set(CTXMEM_ECORRUPT, "store: '%s' has no valid tokenizer record", s->dir);
    if (rc != CTXMEM_OK)
        return rc;
    memcpy(buf, v.mv_data, v.mv_size);
    buf[v.mv_size] = '\0';
    return CTXMEM_OK;
}

static int load_tokenizer(ctxmem_store *s, const ctxmem_options *o, const char *name)
{
    if (o->tokenizer_handle) {
        s->tok = o->tokenizer_handle;
        return CTXMEM_OK;
    }
    if (ctxmem_tokenizer_load(&s->tok_owned, name, o->tokenizer_dir) != CTXMEM_OK)
        return err_wrap(ctxmem_error_last()->code, "store: load tokenizer of '%s'", s->dir);
    s->tok = s->tok_owned;
    return CTXMEM_OK;
}

/* The first transaction; another process may have grown the map since mdb_env_open. */
static int begin_first(ctxmem_store *s, MDB_txn **txn)
{
    unsigned flags = (s->flags & CTXMEM_OPEN_READONLY) ? MDB_RDONLY : 0;
    MDB_envinfo info;
    int rc = mdb_txn_begin(s->env, NULL, flags, txn);

    for (int attempt = 0; rc == MDB_MAP_RESIZED && attempt < 3; attempt++) {
        rc = mdb_env_set_mapsize(s->env, 0);
        if (rc == 0 && mdb_env_info(s->env, &info) == 0)
            s->map_size = info.me_mapsize;
        if (rc == 0)
            rc = mdb_txn_begin(s->env, NULL, flags, txn);
    }
    return rc;
}

/*
 * Open the databases, check or record the metadata and load the tokenizer,
 * all before the first commit: a new store whose tokenizer cannot be loaded
 * is not created.
 */
static int open_meta(ctxmem_store *s, const ctxmem_options *o, int *reembed)
{
    const char *want = o->tokenizer_handle ? ctxmem_tokenizer_name(o->tokenizer_handle)
                       : o->tokenizer      ? o->tokenizer
                                           : DEFAULT_TOKENIZER;
    MDB_txn *txn = NULL;
    char tok_name[72];
    int rc, created = 0, mrc;

    rc = begin_first(s, &txn);
    if (rc != 0)
        return store_lmdb_error(rc, "begin transaction");
    rc = open_dbs(s, txn, want, &created);
    if (rc == CTXMEM_OK)
        rc = stored_tokenizer(s, txn, tok_name, sizeof(tok_name));
    if (rc == CTXMEM_OK && !created && (o->tokenizer || o->tokenizer_handle) &&
        strcmp(want, tok_name) != 0)
        rc = err_set(CTXMEM_EMISMATCH, "store: '%s' counts with tokenizer '%s', not '%s'", s->dir,
                     tok_name, want);
    if (rc == CTXMEM_OK)
        rc = load_tokenizer(s, o, tok_name);
    if (rc == CTXMEM_OK)
        rc = index_open(s, txn, o, created, reembed);
    if (rc != CTXMEM_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    mrc = mdb_txn_commit(txn);
    return mrc ? store_lmdb_error(mrc, "commit new store") : CTXMEM_OK;
}

int ctxmem_store_open(ctxmem_store **out, const char *dir, const ctxmem_options *opts)
{
    ctxmem_options defaults = CTXMEM_OPTIONS_INIT;
    const ctxmem_options *o = opts ? opts : &defaults;
    ctxmem_store *s = NULL;
    int rc, reembed = 0;

    if (!out)
        return err_set(CTXMEM_EINVAL, "store: NULL out");
    *out = NULL;
    if (!dir || !*dir)
        return err_set(CTXMEM_EINVAL, "store: no directory given");
    rc = check_options(o);
    if (rc == CTXMEM_OK)
        rc = prepare_dir(dir, o->flags);
    if (rc != CTXMEM_OK)
        return rc;

    s = calloc(1, sizeof(*s));
    if (!s || !(s->dir = xstrdup(dir))) {
        free(s);
        return err_set(CTXMEM_ENOMEM, "store: out of memory");
    }
    pthread_rwlock_init(&s->resize_lock, NULL);
    s->flags = o->flags;
    s->map_size = o->map_size ? o->map_size : DEFAULT_MAP_SIZE;
    s->map_size_max = o->map_size_max ? o->map_size_max : DEFAULT_MAP_MAX;
    if (s->map_size > s->map_size_max)
        s->map_size = s->map_size_max;
    s->max_segment_bytes = o->max_segment_bytes ? o->max_segment_bytes : DEFAULT_MAX_SEGMENT;

    rc = open_env(s);
    if (rc == CTXMEM_OK)
        rc = open_meta(s, o, &reembed);
    if (rc == CTXMEM_OK && reembed)
        rc = index_reembed(s);
    if (rc != CTXMEM_OK) {
        ctxmem_store_close(s);
        return rc;
    }
    *out = s;
    return CTXMEM_OK;
}

void ctxmem_store_close(ctxmem_store *store)
{
    if (!store)
        return;
    index_close(store);
    if (store->env)
        mdb_env_close(store->env);
    ctxmem_tokenizer_free(store->tok_owned);
    pthread_rwlock_destroy(&store->resize_lock);
    free(store->dir);
    free(store);
}

const ctxmem_tokenizer *ctxmem_store_tokenizer(const ctxmem_store *store)
{
    return store ? store->tok : NULL;
}

int ctxmem_store_stat(ctxmem_store *store, ctxmem_store_info *info)
{
    MDB_txn *txn = NULL;
    MDB_stat st;
    MDB_envinfo env;
    MDB_val v;
    int rc;

    if (!store || !info)
        return err_set(CTXMEM_EINVAL, "store: NULL argument to stat");
    memset(info, 0, sizeof(*info));
    rc = store_read_begin(store, &txn);
    if (rc != CTXMEM_OK)
        return rc;
    info->format = CTXMEM_STORE_FORMAT;
    if (meta_get(store, txn, "format", &v) == CTXMEM_OK && v.mv_size == 4)
        info->format = store_get_be32(v.mv_data);
    if (meta_get(store, txn, "tokens", &v) == CTXMEM_OK && v.mv_size == 8)
        info->tokens = store_get_be64(v.mv_data);
    if (mdb_stat(txn, store->dbi[DB_SEGMENTS], &st) == 0)
        info->segments = st.ms_entries;
    if (mdb_stat(txn, store->dbi[DB_SCOPE_INFO], &st) == 0)
        info->scopes = st.ms_entries;
    if (mdb_env_info(store->env, &env) == 0 && mdb_env_stat(store->env, &st) == 0) {
        info->map_size = env.me_mapsize;
        info->used_bytes = (env.me_last_pgno + 1) * (size_t)st.ms_psize;
    }
    info->tokenizer = ctxmem_tokenizer_name(store->tok);
    index_describe(store, &info->embedder, &info->embedder_dim, &info->language);
    store_read_end(store, txn);
    return CTXMEM_OK;
}
