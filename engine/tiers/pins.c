/*
 * Pinned blocks: application-owned text with a priority and a token limit.
 *
 * Record (DB_PINS, key u32 BE scope id + name): u32 BE priority, u32 BE
 * max_tokens, u32 BE tokens, u8 role, u8 name length N, 2 bytes reserved,
 * the name and a NUL, then the text.
 */
#include "tiers.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define PIN_NAME_MAX           64
#define PIN_PRIORITY_MAX       1000
#define PIN_DEFAULT_MAX_TOKENS 8192
#define PIN_HEAD               16

struct pin_write {
    const char *scope_key;
    size_t scope_len;
    const char *name;
    const unsigned char *record; /* NULL: remove */
    size_t record_len;
};

static int check_pin_args(ctxmem_store *store, const char *name, int role)
{
    size_t n = name ? strlen(name) : 0;

    if (!store || !name)
        return err_set(CTXMEM_EINVAL, "pin: NULL argument");
    if (n == 0 || n > PIN_NAME_MAX || utf8_invalid_offset(name, n) != n)
        return err_set(CTXMEM_EINVAL, "pin: name must be 1-%d bytes of UTF-8", PIN_NAME_MAX);
    if (role != CTXMEM_ROLE_SYSTEM && role != CTXMEM_ROLE_USER && role != CTXMEM_ROLE_ASSISTANT &&
        role != CTXMEM_ROLE_NOTE)
        return err_set(CTXMEM_EINVAL, "pin '%s': role %s cannot be pinned", name,
                       ctxmem_role_name(role));
    return CTXMEM_OK;
}

static MDB_val pin_key(unsigned char *buf, uint32_t scope, const char *name)
{
    size_t n = strlen(name);
    MDB_val k = {4 + n, buf};

    store_put_be32(buf, scope);
    memcpy(buf + 4, name, n);
    return k;
}

static int pin_write_txn(ctxmem_store *s, MDB_txn *txn, void *arg)
{
    struct pin_write *w = arg;
    unsigned char kb[4 + PIN_NAME_MAX];
    uint32_t scope;
    MDB_val k, v = {w->record_len, (void *)w->record};
    int rc;

    if (w->record)
        rc = store_scope_create(s, txn, w->scope_key, w->scope_len, &scope);
    else
        rc = store_scope_lookup(s, txn, w->scope_key, w->scope_len, &scope);
    if (rc == CTXMEM_ENOTFOUND)
        return err_set(rc, "pin '%s': no such pin", w->name);
    if (rc != CTXMEM_OK)
        return rc;
    k = pin_key(kb, scope, w->name);
    rc = w->record ? mdb_put(txn, s->dbi[DB_PINS], &k, &v, 0)
                   : mdb_del(txn, s->dbi[DB_PINS], &k, NULL);
    if (rc == MDB_NOTFOUND)
        return err_set(CTXMEM_ENOTFOUND, "pin '%s': no such pin", w->name);
    return rc ? store_lmdb_error(rc, "write pin") : CTXMEM_OK;
}

static int count_pin(ctxmem_store *s, const char *name, const char *text, size_t len,
                     size_t max_tokens, size_t *tokens)
{
    if (!text && len)
        return err_set(CTXMEM_EINVAL, "pin '%s': NULL text", name);
    if (ctxmem_tokenizer_count(s->tok, text ? text : "", len, tokens) != CTXMEM_OK)
        return err_wrap(ctxmem_error_last()->code, "pin '%s'", name);
    if (*tokens > max_tokens)
        return err_set(CTXMEM_EFULL, "pin '%s': %zu tokens exceed its limit of %zu", name, *tokens,
                       max_tokens);
    return CTXMEM_OK;
}

int ctxmem_pin_set(ctxmem_store *store, const ctxmem_scope *scope, const char *name, int role,
                   const char *text, size_t len, unsigned priority, size_t max_tokens)
{
    char key[STORE_SCOPE_KEY_MAX];
    struct pin_write w = {key, 0, name, NULL, 0};
    unsigned char *rec = NULL;
    size_t tokens = 0, limit = max_tokens ? max_tokens : PIN_DEFAULT_MAX_TOKENS;
    int rc = check_pin_args(store, name, role);

    if (rc == CTXMEM_OK && priority > PIN_PRIORITY_MAX)
        rc = err_set(CTXMEM_EINVAL, "pin '%s': priority %u exceeds %d", name, priority,
                     PIN_PRIORITY_MAX);
    if (rc == CTXMEM_OK)
        rc = store_scope_key(scope, key, sizeof(key), &w.scope_len);
    if (rc == CTXMEM_OK)
        rc = count_pin(store, name, text, len, limit, &tokens);
    if (rc != CTXMEM_OK)
        return rc;
    size_t name_len = strlen(name);
    rec = malloc(PIN_HEAD + name_len + 1 + len);
    if (!rec)
        return err_set(CTXMEM_ENOMEM, "pin '%s': out of memory", name);
    store_put_be32(rec, priority);
    store_put_be32(rec + 4, (uint32_t)limit);
    store_put_be32(rec + 8, (uint32_t)tokens);
    memset(rec + 12, 0, 4);
    rec[12] = (unsigned char)role;
    rec[13] = (unsigned char)name_len;
    memcpy(rec + PIN_HEAD, name, name_len + 1);
    if (len)
        memcpy(rec + PIN_HEAD + name_len + 1, text, len);
    w.record = rec, w.record_len = PIN_HEAD + name_len + 1 + len;
    rc = store_write(store, pin_write_txn, &w);
    free(rec);
    return rc;
}

int ctxmem_pin_remove(ctxmem_store *store, const ctxmem_scope *scope, const char *name)
{
    char key[STORE_SCOPE_KEY_MAX];
    struct pin_write w = {key, 0, name, NULL, 0};
    int rc = check_pin_args(store, name, CTXMEM_ROLE_SYSTEM);

    if (rc == CTXMEM_OK)
        rc = store_scope_key(scope, key, sizeof(key), &w.scope_len);
    return rc == CTXMEM_OK ? store_write(store, pin_write_txn, &w) : rc;
}

/* Decode a pin record; the strings point into it. */
static int decode_pin(const MDB_val *v, tier_pin *p)
{
    const unsigned char *r = v->mv_data;
    size_t name_len;

    if (v->mv_size < PIN_HEAD + 2)
        return err_set(CTXMEM_ECORRUPT, "pin record of %zu bytes", v->mv_size);
    name_len = r[13];
    if (v->mv_size < PIN_HEAD + name_len + 1 || r[PIN_HEAD + name_len] != '\0')
        return err_set(CTXMEM_ECORRUPT, "pin record: name does not fit");
    p->priority = store_get_be32(r);
    p->role = r[12];
    p->name = (const char *)r + PIN_HEAD;
    p->text = p->name + name_len + 1;
    p->text_len = v->mv_size - PIN_HEAD - name_len - 1;
    return CTXMEM_OK;
}

static int push_pin(tier_pin **pins, size_t *n, size_t *cap, const tier_pin *p)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        tier_pin *np = realloc(*pins, ncap * sizeof(*np));
        if (!np)
            return err_set(CTXMEM_ENOMEM, "pin: out of memory");
        *pins = np, *cap = ncap;
    }
    (*pins)[(*n)++] = *p;
    return CTXMEM_OK;
}

/* Append the pins of one exact scope (if it exists). */
static int load_scope_pins(ctxmem_store *s, MDB_txn *txn, const ctxmem_scope *scope,
                           tier_pin **pins, size_t *n, size_t *cap)
{
    char key[STORE_SCOPE_KEY_MAX];
    unsigned char prefix[4];
    size_t len;
    uint32_t id;
    MDB_cursor *cur = NULL;
    MDB_val k = {4, prefix}, v;
    tier_pin p;
    int rc = store_scope_key(scope, key, sizeof(key), &len), mrc;

    if (rc == CTXMEM_OK)
        rc = store_scope_lookup(s, txn, key, len, &id);
    if (rc != CTXMEM_OK)
        return rc == CTXMEM_ENOTFOUND ? CTXMEM_OK : rc;
    store_put_be32(prefix, id);
    if ((mrc = mdb_cursor_open(txn, s->dbi[DB_PINS], &cur)) != 0)
        return store_lmdb_error(mrc, "open pin cursor");
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == CTXMEM_OK && mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= 4 || memcmp(k.mv_data, prefix, 4) != 0)
            break;
        rc = decode_pin(&v, &p);
        if (rc == CTXMEM_OK)
            rc = push_pin(pins, n, cap, &p);
    }
    mdb_cursor_close(cur);
    return rc;
}

static int by_priority(const void *a, const void *b)
{
    const tier_pin *x = a, *y = b;

    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return strcmp(x->name, y->name);
}

int tier_pins_load(ctxmem_store *s, MDB_txn *txn, const ctxmem_scope *scope, tier_pin **pins,
                   size_t *n)
{
    ctxmem_scope levels[3];
    size_t cap = 0, n_levels = 0;
    int rc = CTXMEM_OK;

    *pins = NULL, *n = 0;
    /* The user level, then user + agent, then the exact scope; each level once. */
    levels[n_levels++] = (ctxmem_scope){scope->user, NULL, NULL};
    if (scope->agent && *scope->agent)
        levels[n_levels++] = (ctxmem_scope){scope->user, scope->agent, NULL};
    if (scope->session && *scope->session)
        levels[n_levels++] = *scope;
    for (size_t i = 0; rc == CTXMEM_OK && i < n_levels; i++)
        rc = load_scope_pins(s, txn, &levels[i], pins, n, &cap);
    if (rc != CTXMEM_OK) {
        free(*pins);
        *pins = NULL, *n = 0;
        return rc;
    }
    if (*n > 1)
        qsort(*pins, *n, sizeof(**pins), by_priority);
    return CTXMEM_OK;
}
