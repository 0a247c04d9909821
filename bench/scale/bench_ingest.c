/*
 * Ingest benchmark: segments/s of batched ctxmem_store_add (batches of 100,
 * o200k_base token counting, the default embedder, lexical and vector
 * indexing) against the floor, a bare LMDB environment that puts the same
 * text bytes under an 8-byte key in the same batches with the same sync mode.
 * Both sync modes are measured: CTXMEM_OPEN_NOSYNC against MDB_NOSYNC, and
 * durable against a synced commit. Then the latency of one durable add of
 * one segment (p50/p99) against one synced LMDB put.
 *
 * Last, the token counting that every add does, alone over the same texts,
 * against the NOSYNC floor: a bound on the ratio that no indexing design can
 * pass, since an add must at least count its tokens.
 *
 * usage: bench_ingest [--segments N] [--runs R] [--single M]
 * Every run uses a fresh store; one warm-up run precedes the R measured runs
 * and ctxmem and LMDB runs alternate. Prints a table and one
 * "RESULT {json}" line per measurement. Needs CTXMEM_TOKENIZER_DIR (or the
 * installed tables) for o200k_base.
 */
#include "textgen.h"

#include <ctxmem.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 100

char *mkdtemp(char *templ);

typedef struct corpus {
    char **text;
    size_t *len;
    size_t n, bytes;
} corpus;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_ingest: %s: %s\n", what, detail);
    exit(1);
}

static void make_corpus(corpus *c, size_t n)
{
    textgen g;
    char buf[1024];

    textgen_init(&g, 7);
    c->text = malloc(n * sizeof(*c->text));
    c->len = malloc(n * sizeof(*c->len));
    c->n = n, c->bytes = 0;
    for (size_t i = 0; i < n; i++) {
        c->len[i] = textgen_text(&g, buf, sizeof(buf), 8 + (int)(textgen_uniform(&g) * 40));
        c->text[i] = strdup(buf);
        c->bytes += c->len[i];
    }
}

static void remove_dir(const char *dir)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_ingest: could not remove %s\n", dir);
}

static void fill_batch(ctxmem_segment_in *in, const corpus *c, size_t from, size_t m)
{
    memset(in, 0, m * sizeof(*in));
    for (size_t i = 0; i < m; i++) {
        in[i].role = (from + i) % 2 ? CTXMEM_ROLE_ASSISTANT : CTXMEM_ROLE_USER;
        in[i].time = 1700000000000 + (int64_t)(from + i) * 1000;
        in[i].text = c->text[from + i];
        in[i].text_len = c->len[from + i];
    }
}

/* Seconds to add c[0..n) to a fresh store in batches of `batch`. */
static double ctxmem_ingest(const corpus *c, size_t n, size_t batch, int durable,
                            double *lat_ms)
{
    static const ctxmem_scope scope = {"bench", "agent", "s1"};
    char dir[] = "/tmp/ctxmem-ingest-XXXXXX";
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_segment_in in[BATCH];
    ctxmem_store *s = NULL;
    double t0;

    o.tokenizer = "o200k_base";
    o.flags = durable ? 0 : CTXMEM_OPEN_NOSYNC;
    if (!mkdtemp(dir) || ctxmem_store_open(&s, dir, &o) != CTXMEM_OK)
        die("open", ctxmem_error_last()->message);
    t0 = bench_now_ms();
    for (size_t done = 0; done < n; done += batch) {
        size_t m = n - done < batch ? n - done : batch;
        double t1 = bench_now_ms();
        fill_batch(in, c, done, m);
        if (ctxmem_store_add(s, &scope, in, m, NULL) != CTXMEM_OK)
            die("add", ctxmem_error_last()->message);
        if (lat_ms)
            lat_ms[done / batch] = bench_now_ms() - t1;
    }
    t0 = bench_now_ms() - t0;
    ctxmem_store_close(s);
    remove_dir(dir);
    return t0 / 1e3;
}

static void lmdb_check(int rc, const char *what)
{
    if (rc != 0)
        die(what, mdb_strerror(rc));
}

/* Seconds to put c[0..n) into a bare LMDB env in batches of `batch`. */
static double lmdb_ingest(const corpus *c, size_t n, size_t batch, int durable, double *lat_ms)
{
    char dir[] = "/tmp/ctxmem-lmdb-XXXXXX";
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    double t0;

    if (!mkdtemp(dir))
        die("mkdtemp", dir);
    lmdb_check(mdb_env_create(&env), "env create");
    lmdb_check(mdb_env_set_mapsize(env, (size_t)1 << 34), "mapsize");
    lmdb_check(mdb_env_open(env, dir, MDB_NOTLS | (durable ? 0 : MDB_NOSYNC), 0600), "open");
    lmdb_check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
    lmdb_check(mdb_dbi_open(txn, NULL, 0, &dbi), "dbi");
    lmdb_check(mdb_txn_commit(txn), "commit");
    t0 = bench_now_ms();
    for (size_t done = 0; done < n; done += batch) {
        size_t m = n - done < batch ? n - done : batch;
        double t1 = bench_now_ms();
        lmdb_check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
        for (size_t i = done; i < done + m; i++) {
            unsigned char kb[8];
            for (int b = 0; b < 8; b++)
                kb[b] = (unsigned char)((i + 1) >> (56 - 8 * b));
            MDB_val k = {8, kb}, v = {c->len[i], c->text[i]};
            lmdb_check(mdb_put(txn, dbi, &k, &v, 0), "put");
        }
        lmdb_check(mdb_txn_commit(txn), "commit");
        if (lat_ms)
            lat_ms[done / batch] = bench_now_ms() - t1;
    }
    t0 = bench_now_ms() - t0;
    mdb_env_close(env);
    remove_dir(dir);
    return t0 / 1e3;
}

static double median(double *v, size_t n)
{
    return bench_quantile(v, n, 0.5);
}

/* Returns the floor's median segments/s. */
static double batched(const corpus *c, int durable, int runs)
{
    double *a = malloc((size_t)runs * sizeof(double)), *b = malloc((size_t)runs * sizeof(double));
    double ra, rb;
    const char *mode = durable ? "durable" : "nosync";

    ctxmem_ingest(c, c->n / 4, BATCH, durable, NULL); /* warm-up */
    lmdb_ingest(c, c->n / 4, BATCH, durable, NULL);
    for (int r = 0; r < runs; r++) {
        a[r] = (double)c->n / ctxmem_ingest(c, c->n, BATCH, durable, NULL);
        b[r] = (double)c->n / lmdb_ingest(c, c->n, BATCH, durable, NULL);
    }
    ra = median(a, (size_t)runs), rb = median(b, (size_t)runs);
    printf("%-8s %10zu %14.0f %14.0f %8.3f\n", mode, c->n, ra, rb, ra / rb);
    printf("RESULT {\"bench\":\"ingest\",\"mode\":\"%s\",\"segments\":%zu,\"batch\":%d,"
           "\"bytes\":%zu,\"ctxmem_seg_per_s\":%.0f,\"lmdb_seg_per_s\":%.0f,\"ratio\":%.4f,"
           "\"runs\":%d}\n", mode, c->n, BATCH, c->bytes, ra, rb, ra / rb, runs);
    free(a);
    free(b);
    return rb;
}

static void single(const corpus *c, size_t m)
{
    double *a = malloc(m * sizeof(double)), *b = malloc(m * sizeof(double));
    double a50, a99, b50, b99;

    ctxmem_ingest(c, 20, 1, 1, NULL); /* warm-up */
    ctxmem_ingest(c, m, 1, 1, a);
    lmdb_ingest(c, m, 1, 1, b);
    a50 = bench_quantile(a, m, 0.5), a99 = bench_quantile(a, m, 0.99);
    b50 = bench_quantile(b, m, 0.5), b99 = bench_quantile(b, m, 0.99);
    printf("\nsingle durable add (%zu adds): ctxmem p50 %.3f ms p99 %.3f ms; "
           "LMDB put+sync p50 %.3f ms p99 %.3f ms\n", m, a50, a99, b50, b99);
    printf("RESULT {\"bench\":\"ingest_single\",\"adds\":%zu,\"ctxmem_p50_ms\":%.4f,"
           "\"ctxmem_p99_ms\":%.4f,\"lmdb_p50_ms\":%.4f,\"lmdb_p99_ms\":%.4f,"
           "\"ratio_p50\":%.3f,\"ratio_p99\":%.3f}\n", m, a50, a99, b50, b99, a50 / b50,
           a99 / b99);
    free(a);
    free(b);
}

/* Segments/s of o200k_base token counting alone, the same texts, median of runs. */
static void counting_alone(const corpus *c, int runs, double floor_seg_s)
{
    double *a = malloc((size_t)runs * sizeof(double)), ra;
    ctxmem_tokenizer *tok = NULL;
    size_t total = 0, n;

    if (ctxmem_tokenizer_load(&tok, "o200k_base", NULL) != CTXMEM_OK)
        die("tokenizer", ctxmem_error_last()->message);
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now_ms();
        for (size_t i = 0; i < c->n; i++) {
            ctxmem_tokenizer_count(tok, c->text[i], c->len[i], &n);
            total += n;
        }
        a[r] = (double)c->n / ((bench_now_ms() - t0) / 1e3);
    }
    ra = median(a, (size_t)runs);
    printf("\ntoken counting alone (o200k_base, %zu tokens per pass): %.0f seg/s, %.3f of the "
           "NOSYNC floor\n", total / (size_t)runs, ra, ra / floor_seg_s);
    printf("RESULT {\"bench\":\"ingest_count_only\",\"segments\":%zu,\"seg_per_s\":%.0f,"
           "\"lmdb_nosync_seg_per_s\":%.0f,\"ratio\":%.4f}\n", c->n, ra, floor_seg_s,
           ra / floor_seg_s);
    ctxmem_tokenizer_free(tok);
    free(a);
}

int main(int argc, char **argv)
{
    size_t n = 20000, m = 300;
    int runs = 3;
    double floor_nosync;
    corpus c;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--segments") == 0)
            n = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--single") == 0)
            m = (size_t)atol(argv[i + 1]);
        else
            die("unknown option", argv[i]);
    }
    if (n < BATCH * 4 || runs < 1 || m < 10 || m > n)
        die("bad arguments", "need --segments >= 400, --runs >= 1, 10 <= --single <= N");
    make_corpus(&c, n);
    printf("ingest, batches of %d, o200k_base, default embedder; %zu segments, %.1f MB text; "
           "median of %d runs after a warm-up\n", BATCH, n, (double)c.bytes / 1e6, runs);
    printf("%-8s %10s %14s %14s %8s\n", "mode", "segments", "ctxmem seg/s", "LMDB seg/s",
           "ratio");
    floor_nosync = batched(&c, 0, runs);
    batched(&c, 1, runs);
    single(&c, m);
    counting_alone(&c, runs, floor_nosync);
    return 0;
}
