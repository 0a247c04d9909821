/*
 * The cold-tier refill: what is left of the budget goes to the best-ranked
 * stored segments for the query, deduplicated against the hot tier and the
 * summaries, in time order, with tool halves kept together.
 */
#include "assemble.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- cold-tier refill ---------------------------------------------------------- */

/* A cold segment chosen for the window; owns copies of what the item needs. */
typedef struct cold_pick {
    uint64_t id;
    uint64_t seq;
    int64_t time;
    int role;
    char *name;
    char *pair_id;
    char *text; /* rendered */
    size_t len;
    size_t prefix_len; /* the time-and-speaker line before the segment's text */
    size_t tokens;
    float score;
    unsigned flags;
} cold_pick;

typedef struct cold_set {
    cold_pick *picks;
    size_t n, cap;
} cold_set;

static int in_window(asm_ctx *c, const cold_set *cs, uint64_t id)
{
    for (size_t i = 0; i < cs->n; i++)
        if (cs->picks[i].id == id)
            return 1;
    for (size_t i = 0; i < c->n_hot; i++)
        if (c->hot[i].seg->id == id)
            return 1;
    return 0;
}

static int in_summaries(asm_ctx *c, const ctxmem_segment *seg)
{
    if (seg->text_len < 16 || memchr(seg->text, '\0', seg->text_len))
        return 0;
    for (size_t i = 0; i < c->st.n_summaries; i++)
        if (strstr(c->st.summaries[i].text, seg->text))
            return 1;
    return 0;
}

static void free_pick(cold_pick *p)
{
    free(p->name);
    free(p->pair_id);
    free(p->text);
}

/*
 * How a cold segment is sent: out of sequence, so after a line with its time
 * and speaker ("(outdated) [2023-05-08 13:56] Caroline:\n..."); tool halves
 * stay raw so that they remain valid tool messages.
 */
static int render_pick(const ctxmem_segment *seg, unsigned flags, cold_pick *p)
{
    char when[32], head[256];
    const char *who = seg->name[0] ? seg->name : ctxmem_role_name(seg->role);
    int n = 0;

    if (!asm_is_tool(seg->role)) {
        asm_format_time(seg->time, when, sizeof(when));
        n = snprintf(head, sizeof(head), "%s[%s] %.64s:\n",
                     flags & CTXMEM_ITEM_OUTDATED ? "(outdated) " : "", when, who);
    }
    p->prefix_len = n > 0 ? (size_t)n : 0;
    p->len = p->prefix_len + seg->text_len;
    p->text = malloc(p->len + 1);
    p->name = xstrdup(seg->name);
    p->pair_id = xstrdup(seg->pair_id);
    if (!p->text || !p->name || !p->pair_id)
        return err_set(CTXMEM_ENOMEM, "window: out of memory");
    memcpy(p->text, head, p->prefix_len);
    memcpy(p->text + p->prefix_len, seg->text, seg->text_len);
    p->text[p->len] = '\0';
    return CTXMEM_OK;
}

/*
 * Whether prefix + text counts as count(prefix) + count(text) under the
 * BPE encodings: the prefix ends in ":\n", a piece that only CR, LF (and for
 * o200k '/') could extend, so when the text starts with none of those its
 * pieces, and so its tokens, are the same as on its own.
 */
static int additive(const asm_ctx *c, const ctxmem_segment *seg)
{
    const char *name = ctxmem_tokenizer_name(c->s->tok);

    return seg->text_len > 0 && !strchr("\r\n/", seg->text[0]) && seg->text[0] != '\0' &&
           (!strcmp(name, "o200k_base") || !strcmp(name, "cl100k_base"));
}

/* Tokens of a rendered cold pick: the stored count of the text saves counting it again. */
static int pick_tokens(asm_ctx *c, const ctxmem_segment *seg, const cold_pick *p, size_t *n)
{
    int rc;

    if (asm_is_tool(seg->role) || !additive(c, seg))
        return asm_message_tokens(c, seg->role, asm_is_tool(seg->role) ? seg->name : NULL, p->text,
                                  p->len, n);
    rc = asm_message_tokens(c, seg->role, NULL, p->text, p->prefix_len, n);
    *n += seg->tokens;
    return rc;
}

/* Render a cold segment and claim its tokens; the first pick may be cut to fit. */
static int pick(asm_ctx *c, cold_set *cs, const ctxmem_segment *seg, float score, unsigned flags,
                int *taken)
{
    cold_pick p = {seg->id, seg->seq, seg->time, seg->role, NULL,  NULL,
                   NULL,    0,        0,         0,         score, flags};
    size_t cut = 0, full = 0;
    int rc = render_pick(seg, flags, &p);

    *taken = 0;
    if (rc == CTXMEM_OK)
        rc = pick_tokens(c, seg, &p, &p.tokens);
    full = p.tokens;
    if (rc == CTXMEM_OK && p.tokens > c->left && cs->n == 0 && !asm_is_tool(seg->role)) {
        rc = asm_cut_to_fit(c, seg->role, NULL, p.text, p.len, c->left, &cut, &p.tokens);
        p.len = cut, p.flags |= CTXMEM_ITEM_CUT;
    }
    if (rc == CTXMEM_OK && p.len > 0 && p.tokens <= c->left && cs->n < cs->cap) {
        cs->picks[cs->n++] = p;
        c->left -= p.tokens;
        *taken = 1;
        if (p.flags & CTXMEM_ITEM_CUT)
            rc = win_add_drop(c->w, CTXMEM_TIER_COLD, seg->id, NULL, full, 1, "over_budget");
        return rc;
    }
    free_pick(&p);
    return rc;
}

static void unpick_last(asm_ctx *c, cold_set *cs)
{
    cold_pick *p = &cs->picks[--cs->n];

    c->left += p->tokens;
    free_pick(p);
}

/* A retrieved tool half comes in with its partner, call first, or not at all. */
static int pick_pair(asm_ctx *c, MDB_txn *txn, cold_set *cs, const ctxmem_segment *seg, float score,
                     int *taken, const char **why)
{
    ctxmem_segment partner;
    uint64_t call = 0, result = 0, other;
    int rc = facts_pair_lookup(c->s, seg->scope, seg->pair_id, &call, &result), second = 0;

    *taken = 0;
    other = seg->id == call ? result : call;
    if (rc == CTXMEM_OK && (!call || !result))
        *why = "unpaired";
    else if (rc == CTXMEM_OK && in_window(c, cs, other))
        *why = "duplicate";
    if (rc != CTXMEM_OK || *why)
        return rc;
    rc = store_segment_read(c->s, txn, other, &partner);
    if (rc == CTXMEM_OK && cs->n + 2 <= cs->cap)
        rc = pick(c, cs, seg->id == call ? seg : &partner, score, 0, taken);
    if (rc == CTXMEM_OK && *taken)
        rc = pick(c, cs, seg->id == call ? &partner : seg, score, 0, &second);
    if (rc == CTXMEM_OK && *taken && !second) {
        unpick_last(c, cs);
        *taken = 0;
    }
    return rc;
}

/*
 * Whether a hit is even worth reading: once something is placed, a hit whose
 * stored token count alone (plus a message's framing) exceeds what is left
 * cannot fit, and is dropped without reading or rendering it.
 */
static int cannot_fit(asm_ctx *c, const cold_set *cs, const ctxmem_hit *h)
{
    return cs->n > 0 && (size_t)h->tokens + c->framing.per_message > c->left;
}

static int consider_hit(asm_ctx *c, MDB_txn *txn, cold_set *cs, const ctxmem_hit *h,
                        int outdated_pass)
{
    ctxmem_segment seg;
    ctxmem_segment_status st;
    const char *why = NULL;
    int rc = facts_status_read(c->s, txn, h->id, &st), taken = 0;

    if (rc != CTXMEM_OK || (st.end_time != 0) != outdated_pass || in_window(c, cs, h->id))
        return rc;
    if (cannot_fit(c, cs, h)) /* the better-ranked hits placed before it took the room */
        return win_add_drop(c->w, CTXMEM_TIER_COLD, h->id, NULL, h->tokens, 0, "lower_score");
    rc = store_segment_read(c->s, txn, h->id, &seg);
    if (rc != CTXMEM_OK)
        return rc == CTXMEM_ENOTFOUND ? CTXMEM_OK : rc; /* forgotten meanwhile */
    if (st.end_time && in_window(c, cs, st.successor))
        why = "superseded";
    else if (in_summaries(c, &seg))
        why = "in_summary";
    else if (asm_is_tool(seg.role))
        rc = pick_pair(c, txn, cs, &seg, h->score, &taken, &why);
    else
        rc = pick(c, cs, &seg, h->score, st.end_time ? CTXMEM_ITEM_OUTDATED : 0, &taken);
    if (rc == CTXMEM_OK && !taken)
        rc = win_add_drop(c->w, CTXMEM_TIER_COLD, seg.id, NULL, seg.tokens, 0,
                          why     ? why
                          : cs->n ? "lower_score"
                                  : "over_budget");
    return rc;
}

static int by_time(const void *a, const void *b)
{
    const cold_pick *x = a, *y = b;

    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int add_cold_items(asm_ctx *c, cold_set *cs)
{
    int rc = CTXMEM_OK;

    qsort(cs->picks, cs->n, sizeof(*cs->picks), by_time);
    for (size_t i = 0; rc == CTXMEM_OK && i < cs->n; i++) {
        const cold_pick *p = &cs->picks[i];
        ctxmem_window_item it = {0};
        it.tier = CTXMEM_TIER_COLD, it.role = p->role, it.segment = p->id;
        it.first_seq = it.last_seq = p->seq, it.text = p->text, it.text_len = p->len;
        it.name = asm_is_tool(p->role) ? p->name : NULL, it.pair_id = p->pair_id;
        it.time = p->time, it.tokens = p->tokens, it.score = p->score;
        it.flags = p->flags, it.reason = "relevant";
        rc = win_add_item(c->w, &it);
    }
    return rc;
}

static void free_cold(cold_set *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        free_pick(&cs->picks[i]);
    free(cs->picks);
}

/* The latest user turn of the hot tier: the default query. */
static const ctxmem_segment *latest_user_turn(asm_ctx *c)
{
    for (size_t i = c->n_hot; i-- > 0;)
        if (c->hot[i].seg->role == CTXMEM_ROLE_USER)
            return c->hot[i].seg;
    return NULL;
}

int asm_refill_cold(asm_ctx *c, const char *query, size_t query_len)
{
    ctxmem_search_opts opts = CTXMEM_SEARCH_OPTS_INIT;
    ctxmem_scope exact = {c->scope->user, c->scope->agent ? c->scope->agent : "",
                          c->scope->session ? c->scope->session : ""};
    const ctxmem_segment *latest = query ? NULL : latest_user_turn(c);
    ctxmem_hit *hits = NULL;
    size_t n_hits = 0;
    cold_set cs = {0};
    MDB_txn *txn = NULL;
    double t0 = asm_now_us();
    int rc;

    if (!c->scope_exists || (!query && !latest) || c->left < MIN_CUT_TOKENS)
        return CTXMEM_OK;
    if (c->b.search)
        opts = *c->b.search;
    /* Enough candidates (with their neighbours) to fill the space left. */
    opts.k = opts.k ? opts.k : (c->left / 64 > COLD_CANDIDATES ? c->left / 64 : COLD_CANDIDATES);
    rc = ctxmem_search(&hits, &n_hits, c->s, &exact, 1, query ? query : latest->text,
                       query ? query_len : latest->text_len, &opts);
    c->w->report.us_search = asm_now_us() - t0;
    cs.cap = 2 * n_hits; /* a tool half brings its partner */
    cs.picks = rc == CTXMEM_OK && n_hits ? malloc(cs.cap * sizeof(*cs.picks)) : NULL;
    if (rc == CTXMEM_OK && n_hits && !cs.picks)
        rc = err_set(CTXMEM_ENOMEM, "window: out of memory");
    /* Current segments first; superseded ones may only follow their successors. */
    if (rc == CTXMEM_OK)
        rc = store_read_begin(c->s, &txn);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; rc == CTXMEM_OK && i < n_hits; i++)
            if (hits[i].seq < c->st.hot_from_seq)
                rc = consider_hit(c, txn, &cs, &hits[i], pass);
    store_read_end(c->s, txn);
    if (rc == CTXMEM_OK)
        rc = add_cold_items(c, &cs);
    free_cold(&cs);
    ctxmem_hits_free(hits);
    return rc;
}
