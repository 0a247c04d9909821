/*
 * Private interface of the tokenizer module: Unicode classes, the
 * pre-tokenizer, the rank table and byte-pair merging. Not part of the public
 * API; names carry the tok_ prefix.
 */
#ifndef CTXMEM_TOK_H
#define CTXMEM_TOK_H

#include "internal.h"
#include "ctxmem/tokenizer.h"

#include <stddef.h>
#include <stdint.h>

/* ---- Unicode 16.0 classes (unicode_tables.c, generated) ---- */

/* One class per code point; the pre-tokenizer needs no finer distinction. */
enum tok_class {
    TOK_OTHER = 0,  /* punctuation, symbols, controls, format, unassigned */
    TOK_UPPER = 1,  /* Lu, Lt */
    TOK_LOWER = 2,  /* Ll */
    TOK_LETTER = 3, /* Lm, Lo: in both of o200k's letter classes */
    TOK_MARK = 4,   /* Mn, Mc, Me */
    TOK_NUMBER = 5, /* Nd, Nl, No */
    TOK_SPACE = 6   /* the White_Space property */
};

/* stage1[cp >> SHIFT] selects a block of stage2; block 0 (U+0000..) comes first. */
#define TOK_UC_SHIFT 7

extern const uint8_t tok_uc_stage1[0x110000 >> TOK_UC_SHIFT];
extern const uint8_t tok_uc_stage2[];

/* Class of a code point (at most U+10FFFF). */
static inline unsigned tok_uc_class(uint32_t cp)
{
    unsigned block = tok_uc_stage1[cp >> TOK_UC_SHIFT];

    return tok_uc_stage2[(block << TOK_UC_SHIFT) | (cp & ((1u << TOK_UC_SHIFT) - 1))];
}

/* ---- pre-tokenizer (pretokenize.c) ---- */

/* The split pattern of an encoding. */
enum tok_pattern { TOK_PAT_CL100K, TOK_PAT_O200K };

/*
 * End of the piece that starts at `pos` (< len) in valid UTF-8 `s`, exactly as
 * the encoding's regex would match it. Pieces tile the text.
 */
size_t tok_piece_end(enum tok_pattern pat, const unsigned char *s, size_t len, size_t pos);

/* ---- rank table (ranks.c) ---- */

#define TOK_NO_RANK UINT32_MAX

/* Mergeable ranks of one encoding: token bytes <-> rank. Immutable once built. */
typedef struct tok_ranks {
    uint32_t n_tokens;
    uint32_t max_len; /* longest token, bytes */
    uint64_t mask;    /* slots - 1 */
    uint64_t *slots;  /* hash tag << 32 | (rank + 1); 0 = empty */
    uint32_t *offset; /* per rank: start of its bytes in `bytes` */
    uint32_t *length; /* per rank: number of bytes */
    unsigned char *bytes;
    uint32_t byte_rank[256];
} tok_ranks;

/*
 * Parse a .tiktoken file. `expect` is the number of tokens the encoding must
 * have, 0 when unknown. Returns CTXMEM_OK, ENOTFOUND (file missing), EIO,
 * ECORRUPT or ENOMEM with a message naming the path.
 */
int tok_ranks_load(tok_ranks **out, const char *path, uint32_t expect);

/* Parse rank-file text held in memory; `what` names it in messages. */
int tok_ranks_parse(tok_ranks **out, const char *text, size_t len, uint32_t expect,
                    const char *what);

void tok_ranks_free(tok_ranks *r);

/* Rank of the byte string s[0..n), or TOK_NO_RANK. */
uint32_t tok_ranks_find(const tok_ranks *r, const unsigned char *s, size_t n);

/* ---- byte-pair merging (bpe.c) ---- */

/* A growing array of ids; `failed` is set when growing it ran out of memory. */
typedef struct tok_sink {
    uint32_t *ids;
    size_t n, cap;
    int failed;
} tok_sink;

/* Number of tokens of valid UTF-8 text. Returns CTXMEM_OK or CTXMEM_ENOMEM. */
int tok_bpe_count(const tok_ranks *r, enum tok_pattern pat, const unsigned char *s, size_t len,
                  size_t *n_tokens);

/* Append the ids of valid UTF-8 text to `sink`. Returns CTXMEM_OK or CTXMEM_ENOMEM. */
int tok_bpe_encode(const tok_ranks *r, enum tok_pattern pat, const unsigned char *s, size_t len,
                   tok_sink *sink);

/* ---- the handle (tokenizer.c) ---- */

enum tok_kind { TOK_KIND_BPE, TOK_KIND_APPROX, TOK_KIND_CUSTOM };

struct ctxmem_tokenizer {
    char name[65];
    enum tok_kind kind;
    enum tok_pattern pattern; /* BPE only */
    tok_ranks *ranks;         /* BPE only */
    ctxmem_tokenizer_cb cb;   /* custom only */
    void *user;               /* custom only */
};

#endif /* CTXMEM_TOK_H */
