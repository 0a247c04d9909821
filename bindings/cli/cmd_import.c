/*
 * ctxmem import - load conversations into a store, one transaction per
 * conversation: a malformed file adds nothing of the conversation at fault.
 */
#include "cli.h"
#include "import/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void import_usage(FILE *f)
{
    fprintf(f, "usage: ctxmem import --format openai|locomo [OPTIONS] DIR FILE\n\n"
               "Add every conversation of FILE to the store in DIR, one transaction each.\n"
               "openai: a JSON array of messages, an object with \"messages\", an array of\n"
               "such objects, or JSONL of either; each conversation goes to --session, or\n"
               "to session conversation-N. locomo: locomo10.json; each conversation goes to\n"
               "scope (sample_id, \"locomo\", \"\"), one segment per dialogue turn.\n\n"
               "  --format F   openai or locomo\n" CLI_COMMON_HELP);
}

static int add_openai(ctxmem_store *s, const cli_common *c, const openai_conv *conv, size_t i,
                      int fixed_scope)
{
    ctxmem_segment_in *in = calloc(conv->n, sizeof(*in));
    char session[40];
    ctxmem_scope scope = c->scope;
    int rc;

    if (!in)
        return CTXMEM_ENOMEM;
    snprintf(session, sizeof(session), "conversation-%zu", i + 1);
    if (!scope.session && !fixed_scope)
        scope.session = session;
    for (size_t m = 0; m < conv->n; m++)
        import_openai_segment(&conv->msgs[m], &in[m]);
    rc = ctxmem_store_add(s, &scope, in, conv->n, NULL);
    if (rc != CTXMEM_OK)
        fprintf(stderr, "ctxmem: import: conversation %zu is not imported\n", i + 1);
    free(in);
    return rc;
}

/* Read and parse an OpenAI-format file; *text keeps the bytes the set points into. */
static int load_openai(const char *path, openai_set **set, char **text)
{
    size_t len = 0;
    int rc = import_read_file(path, text, &len);

    return rc == CTXMEM_OK ? import_openai_parse(set, *text, len, path) : rc;
}

static int add_openai_set(ctxmem_store *s, const cli_common *c, const openai_set *set,
                          int fixed_scope, size_t *n)
{
    int rc = CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < set->n_conv; i++) {
        rc = add_openai(s, c, &set->conv[i], i, fixed_scope);
        *n += rc == CTXMEM_OK;
    }
    return rc;
}

int cli_import_openai(ctxmem_store *s, const cli_common *c, const char *path, int fixed_scope,
                      size_t *n)
{
    openai_set *set = NULL;
    char *text = NULL;
    int rc = load_openai(path, &set, &text);

    if (rc == CTXMEM_OK)
        rc = add_openai_set(s, c, set, fixed_scope, n);
    import_openai_free(set);
    free(text);
    return rc;
}

static int add_locomo(ctxmem_store *s, const locomo_conv *conv)
{
    ctxmem_segment_in *in = calloc(conv->n_turns + 1, sizeof(*in));
    char **texts = calloc(conv->n_turns + 1, sizeof(*texts));
    ctxmem_scope scope = {conv->sample_id, "locomo", ""};
    int rc = in && texts ? CTXMEM_OK : CTXMEM_ENOMEM;

    for (size_t t = 0; rc == CTXMEM_OK && t < conv->n_turns; t++) {
        const locomo_turn *turn = &conv->turns[t];
        texts[t] = import_locomo_turn_text(turn, &in[t].text_len);
        rc = texts[t] ? CTXMEM_OK : CTXMEM_ENOMEM;
        in[t].text = texts[t], in[t].time = turn->time;
        in[t].role =
            strcmp(turn->speaker, conv->speaker_a) ? CTXMEM_ROLE_ASSISTANT : CTXMEM_ROLE_USER;
    }
    if (rc == CTXMEM_OK && conv->n_turns)
        rc = ctxmem_store_add(s, &scope, in, conv->n_turns, NULL);
    for (size_t t = 0; texts && t < conv->n_turns; t++)
        free(texts[t]);
    free(texts);
    free(in);
    return rc;
}

static int add_locomo_set(ctxmem_store *s, const locomo_set *set, size_t *n)
{
    int rc = CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < set->n_conv; i++) {
        rc = add_locomo(s, &set->conv[i]);
        *n += rc == CTXMEM_OK;
    }
    return rc;
}

/* The whole file is read and parsed before the store is opened: bad input creates nothing. */
static int import_file(const char *format, const char *dir, const char *path, const cli_common *c,
                       size_t *n)
{
    openai_set *oa = NULL;
    locomo_set *lc = NULL;
    ctxmem_store *s = NULL;
    char *text = NULL;
    int rc =
        strcmp(format, "openai") ? import_locomo_load(&lc, path) : load_openai(path, &oa, &text);

    if (rc == CTXMEM_OK && cli_open(&s, dir, c, 0) != CLI_OK)
        rc = ctxmem_error_last()->code;
    else if (rc == CTXMEM_OK)
        rc = oa ? add_openai_set(s, c, oa, 0, n) : add_locomo_set(s, lc, n);
    ctxmem_store_close(s);
    import_openai_free(oa);
    import_locomo_free(lc);
    free(text);
    return rc;
}

int cmd_import(int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_COMMON_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    const char *format = NULL;
    size_t n = 0;
    cli_common c;
    int opt, rc;

    cli_common_init(&c);
    while ((opt = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        if (opt == 'f') {
            format = optarg;
            continue;
        }
        import_usage(opt == 'h' ? stdout : stderr);
        return opt == 'h' ? CLI_OK : CLI_USAGE;
    }
    if (!format || (strcmp(format, "openai") && strcmp(format, "locomo")))
        return cli_usage("import", "--format must be openai or locomo");
    if (optind + 2 != argc)
        return cli_usage("import", "expected DIR and FILE");
    rc = import_file(format, argv[optind], argv[optind + 1], &c, &n);
    if (rc != CTXMEM_OK) {
        fprintf(stderr, "ctxmem: import: %zu conversations imported before the error\n", n);
        return cli_fail("import");
    }
    printf(c.json ? "{\"conversations\": %zu}\n" : "imported %zu conversations\n", n);
    return CLI_OK;
}
