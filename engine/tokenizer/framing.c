/*
 * Chat framing: the tokens a chat API adds around messages, per model family.
 * The numbers and their source are documented in include/ctxmem/tokenizer.h.
 */
#include "tok.h"

#include <string.h>

static const struct family {
    const char *name;
    unsigned per_message, per_name, reply_priming;
} families[] = {
    {"openai-chat", 3, 1, 3},
    {"none", 0, 0, 0},
};

int ctxmem_chat_framing_get(ctxmem_chat_framing *out, const char *family)
{
    if (!out || !family)
        return err_set(CTXMEM_EINVAL, "tokenizer: framing: NULL argument");
    for (size_t i = 0; i < ARRAY_LEN(families); i++) {
        if (strcmp(families[i].name, family) == 0) {
            out->version = CTXMEM_CHAT_FRAMING_VERSION;
            out->per_message = families[i].per_message;
            out->per_name = families[i].per_name;
            out->reply_priming = families[i].reply_priming;
            return CTXMEM_OK;
        }
    }
    return err_set(CTXMEM_EINVAL,
                   "tokenizer: unknown chat framing family '%s' "
                   "(openai-chat, none)",
                   family);
}

/* Count a NUL-terminated field, naming it when it fails. */
static int count_field(const ctxmem_tokenizer *tok, const char *what, const char *text, size_t len,
                       size_t *total)
{
    size_t n = 0;
    int rc = ctxmem_tokenizer_count(tok, text, len, &n);

    if (rc != CTXMEM_OK)
        return err_wrap(rc, "tokenizer: message %s", what);
    *total += n;
    return CTXMEM_OK;
}

int ctxmem_tokenizer_count_message(const ctxmem_tokenizer *tok, const ctxmem_chat_framing *framing,
                                   const char *role, const char *name, const char *content,
                                   size_t content_len, size_t *n_tokens)
{
    size_t total = 0;
    int rc;

    if (n_tokens)
        *n_tokens = 0;
    if (!tok || !role || !n_tokens || (!content && content_len))
        return err_set(CTXMEM_EINVAL, "tokenizer: count_message: NULL argument");
    if (framing && framing->version != CTXMEM_CHAT_FRAMING_VERSION)
        return err_set(CTXMEM_EINVAL, "tokenizer: chat framing version %u, expected %u",
                       framing->version, CTXMEM_CHAT_FRAMING_VERSION);

    rc = count_field(tok, "role", role, strlen(role), &total);
    if (rc == CTXMEM_OK)
        rc = count_field(tok, "content", content, content_len, &total);
    if (rc == CTXMEM_OK && name)
        rc = count_field(tok, "name", name, strlen(name), &total);
    if (rc != CTXMEM_OK)
        return rc;
    if (framing)
        total += framing->per_message + (name ? framing->per_name : 0);
    *n_tokens = total;
    return CTXMEM_OK;
}

int ctxmem_tokenizer_count_tool_call(const ctxmem_tokenizer *tok, const char *name,
                                     const char *arguments, size_t arguments_len, size_t *n_tokens)
{
    size_t total = 0;
    int rc;

    if (n_tokens)
        *n_tokens = 0;
    if (!tok || !name || !n_tokens || (!arguments && arguments_len))
        return err_set(CTXMEM_EINVAL, "tokenizer: count_tool_call: NULL argument");
    rc = count_field(tok, "tool name", name, strlen(name), &total);
    if (rc == CTXMEM_OK)
        rc = count_field(tok, "tool arguments", arguments, arguments_len, &total);
    if (rc == CTXMEM_OK)
        *n_tokens = total;
    return rc;
}
