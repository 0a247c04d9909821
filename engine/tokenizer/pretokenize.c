/*
 * Pre-tokenizer: split text into the pieces tiktoken's split patterns match,
 * without a regex engine.
 *
 * cl100k_base:
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * o200k_base:
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?
 *   |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?
 *   |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * Each function below returns the end of the match the regex engine finds
 * first (leftmost alternative, greedy quantifiers, backtracking), or 0 when
 * the alternative cannot match at that position (a match is never empty, so
 * 0 is never a valid end). \s is White_Space; (?i) is Unicode simple case
 * folding, under which only 's' gains a non-ASCII form (U+017F).
 */
#include "tok.h"

/* Class bit sets. */
#define BIT(c)     (1u << (c))
#define M_LETTER   (BIT(TOK_UPPER) | BIT(TOK_LOWER) | BIT(TOK_LETTER))
#define M_UPPERISH (BIT(TOK_UPPER) | BIT(TOK_LETTER) | BIT(TOK_MARK))
#define M_LOWERISH (BIT(TOK_LOWER) | BIT(TOK_LETTER) | BIT(TOK_MARK))
#define M_BOTH     (BIT(TOK_LETTER) | BIT(TOK_MARK))
#define M_PUNCT    (BIT(TOK_OTHER) | BIT(TOK_MARK))

/* Class of the character at s[i] (i < len); its length in *n. */
static inline unsigned class_at(const unsigned char *s, size_t i, size_t *n)
{
    unsigned c = s[i];
    uint32_t cp;

    if (c < 0x80) {
        *n = 1;
        return tok_uc_stage2[c]; /* block 0 is stored first */
    }
    if (c < 0xE0) {
        *n = 2;
        cp = ((uint32_t)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    } else if (c < 0xF0) {
        *n = 3;
        cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    } else {
        *n = 4;
        cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
             ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
    }
    return tok_uc_class(cp);
}

static inline int is_crlf(unsigned char c)
{
    return c == '\r' || c == '\n';
}

/* End of the run of characters from i whose class is in `mask`. */
static size_t run_end(const unsigned char *s, size_t len, size_t i, unsigned mask)
{
    size_t n;

    while (i < len && (BIT(class_at(s, i, &n)) & mask))
        i += n;
    return i;
}

/* Length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i], 0 when none. */
static size_t contraction_len(const unsigned char *s, size_t len, size_t i)
{
    unsigned c, d;

    if (i + 1 >= len || s[i] != '\'')
        return 0;
    c = s[i + 1] | 0x20u; /* ASCII letters only differ in this bit */
    if (c == 's' || c == 't' || c == 'm' || c == 'd')
        return 2;
    if (s[i + 1] == 0xC5 && i + 2 < len && s[i + 2] == 0xBF) /* U+017F folds to 's' */
        return 3;
    if (i + 2 >= len)
        return 0;
    d = s[i + 2] | 0x20u;
    if (((c == 'r' || c == 'v') && d == 'e') || (c == 'l' && d == 'l'))
        return 3;
    return 0;
}

/* \p{N}{1,3} at a number. */
static size_t digits_end(const unsigned char *s, size_t len, size_t i)
{
    size_t n;

    for (int k = 0; k < 3 && i < len && class_at(s, i, &n) == TOK_NUMBER; k++)
        i += n;
    return i;
}

/* ` ?[^\s\p{L}\p{N}]+` followed by the characters `tail` accepts. */
static size_t punct_end(const unsigned char *s, size_t len, size_t pos, int slash_too)
{
    size_t n, i = pos;

    if (s[i] == ' ')
        i++;
    if (i >= len || !(BIT(class_at(s, i, &n)) & M_PUNCT))
        return 0;
    i = run_end(s, len, i + n, M_PUNCT);
    while (i < len && (is_crlf(s[i]) || (slash_too && s[i] == '/')))
        i++;
    return i;
}

/*
 * \s*[\r\n]+ | \s+(?!\S) | \s+ at a White_Space character: up to the run's
 * last CR/LF if it has one; else the whole run at the end of the text; else
 * the run minus its last character, unless that leaves nothing.
 */
static size_t space_end(const unsigned char *s, size_t len, size_t pos)
{
    size_t n, i = pos, last = pos, newline = 0;
    int has_newline = 0;

    while (i < len && class_at(s, i, &n) == TOK_SPACE) {
        if (is_crlf(s[i]))
            newline = i, has_newline = 1;
        last = i;
        i += n;
    }
    if (has_newline)
        return newline + 1;
    if (i == len || last == pos)
        return i;
    return last;
}

/* The alternatives shared by both patterns after the letter ones. */
static size_t rest_end(const unsigned char *s, size_t len, size_t pos, unsigned cls, int slash)
{
    size_t end;

    if (cls == TOK_NUMBER)
        return digits_end(s, len, pos);
    end = punct_end(s, len, pos, slash);
    if (end)
        return end;
    return space_end(s, len, pos);
}

/* Optional prefix [^\r\n\p{L}\p{N}]: its length at pos, 0 when none. */
static size_t prefix_len(const unsigned char *s, unsigned cls, size_t n)
{
    if (is_crlf(s[0]) || (BIT(cls) & (M_LETTER | BIT(TOK_NUMBER))))
        return 0;
    return n;
}

static size_t cl100k_end(const unsigned char *s, size_t len, size_t pos)
{
    size_t n0, n1, pre, end;
    unsigned cls = class_at(s, pos, &n0);

    if (s[pos] == '\'' && (end = contraction_len(s, len, pos)) != 0)
        return pos + end;
    if (BIT(cls) & M_LETTER)
        return run_end(s, len, pos + n0, M_LETTER);
    pre = prefix_len(s + pos, cls, n0);
    if (pre && pos + pre < len && (BIT(class_at(s, pos + pre, &n1)) & M_LETTER))
        return run_end(s, len, pos + pre + n1, M_LETTER);
    return rest_end(s, len, pos, cls, 0);
}

/*
 * [Lu Lt Lm Lo M]*[Ll Lm Lo M]+ from `start`: the greedy star gives back
 * characters until the plus can match, so the plus starts at the first
 * character after the upper run when it is Ll, else at the run's last
 * Lm/Lo/M character.
 */
static size_t o200k_upper_lower(const unsigned char *s, size_t len, size_t start)
{
    size_t n, i = start, from = 0;
    int found = 0;
    unsigned cls = TOK_OTHER;

    while (i < len && (BIT(cls = class_at(s, i, &n)) & M_UPPERISH)) {
        if (BIT(cls) & M_BOTH)
            from = i, found = 1;
        i += n;
    }
    if (i < len && cls == TOK_LOWER)
        from = i, found = 1;
    if (!found)
        return 0;
    i = run_end(s, len, from, M_LOWERISH);
    return i + contraction_len(s, len, i);
}

/* [Lu Lt Lm Lo M]+[Ll Lm Lo M]* from `start`. */
static size_t o200k_upper_then_lower(const unsigned char *s, size_t len, size_t start)
{
    size_t i = run_end(s, len, start, M_UPPERISH);

    if (i == start)
        return 0;
    i = run_end(s, len, i, M_LOWERISH);
    return i + contraction_len(s, len, i);
}

static size_t o200k_end(const unsigned char *s, size_t len, size_t pos)
{
    size_t n0, end = 0;
    unsigned cls = class_at(s, pos, &n0);
    size_t pre = prefix_len(s + pos, cls, n0);

    /* Alternative 1 with its optional prefix, then without, then alternative 2 likewise. */
    if (pre && pos + pre < len)
        end = o200k_upper_lower(s, len, pos + pre);
    if (!end)
        end = o200k_upper_lower(s, len, pos);
    if (!end && pre && pos + pre < len)
        end = o200k_upper_then_lower(s, len, pos + pre);
    if (!end)
        end = o200k_upper_then_lower(s, len, pos);
    if (end)
        return end;
    return rest_end(s, len, pos, cls, 1);
}

size_t tok_piece_end(enum tok_pattern pat, const unsigned char *s, size_t len, size_t pos)
{
    if (pat == TOK_PAT_O200K)
        return o200k_end(s, len, pos);
    return cl100k_end(s, len, pos);
}
