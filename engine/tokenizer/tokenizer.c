/*
 * Tokenizer front end: dispatch to the built-in approx estimate or to
 * application callbacks. (Temporary shape: BPE encodings land with the
 * tokenizer module.)
 */
#include "internal.h"
#include "ctxmem/tokenizer.h"

#include <stdlib.h>
#include <string.h>

struct ctxmem_tokenizer {
    char name[65];
    int exact;
    ctxmem_tokenizer_cb cb;
    void *user;
};

static int approx_count(void *user, const char *text, size_t len, size_t *n)
{
    (void)user;
    *n = (len + 3) / 4;
    (void)text;
    return 0;
}

int ctxmem_tokenizer_load(ctxmem_tokenizer **out, const char *name, const char *dir)
{
    static const ctxmem_tokenizer_cb approx = {CTXMEM_TOKENIZER_CB_VERSION, approx_count, NULL,
                                               NULL, NULL};
    int rc;

    (void)dir;
    if (!out || !name)
        return err_set(CTXMEM_EINVAL, "tokenizer: NULL argument");
    *out = NULL;
    if (strcmp(name, "approx") != 0)
        return err_set(CTXMEM_ENOTFOUND, "tokenizer: encoding '%s' is not available", name);
    rc = ctxmem_tokenizer_new_custom(out, "approx", &approx, NULL);
    if (rc == CTXMEM_OK)
        (*out)->exact = 0;
    return rc;
}

int ctxmem_tokenizer_load_file(ctxmem_tokenizer **out, const char *name, const char *path)
{
    (void)path;
    return ctxmem_tokenizer_load(out, name, NULL);
}

int ctxmem_tokenizer_new_custom(ctxmem_tokenizer **out, const char *name,
                                const ctxmem_tokenizer_cb *cb, void *user)
{
    ctxmem_tokenizer *t;

    if (!out)
        return err_set(CTXMEM_EINVAL, "tokenizer: NULL out");
    *out = NULL;
    if (!name || !cb || !cb->count)
        return err_set(CTXMEM_EINVAL, "tokenizer: custom tokenizer needs a name and count");
    if (strlen(name) == 0 || strlen(name) > 64)
        return err_set(CTXMEM_EINVAL, "tokenizer: name must be 1-64 bytes");
    t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory");
    strcpy(t->name, name);
    t->exact = 1;
    t->cb = *cb;
    t->user = user;
    *out = t;
    return CTXMEM_OK;
}

void ctxmem_tokenizer_free(ctxmem_tokenizer *tok)
{
    if (!tok)
        return;
    if (tok->cb.destroy)
        tok->cb.destroy(tok->user);
    free(tok);
}

const char *ctxmem_tokenizer_name(const ctxmem_tokenizer *tok)
{
    return tok ? tok->name : "";
}

int ctxmem_tokenizer_is_exact(const ctxmem_tokenizer *tok)
{
    return tok ? tok->exact : 0;
}

int ctxmem_tokenizer_count(const ctxmem_tokenizer *tok, const char *text, size_t len,
                           size_t *n_tokens)
{
    if (!tok || !n_tokens || (!text && len))
        return err_set(CTXMEM_EINVAL, "tokenizer: NULL argument");
    if (ctxmem_utf8_check(text, len) != CTXMEM_OK)
        return err_wrap(CTXMEM_EINVAL, "tokenizer: count");
    if (tok->cb.count(tok->user, text, len, n_tokens) != 0)
        return err_set(CTXMEM_ECALLBACK, "tokenizer: '%s' count callback failed", tok->name);
    return CTXMEM_OK;
}

int ctxmem_tokenizer_encode(const ctxmem_tokenizer *tok, const char *text, size_t len,
                            uint32_t **ids, size_t *n_ids)
{
    (void)tok, (void)text, (void)len, (void)ids, (void)n_ids;
    return err_set(CTXMEM_EINVAL, "tokenizer: encode is not available");
}

int ctxmem_tokenizer_decode(const ctxmem_tokenizer *tok, const uint32_t *ids, size_t n_ids,
                            char **bytes, size_t *len)
{
    (void)tok, (void)ids, (void)n_ids, (void)bytes, (void)len;
    return err_set(CTXMEM_EINVAL, "tokenizer: decode is not available");
}
