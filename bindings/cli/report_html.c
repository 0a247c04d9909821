/*
 * The replay's HTML report: one self-contained file, inline SVG, no network.
 */
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHART_W    960
#define CHART_H    280
#define MAX_POINTS 960

static const char *const tier_colors[CTXMEM_TIER_COUNT] = {"#6b7280", "#2563eb", "#f59e0b",
                                                           "#10b981"};

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* Mean composition of the windows in bucket b of n buckets, and the share with events. */
static void bucket(const replay_result *r, size_t b, size_t n, double tiers[CTXMEM_TIER_COUNT],
                   double *demoted, double *cut)
{
    size_t from = b * r->n_turn_log / n, to = (b + 1) * r->n_turn_log / n;

    memset(tiers, 0, sizeof(double) * CTXMEM_TIER_COUNT);
    *demoted = *cut = 0;
    if (to <= from)
        to = from + 1;
    for (size_t i = from; i < to && i < r->n_turn_log; i++) {
        for (int t = 0; t < CTXMEM_TIER_COUNT; t++)
            tiers[t] += r->turn_log[i].tier_tokens[t] / (double)(to - from);
        *demoted += r->turn_log[i].demoted / (double)(to - from);
        *cut += r->turn_log[i].cut / (double)(to - from);
    }
}

/* One stacked area per tier, each on top of the ones before. */
static void tier_areas(FILE *f, const replay_result *r, size_t n, double top, double x_step)
{
    double base[MAX_POINTS] = {0}, upper[MAX_POINTS], tiers[CTXMEM_TIER_COUNT], dem, cut;

    for (int t = 0; t < CTXMEM_TIER_COUNT; t++) {
        fprintf(f, "<polygon fill='%s' fill-opacity='0.85' points='", tier_colors[t]);
        for (size_t b = 0; b < n; b++) {
            bucket(r, b, n, tiers, &dem, &cut);
            upper[b] = base[b] + tiers[t];
            fprintf(f, "%.1f,%.1f ", 50 + b * x_step, CHART_H - upper[b] / top * CHART_H);
        }
        for (size_t b = n; b-- > 0;)
            fprintf(f, "%.1f,%.1f ", 50 + b * x_step, CHART_H - base[b] / top * CHART_H);
        fprintf(f, "'/>\n");
        memcpy(base, upper, n * sizeof(double));
    }
}

/* Ticks under the chart: darker where more of the bucket's windows demoted or cut. */
static void event_ticks(FILE *f, const replay_result *r, size_t n, double x_step)
{
    double tiers[CTXMEM_TIER_COUNT], dem, cut;

    for (size_t b = 0; b < n; b++) {
        bucket(r, b, n, tiers, &dem, &cut);
        if (dem > 0)
            fprintf(f,
                    "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='#7c3aed' "
                    "stroke-opacity='%.2f'/>",
                    50 + b * x_step, 50 + b * x_step, CHART_H + 2, CHART_H + 10, 0.15 + 0.85 * dem);
        if (cut > 0)
            fprintf(f,
                    "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='#dc2626' "
                    "stroke-opacity='%.2f'/>",
                    50 + b * x_step, 50 + b * x_step, CHART_H + 12, CHART_H + 20,
                    0.15 + 0.85 * cut);
    }
}

/* A thin line and a number where each conversation starts. */
static void conversation_marks(FILE *f, const replay_result *r, size_t n, double x_step)
{
    for (size_t i = 0; i < r->n_turn_log; i++) {
        if (i > 0 && r->turn_log[i].conv == r->turn_log[i - 1].conv)
            continue;
        double x = 50 + (double)(i * n / r->n_turn_log) * x_step;
        fprintf(f,
                "<line x1='%.1f' x2='%.1f' y1='0' y2='%d' stroke='#111' stroke-opacity="
                "'0.35'/><text x='%.1f' y='12' font-size='11'>%u</text>\n",
                x, x, CHART_H, x + 3, r->turn_log[i].conv + 1);
    }
}

/* Stacked areas of tokens per tier over the windows, the budget line, event ticks. */
static void composition_chart(FILE *f, const replay_opts *o, const replay_result *r)
{
    size_t n = r->n_turn_log < MAX_POINTS ? r->n_turn_log : MAX_POINTS;
    double top = (double)o->budget.limit * 1.1;
    double x_step = n > 1 ? (double)CHART_W / (double)(n - 1) : 0;
    double y = CHART_H - (double)(o->budget.limit - o->budget.reserve_output) / top * CHART_H;

    fprintf(f,
            "<svg viewBox='0 0 %d %d' width='100%%' role='img' aria-label='window "
            "composition per window'>\n",
            CHART_W + 60, CHART_H + 40);
    if (n) {
        tier_areas(f, r, n, top, x_step);
        event_ticks(f, r, n, x_step);
        if (r->conversations > 1)
            conversation_marks(f, r, n, x_step);
    }
    fprintf(f,
            "<line x1='50' x2='%d' y1='%.1f' y2='%.1f' stroke='#dc2626' "
            "stroke-dasharray='6 4'/><text x='%d' y='%.1f' font-size='12' fill='#dc2626' "
            "text-anchor='end'>budget %zu</text>\n",
            CHART_W + 50, y, y, CHART_W + 50, y - 4, o->budget.limit - o->budget.reserve_output);
    fprintf(f,
            "<text x='50' y='%d' font-size='12'>window 1</text><text x='%d' y='%d' "
            "font-size='12' text-anchor='end'>window %zu</text>\n<text x='4' y='%d' "
            "font-size='12'>tokens</text><text x='4' y='%d' font-size='12'>0</text></svg>\n",
            CHART_H + 36, CHART_W + 50, CHART_H + 36, r->n_turn_log, 24, CHART_H);
}

static double cat_value(const double *sums, const size_t *n, int k)
{
    return n[k] ? sums[k] / (double)n[k] : 0;
}

/* Grouped bars: recall per category, ctxmem beside the recency baseline. */
static void recall_chart(FILE *f, const replay_result *r)
{
    const char *names[5] = {"", "multi-hop (1)", "temporal (2)", "open-domain (3)",
                            "single-hop (4)"};

    fprintf(f, "<svg viewBox='0 0 720 240' width='720' role='img' aria-label='recall per "
               "category'>\n");
    for (int k = 1; k <= 4; k++) {
        double vals[3] = {cat_value(r->cat_sum, r->cat_n, k),
                          cat_value(r->cat_incl_sum, r->cat_n, k),
                          cat_value(r->cat_recency_sum, r->cat_n, k)};
        const char *colors[3] = {"#10b981", "#34d399", "#9ca3af"};
        for (int v = 0; v < 3; v++) {
            double x = 40 + (k - 1) * 170 + v * 44, h = vals[v] * 180;
            fprintf(f,
                    "<rect x='%.0f' y='%.1f' width='40' height='%.1f' fill='%s'/>"
                    "<text x='%.0f' y='%.1f' font-size='11' text-anchor='middle'>%.2f</text>",
                    x, 200 - h, h, colors[v], x + 20, 196 - h, vals[v]);
        }
        fprintf(f, "<text x='%d' y='218' font-size='12' text-anchor='middle'>%s</text>\n",
                40 + (k - 1) * 170 + 64, names[k]);
    }
    fprintf(f, "<line x1='30' x2='710' y1='200' y2='200' stroke='#111'/></svg>\n");
}

static void summary_table(FILE *f, const replay_opts *o, const replay_result *r, json_t *j)
{
    json_t *lat = json_object_get(j, "latency_us");

    fprintf(f, "<table class='kv'>");
    fprintf(f, "<tr><th>input</th><td>");
    esc(f, o->file);
    fprintf(f,
            " (%s)</td></tr><tr><th>budget</th><td>%zu tokens, %zu reserved, tokenizer %s"
            "</td></tr>",
            o->locomo ? "LoCoMo" : "OpenAI chat", o->budget.limit, o->budget.reserve_output,
            r->tokenizer);
    fprintf(f,
            "<tr><th>replayed</th><td>%zu conversation%s, %zu turns, %zu windows, %zu "
            "questions in %.1f s</td></tr>",
            r->conversations, r->conversations == 1 ? "" : "s", r->turns, r->windows, r->questions,
            r->wall_seconds);
    if (r->questions) /* only LoCoMo has questions with evidence to measure */
        fprintf(f,
                "<tr><th>evidence recall</th><td><b>%.3f</b> (incl. summaries %.3f); "
                "recency baseline %.3f</td></tr>",
                r->recall_sum / r->questions, r->recall_incl_sum / r->questions,
                r->recency_sum / r->questions);
    fprintf(f,
            "<tr><th>window tokens</th><td>mean %.0f, max %zu; budget violations <b>%zu"
            "</b></td></tr>",
            r->windows ? r->window_tokens_sum / r->windows : 0, r->window_tokens_max,
            r->budget_violations);
    if (r->questions)
        fprintf(f,
                "<tr><th>full context</th><td>%.0f tokens on average at question time"
                "</td></tr>",
                r->full_tokens_sum / r->questions);
    fprintf(f, "<tr><th>assembly latency</th><td>p50 %.0f µs, p99 %.0f µs</td></tr>",
            json_real_value(json_object_get(lat, "p50")),
            json_real_value(json_object_get(lat, "p99")));
    fprintf(f,
            "<tr><th>cost per conversation</th><td>$%.4f with ctxmem vs $%.4f sending "
            "everything (at $%.2f per million input tokens)</td></tr></table>\n",
            r->cost_ctxmem / (r->conversations ? r->conversations : 1),
            r->cost_full / (r->conversations ? r->conversations : 1), o->price_per_mtok);
}

static void worst_table(FILE *f, const replay_result *r)
{
    fprintf(f,
            "<h2>Questions whose window missed the most evidence</h2>\n<p>%zu of %zu "
            "questions had none of their evidence in the window; the lowest-recall ones "
            "follow, at most two per conversation.</p>\n",
            r->zero_recall, r->questions);
    fprintf(f, "<table><tr><th>conv</th><th>cat"
               "</th><th>recall</th><th>question</th><th>missing evidence</th><th>retrieved "
               "instead</th></tr>\n");
    for (size_t i = 0; i < r->n_worst; i++) {
        fprintf(f, "<tr><td>%u</td><td>%d</td><td>%.2f</td><td>", r->worst[i].conv + 1,
                r->worst[i].category, r->worst[i].recall);
        esc(f, r->worst[i].question);
        fprintf(f, "</td><td>");
        esc(f, r->worst[i].missing);
        fprintf(f, "</td><td class='small'>");
        esc(f, r->worst[i].retrieved);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

int replay_write_html(const char *path, const replay_opts *o, const replay_result *r)
{
    FILE *f = fopen(path, "w");
    json_t *j;

    if (!f)
        return CTXMEM_EIO;
    j = replay_json(o, r);
    fprintf(f, "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>ctxmem "
               "replay</title><style>body{font:14px/1.4 system-ui,sans-serif;margin:24px;"
               "max-width:1040px;color:#111}table{border-collapse:collapse;margin:8px 0}"
               "td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}"
               ".kv th{background:#f3f4f6}.small{font-size:12px;color:#444}.key span{display:"
               "inline-block;width:12px;height:12px;margin:0 4px 0 12px}</style></head><body>\n"
               "<h1>ctxmem replay</h1>\n");
    summary_table(f, o, r, j);
    fprintf(f, "<h2>Window composition over the replay</h2><p class='key'>");
    for (int t = 0; t < CTXMEM_TIER_COUNT; t++)
        fprintf(f, "<span style='background:%s'></span>%s", tier_colors[t], ctxmem_tier_name(t));
    fprintf(f, "<span style='background:#7c3aed'></span>demotion<span style='background:"
               "#dc2626'></span>cut to fit</p>\n");
    composition_chart(f, o, r);
    if (o->locomo) {
        fprintf(f, "<h2>Evidence recall per category</h2><p class='key'><span style='"
                   "background:#10b981'></span>ctxmem<span style='background:#34d399'></span>"
                   "incl. summaries<span style='background:#9ca3af'></span>recency baseline</p>");
        recall_chart(f, r);
        worst_table(f, r);
    }
    fprintf(f, "</body></html>\n");
    json_decref(j);
    return fclose(f) == 0 ? CTXMEM_OK : CTXMEM_EIO;
}
