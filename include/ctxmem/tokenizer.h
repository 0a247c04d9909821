/*
 * ctxmem/tokenizer.h - exact token counting.
 *
 * A ctxmem_tokenizer counts, encodes and decodes text. Three kinds exist:
 *  - BPE encodings compatible id-for-id with OpenAI's tiktoken
 *    ("cl100k_base", "o200k_base"), loaded from standard .tiktoken rank files;
 *  - "approx", a cheap estimate for callers without rank files (never chosen
 *    silently: every window report names the tokenizer that counted it);
 *  - a custom tokenizer backed by application callbacks, for models whose
 *    tokenizer ctxmem does not implement.
 * Every other part of ctxmem counts through this interface.
 *
 * Threading: a tokenizer is immutable after loading; any number of threads may
 * use one tokenizer at the same time. Custom callbacks must then be
 * thread-safe too.
 */
#ifndef CTXMEM_TOKENIZER_H
#define CTXMEM_TOKENIZER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctxmem_tokenizer ctxmem_tokenizer;

/**
 * Callbacks of an application-supplied tokenizer.
 *
 * count is required; encode and decode are optional (NULL: the matching
 * ctxmem function fails with CTXMEM_EINVAL). Each returns 0 on success and any
 * nonzero value on failure, which ctxmem reports as CTXMEM_ECALLBACK.
 */
typedef struct ctxmem_tokenizer_cb {
    unsigned version; /**< CTXMEM_TOKENIZER_CB_VERSION */
    /** Store in *n_tokens the number of tokens of `len` bytes of UTF-8. */
    int (*count)(void *user, const char *text, size_t len, size_t *n_tokens);
    /** Write at most `cap` ids to `ids`, store the full count in *n_ids. */
    int (*encode)(void *user, const char *text, size_t len, uint32_t *ids, size_t cap,
                  size_t *n_ids);
    /** Write at most `cap` bytes to `out`, store the full length in *len. */
    int (*decode)(void *user, const uint32_t *ids, size_t n_ids, char *out, size_t cap,
                  size_t *len);
    /** Called once by ctxmem_tokenizer_free; may be NULL. */
    void (*destroy)(void *user);
} ctxmem_tokenizer_cb;

#define CTXMEM_TOKENIZER_CB_VERSION 1

/**
 * Load a built-in encoding by name.
 *
 * `name` is "cl100k_base", "o200k_base" or "approx". For a BPE encoding the
 * rank file NAME.tiktoken is looked for, in this order: in `dir` when it is not
 * NULL; in the directory named by the environment variable
 * CTXMEM_TOKENIZER_DIR; in share/ctxmem/tokenizers beside the binary ctxmem
 * is part of (LIBDIR/../share for the shared library, BINDIR/../share for a
 * program linked statically, and the build tree's share/); in the directory
 * the install put them in (CTXMEM_DEFAULT_TOKENIZER_DIR at build time). The
 * first file that exists is
 * loaded and checked: every rank 0..N-1 exactly once, valid base64, no bytes
 * twice, all 256 single bytes present, and N equal to the encoding's size
 * (100,256 for cl100k_base, 199,998 for o200k_base). Loading o200k_base takes
 * about 10 MiB.
 *
 * "approx" needs no file and is not exact: it counts one token per 4 ASCII
 * bytes (rounded up) plus one token per non-ASCII character. It overcounts
 * English a little and errs high for CJK, Cyrillic and Arabic text (where
 * per-character estimates of other tools undercount). It cannot encode or
 * decode.
 *
 * @param[out] out   the tokenizer; NULL on failure.
 * @param[in]  name  encoding name.
 * @param[in]  dir   directory holding NAME.tiktoken, or NULL.
 * @return CTXMEM_OK;
 *         CTXMEM_EINVAL when out or name is NULL or the name is unknown;
 *         CTXMEM_ENOTFOUND when no rank file was found (the message lists every
 *         place tried and how to obtain the tables);
 *         CTXMEM_ECORRUPT when the rank file is malformed or incomplete;
 *         CTXMEM_EIO when it cannot be read; CTXMEM_ENOMEM.
 * Ownership: free with ctxmem_tokenizer_free.
 */
CTXMEM_API int ctxmem_tokenizer_load(ctxmem_tokenizer **out, const char *name, const char *dir);

/**
 * Load a BPE encoding's ranks from an explicit .tiktoken file.
 *
 * `name` selects the split pattern ("cl100k_base" or "o200k_base"); `path` is
 * the rank file. Errors as ctxmem_tokenizer_load.
 */
CTXMEM_API int ctxmem_tokenizer_load_file(ctxmem_tokenizer **out, const char *name,
                                          const char *path);

/**
 * Wrap application callbacks as a tokenizer.
 *
 * @param[out] out   the tokenizer; NULL on failure.
 * @param[in]  name  identity recorded in stores and reports (copied), e.g.
 *                   "llama3"; 1-64 printable ASCII bytes.
 * @param[in]  cb    callbacks (copied); cb->count must be set.
 * @param[in]  user  passed to every callback; owned by the caller unless
 *                   cb->destroy is set.
 * @return CTXMEM_OK; CTXMEM_EINVAL for a NULL argument, missing count or a bad
 *         name; CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_tokenizer_new_custom(ctxmem_tokenizer **out, const char *name,
                                           const ctxmem_tokenizer_cb *cb, void *user);

/** Free a tokenizer. NULL is fine. */
CTXMEM_API void ctxmem_tokenizer_free(ctxmem_tokenizer *tok);

/**
 * The tokenizer's name ("o200k_base", "approx", or the custom name).
 * Borrowed; valid until the tokenizer is freed.
 */
CTXMEM_API const char *ctxmem_tokenizer_name(const ctxmem_tokenizer *tok);

/** Nonzero when counts are exact for the named encoding (BPE and custom). */
CTXMEM_API int ctxmem_tokenizer_is_exact(const ctxmem_tokenizer *tok);

/**
 * Count the tokens of `len` bytes of UTF-8 text.
 *
 * The hot path: a BPE count allocates nothing, except for a single temporary
 * buffer per piece longer than 256 bytes (pieces are words, numbers of up to
 * 3 digits, punctuation runs and whitespace runs; only unbroken runs exceed
 * that). Special-token text such as "<|endoftext|>" counts as ordinary text.
 * Custom tokenizers are called with the text after the UTF-8 check.
 *
 * @return CTXMEM_OK; CTXMEM_EINVAL when tok or n_tokens is NULL, or the text
 *         is not valid UTF-8 (the message names the byte offset);
 *         CTXMEM_ECALLBACK when a custom count callback failed.
 */
CTXMEM_API int ctxmem_tokenizer_count(const ctxmem_tokenizer *tok, const char *text, size_t len,
                                      size_t *n_tokens);

/**
 * Encode `len` bytes of UTF-8 text to token ids.
 *
 * @param[out] ids    a malloc'd array of *n_ids ids; the caller frees it with
 *                    free(). NULL when the text is empty or on failure.
 * @param[out] n_ids  number of ids.
 * @return as ctxmem_tokenizer_count, plus CTXMEM_ENOMEM, and CTXMEM_EINVAL for
 *         the approx tokenizer or a custom tokenizer without an encode
 *         callback.
 */
CTXMEM_API int ctxmem_tokenizer_encode(const ctxmem_tokenizer *tok, const char *text, size_t len,
                                       uint32_t **ids, size_t *n_ids);

/**
 * Decode token ids to bytes (the concatenation of the tokens' bytes; may be
 * invalid UTF-8 when the ids cut a character).
 *
 * @param[out] bytes  a malloc'd buffer of *len bytes plus a terminating NUL;
 *                    the caller frees it with free(). NULL on failure.
 * @return CTXMEM_OK; CTXMEM_EINVAL for NULL arguments, an id outside the
 *         vocabulary (named in the message), or the approx tokenizer (which
 *         cannot decode); CTXMEM_ENOMEM; CTXMEM_ECALLBACK.
 */
CTXMEM_API int ctxmem_tokenizer_decode(const ctxmem_tokenizer *tok, const uint32_t *ids,
                                       size_t n_ids, char **bytes, size_t *len);

/**
 * Find the longest prefix of a text that fits in a token budget.
 *
 * For a BPE encoding, *cut_len ends the first k tokens of the text's own
 * encoding, for the largest k <= max_tokens such that the cut falls on a UTF-8
 * character boundary and the prefix, counted on its own, has at most
 * max_tokens tokens (re-counting a prefix can differ from k by the BPE of the
 * piece that was cut). For approx and custom tokenizers the cut is the
 * longest prefix ending on a character boundary whose count is at most
 * max_tokens, found by binary search (this assumes the count does not shrink
 * when text is appended). The prefix is always valid UTF-8; 0 and `len` are
 * possible results.
 *
 * @param[in]  tok         the tokenizer.
 * @param[in]  text        UTF-8 text of `len` bytes (NUL bytes allowed).
 * @param[in]  len         its length.
 * @param[in]  max_tokens  the budget.
 * @param[out] cut_len     length in bytes of the prefix that fits.
 * @return CTXMEM_OK; CTXMEM_EINVAL for NULL arguments or invalid UTF-8 (the
 *         message names the byte offset); CTXMEM_ENOMEM; CTXMEM_ECALLBACK.
 * Thread-safe like ctxmem_tokenizer_count. Allocates temporarily (the ids).
 */
CTXMEM_API int ctxmem_tokenizer_truncate(const ctxmem_tokenizer *tok, const char *text,
                                         size_t len, size_t max_tokens, size_t *cut_len);

/**
 * Token overheads of a chat request beyond the text of its messages.
 *
 * A chat API wraps every message in control tokens the text does not show.
 * For a request of messages m1..mk the prompt costs
 *   sum(count_message(mi)) + reply_priming
 * where count_message (ctxmem_tokenizer_count_message) is
 *   per_message + count(role) + count(content)
 *   + (a name is present ? per_name + count(name) : 0).
 * Other parts of a request, counted with the same tokenizer:
 *  - a tool call (an assistant's function call) costs count(function name) +
 *    count(arguments JSON text) (ctxmem_tokenizer_count_tool_call);
 *  - tool definitions (the JSON schemas sent with the request) cost the count
 *    of their JSON text, a fixed ("pinned") cost of every request that sends
 *    them.
 * These two rules are estimates: providers render tools into the prompt in a
 * format they do not publish, so the real cost differs by a few tokens.
 *
 * Options-struct conventions: start from CTXMEM_CHAT_FRAMING_INIT (all
 * overheads zero: plain text, no framing) or fill it with
 * ctxmem_chat_framing_get.
 */
typedef struct ctxmem_chat_framing {
    unsigned version;       /**< CTXMEM_CHAT_FRAMING_VERSION */
    unsigned per_message;   /**< tokens added to every message */
    unsigned per_name;      /**< tokens added when a message carries a name */
    unsigned reply_priming; /**< tokens added once per request to prime the reply */
} ctxmem_chat_framing;

#define CTXMEM_CHAT_FRAMING_VERSION 1
#define CTXMEM_CHAT_FRAMING_INIT {CTXMEM_CHAT_FRAMING_VERSION, 0, 0, 0}

/**
 * Fill a framing with the overheads of a model family.
 *
 * Families:
 *  - "openai-chat": per_message 3, per_name 1, reply_priming 3. These are the
 *    numbers of OpenAI's cookbook ("How to count tokens with tiktoken",
 *    num_tokens_from_messages) for gpt-3.5-turbo-0613 and later, gpt-4 and
 *    gpt-4o: a fixed wrapper of 3 tokens around every message, 1 more when
 *    it has a name, and 3 for priming the reply with
 *    <|start|>assistant<|message|>. The cookbook verifies them against the
 *    API's reported prompt_tokens. Use with cl100k_base (gpt-3.5/gpt-4) or
 *    o200k_base (gpt-4o and later).
 *  - "none": all zero (text only).
 *
 * @param[out] out     the framing; its version is set.
 * @param[in]  family  the family name.
 * @return CTXMEM_OK; CTXMEM_EINVAL for a NULL argument or an unknown family
 *         (named in the message). Thread-safe.
 */
CTXMEM_API int ctxmem_chat_framing_get(ctxmem_chat_framing *out, const char *family);

/**
 * Count one chat message under a framing.
 *
 * The count is per_message + count(role) + count(content), plus per_name +
 * count(name) when `name` is not NULL (see ctxmem_chat_framing). The reply
 * priming is not included: add framing->reply_priming once per request.
 *
 * @param[in]  tok          the tokenizer.
 * @param[in]  framing      overheads, or NULL for none.
 * @param[in]  role         NUL-terminated UTF-8 role ("user", "assistant", ...).
 * @param[in]  name         NUL-terminated UTF-8 participant name, or NULL.
 * @param[in]  content      UTF-8 content of `content_len` bytes (NUL allowed).
 * @param[in]  content_len  its length.
 * @param[out] n_tokens     the message's tokens.
 * @return CTXMEM_OK; CTXMEM_EINVAL for NULL arguments, a framing of another
 *         version, or invalid UTF-8 (the message names which field and the
 *         byte offset); CTXMEM_ECALLBACK.
 * Thread-safe like ctxmem_tokenizer_count.
 */
CTXMEM_API int ctxmem_tokenizer_count_message(const ctxmem_tokenizer *tok,
                                              const ctxmem_chat_framing *framing,
                                              const char *role, const char *name,
                                              const char *content, size_t content_len,
                                              size_t *n_tokens);

/**
 * Count a tool call: count(name) + count(arguments), the rule documented at
 * ctxmem_chat_framing.
 *
 * @param[in]  tok            the tokenizer.
 * @param[in]  name           NUL-terminated function name.
 * @param[in]  arguments      the arguments JSON text, `arguments_len` bytes.
 * @param[in]  arguments_len  its length.
 * @param[out] n_tokens       the call's tokens.
 * @return as ctxmem_tokenizer_count_message.
 */
CTXMEM_API int ctxmem_tokenizer_count_tool_call(const ctxmem_tokenizer *tok, const char *name,
                                                const char *arguments, size_t arguments_len,
                                                size_t *n_tokens);

#ifdef __cplusplus
}
#endif

#endif /* CTXMEM_TOKENIZER_H */
