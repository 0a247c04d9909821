/*
 * The window object: items, drops, the report, and their accessors.
 */
#include "window_internal.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const tier_names[CTXMEM_TIER_COUNT] = {"pinned", "hot", "warm", "cold"};

const char *ctxmem_tier_name(int tier)
{
    return tier >= 0 && tier < CTXMEM_TIER_COUNT ? tier_names[tier] : "unknown";
}

const char *win_chat_role(int role)
{
    switch (role) {
    case CTXMEM_ROLE_USER:
        return "user";
    case CTXMEM_ROLE_ASSISTANT:
    case CTXMEM_ROLE_TOOL_CALL:
        return "assistant";
    case CTXMEM_ROLE_TOOL_RESULT:
        return "tool";
    default:
        return "system";
    }
}

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    void *p;

    if (n < *cap)
        return CTXMEM_OK;
    p = realloc(*arr, (*cap ? *cap * 2 : 16) * size);
    if (!p)
        return err_set(CTXMEM_ENOMEM, "window: out of memory");
    *arr = p;
    *cap = *cap ? *cap * 2 : 16;
    return CTXMEM_OK;
}

int win_add_item(ctxmem_window *w, const ctxmem_window_item *item)
{
    ctxmem_window_item *it;

    if (grow((void **)&w->items, &w->cap_items, w->n_items, sizeof(*it)) != CTXMEM_OK)
        return CTXMEM_ENOMEM;
    it = &w->items[w->n_items];
    *it = *item;
    it->text = dup_bytes(item->text ? item->text : "", item->text_len);
    it->name = dup_bytes(item->name ? item->name : "", item->name ? strlen(item->name) : 0);
    it->pair_id =
        dup_bytes(item->pair_id ? item->pair_id : "", item->pair_id ? strlen(item->pair_id) : 0);
    if (!it->text || !it->name || !it->pair_id) {
        free((char *)it->text), free((char *)it->name), free((char *)it->pair_id);
        return err_set(CTXMEM_ENOMEM, "window: out of memory");
    }
    w->n_items++;
    w->report.tier_tokens[item->tier] += item->tokens;
    w->report.tier_items[item->tier]++;
    if (item->role > 0 && item->role < CTXMEM_ROLE_COUNT)
        w->report.role_tokens[item->role] += item->tokens;
    w->report.tokens += item->tokens;
    return CTXMEM_OK;
}

int win_add_drop(ctxmem_window *w, int tier, uint64_t segment, const char *name, size_t tokens,
                 int cut, const char *reason)
{
    ctxmem_window_drop *d;

    if (grow((void **)&w->drops, &w->cap_drops, w->n_drops, sizeof(*d)) != CTXMEM_OK)
        return CTXMEM_ENOMEM;
    d = &w->drops[w->n_drops];
    d->name = dup_bytes(name ? name : "", name ? strlen(name) : 0);
    if (!d->name)
        return err_set(CTXMEM_ENOMEM, "window: out of memory");
    d->tier = tier, d->segment = segment, d->tokens = tokens, d->cut = cut, d->reason = reason;
    w->n_drops++;
    w->report.n_dropped = w->n_drops;
    return CTXMEM_OK;
}

void ctxmem_window_free(ctxmem_window *win)
{
    if (!win)
        return;
    for (size_t i = 0; i < win->n_items; i++) {
        free((char *)win->items[i].text);
        free((char *)win->items[i].name);
        free((char *)win->items[i].pair_id);
    }
    for (size_t i = 0; i < win->n_drops; i++)
        free((char *)win->drops[i].name);
    free(win->items);
    free(win->drops);
    free(win);
}

size_t ctxmem_window_count(const ctxmem_window *win)
{
    return win ? win->n_items : 0;
}

const ctxmem_window_item *ctxmem_window_item_at(const ctxmem_window *win, size_t i)
{
    return win && i < win->n_items ? &win->items[i] : NULL;
}

const ctxmem_window_report *ctxmem_window_report_get(const ctxmem_window *win)
{
    return win ? &win->report : NULL;
}

const ctxmem_window_drop *ctxmem_window_drop_at(const ctxmem_window *win, size_t i)
{
    return win && i < win->n_drops ? &win->drops[i] : NULL;
}
