/*
 * libFuzzer target: the LoCoMo importer (import_locomo_parse) on arbitrary
 * bytes. Malformed input must give CTXMEM_EINVAL; whatever parses must be
 * walkable (every string readable, evidence indexes inside the turns).
 */
#include "import/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_locomo: %s failed at line %d\n", #cond, __LINE__);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static size_t walk(const locomo_set *set)
{
    size_t sum = 0;

    for (size_t c = 0; c < set->n_conv; c++) {
        const locomo_conv *conv = &set->conv[c];
        for (size_t t = 0; t < conv->n_turns; t++) {
            const locomo_turn *turn = &conv->turns[t];
            sum += strlen(turn->speaker) + strlen(turn->dia_id) + strlen(turn->text);
            sum += turn->caption ? strlen(turn->caption) : 0;
        }
        for (size_t q = 0; q < conv->n_qa; q++) {
            sum += strlen(conv->qa[q].question);
            for (size_t e = 0; e < conv->qa[q].n_evidence; e++)
                REQUIRE(conv->qa[q].evidence[e] < conv->n_turns);
        }
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    locomo_set *set = (locomo_set *)1;
    int rc = import_locomo_parse(&set, (const char *)data, size, "fuzz");

    if (rc == CTXMEM_OK) {
        REQUIRE(set != NULL);
        walk(set);
        import_locomo_free(set);
    } else {
        REQUIRE(set == NULL);
        REQUIRE(rc == CTXMEM_EINVAL || rc == CTXMEM_ENOMEM);
        REQUIRE(ctxmem_error_last()->message[0] != '\0');
    }
    return 0;
}
