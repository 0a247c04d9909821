/*
 * ctxmem/common.h - version, error model and small value types shared by every
 * part of the ctxmem API.
 *
 * Conventions used throughout the API:
 *  - Every fallible function returns int: CTXMEM_OK (0) or a negative
 *    ctxmem_error_code. The detail (one line naming the bad value and the
 *    layer that failed) is kept per thread and read with ctxmem_error_last().
 *  - Outputs come first. On failure an `**out` parameter is set to NULL.
 *    What comes back through `**out` belongs to the caller and has a matching
 *    _free/_close function that accepts NULL.
 *  - Text is passed with an explicit length and must be valid UTF-8 unless a
 *    function says otherwise.
 *  - The library never prints, never aborts and never calls exit().
 */
#ifndef CTXMEM_COMMON_H
#define CTXMEM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define CTXMEM_API
#elif defined(__GNUC__)
#define CTXMEM_API __attribute__((visibility("default")))
#else
#define CTXMEM_API
#endif

#define CTXMEM_VERSION_MAJOR 0
#define CTXMEM_VERSION_MINOR 1
#define CTXMEM_VERSION_PATCH 0
#define CTXMEM_VERSION_STRING "0.1.0"

/** Error codes. Every fallible function returns one of these. */
typedef enum ctxmem_error_code {
    CTXMEM_OK = 0,
    CTXMEM_EINVAL = -1,    /**< an argument is NULL, out of range or malformed */
    CTXMEM_ENOMEM = -2,    /**< an allocation failed */
    CTXMEM_EIO = -3,       /**< the operating system refused a file operation */
    CTXMEM_EFULL = -4,     /**< a size limit was reached (map size, budget) */
    CTXMEM_ECORRUPT = -5,  /**< stored data failed a consistency check */
    CTXMEM_ENOTFOUND = -6, /**< the requested item does not exist */
    CTXMEM_EVERSION = -7,  /**< data written by a newer, incompatible format */
    CTXMEM_EMISMATCH = -8, /**< store and caller disagree (embedder, tokenizer) */
    CTXMEM_ECALLBACK = -9, /**< an application callback reported failure */
    CTXMEM_EREADONLY = -10 /**< a write on a store opened read-only */
} ctxmem_error_code;

/** The last error recorded on the calling thread. */
typedef struct ctxmem_error {
    int code;            /**< a ctxmem_error_code, CTXMEM_OK when none */
    const char *message; /**< one line, never NULL; "" when none */
} ctxmem_error;

/**
 * Return the last error recorded on the calling thread.
 *
 * Every function that returns a negative code first records a message here.
 * Successful calls do not clear it. The returned pointer and its message are
 * owned by the library and stay valid until the next ctxmem call on the same
 * thread. Thread-safe: each thread has its own record.
 */
CTXMEM_API const ctxmem_error *ctxmem_error_last(void);

/** Forget the calling thread's last error. */
CTXMEM_API void ctxmem_error_clear(void);

/**
 * Return a static, human-readable name for an error code ("invalid argument").
 * Unknown codes give "unknown error". Never NULL. Thread-safe.
 */
CTXMEM_API const char *ctxmem_strerror(int code);

/** Return the library version as "MAJOR.MINOR.PATCH"; static storage. */
CTXMEM_API const char *ctxmem_version(void);

/** Check that `len` bytes at `text` are valid UTF-8 (no overlongs, no
 * surrogates, nothing past U+10FFFF). NUL bytes are valid.
 *
 * @return CTXMEM_OK, or CTXMEM_EINVAL with a message naming the byte offset of
 *         the first invalid sequence. `text` may be NULL only when len is 0.
 */
CTXMEM_API int ctxmem_utf8_check(const char *text, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CTXMEM_COMMON_H */
