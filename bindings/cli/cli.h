/*
 * The ctxmem command: one function per subcommand, each taking the arguments
 * after the subcommand name (argv[0] is the subcommand) and returning the
 * process exit status.
 */
#ifndef CTXMEM_CLI_H
#define CTXMEM_CLI_H

#include "ctxmem.h"

/* Exit statuses shared by every subcommand. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

int cmd_init(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);

/* Print "ctxmem: WHAT: <last ctxmem error>" to stderr; returns CLI_FAIL. */
int cli_fail(const char *what);

/* Print a usage error to stderr; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...);

#endif /* CTXMEM_CLI_H */
