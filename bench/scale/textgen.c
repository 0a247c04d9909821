/*
 * textgen.c - the text generator and small measuring helpers shared by the
 * store and scale benchmarks (see textgen.h).
 */
#include "textgen.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VOCAB 4000

static const char *const function_words[] = {
    "the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on",
    "are", "with", "as", "I", "his", "they", "be", "at", "one", "have", "this", "from", "or",
    "had", "by", "not", "but", "what", "some", "we", "can", "out", "other", "were", "all",
    "there", "when", "up", "use", "your", "how", "said", "an", "each", "she", "which", "do",
    "their", "time", "if", "will", "way", "about", "many", "then", "them", "would", "like",
    "so", "these", "her", "long", "make", "thing", "see", "him", "two", "has", "look", "more",
    "day", "could", "go", "come", "did", "my", "no", "most", "who", "over", "know", "than",
    "call", "first", "may", "down", "side", "been", "now", "find", "any", "new", "work",
    "part", "take", "get", "place", "made", "live", "where", "after", "back", "little",
    "only", "round", "man", "year", "came", "show", "every", "good", "me", "give", "our",
    "under", "name", "very"};
static const char *const syllables[] = {
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "pe", "da", "fi", "gu", "ho", "je", "ba",
    "zo", "ri", "te", "mu", "na", "ster", "ing", "con", "pra", "del", "mon", "tur", "bel"};

static char vocab[VOCAB][24];
static double cdf[VOCAB];
static int vocab_ready;

static void make_vocab(void)
{
    size_t nf = sizeof(function_words) / sizeof(*function_words);
    size_t ns = sizeof(syllables) / sizeof(*syllables);
    double sum = 0;

    for (size_t i = 0; i < VOCAB; i++) {
        if (i < nf) {
            snprintf(vocab[i], sizeof(vocab[i]), "%s", function_words[i]);
        } else {
            size_t v = i * 2654435761u, len = 0;
            int n = 2 + (int)(i % 3);
            for (int s = 0; s < n; s++, v /= ns)
                len += (size_t)snprintf(vocab[i] + len, sizeof(vocab[i]) - len, "%s",
                                        syllables[v % ns]);
        }
        sum += 1.0 / (double)(i + 1);
        cdf[i] = sum;
    }
    for (size_t i = 0; i < VOCAB; i++)
        cdf[i] /= sum;
    vocab_ready = 1;
}

void textgen_init(textgen *g, uint64_t seed)
{
    if (!vocab_ready)
        make_vocab();
    g->state = seed * 0x9E3779B97F4A7C15ull + 1;
}

double textgen_uniform(textgen *g)
{
    g->state = g->state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(g->state >> 11) / 9007199254740992.0;
}

static const char *draw(textgen *g)
{
    double u = textgen_uniform(g);
    size_t lo = 0, hi = VOCAB - 1;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return vocab[lo];
}

size_t textgen_text(textgen *g, char *buf, size_t cap, int words)
{
    size_t len = 0;
    int in_sentence = 0;

    buf[0] = '\0';
    for (int w = 0; w < words && len + 32 < cap; w++) {
        const char *word = draw(g);
        size_t start = len + (len ? 1 : 0);

        len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? " " : "", word);
        if (!in_sentence)
            buf[start] = (char)toupper((unsigned char)buf[start]);
        in_sentence = 1;
        /* About 12 words per sentence. */
        if (w == words - 1 || textgen_uniform(g) < 1.0 / 12) {
            buf[len++] = '.', buf[len] = '\0';
            in_sentence = 0;
        }
    }
    return len;
}

size_t textgen_query(textgen *g, char *buf, size_t cap)
{
    return textgen_text(g, buf, cap, 6 + (int)(textgen_uniform(g) * 6));
}

double bench_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

long bench_status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(field);
    long kib = 0;

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kib = atol(line + n + 1);
    if (f)
        fclose(f);
    return kib;
}

long bench_peak_rss_kib(void)
{
    return bench_status_kib("VmHWM");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double bench_quantile(double *v, size_t n, double q)
{
    size_t rank;

    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    rank = (size_t)ceil(q * (double)n);
    return v[rank ? rank - 1 : 0];
}
