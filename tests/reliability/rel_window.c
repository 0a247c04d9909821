/*
 * Window invariants, checked without cmocka so that worker processes can use
 * them too.
 */
#include "rel.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* Tokens of one chat message as documented at ctxmem_chat_framing. */
static int count_message(const ctxmem_tokenizer *tok, json_t *m, size_t *n)
{
    ctxmem_chat_framing f;
    json_t *content = json_object_get(m, "content"), *name = json_object_get(m, "name");

    if (ctxmem_chat_framing_get(&f, "openai-chat") != CTXMEM_OK || !json_is_string(content))
        return -1;
    return ctxmem_tokenizer_count_message(tok, &f, json_string_value(json_object_get(m, "role")),
                                          name ? json_string_value(name) : NULL,
                                          json_string_value(content), json_string_length(content),
                                          n) == CTXMEM_OK ? 0 : -1;
}

static int recount(const ctxmem_window *win, const ctxmem_tokenizer *tok, size_t *total,
                   char *err, size_t cap)
{
    char *text = NULL;
    json_error_t jerr;
    json_t *msgs, *m;
    size_t idx, n;
    int rc = 0;

    if (ctxmem_window_messages_json(win, &text) != CTXMEM_OK)
        return fail(err, cap, "messages_json: %s", ctxmem_error_last()->message);
    msgs = json_loads(text, 0, &jerr);
    free(text);
    if (!msgs || json_array_size(msgs) != ctxmem_window_count(win))
        rc = fail(err, cap, "messages JSON does not list the window's items");
    json_array_foreach(msgs, idx, m) {
        if (rc == 0 && count_message(tok, m, &n) != 0)
            rc = fail(err, cap, "message %zu cannot be counted", idx);
        *total += rc == 0 ? n : 0;
    }
    json_decref(msgs);
    return rc;
}

static int check_item(ctxmem_store *store, const ctxmem_window_item *it, uint64_t hot_from,
                      uint64_t *warm_end, char *err, size_t cap)
{
    ctxmem_segment *seg = NULL;
    int rc = 0;

    if (it->tier == CTXMEM_TIER_WARM) {
        if (it->first_seq > it->last_seq || it->first_seq <= *warm_end || it->last_seq >= hot_from)
            return fail(err, cap, "summary [%llu, %llu] overlaps or reaches the hot tier at %llu",
                        (unsigned long long)it->first_seq, (unsigned long long)it->last_seq,
                        (unsigned long long)hot_from);
        *warm_end = it->last_seq;
    }
    if (!it->segment)
        return 0;
    if (ctxmem_store_get(&seg, store, it->segment) != CTXMEM_OK)
        return fail(err, cap, "window item segment %llu cannot be read: %s",
                    (unsigned long long)it->segment, ctxmem_error_last()->message);
    if (it->tier == CTXMEM_TIER_HOT && seg->seq < hot_from)
        rc = fail(err, cap, "hot item seq %llu before hot_from_seq %llu",
                  (unsigned long long)seg->seq, (unsigned long long)hot_from);
    ctxmem_segment_free(seg);
    return rc;
}

int rel_check_window(ctxmem_store *store, const ctxmem_window *win, size_t available, char *err,
                     size_t cap)
{
    const ctxmem_window_report *r = ctxmem_window_report_get(win);
    size_t total = r->reply_priming;
    uint64_t warm_end = 0;

    if (recount(win, ctxmem_store_tokenizer(store), &total, err, cap) != 0)
        return -1;
    if (total != r->tokens || r->tokens > available || r->available != available)
        return fail(err, cap, "window recounts to %zu, report says %zu of %zu available", total,
                    r->tokens, available);
    for (size_t i = 0; i < ctxmem_window_count(win); i++)
        if (check_item(store, ctxmem_window_item_at(win, i), r->hot_from_seq, &warm_end, err,
                       cap) != 0)
            return -1;
    return 0;
}
