/*
 * Private view of a window under construction.
 */
#ifndef CTXMEM_WINDOW_INTERNAL_H
#define CTXMEM_WINDOW_INTERNAL_H

#include "ctxmem/window.h"

struct ctxmem_window {
    ctxmem_window_item *items;
    size_t n_items, cap_items;
    ctxmem_window_drop *drops;
    size_t n_drops, cap_drops;
    ctxmem_window_report report;
    char tokenizer[72];
    char summarizer[72];
};

/* Append an item; its strings are copied. Returns CTXMEM_OK or CTXMEM_ENOMEM. */
int win_add_item(ctxmem_window *w, const ctxmem_window_item *item);

/* Append a drop record; its name is copied. */
int win_add_drop(ctxmem_window *w, int tier, uint64_t segment, const char *name, size_t tokens,
                 int cut, const char *reason);

/* Chat role of a segment role: "system", "user", "assistant" or "tool". */
const char *win_chat_role(int role);

#endif /* CTXMEM_WINDOW_INTERNAL_H */
