/*
 * window_overhead.c - the C side of bench/python/window_overhead.py.
 *
 * usage: window_overhead STORE_DIR ITERATIONS BUDGET RESERVE QUERY
 *
 * Assembles the window of scope (bench, agent, s1) ITERATIONS times, as
 * Session.window() does: assemble, render messages and report JSON, free.
 * Prints one line: "c_us_per_window <mean wall> c_us_assemble_only <mean wall>
 * c_cpu_us_per_window <mean CPU time of the process>".
 */
#include <ctxmem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double now_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

static int one_window(ctxmem_store *store, const ctxmem_scope *scope, const char *query,
                      const ctxmem_budget *budget, int render, double *assemble_us)
{
    ctxmem_window *win = NULL;
    char *messages = NULL, *report = NULL;
    double t = now_us();
    int rc = ctxmem_window_assemble(&win, store, scope, query, strlen(query), budget);

    *assemble_us = now_us() - t;
    if (rc == CTXMEM_OK && render)
        rc = ctxmem_window_messages_json(win, &messages);
    if (rc == CTXMEM_OK && render)
        rc = ctxmem_window_report_json(win, &report);
    free(messages);
    free(report);
    ctxmem_window_free(win);
    return rc;
}

int main(int argc, char **argv)
{
    ctxmem_options opts = CTXMEM_OPTIONS_INIT;
    ctxmem_budget budget = CTXMEM_BUDGET_INIT;
    ctxmem_scope scope = {"bench", "agent", "s1"};
    ctxmem_store *store = NULL;
    double total = 0, assemble = 0, a = 0, t, cpu = 0;
    int n, rc;

    if (argc != 6) {
        fprintf(stderr, "usage: %s STORE_DIR ITERATIONS BUDGET RESERVE QUERY\n", argv[0]);
        return 2;
    }
    n = atoi(argv[2]);
    budget.limit = (size_t)atol(argv[3]);
    budget.reserve_output = (size_t)atol(argv[4]);
    opts.flags = CTXMEM_OPEN_NOSYNC;
    rc = ctxmem_store_open(&store, argv[1], &opts);
    for (int i = 0; rc == CTXMEM_OK && i < 3; i++) /* warm-up: caches, demotion settles */
        rc = one_window(store, &scope, argv[5], &budget, 1, &a);
    cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; rc == CTXMEM_OK && i < n; i++) {
        t = now_us();
        rc = one_window(store, &scope, argv[5], &budget, 1, &a);
        total += now_us() - t;
        assemble += a;
    }
    cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID) - cpu;
    if (rc != CTXMEM_OK) {
        fprintf(stderr, "window_overhead: %s\n", ctxmem_error_last()->message);
        ctxmem_store_close(store);
        return 1;
    }
    printf("c_us_per_window %.1f c_us_assemble_only %.1f c_cpu_us_per_window %.1f\n", total / n,
           assemble / n, cpu / n);
    ctxmem_store_close(store);
    return 0;
}
