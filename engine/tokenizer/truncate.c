/*
 * Truncation to a token budget: the longest prefix that fits, cut on a token
 * boundary that is also a character boundary.
 */
#include "tok.h"

#include <stdlib.h>

static int is_char_start(const char *text, size_t len, size_t at)
{
    return at == len || ((unsigned char)text[at] & 0xC0) != 0x80;
}

/* Step back from the max_tokens-th token bound until the prefix counts within budget. */
static int truncate_bpe(const ctxmem_tokenizer *tok, const char *text, size_t len,
                        size_t max_tokens, size_t *cut_len)
{
    tok_sink sink = {NULL, 0, 0, 0};
    const tok_ranks *r = tok->ranks;
    size_t k, end = 0, count = 0;
    int rc = tok_bpe_encode(r, tok->pattern, (const unsigned char *)text, len, &sink);

    *cut_len = 0;
    if (rc != CTXMEM_OK || sink.n <= max_tokens) {
        *cut_len = rc == CTXMEM_OK ? len : 0;
        free(sink.ids);
        return rc;
    }
    for (k = 0; k < max_tokens; k++)
        end += r->length[sink.ids[k]];
    for (;;) {
        if (is_char_start(text, len, end)) {
            rc = tok_bpe_count(r, tok->pattern, (const unsigned char *)text, end, &count);
            if (rc != CTXMEM_OK || count <= max_tokens)
                break;
        }
        if (k == 0) /* unreachable: the empty prefix always fits */
            break;
        end -= r->length[sink.ids[--k]];
    }
    if (rc == CTXMEM_OK)
        *cut_len = end;
    free(sink.ids);
    return rc;
}

/* Largest character boundary at or below `at`. */
static size_t char_floor(const char *text, size_t len, size_t at)
{
    while (at > 0 && !is_char_start(text, len, at))
        at--;
    return at;
}

/* Binary search over prefix lengths for counters that only give totals. */
static int truncate_search(const ctxmem_tokenizer *tok, const char *text, size_t len,
                           size_t max_tokens, size_t *cut_len)
{
    size_t lo = 0, hi = len, count = 0;
    int rc = ctxmem_tokenizer_count(tok, text, len, &count);

    *cut_len = 0;
    if (rc != CTXMEM_OK || count <= max_tokens) {
        *cut_len = rc == CTXMEM_OK ? len : 0;
        return rc;
    }
    /* Invariant: the prefix up to char_floor(lo) fits and the one up to hi does not. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        rc = ctxmem_tokenizer_count(tok, text, char_floor(text, len, mid), &count);
        if (rc != CTXMEM_OK)
            return rc;
        if (count <= max_tokens)
            lo = mid;
        else
            hi = mid;
    }
    *cut_len = char_floor(text, len, lo);
    return CTXMEM_OK;
}

int ctxmem_tokenizer_truncate(const ctxmem_tokenizer *tok, const char *text, size_t len,
                              size_t max_tokens, size_t *cut_len)
{
    if (cut_len)
        *cut_len = 0;
    if (!tok || !cut_len || (!text && len))
        return err_set(CTXMEM_EINVAL, "tokenizer: truncate: NULL argument");
    if (ctxmem_utf8_check(text, len) != CTXMEM_OK)
        return err_wrap(CTXMEM_EINVAL, "tokenizer: truncate");
    if (tok->kind == TOK_KIND_BPE)
        return truncate_bpe(tok, text, len, max_tokens, cut_len);
    return truncate_search(tok, text, len, max_tokens, cut_len);
}
