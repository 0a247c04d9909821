/*
 * Private interface of the tiers: pinned blocks, the hot/warm state of a
 * scope, summaries and summarizing. Used by the window assembly.
 */
#ifndef CTXMEM_TIERS_H
#define CTXMEM_TIERS_H

#include "ctxmem/window.h"
#include "store/store_internal.h"

/* A pinned block as read from the store. Strings point into LMDB's map. */
typedef struct tier_pin {
    const char *name;
    int role;
    unsigned priority;
    const char *text;
    size_t text_len;
} tier_pin;

/*
 * Read the pins of a scope and its ancestors (user; user + agent) into a
 * malloc'd array sorted by priority, then name. Valid while `txn` lives.
 */
int tier_pins_load(ctxmem_store *s, MDB_txn *txn, const ctxmem_scope *scope, tier_pin **pins,
                   size_t *n);

/* A warm-tier summary. */
typedef struct tier_summary {
    uint64_t first_seq;
    uint64_t last_seq;
    int64_t time; /* time of the last turn covered */
    char *text;   /* malloc'd */
    size_t text_len;
} tier_summary;

/* The hot/warm state of one scope. */
typedef struct tier_state {
    uint64_t hot_from_seq; /* first sequence number still hot; 1 = everything */
    uint64_t version;      /* bumped by every change, for optimistic updates */
    tier_summary *summaries;
    size_t n_summaries;
} tier_state;

int tier_state_read(ctxmem_store *s, MDB_txn *txn, uint32_t scope, tier_state *st);
void tier_state_clear(tier_state *st);

/*
 * Store a new state if the stored version still equals `expected_version`
 * (another assembly may have demoted meanwhile). *applied says whether it did.
 */
int tier_state_write(ctxmem_store *s, uint32_t scope, const tier_state *st,
                     uint64_t expected_version, int *applied);

/* Summarize with the store's summarizer, splitting input to fit its window. */
int tier_summarize(ctxmem_store *s, const char *text, size_t len, size_t max_tokens, char **out,
                   size_t *out_len);

/* Name of the store's summarizer. */
const char *tier_summarizer_name(const ctxmem_store *s);

#endif /* CTXMEM_TIERS_H */
