/*
 * The window as JSON: the report (field names in docs/REPORT.md) and the
 * OpenAI-style chat messages.
 */
#include "window_internal.h"
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int dump(json_t *j, char **out)
{
    if (!j)
        return err_set(CTXMEM_ENOMEM, "window: out of memory building JSON");
    *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return *out ? CTXMEM_OK : err_set(CTXMEM_ENOMEM, "window: out of memory writing JSON");
}

static json_t *tiers_json(const ctxmem_window_report *r)
{
    json_t *t = json_object();

    for (int i = 0; i < CTXMEM_TIER_COUNT; i++)
        json_object_set_new(t, ctxmem_tier_name(i),
                            json_pack("{s:I,s:I}", "tokens", (json_int_t)r->tier_tokens[i], "items",
                                      (json_int_t)r->tier_items[i]));
    return t;
}

static json_t *roles_json(const ctxmem_window_report *r)
{
    json_t *t = json_object();

    for (int i = 1; i < CTXMEM_ROLE_COUNT; i++)
        if (r->role_tokens[i])
            json_object_set_new(t, ctxmem_role_name(i),
                                json_integer((json_int_t)r->role_tokens[i]));
    return t;
}

static json_t *item_json(const ctxmem_window_item *it)
{
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:I,s:f,s:s,s:b,s:b,s:I}", "tier",
                     ctxmem_tier_name(it->tier), "role", ctxmem_role_name(it->role), "segment",
                     (json_int_t)it->segment, "first_seq", (json_int_t)it->first_seq, "last_seq",
                     (json_int_t)it->last_seq, "name", it->name, "tokens", (json_int_t)it->tokens,
                     "score", (double)it->score, "reason", it->reason, "cut",
                     (it->flags & CTXMEM_ITEM_CUT) != 0, "outdated",
                     (it->flags & CTXMEM_ITEM_OUTDATED) != 0, "time", (json_int_t)it->time);
}

static json_t *drop_json(const ctxmem_window_drop *d)
{
    return json_pack("{s:s,s:I,s:s,s:I,s:b,s:s}", "tier", ctxmem_tier_name(d->tier), "segment",
                     (json_int_t)d->segment, "name", d->name, "tokens", (json_int_t)d->tokens,
                     "cut", d->cut, "reason", d->reason);
}

static json_t *timing_json(const ctxmem_window_report *r)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "total", r->us_total, "pinned", r->us_pinned,
                     "maintain", r->us_maintain, "hot", r->us_hot, "warm", r->us_warm, "search",
                     r->us_search, "cold", r->us_cold);
}

int ctxmem_window_report_json(const ctxmem_window *win, char **json)
{
    const ctxmem_window_report *r;
    json_t *j, *items, *drops;

    if (!win || !json)
        return err_set(CTXMEM_EINVAL, "window: NULL argument");
    *json = NULL;
    r = &win->report;
    items = json_array();
    drops = json_array();
    for (size_t i = 0; i < win->n_items; i++)
        json_array_append_new(items, item_json(&win->items[i]));
    for (size_t i = 0; i < win->n_drops; i++)
        json_array_append_new(drops, drop_json(&win->drops[i]));
    j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:s,s:b,s:s,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:I,s:o}",
                  "gen_ai.usage.input_tokens", (json_int_t)r->tokens, "gen_ai.request.max_tokens",
                  (json_int_t)r->reserve_output, "ctxmem.budget.limit", (json_int_t)r->limit,
                  "ctxmem.budget.available", (json_int_t)r->available, "ctxmem.reply_priming",
                  (json_int_t)r->reply_priming, "ctxmem.tokenizer", r->tokenizer,
                  "ctxmem.tokenizer.exact", r->tokenizer_exact, "ctxmem.summarizer", r->summarizer,
                  "tiers", tiers_json(r), "roles", roles_json(r), "items", items, "dropped", drops,
                  "demoted", (json_int_t)r->demoted, "summaries_created",
                  (json_int_t)r->summaries_created, "summaries_merged",
                  (json_int_t)r->summaries_merged, "hot_from_seq", (json_int_t)r->hot_from_seq,
                  "timing_us", timing_json(r));
    return dump(j, json);
}

static json_t *message_json(const ctxmem_window_item *it)
{
    json_t *m;

    if (it->role == CTXMEM_ROLE_TOOL_CALL)
        return json_pack("{s:s,s:n,s:[{s:s,s:s,s:{s:s,s:s%}}]}", "role", "assistant", "content",
                         "tool_calls", "id", it->pair_id, "type", "function", "function", "name",
                         it->name, "arguments", it->text, it->text_len);
    if (it->role == CTXMEM_ROLE_TOOL_RESULT)
        return json_pack("{s:s,s:s,s:s%}", "role", "tool", "tool_call_id", it->pair_id, "content",
                         it->text, it->text_len);
    m = json_pack("{s:s,s:s%}", "role", win_chat_role(it->role), "content", it->text, it->text_len);
    if (m && it->tier == CTXMEM_TIER_HOT && it->name[0])
        json_object_set_new(m, "name", json_string(it->name));
    return m;
}

int ctxmem_window_messages_json(const ctxmem_window *win, char **json)
{
    json_t *arr;

    if (!win || !json)
        return err_set(CTXMEM_EINVAL, "window: NULL argument");
    *json = NULL;
    arr = json_array();
    for (size_t i = 0; arr && i < win->n_items; i++) {
        json_t *m = message_json(&win->items[i]);
        if (!m || json_array_append_new(arr, m) != 0) {
            json_decref(arr);
            return err_set(CTXMEM_ENOMEM, "window: out of memory building messages");
        }
    }
    return dump(arr, json);
}
