/*
 * Rank tables: parse and check a .tiktoken file (one "base64 rank" line per
 * token) and find the rank of a byte string through an open-addressing hash
 * table keyed by XXH3 of the token bytes.
 */
#include "tok.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* A parse in progress: where we are in the text, for messages. */
typedef struct parser {
    const char *what;
    const char *p, *end;
    size_t line, lines;
} parser;

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode standard padded base64 s[0..n) to out; return the byte count or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out)
{
    long len = 0;

    if (n == 0 || n % 4 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;

        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];

            v[k] = b64_value(c);
            if (c == '=' && i + 4 == n && k >= 2 && (k == 3 || s[i + 3] == '='))
                v[k] = 0, pad++;
            else if (v[k] < 0 || pad)
                return -1;
        }
        out[len++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (pad < 2)
            out[len++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
        if (pad < 1)
            out[len++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
    }
    return len;
}

static uint64_t hash_bytes(const unsigned char *s, size_t n)
{
    return XXH3_64bits(s, n);
}

uint32_t tok_ranks_find(const tok_ranks *r, const unsigned char *s, size_t n)
{
    uint64_t h = hash_bytes(s, n);
    uint64_t tag = h >> 32;

    for (uint64_t i = h & r->mask;; i = (i + 1) & r->mask) {
        uint64_t slot = r->slots[i];
        uint32_t rank;

        if (slot == 0)
            return TOK_NO_RANK;
        if ((slot >> 32) != tag)
            continue;
        rank = (uint32_t)slot - 1;
        if (r->length[rank] == n && memcmp(r->bytes + r->offset[rank], s, n) == 0)
            return rank;
    }
}

/* Insert `rank`; returns the rank already holding the same bytes, or TOK_NO_RANK. */
static uint32_t insert(tok_ranks *r, uint32_t rank)
{
    const unsigned char *s = r->bytes + r->offset[rank];
    size_t n = r->length[rank];
    uint32_t old = tok_ranks_find(r, s, n);
    uint64_t h = hash_bytes(s, n);
    uint64_t i = h & r->mask;

    if (old != TOK_NO_RANK)
        return old;
    while (r->slots[i] != 0)
        i = (i + 1) & r->mask;
    r->slots[i] = (h >> 32) << 32 | ((uint64_t)rank + 1);
    return TOK_NO_RANK;
}

void tok_ranks_free(tok_ranks *r)
{
    if (!r)
        return;
    free(r->slots);
    free(r->offset);
    free(r->length);
    free(r->bytes);
    free(r);
}

/* Allocate room for up to `lines` tokens of at most `text_len` bytes in all. */
static int ranks_alloc(tok_ranks **out, size_t lines, size_t text_len)
{
    tok_ranks *r = calloc(1, sizeof(*r));
    size_t slots = 1024;

    *out = r;
    if (!r)
        return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory for the rank table");
    while (slots < lines * 2) /* load factor at most 1/2 keeps probes short */
        slots *= 2;
    r->mask = slots - 1;
    r->slots = calloc(slots, sizeof(*r->slots));
    r->offset = malloc((lines + 1) * sizeof(*r->offset));
    r->length = malloc((lines + 1) * sizeof(*r->length));
    r->bytes = malloc(text_len / 4 * 3 + 4);
    if (!r->slots || !r->offset || !r->length || !r->bytes)
        return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory for %zu ranks", lines);
    memset(r->offset, 0xFF, (lines + 1) * sizeof(*r->offset));
    return CTXMEM_OK;
}

static int corrupt(const parser *ps, const char *why)
{
    return err_set(CTXMEM_ECORRUPT, "tokenizer: %s line %zu: %s", ps->what, ps->line, why);
}

/* Parse the decimal rank field p[0..n); -1 when malformed. */
static long long parse_rank(const char *p, size_t n)
{
    long long v = 0;

    if (n == 0 || n > 10 || (p[0] == '0' && n > 1))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Parse one "base64 rank" line (without its LF) into the table. */
static int parse_line(tok_ranks *r, parser *ps, const char *line, size_t n, size_t *used)
{
    const char *space = memchr(line, ' ', n);
    long long rank;
    long len;

    if (!space)
        return corrupt(ps, "expected 'base64 rank'");
    rank = parse_rank(space + 1, (size_t)(line + n - space - 1));
    if (rank < 0 || rank >= (long long)ps->lines)
        return corrupt(ps, "rank missing or outside 0..lines-1");
    len = b64_decode(line, (size_t)(space - line), r->bytes + *used);
    if (len <= 0)
        return corrupt(ps, "bad base64");
    if (r->offset[rank] != UINT32_MAX)
        return corrupt(ps, "rank appears twice");
    r->offset[rank] = (uint32_t)*used;
    r->length[rank] = (uint32_t)len;
    *used += (size_t)len;
    return CTXMEM_OK;
}

/* Every rank 0..n-1 present, every single byte a token, no bytes twice. */
static int check_and_index(tok_ranks *r, const char *what, uint32_t n)
{
    for (uint32_t rank = 0; rank < n; rank++) {
        uint32_t dup;

        if (r->offset[rank] == UINT32_MAX)
            return err_set(CTXMEM_ECORRUPT, "tokenizer: %s: rank %u is missing", what, rank);
        dup = insert(r, rank);
        if (dup != TOK_NO_RANK)
            return err_set(CTXMEM_ECORRUPT, "tokenizer: %s: ranks %u and %u have the same bytes",
                           what, dup, rank);
        if (r->length[rank] > r->max_len)
            r->max_len = r->length[rank];
    }
    for (unsigned b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;

        r->byte_rank[b] = tok_ranks_find(r, &c, 1);
        if (r->byte_rank[b] == TOK_NO_RANK)
            return err_set(CTXMEM_ECORRUPT, "tokenizer: %s: byte 0x%02X is not a token", what, b);
    }
    return CTXMEM_OK;
}

static size_t count_lines(const char *text, size_t len)
{
    size_t n = 0;
    const char *p = text, *end = text + len;

    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL)
        n++, p++;
    return n;
}

int tok_ranks_parse(tok_ranks **out, const char *text, size_t len, uint32_t expect,
                    const char *what)
{
    size_t lines = count_lines(text, len), used = 0;
    parser ps = {what, text, text + len, 0, lines};
    tok_ranks *r = NULL;
    int rc;

    *out = NULL;
    if (len == 0 || text[len - 1] != '\n')
        return err_set(CTXMEM_ECORRUPT, "tokenizer: %s: truncated (no final newline)", what);
    if (lines > UINT32_MAX / 2 || (expect && lines != expect))
        return err_set(CTXMEM_ECORRUPT, "tokenizer: %s: %zu lines, expected %u tokens", what, lines,
                       expect);
    rc = ranks_alloc(&r, lines, len);
    while (rc == CTXMEM_OK && ps.p < ps.end) {
        const char *nl = memchr(ps.p, '\n', (size_t)(ps.end - ps.p));

        ps.line++;
        rc = parse_line(r, &ps, ps.p, (size_t)(nl - ps.p), &used);
        ps.p = nl + 1;
    }
    if (rc == CTXMEM_OK) {
        r->n_tokens = (uint32_t)lines;
        rc = check_and_index(r, what, r->n_tokens);
    }
    if (rc != CTXMEM_OK) {
        tok_ranks_free(r);
        return rc;
    }
    *out = r;
    return CTXMEM_OK;
}

/* Read a whole file; ENOTFOUND when it does not exist. */
static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;

    *buf = NULL;
    if (!f)
        return err_set(errno == ENOENT || errno == ENOTDIR ? CTXMEM_ENOTFOUND : CTXMEM_EIO,
                       "tokenizer: cannot open '%s': %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return err_set(CTXMEM_EIO, "tokenizer: cannot size '%s'", path);
    }
    *buf = malloc((size_t)n + 1);
    if (!*buf) {
        fclose(f);
        return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory reading '%s'", path);
    }
    *len = fread(*buf, 1, (size_t)n, f);
    fclose(f);
    if (*len != (size_t)n) {
        free(*buf);
        *buf = NULL;
        return err_set(CTXMEM_EIO, "tokenizer: short read on '%s'", path);
    }
    return CTXMEM_OK;
}

int tok_ranks_load(tok_ranks **out, const char *path, uint32_t expect)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = read_file(path, &text, &len);
    if (rc == CTXMEM_OK)
        rc = tok_ranks_parse(out, text, len, expect, path);
    free(text);
    return rc;
}
