#include "rel.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const ctxmem_scope rel_scope = {"crash-user", "agent", "s1"};
const ctxmem_scope rel_other_scope = {"other-user", NULL, NULL};

static const char *const words[] = {
    "budget",  "deadline", "invoice", "meeting", "python",   "garden", "ticket", "travel",
    "concert", "recipe",   "doctor",  "report",  "database", "river",  "camera", "guitar",
    "must",    "always",   "never",   "prefers", "monday",   "friday", "paris",  "berlin",
    "seven",   "hundred",  "euros",   "contract", "review",  "deploy", "server", "painting"};

void rel_marker(char *buf, size_t cap, uint64_t turn)
{
    snprintf(buf, cap, "zq%07" PRIu64 "q", turn);
}

uint64_t rel_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

size_t rel_turn_text(char *buf, size_t cap, uint64_t turn)
{
    uint64_t r = turn * 0x9E3779B97F4A7C15ull + 1;
    size_t n, len;
    int nwords = 5 + (int)(rel_rand(&r) % 36);
    char marker[24];

    rel_marker(marker, sizeof(marker), turn);
    n = (size_t)snprintf(buf, cap, "Turn %" PRIu64 " %s:", turn, marker);
    for (int i = 0; i < nwords && n + 16 < cap; i++) {
        const char *w = words[rel_rand(&r) % (sizeof(words) / sizeof(words[0]))];
        n += (size_t)snprintf(buf + n, cap - n, " %s", w);
    }
    len = n < cap ? n : cap - 1;
    if (len + 1 < cap)
        buf[len++] = '.', buf[len] = '\0';
    return len;
}

int rel_turn_role(uint64_t turn)
{
    return turn % 2 ? CTXMEM_ROLE_ASSISTANT : CTXMEM_ROLE_USER;
}

int rel_open(ctxmem_store **out, const char *dir, unsigned flags)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;

    o.tokenizer = "approx";
    o.map_size = 256 << 10;
    o.flags = flags;
    /* Exact vector search, so that the cache and a rebuild from LMDB must agree hit for hit
     * at any size (an IVF index retrained on another sample may rank differently). */
    o.vector_index = CTXMEM_VINDEX_FLAT;
    return ctxmem_store_open(out, dir, &o);
}

int64_t rel_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

pid_t rel_spawn(char *const argv[], int *out_fd, int *in_fd)
{
    int out[2] = {-1, -1}, in[2] = {-1, -1};
    pid_t pid;

    if (pipe(out) != 0 || (in_fd && pipe(in) != 0))
        return -1;
    /* Other workers must not inherit these ends, or EOF would never come. */
    for (int i = 0; i < 2; i++) {
        fcntl(out[i], F_SETFD, FD_CLOEXEC);
        if (in_fd)
            fcntl(in[i], F_SETFD, FD_CLOEXEC);
    }
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(out[1], STDOUT_FILENO);
        dup2(in_fd ? in[0] : null, STDIN_FILENO);
        close(out[0]), close(out[1]);
        if (in_fd)
            close(in[0]), close(in[1]);
        execv(rel_worker_path(), argv);
        _exit(127);
    }
    close(out[1]);
    *out_fd = out[0];
    if (in_fd) {
        close(in[0]);
        *in_fd = in[1];
    }
    return pid;
}

char *rel_read_all(int fd)
{
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t got;

    while (buf) {
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
            continue;
        }
        got = read(fd, buf + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    if (buf)
        buf[n] = '\0';
    return buf;
}

const char *rel_worker_path(void)
{
    return REL_WORKER_PATH;
}
