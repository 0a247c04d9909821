/*
 * The memory_search tool: a definition an application hands to its model, and
 * the handler that answers the model's call from the store.
 */
#include "window_internal.h"
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define RECALL_DEFAULT_K 8
#define RECALL_MAX_K     50

static const char recall_tool[] =
    "{\"type\":\"function\",\"function\":{\"name\":\"memory_search\","
    "\"description\":\"Search the long-term memory of this conversation for earlier messages, "
    "facts, decisions and constraints relevant to a query. Use it when the answer may depend on "
    "something said earlier that is not in the current context.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\",\"description\":\"What to look for, in plain words.\"},"
    "\"k\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,"
    "\"description\":\"How many results to return at most (default 8).\"}},"
    "\"required\":[\"query\"],\"additionalProperties\":false}}}";

const char *ctxmem_recall_tool_json(void)
{
    return recall_tool;
}

static int parse_arguments(const char *arguments, const char **query, size_t *query_len, size_t *k,
                           json_t **root)
{
    json_error_t jerr;
    json_t *q, *kk;

    *root = json_loads(arguments, 0, &jerr);
    if (!*root)
        return err_set(CTXMEM_EINVAL, "recall: arguments are not JSON: %s at offset %d", jerr.text,
                       jerr.position);
    q = json_object_get(*root, "query");
    kk = json_object_get(*root, "k");
    if (!json_is_object(*root) || !json_is_string(q))
        return err_set(CTXMEM_EINVAL, "recall: arguments need a string field \"query\"");
    if (kk && (!json_is_integer(kk) || json_integer_value(kk) < 1 ||
               json_integer_value(kk) > RECALL_MAX_K))
        return err_set(CTXMEM_EINVAL, "recall: \"k\" must be an integer from 1 to %d",
                       RECALL_MAX_K);
    *query = json_string_value(q);
    *query_len = json_string_length(q);
    *k = kk ? (size_t)json_integer_value(kk) : RECALL_DEFAULT_K;
    return CTXMEM_OK;
}

/* Append hits while the JSON text of the results stays within max_tokens. */
static int pack_results(ctxmem_store *store, const ctxmem_hit *hits, size_t n, size_t max_tokens,
                        json_t *results)
{
    const ctxmem_tokenizer *tok = ctxmem_store_tokenizer(store);
    int rc = CTXMEM_OK;

    for (size_t i = 0; rc == CTXMEM_OK && i < n; i++) {
        ctxmem_segment *seg = NULL;
        size_t tokens = 0;
        char *text;
        if (ctxmem_store_get(&seg, store, hits[i].id) != CTXMEM_OK)
            continue;
        json_t *r =
            json_pack("{s:I,s:I,s:s,s:s,s:s%,s:f}", "id", (json_int_t)seg->id, "time",
                      (json_int_t)seg->time, "role", ctxmem_role_name(seg->role), "name", seg->name,
                      "text", seg->text, seg->text_len, "score", (double)hits[i].score);
        ctxmem_segment_free(seg);
        if (!r || json_array_append_new(results, r) != 0)
            return err_set(CTXMEM_ENOMEM, "recall: out of memory");
        text = json_dumps(results, JSON_COMPACT);
        if (!text)
            return err_set(CTXMEM_ENOMEM, "recall: out of memory");
        rc = ctxmem_tokenizer_count(tok, text, strlen(text), &tokens);
        free(text);
        if (rc == CTXMEM_OK && tokens + 8 > max_tokens) {
            json_array_remove(results, json_array_size(results) - 1);
            break;
        }
    }
    return rc;
}

int ctxmem_recall_answer(char **result, ctxmem_store *store, const ctxmem_scope *scope,
                         const char *arguments, size_t max_tokens)
{
    ctxmem_search_opts opts = CTXMEM_SEARCH_OPTS_INIT;
    json_t *root = NULL, *results = NULL;
    ctxmem_hit *hits = NULL;
    const char *query = NULL;
    size_t query_len = 0, n = 0;
    int rc;

    if (!result)
        return err_set(CTXMEM_EINVAL, "recall: NULL result");
    *result = NULL;
    if (!store || !scope || !arguments)
        return err_set(CTXMEM_EINVAL, "recall: NULL argument");
    rc = parse_arguments(arguments, &query, &query_len, &opts.k, &root);
    if (rc == CTXMEM_OK)
        rc = ctxmem_search(&hits, &n, store, scope, 1, query, query_len, &opts);
    results = json_array();
    if (rc == CTXMEM_OK && !results)
        rc = err_set(CTXMEM_ENOMEM, "recall: out of memory");
    if (rc == CTXMEM_OK)
        rc = pack_results(store, hits, n, max_tokens, results);
    if (rc == CTXMEM_OK) {
        json_t *obj = json_pack("{s:O}", "results", results);
        *result = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        json_decref(obj);
        if (!*result)
            rc = err_set(CTXMEM_ENOMEM, "recall: out of memory");
    }
    json_decref(results);
    json_decref(root);
    ctxmem_hits_free(hits);
    return rc;
}
