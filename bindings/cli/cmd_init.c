/*
 * ctxmem init DIR - create an empty store.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>

static void init_usage(FILE *f)
{
    fprintf(f, "usage: ctxmem init [--tokenizer NAME] [--tokenizer-dir DIR] DIR\n\n"
               "Create an empty store in DIR (created 0700 when missing).\n\n"
               "  --tokenizer NAME      o200k_base (default), cl100k_base or approx\n"
               "  --tokenizer-dir DIR   where NAME.tiktoken is (default: the usual lookup)\n");
}

int cmd_init(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tokenizer", required_argument, NULL, 't'},
        {"tokenizer-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ctxmem_options opts = CTXMEM_OPTIONS_INIT;
    ctxmem_store *store = NULL;
    ctxmem_store_info info;
    int c;

    while ((c = getopt_long(argc, argv, "t:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            opts.tokenizer = optarg;
            break;
        case 'd':
            opts.tokenizer_dir = optarg;
            break;
        case 'h':
            init_usage(stdout);
            return CLI_OK;
        default:
            init_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind + 1 != argc)
        return cli_usage("init", "expected one store directory");
    if (ctxmem_store_open(&store, argv[optind], &opts) != CTXMEM_OK)
        return cli_fail("init");
    if (ctxmem_store_stat(store, &info) != CTXMEM_OK) {
        ctxmem_store_close(store);
        return cli_fail("init");
    }
    printf("store %s: format %u, tokenizer %s, %llu segments\n", argv[optind], info.format,
           info.tokenizer, (unsigned long long)info.segments);
    ctxmem_store_close(store);
    return CLI_OK;
}
