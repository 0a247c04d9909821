/*
 * Summaries for the warm tier: the built-in extractive, constraint-preserving
 * summarizer, and the plumbing that runs an application summarizer within
 * its own input window.
 */
#include "tiers.h"
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A sentence of the input: [start, start + len), with its score and tokens. */
typedef struct unit {
    size_t start;
    size_t len;
    double score;
    size_t tokens;
    size_t order;
    int chosen;
} unit;

/* Words that state a requirement, decision or preference: kept before anything else. */
static const char *const strong_words[] = {
    "must",        "mustn't",    "never",     "always",   "required", "requires", "require",
    "requirement", "need",       "needs",     "deadline", "due",      "don't",    "dont",
    "do not",      "should",     "shouldn't", "ensure",   "sure",     "prefer",   "prefers",
    "allergic",    "important",  "remember",  "decided",  "decision", "agreed",   "match",
    "only",        "constraint", "cannot",    "can't",    "promise",  "rule",     "budget",
};

static const char *const month_words[] = {
    "january",   "february",  "march",   "april",    "may",      "june",     "july",
    "august",    "september", "october", "november", "december", "monday",   "tuesday",
    "wednesday", "thursday",  "friday",  "saturday", "sunday",   "tomorrow", "yesterday",
};

static int word_in(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && strncmp(list[i], w, n) == 0)
            return 1;
    return 0;
}

/* Score a sentence by the facts it carries; >= 4 marks a constraint. */
static double score_sentence(const char *s, size_t len)
{
    char word[32];
    double score = 0;
    size_t i = 0;

    while (i < len) {
        size_t n = 0, start = i;
        while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '\'') && n < sizeof(word) - 1)
            word[n++] = (char)tolower((unsigned char)s[i++]);
        if (n == 0) {
            if (strchr("$%", s[i]) || (unsigned char)s[i] == 0xE2) /* currency, euro sign */
                score += 1;
            i++;
            continue;
        }
        word[n] = '\0';
        if (word_in(word, n, strong_words, ARRAY_LEN(strong_words)))
            score += 4;
        else if (word_in(word, n, month_words, ARRAY_LEN(month_words)))
            score += 1;
        else if (isdigit((unsigned char)word[0]))
            score += 1;
        else if (start > 0 && isupper((unsigned char)s[start]))
            score += 0.5; /* a name, mid-sentence */
        while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '\''))
            i++;
    }
    return score;
}

/* Split into sentences: after . ! ? followed by a space, and at line ends. */
static int split_units(const char *text, size_t len, unit **units, size_t *n)
{
    size_t cap = 16, start = 0;

    *n = 0;
    *units = malloc(cap * sizeof(**units));
    if (!*units)
        return err_set(CTXMEM_ENOMEM, "summarize: out of memory");
    for (size_t i = 0; i <= len; i++) {
        int end = i == len || text[i] == '\n' ||
                  (strchr(".!?", text[i]) && i + 1 < len && text[i + 1] == ' ');
        if (!end)
            continue;
        size_t stop = i < len && text[i] != '\n' ? i + 1 : i;
        while (start < stop && (text[start] == ' ' || text[start] == '\n'))
            start++;
        if (stop > start) {
            if (*n == cap) {
                unit *u = realloc(*units, (cap *= 2) * sizeof(*u));
                if (!u)
                    return err_set(CTXMEM_ENOMEM, "summarize: out of memory");
                *units = u;
            }
            (*units)[*n] = (unit){start, stop - start, 0, 0, *n, 0};
            (*n)++;
        }
        start = stop;
    }
    return CTXMEM_OK;
}

static int by_priority(const void *a, const void *b)
{
    const unit *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->order < y->order ? -1 : 1;
}

static int by_order(const void *a, const void *b)
{
    const unit *x = a, *y = b;

    return x->order < y->order ? -1 : x->order > y->order;
}

/* Join the chosen units in original order, one per line. */
static char *join_chosen(const char *text, const unit *u, size_t n, size_t *out_len)
{
    size_t total = 1;
    char *out, *p;

    for (size_t i = 0; i < n; i++)
        total += u[i].chosen ? u[i].len + 1 : 0;
    out = p = malloc(total);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!u[i].chosen)
            continue;
        if (p != out)
            *p++ = '\n';
        memcpy(p, text + u[i].start, u[i].len);
        p += u[i].len;
    }
    *p = '\0';
    *out_len = (size_t)(p - out);
    return out;
}

/* Choose units by priority while their tokens (plus a separator each) fit. */
static int choose_units(const ctxmem_tokenizer *tok, const char *text, unit *u, size_t n,
                        size_t max_tokens)
{
    size_t used = 0;

    for (size_t i = 0; i < n; i++) {
        u[i].score = score_sentence(text + u[i].start, u[i].len);
        if (ctxmem_tokenizer_count(tok, text + u[i].start, u[i].len, &u[i].tokens) != CTXMEM_OK)
            return ctxmem_error_last()->code;
    }
    qsort(u, n, sizeof(*u), by_priority);
    for (size_t i = 0; i < n; i++) {
        if (used + u[i].tokens + 1 <= max_tokens) {
            u[i].chosen = 1;
            used += u[i].tokens + 1;
        }
    }
    qsort(u, n, sizeof(*u), by_order);
    return CTXMEM_OK;
}

/* Drop the lowest-priority chosen unit; 0 when none is left. */
static int drop_weakest(unit *u, size_t n)
{
    size_t worst = n;

    for (size_t i = 0; i < n; i++)
        if (u[i].chosen && (worst == n || u[i].score <= u[worst].score))
            worst = i;
    if (worst == n)
        return 0;
    u[worst].chosen = 0;
    return 1;
}

/* Nothing fits whole: keep the best sentence's beginning, cut at a token boundary. */
static int cut_best(const ctxmem_tokenizer *tok, const char *text, const unit *u, size_t n,
                    size_t max_tokens, char **out, size_t *out_len)
{
    size_t best = 0, cut = 0;

    for (size_t i = 1; i < n; i++)
        if (u[i].score > u[best].score)
            best = i;
    if (n && ctxmem_tokenizer_truncate(tok, text + u[best].start, u[best].len, max_tokens, &cut) !=
                 CTXMEM_OK)
        return ctxmem_error_last()->code;
    *out = malloc(cut + 1);
    if (!*out)
        return err_set(CTXMEM_ENOMEM, "summarize: out of memory");
    if (cut)
        memcpy(*out, text + u[best].start, cut);
    (*out)[cut] = '\0';
    *out_len = cut;
    return CTXMEM_OK;
}

int ctxmem_summarize_extractive(char **out, size_t *out_len, const ctxmem_tokenizer *tok,
                                const char *text, size_t len, size_t max_tokens)
{
    unit *u = NULL;
    size_t n = 0, count = 0;
    int rc;

    if (!out || !out_len || !tok || (!text && len))
        return err_set(CTXMEM_EINVAL, "summarize: NULL argument");
    *out = NULL, *out_len = 0;
    rc = ctxmem_utf8_check(text, len);
    if (rc == CTXMEM_OK)
        rc = split_units(text, len, &u, &n);
    if (rc == CTXMEM_OK)
        rc = choose_units(tok, text, u, n, max_tokens);
    /* Token counts of joined text can differ from the sum: check the result itself. */
    while (rc == CTXMEM_OK) {
        free(*out);
        *out = join_chosen(text, u, n, out_len);
        if (!*out) {
            rc = err_set(CTXMEM_ENOMEM, "summarize: out of memory");
            break;
        }
        rc = ctxmem_tokenizer_count(tok, *out, *out_len, &count);
        if (rc != CTXMEM_OK || count <= max_tokens)
            break;
        if (!drop_weakest(u, n))
            break;
    }
    if (rc == CTXMEM_OK && *out_len == 0 && n > 0 && max_tokens > 0) {
        free(*out);
        rc = cut_best(tok, text, u, n, max_tokens, out, out_len);
    }
    free(u);
    if (rc != CTXMEM_OK) {
        free(*out);
        *out = NULL, *out_len = 0;
    }
    return rc;
}

int ctxmem_store_set_summarizer(ctxmem_store *store, const ctxmem_summarizer *summ)
{
    if (!store)
        return err_set(CTXMEM_EINVAL, "summarizer: NULL store");
    if (!summ) {
        memset(&store->summarizer, 0, sizeof(store->summarizer));
        return CTXMEM_OK;
    }
    if (summ->version != CTXMEM_SUMMARIZER_VERSION || !summ->summarize)
        return err_set(CTXMEM_EINVAL, "summarizer: version %u (want %u) or no callback",
                       summ->version, CTXMEM_SUMMARIZER_VERSION);
    store->summarizer = *summ;
    return CTXMEM_OK;
}

const char *tier_summarizer_name(const ctxmem_store *s)
{
    if (!s->summarizer.version)
        return "extractive";
    return s->summarizer.name ? s->summarizer.name : "custom";
}

/* One call of the application's summarizer; its output is checked and cut to fit. */
static int call_summarizer(ctxmem_store *s, const char *text, size_t len, size_t max_tokens,
                           char **out, size_t *out_len)
{
    size_t cap = max_tokens * 16 + 256, n = 0, cut = 0;
    char *buf = malloc(cap + 1);
    int rc = CTXMEM_OK;

    if (!buf)
        return err_set(CTXMEM_ENOMEM, "summarize: out of memory");
    if (s->summarizer.summarize(s->summarizer.user, text, len, max_tokens, buf, cap, &n) != 0)
        rc =
            err_set(CTXMEM_ECALLBACK, "summarize: summarizer '%s' failed", tier_summarizer_name(s));
    else if (n > cap)
        rc = err_set(CTXMEM_ECALLBACK, "summarize: '%s' wrote %zu bytes into %zu",
                     tier_summarizer_name(s), n, cap);
    else if (ctxmem_utf8_check(buf, n) != CTXMEM_OK)
        rc = err_wrap(CTXMEM_ECALLBACK, "summarize: '%s' returned bad text",
                      tier_summarizer_name(s));
    if (rc == CTXMEM_OK)
        rc = ctxmem_tokenizer_truncate(s->tok, buf, n, max_tokens, &cut);
    if (rc != CTXMEM_OK) {
        free(buf);
        return rc;
    }
    buf[cut] = '\0';
    *out = buf, *out_len = cut;
    return CTXMEM_OK;
}

/* Length of the longest prefix of whole lines within `max_tokens` (at least one line). */
static size_t fit_lines(const ctxmem_tokenizer *tok, const char *text, size_t len, size_t max)
{
    size_t best = 0, pos = 0, n = 0;

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) + 1 : len;
        if (ctxmem_tokenizer_count(tok, text, end, &n) != CTXMEM_OK || (n > max && best))
            break;
        best = end;
        pos = end;
    }
    return best ? best : len;
}

int tier_summarize(ctxmem_store *s, const char *text, size_t len, size_t max_tokens, char **out,
                   size_t *out_len)
{
    size_t limit = s->summarizer.max_input_tokens, n = 0, pos = 0, part_len;
    char *joined = NULL, *part = NULL;
    size_t joined_len = 0;
    int rc = CTXMEM_OK;

    if (!s->summarizer.version)
        return ctxmem_summarize_extractive(out, out_len, s->tok, text, len, max_tokens);
    if (!limit || (ctxmem_tokenizer_count(s->tok, text, len, &n) == CTXMEM_OK && n <= limit))
        return call_summarizer(s, text, len, max_tokens, out, out_len);

    /* Too long for the summarizer's window: summarize line-aligned chunks, then the whole. */
    while (rc == CTXMEM_OK && pos < len) {
        size_t chunk = fit_lines(s->tok, text + pos, len - pos, limit);
        rc = call_summarizer(s, text + pos, chunk, max_tokens, &part, &part_len);
        if (rc == CTXMEM_OK) {
            char *j = realloc(joined, joined_len + part_len + 2);
            if (!j)
                rc = err_set(CTXMEM_ENOMEM, "summarize: out of memory");
            else {
                joined = j;
                memcpy(joined + joined_len, part, part_len);
                joined_len += part_len;
                joined[joined_len++] = '\n';
            }
            free(part);
        }
        pos += chunk;
    }
    if (rc == CTXMEM_OK)
        rc = len > joined_len ? tier_summarize(s, joined, joined_len, max_tokens, out, out_len)
                              : call_summarizer(s, joined, joined_len, max_tokens, out, out_len);
    free(joined);
    return rc;
}
