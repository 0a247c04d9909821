/*
 * textgen.h - fixed-seed English-like text for the store and scale benchmarks.
 *
 * Words are drawn from a Zipf distribution (s = 1) over a 4,000-word
 * vocabulary whose head is 120 real English function words ("the", "of",
 * "and", ...) followed by synthetic content words built from syllables, so
 * that stop words and a long tail of rare terms occur at realistic rates.
 * Sentences start with a capital and end with a full stop.
 */
#ifndef CTXMEM_BENCH_TEXTGEN_H
#define CTXMEM_BENCH_TEXTGEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct textgen {
    uint64_t state;
} textgen;

/* Build the shared vocabulary (idempotent) and seed the generator. */
void textgen_init(textgen *g, uint64_t seed);

/* A uniform double in [0, 1). */
double textgen_uniform(textgen *g);

/* Write `words` words as sentences into buf (NUL-terminated); returns bytes. */
size_t textgen_text(textgen *g, char *buf, size_t cap, int words);

/* The seed of the scale benchmarks' queries, shared so that they all ask the same. */
#define TEXTGEN_QUERY_SEED 1234

/* One query: 6-11 words, as textgen_text writes them; returns bytes. */
size_t textgen_query(textgen *g, char *buf, size_t cap);

/* Milliseconds since an arbitrary epoch; monotonic. */
double bench_now_ms(void);

/* Peak resident set of this process (VmHWM), KiB; 0 when unknown. */
long bench_peak_rss_kib(void);

/* A field of /proc/self/status such as "RssAnon" or "RssFile", KiB. */
long bench_status_kib(const char *field);

/* Sort `n` doubles and return the q-quantile (0 <= q <= 1, nearest rank). */
double bench_quantile(double *v, size_t n, double q);

#endif
