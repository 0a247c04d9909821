/*
 * Crash safety: a writer process ingests a conversation and is killed with
 * SIGKILL at random moments. After every kill the store must open without a
 * repair step and hold exactly the batches whose add returned (plus, at most,
 * the one batch in flight, whole or not at all), each segment readable and
 * searchable; the FAISS cache must agree with a rebuild from LMDB, and
 * windows assembled afterwards must keep their invariants.
 *
 * CTXMEM_CRASH_KILLS sets the number of kills (default 200); the longer
 * documented run (tests/RESULTS.md) uses 1000.
 */
#include "testutil.h"
#include "rel.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILLS_PER_STORE 100

/* Under AddressSanitizer the writer starts and writes several times slower: stretch the
 * kill delays so that kills still land while it writes, not before. */
#if defined(__SANITIZE_ADDRESS__)
#define SLOWDOWN 3
#else
#define SLOWDOWN 1
#endif
#define QUERIES 3

struct crash {
    char *dir;
    uint64_t seed;
    uint64_t turns;    /* turns known committed: 0..turns-1 */
    uint64_t *ids;     /* ids[t] of committed turn t */
    size_t cap;
    uint64_t pending_first, pending_n; /* the batch in flight when killed */
    unsigned kills, batches, inflight_committed, inflight_lost;
};

static void remember(struct crash *c, uint64_t turn, uint64_t id)
{
    if (turn >= c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4096;
        c->ids = realloc(c->ids, c->cap * sizeof(*c->ids));
        assert_non_null(c->ids);
    }
    c->ids[turn] = id;
}

/* Apply the writer's "begin" and "ok" lines. */
static void parse_output(struct crash *c, const char *out)
{
    uint64_t first, n, id0;
    const char *line = out;

    c->pending_n = 0;
    while (line && *line) {
        if (sscanf(line, "begin %" SCNu64 " %" SCNu64, &first, &n) == 2) {
            assert_int_equal(first, c->turns);
            c->pending_first = first, c->pending_n = n;
        } else if (sscanf(line, "ok %" SCNu64 " %" SCNu64 " %" SCNu64, &first, &n, &id0) == 3) {
            assert_int_equal(first, c->turns);
            for (uint64_t i = 0; i < n; i++)
                remember(c, first + i, id0 + i);
            c->turns += n, c->pending_n = 0, c->batches++;
        } else {
            fail_msg("unexpected writer output: %.80s", line);
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
}

/* Start the writer, kill it after a random delay, collect what it acknowledged. */
static void run_and_kill(struct crash *c)
{
    char first[24], seed[24];
    char *argv[] = {"rel_worker", "crash-writer", c->dir, first, seed, NULL};
    uint64_t r = rel_rand(&c->seed);
    useconds_t delay = r % 10 == 0 ? (useconds_t)(r % 3000) : 3000 + (useconds_t)(r % 40000);

    delay *= SLOWDOWN;
    int fd, status;
    pid_t pid;
    char *out;

    snprintf(first, sizeof(first), "%" PRIu64, c->turns);
    snprintf(seed, sizeof(seed), "%" PRIu64, rel_rand(&c->seed));
    pid = rel_spawn(argv, &fd, NULL);
    assert_true(pid > 0);
    usleep(delay);
    kill(pid, SIGKILL);
    out = rel_read_all(fd);
    close(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("the writer ended on its own (status 0x%x) before the kill", status);
    assert_non_null(out);
    parse_output(c, out);
    free(out);
    c->kills++;
}

static void open_store(ctxmem_store **s, const char *dir)
{
    *s = NULL;
    assert_ctxmem(rel_open(s, dir, CTXMEM_OPEN_NOSYNC), CTXMEM_OK);
}

/* The batch in flight is in the store whole, or not at all. */
static void settle_in_flight(struct crash *c, ctxmem_store *s)
{
    ctxmem_store_info info;

    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    if (c->pending_n && info.segments == c->turns + c->pending_n) {
        c->turns += c->pending_n;
        c->inflight_committed++;
    } else {
        assert_int_equal(info.segments, c->turns);
        c->inflight_lost += c->pending_n != 0;
    }
}

/* Every committed turn, in order, intact, under its acknowledged id. */
static void check_sequence(struct crash *c, ctxmem_store *s, uint64_t known)
{
    ctxmem_iter *it = NULL;
    const ctxmem_segment *seg;
    char want[512];
    uint64_t t = 0;

    assert_ctxmem(ctxmem_iter_new(&it, s, &rel_scope, 1), CTXMEM_OK);
    while (ctxmem_iter_next(it, &seg) == CTXMEM_OK) {
        size_t len = rel_turn_text(want, sizeof(want), t);
        assert_int_equal(seg->seq, t + 1);
        assert_int_equal(seg->text_len, len);
        assert_memory_equal(seg->text, want, len);
        if (t < known)
            assert_int_equal(seg->id, c->ids[t]);
        else
            remember(c, t, seg->id);
        t++;
    }
    assert_int_equal(ctxmem_error_last()->code, CTXMEM_ENOTFOUND);
    ctxmem_iter_free(it);
    assert_int_equal(t, c->turns);
}

static int hit_has(const ctxmem_hit *hits, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (hits[i].id == id)
            return 1;
    return 0;
}

/* A turn is readable by id and found by searching its marker. */
static void check_findable(struct crash *c, ctxmem_store *s, uint64_t t)
{
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;
    ctxmem_segment *seg = NULL;
    ctxmem_hit *hits = NULL;
    size_t n = 0;
    char marker[24];

    assert_ctxmem(ctxmem_store_get(&seg, s, c->ids[t]), CTXMEM_OK);
    assert_int_equal(seg->seq, t + 1);
    ctxmem_segment_free(seg);
    o.k = 5;
    rel_marker(marker, sizeof(marker), t);
    assert_ctxmem(ctxmem_search(&hits, &n, s, &rel_scope, 1, marker, strlen(marker), &o),
                  CTXMEM_OK);
    if (!hit_has(hits, n, c->ids[t]))
        fail_msg("search for %s misses committed segment %" PRIu64, marker, c->ids[t]);
    ctxmem_hits_free(hits);
}

/* New turns of this round (at most 8 of them) and two older ones. */
static void check_searchable(struct crash *c, ctxmem_store *s, uint64_t from)
{
    uint64_t step = (c->turns - from + 7) / 8;

    for (uint64_t t = from; t < c->turns; t += step ? step : 1)
        check_findable(c, s, t);
    for (int i = 0; i < 2 && c->turns > 0; i++)
        check_findable(c, s, rel_rand(&c->seed) % c->turns);
}

struct vresult {
    ctxmem_hit *hits;
    size_t n;
};

static void vector_queries(ctxmem_store *s, const uint64_t *turns, struct vresult *res)
{
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;
    char text[512];

    o.k = 10, o.signals = CTXMEM_SIGNAL_VECTOR, o.neighbours = -1;
    for (int q = 0; q < QUERIES; q++) {
        size_t len = rel_turn_text(text, sizeof(text), turns[q]);
        assert_ctxmem(ctxmem_search(&res[q].hits, &res[q].n, s, &rel_scope, 1, text, len, &o),
                      CTXMEM_OK);
    }
}

static void assert_same_hits(const struct vresult *a, const struct vresult *b)
{
    for (int q = 0; q < QUERIES; q++) {
        assert_int_equal(a[q].n, b[q].n);
        for (size_t i = 0; i < a[q].n; i++) {
            assert_int_equal(a[q].hits[i].id, b[q].hits[i].id);
            assert_float_equal(a[q].hits[i].vector_score, b[q].hits[i].vector_score, 1e-5);
        }
        ctxmem_hits_free(a[q].hits);
        ctxmem_hits_free(b[q].hits);
    }
}

static void check_window(struct crash *c, ctxmem_store *s)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;
    ctxmem_window *w = NULL;
    char err[256];

    b.limit = 150 + rel_rand(&c->seed) % 1500;
    assert_ctxmem(ctxmem_window_assemble(&w, s, &rel_scope, NULL, 0, &b), CTXMEM_OK);
    if (rel_check_window(s, w, b.limit, err, sizeof(err)) != 0)
        fail_msg("window after a crash: %s", err);
    ctxmem_window_free(w);
}

/* The cached vector index (as left by the crash) against a rebuild from LMDB. */
static void check_vectors_and_window(struct crash *c, ctxmem_store *s)
{
    struct vresult cached[QUERIES], rebuilt[QUERIES];
    uint64_t turns[QUERIES];
    char path[4200];

    for (int q = 0; q < QUERIES; q++)
        turns[q] = c->turns ? rel_rand(&c->seed) % c->turns : 0;
    vector_queries(s, turns, cached);
    check_window(c, s);
    ctxmem_store_close(s);

    snprintf(path, sizeof(path), "%s/vindex", c->dir);
    tu_rmtree(strdup(path));
    open_store(&s, c->dir);
    vector_queries(s, turns, rebuilt);
    ctxmem_store_close(s);
    assert_same_hits(cached, rebuilt);
}

static void verify_after_kill(struct crash *c)
{
    uint64_t known = c->turns;
    ctxmem_store *s;

    open_store(&s, c->dir);
    settle_in_flight(c, s);
    check_sequence(c, s, known);
    check_searchable(c, s, known);
    check_vectors_and_window(c, s);
}

static unsigned kills_wanted(void)
{
    const char *v = getenv("CTXMEM_CRASH_KILLS");
    long n = v ? strtol(v, NULL, 10) : 200;

    return n > 0 ? (unsigned)n : 200;
}

static void test_crash_every_acknowledged_add_survives_sigkill(void **state)
{
    struct crash c = {0};
    unsigned want = kills_wanted();
    int64_t start = rel_now_us();
    uint64_t total_turns = 0;

    (void)state;
    c.seed = 0xC0FFEEull ^ (uint64_t)getpid();
    c.dir = tu_tempdir();
    while (c.kills < want) {
        if (c.kills % KILLS_PER_STORE == 0 && c.kills) { /* keep each store's checks bounded */
            total_turns += c.turns;
            tu_rmtree(c.dir);
            c.dir = tu_tempdir(), c.turns = 0;
        }
        run_and_kill(&c);
        verify_after_kill(&c);
    }
    total_turns += c.turns;
    printf("crash: %u kills, %u acknowledged batches, %" PRIu64 " turns committed, in-flight "
           "batch committed %u / lost %u, errors 0, %.1f s\n", c.kills, c.batches, total_turns,
           c.inflight_committed, c.inflight_lost, (double)(rel_now_us() - start) / 1e6);
    assert_true(c.batches > c.kills); /* the kills landed while writing, not before */
    tu_rmtree(c.dir);
    free(c.ids);
}

int main(void)
{
    /* FAISS's OpenMP threads spin; several processes on few cores would crawl. */
    setenv("OMP_NUM_THREADS", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_every_acknowledged_add_survives_sigkill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
