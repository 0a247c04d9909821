/*
 * ctxmem replay: conversations fed to a store turn by turn, a window
 * assembled before each turn as an application would, and for LoCoMo the
 * evidence recall of a window per question, beside two baselines measured on
 * the same budget and tokenizer.
 */
#ifndef CTXMEM_REPLAY_H
#define CTXMEM_REPLAY_H

#include "cli.h"

#define REPLAY_CATEGORIES 5 /* LoCoMo categories 1-4 are measured; index = category */
#define REPLAY_WORST      12

typedef struct replay_opts {
    int locomo; /* 1: LoCoMo, 0: OpenAI chat format */
    const char *file;
    const char *store_dir; /* NULL: a temporary store, removed afterwards */
    const char *report;    /* HTML report path, or NULL */
    ctxmem_budget budget;
    double price_per_mtok; /* dollars per million input tokens */
    int json;
    int progress; /* draw a progress bar on stderr */
    const char *tokenizer_dir;
} replay_opts;

/* One window assembled before a turn: its composition, for the chart. */
typedef struct replay_turn {
    unsigned conv;
    unsigned tier_tokens[CTXMEM_TIER_COUNT];
    unsigned tokens;
    unsigned full_tokens;  /* everything so far: the full-context baseline */
    unsigned char demoted; /* a demotion happened in this call */
    unsigned char cut;     /* something was cut to fit */
} replay_turn;

/* A question whose window missed evidence, for the report's table. */
typedef struct replay_miss {
    double recall;
    unsigned conv;
    int category;
    char *question;
    char *missing;   /* the first missing evidence turn's text */
    char *retrieved; /* the top cold items retrieved instead */
} replay_miss;

typedef struct replay_result {
    char tokenizer[72];
    size_t conversations, turns, questions, windows;
    double recall_sum, recall_incl_sum, recency_sum;
    double cat_sum[REPLAY_CATEGORIES], cat_incl_sum[REPLAY_CATEGORIES];
    double cat_recency_sum[REPLAY_CATEGORIES];
    size_t cat_n[REPLAY_CATEGORIES];
    size_t budget_violations;
    double window_tokens_sum;
    size_t window_tokens_max;
    double full_tokens_sum; /* full-context tokens at each question */
    size_t full_tokens_max;
    double cost_ctxmem, cost_full; /* dollars over all turns' windows */
    double *latency_us;
    size_t n_latency, cap_latency;
    replay_turn *turn_log;
    size_t n_turn_log, cap_turn_log;
    replay_miss worst[REPLAY_WORST];
    size_t n_worst;
    size_t zero_recall;      /* questions whose window held none of their evidence */
    double wall_seconds;
} replay_result;

/* Run a replay; fills `r`. Returns CTXMEM_OK or a ctxmem error (message set). */
int replay_run(const replay_opts *o, replay_result *r);

void replay_result_free(replay_result *r);

/* The result as the JSON object `ctxmem replay --json` prints. */
json_t *replay_json(const replay_opts *o, const replay_result *r);

/* Write the self-contained HTML report. Returns CTXMEM_OK or CTXMEM_EIO. */
int replay_write_html(const char *path, const replay_opts *o, const replay_result *r);

#endif /* CTXMEM_REPLAY_H */
