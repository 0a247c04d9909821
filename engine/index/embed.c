/*
 * Embeddings: the built-in hashed embedder, the store's embedder call and the
 * checks on caller-supplied vectors.
 *
 * The built-in embedder ("ctxmem-hash-v1", 128 dimensions) needs no model. It
 * analyses text like the lexical index (English folding, stop words,
 * Snowball English stems) and hashes three kinds of feature into the vector
 * with a random sign per feature (the "hashing trick", which keeps collisions
 * unbiased):
 *  - each stem, weight 1.0;
 *  - each pair of adjacent stems, weight 0.5 (phrases: "support group");
 *  - each character 3-gram and 4-gram of each word with boundary marks
 *    ("<pai", "pain", ...), weight 0.25, which matches word forms the stemmer
 *    keeps apart ("painting"/"painter") and misspellings.
 * The vector is L2-normalised, so inner product is cosine similarity.
 * Changing any of this changes the embedder's name.
 */
#include "index_internal.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define W_STEM 1.0f
#define W_PAIR 0.5f
#define W_GRAM 0.25f
#define SEED_STEM 0x5354454dULL
#define SEED_PAIR 0x50414952ULL
#define SEED_GRAM 0x4752414dULL

static void add_feature(float *v, size_t dim, const void *p, size_t n, uint64_t seed, float w)
{
    uint64_t h = XXH3_64bits_withSeed(p, n, seed);

    v[h % dim] += (h >> 63) ? -w : w;
}

/* Character n-grams of "<word>" (bytes; words are mostly ASCII). */
static void add_grams(float *v, size_t dim, const char *word, size_t len)
{
    char buf[66 + 2];
    size_t n = len > 64 ? 64 : len;

    buf[0] = '<';
    memcpy(buf + 1, word, n);
    buf[n + 1] = '>';
    for (size_t g = 3; g <= 4; g++)
        for (size_t i = 0; i + g <= n + 2; i++)
            add_feature(v, dim, buf + i, g, SEED_GRAM + g, W_GRAM);
}

static void embed_tokens(const lex_tokens *t, float *v, size_t dim)
{
    const lex_token *prev = NULL;
    char pair[2 * 64 * 4 + 1];

    memset(v, 0, dim * sizeof(*v));
    for (size_t i = 0; i < t->n; i++) {
        const lex_token *tk = &t->tok[i];
        if (tk->stop)
            continue;
        add_feature(v, dim, t->buf + tk->stem_off, tk->stem_len, SEED_STEM, W_STEM);
        add_grams(v, dim, t->buf + tk->word_off, tk->word_len);
        if (prev && prev->stem_len + tk->stem_len + 1 <= sizeof(pair)) {
            memcpy(pair, t->buf + prev->stem_off, prev->stem_len);
            pair[prev->stem_len] = ' ';
            memcpy(pair + prev->stem_len + 1, t->buf + tk->stem_off, tk->stem_len);
            add_feature(v, dim, pair, prev->stem_len + 1 + tk->stem_len, SEED_PAIR, W_PAIR);
        }
        prev = tk;
    }
    embed_normalize(v, dim);
}

int embed_builtin(void *user, const char *const *texts, const size_t *lens, size_t n, float *out)
{
    struct sb_stemmer *st = NULL;
    lex_tokens t = {0};
    int rc = 0;

    (void)user;
    if (lex_stemmer_new(&st, "english") != CTXMEM_OK)
        return -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = lex_tokenize(st, 1, texts[i], lens[i], &t) == CTXMEM_OK ? 0 : -1;
        if (rc == 0)
            embed_tokens(&t, out + i * EMBED_DEFAULT_DIM, EMBED_DEFAULT_DIM);
    }
    lex_tokens_free(&t);
    lex_stemmer_free(st);
    return rc;
}

const ctxmem_embedder *embed_default(void)
{
    static const ctxmem_embedder builtin = {CTXMEM_EMBEDDER_VERSION, EMBED_DEFAULT_NAME,
                                            EMBED_DEFAULT_DIM, embed_builtin, NULL};
    return &builtin;
}

void embed_normalize(float *v, size_t dim)
{
    double sum = 0;

    for (size_t i = 0; i < dim; i++)
        sum += (double)v[i] * v[i];
    if (sum <= 0)
        return;
    sum = 1.0 / sqrt(sum);
    for (size_t i = 0; i < dim; i++)
        v[i] = (float)(v[i] * sum);
}

int embed_check_copy(const float *v, size_t dim, size_t want, float *out, const char *what)
{
    if (dim != want)
        return err_set(CTXMEM_EINVAL, "index: %s has %zu dimensions, the store's embedder has %zu",
                       what, dim, want);
    for (size_t i = 0; i < dim; i++)
        if (!isfinite(v[i]))
            return err_set(CTXMEM_EINVAL, "index: %s has a non-finite value at [%zu]", what, i);
    memcpy(out, v, dim * sizeof(*out));
    embed_normalize(out, dim);
    return CTXMEM_OK;
}

int embed_texts(ctxmem_store *s, const char *const *texts, const size_t *lens, size_t n,
                float *out)
{
    const ctxmem_embedder *e = s->index->emb;
    size_t dim = s->index->dim;

    if (!e)
        return err_set(CTXMEM_EMISMATCH, "index: the store embeds with '%s', which was not "
                       "given in ctxmem_options.embedder", s->index->emb_name);
    if (e->embed(e->user, texts, lens, n, out) != 0)
        return err_set(CTXMEM_ECALLBACK, "index: embedder '%s' failed on %zu texts", e->name, n);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(out[i * dim + j]))
                return err_set(CTXMEM_ECALLBACK, "index: embedder '%s' returned a non-finite "
                               "value (text %zu, [%zu])", e->name, i, j);
        embed_normalize(out + i * dim, dim);
    }
    return CTXMEM_OK;
}
