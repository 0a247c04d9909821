/*
 * ctxmem tokenize - count or list the tokens of a text.
 */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tokenize_opts {
    const char *encoding;
    const char *dir;
    int ids;
    int jsonl;
};

static void tokenize_usage(FILE *f)
{
    fprintf(f, "usage: ctxmem tokenize [--encoding NAME] [--ids | --jsonl] [--tokenizer-dir DIR] "
               "[FILE]\n\n"
               "Print the number of tokens of the UTF-8 text in FILE (stdin when absent).\n\n"
               "  --encoding NAME       o200k_base (default), cl100k_base or approx\n"
               "  --ids                 print the token ids as a JSON array instead\n"
               "  --jsonl               read one JSON object per line with a \"text\" field and\n"
               "                        print {\"n\": COUNT, \"ids\": [...]} per line, in order\n"
               "                        (blank lines are skipped)\n"
               "  --tokenizer-dir DIR   where NAME.tiktoken is (default: the usual lookup)\n");
}

/* Read all of `f`; NULL with a message on failure. The caller frees it. */
static char *read_all(FILE *f, const char *what, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap), *bigger;

    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        bigger = realloc(buf, cap);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    if (!buf || ferror(f)) {
        fprintf(stderr, "ctxmem tokenize: cannot read %s\n", what);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void print_ids(const uint32_t *ids, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf(i ? ",%u" : "%u", ids[i]);
    putchar(']');
}

static int tokenize_text(const ctxmem_tokenizer *tok, const char *text, size_t len, int ids)
{
    uint32_t *out = NULL;
    size_t n = 0;

    if (!ids) {
        if (ctxmem_tokenizer_count(tok, text, len, &n) != CTXMEM_OK)
            return cli_fail("tokenize");
        printf("%zu\n", n);
        return CLI_OK;
    }
    if (ctxmem_tokenizer_encode(tok, text, len, &out, &n) != CTXMEM_OK)
        return cli_fail("tokenize");
    print_ids(out, n);
    putchar('\n');
    free(out);
    return CLI_OK;
}

/* One --jsonl line: {"text": ...} in, {"n": N, "ids": [...]} out. */
static int tokenize_json_line(const ctxmem_tokenizer *tok, const char *line, size_t len,
                              size_t lineno)
{
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    json_t *text = obj ? json_object_get(obj, "text") : NULL;
    uint32_t *ids = NULL;
    size_t n = 0;
    int rc = CLI_FAIL;

    if (!obj)
        fprintf(stderr, "ctxmem tokenize: line %zu: invalid JSON: %s\n", lineno, jerr.text);
    else if (!json_is_string(text))
        fprintf(stderr, "ctxmem tokenize: line %zu: no string field \"text\"\n", lineno);
    else if (ctxmem_tokenizer_encode(tok, json_string_value(text), json_string_length(text), &ids,
                                     &n) != CTXMEM_OK)
        fprintf(stderr, "ctxmem tokenize: line %zu: %s\n", lineno, ctxmem_error_last()->message);
    else
        rc = CLI_OK;
    if (rc == CLI_OK) {
        printf("{\"n\": %zu, \"ids\": ", n);
        print_ids(ids, n);
        printf("}\n");
    }
    free(ids);
    json_decref(obj);
    return rc;
}

static int tokenize_jsonl(const ctxmem_tokenizer *tok, const char *data, size_t len)
{
    size_t lineno = 0, pos = 0;

    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t start = pos;

        lineno++;
        pos = end + 1;
        while (start < end && (data[start] == ' ' || data[start] == '\t' || data[start] == '\r'))
            start++;
        if (start == end)
            continue;
        if (tokenize_json_line(tok, data + start, end - start, lineno) != CLI_OK)
            return CLI_FAIL;
    }
    return CLI_OK;
}

static int parse_args(int argc, char **argv, struct tokenize_opts *o)
{
    static const struct option longopts[] = {
        {"encoding", required_argument, NULL, 'e'}, {"ids", no_argument, NULL, 'i'},
        {"jsonl", no_argument, NULL, 'j'},          {"tokenizer-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "e:ijd:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            o->encoding = optarg;
            break;
        case 'i':
            o->ids = 1;
            break;
        case 'j':
            o->jsonl = 1;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'h':
            tokenize_usage(stdout);
            return -1; /* done, successfully */
        default:
            tokenize_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (o->ids && o->jsonl)
        return cli_usage("tokenize", "--ids and --jsonl exclude each other");
    if (argc - optind > 1)
        return cli_usage("tokenize", "expected at most one FILE");
    return CLI_OK;
}

int cmd_tokenize(int argc, char **argv)
{
    struct tokenize_opts o = {"o200k_base", NULL, 0, 0};
    ctxmem_tokenizer *tok = NULL;
    const char *path;
    FILE *f = stdin;
    char *data;
    size_t len = 0;
    int rc = parse_args(argc, argv, &o);

    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    path = optind < argc ? argv[optind] : NULL;
    if (path && !(f = fopen(path, "rb"))) {
        perror(path);
        return CLI_FAIL;
    }
    data = read_all(f, path ? path : "stdin", &len);
    if (f != stdin)
        fclose(f);
    if (!data)
        return CLI_FAIL;

    if (ctxmem_tokenizer_load(&tok, o.encoding, o.dir) != CTXMEM_OK)
        rc = cli_fail("tokenize");
    else if (o.jsonl)
        rc = tokenize_jsonl(tok, data, len);
    else
        rc = tokenize_text(tok, data, len, o.ids);
    ctxmem_tokenizer_free(tok);
    free(data);
    return rc;
}
