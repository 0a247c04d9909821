#include "tt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ctxmem_tokenizer *tt_load(const char *name)
{
    ctxmem_tokenizer *tok = NULL;
    int rc = ctxmem_tokenizer_load(&tok, name, NULL);

    if (rc == CTXMEM_ENOTFOUND) {
        print_message("note: %s; using %s/tokenizers instead\n", ctxmem_error_last()->message,
                      CTXMEM_SHARED_DIR);
        rc = ctxmem_tokenizer_load(&tok, name, CTXMEM_SHARED_DIR "/tokenizers");
    }
    if (rc != CTXMEM_OK)
        fail_msg("cannot load %s: %s", name, ctxmem_error_last()->message);
    return tok;
}

static void ids_read(json_t *arr, uint32_t **ids, size_t *n)
{
    size_t i;
    json_t *v;

    assert_true(json_is_array(arr));
    *n = json_array_size(arr);
    *ids = calloc(*n + 1, sizeof(**ids));
    assert_non_null(*ids);
    json_array_foreach(arr, i, v)
    {
        assert_true(json_is_integer(v));
        (*ids)[i] = (uint32_t)json_integer_value(v);
    }
}

static void golden_parse(tt_golden *g, const char *line, size_t lineno)
{
    json_error_t jerr;
    json_t *obj = json_loads(line, JSON_ALLOW_NUL, &jerr), *text;

    if (!obj)
        fail_msg("golden line %zu: %s", lineno, jerr.text);
    text = json_object_get(obj, "text");
    assert_true(json_is_string(text));
    g->len = json_string_length(text); /* may hold U+0000 */
    g->text = malloc(g->len + 1);
    assert_non_null(g->text);
    memcpy(g->text, json_string_value(text), g->len + 1);
    ids_read(json_object_get(obj, "cl100k_base"), &g->ids[0], &g->n_ids[0]);
    ids_read(json_object_get(obj, "o200k_base"), &g->ids[1], &g->n_ids[1]);
    json_decref(obj);
}

tt_golden *tt_golden_read(size_t *n)
{
    const char *path = CTXMEM_SHARED_DIR "/tokenizers/golden_public.jsonl";
    char *data = tu_read_file(path, NULL), *line, *save = NULL;
    tt_golden *g = NULL;
    size_t cap = 0;

    if (!data)
        fail_msg("cannot read %s (the shared test data)", path);
    *n = 0;
    for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 512;
            g = realloc(g, cap * sizeof(*g));
            assert_non_null(g);
        }
        golden_parse(&g[*n], line, *n + 1);
        (*n)++;
    }
    free(data);
    return g;
}

void tt_golden_free(tt_golden *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].text);
        free(g[i].ids[0]);
        free(g[i].ids[1]);
    }
    free(g);
}

int tt_setup(void **state)
{
    tt_fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->tok[0] = tt_load("cl100k_base");
    f->tok[1] = tt_load("o200k_base");
    f->golden = tt_golden_read(&f->n);
    *state = f;
    return 0;
}

int tt_teardown(void **state)
{
    tt_fixture *f = *state;

    if (!f)
        return 0;
    ctxmem_tokenizer_free(f->tok[0]);
    ctxmem_tokenizer_free(f->tok[1]);
    tt_golden_free(f->golden, f->n);
    free(f);
    return 0;
}
