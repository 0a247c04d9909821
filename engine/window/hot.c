/*
 * The hot and warm tiers during assembly: reading the recent turns, demoting
 * the oldest into a summary when the hot tier outgrows its share, keeping the
 * warm tier within its share, and placing both in the window.
 */
#include "assemble.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- hot tier and demotion ---------------------------------------------- */

void asm_free_hot(asm_ctx *c, size_t from, size_t to)
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

    if (rc != CTXMEM_OK || !st.end_time || asm_is_tool(h->seg->role))
        return rc;
    h->successor = st.successor;
    h->outdated = malloc(mark + h->seg->text_len + 1);
    if (!h->outdated)
        return err_set(CTXMEM_ENOMEM, "window: out of memory");
    memcpy(h->outdated, OUTDATED_MARK, mark);
    memcpy(h->outdated + mark, h->seg->text, h->seg->text_len + 1);
    h->outdated_len = mark + h->seg->text_len;
    return asm_message_tokens(c, h->seg->role, h->seg->name, h->outdated, h->outdated_len,
                              &h->tokens);
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
        rc = asm_message_tokens(c, seg.role, seg.name, "", 0, &h->tokens);
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
    asm_format_time(seg->time, when, sizeof(when));
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
    rc = asm_message_tokens(c, CTXMEM_ROLE_SUMMARY, NULL, text, len, n);
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
    asm_free_hot(c, 0, c->n_hot);
    free(c->hot);
    c->hot = NULL, c->n_hot = 0;
    tier_state_clear(&c->st);
    rc = store_read_begin(c->s, &txn);
    if (rc == CTXMEM_OK)
        rc = tier_state_read(c->s, txn, c->scope_id, &c->st);
    store_read_end(c->s, txn);
    return rc == CTXMEM_OK ? load_hot(c) : rc;
}

int asm_maintain(asm_ctx *c)
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
        asm_free_hot(c, 0, k);
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
int asm_select_hot(asm_ctx *c, unsigned char *keep, size_t *cut_len, size_t *cut_tokens)
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
            rc = asm_cut_to_fit(c, seg->role, seg->name, hot_text(&c->hot[i]),
                                hot_text_len(&c->hot[i]), c->left, cut_len, cut_tokens);
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
int asm_unpair_hot(asm_ctx *c, unsigned char *keep)
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

int asm_add_hot_items(asm_ctx *c, const unsigned char *keep, size_t cut_len, size_t cut_tokens)
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

int asm_place_warm(asm_ctx *c)
{
    int rc = CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < c->st.n_summaries; i++) {
        ctxmem_window_item it = {0};
        size_t len = 0, n = 0, cut = 0;
        char *text = render_summary(&c->st.summaries[i], &len);
        if (!text)
            return err_set(CTXMEM_ENOMEM, "window: out of memory");
        rc = asm_message_tokens(c, CTXMEM_ROLE_SUMMARY, NULL, text, len, &n);
        it.tier = CTXMEM_TIER_WARM, it.role = CTXMEM_ROLE_SUMMARY, it.text = text;
        it.text_len = len, it.tokens = n, it.reason = "summary";
        it.first_seq = c->st.summaries[i].first_seq, it.last_seq = c->st.summaries[i].last_seq;
        it.time = c->st.summaries[i].time;
        if (rc == CTXMEM_OK && n > c->left) {
            rc = asm_cut_to_fit(c, CTXMEM_ROLE_SUMMARY, NULL, text, len, c->left, &cut, &it.tokens);
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
