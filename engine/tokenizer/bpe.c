/*
 * Byte-pair merging, as tiktoken does it: a piece that is itself a token is
 * one id; otherwise start from single bytes and repeatedly merge the adjacent
 * pair whose concatenation has the lowest rank (the leftmost on ties) until
 * no adjacent concatenation is a token.
 *
 * Pieces up to LINEAR_MAX bytes merge in arrays on the stack with a linear
 * scan for the lowest rank (no allocation on the hot path); longer pieces use
 * a heap and a linked list, O(n log n), in one temporary allocation.
 */
#include "tok.h"

#include <stdlib.h>
#include <string.h>

#define LINEAR_MAX 256

/* Rank of the bytes s[a..b), TOK_NO_RANK when they are not a token. */
static inline uint32_t span_rank(const tok_ranks *r, const unsigned char *s, uint32_t a, uint32_t b)
{
    if (b - a > r->max_len)
        return TOK_NO_RANK;
    return tok_ranks_find(r, s + a, b - a);
}

/* Merge s[0..n) with a linear scan; token bounds go to pos[0..m]; returns m. */
static size_t merge_linear(const tok_ranks *r, const unsigned char *s, size_t n, uint32_t *pos)
{
    uint32_t rank[LINEAR_MAX];
    size_t m = n;

    for (size_t i = 0; i <= n; i++)
        pos[i] = (uint32_t)i;
    for (size_t i = 0; i + 1 < m; i++)
        rank[i] = span_rank(r, s, pos[i], pos[i + 2]);
    while (m > 1) {
        uint32_t best = TOK_NO_RANK;
        size_t at = 0;

        for (size_t i = 0; i + 1 < m; i++)
            if (rank[i] < best)
                best = rank[i], at = i;
        if (best == TOK_NO_RANK)
            break;

        /* Drop the bound between part `at` and the next; the pairs after it shift left. */
        memmove(&pos[at + 1], &pos[at + 2], (m - at - 1) * sizeof(*pos));
        if (m >= at + 3)
            memmove(&rank[at + 1], &rank[at + 2], (m - at - 3) * sizeof(*rank));
        m--;
        rank[at] = at + 1 < m ? span_rank(r, s, pos[at], pos[at + 2]) : TOK_NO_RANK;
        if (at > 0)
            rank[at - 1] = span_rank(r, s, pos[at - 1], pos[at + 1]);
    }
    return m;
}

/* Workspace of merge_heap: parts are named by their first byte. */
typedef struct heap_work {
    uint32_t n;
    uint32_t *next, *prev, *cur; /* next part (n at the end, DEAD once merged away) */
    uint64_t *heap;              /* rank << 32 | part, a min-heap */
    size_t heap_n;
} heap_work;

#define DEAD UINT32_MAX

static void heap_push(heap_work *w, uint32_t rank, uint32_t part)
{
    uint64_t v = (uint64_t)rank << 32 | part;
    size_t i = w->heap_n++;

    while (i > 0 && w->heap[(i - 1) / 2] > v) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = v;
}

static uint64_t heap_pop(heap_work *w)
{
    uint64_t top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= w->heap_n)
            break;
        if (c + 1 < w->heap_n && w->heap[c + 1] < w->heap[c])
            c++;
        if (w->heap[c] >= last)
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->heap_n > 0)
        w->heap[i] = last;
    return top;
}

/* Rank of part `i` joined with its successor; pushes it when it is a token. */
static void heap_update(heap_work *w, const tok_ranks *r, const unsigned char *s, uint32_t i)
{
    uint32_t j = w->next[i];

    w->cur[i] = j < w->n ? span_rank(r, s, i, w->next[j]) : TOK_NO_RANK;
    if (w->cur[i] != TOK_NO_RANK)
        heap_push(w, w->cur[i], i);
}

static void heap_merge_at(heap_work *w, const tok_ranks *r, const unsigned char *s, uint32_t i)
{
    uint32_t j = w->next[i], k = w->next[j];

    w->next[i] = k;
    w->next[j] = DEAD;
    if (k < w->n)
        w->prev[k] = i;
    heap_update(w, r, s, i);
    if (i > 0)
        heap_update(w, r, s, w->prev[i]);
}

/* Merge s[0..n) with a heap; bounds to pos[0..m]; returns m, 0 when out of memory. */
static size_t merge_heap(const tok_ranks *r, const unsigned char *s, size_t n, uint32_t *pos)
{
    heap_work w = {(uint32_t)n, NULL, NULL, NULL, NULL, 0};
    uint32_t *block = malloc(n * 3 * sizeof(uint32_t) + 3 * n * sizeof(uint64_t));
    size_t m = 0;

    if (!block)
        return 0;
    w.heap = (uint64_t *)block; /* first, so that it is 8-byte aligned */
    w.next = block + 6 * n;
    w.prev = w.next + n;
    w.cur = w.prev + n;
    for (uint32_t i = 0; i < n; i++)
        w.next[i] = i + 1, w.prev[i] = i - 1;
    for (uint32_t i = 0; i + 1 < n; i++)
        heap_update(&w, r, s, i);

    while (w.heap_n > 0) {
        uint64_t top = heap_pop(&w);
        uint32_t i = (uint32_t)top, rank = (uint32_t)(top >> 32);

        /* Entries go stale when a neighbour merges; the part's current rank decides. */
        if (w.next[i] != DEAD && w.cur[i] == rank)
            heap_merge_at(&w, r, s, i);
    }
    for (uint32_t i = 0; i < n; i = w.next[i])
        pos[m++] = i;
    pos[m] = (uint32_t)n;
    free(block);
    return m;
}

static int sink_push(tok_sink *sink, uint32_t id)
{
    if (sink->n == sink->cap) {
        size_t cap = sink->cap ? sink->cap * 2 : 256;
        uint32_t *ids = realloc(sink->ids, cap * sizeof(*ids));

        if (!ids) {
            sink->failed = 1;
            return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory for %zu ids", cap);
        }
        sink->ids = ids;
        sink->cap = cap;
    }
    sink->ids[sink->n++] = id;
    return CTXMEM_OK;
}

/* Add the tokens of one piece to *count and, when sink is set, their ids to sink. */
static int piece_tokens(const tok_ranks *r, const unsigned char *s, size_t n, tok_sink *sink,
                        size_t *count)
{
    uint32_t stack[LINEAR_MAX + 1], *pos = stack;
    uint32_t whole = n <= r->max_len ? tok_ranks_find(r, s, n) : TOK_NO_RANK;
    size_t m;
    int rc = CTXMEM_OK;

    if (whole != TOK_NO_RANK) {
        *count += 1;
        return sink ? sink_push(sink, whole) : CTXMEM_OK;
    }
    if (n <= LINEAR_MAX) {
        m = merge_linear(r, s, n, pos);
    } else {
        pos = malloc((n + 1) * sizeof(*pos));
        m = pos ? merge_heap(r, s, n, pos) : 0;
        if (m == 0) {
            free(pos);
            return err_set(CTXMEM_ENOMEM, "tokenizer: out of memory merging %zu bytes", n);
        }
    }
    *count += m;
    for (size_t i = 0; sink && i < m && rc == CTXMEM_OK; i++)
        rc = sink_push(sink, tok_ranks_find(r, s + pos[i], pos[i + 1] - pos[i]));
    if (pos != stack)
        free(pos);
    return rc;
}

static int bpe_run(const tok_ranks *r, enum tok_pattern pat, const unsigned char *s, size_t len,
                   tok_sink *sink, size_t *count)
{
    size_t pos = 0;

    *count = 0;
    while (pos < len) {
        size_t end = tok_piece_end(pat, s, len, pos);
        int rc = piece_tokens(r, s + pos, end - pos, sink, count);

        if (rc != CTXMEM_OK)
            return rc;
        pos = end;
    }
    return CTXMEM_OK;
}

int tok_bpe_count(const tok_ranks *r, enum tok_pattern pat, const unsigned char *s, size_t len,
                  size_t *n_tokens)
{
    return bpe_run(r, pat, s, len, NULL, n_tokens);
}

int tok_bpe_encode(const tok_ranks *r, enum tok_pattern pat, const unsigned char *s, size_t len,
                   tok_sink *sink)
{
    size_t count;

    return bpe_run(r, pat, s, len, sink, &count);
}
