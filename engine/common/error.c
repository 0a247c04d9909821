/*
 * Thread-local error record behind ctxmem_error_last().
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_MAX 512

static _Thread_local struct {
    ctxmem_error pub;
    char message[MESSAGE_MAX];
} last = {{CTXMEM_OK, ""}, ""};

static void append(char *dst, size_t cap, const char *head, const char *tail)
{
    size_t h = strlen(head), t = tail ? strlen(tail) : 0;

    if (h >= cap)
        h = cap - 1;
    memmove(dst, head, h);
    if (t && h + 2 < cap) {
        memcpy(dst + h, ": ", 2);
        h += 2;
        if (t > cap - 1 - h)
            t = cap - 1 - h;
        memmove(dst + h, tail, t);
        h += t;
    }
    dst[h] = '\0';
}

static void record(int code, const char *lower, const char *fmt, va_list ap)
{
    char buf[MESSAGE_MAX];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);

    if (n < 0)
        buf[0] = '\0';
    /* "this layer: lower layer", cut to the record's size. */
    append(last.message, sizeof(last.message), buf, lower);
    last.pub.code = code;
    last.pub.message = last.message;
}

int err_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record(code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int err_wrap(int code, const char *fmt, ...)
{
    char lower[MESSAGE_MAX];
    va_list ap;

    /* The lower layer's text is kept; only a prefix naming this layer is added. */
    memcpy(lower, last.message, sizeof(lower));
    va_start(ap, fmt);
    record(code, lower, fmt, ap);
    va_end(ap);
    return code;
}

int err_from_errno(int e)
{
    switch (e) {
    case ENOMEM:
        return CTXMEM_ENOMEM;
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return CTXMEM_EFULL;
    case ENOENT:
        return CTXMEM_ENOTFOUND;
    case EROFS:
    case EACCES:
    case EPERM:
        return CTXMEM_EREADONLY;
    case EINVAL:
        return CTXMEM_EINVAL;
    default:
        return CTXMEM_EIO;
    }
}

const ctxmem_error *ctxmem_error_last(void)
{
    if (!last.pub.message)
        last.pub.message = last.message;
    return &last.pub;
}

void ctxmem_error_clear(void)
{
    last.pub.code = CTXMEM_OK;
    last.message[0] = '\0';
    last.pub.message = last.message;
}

const char *ctxmem_strerror(int code)
{
    switch (code) {
    case CTXMEM_OK:
        return "success";
    case CTXMEM_EINVAL:
        return "invalid argument";
    case CTXMEM_ENOMEM:
        return "out of memory";
    case CTXMEM_EIO:
        return "input/output error";
    case CTXMEM_EFULL:
        return "size limit reached";
    case CTXMEM_ECORRUPT:
        return "data is corrupt";
    case CTXMEM_ENOTFOUND:
        return "not found";
    case CTXMEM_EVERSION:
        return "unsupported format version";
    case CTXMEM_EMISMATCH:
        return "configuration mismatch";
    case CTXMEM_ECALLBACK:
        return "callback failed";
    case CTXMEM_EREADONLY:
        return "read-only";
    default:
        return "unknown error";
    }
}

const char *ctxmem_version(void)
{
    return CTXMEM_VERSION_STRING;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (!p) {
        err_set(CTXMEM_ENOMEM, "out of memory copying %zu bytes", n);
        return NULL;
    }
    return memcpy(p, s, n);
}
