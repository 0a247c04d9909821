/*
 * The FAISS C API, as built by cmake/FaissC.cmake, links and answers searches.
 * Expected neighbours are computed here by brute force, independently of FAISS.
 */
#include "testutil.h"

#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/error_c.h>

#include <stdlib.h>

#define DIM 16
#define N 500

static float frand(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (float)((*state >> 8) & 0xFFFF) / 65536.0f - 0.5f;
}

static idx_t brute_force_nearest(const float *base, const float *q)
{
    idx_t best = -1;
    float best_d = 0;

    for (idx_t i = 0; i < N; i++) {
        float d = 0;
        for (int k = 0; k < DIM; k++) {
            float t = base[i * DIM + k] - q[k];
            d += t * t;
        }
        if (best < 0 || d < best_d)
            best = i, best_d = d;
    }
    return best;
}

static void test_faiss_factory_add_search_matches_brute_force(void **state)
{
    FaissIndex *index = NULL;
    float *base = malloc(sizeof(float) * N * DIM);
    idx_t ids[N], labels[1];
    float q[DIM], dist[1];
    unsigned seed = 7;

    (void)state;
    for (int i = 0; i < N * DIM; i++)
        base[i] = frand(&seed);
    for (int i = 0; i < N; i++)
        ids[i] = 1000 + i;

    assert_int_equal(faiss_index_factory(&index, DIM, "IDMap,Flat", METRIC_L2), 0);
    assert_int_equal(faiss_Index_add_with_ids(index, N, base, ids), 0);
    assert_int_equal(faiss_Index_ntotal(index), N);

    for (int t = 0; t < 20; t++) {
        for (int k = 0; k < DIM; k++)
            q[k] = frand(&seed);
        assert_int_equal(faiss_Index_search(index, 1, q, 1, dist, labels), 0);
        assert_int_equal(labels[0], 1000 + brute_force_nearest(base, q));
    }
    faiss_Index_free(index);
    free(base);
}

static void test_faiss_bad_factory_string_is_an_error(void **state)
{
    FaissIndex *index = NULL;

    (void)state;
    assert_int_not_equal(faiss_index_factory(&index, DIM, "NoSuchIndex", METRIC_L2), 0);
    assert_non_null(faiss_get_last_error());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faiss_factory_add_search_matches_brute_force),
        cmocka_unit_test(test_faiss_bad_factory_string_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
