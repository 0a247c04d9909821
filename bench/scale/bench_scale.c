/*
 * Search, assembly, memory and open time against the size of one scope.
 *
 * usage: bench_scale build   N DIR               build DIR once (cached)
 *        bench_scale measure N DIR [--queries Q] [--rounds R]
 *        bench_scale open    N DIR               open and first search, files cached
 *        bench_scale rebuild N DIR               open after deleting DIR/vindex
 *
 * build: a store of N generated segments (textgen.h, fixed seed, 8-47 words)
 * in scope (bench, agent, s1), added in batches of 1,000 with o200k_base
 * and the default embedder, then one search (builds the FAISS index) and one
 * window (settles the first demotion of the hot tier into a summary), then
 * close (writes the index cache). A file DIR/bench-ready records the build;
 * a DIR that has it is reused as is.
 *
 * measure: in a fresh process, after sync(2) so that the writeback of
 * earlier steps does not stall it, times ctxmem_store_open and the first
 * ctxmem_search (which loads the FAISS cache), records the peak RSS (and the
 * anonymous and file-backed resident memory at that point) after a warm-up
 * of searches and windows, then R rounds of Q queries each of
 * ctxmem_search (defaults, k = 20), ctxmem_window_assemble (budget 4,096,
 * the query given) and the floor: a bare FAISS search of the engine's own
 * index file (the same index kind and nprobe) plus the LMDB reads of the
 * hits' records (k = 20 for search, k = the window's item count for
 * assembly). Query embedding is outside the floor's timing. Rounds
 * alternate engine and floor; reported p50/p99 are medians over rounds.
 *
 * open: times open and the first search again in a fresh process, right
 * after measure read the same files: the warm open, next to measure's open
 * as the page cache happened to be.
 *
 * rebuild: deletes DIR/vindex, then times open and the first search, which
 * rebuilds (and for IVF retrains) the index from LMDB; close rewrites it.
 *
 * Each mode prints a line of text and one "RESULT {json}" line.
 */
#include "ctxmem.h"
#include "index/index_internal.h"
#include "textgen.h"

#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_io_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void sync(void); /* unistd.h hides it under strict POSIX */

#define BUILD_BATCH 1000
#define QUERY_CAP 256
#define SEARCH_K 20
#define BUDGET 4096
#define WARMUP 20

static const ctxmem_scope scope = {"bench", "agent", "s1"};

static void die(const char *what)
{
    fprintf(stderr, "bench_scale: %s: %s\n", what, ctxmem_error_last()->message);
    exit(1);
}

static ctxmem_store *open_store(const char *dir, double *ms)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = NULL;
    double t = bench_now_ms();

    o.tokenizer = "o200k_base";
    o.flags = CTXMEM_OPEN_NOSYNC;
    if (ctxmem_store_open(&s, dir, &o) != CTXMEM_OK)
        die("open");
    if (ms)
        *ms = bench_now_ms() - t;
    return s;
}

static double search_once(ctxmem_store *s, const char *q)
{
    ctxmem_hit *h = NULL;
    size_t nh = 0;
    double t = bench_now_ms();

    if (ctxmem_search(&h, &nh, s, &scope, 1, q, strlen(q), NULL) != CTXMEM_OK)
        die("search");
    t = bench_now_ms() - t;
    ctxmem_hits_free(h);
    return t;
}

/* Sums of the report's stage times over the measured windows (pinned ... cold). */
static double stage_us[7];
static size_t stage_windows;

static void add_stages(const ctxmem_window_report *r)
{
    const double us[7] = {r->us_pinned, r->us_maintain, r->us_hot,  r->us_warm,
                          r->us_search, r->us_cold,     r->us_total};
    for (int i = 0; i < 7; i++)
        stage_us[i] += us[i];
    stage_windows++;
}

/* Where an assembly's time goes, from its report, as means over the measured windows. */
static void print_stages(void)
{
    double n = stage_windows ? (double)stage_windows : 1;

    printf("         window stages, mean us: pinned %.0f, maintain %.0f, hot %.0f, warm %.0f, "
           "search %.0f, cold %.0f, total %.0f\n", stage_us[0] / n, stage_us[1] / n,
           stage_us[2] / n, stage_us[3] / n, stage_us[4] / n, stage_us[5] / n, stage_us[6] / n);
}

/* Time one window; *items gets its item count, or, when NULL, the stage sums its times. */
static double window_once(ctxmem_store *s, const char *q, size_t *items)
{
    ctxmem_budget b = CTXMEM_BUDGET_INIT;
    ctxmem_window *w = NULL;
    double t;

    b.limit = BUDGET;
    t = bench_now_ms();
    if (ctxmem_window_assemble(&w, s, &scope, q, strlen(q), &b) != CTXMEM_OK)
        die("assemble");
    t = bench_now_ms() - t;
    if (!items) {
        add_stages(ctxmem_window_report_get(w));
    } else {
        const ctxmem_window_report *r = ctxmem_window_report_get(w);
        *items = 0;
        for (int i = 0; i < CTXMEM_TIER_COUNT; i++)
            *items += r->tier_items[i];
    }
    ctxmem_window_free(w);
    return t;
}

static int build(size_t n, const char *dir)
{
    char ready[512], text[BUILD_BATCH][640];
    ctxmem_segment_in in[BUILD_BATCH];
    ctxmem_store *s;
    double t0, fill_ms, search_ms, window_ms;
    textgen g;
    FILE *f;
    struct stat st;

    snprintf(ready, sizeof(ready), "%s/bench-ready", dir);
    if (stat(ready, &st) == 0) {
        printf("reusing %s\n", dir);
        return 0;
    }
    mkdir(dir, 0700);
    s = open_store(dir, NULL);
    textgen_init(&g, 42);
    t0 = bench_now_ms();
    for (size_t done = 0; done < n; done += BUILD_BATCH) {
        size_t m = n - done < BUILD_BATCH ? n - done : BUILD_BATCH;
        memset(in, 0, sizeof(in));
        for (size_t i = 0; i < m; i++) {
            in[i].role = (done + i) % 2 ? CTXMEM_ROLE_ASSISTANT : CTXMEM_ROLE_USER;
            in[i].time = 1600000000000 + (int64_t)(done + i) * 60000;
            in[i].text = text[i];
            in[i].text_len = textgen_text(&g, text[i], sizeof(text[i]),
                                          8 + (int)(textgen_uniform(&g) * 40));
        }
        if (ctxmem_store_add(s, &scope, in, m, NULL) != CTXMEM_OK)
            die("add");
    }
    fill_ms = bench_now_ms() - t0;
    search_ms = search_once(s, "the first search builds the index");
    window_ms = window_once(s, "the first window demotes the hot tier", NULL);
    ctxmem_store_close(s);

    f = fopen(ready, "w");
    if (!f)
        return 1;
    fprintf(f, "{\"segments\":%zu,\"fill_s\":%.2f,\"first_search_ms\":%.1f,"
            "\"first_window_ms\":%.1f}\n", n, fill_ms / 1e3, search_ms, window_ms);
    fclose(f);
    printf("built %zu segments in %.1f s (%.0f seg/s); first search %.1f ms, first window "
           "%.1f ms\n", n, fill_ms / 1e3, n / (fill_ms / 1e3), search_ms, window_ms);
    printf("RESULT {\"bench\":\"scale_build\",\"segments\":%zu,\"fill_s\":%.2f,"
           "\"first_search_ms\":%.1f,\"first_window_ms\":%.1f}\n", n, fill_ms / 1e3, search_ms,
           window_ms);
    return 0;
}

static void make_queries(char (*q)[QUERY_CAP], size_t nq)
{
    textgen g;

    textgen_init(&g, TEXTGEN_QUERY_SEED);
    for (size_t i = 0; i < nq; i++)
        textgen_query(&g, q[i], QUERY_CAP);
}

/* A query's vector from the built-in embedder, as the floor searches with it. */
static void embed_query(const char *text, float *v)
{
    size_t len = strlen(text);

    embed_builtin(NULL, &text, &len, 1, v);
}

/* The engine's own index file for the scope; an IVF file keeps the engine's nprobe. */
static FaissIndex *floor_index(ctxmem_store *s, const char *dir)
{
    char path[512];
    FaissIndex *idx = NULL;
    uint32_t sid;

    if (ctxmem_store_scope_id(s, &scope, &sid) != CTXMEM_OK)
        die("scope id");
    snprintf(path, sizeof(path), "%s/vindex/%u.faiss", dir, sid);
    if (faiss_read_index_fname(path, 0, &idx) != 0) {
        fprintf(stderr, "bench_scale: cannot read %s\n", path);
        exit(1);
    }
    return idx;
}

/* Floor of one query: FAISS search for k labels, then their records. */
static double floor_once(ctxmem_store *s, FaissIndex *idx, uint32_t sid, const float *q,
                         size_t k)
{
    float dist[512];
    idx_t labels[512];
    unsigned char kb[12];
    MDB_val key, val;
    MDB_txn *txn = NULL;
    double t = bench_now_ms();

    faiss_Index_search(idx, 1, q, (idx_t)k, dist, labels);
    mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    for (size_t j = 0; j < k && labels[j] >= 0; j++) {
        store_put_be32(kb, sid);
        store_put_be64(kb + 4, (uint64_t)labels[j]);
        key.mv_size = 12, key.mv_data = kb;
        if (mdb_get(txn, s->dbi[DB_SEQUENCE], &key, &val) != 0 ||
            mdb_get(txn, s->dbi[DB_SEGMENTS], &val, &val) != 0) {
            fprintf(stderr, "bench_scale: floor: label %lld not in LMDB\n",
                    (long long)labels[j]);
            exit(1);
        }
    }
    mdb_txn_abort(txn);
    return bench_now_ms() - t;
}

/*
 * floor-rss: the floor's own memory, in a fresh process so that neither
 * side's pages count for the other. Opens the store, loads the index file,
 * runs measure's warm-up queries through the floor (k = 20, then k = K) and
 * prints peak, anonymous and file-backed resident KiB.
 */
static int floor_rss_child(const char *dir, size_t asm_k)
{
    char(*q)[QUERY_CAP] = malloc(WARMUP * sizeof(*q));
    ctxmem_store *s = open_store(dir, NULL);
    FaissIndex *idx = floor_index(s, dir);
    float v[EMBED_DEFAULT_DIM];
    uint32_t sid;

    make_queries(q, WARMUP);
    if (ctxmem_store_scope_id(s, &scope, &sid) != CTXMEM_OK)
        die("scope id");
    for (size_t i = 0; i < WARMUP; i++) {
        embed_query(q[i], v);
        floor_once(s, idx, sid, v, SEARCH_K);
        floor_once(s, idx, sid, v, asm_k);
    }
    printf("%ld %ld %ld\n", bench_peak_rss_kib(), bench_status_kib("RssAnon"),
           bench_status_kib("RssFile"));
    return 0;
}

static const char *self_path;

static void floor_rss(size_t n, const char *dir, size_t asm_k, long out[3])
{
    char cmd[1200];
    FILE *p;

    out[0] = out[1] = out[2] = -1;
    snprintf(cmd, sizeof(cmd), "'%s' floor-rss %zu '%s' --k %zu", self_path, n, dir, asm_k);
    if (!(p = popen(cmd, "r")))
        return;
    if (fscanf(p, "%ld %ld %ld", &out[0], &out[1], &out[2]) != 3)
        out[0] = out[1] = out[2] = -1;
    pclose(p);
}

typedef struct lat {
    double *p50, *p99; /* per round */
} lat;

static void record(lat *l, int round, double *t, size_t n)
{
    l->p50[round] = bench_quantile(t, n, 0.5);
    l->p99[round] = bench_quantile(t, n, 0.99);
}

static int measure(size_t n, const char *dir, size_t nq, int rounds)
{
    char (*q)[QUERY_CAP] = malloc(nq * sizeof(*q));
    float *qv = malloc(nq * EMBED_DEFAULT_DIM * sizeof(float));
    double *t = malloc(nq * sizeof(double));
    lat l[4];
    double open_ms, first_ms, med[4][2];
    size_t items = 0, asm_k;
    long rss_kib, anon_kib, file_kib, floor_kib[3];
    ctxmem_store *s;
    FaissIndex *idx;
    uint32_t sid;

    make_queries(q, nq);
    sync(); /* earlier steps' writeback must not stall this open (seen: seconds) */
    for (int i = 0; i < 4; i++) {
        l[i].p50 = malloc((size_t)rounds * sizeof(double));
        l[i].p99 = malloc((size_t)rounds * sizeof(double));
    }
    s = open_store(dir, &open_ms);
    first_ms = search_once(s, q[0]);
    for (size_t i = 0; i < WARMUP && i < nq; i++) {
        search_once(s, q[i]);
        window_once(s, q[i], &items);
    }
    /* Before the floor loads its own copy. RssFile is LMDB's mapped pages. */
    rss_kib = bench_peak_rss_kib();
    anon_kib = bench_status_kib("RssAnon"), file_kib = bench_status_kib("RssFile");
    floor_rss(n, dir, items < 512 ? items : 512, floor_kib);

    idx = floor_index(s, dir);
    if (ctxmem_store_scope_id(s, &scope, &sid) != CTXMEM_OK)
        die("scope id");
    for (size_t i = 0; i < nq; i++)
        embed_query(q[i], qv + i * EMBED_DEFAULT_DIM);
    asm_k = items < 512 ? items : 512;
    for (size_t i = 0; i < WARMUP && i < nq; i++)
        floor_once(s, idx, sid, qv + i * EMBED_DEFAULT_DIM, asm_k);

    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < nq; i++)
            t[i] = search_once(s, q[i]);
        record(&l[0], r, t, nq);
        for (size_t i = 0; i < nq; i++)
            t[i] = floor_once(s, idx, sid, qv + i * EMBED_DEFAULT_DIM, SEARCH_K);
        record(&l[1], r, t, nq);
        for (size_t i = 0; i < nq; i++)
            t[i] = window_once(s, q[i], NULL);
        record(&l[2], r, t, nq);
        for (size_t i = 0; i < nq; i++)
            t[i] = floor_once(s, idx, sid, qv + i * EMBED_DEFAULT_DIM, asm_k);
        record(&l[3], r, t, nq);
    }
    for (int i = 0; i < 4; i++) {
        med[i][0] = bench_quantile(l[i].p50, (size_t)rounds, 0.5);
        med[i][1] = bench_quantile(l[i].p99, (size_t)rounds, 0.5);
    }
    printf("%8zu open %.1f ms, first search %.1f ms, peak RSS %.1f MiB (now: anon %.1f, "
           "file %.1f); search p50 %.3f p99 "
           "%.3f (floor %.3f/%.3f); window p50 %.3f p99 %.3f (floor k=%zu %.3f/%.3f) ms\n", n,
           open_ms, first_ms, rss_kib / 1024.0, anon_kib / 1024.0, file_kib / 1024.0,
           med[0][0], med[0][1], med[1][0], med[1][1], med[2][0], med[2][1], asm_k, med[3][0],
           med[3][1]);
    printf("         floor process after the same warm-up: peak RSS %.1f MiB (anon %.1f, file "
           "%.1f)\n", floor_kib[0] / 1024.0, floor_kib[1] / 1024.0, floor_kib[2] / 1024.0);
    print_stages();
    printf("RESULT {\"bench\":\"scale\",\"segments\":%zu,\"queries\":%zu,\"rounds\":%d,"
           "\"open_ms\":%.2f,\"first_search_ms\":%.2f,\"peak_rss_mib\":%.1f,"
           "\"rss_anon_mib\":%.1f,\"rss_file_mib\":%.1f,\"floor_peak_rss_mib\":%.1f,"
           "\"floor_rss_anon_mib\":%.1f,\"floor_rss_file_mib\":%.1f,"
           "\"vector_mib\":%.1f,\"search_p50_ms\":%.4f,\"search_p99_ms\":%.4f,"
           "\"search_floor_p50_ms\":%.4f,\"search_floor_p99_ms\":%.4f,"
           "\"window_p50_ms\":%.4f,\"window_p99_ms\":%.4f,\"window_floor_k\":%zu,"
           "\"window_floor_p50_ms\":%.4f,\"window_floor_p99_ms\":%.4f}\n", n, nq, rounds,
           open_ms, first_ms, rss_kib / 1024.0, anon_kib / 1024.0, file_kib / 1024.0,
           floor_kib[0] / 1024.0, floor_kib[1] / 1024.0, floor_kib[2] / 1024.0,
           (double)n * EMBED_DEFAULT_DIM * sizeof(float) / 1048576.0, med[0][0], med[0][1],
           med[1][0], med[1][1], med[2][0], med[2][1], asm_k, med[3][0], med[3][1]);
    faiss_Index_free(idx);
    ctxmem_store_close(s);
    return 0;
}

/* Open DIR and run one search, timing each. */
static void open_and_search(const char *dir, double *open_ms, double *first_ms)
{
    ctxmem_store *s = open_store(dir, open_ms);

    *first_ms = search_once(s, "what did they say about the garden");
    ctxmem_store_close(s);
}

static int open_warm(size_t n, const char *dir)
{
    double open_ms, first_ms;

    open_and_search(dir, &open_ms, &first_ms);
    printf("%8zu open again (files in the page cache): open %.1f ms, first search %.1f ms\n", n,
           open_ms, first_ms);
    printf("RESULT {\"bench\":\"scale_open_warm\",\"segments\":%zu,\"open_ms\":%.2f,"
           "\"first_search_ms\":%.2f}\n", n, open_ms, first_ms);
    return 0;
}

static int rebuild(size_t n, const char *dir)
{
    char cmd[600];
    double open_ms, first_ms;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s/vindex'", dir);
    if (system(cmd) != 0)
        return 1;
    sync();
    open_and_search(dir, &open_ms, &first_ms); /* close writes the new cache */
    printf("%8zu rebuild: open %.1f ms, first search (rebuilds the index) %.1f ms, peak RSS "
           "%.1f MiB\n", n, open_ms, first_ms, bench_peak_rss_kib() / 1024.0);
    printf("RESULT {\"bench\":\"scale_rebuild\",\"segments\":%zu,\"open_ms\":%.2f,"
           "\"first_search_ms\":%.2f,\"peak_rss_mib\":%.1f}\n", n, open_ms, first_ms,
           bench_peak_rss_kib() / 1024.0);
    return 0;
}

int main(int argc, char **argv)
{
    size_t nq = 300, floor_k = 70;
    int rounds = 3;

    if (argc < 4) {
        fprintf(stderr,
                "usage: %s build|measure|open|rebuild|floor-rss N DIR [--queries Q] [--rounds R] "
                "[--k K]\n",
                argv[0]);
        return 2;
    }
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--queries") == 0)
            nq = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--k") == 0)
            floor_k = (size_t)atol(argv[i + 1]);
    }
    self_path = argv[0];
    if (nq < 10 || rounds < 1 || floor_k < 1 || floor_k > 512) {
        fprintf(stderr, "bench_scale: need --queries >= 10, --rounds >= 1, 1 <= --k <= 512\n");
        return 2;
    }
    if (strcmp(argv[1], "build") == 0)
        return build((size_t)atol(argv[2]), argv[3]);
    if (strcmp(argv[1], "measure") == 0)
        return measure((size_t)atol(argv[2]), argv[3], nq, rounds);
    if (strcmp(argv[1], "rebuild") == 0)
        return rebuild((size_t)atol(argv[2]), argv[3]);
    if (strcmp(argv[1], "open") == 0)
        return open_warm((size_t)atol(argv[2]), argv[3]);
    if (strcmp(argv[1], "floor-rss") == 0)
        return floor_rss_child(argv[3], floor_k);
    fprintf(stderr, "bench_scale: unknown mode %s\n", argv[1]);
    return 2;
}
