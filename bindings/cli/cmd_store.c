/*
 * Subcommands that work on one store: add, assemble, inspect, stats, search.
 */
#include "cli.h"
#include "import/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read standard input whole. */
static char *read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap + 1);

    while (buf && (r = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += r;
        if (n == cap) {
            char *b = realloc(buf, (cap *= 2) + 1);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    if (buf)
        buf[n] = '\0', *len = n;
    return buf;
}

static void add_usage(FILE *f)
{
    fprintf(f, "usage: ctxmem add [OPTIONS] DIR [TEXT]\n\n"
               "Add one message (TEXT, or standard input) or a file of OpenAI-format\n"
               "messages to a scope of the store in DIR, in one transaction.\n\n"
               "  --role ROLE     system, user (default), assistant, document, note\n"
               "  --name NAME     speaker name\n"
               "  --key KEY       fact key (a later segment with the key supersedes it)\n"
               "  --file FILE     OpenAI chat messages (JSON, or JSONL) instead of "
               "TEXT\n" CLI_COMMON_HELP);
}

/* Add every message of an OpenAI file to the scope, one batch per conversation. */
static int add_file(ctxmem_store *s, const cli_common *c, const char *path)
{
    size_t n = 0;

    if (cli_import_openai(s, c, path, 1, &n) != CTXMEM_OK)
        return cli_fail("add");
    if (!c->json)
        printf("added %zu conversation%s\n", n, n == 1 ? "" : "s");
    return CLI_OK;
}

int cmd_add(int argc, char **argv)
{
    static const struct option longopts[] = {{"role", required_argument, NULL, 'r'},
                                             {"name", required_argument, NULL, 'n'},
                                             {"key", required_argument, NULL, 'k'},
                                             {"file", required_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_COMMON_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    ctxmem_segment_in in = {0};
    const char *file = NULL;
    ctxmem_store *s = NULL;
    cli_common c;
    uint64_t id = 0;
    char *text = NULL;
    int opt, rc;

    cli_common_init(&c);
    in.role = CTXMEM_ROLE_USER;
    while ((opt = getopt_long(argc, argv, "r:n:k:f:h", longopts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        switch (opt) {
        case 'r':
            if ((in.role = ctxmem_role_parse(optarg)) < 0)
                return cli_usage("add", "unknown role '%s'", optarg);
            break;
        case 'n':
            in.name = optarg;
            break;
        case 'k':
            in.key = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'h':
            add_usage(stdout);
            return CLI_OK;
        default:
            add_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind >= argc || argc - optind > 2 || (file && argc - optind != 1))
        return cli_usage("add", "expected DIR and TEXT (or DIR with --file)");
    if ((rc = cli_open(&s, argv[optind], &c, 0)) != CLI_OK)
        return rc;
    if (file) {
        rc = add_file(s, &c, file);
        ctxmem_store_close(s);
        return rc;
    }
    text = argc - optind == 2 ? strdup(argv[optind + 1]) : read_stdin(&in.text_len);
    in.text = text;
    in.text_len = argc - optind == 2 && text ? strlen(text) : in.text_len;
    /* Text piped in ends with the newline of its last line; that is not part of it. */
    while (text && argc - optind == 1 && in.text_len > 0 &&
           (text[in.text_len - 1] == '\n' || text[in.text_len - 1] == '\r'))
        in.text_len--;
    rc = text && ctxmem_store_add(s, &c.scope, &in, 1, &id) == CTXMEM_OK ? CLI_OK : cli_fail("add");
    if (rc == CLI_OK)
        printf(c.json ? "{\"id\": %llu}\n" : "added segment %llu\n", (unsigned long long)id);
    free(text);
    ctxmem_store_close(s);
    return rc;
}

/* ---- assemble ---- */

/* A mistyped scope gives an empty result: say so, on stderr. */
static void warn_empty_scope(ctxmem_store *s, const ctxmem_scope *scope)
{
    uint32_t id;

    if (ctxmem_store_scope_id(s, scope, &id) != CTXMEM_OK)
        fprintf(stderr,
                "ctxmem: note: scope (user '%s', agent '%s', session '%s') has no "
                "segments; 'ctxmem inspect DIR' lists the scopes\n",
                scope->user, scope->agent ? scope->agent : "",
                scope->session ? scope->session : "");
}

static void assemble_usage(FILE *f)
{
    fprintf(f, "usage: ctxmem assemble [OPTIONS] DIR --budget N\n\n"
               "Assemble the context window of a scope and print its composition,\n"
               "or the window itself as chat messages.\n\n"
               "  --budget N        context limit in tokens (required)\n"
               "  --reserve M       tokens kept for the reply (default 0)\n"
               "  --query TEXT      rank the cold tier by TEXT (default: the latest user turn)\n"
               "  --messages        print the window as OpenAI chat messages (JSON)\n"
               "  (--json prints the window report)\n" CLI_COMMON_HELP);
}

/* At most `max` bytes of a text on one line, cut at a character boundary. */
static void print_excerpt(const char *text, size_t len, size_t max)
{
    size_t end = len < max ? len : max;

    while (end < len && end > 0 && ((unsigned char)text[end] & 0xC0) == 0x80)
        end--;
    for (size_t i = 0; i < end; i++)
        putchar(text[i] == '\n' || text[i] == '\r' || text[i] == '\t' ? ' ' : text[i]);
    puts(end < len ? "..." : "");
}

static void print_composition(const ctxmem_window *w)
{
    const ctxmem_window_report *r = ctxmem_window_report_get(w);

    printf("window: %zu of %zu tokens (limit %zu, reserve %zu), tokenizer %s%s\n", r->tokens,
           r->available, r->limit, r->reserve_output, r->tokenizer,
           r->tokenizer_exact ? "" : " (approximate)");
    printf("%-7s %8s %6s\n", "tier", "tokens", "items");
    for (int t = 0; t < CTXMEM_TIER_COUNT; t++)
        printf("%-7s %8zu %6zu\n", ctxmem_tier_name(t), r->tier_tokens[t], r->tier_items[t]);
    printf("\n%-6s %-11s %6s  %-9s %s\n", "tier", "role", "tokens", "reason", "text");
    for (size_t i = 0; i < ctxmem_window_count(w); i++) {
        const ctxmem_window_item *it = ctxmem_window_item_at(w, i);
        printf("%-6s %-11s %6zu  %-9s ", ctxmem_tier_name(it->tier), ctxmem_role_name(it->role),
               it->tokens, it->reason);
        print_excerpt(it->text, it->text_len, 60);
    }
    printf("\n%zu left out or cut; demoted %zu turns, %zu summaries written, %zu merged; "
           "%.0f us\n",
           r->n_dropped, r->demoted, r->summaries_created, r->summaries_merged, r->us_total);
}

int cmd_assemble(int argc, char **argv)
{
    static const struct option longopts[] = {{"budget", required_argument, NULL, 'b'},
                                             {"reserve", required_argument, NULL, 'r'},
                                             {"query", required_argument, NULL, 'q'},
                                             {"messages", no_argument, NULL, 'm'},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_COMMON_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    ctxmem_budget b = CTXMEM_BUDGET_INIT;
    const char *query = NULL;
    ctxmem_window *w = NULL;
    ctxmem_store *s = NULL;
    int opt, messages = 0, rc = CLI_OK;
    char *json = NULL;
    cli_common c;

    cli_common_init(&c);
    while ((opt = getopt_long(argc, argv, "b:r:q:mh", longopts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        if (opt == 'b')
            rc = cli_parse_size("assemble", "--budget", optarg, &b.limit);
        else if (opt == 'r')
            rc = cli_parse_size("assemble", "--reserve", optarg, &b.reserve_output);
        else if (opt == 'q')
            query = optarg;
        else if (opt == 'm')
            messages = 1;
        else {
            assemble_usage(opt == 'h' ? stdout : stderr);
            return opt == 'h' ? CLI_OK : CLI_USAGE;
        }
        if (rc != CLI_OK)
            return rc;
    }
    if (optind + 1 != argc || b.limit == 0)
        return cli_usage("assemble", "expected DIR and --budget N");
    if ((rc = cli_open(&s, argv[optind], &c, CTXMEM_OPEN_NOCREATE)) != CLI_OK)
        return rc;
    warn_empty_scope(s, &c.scope);
    if (ctxmem_window_assemble(&w, s, &c.scope, query, query ? strlen(query) : 0, &b) != CTXMEM_OK)
        rc = cli_fail("assemble");
    else if (messages || c.json)
        rc = (messages ? ctxmem_window_messages_json(w, &json)
                       : ctxmem_window_report_json(w, &json)) == CTXMEM_OK
                 ? (puts(json), CLI_OK)
                 : cli_fail("assemble");
    else
        print_composition(w);
    free(json);
    ctxmem_window_free(w);
    ctxmem_store_close(s);
    return rc;
}

/* ---- inspect and stats ---- */

struct scope_list {
    ctxmem_store *store;
    json_t *arr; /* NULL: print a table */
};

static int print_scope(void *user, const ctxmem_scope_info *info)
{
    struct scope_list *l = user;
    ctxmem_tier_info t;
    uint64_t hot;

    ctxmem_scope_tiers(l->store, &info->scope, &t);
    hot = t.last_seq >= t.hot_from_seq ? t.last_seq - t.hot_from_seq + 1 : 0;
    if (l->arr)
        json_array_append_new(
            l->arr, json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:{s:I,s:I,s:I}}", "id",
                              (json_int_t)info->id, "user", info->scope.user, "agent",
                              info->scope.agent, "session", info->scope.session, "segments",
                              (json_int_t)info->segments, "tokens", (json_int_t)info->tokens,
                              "tiers", "hot_segments", (json_int_t)hot, "hot_from_seq",
                              (json_int_t)t.hot_from_seq, "summaries", (json_int_t)t.summaries));
    else
        printf("%6u  %-20s %-14s %-14s %9llu %10llu %6llu %9zu\n", info->id, info->scope.user,
               info->scope.agent, info->scope.session, (unsigned long long)info->segments,
               (unsigned long long)info->tokens, (unsigned long long)hot, t.summaries);
    return 0;
}

static json_t *info_json(const ctxmem_store_info *i)
{
    return json_pack("{s:I,s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I}", "format", (json_int_t)i->format,
                     "tokenizer", i->tokenizer, "embedder", i->embedder, "embedder_dim",
                     (json_int_t)i->embedder_dim, "language", i->language, "segments",
                     (json_int_t)i->segments, "scopes", (json_int_t)i->scopes, "tokens",
                     (json_int_t)i->tokens, "map_size", (json_int_t)i->map_size, "used_bytes",
                     (json_int_t)i->used_bytes);
}

static int info_command(const char *name, int argc, char **argv, int list_scopes)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
    ctxmem_store_info info;
    ctxmem_store *s = NULL;
    json_t *j = NULL;
    cli_common c;
    int opt, rc;

    cli_common_init(&c);
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        fprintf(opt == 'h' ? stdout : stderr, "usage: ctxmem %s [--json] DIR\n\n%s\n", name,
                list_scopes ? "Show a store's format, tokenizer, sizes and every scope."
                            : "Show a store's counts and sizes.");
        return opt == 'h' ? CLI_OK : CLI_USAGE;
    }
    if (optind + 1 != argc)
        return cli_usage(name, "expected one store directory");
    if ((rc = cli_open(&s, argv[optind], &c, CTXMEM_OPEN_NOCREATE)) != CLI_OK)
        return rc;
    if (ctxmem_store_stat(s, &info) != CTXMEM_OK) {
        ctxmem_store_close(s);
        return cli_fail(name);
    }
    if (c.json) {
        j = info_json(&info);
        if (list_scopes) {
            struct scope_list l = {s, json_array()};
            ctxmem_store_scopes(s, print_scope, &l);
            json_object_set_new(j, "scopes", l.arr);
        }
        cli_print_json(j);
    } else {
        printf("format %u, tokenizer %s, embedder %s (%zu dimensions), language %s\n"
               "%llu segments, %llu tokens, %llu scopes\nmap %zu bytes, %zu in use\n",
               info.format, info.tokenizer, info.embedder, info.embedder_dim, info.language,
               (unsigned long long)info.segments, (unsigned long long)info.tokens,
               (unsigned long long)info.scopes, info.map_size, info.used_bytes);
        if (list_scopes) {
            struct scope_list l = {s, NULL};
            printf("\n%6s  %-20s %-14s %-14s %9s %10s %6s %9s\n", "scope", "user", "agent",
                   "session", "segments", "tokens", "hot", "summaries");
            ctxmem_store_scopes(s, print_scope, &l);
        }
    }
    ctxmem_store_close(s);
    return CLI_OK;
}

int cmd_inspect(int argc, char **argv)
{
    return info_command("inspect", argc, argv, 1);
}

int cmd_stats(int argc, char **argv)
{
    return info_command("stats", argc, argv, 0);
}

/* ---- search ---- */

static json_t *hit_json(ctxmem_store *s, const ctxmem_hit *h)
{
    ctxmem_segment *seg = NULL;
    json_t *j = json_pack("{s:I,s:I,s:f,s:f,s:i,s:f,s:i,s:f,s:I}", "id", (json_int_t)h->id, "seq",
                          (json_int_t)h->seq, "score", (double)h->score, "vector_score",
                          (double)h->vector_score, "vector_rank", h->vector_rank, "lexical_score",
                          (double)h->lexical_score, "lexical_rank", h->lexical_rank, "recency",
                          (double)h->recency, "neighbour_of", (json_int_t)h->neighbour_of);

    if (ctxmem_store_get(&seg, s, h->id) == CTXMEM_OK) {
        json_object_set_new(j, "role", json_string(ctxmem_role_name(seg->role)));
        json_object_set_new(j, "name", json_string(seg->name));
        json_object_set_new(j, "text", json_stringn(seg->text, seg->text_len));
    }
    ctxmem_segment_free(seg);
    return j;
}

static void print_hits(ctxmem_store *s, const ctxmem_hit *hits, size_t n, int as_json)
{
    json_t *arr = as_json ? json_array() : NULL;

    if (!as_json)
        printf("%4s %8s %7s %9s %9s  %s\n", "rank", "segment", "score", "vector", "lexical",
               "text");
    for (size_t i = 0; i < n; i++) {
        json_t *j = hit_json(s, &hits[i]);
        if (as_json) {
            json_array_append_new(arr, j);
            continue;
        }
        const char *text = json_string_value(json_object_get(j, "text"));
        printf("%s%3zu %8llu %7.4f %4d:%.3f %4d:%.2f  ", hits[i].neighbour_of ? "+" : " ", i + 1,
               (unsigned long long)hits[i].id, (double)hits[i].score, hits[i].vector_rank,
               (double)hits[i].vector_score, hits[i].lexical_rank, (double)hits[i].lexical_score);
        print_excerpt(text ? text : "", text ? strlen(text) : 0, 60);
        json_decref(j);
    }
    if (as_json)
        cli_print_json(arr);
}

int cmd_search(int argc, char **argv)
{
    static const struct option longopts[] = {{"query", required_argument, NULL, 'q'},
                                             {"k", required_argument, NULL, 'k'},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_COMMON_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    ctxmem_search_opts so = CTXMEM_SEARCH_OPTS_INIT;
    const char *query = NULL;
    ctxmem_hit *hits = NULL;
    ctxmem_store *s = NULL;
    size_t n = 0;
    cli_common c;
    int opt, rc = CLI_OK;

    cli_common_init(&c);
    while ((opt = getopt_long(argc, argv, "q:k:h", longopts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        if (opt == 'q')
            query = optarg;
        else if (opt == 'k')
            rc = cli_parse_size("search", "-k", optarg, &so.k);
        else {
            fprintf(
                opt == 'h' ? stdout : stderr,
                "usage: ctxmem search [OPTIONS] DIR --query TEXT [-k N]\n\nRank a scope's "
                "segments for a query, with each signal's rank and score\n"
                "(vector rank:inner product, lexical rank:BM25).\n\n"
                "  --query TEXT   what to look for\n"
                "  -k N           hits wanted (default 20); each hit may bring its\n"
                "                 neighbour turns, shown with '+' before the rank\n" CLI_COMMON_HELP
                "(--agent/--session left out match any)\n");
            return opt == 'h' ? CLI_OK : CLI_USAGE;
        }
        if (rc != CLI_OK)
            return rc;
    }
    if (optind + 1 != argc || !query)
        return cli_usage("search", "expected DIR and --query TEXT");
    if ((rc = cli_open(&s, argv[optind], &c, CTXMEM_OPEN_NOCREATE)) != CLI_OK)
        return rc;
    if (ctxmem_search(&hits, &n, s, &c.scope, 1, query, strlen(query), &so) != CTXMEM_OK)
        rc = cli_fail("search");
    else
        print_hits(s, hits, n, c.json);
    ctxmem_hits_free(hits);
    ctxmem_store_close(s);
    return rc;
}
