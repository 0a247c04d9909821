/*
 * The replay driver behind `ctxmem replay` (see replay.h).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "replay.h"
#include "import/import.h"
#include "internal.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct replay_ctx {
    const replay_opts *o;
    replay_result *r;
    ctxmem_store *store;
    ctxmem_chat_framing framing;
    size_t available;
    size_t done, total; /* progress */
    unsigned conv;
} replay_ctx;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    void *p;

    if (n < *cap)
        return CTXMEM_OK;
    p = realloc(*arr, (*cap ? *cap * 2 : 1024) * size);
    if (!p)
        return CTXMEM_ENOMEM;
    *arr = p;
    *cap = *cap ? *cap * 2 : 1024;
    return CTXMEM_OK;
}

static void progress(replay_ctx *c, const char *what)
{
    int width = 40, fill;

    c->done++;
    if (!c->o->progress || (c->done % 64 && c->done != c->total))
        return;
    fill = c->total ? (int)(width * c->done / c->total) : width;
    fprintf(stderr, "\r%-10s [%.*s%*s] %zu/%zu", what, fill,
            "########################################", width - fill, "", c->done, c->total);
    if (c->done == c->total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* ---- counting, independently of the assembly ---- */

static size_t count_json_message(replay_ctx *c, json_t *m)
{
    const ctxmem_tokenizer *tok = ctxmem_store_tokenizer(c->store);
    json_t *calls = json_object_get(m, "tool_calls"), *content = json_object_get(m, "content");
    json_t *name = json_object_get(m, "name");
    size_t n = 0, call = 0;

    if (calls) {
        json_t *fn = json_object_get(json_array_get(calls, 0), "function");
        json_t *args = json_object_get(fn, "arguments");
        ctxmem_tokenizer_count_message(tok, &c->framing, "assistant", NULL, "", 0, &n);
        ctxmem_tokenizer_count_tool_call(tok, json_string_value(json_object_get(fn, "name")),
                                         json_string_value(args), json_string_length(args), &call);
        return n + call;
    }
    ctxmem_tokenizer_count_message(tok, &c->framing, json_string_value(json_object_get(m, "role")),
                                   name ? json_string_value(name) : NULL,
                                   json_string_value(content), json_string_length(content), &n);
    return n;
}

/* The window's tokens recounted from the chat messages it renders to. */
static size_t recount(replay_ctx *c, const ctxmem_window *w)
{
    size_t total = c->framing.reply_priming, i;
    char *text = NULL;
    json_t *msgs, *m;

    if (ctxmem_window_messages_json(w, &text) != CTXMEM_OK)
        return SIZE_MAX;
    msgs = json_loads(text, 0, NULL);
    free(text);
    json_array_foreach(msgs, i, m) total += count_json_message(c, m);
    json_decref(msgs);
    return total;
}

/* ---- one window ---- */

static int assemble(replay_ctx *c, const ctxmem_scope *scope, const char *query, size_t len,
                    ctxmem_window **out)
{
    double t0 = now_s();
    size_t tokens;
    int rc = ctxmem_window_assemble(out, c->store, scope, query, len, &c->o->budget);

    if (rc != CTXMEM_OK)
        return rc;
    if (grow((void **)&c->r->latency_us, &c->r->cap_latency, c->r->n_latency, sizeof(double)) !=
        CTXMEM_OK)
        return CTXMEM_ENOMEM;
    c->r->latency_us[c->r->n_latency++] = (now_s() - t0) * 1e6;
    tokens = recount(c, *out);
    c->r->budget_violations +=
        tokens > c->available || ctxmem_window_report_get(*out)->tokens != tokens;
    c->r->windows++;
    c->r->window_tokens_sum += (double)tokens;
    if (tokens > c->r->window_tokens_max)
        c->r->window_tokens_max = tokens;
    return CTXMEM_OK;
}

static int log_turn(replay_ctx *c, const ctxmem_window *w, size_t full_tokens)
{
    const ctxmem_window_report *rep = ctxmem_window_report_get(w);
    replay_turn *t;

    if (grow((void **)&c->r->turn_log, &c->r->cap_turn_log, c->r->n_turn_log, sizeof(*t)))
        return CTXMEM_ENOMEM;
    t = &c->r->turn_log[c->r->n_turn_log++];
    memset(t, 0, sizeof(*t));
    t->conv = c->conv;
    for (int i = 0; i < CTXMEM_TIER_COUNT; i++)
        t->tier_tokens[i] = (unsigned)rep->tier_tokens[i];
    t->tokens = (unsigned)rep->tokens;
    t->full_tokens = (unsigned)full_tokens;
    t->demoted = rep->demoted > 0;
    for (size_t i = 0; i < rep->n_dropped; i++)
        t->cut |= ctxmem_window_drop_at(w, i)->cut;
    c->r->cost_ctxmem += rep->tokens * c->o->price_per_mtok / 1e6;
    c->r->cost_full += (double)full_tokens * c->o->price_per_mtok / 1e6;
    return CTXMEM_OK;
}

/* The window an application would send as `text` arrives, then `text` is stored. */
static int turn(replay_ctx *c, const ctxmem_scope *scope, const ctxmem_segment_in *in,
                size_t full_tokens, int assemble_before, uint64_t *id)
{
    ctxmem_window *w = NULL;
    int rc = CTXMEM_OK;

    if (assemble_before) {
        rc = assemble(c, scope, in->text, in->text_len, &w);
        if (rc == CTXMEM_OK)
            rc = log_turn(c, w, full_tokens);
        ctxmem_window_free(w);
    }
    if (rc == CTXMEM_OK)
        rc = ctxmem_store_add(c->store, scope, in, 1, id);
    c->r->turns++;
    return rc;
}

/* A replay starts each conversation in a scope of its own: refuse one the store already has. */
static int check_new_scope(replay_ctx *c, const ctxmem_scope *scope)
{
    uint32_t id;

    if (ctxmem_store_scope_id(c->store, scope, &id) != CTXMEM_OK)
        return CTXMEM_OK;
    return err_set(CTXMEM_EINVAL,
                   "replay: the store already holds scope user '%s', agent "
                   "'%s', session '%s'; replay into a new --store",
                   scope->user, scope->agent ? scope->agent : "",
                   scope->session ? scope->session : "");
}

/* ---- LoCoMo ---- */

typedef struct conv_state {
    const locomo_conv *conv;
    ctxmem_scope scope;
    uint64_t *ids;  /* segment id of each turn */
    char **texts;   /* segment text of each turn */
    size_t *tokens; /* message tokens of each turn, framing included */
} conv_state;

static void conv_state_free(conv_state *s)
{
    for (size_t i = 0; s->texts && i < s->conv->n_turns; i++)
        free(s->texts[i]);
    free(s->texts);
    free(s->ids);
    free(s->tokens);
}

static int ingest_locomo(replay_ctx *c, conv_state *s)
{
    const locomo_conv *conv = s->conv;
    size_t full = c->framing.reply_priming;
    int rc = CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < conv->n_turns; i++) {
        const locomo_turn *t = &conv->turns[i];
        ctxmem_segment_in in = {0};
        size_t len = 0;
        s->texts[i] = import_locomo_turn_text(t, &len);
        if (!s->texts[i])
            return CTXMEM_ENOMEM;
        in.role = strcmp(t->speaker, conv->speaker_a) ? CTXMEM_ROLE_ASSISTANT : CTXMEM_ROLE_USER;
        in.text = s->texts[i], in.text_len = len, in.time = t->time;
        rc = ctxmem_tokenizer_count_message(ctxmem_store_tokenizer(c->store), &c->framing,
                                            in.role == CTXMEM_ROLE_USER ? "user" : "assistant",
                                            NULL, in.text, len, &s->tokens[i]);
        if (rc == CTXMEM_OK)
            rc = turn(c, &s->scope, &in, full, 1, &s->ids[i]);
        full += s->tokens[i];
        progress(c, "replay");
    }
    return rc;
}

/* Recency baseline: the index of the oldest turn among the latest that fit. */
static size_t recency_cutoff(replay_ctx *c, const conv_state *s)
{
    size_t used = c->framing.reply_priming, i = s->conv->n_turns;

    while (i > 0 && used + s->tokens[i - 1] <= c->available)
        used += s->tokens[--i];
    return i;
}

/* A turn counts as summarized when a sentence of it stands in a summary. */
static int in_summary(const ctxmem_window *w, const char *text)
{
    const char *p = strchr(text, ':') ? strchr(text, ':') + 2 : text;
    char sentence[256];

    while (*p) {
        size_t n = strcspn(p, ".!?");
        if (n >= 16 && n < sizeof(sentence)) {
            memcpy(sentence, p, n);
            sentence[n] = '\0';
            for (size_t i = 0; i < ctxmem_window_count(w); i++) {
                const ctxmem_window_item *it = ctxmem_window_item_at(w, i);
                if (it->tier == CTXMEM_TIER_WARM && strstr(it->text, sentence))
                    return 1;
            }
        }
        p += n + (p[n] != '\0');
        while (*p == ' ')
            p++;
    }
    return 0;
}

static int in_window(const ctxmem_window *w, uint64_t id)
{
    for (size_t i = 0; i < ctxmem_window_count(w); i++) {
        const ctxmem_window_item *it = ctxmem_window_item_at(w, i);
        if (it->segment == id && !(it->flags & CTXMEM_ITEM_CUT))
            return 1;
    }
    return 0;
}

static char *retrieved_text(const ctxmem_window *w)
{
    char buf[600] = "";
    size_t n = 0;

    for (size_t i = 0; i < ctxmem_window_count(w) && n < sizeof(buf) - 2; i++) {
        const ctxmem_window_item *it = ctxmem_window_item_at(w, i);
        if (it->tier != CTXMEM_TIER_COLD)
            continue;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.*s", n ? " | " : "",
                              (int)(it->text_len > 150 ? 150 : it->text_len), it->text);
    }
    return strdup(buf);
}

static size_t worst_of_conv(const replay_result *r, unsigned conv)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n_worst; i++)
        n += r->worst[i].conv == conv;
    return n;
}

/* Keep the worst questions, lowest recall first, at most two per conversation. */
static void note_miss(replay_ctx *c, double recall, const locomo_qa *qa, const char *missing,
                      const ctxmem_window *w)
{
    replay_result *r = c->r;
    size_t at = r->n_worst;

    r->zero_recall += recall == 0.0;
    if (worst_of_conv(r, c->conv) >= 2)
        return;

    while (at > 0 && r->worst[at - 1].recall > recall)
        at--;
    if (recall >= 1.0 || at >= REPLAY_WORST)
        return;
    if (r->n_worst == REPLAY_WORST) {
        replay_miss *last = &r->worst[REPLAY_WORST - 1];
        free(last->question), free(last->missing), free(last->retrieved);
        r->n_worst--;
    }
    memmove(&r->worst[at + 1], &r->worst[at], (r->n_worst - at) * sizeof(r->worst[0]));
    r->worst[at] = (replay_miss){recall,
                                 c->conv,
                                 qa->category,
                                 strdup(qa->question),
                                 strdup(missing ? missing : ""),
                                 retrieved_text(w)};
    r->n_worst++;
}

static int ask(replay_ctx *c, const conv_state *s, const locomo_qa *qa, size_t cutoff)
{
    ctxmem_window *w = NULL;
    size_t verbatim = 0, incl = 0, recent = 0;
    const char *missing = NULL;
    int rc = assemble(c, &s->scope, qa->question, strlen(qa->question), &w);

    if (rc != CTXMEM_OK)
        return rc;
    for (size_t e = 0; e < qa->n_evidence; e++) {
        size_t t = qa->evidence[e];
        int here = in_window(w, s->ids[t]);
        verbatim += here;
        incl += here || in_summary(w, s->texts[t]);
        recent += t >= cutoff;
        if (!here && !missing)
            missing = s->texts[t];
    }
    double recall = (double)verbatim / (double)qa->n_evidence;
    c->r->recall_sum += recall;
    c->r->recall_incl_sum += (double)incl / (double)qa->n_evidence;
    c->r->recency_sum += (double)recent / (double)qa->n_evidence;
    c->r->cat_sum[qa->category] += recall;
    c->r->cat_incl_sum[qa->category] += (double)incl / (double)qa->n_evidence;
    c->r->cat_recency_sum[qa->category] += (double)recent / (double)qa->n_evidence;
    c->r->cat_n[qa->category]++;
    c->r->questions++;
    note_miss(c, recall, qa, missing, w);
    ctxmem_window_free(w);
    return CTXMEM_OK;
}

static int measured(const locomo_qa *qa)
{
    return qa->category >= 1 && qa->category <= 4 && qa->n_evidence > 0;
}

static int questions_locomo(replay_ctx *c, const conv_state *s)
{
    size_t cutoff = recency_cutoff(c, s), full = c->framing.reply_priming;
    int rc = CTXMEM_OK;

    for (size_t i = 0; i < s->conv->n_turns; i++)
        full += s->tokens[i];
    for (size_t q = 0; rc == CTXMEM_OK && q < s->conv->n_qa; q++) {
        if (!measured(&s->conv->qa[q]))
            continue;
        rc = ask(c, s, &s->conv->qa[q], cutoff);
        c->r->full_tokens_sum += (double)full;
        if (full > c->r->full_tokens_max)
            c->r->full_tokens_max = full;
        progress(c, "questions");
    }
    return rc;
}

static int replay_locomo_conv(replay_ctx *c, const locomo_conv *conv)
{
    conv_state s = {conv, {conv->sample_id, "locomo", ""}, NULL, NULL, NULL};
    int rc = CTXMEM_OK;

    s.ids = calloc(conv->n_turns + 1, sizeof(*s.ids));
    s.texts = calloc(conv->n_turns + 1, sizeof(*s.texts));
    s.tokens = calloc(conv->n_turns + 1, sizeof(*s.tokens));
    if (!s.ids || !s.texts || !s.tokens)
        rc = CTXMEM_ENOMEM;
    if (rc == CTXMEM_OK)
        rc = check_new_scope(c, &s.scope);
    if (rc == CTXMEM_OK)
        rc = ingest_locomo(c, &s);
    if (rc == CTXMEM_OK)
        rc = questions_locomo(c, &s);
    conv_state_free(&s);
    c->r->conversations++;
    return rc;
}

static int replay_locomo(replay_ctx *c)
{
    locomo_set *set = NULL;
    int rc = import_locomo_load(&set, c->o->file);

    for (size_t i = 0; rc == CTXMEM_OK && i < set->n_conv; i++) {
        c->total += set->conv[i].n_turns;
        for (size_t q = 0; q < set->conv[i].n_qa; q++)
            c->total += measured(&set->conv[i].qa[q]);
    }
    for (size_t i = 0; rc == CTXMEM_OK && i < set->n_conv; i++, c->conv++)
        rc = replay_locomo_conv(c, &set->conv[i]);
    import_locomo_free(set);
    return rc;
}

/* ---- OpenAI chat format ---- */

/* Before each assistant message, the window for the latest incoming message. */
static int replay_openai_conv(replay_ctx *c, const openai_conv *conv, size_t index)
{
    char session[48];
    ctxmem_scope scope = {"openai", "replay", session};
    const char *query = NULL;
    size_t query_len = 0, full = c->framing.reply_priming, n = 0;
    int rc = CTXMEM_OK;

    snprintf(session, sizeof(session), "conversation-%zu", index + 1);
    rc = check_new_scope(c, &scope);
    if (rc == CTXMEM_OK && !c->o->json && index < 3)
        fprintf(stderr, "conversation %zu: scope --user openai --agent replay --session %s\n",
                index + 1, session);
    for (size_t i = 0; rc == CTXMEM_OK && i < conv->n; i++) {
        const openai_msg *m = &conv->msgs[i];
        ctxmem_segment_in in = {0};
        int before = (m->role == CTXMEM_ROLE_ASSISTANT || m->role == CTXMEM_ROLE_TOOL_CALL) &&
                     query && (i == 0 || conv->msgs[i - 1].role != CTXMEM_ROLE_TOOL_CALL);
        import_openai_segment(m, &in);
        if (before) {
            /* The incoming message is the query; the window is logged, then the reply added. */
            ctxmem_window *w = NULL;
            rc = assemble(c, &scope, query, query_len, &w);
            if (rc == CTXMEM_OK)
                rc = log_turn(c, w, full);
            ctxmem_window_free(w);
        }
        if (rc == CTXMEM_OK && m->role == CTXMEM_ROLE_SYSTEM)
            /* An application keeps its system prompt as a pinned block, never cut. */
            rc = ctxmem_pin_set(c->store, &scope, "system", CTXMEM_ROLE_SYSTEM, m->text,
                                m->text_len, 0, 0);
        else if (rc == CTXMEM_OK)
            rc = turn(c, &scope, &in, full, 0, NULL);
        if (m->role == CTXMEM_ROLE_USER)
            query = m->text, query_len = m->text_len;
        ctxmem_tokenizer_count(ctxmem_store_tokenizer(c->store), m->text, m->text_len, &n);
        full += n + c->framing.per_message;
        progress(c, "replay");
    }
    c->r->conversations++;
    return rc;
}

static int replay_openai(replay_ctx *c)
{
    openai_set *set = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = import_read_file(c->o->file, &text, &len);

    if (rc == CTXMEM_OK)
        rc = import_openai_parse(&set, text, len, c->o->file);
    for (size_t i = 0; rc == CTXMEM_OK && i < set->n_conv; i++)
        c->total += set->conv[i].n;
    for (size_t i = 0; rc == CTXMEM_OK && i < set->n_conv; i++, c->conv++)
        rc = replay_openai_conv(c, &set->conv[i], i);
    import_openai_free(set);
    free(text);
    return rc;
}

/* ---- the run ---- */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static int open_store(const replay_opts *o, char *tmp, ctxmem_store **store)
{
    ctxmem_options so = CTXMEM_OPTIONS_INIT;
    const char *dir = o->store_dir;

    so.tokenizer_dir = o->tokenizer_dir;
    if (!dir) {
        const char *base = getenv("TMPDIR");
        snprintf(tmp, 4096, "%s/ctxmem-replay-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmp))
            return CTXMEM_EIO;
        dir = tmp;
        so.flags = CTXMEM_OPEN_NOSYNC; /* a scratch store: speed over durability */
    }
    return ctxmem_store_open(store, dir, &so);
}

int replay_run(const replay_opts *o, replay_result *r)
{
    replay_ctx c = {o, r, NULL, CTXMEM_CHAT_FRAMING_INIT, 0, 0, 0, 0};
    char tmp[4096] = "";
    double t0 = now_s();
    int rc;

    memset(r, 0, sizeof(*r));
    rc = open_store(o, tmp, &c.store);
    if (rc == CTXMEM_OK) {
        snprintf(r->tokenizer, sizeof(r->tokenizer), "%s",
                 ctxmem_tokenizer_name(ctxmem_store_tokenizer(c.store)));
        if (o->budget.framing)
            c.framing = *o->budget.framing;
        else
            ctxmem_chat_framing_get(&c.framing, "openai-chat");
        c.available = o->budget.limit - o->budget.reserve_output;
        rc = o->locomo ? replay_locomo(&c) : replay_openai(&c);
    }
    ctxmem_store_close(c.store);
    if (tmp[0])
        nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    r->wall_seconds = now_s() - t0;
    return rc;
}

void replay_result_free(replay_result *r)
{
    for (size_t i = 0; i < r->n_worst; i++) {
        free(r->worst[i].question);
        free(r->worst[i].missing);
        free(r->worst[i].retrieved);
    }
    free(r->latency_us);
    free(r->turn_log);
}

/* ---- the numbers ---- */

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), by_value);
    return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

static double ratio(double sum, size_t n)
{
    return n ? sum / (double)n : 0;
}

static json_t *per_category(const replay_result *r, const double *sums)
{
    json_t *j = json_object();
    char key[4];

    for (int k = 1; k <= 4; k++) {
        snprintf(key, sizeof(key), "%d", k);
        json_object_set_new(j, key, json_real(ratio(sums[k], r->cat_n[k])));
    }
    return j;
}

json_t *replay_json(const replay_opts *o, const replay_result *r)
{
    double *lat = malloc((r->n_latency + 1) * sizeof(*lat));
    double p50, p99;
    json_t *j;
    size_t convs = r->conversations ? r->conversations : 1;

    memcpy(lat, r->latency_us, r->n_latency * sizeof(*lat));
    p50 = percentile(lat, r->n_latency, 0.50);
    p99 = percentile(lat, r->n_latency, 0.99);
    free(lat);
    j = json_pack(
        "{s:s,s:I,s:I,s:s,s:I,s:I,s:I,s:I,s:f,s:f,s:o,s:o,s:{s:{s:f,s:o,s:f},s:{s:f,s:f,s:I}},"
        "s:{s:f,s:I},s:I,s:{s:f,s:f},s:{s:f,s:f,s:f},s:f}",
        "format", o->locomo ? "locomo" : "openai", "budget", (json_int_t)o->budget.limit, "reserve",
        (json_int_t)o->budget.reserve_output, "tokenizer", r->tokenizer, "conversations",
        (json_int_t)r->conversations, "turns", (json_int_t)r->turns, "questions",
        (json_int_t)r->questions, "windows", (json_int_t)r->windows, "evidence_recall",
        ratio(r->recall_sum, r->questions), "evidence_recall_incl_summaries",
        ratio(r->recall_incl_sum, r->questions), "per_category", per_category(r, r->cat_sum),
        "per_category_incl_summaries", per_category(r, r->cat_incl_sum), "baselines", "recency",
        "evidence_recall", ratio(r->recency_sum, r->questions), "per_category",
        per_category(r, r->cat_recency_sum), "tokens",
        (double)(o->budget.limit - o->budget.reserve_output), "full_context", "evidence_recall",
        r->questions ? 1.0 : 0.0, "tokens_mean", ratio(r->full_tokens_sum, r->questions),
        "tokens_max", (json_int_t)r->full_tokens_max, "window_tokens", "mean",
        ratio(r->window_tokens_sum, r->windows), "max", (json_int_t)r->window_tokens_max,
        "budget_violations", (json_int_t)r->budget_violations, "latency_us", "p50", p50, "p99", p99,
        "cost_per_conversation", "price_per_mtok", o->price_per_mtok, "ctxmem",
        r->cost_ctxmem / (double)convs, "full_context", r->cost_full / (double)convs,
        "wall_seconds", r->wall_seconds);
    if (j) {
        json_object_set_new(j, "hot_share", json_real(o->budget.hot_share));
        json_object_set_new(j, "warm_share", json_real(o->budget.warm_share));
    }
    return j;
}
