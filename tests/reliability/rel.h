/*
 * Shared by the reliability tests and their worker program: the generated
 * conversation (every turn carries a unique marker word, so a search can find
 * it), the options every process opens the store with, and small helpers for
 * running workers as child processes.
 */
#ifndef CTXMEM_REL_H
#define CTXMEM_REL_H

#include "ctxmem.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The conversation's scope; turn t has sequence number t + 1 in it. */
extern const ctxmem_scope rel_scope;

/* A second scope, written by the concurrency writer so that tenants mix. */
extern const ctxmem_scope rel_other_scope;

/* The marker word of turn t ("zq0000042q"); buf holds at least 16 bytes. */
void rel_marker(char *buf, size_t cap, uint64_t turn);

/* The text of turn t (deterministic, 5-40 words, holds its marker); returns its length. */
size_t rel_turn_text(char *buf, size_t cap, uint64_t turn);

/* The role of turn t: user and assistant alternate. */
int rel_turn_role(uint64_t turn);

/*
 * Open a store the way every reliability process does: the "approx"
 * tokenizer (opening costs no rank table), a small initial map that has to
 * grow, plus `flags`.
 */
int rel_open(ctxmem_store **out, const char *dir, unsigned flags);

/* A deterministic generator (xorshift64*). */
uint64_t rel_rand(uint64_t *state);

/* Monotonic clock, microseconds. */
int64_t rel_now_us(void);

/*
 * Start the worker program with `argv` (argv[0] is ignored); its stdout goes
 * to a pipe whose read end is returned in *out_fd, its stdin reads from a
 * pipe whose write end is returned in *in_fd (NULL: /dev/null).
 */
pid_t rel_spawn(char *const argv[], int *out_fd, int *in_fd);

/* Read a child's whole stdout until EOF into a malloc'd NUL-terminated string. */
char *rel_read_all(int fd);

/* Path of the worker program (set at build time). */
const char *rel_worker_path(void);

#endif /* CTXMEM_REL_H */

/*
 * Check an assembled window's invariants independently of the assembly:
 * the messages JSON recounted message by message equals the report and fits
 * `available`; every segment item can be read; hot items lie at or after
 * hot_from_seq; summaries cover ascending, disjoint spans before it.
 * Returns 0, or -1 with a message in err.
 */
int rel_check_window(ctxmem_store *store, const ctxmem_window *win, size_t available, char *err,
                     size_t cap);
