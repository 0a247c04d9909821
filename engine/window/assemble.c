/*
 * ctxmem_window_assemble: pinned blocks, hot tier, warm tier and cold-tier
 * refill inside one token budget.
 *
 * Budget arithmetic: `available` = limit - reserve_output; the reply priming
 * of the framing is taken from it first, and every item is one chat message
 * counted with its framing. Each step only places what fits in what is left,
 * so the total can never exceed `available`.
 */
#include "window_internal.h"
#include "tiers/tiers.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int check_budget(const ctxmem_budget *b)
{
    if (!b || b->version != CTXMEM_BUDGET_VERSION)
        return err_set(CTXMEM_EINVAL, "window: budget missing or of version %u (want %u)",
                       b ? b->version : 0, CTXMEM_BUDGET_VERSION);
    if (b->limit == 0 || b->limit > (1u << 30))
        return err_set(CTXMEM_EINVAL, "window: budget limit %zu out of range (1..2^30)", b->limit);
    if (b->reserve_output >= b->limit)
        return err_set(CTXMEM_EINVAL, "window: reserve_output %zu leaves nothing of limit %zu",
                       b->reserve_output, b->limit);
    if (!(b->hot_share >= 0 && b->hot_share <= 1) || !(b->warm_share >= 0 && b->warm_share <= 1))
        return err_set(CTXMEM_EINVAL, "window: tier shares must lie in [0, 1]");
    return CTXMEM_OK;
}

static int is_tool_role(int role)
{
    return role == CTXMEM_ROLE_TOOL_CALL || role == CTXMEM_ROLE_TOOL_RESULT;
}

/* Tokens of one message as the chat API will see it. */
static int message_tokens(asm_ctx *c, int role, const char *name, const char *text, size_t len,
                          size_t *n)
{
    size_t call = 0;
    int rc;

    if (role == CTXMEM_ROLE_TOOL_CALL) {
        rc = ctxmem_tokenizer_count_message(c->s->tok, &c->framing, "assistant", NULL, "", 0, n);
        if (rc == CTXMEM_OK)
            rc = ctxmem_tokenizer_count_tool_call(c->s->tok, name ? name : "", text, len, &call);
        *n += call;
        return rc;
    }
    /* Tool results go out without a name (see ctxmem_window_messages_json). */
    if (role == CTXMEM_ROLE_TOOL_RESULT)
        name = NULL;
    return ctxmem_tokenizer_count_message(c->s->tok, &c->framing, win_chat_role(role),
                                          name && *name ? name : NULL, text, len, n);
}

/* Cut `text` so that its message fits in `room` tokens; *cut_len 0 when nothing useful fits. */
static int cut_to_fit(asm_ctx *c, int role, const char *name, const char *text, size_t len,
                      size_t room, size_t *cut_len, size_t *tokens)
{
    size_t empty = 0;
    int rc = message_tokens(c, role, name, "", 0, &empty);

    *cut_len = 0, *tokens = 0;
    if (rc != CTXMEM_OK || room < empty + MIN_CUT_TOKENS)
        return rc;
    /* Content and framing are counted apart, so the cut text plus framing fits. */
    rc = ctxmem_tokenizer_truncate(c->s->tok, text, len, room - empty, cut_len);
    if (rc == CTXMEM_OK)
        rc = message_tokens(c, role, name, text, *cut_len, tokens);
    while (rc == CTXMEM_OK && *tokens > room && *cut_len > 0) {
        rc = ctxmem_tokenizer_truncate(c->s->tok, text, *cut_len, room - empty - 1, cut_len);
        room--;
        if (rc == CTXMEM_OK)
            rc = message_tokens(c, role, name, text, *cut_len, tokens);
    }
    return rc;
}

/* ---- pinned blocks ------------------------------------------------------ */

static int place_pin(asm_ctx *c, const tier_pin *p)
{
    ctxmem_window_item it = {0};
    size_t n = 0, cut = 0;
    int rc = message_tokens(c, p->role, NULL, p->text, p->text_len, &n);

    if (rc != CTXMEM_OK)
        return rc;
    it.tier = CTXMEM_TIER_PINNED, it.role = p->role, it.name = p->name;
    it.text = p->text, it.text_len = p->text_len, it.tokens = n, it.reason = "pinned";
    if (n > c->left) {
        rc = cut_to_fit(c, p->role, NULL, p->text, p->text_len, c->left, &cut, &it.tokens);
        if (rc != CTXMEM_OK)
            return rc;
        if (cut == 0)
            return win_add_drop(c->w, CTXMEM_TIER_PINNED, 0, p->name, n, 0, "over_budget");
        it.text_len = cut, it.flags = CTXMEM_ITEM_CUT;
        rc = win_add_drop(c->w, CTXMEM_TIER_PINNED, 0, p->name, n, 1, "over_budget");
    }
    if (rc == CTXMEM_OK)
        rc = win_add_item(c->w, &it);
    c->left -= it.tokens;
    return rc;
}

/* Priority-0 pins must fit whole; say by how much they do not. */
static int check_required_pins(asm_ctx *c, const tier_pin *pins, size_t n)
{
    size_t need = 0, t;

    for (size_t i = 0; i < n && pins[i].priority == 0; i++) {
        int rc = message_tokens(c, pins[i].role, NULL, pins[i].text, pins[i].text_len, &t);
        if (rc != CTXMEM_OK)
            return rc;
        need += t;
    }
    if (need > c->left)
        return err_set(CTXMEM_EFULL,
                       "window: priority-0 pinned blocks need %zu tokens but the "
                       "budget leaves %zu: over by %zu",
                       need, c->left, need - c->left);
    return CTXMEM_OK;
}

static int place_pins(asm_ctx *c)
{
    char key[STORE_SCOPE_KEY_MAX];
    size_t key_len, n = 0;
    tier_pin *pins = NULL;
    MDB_txn *txn = NULL;
    int rc = store_scope_key(c->scope, key, sizeof(key), &key_len);

    if (rc == CTXMEM_OK)
        rc = store_read_begin(c->s, &txn);
    if (rc != CTXMEM_OK)
        return rc;
    rc = store_scope_lookup(c->s, txn, key, key_len, &c->scope_id);
    c->scope_exists = rc == CTXMEM_OK;
    rc = rc == CTXMEM_ENOTFOUND ? CTXMEM_OK : rc;
    if (rc == CTXMEM_OK)
        rc = tier_pins_load(c->s, txn, c->scope, &pins, &n);
    if (rc == CTXMEM_OK)
        rc = check_required_pins(c, pins, n);
    for (size_t i = 0; rc == CTXMEM_OK && i < n; i++)
        rc = place_pin(c, &pins[i]);
    if (rc == CTXMEM_OK && c->scope_exists)
        rc = tier_state_read(c->s, txn, c->scope_id, &c->st);
    free(pins);
    store_read_end(c->s, txn);
    c->after_pins = c->left;
    return rc;
}

/* ---- hot tier and demotion ---------------------------------------------- */

static void free_hot(asm_ctx *c, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        ctxmem_segment_free(c->hot[i].seg);
        free(c->hot[i].outdated);
    }
}

#define OUTDATED_MARK "(outdated) "

/* A superseded hot segment is shown marked, and costs what the marked text costs. */
static int mark_if_outdated(asm_ctx *c, MDB_txn *txn, hot_seg *h)
{
    ctxmem_segment_status st;
    size_t mark = strlen(OUTDATED_MARK);
    int rc = facts_status_read(c->s, txn, h->seg->id, &st);

    if (rc != CTXMEM_OK || !st.end_time || is_tool_role(h->seg->role))
        return rc;
    h->successor = st.successor;
    h->outdated = malloc(mark + h->seg->text_len + 1);
    if (!h->outdated)
        return err_set(CTXMEM_ENOMEM, "window: out of memory");
    memcpy(h->outdated, OUTDATED_MARK, mark);
    memcpy(h->outdated + mark, h->seg->text, h->seg->text_len + 1);
    h->outdated_len = mark + h->seg->text_len;
    return message_tokens(c, h->seg->role, h->seg->name, h->outdated, h->outdated_len, &h->tokens);
}

/* Copy one hot segment out of the read transaction, with its message cost. */
static int load_one(asm_ctx *c, MDB_txn *txn, uint64_t seq, hot_seg *h)
{
    ctxmem_segment seg;
    int rc = store_segment_at(c->s, txn, c->scope_id, seq, &seg);

    if (rc == CTXMEM_OK && !(h->seg = store_segment_dup(&seg)))
        rc = CTXMEM_ENOMEM;
    /* The content is counted apart from the framing: add the stored count of the text. */
    if (rc == CTXMEM_OK)
        rc = message_tokens(c, seg.role, seg.name, "", 0, &h->tokens);
    h->tokens += seg.tokens;
    if (rc == CTXMEM_OK)
        rc = mark_if_outdated(c, txn, h);
    return rc;
}

/*
 * Copy the scope's segments from hot_from_seq on, in one read transaction.
 * At most HOT_LOAD_MAX of the latest are read: after a bulk load without any
 * assembly, the older ones leave the hot tier straight for the cold tier
 * (where they are indexed) instead of being read and summarized.
 */
static int load_hot(asm_ctx *c)
{
    MDB_txn *txn = NULL;
    uint64_t last, from;
    int rc = store_read_begin(c->s, &txn);

    if (rc != CTXMEM_OK)
        return rc;
    last = store_scope_last_seq(c->s, txn, c->scope_id);
    from = c->st.hot_from_seq;
    if (last >= HOT_LOAD_MAX && last - HOT_LOAD_MAX + 1 > from) {
        c->skipped = last - HOT_LOAD_MAX + 1 - from;
        from = c->st.hot_from_seq = last - HOT_LOAD_MAX + 1;
    }
    if (last >= from) {
        c->hot = calloc(last - from + 1, sizeof(*c->hot));
        rc = c->hot ? CTXMEM_OK : err_set(CTXMEM_ENOMEM, "window: out of memory");
    }
    for (uint64_t seq = from; rc == CTXMEM_OK && seq <= last; seq++) {
        rc = load_one(c, txn, seq, &c->hot[c->n_hot]);
        c->n_hot += c->hot[c->n_hot].seg != NULL;
    }
    store_read_end(c->s, txn);
    return rc;
}

static void format_time(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M", &tm))
        snprintf(buf, cap, "-");
}

/* "[2023-05-08 13:56] Caroline: text" - how a segment reads out of sequence. */
static char *render_line(const ctxmem_segment *seg, size_t *len)
{
    char when[32];
    const char *who = seg->name[0] ? seg->name : ctxmem_role_name(seg->role);
    size_t cap = seg->text_len + strlen(who) + 48;
    char *out = malloc(cap);
    int head;

    if (!out)
        return NULL;
    format_time(seg->time, when, sizeof(when));
    head = snprintf(out, cap, "[%s] %s: ", when, who);
    memcpy(out + head, seg->text, seg->text_len);
    out[head + seg->text_len] = '\0';
    *len = (size_t)head + seg->text_len;
    return out;
}

static char *render_summary(const tier_summary *sum, size_t *len)
{
    size_t cap = sum->text_len + 96;
    char *out = malloc(cap);
    int head;

    if (!out)
        return NULL;
    head = snprintf(out, cap, "Summary of earlier conversation (turns %llu-%llu):\n",
                    (unsigned long long)sum->first_seq, (unsigned long long)sum->last_seq);
    memcpy(out + head, sum->text, sum->text_len);
    out[head + sum->text_len] = '\0';
    *len = (size_t)head + sum->text_len;
    return out;
}

static int summary_tokens(asm_ctx *c, const tier_summary *sum, size_t *n)
{
    size_t len;
    char *text = render_summary(sum, &len);
    int rc;

    if (!text)
        return err_set(CTXMEM_ENOMEM, "window: out of memory");
    rc = message_tokens(c, CTXMEM_ROLE_SUMMARY, NULL, text, len, n);
    free(text);
    return rc;
}

/* Fold hot[0..k) into a new summary at the end of the warm tier. */
static int summarize_span(asm_ctx *c, size_t k, size_t max_tokens)
{
    tier_summary sum = {c->hot[0].seg->seq, c->hot[k - 1].seg->seq, c->hot[k - 1].seg->time, NULL,
                        0};
    char *span = NULL, *line;
    size_t span_len = 0, line_len;
    tier_summary *grown;
    int rc = CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < k; i++) {
        line = render_line(c->hot[i].seg, &line_len);
        char *n = line ? realloc(span, span_len + line_len + 2) : NULL;
        if (!n) {
            free(line);
            rc = err_set(CTXMEM_ENOMEM, "window: out of memory");
            break;
        }
        span = n;
        memcpy(span + span_len, line, line_len);
        span_len += line_len;
        span[span_len++] = '\n';
        free(line);
    }
    if (rc == CTXMEM_OK)
        rc = tier_summarize(c->s, span, span_len, max_tokens, &sum.text, &sum.text_len);
    free(span);
    grown =
        rc == CTXMEM_OK ? realloc(c->st.summaries, (c->st.n_summaries + 1) * sizeof(*grown)) : NULL;
    if (rc == CTXMEM_OK && !grown)
        rc = err_set(CTXMEM_ENOMEM, "window: out of memory");
    if (rc != CTXMEM_OK) {
        free(sum.text);
        return rc;
    }
    c->st.summaries = grown;
    c->st.summaries[c->st.n_summaries++] = sum;
    c->w->report.summaries_created++;
    return CTXMEM_OK;
}

/* Merge the two oldest summaries into one of at most max_tokens. */
static int merge_oldest(asm_ctx *c, size_t max_tokens)
{
    tier_summary *a = &c->st.summaries[0], *b = &c->st.summaries[1];
    size_t len = a->text_len + 1 + b->text_len;
    char *joined = malloc(len + 1), *out = NULL;
    size_t out_len = 0;
    int rc;

    if (!joined)
        return err_set(CTXMEM_ENOMEM, "window: out of memory");
    memcpy(joined, a->text, a->text_len);
    joined[a->text_len] = '\n';
    memcpy(joined + a->text_len + 1, b->text, b->text_len);
    rc = tier_summarize(c->s, joined, len, max_tokens, &out, &out_len);
    free(joined);
    if (rc != CTXMEM_OK)
        return rc;
    free(a->text);
    free(b->text);
    a->last_seq = b->last_seq, a->time = b->time, a->text = out, a->text_len = out_len;
    memmove(b, b + 1, (c->st.n_summaries - 2) * sizeof(*b));
    c->st.n_summaries--;
    c->w->report.summaries_merged++;
    return CTXMEM_OK;
}

static int warm_total(asm_ctx *c, size_t *total)
{
    size_t n = 0;
    int rc = CTXMEM_OK;

    *total = 0;
    for (size_t i = 0; rc == CTXMEM_OK && i < c->st.n_summaries; i++) {
        rc = summary_tokens(c, &c->st.summaries[i], &n);
        *total += n;
    }
    return rc;
}

/* Keep the warm tier within its limit: merge the oldest, then shrink or drop the last one. */
static int compress_warm(asm_ctx *c, size_t warm_limit)
{
    size_t total = 0, target = warm_limit / 2 > 16 ? warm_limit / 2 : 16;
    int rc = warm_total(c, &total);

    while (rc == CTXMEM_OK && total > warm_limit && c->st.n_summaries >= 2) {
        rc = merge_oldest(c, target);
        if (rc == CTXMEM_OK)
            rc = warm_total(c, &total);
    }
    if (rc == CTXMEM_OK && total > warm_limit && c->st.n_summaries == 1) {
        tier_summary *s = &c->st.summaries[0];
        char *out = NULL;
        size_t out_len = 0, head = 0;
        rc = summary_tokens(c, &(tier_summary){s->first_seq, s->last_seq, 0, "", 0}, &head);
        if (rc == CTXMEM_OK && warm_limit > head + 8)
            rc = tier_summarize(c->s, s->text, s->text_len, warm_limit - head, &out, &out_len);
        if (rc == CTXMEM_OK) {
            free(s->text);
            s->text = out, s->text_len = out_len;
            if (!out) /* no room for any summary: the turns remain in the cold tier */
                c->st.n_summaries = 0;
            c->w->report.summaries_merged++;
        }
    }
    return rc;
}

/* How many of the oldest hot turns leave the hot tier. */
static size_t demotion_count(asm_ctx *c, size_t hot_limit, size_t min_turns)
{
    size_t total = 0, k = 0;

    for (size_t i = 0; i < c->n_hot; i++)
        total += c->hot[i].tokens;
    if (total <= hot_limit)
        return 0;
    /* Demote down to three quarters of the share, so that summarizing (and its write)
     * happens once per few turns instead of on every turn. */
    while (total > hot_limit - hot_limit / 4 && c->n_hot - k > min_turns)
        total -= c->hot[k++].tokens;
    /* A tool result never stays hot without its call. */
    while (k > 0 && k < c->n_hot && c->hot[k].seg->role == CTXMEM_ROLE_TOOL_RESULT)
        total -= c->hot[k++].tokens;
    return k;
}

static int persist_state(asm_ctx *c)
{
    int applied = 0, rc;
    MDB_txn *txn = NULL;

    if (c->s->flags & CTXMEM_OPEN_READONLY)
        return CTXMEM_OK; /* the demotion holds for this window only */
    rc = tier_state_write(c->s, c->scope_id, &c->st, c->st.version, &applied);
    if (rc != CTXMEM_OK || applied)
        return rc;
    /* Another process demoted first: use its state and hot tier. */
    free_hot(c, 0, c->n_hot);
    free(c->hot);
    c->hot = NULL, c->n_hot = 0;
    tier_state_clear(&c->st);
    rc = store_read_begin(c->s, &txn);
    if (rc == CTXMEM_OK)
        rc = tier_state_read(c->s, txn, c->scope_id, &c->st);
    store_read_end(c->s, txn);
    return rc == CTXMEM_OK ? load_hot(c) : rc;
}

static int maintain(asm_ctx *c)
{
    size_t hot_limit = (size_t)(c->b.hot_share * (float)c->after_pins);
    size_t warm_limit = (size_t)(c->b.warm_share * (float)c->after_pins);
    size_t k, before_summaries = c->st.n_summaries;
    int rc = load_hot(c);

    if (rc != CTXMEM_OK)
        return rc;
    k = demotion_count(c, hot_limit, c->b.hot_min_turns);
    if (k > 0) {
        rc = summarize_span(c, k, warm_limit / 2 > 16 ? warm_limit / 2 : 16);
        if (rc != CTXMEM_OK)
            return rc;
        c->st.hot_from_seq = k < c->n_hot ? c->hot[k].seg->seq : c->hot[k - 1].seg->seq + 1;
        free_hot(c, 0, k);
        memmove(c->hot, c->hot + k, (c->n_hot - k) * sizeof(*c->hot));
        c->n_hot -= k;
        c->w->report.demoted = k;
    }
    rc = compress_warm(c, warm_limit);
    if (rc == CTXMEM_OK && (k > 0 || c->skipped || c->w->report.summaries_merged ||
                            c->st.n_summaries != before_summaries))
        rc = persist_state(c);
    c->w->report.demoted += c->skipped;
    c->w->report.hot_from_seq = c->st.hot_from_seq;
    return rc;
}

/* ---- placing hot and warm ---------------------------------------------------- */

/* The text a hot segment is sent with: marked when it is outdated. */
static const char *hot_text(const hot_seg *h)
{
    return h->outdated ? h->outdated : h->seg->text;
}

static size_t hot_text_len(const hot_seg *h)
{
    return h->outdated ? h->outdated_len : h->seg->text_len;
}

static int hot_has(asm_ctx *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_hot; i++)
        if (c->hot[i].seg->id == id)
            return 1;
    return 0;
}

/* A hot tool half whose partner is not hot is never sent. */
static int hot_partner_present(asm_ctx *c, size_t i)
{
    const ctxmem_segment *seg = c->hot[i].seg;
    int want = seg->role == CTXMEM_ROLE_TOOL_CALL ? CTXMEM_ROLE_TOOL_RESULT : CTXMEM_ROLE_TOOL_CALL;

    if (seg->role != CTXMEM_ROLE_TOOL_CALL && seg->role != CTXMEM_ROLE_TOOL_RESULT)
        return 1;
    for (size_t j = 0; j < c->n_hot; j++)
        if (c->hot[j].seg->role == want && !strcmp(c->hot[j].seg->pair_id, seg->pair_id))
            return 1;
    return 0;
}

/*
 * Decide which hot turns go in: the newest ones that fit, contiguously; the
 * newest alone is cut when nothing else fits. Marks each hot turn's fate in
 * `keep` (0 out, 1 in, 2 in but cut to cut_len) and claims the tokens.
 */
static int select_hot(asm_ctx *c, unsigned char *keep, size_t *cut_len, size_t *cut_tokens)
{
    int rc = CTXMEM_OK, stop = 0;

    for (size_t i = c->n_hot; rc == CTXMEM_OK && i-- > 0;) {
        const ctxmem_segment *seg = c->hot[i].seg;
        if (!hot_partner_present(c, i) ||
            (c->hot[i].successor && hot_has(c, c->hot[i].successor))) {
            rc = win_add_drop(c->w, CTXMEM_TIER_HOT, seg->id, NULL, c->hot[i].tokens, 0,
                              c->hot[i].successor ? "superseded" : "unpaired");
            continue;
        }
        if (!stop && c->hot[i].tokens <= c->left) {
            keep[i] = 1;
            c->left -= c->hot[i].tokens;
            continue;
        }
        if (!stop && i == c->n_hot - 1 && seg->role != CTXMEM_ROLE_TOOL_CALL &&
            seg->role != CTXMEM_ROLE_TOOL_RESULT) {
            rc = cut_to_fit(c, seg->role, seg->name, hot_text(&c->hot[i]), hot_text_len(&c->hot[i]),
                            c->left, cut_len, cut_tokens);
            if (rc == CTXMEM_OK && *cut_len > 0) {
                keep[i] = 2;
                c->left -= *cut_tokens;
                rc = win_add_drop(c->w, CTXMEM_TIER_HOT, seg->id, NULL, c->hot[i].tokens, 1,
                                  "over_budget");
                continue;
            }
        }
        stop = 1;
        if (rc == CTXMEM_OK)
            rc = win_add_drop(c->w, CTXMEM_TIER_HOT, seg->id, NULL, c->hot[i].tokens, 0,
                              "over_budget");
    }
    return rc;
}

/* A kept tool half whose partner did not fit goes too: halves travel together. */
static int unpair_hot(asm_ctx *c, unsigned char *keep)
{
    int rc = CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < c->n_hot; i++) {
        const ctxmem_segment *seg = c->hot[i].seg;
        int partner_kept = 0;
        if (!keep[i] ||
            (seg->role != CTXMEM_ROLE_TOOL_CALL && seg->role != CTXMEM_ROLE_TOOL_RESULT))
            continue;
        for (size_t j = 0; j < c->n_hot; j++)
            partner_kept |= j != i && keep[j] && !strcmp(c->hot[j].seg->pair_id, seg->pair_id);
        if (partner_kept)
            continue;
        keep[i] = 0;
        c->left += c->hot[i].tokens;
        rc = win_add_drop(c->w, CTXMEM_TIER_HOT, seg->id, NULL, c->hot[i].tokens, 0, "over_budget");
    }
    return rc;
}

static int add_hot_items(asm_ctx *c, const unsigned char *keep, size_t cut_len, size_t cut_tokens)
{
    int rc = CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < c->n_hot; i++) {
        const ctxmem_segment *seg = c->hot[i].seg;
        ctxmem_window_item it = {0};
        if (!keep[i])
            continue;
        it.tier = CTXMEM_TIER_HOT, it.role = seg->role, it.segment = seg->id;
        it.first_seq = it.last_seq = seg->seq;
        it.name = seg->name, it.text = hot_text(&c->hot[i]);
        it.text_len = hot_text_len(&c->hot[i]);
        it.pair_id = seg->pair_id, it.time = seg->time, it.tokens = c->hot[i].tokens;
        it.reason = "recent";
        it.flags = c->hot[i].outdated ? CTXMEM_ITEM_OUTDATED : 0;
        if (keep[i] == 2)
            it.text_len = cut_len, it.tokens = cut_tokens, it.flags |= CTXMEM_ITEM_CUT;
        rc = win_add_item(c->w, &it);
    }
    return rc;
}

static int place_warm(asm_ctx *c)
{
    int rc = CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < c->st.n_summaries; i++) {
        ctxmem_window_item it = {0};
        size_t len = 0, n = 0, cut = 0;
        char *text = render_summary(&c->st.summaries[i], &len);
        if (!text)
            return err_set(CTXMEM_ENOMEM, "window: out of memory");
        rc = message_tokens(c, CTXMEM_ROLE_SUMMARY, NULL, text, len, &n);
        it.tier = CTXMEM_TIER_WARM, it.role = CTXMEM_ROLE_SUMMARY, it.text = text;
        it.text_len = len, it.tokens = n, it.reason = "summary";
        it.first_seq = c->st.summaries[i].first_seq, it.last_seq = c->st.summaries[i].last_seq;
        it.time = c->st.summaries[i].time;
        if (rc == CTXMEM_OK && n > c->left) {
            rc = cut_to_fit(c, CTXMEM_ROLE_SUMMARY, NULL, text, len, c->left, &cut, &it.tokens);
            it.text_len = cut, it.flags = CTXMEM_ITEM_CUT;
            if (rc == CTXMEM_OK)
                rc = win_add_drop(c->w, CTXMEM_TIER_WARM, 0, NULL, n, cut > 0, "over_budget");
        }
        if (rc == CTXMEM_OK && it.text_len > 0) {
            rc = win_add_item(c->w, &it);
            c->left -= it.tokens;
        }
        free(text);
    }
    return rc;
}

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

static int is_tool(int role)
{
    return role == CTXMEM_ROLE_TOOL_CALL || role == CTXMEM_ROLE_TOOL_RESULT;
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

    if (!is_tool(seg->role)) {
        format_time(seg->time, when, sizeof(when));
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

    if (is_tool(seg->role) || !additive(c, seg))
        return message_tokens(c, seg->role, is_tool(seg->role) ? seg->name : NULL, p->text, p->len,
                              n);
    rc = message_tokens(c, seg->role, NULL, p->text, p->prefix_len, n);
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
    if (rc == CTXMEM_OK && p.tokens > c->left && cs->n == 0 && !is_tool(seg->role)) {
        rc = cut_to_fit(c, seg->role, NULL, p.text, p.len, c->left, &cut, &p.tokens);
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
    else if (is_tool(seg.role))
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
        it.name = is_tool(p->role) ? p->name : NULL, it.pair_id = p->pair_id;
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

static int refill_cold(asm_ctx *c, const char *query, size_t query_len)
{
    ctxmem_search_opts opts = CTXMEM_SEARCH_OPTS_INIT;
    ctxmem_scope exact = {c->scope->user, c->scope->agent ? c->scope->agent : "",
                          c->scope->session ? c->scope->session : ""};
    const ctxmem_segment *latest = query ? NULL : latest_user_turn(c);
    ctxmem_hit *hits = NULL;
    size_t n_hits = 0;
    cold_set cs = {0};
    MDB_txn *txn = NULL;
    double t0 = now_us();
    int rc;

    if (!c->scope_exists || (!query && !latest) || c->left < MIN_CUT_TOKENS)
        return CTXMEM_OK;
    if (c->b.search)
        opts = *c->b.search;
    /* Enough candidates (with their neighbours) to fill the space left. */
    opts.k = opts.k ? opts.k : (c->left / 64 > COLD_CANDIDATES ? c->left / 64 : COLD_CANDIDATES);
    rc = ctxmem_search(&hits, &n_hits, c->s, &exact, 1, query ? query : latest->text,
                       query ? query_len : latest->text_len, &opts);
    c->w->report.us_search = now_us() - t0;
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

/* ---- the whole call ---------------------------------------------------------- */

static int start(asm_ctx *c, ctxmem_store *store, const ctxmem_scope *scope,
                 const ctxmem_budget *budget)
{
    memset(c, 0, sizeof(*c));
    c->s = store, c->scope = scope, c->b = *budget;
    c->st.hot_from_seq = 1;
    if (c->b.hot_share == 0 && c->b.warm_share == 0)
        c->b.hot_share = DEFAULT_HOT_SHARE, c->b.warm_share = DEFAULT_WARM_SHARE;
    c->b.hot_min_turns = c->b.hot_min_turns ? c->b.hot_min_turns : DEFAULT_HOT_MIN_TURNS;
    if (budget->framing)
        c->framing = *budget->framing;
    else
        ctxmem_chat_framing_get(&c->framing, "openai-chat");
    c->w = calloc(1, sizeof(*c->w));
    if (!c->w)
        return err_set(CTXMEM_ENOMEM, "window: out of memory");
    snprintf(c->w->tokenizer, sizeof(c->w->tokenizer), "%s", ctxmem_tokenizer_name(store->tok));
    snprintf(c->w->summarizer, sizeof(c->w->summarizer), "%s", tier_summarizer_name(store));
    c->w->report.tokenizer = c->w->tokenizer;
    c->w->report.tokenizer_exact = ctxmem_tokenizer_is_exact(store->tok);
    c->w->report.summarizer = c->w->summarizer;
    c->w->report.limit = budget->limit;
    c->w->report.reserve_output = budget->reserve_output;
    c->w->report.available = budget->limit - budget->reserve_output;
    c->w->report.reply_priming = c->framing.reply_priming;
    if (c->framing.reply_priming >= c->w->report.available)
        return err_set(CTXMEM_EFULL,
                       "window: budget of %zu leaves no room after %u tokens of "
                       "reply priming",
                       c->w->report.available, c->framing.reply_priming);
    c->left = c->w->report.available - c->framing.reply_priming;
    c->w->report.tokens = c->framing.reply_priming;
    return CTXMEM_OK;
}

static int check_args(ctxmem_window **out, ctxmem_store *store, const ctxmem_scope *scope,
                      const char *query, size_t query_len, const ctxmem_budget *budget)
{
    char key[STORE_SCOPE_KEY_MAX];
    size_t len;
    int rc;

    if (!out)
        return err_set(CTXMEM_EINVAL, "window: NULL out");
    *out = NULL;
    if (!store)
        return err_set(CTXMEM_EINVAL, "window: NULL store");
    rc = store_scope_key(scope, key, sizeof(key), &len);
    if (rc == CTXMEM_OK && !query && query_len)
        rc = err_set(CTXMEM_EINVAL, "window: NULL query of length %zu", query_len);
    if (rc == CTXMEM_OK && query && ctxmem_utf8_check(query, query_len) != CTXMEM_OK)
        rc = err_wrap(CTXMEM_EINVAL, "window: query");
    return rc == CTXMEM_OK ? check_budget(budget) : rc;
}

static int run(asm_ctx *c, const char *query, size_t query_len)
{
    unsigned char *keep = NULL;
    size_t cut_len = 0, cut_tokens = 0;
    double t = now_us();
    ctxmem_window_report *r = &c->w->report;
    int rc = place_pins(c);

    r->us_pinned = now_us() - t, t = now_us();
    if (rc == CTXMEM_OK && c->scope_exists)
        rc = maintain(c);
    r->us_maintain = now_us() - t, t = now_us();
    keep = calloc(c->n_hot + 1, 1);
    if (rc == CTXMEM_OK && !keep)
        rc = err_set(CTXMEM_ENOMEM, "window: out of memory");
    if (rc == CTXMEM_OK)
        rc = select_hot(c, keep, &cut_len, &cut_tokens);
    if (rc == CTXMEM_OK)
        rc = unpair_hot(c, keep);
    r->us_hot = now_us() - t, t = now_us();
    if (rc == CTXMEM_OK)
        rc = place_warm(c);
    r->us_warm = now_us() - t, t = now_us();
    if (rc == CTXMEM_OK)
        rc = refill_cold(c, query, query_len);
    r->us_cold = now_us() - t - r->us_search;
    if (rc == CTXMEM_OK)
        rc = add_hot_items(c, keep, cut_len, cut_tokens);
    free(keep);
    return rc;
}

int ctxmem_window_assemble(ctxmem_window **out, ctxmem_store *store, const ctxmem_scope *scope,
                           const char *query, size_t query_len, const ctxmem_budget *budget)
{
    double t0 = now_us();
    asm_ctx c;
    int rc = check_args(out, store, scope, query, query_len, budget);

    if (rc != CTXMEM_OK)
        return rc;
    rc = start(&c, store, scope, budget);
    if (rc == CTXMEM_OK)
        rc = run(&c, query, query_len);
    free_hot(&c, 0, c.n_hot);
    free(c.hot);
    tier_state_clear(&c.st);
    if (rc != CTXMEM_OK) {
        ctxmem_window_free(c.w);
        return rc;
    }
    c.w->report.us_total = now_us() - t0;
    if (store->trace)
        store->trace(store->trace_user, c.w);
    *out = c.w;
    return CTXMEM_OK;
}

int ctxmem_store_set_trace(ctxmem_store *store, ctxmem_trace_cb cb, void *user)
{
    if (!store)
        return err_set(CTXMEM_EINVAL, "trace: NULL store");
    store->trace = cb;
    store->trace_user = user;
    return CTXMEM_OK;
}
