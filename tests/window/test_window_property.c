/*
 * Property test of window assembly: many random sessions, each assembled
 * after every step with a random budget, with pinned blocks, tool pairs and
 * oversized segments. Every window is recounted independently from its
 * messages JSON (window_check.h): zero windows over budget, zero unpaired
 * tool halves, zero priority-0 losses, every drop with a reason.
 *
 * 1,000 sessions x 100 windows = 100,000 windows at CTXMEM_TEST_SCALE=1.
 */
#include "window_check.h"

#include <stdio.h>

#define SESSIONS 1000
#define STEPS    100
#define MAX_PINS 4

static const char *const vocabulary[] = {
    "invoice", "letter", "credit", "ship", "port",  "quote", "price", "pallet",
    "must",    "always", "never",  "the",  "a",     "and",   "to",    "of",
    "Lisbon",  "Porto",  "Monday", "42",   "1,250", "€300",  "hello", "thanks",
    "日本",    "данные", "مرحبا",  "🙂", "well",  "maybe", "yes",   "no"};

typedef struct pin_model {
    char name[16];
    char *text;
    unsigned priority;
} pin_model;

static unsigned rnd(unsigned *state, unsigned n)
{
    *state = *state * 1664525u + 1013904223u;
    return (*state >> 8) % n;
}

static char *random_text(unsigned *state, size_t words)
{
    char *out = malloc(words * 16 + 1);
    size_t n = 0;

    for (size_t i = 0; i < words; i++) {
        const char *w = vocabulary[rnd(state, sizeof(vocabulary) / sizeof(vocabulary[0]))];
        n += (size_t)sprintf(out + n, "%s%s", i ? " " : "", w);
        if (rnd(state, 9) == 0)
            out[n++] = '.';
    }
    out[n] = '\0';
    return out;
}

static void add_random(ctxmem_store *s, const ctxmem_scope *scope, unsigned *st, unsigned step)
{
    ctxmem_segment_in in[2] = {{0}, {0}};
    char pair[32];
    char *a = NULL, *b = NULL;
    unsigned kind = rnd(st, 20);
    size_t n = 1;

    a = random_text(st, kind == 0 ? 2500 : 1 + rnd(st, 80)); /* 1 in 20 is oversized */
    in[0].role = rnd(st, 2) ? CTXMEM_ROLE_USER : CTXMEM_ROLE_ASSISTANT;
    in[0].text = a, in[0].text_len = strlen(a), in[0].time = 1000 * (int64_t)step;
    if (kind == 1) { /* a tool call and its result, added together */
        snprintf(pair, sizeof(pair), "call_%u", step);
        b = random_text(st, 1 + rnd(st, 40));
        in[0].role = CTXMEM_ROLE_TOOL_CALL, in[0].name = "lookup", in[0].pair_id = pair;
        in[0].text = "{\"q\":\"x\"}", in[0].text_len = 9;
        in[1].role = CTXMEM_ROLE_TOOL_RESULT, in[1].pair_id = pair;
        in[1].text = b, in[1].text_len = strlen(b), in[1].time = in[0].time;
        n = 2;
    }
    assert_ctxmem(ctxmem_store_add(s, scope, in, n, NULL), CTXMEM_OK);
    free(a);
    free(b);
}

static void maybe_pin(ctxmem_store *s, const ctxmem_scope *scope, unsigned *st, pin_model *pins,
                      size_t *n_pins)
{
    pin_model *p;

    if (rnd(st, 25) != 0 || *n_pins == MAX_PINS)
        return;
    p = &pins[(*n_pins)++];
    snprintf(p->name, sizeof(p->name), "pin%zu", *n_pins);
    p->text = random_text(st, 1 + rnd(st, 60));
    p->priority = rnd(st, 3);
    assert_ctxmem(ctxmem_pin_set(s, scope, p->name, CTXMEM_ROLE_SYSTEM, p->text, strlen(p->text),
                                 p->priority, 0),
                  CTXMEM_OK);
}

/* Tokens the priority-0 pins need, counted here from the test's own copy of them. */
static size_t required_pin_tokens(const ctxmem_tokenizer *tok, const pin_model *pins, size_t n)
{
    ctxmem_chat_framing f;
    size_t need = 0, t;

    ctxmem_chat_framing_get(&f, "openai-chat");
    for (size_t i = 0; i < n; i++) {
        if (pins[i].priority != 0)
            continue;
        ctxmem_tokenizer_count_message(tok, &f, "system", NULL, pins[i].text, strlen(pins[i].text),
                                       &t);
        need += t;
    }
    return need;
}

static void check_required_pins_present(const ctxmem_window *w, const pin_model *pins, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        if (pins[i].priority != 0)
            continue;
        for (size_t j = 0; j < ctxmem_window_count(w); j++) {
            const ctxmem_window_item *it = ctxmem_window_item_at(w, j);
            found |= it->tier == CTXMEM_TIER_PINNED && !strcmp(it->text, pins[i].text) &&
                     !(it->flags & CTXMEM_ITEM_CUT);
        }
        assert_true(found);
    }
}

static void one_window(ctxmem_store *s, const ctxmem_scope *scope, unsigned *st,
                       const pin_model *pins, size_t n_pins, size_t *over)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;
    ctxmem_window *w = NULL;
    const ctxmem_tokenizer *tok = ctxmem_store_tokenizer(s);
    int rc;

    b.limit = 40 + rnd(st, 6000);
    b.reserve_output = rnd(st, 2) ? rnd(st, (unsigned)b.limit / 2) : 0;
    b.hot_share = 0.2f + (float)rnd(st, 60) / 100.0f;
    b.warm_share = (float)rnd(st, 30) / 100.0f;
    rc = ctxmem_window_assemble(&w, s, scope, NULL, 0, &b);
    if (rc == CTXMEM_EFULL) {
        /* Allowed only when the priority-0 pins alone cannot fit. */
        assert_true(required_pin_tokens(tok, pins, n_pins) + 3 > b.limit - b.reserve_output);
        assert_null(w);
        return;
    }
    assert_ctxmem(rc, CTXMEM_OK);
    json_decref(wc_check(w, tok, b.limit - b.reserve_output));
    *over += ctxmem_window_report_get(w)->tokens > b.limit - b.reserve_output;
    check_required_pins_present(w, pins, n_pins);
    ctxmem_window_free(w);
}

static void test_random_sessions_never_exceed_budget(void **state)
{
    size_t sessions = (size_t)(SESSIONS * tu_scale()), windows = 0, over = 0;
    char *dir = NULL, user[32], session[32];
    ctxmem_store *s = tu_store_new(&dir);
    unsigned st = 12345;

    (void)state;
    for (size_t i = 0; i < (sessions ? sessions : 1); i++) {
        pin_model pins[MAX_PINS];
        size_t n_pins = 0;
        snprintf(user, sizeof(user), "u%zu", i % 50);
        snprintf(session, sizeof(session), "s%zu", i);
        ctxmem_scope scope = {user, "agent", session};
        for (unsigned step = 1; step <= STEPS; step++) {
            add_random(s, &scope, &st, step);
            maybe_pin(s, &scope, &st, pins, &n_pins);
            one_window(s, &scope, &st, pins, n_pins, &over);
            windows++;
        }
        for (size_t p = 0; p < n_pins; p++)
            free(pins[p].text);
    }
    print_message("%zu windows, %zu over budget\n", windows, over);
    assert_int_equal(over, 0);
    tu_store_free(s, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sessions_never_exceed_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
