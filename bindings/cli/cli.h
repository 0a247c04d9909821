/*
 * The ctxmem command: one function per subcommand, each taking the arguments
 * after the subcommand name (argv[0] is the subcommand) and returning the
 * process exit status.
 */
#ifndef CTXMEM_CLI_H
#define CTXMEM_CLI_H

#include "ctxmem.h"

#include <getopt.h>
#include <jansson.h>

/* Exit statuses shared by every subcommand. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

int cmd_init(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_assemble(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_replay(int argc, char **argv);

/* Print "ctxmem: WHAT: <last ctxmem error>" to stderr; returns CLI_FAIL. */
int cli_fail(const char *what);

/* Print a usage error to stderr; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...);

/* Options most subcommands share: the scope, --json, --tokenizer-dir. */
enum { CLI_OPT_USER = 1000, CLI_OPT_AGENT, CLI_OPT_SESSION, CLI_OPT_JSON, CLI_OPT_TOKENIZER_DIR };

#define CLI_COMMON_LONGOPTS                                                                        \
    {"user", required_argument, NULL, CLI_OPT_USER},                                               \
        {"agent", required_argument, NULL, CLI_OPT_AGENT},                                         \
        {"session", required_argument, NULL, CLI_OPT_SESSION},                                     \
        {"json", no_argument, NULL, CLI_OPT_JSON},                                                 \
    {                                                                                              \
        "tokenizer-dir", required_argument, NULL, CLI_OPT_TOKENIZER_DIR                            \
    }

#define CLI_COMMON_HELP                                                                            \
    "  --user U --agent A --session S   the scope (default user \"default\")\n"                    \
    "  --json                           print data as JSON\n"                                      \
    "  --tokenizer-dir DIR              where NAME.tiktoken is\n"

typedef struct cli_common {
    ctxmem_scope scope;
    int json;
    const char *tokenizer_dir;
} cli_common;

void cli_common_init(cli_common *c);

/* Handle a shared option; 1 when it was one. */
int cli_common_opt(cli_common *c, int opt, const char *arg);

/* Open a store for a subcommand; prints the error and returns CLI_FAIL on failure. */
int cli_open(ctxmem_store **store, const char *dir, const cli_common *c, unsigned flags);

/* Parse a non-negative integer option; CLI_USAGE with a message when it is not one. */
int cli_parse_size(const char *cmd, const char *what, const char *arg, size_t *out);

/*
 * Add every conversation of an OpenAI-format file, one transaction each. With
 * fixed_scope the scope is used as given; otherwise a scope without a session
 * gets session "conversation-N". *n counts the conversations added.
 */
int cli_import_openai(ctxmem_store *s, const cli_common *c, const char *path, int fixed_scope,
                      size_t *n);

/* Print JSON (indented) to stdout and release it. */
void cli_print_json(json_t *j);

#endif /* CTXMEM_CLI_H */
