/*
 * Private helpers shared by every engine file: error recording, UTF-8 checks
 * and small utilities. Not part of the public API.
 */
#ifndef CTXMEM_INTERNAL_H
#define CTXMEM_INTERNAL_H

#include "ctxmem/common.h"

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define CTXMEM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CTXMEM_PRINTF(f, a)
#endif

/* Record `code` with a formatted one-line message on this thread; return code. */
int err_set(int code, const char *fmt, ...) CTXMEM_PRINTF(2, 3);

/*
 * Keep the lower layer's message and put a prefix in front of it, so that the
 * caller sees both layers ("store: open 'dir': lmdb: No space left").
 * Returns `code`.
 */
int err_wrap(int code, const char *fmt, ...) CTXMEM_PRINTF(2, 3);

/* Map an errno value to a ctxmem code (ENOSPC -> EFULL, ENOMEM -> ENOMEM, ...). */
int err_from_errno(int e);

/* Offset of the first invalid UTF-8 byte in text[0..len), or len when valid. */
size_t utf8_invalid_offset(const char *text, size_t len);

/* Decode one code point at s[0..len); store its length in *n. Input must be valid UTF-8. */
uint32_t utf8_decode(const unsigned char *s, size_t len, size_t *n);

/* Encode a code point to buf (at least 4 bytes); return the length. */
size_t utf8_encode(uint32_t cp, char *buf);

/* strdup that records ENOMEM. */
char *xstrdup(const char *s);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* CTXMEM_INTERNAL_H */
