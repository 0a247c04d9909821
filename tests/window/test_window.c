/*
 * Window assembly: the named replay cases of the tiers issue, the needle test,
 * pinned blocks, the report and the recall tool.
 */
#include "window_check.h"

#include <stdio.h>

static const ctxmem_scope alice = {"alice", "assistant", "s1"};

static void add_turn(ctxmem_store *s, const ctxmem_scope *scope, int role, const char *name,
                     const char *text, int64_t time, uint64_t *id)
{
    ctxmem_segment_in in = {0};

    in.role = role, in.name = name, in.text = text, in.text_len = strlen(text), in.time = time;
    assert_ctxmem(ctxmem_store_add(s, scope, &in, 1, id), CTXMEM_OK);
}

static ctxmem_window *assemble(ctxmem_store *s, const ctxmem_scope *scope, size_t limit,
                               size_t reserve, const char *query)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;
    ctxmem_window *w = NULL;

    b.limit = limit, b.reserve_output = reserve;
    assert_ctxmem(ctxmem_window_assemble(&w, s, scope, query, query ? strlen(query) : 0, &b),
                  CTXMEM_OK);
    json_decref(wc_check(w, ctxmem_store_tokenizer(s), limit - reserve));
    return w;
}

/* Filler that states nothing worth keeping: no numbers, names or requirements. */
static void filler(char *buf, size_t cap, unsigned i)
{
    static const char *const words[] = {"garden", "weather", "coffee", "music", "walk",
                                        "book",   "movie",   "lunch",  "park",  "cat"};
    snprintf(buf, cap,
             "we chatted about the %s and the %s, it was nice and a bit slow, "
             "like the %s we talked about before.",
             words[i % 10], words[(i / 10) % 10], words[(i * 7) % 10]);
}

static void test_needle_constraint_survives_500_turns(void **state)
{
    const char *needle = "The invoice date must match the letter of credit.";
    char *dir = NULL, text[256];
    ctxmem_store *s = tu_store_new(&dir);
    int present = 0, windows = 0;

    (void)state;
    for (unsigned t = 1; t <= 500; t++) {
        int role = t % 2 ? CTXMEM_ROLE_USER : CTXMEM_ROLE_ASSISTANT;
        if (t == 3)
            snprintf(text, sizeof(text), "One more thing for the export deal: %s", needle);
        else
            filler(text, sizeof(text), t);
        add_turn(s, &alice, role, NULL, text, 1000 * (int64_t)t, NULL);
        if (t <= 3)
            continue;
        ctxmem_window *w = assemble(s, &alice, 2048, 0, NULL);
        present += wc_contains(w, needle);
        windows++;
        ctxmem_window_free(w);
    }
    assert_int_equal(present, windows);
    tu_store_free(s, dir);
}

static void test_summary_never_pushes_total_over_budget(void **state)
{
    char *dir = NULL, text[256];
    ctxmem_store *s = tu_store_new(&dir);
    size_t summaries = 0;

    (void)state;
    for (unsigned t = 1; t <= 200; t++) {
        filler(text, sizeof(text), t * 13);
        add_turn(s, &alice, t % 2 ? CTXMEM_ROLE_USER : CTXMEM_ROLE_ASSISTANT, NULL, text,
                 1000 * (int64_t)t, NULL);
        ctxmem_window *w = assemble(s, &alice, 1000, 0, NULL); /* wc_check: <= 1000 */
        summaries += ctxmem_window_report_get(w)->tier_items[CTXMEM_TIER_WARM];
        ctxmem_window_free(w);
    }
    assert_true(summaries > 0); /* the warm tier was actually exercised */

    /* The tier state says the same: older turns demoted, the last one still hot. */
    ctxmem_tier_info t;
    ctxmem_store_info info;
    assert_ctxmem(ctxmem_scope_tiers(s, &alice, &t), CTXMEM_OK);
    assert_int_equal(t.last_seq, 200);
    assert_true(t.hot_from_seq > 1 && t.hot_from_seq <= 200);
    assert_true(t.summaries >= 1);
    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_string_equal(info.embedder, "ctxmem-hash-v1");
    assert_string_equal(info.language, "english");
    tu_store_free(s, dir);
}

static void test_large_retrieved_passage_is_cut_not_overflowing(void **state)
{
    char *dir = NULL, *big = malloc(40000);
    ctxmem_store *s = tu_store_new(&dir);
    size_t n = 0;
    char text[256];

    (void)state;
    for (int i = 0; i < 400; i++)
        n += (size_t)snprintf(big + n, 40000 - n, "The zebra migration report line %d. ", i);
    add_turn(s, &alice, CTXMEM_ROLE_DOCUMENT, "report", big, 1000, NULL);
    for (unsigned t = 1; t <= 6; t++) {
        filler(text, sizeof(text), t);
        add_turn(s, &alice, CTXMEM_ROLE_USER, NULL, text, 2000 + t, NULL);
    }
    ctxmem_window *w = assemble(s, &alice, 600, 100, "zebra migration report");
    const ctxmem_window_report *r = ctxmem_window_report_get(w);
    int cut_cold = 0;
    for (size_t i = 0; i < ctxmem_window_count(w); i++) {
        const ctxmem_window_item *it = ctxmem_window_item_at(w, i);
        cut_cold |= it->tier == CTXMEM_TIER_COLD && (it->flags & CTXMEM_ITEM_CUT);
    }
    assert_true(cut_cold);
    assert_true(r->tokens <= 500);
    ctxmem_window_free(w);
    free(big);
    tu_store_free(s, dir);
}

static void test_system_prompt_survives_budget_of_one_message(void **state)
{
    const char *prompt = "You are a careful trade-finance assistant.";
    char *dir = NULL, text[256];
    ctxmem_store *s = tu_store_new(&dir);
    ctxmem_budget b = CTXMEM_BUDGET_INIT;
    ctxmem_window *w = NULL;
    size_t need = 0;

    (void)state;
    assert_ctxmem(
        ctxmem_pin_set(s, &alice, "system", CTXMEM_ROLE_SYSTEM, prompt, strlen(prompt), 0, 0),
        CTXMEM_OK);
    for (unsigned t = 1; t <= 20; t++) {
        filler(text, sizeof(text), t);
        add_turn(s, &alice, CTXMEM_ROLE_USER, NULL, text, t, NULL);
    }
    /* Exactly the system message plus reply priming. */
    ctxmem_chat_framing f;
    ctxmem_chat_framing_get(&f, "openai-chat");
    ctxmem_tokenizer_count_message(ctxmem_store_tokenizer(s), &f, "system", NULL, prompt,
                                   strlen(prompt), &need);
    w = assemble(s, &alice, need + f.reply_priming, 0, NULL);
    assert_int_equal(ctxmem_window_count(w), 1);
    assert_string_equal(ctxmem_window_item_at(w, 0)->text, prompt);
    assert_int_equal(ctxmem_window_report_get(w)->tokens, need + f.reply_priming);
    ctxmem_window_free(w);

    /* One token less: the priority-0 pin cannot fit, and the error says by how much. */
    b.limit = need + f.reply_priming - 1;
    assert_ctxmem(ctxmem_window_assemble(&w, s, &alice, NULL, 0, &b), CTXMEM_EFULL);
    assert_non_null(strstr(ctxmem_error_last()->message, "over by 1"));
    assert_null(w);
    tu_store_free(s, dir);
}

static void test_lower_priority_block_is_cut_first(void **state)
{
    char *dir = NULL, persona[4000], profile[4000];
    ctxmem_store *s = tu_store_new(&dir);
    size_t n1 = 0, n2 = 0;

    (void)state;
    for (int i = 0; i < 60; i++) {
        n1 += (size_t)snprintf(persona + n1, sizeof(persona) - n1, "Persona detail %d. ", i);
        n2 += (size_t)snprintf(profile + n2, sizeof(profile) - n2, "Profile fact %d. ", i);
    }
    assert_ctxmem(ctxmem_pin_set(s, &alice, "persona", CTXMEM_ROLE_SYSTEM, persona, n1, 1, 0),
                  CTXMEM_OK);
    assert_ctxmem(ctxmem_pin_set(s, &alice, "profile", CTXMEM_ROLE_NOTE, profile, n2, 5, 0),
                  CTXMEM_OK);
    ctxmem_window *w = assemble(s, &alice, 450, 0, NULL);
    const ctxmem_window_item *a = ctxmem_window_item_at(w, 0), *b = ctxmem_window_item_at(w, 1);
    assert_string_equal(a->name, "persona");
    assert_false(a->flags & CTXMEM_ITEM_CUT);
    assert_string_equal(b->name, "profile");
    assert_true(b->flags & CTXMEM_ITEM_CUT);
    ctxmem_window_free(w);

    /* A pin over its own limit is refused on write. */
    assert_ctxmem(ctxmem_pin_set(s, &alice, "tiny", CTXMEM_ROLE_SYSTEM, persona, n1, 2, 10),
                  CTXMEM_EFULL);
    assert_non_null(strstr(ctxmem_error_last()->message, "limit of 10"));
    tu_store_free(s, dir);
}

static void test_moved_city_leaves_new_current_and_old_outdated(void **state)
{
    char *dir = NULL, text[256];
    ctxmem_store *s = tu_store_new(&dir);
    ctxmem_segment_in a = {0}, b = {0};
    ctxmem_segment_status st;
    uint64_t ida, idb;

    (void)state;
    a.role = b.role = CTXMEM_ROLE_NOTE;
    a.key = b.key = "user.city";
    a.text = "The user lives in Lisbon, the city of trams.";
    b.text = "The user moved from Lisbon to Porto, the city of bridges.";
    a.text_len = strlen(a.text), b.text_len = strlen(b.text);
    a.time = 1000, b.time = 90000;
    assert_ctxmem(ctxmem_store_add(s, &alice, &a, 1, &ida), CTXMEM_OK);
    for (unsigned t = 1; t <= 30; t++) {
        filler(text, sizeof(text), t);
        add_turn(s, &alice, CTXMEM_ROLE_USER, NULL, text, 2000 + t, NULL);
    }
    assert_ctxmem(ctxmem_store_add(s, &alice, &b, 1, &idb), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_status(s, ida, &st), CTXMEM_OK);
    assert_int_equal(st.successor, idb);

    ctxmem_window *w = assemble(s, &alice, 4096, 0, "which city does the user live in");
    int cur = -1, old = -1;
    for (size_t i = 0; i < ctxmem_window_count(w); i++) {
        const ctxmem_window_item *it = ctxmem_window_item_at(w, i);
        if (it->segment == idb)
            cur = (int)i, assert_false(it->flags & CTXMEM_ITEM_OUTDATED);
        if (it->segment == ida)
            old = (int)i, assert_true(it->flags & CTXMEM_ITEM_OUTDATED);
    }
    assert_true(cur >= 0);
    if (old >= 0)
        assert_non_null(strstr(ctxmem_window_item_at(w, (size_t)old)->text, "(outdated)"));
    ctxmem_window_free(w);
    tu_store_free(s, dir);
}

static void test_report_json_has_stable_fields(void **state)
{
    char *dir = NULL, *json = NULL;
    ctxmem_store *s = tu_store_new(&dir);
    json_error_t jerr;

    (void)state;
    add_turn(s, &alice, CTXMEM_ROLE_USER, "Ana", "Hello, I need a quote for 40 pallets.", 1, NULL);
    ctxmem_window *w = assemble(s, &alice, 512, 64, NULL);
    assert_ctxmem(ctxmem_window_report_json(w, &json), CTXMEM_OK);
    json_t *r = json_loads(json, 0, &jerr);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "gen_ai.usage.input_tokens")),
                     ctxmem_window_report_get(w)->tokens);
    assert_string_equal(json_string_value(json_object_get(r, "ctxmem.tokenizer")), "o200k_base");
    assert_non_null(json_object_get(json_object_get(r, "tiers"), "hot"));
    json_decref(r);
    free(json);
    ctxmem_window_free(w);
    tu_store_free(s, dir);
}

static void count_trace(void *user, const ctxmem_window *w)
{
    (void)w;
    (*(int *)user)++;
}

static void test_trace_callback_sees_every_window(void **state)
{
    char *dir = NULL;
    ctxmem_store *s = tu_store_new(&dir);
    int calls = 0;

    (void)state;
    add_turn(s, &alice, CTXMEM_ROLE_USER, NULL, "hello", 1, NULL);
    assert_ctxmem(ctxmem_store_set_trace(s, count_trace, &calls), CTXMEM_OK);
    for (int i = 0; i < 3; i++)
        ctxmem_window_free(assemble(s, &alice, 256, 0, NULL));
    assert_int_equal(calls, 3);
    tu_store_free(s, dir);
}

static void test_assemble_rejects_bad_budgets(void **state)
{
    char *dir = NULL;
    ctxmem_store *s = tu_store_new(&dir);
    ctxmem_budget b = CTXMEM_BUDGET_INIT;
    ctxmem_window *w = NULL;

    (void)state;
    assert_ctxmem(ctxmem_window_assemble(&w, s, &alice, NULL, 0, &b), CTXMEM_EINVAL);
    b.limit = 100, b.reserve_output = 100;
    assert_ctxmem(ctxmem_window_assemble(&w, s, &alice, NULL, 0, &b), CTXMEM_EINVAL);
    b.reserve_output = 0, b.hot_share = 1.5f;
    assert_ctxmem(ctxmem_window_assemble(&w, s, &alice, NULL, 0, &b), CTXMEM_EINVAL);
    b.hot_share = 0.5f;
    assert_ctxmem(ctxmem_window_assemble(&w, s, &alice, "\xC3", 1, &b), CTXMEM_EINVAL);
    assert_ctxmem(ctxmem_window_assemble(&w, s, NULL, NULL, 0, &b), CTXMEM_EINVAL);
    assert_ctxmem(ctxmem_window_assemble(NULL, s, &alice, NULL, 0, &b), CTXMEM_EINVAL);
    b.limit = 2;
    assert_ctxmem(ctxmem_window_assemble(&w, s, &alice, NULL, 0, &b), CTXMEM_EFULL);
    assert_null(w);
    tu_store_free(s, dir);
}

static void test_recall_tool_answers_within_limit(void **state)
{
    char *dir = NULL, *result = NULL, text[256];
    ctxmem_store *s = tu_store_new(&dir);
    json_error_t jerr;
    size_t n = 0;

    (void)state;
    add_turn(s, &alice, CTXMEM_ROLE_USER, NULL, "My passport number ends in 4471.", 1, NULL);
    for (unsigned t = 1; t <= 30; t++) {
        filler(text, sizeof(text), t);
        add_turn(s, &alice, CTXMEM_ROLE_ASSISTANT, NULL, text, 10 + t, NULL);
    }
    json_t *def = json_loads(ctxmem_recall_tool_json(), 0, &jerr);
    assert_non_null(def);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(def, "function"), "name")),
        "memory_search");
    json_decref(def);
    assert_ctxmem(ctxmem_recall_answer(&result, s, &alice, "{\"query\":\"passport number\"}", 200),
                  CTXMEM_OK);
    assert_non_null(strstr(result, "4471"));
    assert_ctxmem(ctxmem_tokenizer_count(ctxmem_store_tokenizer(s), result, strlen(result), &n),
                  CTXMEM_OK);
    assert_true(n <= 200);
    free(result);
    assert_ctxmem(ctxmem_recall_answer(&result, s, &alice, "{\"k\":3}", 200), CTXMEM_EINVAL);
    assert_ctxmem(ctxmem_recall_answer(&result, s, &alice, "{\"query\":1", 200), CTXMEM_EINVAL);
    assert_null(result);
    tu_store_free(s, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needle_constraint_survives_500_turns),
        cmocka_unit_test(test_summary_never_pushes_total_over_budget),
        cmocka_unit_test(test_large_retrieved_passage_is_cut_not_overflowing),
        cmocka_unit_test(test_system_prompt_survives_budget_of_one_message),
        cmocka_unit_test(test_lower_priority_block_is_cut_first),
        cmocka_unit_test(test_moved_city_leaves_new_current_and_old_outdated),
        cmocka_unit_test(test_report_json_has_stable_fields),
        cmocka_unit_test(test_trace_callback_sees_every_window),
        cmocka_unit_test(test_assemble_rejects_bad_budgets),
        cmocka_unit_test(test_recall_tool_answers_within_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
