/*
 * Text analysis shared by the lexical index and the built-in embedder.
 *
 * Words are maximal runs of letters and digits (any code point above U+007F
 * that is not punctuation, a symbol or an emoji counts as a letter); an
 * apostrophe between two letters stays inside the word, so "Caroline's" and
 * "don't" are one word each. Words are folded to lowercase (ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic), checked against an English stop list
 * (only when the language is English) and stemmed with Snowball.
 */
#include "index_internal.h"
#include "internal.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define WORD_MAX 64

/* Function words and chat fillers that carry no topic. Sorted for bsearch. */
static const char *const stop_words[] = {
    "a",       "about",    "above",  "after",   "again",    "against", "all",      "also",
    "am",      "an",       "and",    "any",     "are",      "aren't",  "as",       "at",
    "be",      "because",  "been",   "before",  "being",    "below",   "between",  "both",
    "but",     "by",       "can",    "can't",   "could",    "did",     "didn't",   "do",
    "does",    "doesn't",  "doing",  "don't",   "down",     "during",  "each",     "few",
    "for",     "from",     "further", "had",    "has",      "have",    "having",   "he",
    "he's",    "her",      "here",   "hers",    "herself",  "hey",     "him",      "himself",
    "his",     "how",      "i",      "i'd",     "i'll",     "i'm",     "i've",     "if",
    "in",      "into",     "is",     "isn't",   "it",       "it's",    "its",      "itself",
    "just",    "let's",    "me",     "more",    "most",     "my",      "myself",   "no",
    "nor",     "not",      "now",    "of",      "off",      "oh",      "on",       "once",
    "only",    "or",       "other",  "our",     "ours",     "ourselves", "out",    "over",
    "own",     "same",     "she",    "she's",   "should",   "so",      "some",     "such",
    "than",    "that",     "that's", "the",     "their",    "theirs",  "them",     "themselves",
    "then",    "there",    "there's", "these",  "they",     "they're", "this",     "those",
    "through", "to",       "too",    "under",   "until",    "up",      "very",     "was",
    "wasn't",  "we",       "we're",  "were",    "what",     "what's",  "when",     "where",
    "which",   "while",    "who",    "whom",    "why",      "will",    "with",     "won't",
    "would",   "wow",      "yeah",   "you",     "you'll",   "you're",  "you've",   "your",
    "yours",   "yourself", "yourselves"};

static int cmp_word(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static int is_stop(const char *w, size_t n)
{
    char buf[WORD_MAX + 1];

    if (n > WORD_MAX)
        return 0;
    memcpy(buf, w, n);
    buf[n] = '\0';
    return bsearch(buf, stop_words, ARRAY_LEN(stop_words), sizeof(stop_words[0]), cmp_word) !=
           NULL;
}

int lex_stemmer_new(struct sb_stemmer **out, const char *language)
{
    *out = sb_stemmer_new(language, "UTF_8");
    if (!*out)
        return err_set(CTXMEM_EINVAL, "index: no Snowball stemmer for language '%s'", language);
    return CTXMEM_OK;
}

void lex_stemmer_free(struct sb_stemmer *st)
{
    if (st)
        sb_stemmer_delete(st);
}

static int is_word_cp(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c < 0xC0 || c == 0xD7 || c == 0xF7)
        return 0;
    if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
        (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0x1F000 && c <= 0x1FAFF))
        return 0;
    return 1;
}

static uint32_t fold_cp(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 32;
    if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149)
        return (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E) ? c + (c & 1) : c | 1;
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
        return c + 32;
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    return c;
}

static int buf_reserve(lex_tokens *t, size_t more)
{
    char *nb;
    size_t cap;

    if (t->used + more <= t->bcap)
        return CTXMEM_OK;
    cap = t->bcap ? t->bcap : 256;
    while (cap < t->used + more)
        cap *= 2;
    nb = realloc(t->buf, cap);
    if (!nb)
        return err_set(CTXMEM_ENOMEM, "index: out of memory analysing text");
    t->buf = nb, t->bcap = cap;
    return CTXMEM_OK;
}

static int tok_push(lex_tokens *t, lex_token tk)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        lex_token *nt = realloc(t->tok, cap * sizeof(*nt));
        if (!nt)
            return err_set(CTXMEM_ENOMEM, "index: out of memory analysing text");
        t->tok = nt, t->cap = cap;
    }
    t->tok[t->n++] = tk;
    return CTXMEM_OK;
}

/* Append the stem of the word just written at word_off to the buffer. */
static int add_word(lex_tokens *t, struct sb_stemmer *st, int english_stops, uint32_t word_off)
{
    lex_token tk = {word_off, (uint32_t)(t->used - word_off), 0, 0, 0};
    const sb_symbol *stem;
    int n;

    tk.stop = english_stops && is_stop(t->buf + word_off, tk.word_len);
    stem = sb_stemmer_stem(st, (const sb_symbol *)t->buf + word_off, (int)tk.word_len);
    if (!stem)
        return err_set(CTXMEM_ENOMEM, "index: out of memory stemming");
    n = sb_stemmer_length(st);
    if (buf_reserve(t, (size_t)n) != CTXMEM_OK)
        return CTXMEM_ENOMEM;
    tk.stem_off = (uint32_t)t->used;
    tk.stem_len = (uint32_t)n;
    memcpy(t->buf + t->used, stem, (size_t)n);
    t->used += (size_t)n;
    return tok_push(t, tk);
}

/* An apostrophe (ASCII or U+2019) with a word character on both sides. */
static int inner_apostrophe(const unsigned char *s, size_t len, size_t i, size_t *skip)
{
    size_t n = 1, m;

    if (s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 && s[i + 2] == 0x99)
        n = 3;
    else if (s[i] != '\'')
        return 0;
    if (i + n >= len || !is_word_cp(utf8_decode(s + i + n, len - i - n, &m)))
        return 0;
    *skip = n;
    return 1;
}

int lex_tokenize(struct sb_stemmer *st, int english_stops, const char *text, size_t len,
                 lex_tokens *out)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, n, skip;
    int in_word = 0, rc = CTXMEM_OK;
    uint32_t word_off = 0, cp;

    out->n = 0, out->used = 0;
    while (rc == CTXMEM_OK && i <= len) {
        cp = i < len ? utf8_decode(s + i, len - i, &n) : 0;
        if (i < len && is_word_cp(cp)) {
            if (!in_word)
                word_off = (uint32_t)out->used, in_word = 1;
            if ((rc = buf_reserve(out, 4)) == CTXMEM_OK && out->used - word_off < WORD_MAX * 4)
                out->used += utf8_encode(fold_cp(cp), out->buf + out->used);
            i += n;
            continue;
        }
        if (in_word && i < len && inner_apostrophe(s, len, i, &skip)) {
            if ((rc = buf_reserve(out, 1)) == CTXMEM_OK)
                out->buf[out->used++] = '\'';
            i += skip;
            continue;
        }
        if (in_word)
            rc = add_word(out, st, english_stops, word_off);
        in_word = 0;
        i += i < len ? n : 1;
    }
    return rc;
}

void lex_tokens_free(lex_tokens *t)
{
    free(t->tok);
    free(t->buf);
    memset(t, 0, sizeof(*t));
}

uint64_t lex_term_hash(const char *stem, size_t len)
{
    return XXH3_64bits(stem, len);
}

static int cmp_term(const void *a, const void *b)
{
    uint64_t x = ((const lex_term *)a)->hash, y = ((const lex_term *)b)->hash;

    return x < y ? -1 : x > y;
}

int lex_doc_build(const lex_tokens *t, lex_doc *out)
{
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    out->terms = malloc((t->n ? t->n : 1) * sizeof(*out->terms));
    if (!out->terms)
        return err_set(CTXMEM_ENOMEM, "index: out of memory indexing text");
    for (size_t i = 0; i < t->n; i++) {
        if (t->tok[i].stop)
            continue;
        out->terms[n].hash = lex_term_hash(t->buf + t->tok[i].stem_off, t->tok[i].stem_len);
        out->terms[n++].tf = 1;
    }
    out->len = (uint32_t)n;
    qsort(out->terms, n, sizeof(*out->terms), cmp_term);

    /* Merge equal terms into one with its frequency. */
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (out->n && out->terms[out->n - 1].hash == out->terms[i].hash)
            out->terms[out->n - 1].tf++;
        else
            out->terms[out->n++] = out->terms[i];
    }
    return CTXMEM_OK;
}

void lex_doc_free(lex_doc *d)
{
    free(d->terms);
    memset(d, 0, sizeof(*d));
}

int lex_analyze(struct sb_stemmer *st, int english_stops, const char *text, size_t len,
                lex_doc *out)
{
    lex_tokens t = {0};
    int rc = lex_tokenize(st, english_stops, text, len, &t);

    if (rc == CTXMEM_OK)
        rc = lex_doc_build(&t, out);
    lex_tokens_free(&t);
    return rc;
}
