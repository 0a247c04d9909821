/*
 * Segment record layout, version 1 (all integers little-endian):
 *
 *   offset size field
 *   0      1    layout version (1)
 *   1      1    role
 *   2      2    reserved, 0
 *   4      4    application flags
 *   8      4    tokens
 *   12     4    scope id
 *   16     8    sequence number in the scope
 *   24     8    time, Unix milliseconds (signed)
 *   32     4    text length       T
 *   36     4    name length       N
 *   40     4    meta JSON length  M
 *   44     4    pair id length    P
 *   48     4    fact key length   K
 *   52     4    reserved, 0
 *   56     8    id of the segment this one supersedes, 0 when none
 *   64     T+1  text, then NUL
 *   ...    N+1  name, NUL;  M+1 meta JSON, NUL;  P+1 pair id, NUL;  K+1 key, NUL
 *
 * Every string is followed by a NUL so that readers can hand out pointers into
 * LMDB's memory map without copying. A decoder checks every length against
 * the record size and the terminating NULs, so a damaged record is reported
 * as CTXMEM_ECORRUPT instead of being read past its end.
 */
#include "store_internal.h"
#include "internal.h"

#include <string.h>

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
    uint32_t v = 0;

    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static size_t opt_len(const char *s)
{
    return s ? strlen(s) : 0;
}

size_t rec_size(const rec_fields *f)
{
    return REC_HEADER + f->text_len + 1 + opt_len(f->name) + 1 + opt_len(f->meta_json) + 1 +
           opt_len(f->pair_id) + 1 + opt_len(f->key) + 1;
}

static unsigned char *put_string(unsigned char *p, const char *s, size_t n)
{
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p + n + 1;
}

void rec_encode(const rec_fields *f, unsigned char *buf)
{
    size_t name_len = opt_len(f->name), meta_len = opt_len(f->meta_json);
    size_t pair_len = opt_len(f->pair_id), key_len = opt_len(f->key);
    unsigned char *p = buf + REC_HEADER;

    memset(buf, 0, REC_HEADER);
    buf[0] = REC_LAYOUT;
    buf[1] = (unsigned char)f->role;
    put_le32(buf + 4, f->flags);
    put_le32(buf + 8, f->tokens);
    put_le32(buf + 12, f->scope);
    put_le64(buf + 16, f->seq);
    put_le64(buf + 24, (uint64_t)f->time);
    put_le32(buf + 32, (uint32_t)f->text_len);
    put_le32(buf + 36, (uint32_t)name_len);
    put_le32(buf + 40, (uint32_t)meta_len);
    put_le32(buf + 44, (uint32_t)pair_len);
    put_le32(buf + 48, (uint32_t)key_len);
    put_le64(buf + 56, f->supersedes);

    p = put_string(p, f->text, f->text_len);
    p = put_string(p, f->name, name_len);
    p = put_string(p, f->meta_json, meta_len);
    p = put_string(p, f->pair_id, pair_len);
    put_string(p, f->key, key_len);
}

/* Take the next NUL-terminated string of length n from [*p, end). */
static const char *take_string(const unsigned char **p, const unsigned char *end, uint32_t n)
{
    const unsigned char *s = *p;

    if ((size_t)(end - s) < (size_t)n + 1 || s[n] != '\0')
        return NULL;
    *p = s + n + 1;
    return (const char *)s;
}

int rec_decode(const unsigned char *buf, size_t len, uint64_t id, ctxmem_segment *out)
{
    const unsigned char *p = buf + REC_HEADER, *end = buf + len;
    uint32_t text_len, name_len, meta_len, pair_len, key_len;

    if (len < REC_HEADER)
        return err_set(CTXMEM_ECORRUPT, "store: segment %llu: record of %zu bytes is too short",
                       (unsigned long long)id, len);
    if (buf[0] != REC_LAYOUT)
        return err_set(CTXMEM_ECORRUPT, "store: segment %llu: unknown record layout %u",
                       (unsigned long long)id, buf[0]);
    text_len = get_le32(buf + 32);
    name_len = get_le32(buf + 36);
    meta_len = get_le32(buf + 40);
    pair_len = get_le32(buf + 44);
    key_len = get_le32(buf + 48);

    memset(out, 0, sizeof(*out));
    out->id = id;
    out->role = buf[1];
    out->flags = get_le32(buf + 4);
    out->tokens = get_le32(buf + 8);
    out->scope = get_le32(buf + 12);
    out->seq = get_le64(buf + 16);
    out->time = (int64_t)get_le64(buf + 24);
    out->supersedes = get_le64(buf + 56);
    out->text_len = text_len;
    out->text = take_string(&p, end, text_len);
    out->name = out->text ? take_string(&p, end, name_len) : NULL;
    out->meta_json = out->name ? take_string(&p, end, meta_len) : NULL;
    out->pair_id = out->meta_json ? take_string(&p, end, pair_len) : NULL;
    out->key = out->pair_id ? take_string(&p, end, key_len) : NULL;
    if (!out->key || p != end || out->role < CTXMEM_ROLE_SYSTEM || out->role > CTXMEM_ROLE_SUMMARY)
        return err_set(CTXMEM_ECORRUPT,
                       "store: segment %llu: record fields do not fit its %zu bytes",
                       (unsigned long long)id, len);
    return CTXMEM_OK;
}
