/*
 * Tokenizer benchmark: single-thread count and encode throughput of
 * cl100k_base and o200k_base on a ~10 MB mixed corpus generated with a fixed
 * seed, in 4 KB chunks and as one buffer; plus load time and memory of
 * o200k_base. The corpus is written to a file so that the reference
 * (compare.sh, tiktoken's WASM build) reads the same bytes.
 *
 * usage: bench_tokenizer [--corpus PATH] [--runs N] [--tokenizer-dir DIR]
 * Prints a table, then one "RESULT {json}" line per measurement.
 */
#include "ctxmem/tokenizer.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CORPUS_BYTES (10u << 20)
#define CHUNK        4096

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32) % n;
}

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_cp(buf *b, uint32_t cp)
{
    char tmp[4];

    put(b, tmp, utf8_encode(cp, tmp));
}

static const char *pick(const char *const *list, size_t n)
{
    return list[rnd((uint32_t)n)];
}

#define PICK(list) pick(list, sizeof(list) / sizeof(list[0]))

static const char *const english[] = {
    "the",       "memory",       "of",      "a",        "conversation", "is",
    "kept",      "in",           "tiers",   "and",      "budget",       "window",
    "assistant", "remembers",    "what",    "user",     "said",         "yesterday",
    "about",     "their",        "garden",  "tomatoes", "weren't",      "ripe",
    "It's",      "I'll",         "they're", "We've",    "HTTPServer",   "running",
    "quickly",   "unbelievable", "summary", "segments", "Paris",        "Tuesday",
    "okay"};
/* Non-Latin words take 2-4 bytes a character: few a line keeps lines under 100 bytes. */
// clang-format off
static const char *const cyrillic[] = {"привет", "память", "разговор",
                                       "сегодня", "Москва", "помощник",
                                       "бюджет", "окно",
                                       "и",      "в",        "не"};
static const char *const arabic[] = {"مرحبا", "الذاكرة", "محادثة",  "اليوم",
                                     "في",    "من",      "المساعد", "نافذة"};
static const char *const code[] = {"for (size_t i = 0; i < n; i++) {\n",
                                   "    if (!ptr)\n        return -1;\n",
                                   "def count_tokens(text: str) -> int:\n",
                                   "    return len(enc.encode(text))\n",
                                   "}\n",
                                   "#include <stdio.h>\n",
                                   "const x = await fetch(`/api/v1/items/${id}`);\n",
                                   "SELECT id, name FROM users WHERE age >= 18;\n",
                                   "\t// NOTE: handle errors\n",
                                   "git commit -m \"fix: tokenizer\" && make -j2\n"};
static const char *const emoji[] = {"😀", "👍🏽", "👨‍👩‍👧",
                                    "🇫🇷", "🎉", "❤️",
                                    "🚀", "1️⃣"};
// clang-format on

static void gen_prose(buf *b)
{
    int words = 20 + (int)rnd(200);

    for (int i = 0; i < words; i++) {
        puts_(b, PICK(english));
        puts_(b, rnd(12) == 0 ? ", " : rnd(15) == 0 ? ". " : " ");
    }
    puts_(b, ".\n\n");
}

static void gen_words(buf *b, const char *const *list, size_t n)
{
    int words = 10 + (int)rnd(100);

    for (int i = 0; i < words; i++) {
        puts_(b, pick(list, n));
        puts_(b, rnd(10) == 0 ? "، " : " ");
    }
    puts_(b, "\n");
}

static void gen_cjk(buf *b)
{
    int chars = 20 + (int)rnd(300);

    for (int i = 0; i < chars; i++) {
        uint32_t r = rnd(10);

        put_cp(b, r < 6 ? 0x4E00 + rnd(0x5000) : r < 9 ? 0x3041 + rnd(0x56) : 0x3002);
    }
    puts_(b, "\n");
}

static void gen_json(buf *b)
{
    char tmp[128];
    int items = 2 + (int)rnd(20);

    puts_(b, "{\"items\": [");
    for (int i = 0; i < items; i++) {
        snprintf(tmp, sizeof(tmp), "%s{\"id\": %u, \"name\": \"%s\", \"score\": %u.%02u}",
                 i ? ", " : "", rnd(100000), PICK(english), rnd(1000), rnd(100));
        puts_(b, tmp);
    }
    puts_(b, "], \"ok\": true}\n");
}

static void gen_misc(buf *b)
{
    char tmp[64];
    uint32_t kind = rnd(3);

    for (int i = 0; i < 10 + (int)rnd(40); i++) {
        if (kind == 0) {
            puts_(b, PICK(emoji));
        } else if (kind == 1) {
            snprintf(tmp, sizeof(tmp), "%u%u ", rnd(1000000), rnd(1000));
            puts_(b, tmp);
        } else {
            static const char *const ws[] = {" ", "  ", "    ", "\t", "\n", "\r\n", "        \n"};

            puts_(b, PICK(ws));
            puts_(b, "x");
        }
    }
    puts_(b, "\n");
}

static void gen_corpus(buf *b)
{
    while (b->len < CORPUS_BYTES) {
        switch (rnd(10)) {
        case 0:
        case 1:
        case 2:
            gen_prose(b);
            break;
        case 3:
        case 4:
            for (int i = 0; i < 5; i++)
                puts_(b, PICK(code));
            break;
        case 5:
            gen_json(b);
            break;
        case 6:
            gen_cjk(b);
            break;
        case 7:
            gen_words(b, rnd(2) ? cyrillic : arabic, rnd(2) ? 11 : 8);
            break;
        default:
            gen_misc(b);
            break;
        }
    }
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* End of the chunk starting at `pos`: at most CHUNK bytes, on a character boundary. */
static size_t chunk_end(const char *s, size_t len, size_t pos)
{
    size_t end = pos + CHUNK < len ? pos + CHUNK : len;

    while (end < len && end > pos && ((unsigned char)s[end] & 0xC0) == 0x80)
        end--;
    return end;
}

/* One pass: count or encode the corpus, whole or chunked; returns tokens. */
static size_t one_pass(const ctxmem_tokenizer *tok, const buf *c, int chunked, int encode)
{
    size_t total = 0, pos = 0;

    while (pos < c->len) {
        size_t end = chunked ? chunk_end(c->p, c->len, pos) : c->len, n = 0;
        uint32_t *ids = NULL;
        int rc = encode ? ctxmem_tokenizer_encode(tok, c->p + pos, end - pos, &ids, &n)
                        : ctxmem_tokenizer_count(tok, c->p + pos, end - pos, &n);

        if (rc != CTXMEM_OK) {
            fprintf(stderr, "bench: %s\n", ctxmem_error_last()->message);
            exit(1);
        }
        free(ids);
        total += n;
        pos = end;
    }
    return total;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void measure(const ctxmem_tokenizer *tok, const buf *c, int chunked, int encode, int runs)
{
    double t[64];
    size_t tokens = one_pass(tok, c, chunked, encode); /* warm-up */
    double mbs, tps;

    for (int r = 0; r < runs; r++) {
        double t0 = now();

        one_pass(tok, c, chunked, encode);
        t[r] = now() - t0;
    }
    qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
    mbs = (double)c->len / 1e6 / t[runs / 2];
    tps = (double)tokens / t[runs / 2];
    printf("%-12s %-6s %-8s %10.1f %14.0f %10zu\n", ctxmem_tokenizer_name(tok),
           encode ? "encode" : "count", chunked ? "4KB" : "buffer", mbs, tps, tokens);
    printf("RESULT {\"impl\": \"ctxmem\", \"encoding\": \"%s\", \"op\": \"%s\", \"chunking\": "
           "\"%s\", \"mb_per_s\": %.2f, \"tokens_per_s\": %.0f, \"tokens\": %zu}\n",
           ctxmem_tokenizer_name(tok), encode ? "encode" : "count", chunked ? "4KB" : "buffer", mbs,
           tps, tokens);
}

static ctxmem_tokenizer *load_timed(const char *name, const char *dir)
{
    ctxmem_tokenizer *tok = NULL;
    long rss0 = rss_kib();
    double t0 = now();

    if (ctxmem_tokenizer_load(&tok, name, dir) != CTXMEM_OK) {
        fprintf(stderr, "bench: %s\n", ctxmem_error_last()->message);
        exit(1);
    }
    printf("load %-12s %7.1f ms  RSS +%.1f MiB\n", name, (now() - t0) * 1e3,
           (double)(rss_kib() - rss0) / 1024.0);
    printf("RESULT {\"impl\": \"ctxmem\", \"encoding\": \"%s\", \"op\": \"load\", \"ms\": %.1f, "
           "\"rss_mib\": %.1f}\n",
           name, (now() - t0) * 1e3, (double)(rss_kib() - rss0) / 1024.0);
    return tok;
}

int main(int argc, char **argv)
{
    const char *corpus_path = "tokenizer_corpus.txt", *dir = NULL;
    ctxmem_tokenizer *tok[2];
    buf corpus = {NULL, 0, 0};
    int runs = 5;
    FILE *f;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--corpus"))
            corpus_path = argv[i + 1];
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]) > 0 && atoi(argv[i + 1]) <= 64 ? atoi(argv[i + 1]) : 5;
        else if (!strcmp(argv[i], "--tokenizer-dir"))
            dir = argv[i + 1];
    }
    /* Load first, so that the RSS delta is the tables' alone. */
    tok[1] = load_timed("o200k_base", dir);
    tok[0] = load_timed("cl100k_base", dir);

    gen_corpus(&corpus);
    f = fopen(corpus_path, "wb");
    if (!f || fwrite(corpus.p, 1, corpus.len, f) != corpus.len || fclose(f) != 0) {
        fprintf(stderr, "bench: cannot write %s\n", corpus_path);
        return 1;
    }
    printf("corpus %s: %zu bytes, %d runs (median after one warm-up)\n\n", corpus_path, corpus.len,
           runs);
    printf("%-12s %-6s %-8s %10s %14s %10s\n", "encoding", "op", "chunking", "MB/s", "tokens/s",
           "tokens");
    for (int e = 0; e < 2; e++)
        for (int enc = 0; enc < 2; enc++)
            for (int chunked = 1; chunked >= 0; chunked--)
                measure(tok[e], &corpus, chunked, enc, runs);
    ctxmem_tokenizer_free(tok[0]);
    ctxmem_tokenizer_free(tok[1]);
    free(corpus.p);
    return 0;
}
