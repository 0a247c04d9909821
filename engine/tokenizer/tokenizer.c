/*
 * Tokenizer front end: finding and loading rank files, the approx estimate,
 * application callbacks, and the public count/encode/decode/truncate calls.
 */
#define _GNU_SOURCE /* dladdr */
#include "tok.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CTXMEM_DEFAULT_TOKENIZER_DIR
#define CTXMEM_DEFAULT_TOKENIZER_DIR "/usr/local/share/ctxmem/tokenizers"
#endif

/* The BPE encodings ctxmem implements, with the size their rank file must have. */
static const struct encoding {
    const char *name;
    enum tok_pattern pattern;
    uint32_t n_tokens;
} encodings[] = {
    {"cl100k_base", TOK_PAT_CL100K, 100256},
    {"o200k_base", TOK_PAT_O200K, 199998},
};

static const struct encoding *encoding_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(encodings); i++)
        if (strcmp(encodings[i].name, name) == 0)
            return &encodings[i];
    return NULL;
}

static int tokenizer_alloc(ctxmem_tokenizer **out, const char *name, enum tok_kind kind)
{
    ctxmem_tokenizer *t = calloc(1, sizeof(*t));

    if (!t)
        return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory");
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->kind = kind;
    *out = t;
    return CTXMEM_OK;
}

int ctxmem_tokenizer_load_file(ctxmem_tokenizer **out, const char *name, const char *path)
{
    const struct encoding *enc;
    tok_ranks *ranks = NULL;
    int rc;

    if (!out)
        return err_set(CTXMEM_EINVAL, "tokenizer: NULL out");
    *out = NULL;
    if (!name || !path)
        return err_set(CTXMEM_EINVAL, "tokenizer: NULL name or path");
    enc = encoding_find(name);
    if (!enc)
        return err_set(CTXMEM_EINVAL, "tokenizer: unknown BPE encoding '%s'", name);

    rc = tok_ranks_load(&ranks, path, enc->n_tokens);
    if (rc == CTXMEM_OK)
        rc = tokenizer_alloc(out, name, TOK_KIND_BPE);
    if (rc != CTXMEM_OK) {
        tok_ranks_free(ranks);
        return rc;
    }
    (*out)->pattern = enc->pattern;
    (*out)->ranks = ranks;
    return CTXMEM_OK;
}

/* Append "PATH (WHY)" to the list of places tried. */
static void tried_add(char *tried, size_t cap, const char *path, const char *why)
{
    size_t used = strlen(tried);

    /* A cut-off list still says enough; the check keeps -Wformat-truncation quiet. */
    if (snprintf(tried + used, cap - used, "%s%s (%s)", used ? ", " : "", path, why) < 0)
        tried[used] = '\0';
}

/* Any object of this library: dladdr on it names the file the library was loaded from. */
static const char self_anchor;

/* The directory of `file` (resolved) into buf; 0 when there is none. */
static int dir_of(const char *file, char *buf, size_t cap)
{
    char real[PATH_MAX];
    char *slash;

    if (!file || !*file || !realpath(file, real) || strlen(real) >= cap)
        return 0;
    strcpy(buf, real);
    slash = strrchr(buf, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    return 1;
}

/*
 * Look beside the binary ctxmem is part of: the shared library (LIBDIR/../share,
 * LIBDIR/../../share for multiarch LIBDIRs, and the build tree's engine/../share)
 * or the program linked with the static library (BINDIR/../share, and the build
 * tree's ./share). A relocated install or a build tree finds its own tables.
 */
static int beside_binary(char *path, size_t cap, const char *name, char *tried, size_t tcap)
{
    static const char *const rel[] = {"/../share", "/share", "/../../share"};
    const char *files[2] = {NULL, "/proc/self/exe"};
    char dir[PATH_MAX];
    Dl_info info;

    if (dladdr(&self_anchor, &info) && info.dli_fname)
        files[0] = info.dli_fname;
    for (int f = 0; f < 2; f++) {
        if (!dir_of(files[f], dir, sizeof(dir)))
            continue;
        for (size_t r = 0; r < ARRAY_LEN(rel); r++) {
            int n = snprintf(path, cap, "%s%s/ctxmem/tokenizers/%s.tiktoken", dir, rel[r], name);
            if (n > 0 && (size_t)n < cap && access(path, F_OK) == 0)
                return 1;
        }
    }
    tried_add(tried, tcap, "share/ctxmem/tokenizers", "beside the library and the program");
    return 0;
}

/*
 * Find NAME.tiktoken: explicit dir, then $CTXMEM_TOKENIZER_DIR, then beside
 * the binary, then the install dir chosen at build time.
 */
static int rank_file_find(char *path, size_t cap, const char *name, const char *dir)
{
    const char *env = getenv("CTXMEM_TOKENIZER_DIR");
    const char *dirs[3] = {dir, env && *env ? env : NULL, CTXMEM_DEFAULT_TOKENIZER_DIR};
    const char *why[3] = {"dir argument", "$CTXMEM_TOKENIZER_DIR", "install dir"};
    char tried[600] = "";

    for (int i = 0; i < 3; i++) {
        if (i == 2 && beside_binary(path, cap, name, tried, sizeof(tried)))
            return CTXMEM_OK;
        if (!dirs[i]) {
            if (i == 1)
                tried_add(tried, sizeof(tried), "$CTXMEM_TOKENIZER_DIR", "unset");
            continue;
        }
        snprintf(path, cap, "%s/%s.tiktoken", dirs[i], name);
        if (access(path, F_OK) == 0)
            return CTXMEM_OK;
        tried_add(tried, sizeof(tried), path, why[i]);
    }
    return err_set(CTXMEM_ENOTFOUND,
                   "tokenizer: no %s.tiktoken; tried %s; run scripts/setup, or "
                   "scripts/fetch-tokenizers DIR and set CTXMEM_TOKENIZER_DIR=DIR",
                   name, tried);
}

int ctxmem_tokenizer_load(ctxmem_tokenizer **out, const char *name, const char *dir)
{
    char path[4096];
    int rc;

    if (!out)
        return err_set(CTXMEM_EINVAL, "tokenizer: NULL out");
    *out = NULL;
    if (!name)
        return err_set(CTXMEM_EINVAL, "tokenizer: NULL name");
    if (strcmp(name, "approx") == 0)
        return tokenizer_alloc(out, name, TOK_KIND_APPROX);
    if (!encoding_find(name))
        return err_set(CTXMEM_EINVAL,
                       "tokenizer: unknown encoding '%s' (cl100k_base, o200k_base, approx)", name);

    rc = rank_file_find(path, sizeof(path), name, dir);
    if (rc != CTXMEM_OK)
        return rc;
    return ctxmem_tokenizer_load_file(out, name, path);
}

static int name_is_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (name[i] < 0x20 || name[i] > 0x7E)
            return 0;
    return 1;
}

int ctxmem_tokenizer_new_custom(ctxmem_tokenizer **out, const char *name,
                                const ctxmem_tokenizer_cb *cb, void *user)
{
    int rc;

    if (!out)
        return err_set(CTXMEM_EINVAL, "tokenizer: NULL out");
    *out = NULL;
    if (!name || !cb || !cb->count)
        return err_set(CTXMEM_EINVAL, "tokenizer: a custom tokenizer needs a name and count");
    if (!name_is_valid(name))
        return err_set(CTXMEM_EINVAL, "tokenizer: name must be 1-64 printable ASCII bytes");
    if (cb->version != CTXMEM_TOKENIZER_CB_VERSION)
        return err_set(CTXMEM_EINVAL, "tokenizer: callback version %u, expected %u", cb->version,
                       CTXMEM_TOKENIZER_CB_VERSION);

    rc = tokenizer_alloc(out, name, TOK_KIND_CUSTOM);
    if (rc != CTXMEM_OK)
        return rc;
    (*out)->cb = *cb;
    (*out)->user = user;
    return CTXMEM_OK;
}

void ctxmem_tokenizer_free(ctxmem_tokenizer *tok)
{
    if (!tok)
        return;
    if (tok->kind == TOK_KIND_CUSTOM && tok->cb.destroy)
        tok->cb.destroy(tok->user);
    tok_ranks_free(tok->ranks);
    free(tok);
}

const char *ctxmem_tokenizer_name(const ctxmem_tokenizer *tok)
{
    return tok ? tok->name : "";
}

int ctxmem_tokenizer_is_exact(const ctxmem_tokenizer *tok)
{
    return tok && tok->kind != TOK_KIND_APPROX;
}

/* One token per 4 ASCII bytes, rounded up, plus one per non-ASCII character. */
static size_t approx_count(const char *text, size_t len)
{
    size_t ascii = 0, wide = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        ascii += c < 0x80;
        wide += c >= 0xC0;
    }
    return (ascii + 3) / 4 + wide;
}

/* Checks shared by count and encode: arguments and UTF-8. */
static int text_check(const ctxmem_tokenizer *tok, const char *text, size_t len, const void *out,
                      const char *op)
{
    if (!tok || !out || (!text && len))
        return err_set(CTXMEM_EINVAL, "tokenizer: %s: NULL argument", op);
    if (ctxmem_utf8_check(text, len) != CTXMEM_OK)
        return err_wrap(CTXMEM_EINVAL, "tokenizer: %s", op);
    return CTXMEM_OK;
}

int ctxmem_tokenizer_count(const ctxmem_tokenizer *tok, const char *text, size_t len,
                           size_t *n_tokens)
{
    int rc = text_check(tok, text, len, n_tokens, "count");

    if (rc != CTXMEM_OK)
        return rc;
    switch (tok->kind) {
    case TOK_KIND_BPE:
        return tok_bpe_count(tok->ranks, tok->pattern, (const unsigned char *)text, len, n_tokens);
    case TOK_KIND_APPROX:
        *n_tokens = approx_count(text, len);
        return CTXMEM_OK;
    case TOK_KIND_CUSTOM:
        break;
    }
    if (tok->cb.count(tok->user, text, len, n_tokens) != 0)
        return err_set(CTXMEM_ECALLBACK, "tokenizer: '%s' count callback failed", tok->name);
    return CTXMEM_OK;
}

static int callback_failed(const ctxmem_tokenizer *tok, const char *op)
{
    return err_set(CTXMEM_ECALLBACK, "tokenizer: '%s' %s callback failed", tok->name, op);
}

/* Ask the application's encode for the ids, growing the buffer once if needed. */
static int custom_encode(const ctxmem_tokenizer *tok, const char *text, size_t len, uint32_t **ids,
                         size_t *n_ids)
{
    size_t cap = len / 2 + 16, need = 0;
    uint32_t *buf = malloc(cap * sizeof(*buf)), *bigger;

    if (!buf)
        return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory for %zu ids", cap);
    if (tok->cb.encode(tok->user, text, len, buf, cap, &need) != 0)
        goto failed;
    if (need > cap) {
        bigger = realloc(buf, need * sizeof(*buf));
        if (!bigger) {
            free(buf);
            return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory for %zu ids", need);
        }
        buf = bigger;
        cap = need;
        if (tok->cb.encode(tok->user, text, len, buf, cap, &need) != 0 || need > cap)
            goto failed;
    }
    if (need == 0) {
        free(buf);
        buf = NULL;
    }
    *ids = buf;
    *n_ids = need;
    return CTXMEM_OK;

failed:
    free(buf);
    return callback_failed(tok, "encode");
}

int ctxmem_tokenizer_encode(const ctxmem_tokenizer *tok, const char *text, size_t len,
                            uint32_t **ids, size_t *n_ids)
{
    tok_sink sink = {NULL, 0, 0, 0};
    int rc;

    if (ids)
        *ids = NULL;
    rc = text_check(tok, text, len, ids && n_ids ? ids : NULL, "encode");
    if (rc != CTXMEM_OK)
        return rc;
    *n_ids = 0;
    if (tok->kind == TOK_KIND_APPROX)
        return err_set(CTXMEM_EINVAL, "tokenizer: approx cannot encode");
    if (tok->kind == TOK_KIND_CUSTOM && !tok->cb.encode)
        return err_set(CTXMEM_EINVAL, "tokenizer: '%s' has no encode callback", tok->name);
    if (tok->kind == TOK_KIND_CUSTOM)
        return custom_encode(tok, text, len, ids, n_ids);

    rc = tok_bpe_encode(tok->ranks, tok->pattern, (const unsigned char *)text, len, &sink);
    if (rc != CTXMEM_OK) {
        free(sink.ids);
        return rc;
    }
    *ids = sink.ids;
    *n_ids = sink.n;
    return CTXMEM_OK;
}

/* Concatenate the bytes of BPE ids; an id outside the vocabulary is EINVAL. */
static int bpe_decode(const tok_ranks *r, const uint32_t *ids, size_t n_ids, char **bytes,
                      size_t *len)
{
    size_t total = 0;
    char *out;

    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] >= r->n_tokens)
            return err_set(CTXMEM_EINVAL,
                           "tokenizer: decode: id %u (position %zu) is outside "
                           "the vocabulary 0..%u",
                           ids[i], i, r->n_tokens - 1);
        total += r->length[ids[i]];
    }
    out = malloc(total + 1);
    if (!out)
        return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory for %zu bytes", total + 1);
    total = 0;
    for (size_t i = 0; i < n_ids; i++) {
        memcpy(out + total, r->bytes + r->offset[ids[i]], r->length[ids[i]]);
        total += r->length[ids[i]];
    }
    out[total] = '\0';
    *bytes = out;
    *len = total;
    return CTXMEM_OK;
}

/* Ask the application's decode for the bytes, growing the buffer once if needed. */
static int custom_decode(const ctxmem_tokenizer *tok, const uint32_t *ids, size_t n_ids,
                         char **bytes, size_t *len)
{
    size_t cap = n_ids * 4 + 16, need = 0;
    char *buf = malloc(cap + 1), *bigger;

    if (!buf)
        return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory for %zu bytes", cap);
    if (tok->cb.decode(tok->user, ids, n_ids, buf, cap, &need) != 0)
        goto failed;
    if (need > cap) {
        bigger = realloc(buf, need + 1);
        if (!bigger) {
            free(buf);
            return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory for %zu bytes", need);
        }
        buf = bigger;
        cap = need;
        if (tok->cb.decode(tok->user, ids, n_ids, buf, cap, &need) != 0 || need > cap)
            goto failed;
    }
    buf[need] = '\0';
    *bytes = buf;
    *len = need;
    return CTXMEM_OK;

failed:
    free(buf);
    return callback_failed(tok, "decode");
}

int ctxmem_tokenizer_decode(const ctxmem_tokenizer *tok, const uint32_t *ids, size_t n_ids,
                            char **bytes, size_t *len)
{
    if (bytes)
        *bytes = NULL;
    if (!tok || !bytes || !len || (!ids && n_ids))
        return err_set(CTXMEM_EINVAL, "tokenizer: decode: NULL argument");
    *len = 0;
    switch (tok->kind) {
    case TOK_KIND_BPE:
        return bpe_decode(tok->ranks, ids, n_ids, bytes, len);
    case TOK_KIND_APPROX:
        return err_set(CTXMEM_EINVAL, "tokenizer: approx cannot decode");
    case TOK_KIND_CUSTOM:
        break;
    }
    if (!tok->cb.decode)
        return err_set(CTXMEM_EINVAL, "tokenizer: '%s' has no decode callback", tok->name);
    return custom_decode(tok, ids, n_ids, bytes, len);
}
