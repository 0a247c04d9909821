/*
 * Concurrency: one writer process and four reader processes (one of them with
 * two threads sharing a handle) on one store, and stale reader slots of
 * killed processes cleared when a store is opened.
 */
#include "testutil.h"
#include "rel.h"

#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define READERS 4

static void create_store(const char *dir)
{
    ctxmem_store *s = NULL;

    assert_ctxmem(rel_open(&s, dir, 0), CTXMEM_OK);
    ctxmem_store_close(s);
}

/* Wait for a worker; it must exit 0 having printed "done N" with N > 0. */
static unsigned long finish(pid_t pid, int fd, const char *who)
{
    char *out = rel_read_all(fd);
    unsigned long n = 0;
    int status;

    close(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s failed (status 0x%x); its error is on stderr above", who, status);
    assert_non_null(out);
    assert_int_equal(sscanf(out, "done %lu", &n), 1);
    free(out);
    assert_true(n > 0);
    return n;
}

/* After the run every turn of the conversation is there, in order and intact. */
static void check_final_store(const char *dir)
{
    ctxmem_store *s = NULL;
    ctxmem_iter *it = NULL;
    const ctxmem_segment *seg;
    char want[512];
    uint64_t t = 0;

    assert_ctxmem(rel_open(&s, dir, 0), CTXMEM_OK);
    assert_ctxmem(ctxmem_iter_new(&it, s, &rel_scope, 1), CTXMEM_OK);
    while (ctxmem_iter_next(it, &seg) == CTXMEM_OK) {
        size_t len = rel_turn_text(want, sizeof(want), t++);
        assert_int_equal(seg->text_len, len);
        assert_memory_equal(seg->text, want, len);
    }
    ctxmem_iter_free(it);
    assert_true(t > 100);
    ctxmem_store_close(s);
}

static void test_concurrency_readers_see_consistent_snapshots_while_writer_adds(void **state)
{
    static const char *const modes[READERS][2] = {{"1", "1"}, {"1", "2"}, {"0", "1"}, {"0", "1"}};
    char *dir = tu_tempdir();
    char seed[READERS][16];
    pid_t readers[READERS], writer;
    int out[READERS], in[READERS], wout;
    unsigned long rounds = 0;
    int64_t start = rel_now_us();

    (void)state;
    create_store(dir);
    for (int i = 0; i < READERS; i++) {
        char *argv[] = {"rel_worker", "reader", dir, seed[i], (char *)modes[i][0],
                        (char *)modes[i][1], NULL};
        snprintf(seed[i], sizeof(seed[i]), "%d", 11 + i);
        readers[i] = rel_spawn(argv, &out[i], &in[i]);
        assert_true(readers[i] > 0);
    }
    {
        char *argv[] = {"rel_worker", "writer", dir, "7", "1200", NULL};
        writer = rel_spawn(argv, &wout, NULL);
        assert_true(writer > 0);
    }
    finish(writer, wout, "the writer");
    for (int i = 0; i < READERS; i++) {
        close(in[i]); /* EOF on stdin: stop */
        rounds += finish(readers[i], out[i], "a reader");
    }
    printf("concurrency: 1 writer, %d readers (5 threads), %lu reader rounds, errors 0, "
           "%.1f s\n", READERS, rounds, (double)(rel_now_us() - start) / 1e6);
    check_final_store(dir);
    tu_rmtree(dir);
}

static int collect_line(const char *msg, void *ctx)
{
    return fputs(msg, ctx) < 0 ? -1 : 0;
}

/* Reader slots held by process `pid` in the store's lock file. */
static int reader_slots_of(const char *dir, pid_t pid)
{
    MDB_env *env = NULL;
    char *list = NULL;
    int n = 0;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    {
        FILE *f = open_memstream(&list, &(size_t){0});
        assert_non_null(f);
        mdb_reader_list(env, collect_line, f);
        fclose(f);
    }
    mdb_env_close(env);
    for (const char *line = list; line && *line; line = strchr(line, '\n') + 1) {
        int p;
        n += sscanf(line, "%d", &p) == 1 && p == (int)pid;
        if (!strchr(line, '\n'))
            break;
    }
    free(list);
    return n;
}

static pid_t start_and_wait_ready(const char *mode, const char *dir, int *out, int *in)
{
    char *argv[] = {"rel_worker", (char *)mode, (char *)dir, NULL};
    char line[16] = {0};
    pid_t pid = rel_spawn(argv, out, in);

    assert_true(pid > 0);
    assert_int_equal(read(*out, line, 6), 6);
    assert_string_equal(line, "ready\n");
    return pid;
}

static void test_concurrency_open_clears_stale_reader_slot_of_killed_process(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_store *s = NULL;
    ctxmem_segment_in in = {0};
    char text[512];
    int holder_out, holder_in, iter_out, status;
    pid_t holder, victim;

    (void)state;
    assert_ctxmem(rel_open(&s, dir, 0), CTXMEM_OK);
    in.role = CTXMEM_ROLE_USER;
    in.text = text, in.text_len = rel_turn_text(text, sizeof(text), 0);
    assert_ctxmem(ctxmem_store_add(s, &rel_scope, &in, 1, NULL), CTXMEM_OK);
    ctxmem_store_close(s);

    /* A live process keeps the lock file from being reset on the next open. */
    holder = start_and_wait_ready("hold-open", dir, &holder_out, &holder_in);
    victim = start_and_wait_ready("hold-iter", dir, &iter_out, NULL);
    kill(victim, SIGKILL);
    assert_int_equal(waitpid(victim, &status, 0), victim);
    close(iter_out);
    assert_int_equal(reader_slots_of(dir, victim), 1);

    assert_ctxmem(rel_open(&s, dir, 0), CTXMEM_OK);
    ctxmem_store_close(s);
    assert_int_equal(reader_slots_of(dir, victim), 0);

    close(holder_in);
    assert_int_equal(waitpid(holder, &status, 0), holder);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(holder_out);
    tu_rmtree(dir);
}

int main(void)
{
    /* FAISS's OpenMP threads spin; several processes on few cores would crawl. */
    setenv("OMP_NUM_THREADS", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrency_readers_see_consistent_snapshots_while_writer_adds),
        cmocka_unit_test(test_concurrency_open_clears_stale_reader_slot_of_killed_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
