/*
 * Independent checks of an assembled window, shared by the window tests:
 * the messages JSON is parsed back and recounted message by message.
 */
#ifndef CTXMEM_WINDOW_CHECK_H
#define CTXMEM_WINDOW_CHECK_H

#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Count one rendered chat message the way the API documents it. */
static inline size_t wc_count_message(const ctxmem_tokenizer *tok, json_t *m)
{
    ctxmem_chat_framing f;
    const char *role = json_string_value(json_object_get(m, "role"));
    json_t *calls = json_object_get(m, "tool_calls"), *content = json_object_get(m, "content");
    json_t *name = json_object_get(m, "name");
    size_t n = 0, call = 0;

    assert_ctxmem(ctxmem_chat_framing_get(&f, "openai-chat"), CTXMEM_OK);
    if (calls) {
        json_t *fn = json_object_get(json_array_get(calls, 0), "function");
        json_t *args = json_object_get(fn, "arguments");
        assert_ctxmem(ctxmem_tokenizer_count_message(tok, &f, "assistant", NULL, "", 0, &n),
                      CTXMEM_OK);
        assert_ctxmem(ctxmem_tokenizer_count_tool_call(
                          tok, json_string_value(json_object_get(fn, "name")),
                          json_string_value(args), json_string_length(args), &call),
                      CTXMEM_OK);
        return n + call;
    }
    assert_ctxmem(
        ctxmem_tokenizer_count_message(tok, &f, role, name ? json_string_value(name) : NULL,
                                       json_string_value(content), json_string_length(content), &n),
        CTXMEM_OK);
    return n;
}

/*
 * Recount the window from its messages JSON; assert it matches the report and
 * fits the budget, and that every tool call has its result and vice versa.
 * Returns the parsed messages (caller decrefs).
 */
static inline json_t *wc_check(const ctxmem_window *w, const ctxmem_tokenizer *tok,
                               size_t available)
{
    const ctxmem_window_report *r = ctxmem_window_report_get(w);
    char *text = NULL;
    json_t *msgs;
    json_error_t jerr;
    size_t total = r->reply_priming, idx;
    json_t *m;

    assert_ctxmem(ctxmem_window_messages_json(w, &text), CTXMEM_OK);
    msgs = json_loads(text, 0, &jerr);
    free(text);
    assert_non_null(msgs);
    assert_int_equal(json_array_size(msgs), ctxmem_window_count(w));
    json_array_foreach(msgs, idx, m)
    {
        total += wc_count_message(tok, m);
        json_t *calls = json_object_get(m, "tool_calls");
        if (calls) {
            const char *id = json_string_value(json_object_get(json_array_get(calls, 0), "id"));
            json_t *next = json_array_get(msgs, idx + 1);
            assert_non_null(next);
            assert_string_equal(json_string_value(json_object_get(next, "tool_call_id")), id);
        }
        if (json_object_get(m, "tool_call_id")) {
            json_t *prev = idx ? json_array_get(msgs, idx - 1) : NULL;
            assert_non_null(prev);
            assert_non_null(json_object_get(prev, "tool_calls"));
        }
    }
    assert_int_equal(total, r->tokens);
    assert_true(r->tokens <= available);
    assert_int_equal(r->available, available);
    for (size_t i = 0; i < r->n_dropped; i++) {
        const ctxmem_window_drop *d = ctxmem_window_drop_at(w, i);
        assert_non_null(d->reason);
        assert_true(d->reason[0] != '\0');
    }
    return msgs;
}

/* Nonzero when some item's text contains `needle`. */
static inline int wc_contains(const ctxmem_window *w, const char *needle)
{
    for (size_t i = 0; i < ctxmem_window_count(w); i++)
        if (strstr(ctxmem_window_item_at(w, i)->text, needle))
            return 1;
    return 0;
}

#endif /* CTXMEM_WINDOW_CHECK_H */
