/*
 * The worker program of the reliability tests. One mode per role:
 *
 *   rel_worker crash-writer DIR FIRST_TURN SEED
 *       ingest the conversation from FIRST_TURN in batches until killed;
 *       before each add print "begin FIRST N", after it "ok FIRST N ID0".
 *   rel_worker writer DIR SEED BATCHES
 *       add BATCHES batches to two scopes, assembling small windows (which
 *       summarize) every third batch; print "done TURNS".
 *   rel_worker reader DIR SEED READONLY THREADS
 *       until stdin reaches EOF: check snapshots, search, assemble windows;
 *       print "done ROUNDS".
 *   rel_worker hold-open DIR        open, print "ready", wait for stdin EOF.
 *   rel_worker hold-iter DIR        open, start an iterator, print "ready", sleep.
 *
 * Any failed call prints one line to stderr and exits 3.
 */
#include "rel.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BATCH 8
#define TEXT_CAP 512

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "rel_worker[%d]: ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    _exit(3);
}

static void check(int rc, const char *what)
{
    if (rc != CTXMEM_OK)
        die("%s: %s (%s)", what, ctxmem_error_last()->message, ctxmem_strerror(rc));
}

/* One line to stdout with a single write(2), so that a kill never splits it. */
static void say(const char *fmt, ...)
{
    char line[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (write(STDOUT_FILENO, line, (size_t)n) != n)
        die("write to stdout failed");
}

/* Turns first..first+n-1 of `scope` as segments; texts live in `texts`. */
static void make_batch(ctxmem_segment_in *segs, char (*texts)[TEXT_CAP], uint64_t first,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&segs[i], 0, sizeof(segs[i]));
        segs[i].role = rel_turn_role(first + i);
        segs[i].time = 1700000000000 + (int64_t)(first + i) * 1000;
        segs[i].text = texts[i];
        segs[i].text_len = rel_turn_text(texts[i], TEXT_CAP, first + i);
    }
}

/* A small window: demotes and summarizes as the conversation grows. */
static void assemble_small(ctxmem_store *s, const ctxmem_scope *scope, uint64_t turn,
                           size_t limit)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;
    ctxmem_window *w = NULL;
    char marker[24], err[256];

    b.limit = limit;
    rel_marker(marker, sizeof(marker), turn);
    check(ctxmem_window_assemble(&w, s, scope, marker, strlen(marker), &b), "assemble");
    if (rel_check_window(s, w, limit, err, sizeof(err)) != 0)
        die("window invariant: %s", err);
    ctxmem_window_free(w);
}

static _Noreturn void crash_writer(const char *dir, uint64_t turn, uint64_t seed)
{
    ctxmem_segment_in segs[MAX_BATCH];
    static char texts[MAX_BATCH][TEXT_CAP];
    unsigned flags = seed % 2 ? 0 : CTXMEM_OPEN_NOSYNC;
    ctxmem_store *s = NULL;
    uint64_t ids[MAX_BATCH];

    check(rel_open(&s, dir, flags), "open");
    for (unsigned batch = 1;; batch++) {
        size_t n = 1 + rel_rand(&seed) % MAX_BATCH;
        make_batch(segs, texts, turn, n);
        say("begin %" PRIu64 " %zu\n", turn, n);
        check(ctxmem_store_add(s, &rel_scope, segs, n, ids), "add");
        say("ok %" PRIu64 " %zu %" PRIu64 "\n", turn, n, ids[0]);
        turn += n;
        if (batch % 4 == 0)
            assemble_small(s, &rel_scope, turn - 1, 120 + rel_rand(&seed) % 400);
        if (batch % 16 == 0) { /* a clean close writes the vector cache files */
            ctxmem_store_close(s);
            check(rel_open(&s, dir, flags), "reopen");
        }
        usleep((useconds_t)(rel_rand(&seed) % 500));
    }
}

/* Turns already in a scope (its segment count). */
static uint64_t scope_turns(ctxmem_store *s, const ctxmem_scope *scope)
{
    ctxmem_iter *it = NULL;
    const ctxmem_segment *seg;
    uint64_t n = 0;

    check(ctxmem_iter_new(&it, s, scope, 1), "iter_new");
    while (ctxmem_iter_next(it, &seg) == CTXMEM_OK)
        n++;
    ctxmem_iter_free(it);
    return n;
}

static int writer(const char *dir, uint64_t seed, unsigned batches)
{
    ctxmem_segment_in segs[MAX_BATCH];
    static char texts[MAX_BATCH][TEXT_CAP];
    ctxmem_store *s = NULL;
    uint64_t turn[2];
    const ctxmem_scope *scopes[2] = {&rel_scope, &rel_other_scope};

    check(rel_open(&s, dir, CTXMEM_OPEN_NOSYNC), "open");
    turn[0] = scope_turns(s, scopes[0]), turn[1] = scope_turns(s, scopes[1]);
    for (unsigned b = 0; b < batches; b++) {
        int k = (int)(b % 2);
        size_t n = 1 + rel_rand(&seed) % MAX_BATCH;
        make_batch(segs, texts, turn[k], n);
        check(ctxmem_store_add(s, scopes[k], segs, n, NULL), "add");
        turn[k] += n;
        if (b % 3 == 2)
            assemble_small(s, scopes[k], turn[k] - 1, 150 + rel_rand(&seed) % 300);
    }
    ctxmem_store_close(s);
    say("done %" PRIu64 "\n", turn[0] + turn[1]);
    return 0;
}

/* ---- readers ---- */

struct reader {
    ctxmem_store *store;
    uint64_t seed;
    uint64_t last_segments; /* store-wide count seen last: never decreases */
    uint64_t last_turns;    /* turns of rel_scope seen last: never decreases */
    unsigned rounds;
};

/* Read the scope through an iterator: contiguous, intact turns. Returns its count. */
static uint64_t read_snapshot(struct reader *r, uint64_t *ids, size_t cap)
{
    ctxmem_iter *it = NULL;
    const ctxmem_segment *seg;
    char want[TEXT_CAP];
    uint64_t n = 0;
    int rc;

    check(ctxmem_iter_new(&it, r->store, &rel_scope, 1), "iter_new");
    while ((rc = ctxmem_iter_next(it, &seg)) == CTXMEM_OK) {
        size_t len = rel_turn_text(want, sizeof(want), n);
        if (seg->seq != n + 1 || seg->text_len != len || memcmp(seg->text, want, len) != 0)
            die("snapshot: seq %" PRIu64 " holds the wrong turn", seg->seq);
        if (n < cap)
            ids[n] = seg->id;
        n++;
    }
    if (rc != CTXMEM_ENOTFOUND)
        check(rc, "iter_next");
    ctxmem_iter_free(it);
    return n;
}

/* Search a seen turn's marker: it must come back, and every hit must be readable. */
static void search_seen(struct reader *r, uint64_t turn, uint64_t id)
{
    ctxmem_search_opts o = CTXMEM_SEARCH_OPTS_INIT;
    ctxmem_hit *hits = NULL;
    ctxmem_segment *seg = NULL;
    size_t n = 0, found = 0;
    char marker[24];

    o.k = 5;
    rel_marker(marker, sizeof(marker), turn);
    check(ctxmem_search(&hits, &n, r->store, &rel_scope, 1, marker, strlen(marker), &o),
          "search");
    for (size_t i = 0; i < n; i++) {
        found += hits[i].id == id;
        check(ctxmem_store_get(&seg, r->store, hits[i].id), "get of a search hit");
        ctxmem_segment_free(seg);
    }
    ctxmem_hits_free(hits);
    if (!found)
        die("search for %s did not return segment %" PRIu64, marker, id);
}

static void reader_round(struct reader *r)
{
    static _Thread_local uint64_t ids[1 << 15];
    ctxmem_store_info info;
    uint64_t turns;

    check(ctxmem_store_stat(r->store, &info), "stat");
    if (info.segments < r->last_segments)
        die("segment count went from %" PRIu64 " to %" PRIu64, r->last_segments, info.segments);
    r->last_segments = info.segments;
    turns = read_snapshot(r, ids, sizeof(ids) / sizeof(ids[0]));
    if (turns < r->last_turns)
        die("scope shrank from %" PRIu64 " to %" PRIu64 " turns", r->last_turns, turns);
    r->last_turns = turns;
    if (turns > 0 && turns <= sizeof(ids) / sizeof(ids[0])) {
        uint64_t t = rel_rand(&r->seed) % turns;
        search_seen(r, t, ids[t]);
        if (r->rounds % 2 == 0)
            assemble_small(r->store, &rel_scope, t, 200 + rel_rand(&r->seed) % 2000);
    }
    r->rounds++;
}

static int stdin_closed(void)
{
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};

    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLIN));
}

static void *reader_thread(void *arg)
{
    struct reader *r = arg;

    while (!stdin_closed())
        reader_round(r);
    return NULL;
}

static int reader(const char *dir, uint64_t seed, int readonly, int threads)
{
    struct reader r[2];
    pthread_t tid[2];
    ctxmem_store *s = NULL;

    check(rel_open(&s, dir, readonly ? CTXMEM_OPEN_READONLY : CTXMEM_OPEN_NOSYNC), "open");
    threads = threads == 2 ? 2 : 1;
    for (int i = 0; i < threads; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].store = s, r[i].seed = seed + (uint64_t)i;
        if (pthread_create(&tid[i], NULL, reader_thread, &r[i]) != 0)
            die("pthread_create failed");
    }
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    ctxmem_store_close(s);
    say("done %u\n", r[0].rounds + (threads == 2 ? r[1].rounds : 0));
    return 0;
}

/* ---- holders ---- */

static int hold_open(const char *dir)
{
    ctxmem_store *s = NULL;
    char c;

    check(rel_open(&s, dir, 0), "open");
    say("ready\n");
    while (read(STDIN_FILENO, &c, 1) > 0)
        ;
    ctxmem_store_close(s);
    return 0;
}

static _Noreturn void hold_iter(const char *dir)
{
    ctxmem_store *s = NULL;
    ctxmem_iter *it = NULL;
    const ctxmem_segment *seg;

    check(rel_open(&s, dir, 0), "open");
    check(ctxmem_iter_new(&it, s, &rel_scope, 1), "iter_new");
    check(ctxmem_iter_next(it, &seg), "iter_next");
    say("ready\n");
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    const char *mode = argc > 2 ? argv[1] : "";

    if (!strcmp(mode, "crash-writer") && argc == 5)
        crash_writer(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    if (!strcmp(mode, "writer") && argc == 5)
        return writer(argv[2], strtoull(argv[3], NULL, 10), (unsigned)atoi(argv[4]));
    if (!strcmp(mode, "reader") && argc == 6)
        return reader(argv[2], strtoull(argv[3], NULL, 10), atoi(argv[4]), atoi(argv[5]));
    if (!strcmp(mode, "hold-open"))
        return hold_open(argv[2]);
    if (!strcmp(mode, "hold-iter"))
        hold_iter(argv[2]);
    fprintf(stderr, "usage: rel_worker MODE DIR ... (see the source)\n");
    return 2;
}
