/*
 * libFuzzer target: the segment record decoder (rec_decode, engine/store/
 * record.c) on arbitrary bytes. A damaged record must give CTXMEM_ECORRUPT,
 * never a read past its end; a record that decodes must re-encode to a
 * record of the same size that decodes to the same fields.
 */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_record: %s failed at line %d\n", #cond, __LINE__);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void reencode(const ctxmem_segment *seg, size_t size)
{
    rec_fields f = {seg->seq,      seg->scope,     seg->role,    seg->time, seg->flags,
                    seg->tokens,   seg->text,      seg->text_len, seg->name, seg->meta_json,
                    seg->pair_id,  seg->key,       seg->supersedes};
    unsigned char *buf;
    ctxmem_segment again;

    /* Names with an inner NUL shorten under strlen; only exact round trips are compared. */
    if (rec_size(&f) != size)
        return;
    buf = malloc(size);
    REQUIRE(buf != NULL);
    rec_encode(&f, buf);
    REQUIRE(rec_decode(buf, size, seg->id, &again) == CTXMEM_OK);
    REQUIRE(again.text_len == seg->text_len && memcmp(again.text, seg->text, seg->text_len) == 0);
    REQUIRE(again.seq == seg->seq && again.time == seg->time && again.role == seg->role);
    REQUIRE(strcmp(again.key, seg->key) == 0 && again.supersedes == seg->supersedes);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy: the decoder may only read inside [copy, copy + size). */
    unsigned char *copy = malloc(size ? size : 1);
    ctxmem_segment seg;
    int rc;

    REQUIRE(copy != NULL);
    memcpy(copy, data, size);
    rc = rec_decode(copy, size, 7, &seg);
    REQUIRE(rc == CTXMEM_OK || rc == CTXMEM_ECORRUPT);
    if (rc == CTXMEM_OK) {
        REQUIRE(seg.text >= (const char *)copy && seg.text + seg.text_len < (char *)copy + size);
        REQUIRE(seg.text[seg.text_len] == '\0' && seg.key[strlen(seg.key)] == '\0');
        reencode(&seg, size);
    }
    free(copy);
    return 0;
}
