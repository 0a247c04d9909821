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
 * CTXMEM_TOKENIZER_DIR; in the directory the install put them in
 * (CTXMEM_DEFAULT_TOKENIZER_DIR at build time).
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
 * The hot path: a BPE count allocates nothing for pieces up to a few KiB.
 * Special-token text such as "<|endoftext|>" counts as ordinary text.
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
 *         a custom tokenizer without an encode callback.
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

#ifdef __cplusplus
}
#endif

#endif /* CTXMEM_TOKENIZER_H */
