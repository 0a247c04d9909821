/*
 * ctxmem_window_assemble: pinned blocks, hot tier, warm tier and cold-tier
 * refill inside one token budget.
 *
 * Budget arithmetic: `available` = limit - reserve_output; the reply priming
 * of the framing is taken from it first, and every item is one chat message
 * counted with its framing. Each step only places what fits in what is left,
 * so the total can never exceed `available`.
 */
#include "assemble.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double asm_now_us(void)
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

int asm_is_tool(int role)
{
    return role == CTXMEM_ROLE_TOOL_CALL || role == CTXMEM_ROLE_TOOL_RESULT;
}

/* Tokens of one message as the chat API will see it. */
int asm_message_tokens(asm_ctx *c, int role, const char *name, const char *text, size_t len,
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
int asm_cut_to_fit(asm_ctx *c, int role, const char *name, const char *text, size_t len,
                   size_t room, size_t *cut_len, size_t *tokens)
{
    size_t empty = 0;
    int rc = asm_message_tokens(c, role, name, "", 0, &empty);

    *cut_len = 0, *tokens = 0;
    if (rc != CTXMEM_OK || room < empty + MIN_CUT_TOKENS)
        return rc;
    /* Content and framing are counted apart, so the cut text plus framing fits. */
    rc = ctxmem_tokenizer_truncate(c->s->tok, text, len, room - empty, cut_len);
    if (rc == CTXMEM_OK)
        rc = asm_message_tokens(c, role, name, text, *cut_len, tokens);
    while (rc == CTXMEM_OK && *tokens > room && *cut_len > 0) {
        rc = ctxmem_tokenizer_truncate(c->s->tok, text, *cut_len, room - empty - 1, cut_len);
        room--;
        if (rc == CTXMEM_OK)
            rc = asm_message_tokens(c, role, name, text, *cut_len, tokens);
    }
    return rc;
}

/* ---- pinned blocks ------------------------------------------------------ */

static int place_pin(asm_ctx *c, const tier_pin *p)
{
    ctxmem_window_item it = {0};
    size_t n = 0, cut = 0;
    int rc = asm_message_tokens(c, p->role, NULL, p->text, p->text_len, &n);

    if (rc != CTXMEM_OK)
        return rc;
    it.tier = CTXMEM_TIER_PINNED, it.role = p->role, it.name = p->name;
    it.text = p->text, it.text_len = p->text_len, it.tokens = n, it.reason = "pinned";
    if (n > c->left) {
        rc = asm_cut_to_fit(c, p->role, NULL, p->text, p->text_len, c->left, &cut, &it.tokens);
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
        int rc = asm_message_tokens(c, pins[i].role, NULL, pins[i].text, pins[i].text_len, &t);
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

void asm_format_time(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M", &tm))
        snprintf(buf, cap, "-");
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
    double t = asm_now_us();
    ctxmem_window_report *r = &c->w->report;
    int rc = place_pins(c);

    r->us_pinned = asm_now_us() - t, t = asm_now_us();
    if (rc == CTXMEM_OK && c->scope_exists)
        rc = asm_maintain(c);
    r->us_maintain = asm_now_us() - t, t = asm_now_us();
    keep = calloc(c->n_hot + 1, 1);
    if (rc == CTXMEM_OK && !keep)
        rc = err_set(CTXMEM_ENOMEM, "window: out of memory");
    if (rc == CTXMEM_OK)
        rc = asm_select_hot(c, keep, &cut_len, &cut_tokens);
    if (rc == CTXMEM_OK)
        rc = asm_unpair_hot(c, keep);
    r->us_hot = asm_now_us() - t, t = asm_now_us();
    if (rc == CTXMEM_OK)
        rc = asm_place_warm(c);
    r->us_warm = asm_now_us() - t, t = asm_now_us();
    if (rc == CTXMEM_OK)
        rc = asm_refill_cold(c, query, query_len);
    r->us_cold = asm_now_us() - t - r->us_search;
    if (rc == CTXMEM_OK)
        rc = asm_add_hot_items(c, keep, cut_len, cut_tokens);
    free(keep);
    return rc;
}

int ctxmem_window_assemble(ctxmem_window **out, ctxmem_store *store, const ctxmem_scope *scope,
                           const char *query, size_t query_len, const ctxmem_budget *budget)
{
    double t0 = asm_now_us();
    asm_ctx c;
    int rc = check_args(out, store, scope, query, query_len, budget);

    if (rc != CTXMEM_OK)
        return rc;
    rc = start(&c, store, scope, budget);
    if (rc == CTXMEM_OK)
        rc = run(&c, query, query_len);
    asm_free_hot(&c, 0, c.n_hot);
    free(c.hot);
    tier_state_clear(&c.st);
    if (rc != CTXMEM_OK) {
        ctxmem_window_free(c.w);
        return rc;
    }
    c.w->report.us_total = asm_now_us() - t0;
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
