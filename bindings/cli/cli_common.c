/*
 * Options and helpers shared by the subcommands.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_common_opt(cli_common *c, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_USER:
        c->scope.user = arg;
        return 1;
    case CLI_OPT_AGENT:
        c->scope.agent = arg;
        return 1;
    case CLI_OPT_SESSION:
        c->scope.session = arg;
        return 1;
    case CLI_OPT_JSON:
        c->json = 1;
        return 1;
    case CLI_OPT_TOKENIZER_DIR:
        c->tokenizer_dir = arg;
        return 1;
    default:
        return 0;
    }
}

void cli_common_init(cli_common *c)
{
    memset(c, 0, sizeof(*c));
    c->scope.user = "default";
}

int cli_open(ctxmem_store **store, const char *dir, const cli_common *c, unsigned flags)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;

    o.flags = flags;
    o.tokenizer_dir = c->tokenizer_dir;
    if (ctxmem_store_open(store, dir, &o) != CTXMEM_OK)
        return cli_fail("open store");
    return CLI_OK;
}

int cli_parse_size(const char *cmd, const char *what, const char *arg, size_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (!arg || *arg == '-' || *arg == '\0')
        return cli_usage(cmd, "%s must be a non-negative integer, not '%s'", what, arg ? arg : "");
    v = strtoull(arg, &end, 10);
    if (*end != '\0' || v > (1ull << 40))
        return cli_usage(cmd, "%s must be a non-negative integer, not '%s'", what, arg);
    *out = (size_t)v;
    return CLI_OK;
}

void cli_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (s)
        puts(s);
    free(s);
    json_decref(j);
}
