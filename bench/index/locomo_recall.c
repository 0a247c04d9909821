/*
 * LoCoMo evidence recall of cold-tier retrieval alone.
 *
 * For each of the 10 conversations: a fresh temporary store; every dialogue
 * turn becomes one segment "Speaker: text" (plus " [shares a photo:
 * caption]" when the turn carries a photo caption), with the session's date
 * as its time, role user for speaker_a and assistant for speaker_b, name =
 * speaker. Then for every question of categories 1-4 that lists evidence,
 * the question is the query; hits are packed in score order into a
 * 2,048-token budget (segment tokens under the store's tokenizer; a hit that
 * does not fit is skipped and packing goes on), and evidence recall is the
 * share of the question's evidence turns that made it in. Reported for
 * hybrid ranking, BM25 only, vector only and the recency baseline (the latest
 * turns that fit).
 *
 * Usage: locomo_recall [locomo10.json] [budget]
 * Tuning knobs (environment): CTXMEM_K, CTXMEM_W_VEC, CTXMEM_W_LEX,
 * CTXMEM_W_REC, CTXMEM_RRF_K, CTXMEM_NB, CTXMEM_NBW, CTXMEM_K1, CTXMEM_B.
 */
#include "ctxmem.h"
#include "import/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *mkdtemp(char *templ);

enum { MODE_HYBRID, MODE_BM25, MODE_VECTOR, MODE_RECENCY, MODES };
static const char *const mode_names[MODES] = {"hybrid", "bm25", "vector", "recency"};

struct tally {
    double sum[MODES][5];
    size_t n[5];
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void rmtree(const char *dir)
{
    char cmd[4200];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
}

static float env_f(const char *name, float dflt)
{
    const char *v = getenv(name);

    return v && *v ? (float)atof(v) : dflt;
}

static void die(const char *what)
{
    fprintf(stderr, "locomo_recall: %s: %s\n", what, ctxmem_error_last()->message);
    exit(1);
}

static char *turn_text(const locomo_turn *t, size_t *len)
{
    char *s = import_locomo_turn_text(t, len); /* the same text `ctxmem replay` stores */

    if (!s)
        exit(1);
    return s;
}

/* All turns as segments of one scope; ids[i] is turn i's segment id. */
static void ingest(ctxmem_store *st, const ctxmem_scope *scope, const locomo_conv *c,
                   uint64_t *ids)
{
    for (size_t i = 0; i < c->n_turns;) {
        size_t j = i, n;
        ctxmem_segment_in *in;
        char **texts;
        while (j < c->n_turns && c->turns[j].session == c->turns[i].session)
            j++;
        n = j - i;
        in = calloc(n, sizeof(*in));
        texts = calloc(n, sizeof(*texts));
        for (size_t k = 0; k < n; k++) {
            const locomo_turn *t = &c->turns[i + k];
            texts[k] = turn_text(t, &in[k].text_len);
            in[k].text = texts[k];
            in[k].role = strcmp(t->speaker, c->speaker_a) ? CTXMEM_ROLE_ASSISTANT
                                                          : CTXMEM_ROLE_USER;
            in[k].time = t->time;
            in[k].name = t->speaker;
        }
        if (ctxmem_store_add(st, scope, in, n, ids + i) != CTXMEM_OK)
            die("add");
        for (size_t k = 0; k < n; k++)
            free(texts[k]);
        free(texts);
        free(in);
        i = j;
    }
}

static double recall_of(const locomo_qa *q, const uint64_t *ids, const uint64_t *packed,
                        size_t n_packed)
{
    size_t found = 0;

    for (size_t e = 0; e < q->n_evidence; e++)
        for (size_t p = 0; p < n_packed; p++)
            if (packed[p] == ids[q->evidence[e]]) {
                found++;
                break;
            }
    return (double)found / (double)q->n_evidence;
}

static size_t pack_hits(const ctxmem_hit *h, size_t n, size_t budget, uint64_t *packed)
{
    size_t used = 0, m = 0;

    for (size_t i = 0; i < n; i++)
        if (used + h[i].tokens <= budget) {
            used += h[i].tokens;
            packed[m++] = h[i].id;
        }
    return m;
}

static size_t pack_recent(ctxmem_store *st, const uint64_t *ids, size_t n_turns, size_t budget,
                          uint64_t *packed)
{
    size_t used = 0, m = 0;

    for (size_t i = n_turns; i-- > 0;) {
        ctxmem_segment *seg = NULL;
        if (ctxmem_store_get(&seg, st, ids[i]) != CTXMEM_OK)
            die("get");
        if (used + seg->tokens > budget) {
            ctxmem_segment_free(seg);
            break;
        }
        used += seg->tokens;
        packed[m++] = ids[i];
        ctxmem_segment_free(seg);
    }
    return m;
}

static ctxmem_search_opts opts_for(int mode)
{
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;

    o.k = (size_t)env_f("CTXMEM_K", 120);
    o.signals = mode == MODE_BM25     ? CTXMEM_SIGNAL_LEXICAL
                : mode == MODE_VECTOR ? CTXMEM_SIGNAL_VECTOR
                                      : CTXMEM_SIGNAL_ALL;
    o.weight_vector = env_f("CTXMEM_W_VEC", 0);
    o.weight_lexical = env_f("CTXMEM_W_LEX", 0);
    o.weight_recency = env_f("CTXMEM_W_REC", 0);
    o.rrf_k = (unsigned)env_f("CTXMEM_RRF_K", 0);
    o.neighbours = (int)env_f("CTXMEM_NB", 0);
    o.neighbour_weight = env_f("CTXMEM_NBW", 0);
    o.bm25_k1 = env_f("CTXMEM_K1", 0);
    o.bm25_b = env_f("CTXMEM_B", 0);
    return o;
}

static void ask(ctxmem_store *st, const ctxmem_scope *scope, const locomo_conv *c,
                const uint64_t *ids, size_t budget, struct tally *t, uint64_t *packed)
{
    size_t n_recent = pack_recent(st, ids, c->n_turns, budget, packed + c->n_turns);

    for (size_t i = 0; i < c->n_qa; i++) {
        const locomo_qa *q = &c->qa[i];
        if (q->category < 1 || q->category > 4 || q->n_evidence == 0)
            continue;
        for (int m = 0; m < MODE_RECENCY; m++) {
            ctxmem_search_opts o = opts_for(m);
            ctxmem_hit *h = NULL;
            size_t n = 0, np;
            double r;
            if (ctxmem_search(&h, &n, st, scope, 1, q->question, strlen(q->question), &o))
                die("search");
            np = pack_hits(h, n, budget, packed);
            r = recall_of(q, ids, packed, np);
            t->sum[m][0] += r, t->sum[m][q->category] += r;
            ctxmem_hits_free(h);
        }
        {
            double r = recall_of(q, ids, packed + c->n_turns, n_recent);
            t->sum[MODE_RECENCY][0] += r, t->sum[MODE_RECENCY][q->category] += r;
        }
        t->n[0]++, t->n[q->category]++;
    }
}

static ctxmem_store *open_store(char *dir)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *st = NULL;
    const char *env = getenv("CTXMEM_TOKENIZER_DIR");

    o.tokenizer_dir = env && *env ? NULL : CTXMEM_SHARED_DIR "/tokenizers";
    if (ctxmem_store_open(&st, dir, &o) == CTXMEM_OK)
        return st;
    if (ctxmem_error_last()->code != CTXMEM_ENOTFOUND)
        die("open");
    rmtree(dir);
    o.tokenizer = "approx";
    if (ctxmem_store_open(&st, dir, &o) != CTXMEM_OK)
        die("open");
    return st;
}

static void run_conv(const locomo_conv *c, size_t budget, struct tally *t, char *tok)
{
    static const ctxmem_scope scope = {"locomo", NULL, NULL};
    char dir[] = "/tmp/ctxmem-locomo-XXXXXX";
    uint64_t *ids = calloc(c->n_turns, sizeof(*ids));
    uint64_t *packed = calloc(2 * c->n_turns + 1, sizeof(*packed));
    ctxmem_store *st;

    if (!mkdtemp(dir) || !ids || !packed)
        exit(1);
    st = open_store(dir);
    snprintf(tok, 32, "%s", ctxmem_tokenizer_name(ctxmem_store_tokenizer(st)));
    ingest(st, &scope, c, ids);
    ask(st, &scope, c, ids, budget, t, packed);
    ctxmem_store_close(st);
    rmtree(dir);
    free(packed);
    free(ids);
}

static void report(const struct tally *t, size_t budget, const char *tok, double secs)
{
    printf("LoCoMo evidence recall, budget %zu tokens, tokenizer %s, %zu questions "
           "(cat 1-4 with evidence), %.1f s\n",
           budget, tok, t->n[0], secs);
    printf("%-8s %8s %8s %8s %8s %8s\n", "ranking", "all", "cat1", "cat2", "cat3", "cat4");
    for (int m = 0; m < MODES; m++) {
        printf("%-8s", mode_names[m]);
        for (int c = 0; c < 5; c++)
            printf(" %8.4f", t->n[c] ? t->sum[m][c] / (double)t->n[c] : 0.0);
        printf("\n");
    }
    printf("questions per category: %zu %zu %zu %zu\n", t->n[1], t->n[2], t->n[3], t->n[4]);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : CTXMEM_SHARED_DIR "/data/locomo/locomo10.json";
    size_t budget = argc > 2 ? (size_t)atol(argv[2]) : 2048;
    struct tally t = {{{0}}, {0}};
    char tok[32] = "?";
    locomo_set *set = NULL;
    double t0 = now_s();

    if (import_locomo_load(&set, path) != CTXMEM_OK) {
        fprintf(stderr, "locomo_recall: LoCoMo data not available: %s\n",
                ctxmem_error_last()->message);
        return 2;
    }
    for (size_t i = 0; i < set->n_conv; i++)
        run_conv(&set->conv[i], budget, &t, tok);
    report(&t, budget, tok, now_s() - t0);
    import_locomo_free(set);
    return 0;
}
