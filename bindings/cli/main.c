/*
 * ctxmem - command-line front end of the ctxmem library.
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"init", cmd_init, "create an empty store in a directory"},
    {"add", cmd_add, "add a message, or a file of messages, to a scope"},
    {"import", cmd_import, "load conversations (OpenAI chat format or LoCoMo)"},
    {"assemble", cmd_assemble, "build the context window of a scope for a budget"},
    {"search", cmd_search, "rank a scope's segments for a query"},
    {"inspect", cmd_inspect, "show a store's scopes, tokenizer and sizes"},
    {"stats", cmd_stats, "show a store's counts and sizes"},
    {"tokenize", cmd_tokenize, "count or list the tokens of a text"},
    {"replay", cmd_replay, "replay conversations at a budget and report (the main job)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ctxmem [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'ctxmem COMMAND --help' for a command's options.\n");
}

int cli_fail(const char *what)
{
    const ctxmem_error *e = ctxmem_error_last();

    fprintf(stderr, "ctxmem: %s: %s (%s)\n", what, e->message, ctxmem_strerror(e->code));
    return CLI_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "ctxmem %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'ctxmem %s --help' for usage.\n", cmd);
    return CLI_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("ctxmem %s\n", ctxmem_version());
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[1], commands[i].name)) {
            optind = 1;
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ctxmem: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
