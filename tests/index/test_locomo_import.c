/*
 * The LoCoMo reader: sessions by number (never date keys), captions, dates,
 * evidence normalisation, clear errors; and the shared file's known counts.
 */
#include "testutil.h"
#include "import/import.h"

#include <string.h>

static const char sample[] =
    "[{\"sample_id\":\"x\",\"conversation\":{\"speaker_a\":\"Ann\",\"speaker_b\":\"Bo\","
    "\"session_10_date_time\":\"9:05 am on 2 January, 2024\",\"session_10\":["
    "{\"speaker\":\"Bo\",\"dia_id\":\"D10:1\",\"text\":\"late\"}],"
    "\"session_2_date_time\":\"1:56 pm on 8 May, 2023\",\"session_2\":["
    "{\"speaker\":\"Ann\",\"dia_id\":\"D2:1\",\"text\":\"hi\",\"blip_caption\":\"a cat\"},"
    "{\"speaker\":\"Bo\",\"dia_id\":\"D2:2\",\"text\":\"yo\"}],"
    "\"session_3_date_time\":\"1:00 pm on 9 May, 2023\"},"
    "\"qa\":[{\"question\":\"q?\",\"answer\":\"a\",\"category\":1,"
    "\"evidence\":[\"D2:1; D10:1\",\"D:2:2\",\"D10:01\",\"D9:9\",\"D\"]}],"
    "\"observation\":{},\"session_summary\":{}}]";

static void test_locomo_reads_sessions_in_number_order_with_captions(void **state)
{
    locomo_set *set = NULL;
    const locomo_conv *c;

    (void)state;
    assert_ctxmem(import_locomo_parse(&set, sample, strlen(sample), "sample"), CTXMEM_OK);
    assert_int_equal(set->n_conv, 1);
    c = &set->conv[0];
    assert_int_equal(c->n_turns, 3);
    assert_string_equal(c->turns[0].dia_id, "D2:1");
    assert_string_equal(c->turns[0].caption, "a cat");
    assert_null(c->turns[1].caption);
    assert_string_equal(c->turns[2].dia_id, "D10:1");
    /* 2023-05-08 13:56 UTC */
    assert_int_equal(c->turns[0].time, 1683554160000LL);
    assert_int_equal(c->n_qa, 1);
    assert_int_equal(c->qa[0].n_evidence, 3); /* D2:1, D10:1, D2:2; duplicates dropped */
    assert_int_equal(c->qa[0].n_unresolved, 2);
    import_locomo_free(set);
}

static void test_locomo_malformed_input_names_place_and_field(void **state)
{
    static const char trunc[] = "[{\"sample_id\":\"x\",\"conversation\":{";
    static const char badtext[] =
        "[{\"sample_id\":\"x\",\"conversation\":{\"speaker_a\":\"A\",\"speaker_b\":\"B\","
        "\"session_1_date_time\":\"1:56 pm on 8 May, 2023\",\"session_1\":["
        "{\"speaker\":\"A\",\"dia_id\":\"D1:1\",\"text\":5}]},\"qa\":[]}]";
    locomo_set *set = NULL;

    (void)state;
    assert_ctxmem(import_locomo_parse(&set, trunc, strlen(trunc), "t.json"), CTXMEM_EINVAL);
    assert_null(set);
    assert_non_null(strstr(ctxmem_error_last()->message, "offset"));
    assert_ctxmem(import_locomo_parse(&set, badtext, strlen(badtext), "b.json"), CTXMEM_EINVAL);
    assert_non_null(strstr(ctxmem_error_last()->message, "'text'"));
    assert_non_null(strstr(ctxmem_error_last()->message, "session_1"));
}

static void test_locomo_shared_file_has_the_documented_counts(void **state)
{
    locomo_set *set = NULL;
    size_t turns = 0, questions = 0;

    (void)state;
    if (!tu_exists(CTXMEM_SHARED_DIR "/data/locomo/locomo10.json"))
        skip();
    assert_ctxmem(import_locomo_load(&set, CTXMEM_SHARED_DIR "/data/locomo/locomo10.json"),
                  CTXMEM_OK);
    for (size_t i = 0; i < set->n_conv; i++) {
        turns += set->conv[i].n_turns;
        for (size_t k = 0; k < set->conv[i].n_qa; k++) {
            const locomo_qa *q = &set->conv[i].qa[k];
            questions += q->category >= 1 && q->category <= 4 && q->n_evidence > 0;
        }
    }
    assert_int_equal(set->n_conv, 10);
    assert_int_equal(turns, 5882);
    assert_int_equal(questions, 1536);
    import_locomo_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_locomo_reads_sessions_in_number_order_with_captions),
        cmocka_unit_test(test_locomo_malformed_input_names_place_and_field),
        cmocka_unit_test(test_locomo_shared_file_has_the_documented_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
