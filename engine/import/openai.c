/*
 * The OpenAI chat format reader (see import.h): a JSON array of messages, an
 * object with a "messages" array, a JSON array of such objects, or JSONL of
 * either. Strings point into the parsed jansson trees, which the set keeps.
 */
#include "import.h"
#include "internal.h"
#include "ctxmem/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oparse {
    const char *name;
    size_t conv, msg;
    openai_set *set;
    json_t *roots; /* every parsed root, kept alive */
};

static int obad(const struct oparse *p, const char *what)
{
    return err_set(CTXMEM_EINVAL, "openai: %s: conversation %zu, message %zu: %s", p->name,
                   p->conv + 1, p->msg + 1, what);
}

static int push_msg(openai_conv *c, const openai_msg *m)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        openai_msg *n = realloc(c->msgs, cap * sizeof(*n));
        if (!n)
            return err_set(CTXMEM_ENOMEM, "openai: out of memory");
        c->msgs = n, c->cap = cap;
    }
    c->msgs[c->n++] = *m;
    return CTXMEM_OK;
}

/* Content is a string, null, or an array of parts whose text parts are joined. */
static int content_text(struct oparse *p, json_t *content, const char **text, size_t *len)
{
    size_t i, total = 0;
    json_t *part;
    char *joined;

    *text = "", *len = 0;
    if (!content || json_is_null(content))
        return CTXMEM_OK;
    if (json_is_string(content)) {
        *text = json_string_value(content), *len = json_string_length(content);
        return CTXMEM_OK;
    }
    if (!json_is_array(content))
        return obad(p, "field 'content' must be a string, an array of parts or null");
    json_array_foreach(content, i, part) total +=
        json_string_length(json_object_get(part, "text")) + 1;
    joined = malloc(total + 1);
    if (!joined)
        return err_set(CTXMEM_ENOMEM, "openai: out of memory");
    *len = 0;
    json_array_foreach(content, i, part)
    {
        json_t *t = json_object_get(part, "text");
        if (!json_is_string(t))
            continue;
        memcpy(joined + *len, json_string_value(t), json_string_length(t));
        *len += json_string_length(t);
    }
    joined[*len] = '\0';
    /* Owned by the tree from now on, freed with it. */
    json_array_append_new(p->roots, json_stringn_nocheck(joined, *len));
    *text = json_string_value(json_array_get(p->roots, json_array_size(p->roots) - 1));
    free(joined);
    return CTXMEM_OK;
}

static int tool_calls(struct oparse *p, openai_conv *c, json_t *calls)
{
    size_t i;
    json_t *call;

    if (!json_is_array(calls))
        return obad(p, "field 'tool_calls' must be an array");
    json_array_foreach(calls, i, call)
    {
        json_t *fn = json_object_get(call, "function");
        json_t *args = json_object_get(fn, "arguments");
        openai_msg m = {CTXMEM_ROLE_TOOL_CALL, json_string_value(json_object_get(fn, "name")),
                        json_string_value(args), json_string_length(args),
                        json_string_value(json_object_get(call, "id"))};
        if (!m.name || !m.text || !m.pair_id)
            return obad(p, "a tool call needs string fields 'id', 'function.name' and "
                           "'function.arguments'");
        int rc = push_msg(c, &m);
        if (rc != CTXMEM_OK)
            return rc;
    }
    return CTXMEM_OK;
}

static int parse_message(struct oparse *p, openai_conv *c, json_t *m)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    json_t *calls = json_object_get(m, "tool_calls");
    openai_msg out = {0};
    int rc;

    if (!json_is_object(m))
        return obad(p, "a message must be a JSON object");
    if (!role)
        return obad(p, "missing string field 'role'");
    out.role = !strcmp(role, "tool")        ? CTXMEM_ROLE_TOOL_RESULT
               : !strcmp(role, "developer") ? CTXMEM_ROLE_SYSTEM
                                            : ctxmem_role_parse(role);
    if (out.role < 0 || out.role == CTXMEM_ROLE_TOOL_CALL)
        return obad(p, "field 'role' must be system, user, assistant or tool");
    out.name = json_string_value(json_object_get(m, "name"));
    rc = content_text(p, json_object_get(m, "content"), &out.text, &out.text_len);
    if (rc == CTXMEM_OK && out.role == CTXMEM_ROLE_TOOL_RESULT) {
        out.pair_id = json_string_value(json_object_get(m, "tool_call_id"));
        if (!out.pair_id)
            return obad(p, "a tool message needs a string field 'tool_call_id'");
    }
    if (rc == CTXMEM_OK && (out.text_len > 0 || !calls))
        rc = push_msg(c, &out);
    if (rc == CTXMEM_OK && calls)
        rc = tool_calls(p, c, calls);
    return rc;
}

static int new_conv(struct oparse *p, openai_conv **c)
{
    openai_set *s = p->set;
    openai_conv *n = realloc(s->conv, (s->n_conv + 1) * sizeof(*n));

    if (!n)
        return err_set(CTXMEM_ENOMEM, "openai: out of memory");
    s->conv = n;
    *c = &s->conv[s->n_conv++];
    memset(*c, 0, sizeof(**c));
    p->conv = s->n_conv - 1;
    p->msg = 0;
    return CTXMEM_OK;
}

static int parse_messages(struct oparse *p, json_t *msgs)
{
    openai_conv *c = NULL;
    size_t i;
    json_t *m;
    int rc = new_conv(p, &c);

    if (rc == CTXMEM_OK && !json_is_array(msgs))
        return obad(p, "field 'messages' must be an array");
    json_array_foreach(msgs, i, m)
    {
        p->msg = i;
        rc = parse_message(p, c, m);
        if (rc != CTXMEM_OK)
            return rc;
    }
    if (c->n == 0)
        return obad(p, "a conversation has no messages");
    return CTXMEM_OK;
}

/* One parsed JSON document: a conversation, or an array of them. */
static int parse_root(struct oparse *p, json_t *root)
{
    size_t i;
    json_t *item;
    int rc = CTXMEM_OK;

    if (json_is_object(root))
        return parse_messages(p, json_object_get(root, "messages"));
    if (!json_is_array(root) || json_array_size(root) == 0)
        return obad(p, "expected a non-empty array of messages or conversations, or an "
                       "object with 'messages'");
    if (!json_object_get(json_array_get(root, 0), "messages"))
        return parse_messages(p, root);
    json_array_foreach(root, i, item)
    {
        rc = parse_messages(p, json_object_get(item, "messages"));
        if (rc != CTXMEM_OK)
            break;
    }
    return rc;
}

static int syntax_error(const char *name, const json_error_t *e, size_t line_offset)
{
    return err_set(CTXMEM_EINVAL, "openai: %s:%zu:%d: %s (byte offset %zu)%s", name,
                   (size_t)e->line + line_offset, e->column, e->text, (size_t)e->position,
                   strstr(e->text, "decode byte") ? ": the input is not valid UTF-8" : "");
}

/* JSONL: each line a message (one conversation) or a conversation object. */
static int parse_jsonl(struct oparse *p, const char *text, size_t len)
{
    openai_conv *loose = NULL;
    size_t line = 0, pos = 0;
    json_error_t e;
    int rc = CTXMEM_OK;

    while (rc == CTXMEM_OK && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        if (strspn(text + pos, " \t\r") < end - pos) {
            json_t *j = json_loadb(text + pos, end - pos, 0, &e);
            if (!j)
                return syntax_error(p->name, &e, line - 1);
            json_array_append_new(p->roots, j);
            if (json_object_get(j, "messages")) {
                rc = parse_messages(p, json_object_get(j, "messages"));
                loose = NULL;
            } else {
                if (!loose && (rc = new_conv(p, &loose)) != CTXMEM_OK)
                    break;
                p->msg = loose->n;
                rc = parse_message(p, loose, j);
            }
        }
        pos = end + 1;
    }
    return rc;
}

int import_openai_parse(openai_set **out, const char *text, size_t len, const char *name)
{
    struct oparse p = {name ? name : "input", 0, 0, NULL, json_array()};
    json_error_t e;
    json_t *root;
    int rc;

    *out = NULL;
    p.set = calloc(1, sizeof(*p.set));
    if (!p.set || !p.roots) {
        free(p.set);
        json_decref(p.roots);
        return err_set(CTXMEM_ENOMEM, "openai: out of memory");
    }
    p.set->priv = p.roots;
    if (strspn(text, " \t\r\n") >= len) {
        rc = err_set(CTXMEM_EINVAL, "openai: %s: the input is empty", p.name);
    } else if ((root = json_loadb(text, len, 0, &e)) != NULL) {
        json_array_append_new(p.roots, root);
        rc = parse_root(&p, root);
    } else if (e.line > 1 || strstr(e.text, "end of file expected")) {
        rc = parse_jsonl(&p, text, len);
    } else {
        rc = syntax_error(p.name, &e, 0);
    }
    if (rc != CTXMEM_OK) {
        import_openai_free(p.set);
        return rc;
    }
    *out = p.set;
    return CTXMEM_OK;
}

void import_openai_free(openai_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n_conv; i++)
        free(set->conv[i].msgs);
    free(set->conv);
    json_decref(set->priv);
    free(set);
}

void import_openai_segment(const openai_msg *m, ctxmem_segment_in *in)
{
    memset(in, 0, sizeof(*in));
    in->role = m->role;
    in->name = m->name;
    in->text = m->text;
    in->text_len = m->text_len;
    in->pair_id = m->pair_id;
}
