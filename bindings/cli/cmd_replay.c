/*
 * ctxmem replay - the main job: replay conversations at a fixed budget and
 * report what the model would have been sent (see replay.h).
 */
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void replay_usage(FILE *f)
{
    fprintf(f, "usage: ctxmem replay --format openai|locomo FILE --budget N [OPTIONS]\n\n"
               "Feed conversations to a store turn by turn; before every turn (locomo) or\n"
               "assistant turn (openai) assemble the window for the incoming message, as an\n"
               "application would. For LoCoMo, then assemble a window per question of\n"
               "categories 1-4 and measure evidence recall against the recency and\n"
               "full-context baselines on the same budget and tokenizer.\n\n"
               "  --format F           openai or locomo\n"
               "  --budget N           context limit in tokens\n"
               "  --reserve M          tokens kept for the reply (default 0)\n"
               "  --hot-share X        share of the window for recent turns (default 0.15)\n"
               "  --warm-share X       share for summaries (default 0.05)\n"
               "  --store DIR          keep the store in DIR (default: a temporary store)\n"
               "  --report FILE.html   write a self-contained HTML report\n"
               "  --price-per-mtok P   input price in dollars per million tokens (default 2.50)\n"
               "  --json               print the results as one JSON object\n"
               "  --tokenizer-dir DIR  where NAME.tiktoken is\n");
}

static int parse_share(const char *arg, float *out)
{
    char *end = NULL;
    double v = strtod(arg, &end);

    if (*end != '\0' || !(v >= 0 && v <= 1))
        return cli_usage("replay", "a share must be a number from 0 to 1, not '%s'", arg);
    *out = (float)v;
    return CLI_OK;
}

static int parse_args(int argc, char **argv, replay_opts *o)
{
    static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                             {"budget", required_argument, NULL, 'b'},
                                             {"reserve", required_argument, NULL, 'r'},
                                             {"store", required_argument, NULL, 's'},
                                             {"report", required_argument, NULL, 'o'},
                                             {"price-per-mtok", required_argument, NULL, 'p'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"tokenizer-dir", required_argument, NULL, 't'},
                                             {"hot-share", required_argument, NULL, 'H'},
                                             {"warm-share", required_argument, NULL, 'W'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *format = NULL;
    int opt, rc = CLI_OK;

    while (rc == CLI_OK &&
           (opt = getopt_long(argc, argv, "f:b:r:s:o:p:jt:H:W:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            format = optarg;
            break;
        case 'b':
            rc = cli_parse_size("replay", "--budget", optarg, &o->budget.limit);
            break;
        case 'r':
            rc = cli_parse_size("replay", "--reserve", optarg, &o->budget.reserve_output);
            break;
        case 's':
            o->store_dir = optarg;
            break;
        case 'o':
            o->report = optarg;
            break;
        case 'p':
            o->price_per_mtok = atof(optarg);
            break;
        case 'j':
            o->json = 1;
            break;
        case 't':
            o->tokenizer_dir = optarg;
            break;
        case 'H':
            rc = parse_share(optarg, &o->budget.hot_share);
            break;
        case 'W':
            rc = parse_share(optarg, &o->budget.warm_share);
            break;
        case 'h':
            replay_usage(stdout);
            return -1;
        default:
            replay_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (rc != CLI_OK)
        return rc;
    if (!format || (strcmp(format, "openai") && strcmp(format, "locomo")))
        return cli_usage("replay", "--format must be openai or locomo");
    if (optind + 1 != argc)
        return cli_usage("replay", "expected one input FILE");
    if (o->budget.limit == 0 || o->budget.reserve_output >= o->budget.limit)
        return cli_usage("replay", "--budget N is required and must exceed --reserve");
    o->locomo = !strcmp(format, "locomo");
    o->file = argv[optind];
    return CLI_OK;
}

static void print_table(const replay_opts *o, const replay_result *r, json_t *j)
{
    json_t *cat = json_object_get(j, "per_category");
    json_t *rec = json_object_get(json_object_get(j, "baselines"), "recency");
    json_t *rcat = json_object_get(rec, "per_category");
    json_t *lat = json_object_get(j, "latency_us");

    printf("replayed %zu conversations, %zu turns, %zu windows at a budget of %zu (%s) in "
           "%.1f s\n",
           r->conversations, r->turns, r->windows, o->budget.limit, r->tokenizer, r->wall_seconds);
    printf("window tokens: mean %.0f, max %zu; budget violations: %zu\n",
           json_real_value(json_object_get(json_object_get(j, "window_tokens"), "mean")),
           r->window_tokens_max, r->budget_violations);
    printf("assembly latency: p50 %.0f us, p99 %.0f us\n",
           json_real_value(json_object_get(lat, "p50")),
           json_real_value(json_object_get(lat, "p99")));
    printf("cost per conversation at $%.2f/Mtok: ctxmem $%.4f, full context $%.4f\n",
           o->price_per_mtok, r->cost_ctxmem / (double)(r->conversations ? r->conversations : 1),
           r->cost_full / (double)(r->conversations ? r->conversations : 1));
    if (!o->locomo)
        return;
    printf("\nevidence recall over %zu questions (categories 1-4)\n", r->questions);
    printf("%-22s %7s %7s %7s %7s %8s\n", "", "cat 1", "cat 2", "cat 3", "cat 4", "all");
    printf("%-22s", "ctxmem");
    for (int k = 1; k <= 4; k++)
        printf(" %7.3f", json_real_value(json_object_get(cat, (const char[]){(char)('0' + k), 0})));
    printf(" %8.3f\n", json_real_value(json_object_get(j, "evidence_recall")));
    printf("%-22s", "recency baseline");
    for (int k = 1; k <= 4; k++)
        printf(" %7.3f",
               json_real_value(json_object_get(rcat, (const char[]){(char)('0' + k), 0})));
    printf(" %8.3f\n", json_real_value(json_object_get(rec, "evidence_recall")));
    printf("ctxmem incl. summaries %39.3f\n",
           json_real_value(json_object_get(j, "evidence_recall_incl_summaries")));
    printf("full context: recall 1.000 at %.0f tokens on average (max %zu)\n",
           r->full_tokens_sum / (double)(r->questions ? r->questions : 1), r->full_tokens_max);
}

int cmd_replay(int argc, char **argv)
{
    replay_opts o = {0};
    replay_result r;
    json_t *j;
    int rc;

    o.budget = (ctxmem_budget)CTXMEM_BUDGET_INIT;
    /* A long-term-memory assistant answering questions about old turns: most of
     * the window goes to retrieval (the library's defaults are 0.25 / 0.10). */
    o.budget.hot_share = 0.15f;
    o.budget.warm_share = 0.05f;
    o.price_per_mtok = 2.50;
    rc = parse_args(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    o.progress = !o.json && isatty(STDERR_FILENO);
    if (replay_run(&o, &r) != CTXMEM_OK) {
        replay_result_free(&r);
        return cli_fail("replay");
    }
    j = replay_json(&o, &r);
    if (o.report && replay_write_html(o.report, &o, &r) != CTXMEM_OK)
        rc = cli_fail("replay: report");
    if (o.json)
        cli_print_json(j);
    else {
        print_table(&o, &r, j);
        json_decref(j);
        if (o.report && rc == CLI_OK)
            printf("report: %s\n", o.report);
    }
    replay_result_free(&r);
    return rc;
}
