/*
 * Private interface of window assembly, shared by its stages: assemble.c
 * (budget, pins, the whole call), hot.c (hot tier, demotion, warm tier) and
 * cold.c (the cold-tier refill). All stages work on one asm_ctx.
 */
#ifndef CTXMEM_ASSEMBLE_H
#define CTXMEM_ASSEMBLE_H

#include "window_internal.h"
#include "tiers/tiers.h"

#define DEFAULT_HOT_SHARE     0.25f
#define DEFAULT_WARM_SHARE    0.10f
#define DEFAULT_HOT_MIN_TURNS 2
#define COLD_CANDIDATES       48
#define MIN_CUT_TOKENS        24   /* a cut shorter than this is not worth sending */
#define HOT_LOAD_MAX          1024 /* the hot tier never holds more turns than this */

/* A segment copied out of the store, with its message cost. */
typedef struct hot_seg {
    ctxmem_segment *seg;
    size_t tokens;
    uint64_t successor; /* set when superseded */
    char *outdated;     /* "(outdated) " + text, for a superseded segment */
    size_t outdated_len;
} hot_seg;

typedef struct asm_ctx {
    ctxmem_store *s;
    const ctxmem_scope *scope;
    ctxmem_budget b;
    ctxmem_chat_framing framing;
    ctxmem_window *w;
    size_t left;       /* tokens still free */
    size_t after_pins; /* tokens free once the pins are placed */
    uint32_t scope_id;
    int scope_exists;
    tier_state st;
    hot_seg *hot;
    size_t n_hot;
    uint64_t skipped; /* turns demoted without a summary (beyond HOT_LOAD_MAX) */
} asm_ctx;

/* assemble.c: counting and cutting messages, shared by every stage. */
double asm_now_us(void);
int asm_is_tool(int role);
void asm_format_time(int64_t ms, char *buf, size_t cap);

/* Tokens of one message as the chat API will see it (framing included). */
int asm_message_tokens(asm_ctx *c, int role, const char *name, const char *text, size_t len,
                       size_t *n);

/* Cut `text` so that its message fits in `room` tokens; *cut_len 0 when nothing useful fits. */
int asm_cut_to_fit(asm_ctx *c, int role, const char *name, const char *text, size_t len,
                   size_t room, size_t *cut_len, size_t *tokens);

/* hot.c: read the hot tier, demote past its share, keep the warm tier within its share. */
int asm_maintain(asm_ctx *c);
void asm_free_hot(asm_ctx *c, size_t from, size_t to);

/* hot.c: choose the hot turns that fit (keep[i]: 0 out, 1 in, 2 in but cut), keep tool
 * halves together, and add the chosen ones as items. */
int asm_select_hot(asm_ctx *c, unsigned char *keep, size_t *cut_len, size_t *cut_tokens);
int asm_unpair_hot(asm_ctx *c, unsigned char *keep);
int asm_add_hot_items(asm_ctx *c, const unsigned char *keep, size_t cut_len, size_t cut_tokens);

/* hot.c: place the warm tier's summaries. */
int asm_place_warm(asm_ctx *c);

/* cold.c: fill what is left with the best cold segments for the query. */
int asm_refill_cold(asm_ctx *c, const char *query, size_t query_len);

#endif /* CTXMEM_ASSEMBLE_H */
