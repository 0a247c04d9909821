/*
 * The LoCoMo reader (see import.h). Strings point into the parsed jansson
 * tree, which the set keeps until import_locomo_free.
 */
#include "import.h"
#include "internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SESSIONS 1000

struct parse {
    const char *name;
    size_t conv;
    const char *sample;
};

static int bad(const struct parse *p, const char *where, const char *what)
{
    return err_set(CTXMEM_EINVAL, "locomo: %s: conversation %zu (%s): %s: %s", p->name, p->conv,
                   p->sample ? p->sample : "?", where, what);
}

static const char *get_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* ---- dates ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int import_locomo_date(const char *s, int64_t *ms)
{
    static const char *const months[] = {"january", "february", "march",     "april",
                                         "may",     "june",     "july",      "august",
                                         "september", "october", "november", "december"};
    char ampm[3], month[16];
    int h, mi, d, y, m = -1;

    if (!s || sscanf(s, "%d:%d %2s on %d %15[A-Za-z], %d", &h, &mi, ampm, &d, month, &y) != 6)
        return err_set(CTXMEM_EINVAL, "locomo: date '%s' is not like '1:56 pm on 8 May, 2023'",
                       s ? s : "(null)");
    for (int i = 0; i < 12; i++)
        if (!strcasecmp(month, months[i]))
            m = i + 1;
    if (m < 0 || h < 1 || h > 12 || mi < 0 || mi > 59 || d < 1 || d > 31 || y < 1 || y > 9999 ||
        (strcasecmp(ampm, "am") && strcasecmp(ampm, "pm")))
        return err_set(CTXMEM_EINVAL, "locomo: date '%s' is out of range", s);
    h = h % 12 + (strcasecmp(ampm, "pm") == 0 ? 12 : 0);
    *ms = ((days_from_civil(y, (unsigned)m, (unsigned)d) * 24 + h) * 60 + mi) * 60000;
    return CTXMEM_OK;
}

/* ---- evidence ids ---- */

size_t import_locomo_evidence_ids(const char *s, void (*fn)(void *ctx, int session, int index),
                                  void *ctx)
{
    size_t found = 0;

    while (s && *s) {
        long sess, idx;
        char *end;
        if (*s != 'D') {
            s++;
            continue;
        }
        s++;
        if (*s == ':') /* "D:11:26" */
            s++;
        sess = strtol(s, &end, 10);
        if (end == s || *end != ':')
            continue;
        s = end + 1;
        idx = strtol(s, &end, 10); /* "05" reads as 5 */
        if (end == s)
            continue;
        s = end;
        if (sess > 0 && idx > 0 && sess < 100000 && idx < 100000) {
            fn(ctx, (int)sess, (int)idx);
            found++;
        }
    }
    return found;
}

/* ---- conversations ---- */

static int session_number(const char *key)
{
    char *end;
    long n;

    if (strncmp(key, "session_", 8) != 0 || key[8] < '0' || key[8] > '9')
        return 0;
    n = strtol(key + 8, &end, 10);
    return *end == '\0' && n > 0 && n <= MAX_SESSIONS ? (int)n : 0;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* The session numbers of the `session_<n>` keys (never the date keys), sorted. */
static size_t list_sessions(json_t *conv, int *out)
{
    const char *key;
    json_t *v;
    size_t n = 0;

    json_object_foreach(conv, key, v) {
        int s = session_number(key);
        if (s && json_is_array(v) && n < MAX_SESSIONS)
            out[n++] = s;
    }
    qsort(out, n, sizeof(*out), cmp_int);
    return n;
}

static int read_turn(const struct parse *p, json_t *t, int session, int64_t time,
                     locomo_turn *out)
{
    char where[64];
    json_t *cap = json_object_get(t, "blip_caption");

    snprintf(where, sizeof(where), "session_%d turn", session);
    if (!json_is_object(t))
        return bad(p, where, "is not an object");
    out->speaker = get_str(t, "speaker");
    out->dia_id = get_str(t, "dia_id");
    out->text = get_str(t, "text");
    out->caption = json_string_value(cap);
    out->session = session;
    out->time = time;
    if (!out->speaker)
        return bad(p, where, "'speaker' is missing or not a string");
    if (!out->dia_id)
        return bad(p, where, "'dia_id' is missing or not a string");
    if (!out->text)
        return bad(p, where, "'text' is missing or not a string");
    if (cap && !out->caption)
        return bad(p, where, "'blip_caption' is not a string");
    return CTXMEM_OK;
}

static int read_session(const struct parse *p, json_t *conv, int s, locomo_conv *c)
{
    char key[40], dkey[48];
    json_t *turns, *t;
    int64_t time;
    size_t i;
    int rc;

    snprintf(key, sizeof(key), "session_%d", s);
    snprintf(dkey, sizeof(dkey), "session_%d_date_time", s);
    turns = json_object_get(conv, key);
    if (!get_str(conv, dkey))
        return bad(p, dkey, "is missing or not a string");
    if (import_locomo_date(get_str(conv, dkey), &time) != CTXMEM_OK)
        return bad(p, dkey, ctxmem_error_last()->message);
    json_array_foreach(turns, i, t) {
        rc = read_turn(p, t, s, time, &c->turns[c->n_turns]);
        if (rc != CTXMEM_OK)
            return rc;
        c->n_turns++;
    }
    return CTXMEM_OK;
}

static int read_dialogue(const struct parse *p, json_t *conv, locomo_conv *c)
{
    int sessions[MAX_SESSIONS];
    size_t n = list_sessions(conv, sessions), total = 0;
    int rc = CTXMEM_OK;

    c->speaker_a = get_str(conv, "speaker_a");
    c->speaker_b = get_str(conv, "speaker_b");
    if (!c->speaker_a || !c->speaker_b)
        return bad(p, "conversation", "'speaker_a' or 'speaker_b' is missing");
    for (size_t i = 0; i < n; i++) {
        char key[40];
        snprintf(key, sizeof(key), "session_%d", sessions[i]);
        total += json_array_size(json_object_get(conv, key));
    }
    c->turns = calloc(total ? total : 1, sizeof(*c->turns));
    if (!c->turns)
        return err_set(CTXMEM_ENOMEM, "locomo: out of memory");
    for (size_t i = 0; rc == CTXMEM_OK && i < n; i++)
        rc = read_session(p, conv, sessions[i], c);
    return rc;
}

/* ---- questions ---- */

struct resolve {
    const locomo_conv *c;
    locomo_qa *q;
};

static void resolve_one(void *ctx, int session, int index)
{
    struct resolve *r = ctx;
    char want[32];

    snprintf(want, sizeof(want), "D%d:%d", session, index);
    for (size_t i = 0; i < r->c->n_turns; i++) {
        if (strcmp(r->c->turns[i].dia_id, want) != 0)
            continue;
        for (size_t k = 0; k < r->q->n_evidence; k++)
            if (r->q->evidence[k] == i)
                return;
        r->q->evidence[r->q->n_evidence++] = i;
        return;
    }
    r->q->n_unresolved++;
}

static int read_question(const struct parse *p, json_t *item, size_t index, locomo_conv *c)
{
    locomo_qa *q = &c->qa[index];
    json_t *ev = json_object_get(item, "evidence"), *e;
    struct resolve r = {c, q};
    char where[32];
    size_t i;

    snprintf(where, sizeof(where), "qa[%zu]", index);
    q->question = get_str(item, "question");
    if (!q->question)
        return bad(p, where, "'question' is missing or not a string");
    if (!json_is_integer(json_object_get(item, "category")))
        return bad(p, where, "'category' is missing or not an integer");
    q->category = (int)json_integer_value(json_object_get(item, "category"));
    if (ev && !json_is_array(ev))
        return bad(p, where, "'evidence' is not an array");
    /* Each string may hold several ids; 8 per string is far above the data's 4. */
    q->evidence = calloc(json_array_size(ev) * 8 + 1, sizeof(*q->evidence));
    if (!q->evidence)
        return err_set(CTXMEM_ENOMEM, "locomo: out of memory");
    json_array_foreach(ev, i, e) {
        if (!json_is_string(e))
            return bad(p, where, "an 'evidence' entry is not a string");
        if (import_locomo_evidence_ids(json_string_value(e), resolve_one, &r) == 0)
            q->n_unresolved++;
    }
    return CTXMEM_OK;
}

static int read_conv(struct parse *p, json_t *item, locomo_conv *c)
{
    json_t *conv = json_object_get(item, "conversation"), *qa = json_object_get(item, "qa");
    json_t *q;
    size_t i;
    int rc;

    if (!json_is_object(item))
        return bad(p, "conversation", "is not an object");
    p->sample = c->sample_id = get_str(item, "sample_id");
    if (!json_is_object(conv))
        return bad(p, "conversation", "'conversation' is missing or not an object");
    if (qa && !json_is_array(qa))
        return bad(p, "conversation", "'qa' is not an array");
    rc = read_dialogue(p, conv, c);
    if (rc == CTXMEM_OK && !(c->qa = calloc(json_array_size(qa) + 1, sizeof(*c->qa))))
        rc = err_set(CTXMEM_ENOMEM, "locomo: out of memory");
    json_array_foreach(qa, i, q) {
        if (rc != CTXMEM_OK)
            break;
        if (!json_is_object(q))
            return bad(p, "qa", "an item is not an object");
        rc = read_question(p, q, i, c);
        c->n_qa = i + 1;
    }
    return rc;
}

int import_locomo_parse(locomo_set **out, const char *json, size_t len, const char *name)
{
    struct parse p = {name ? name : "input", 0, NULL};
    json_error_t jerr;
    locomo_set *set = NULL;
    json_t *root;
    int rc = CTXMEM_OK;

    *out = NULL;
    root = json_loadb(json, len, 0, &jerr);
    if (!root)
        return err_set(CTXMEM_EINVAL, "locomo: %s: line %d, column %d, offset %d: %s", p.name,
                       jerr.line, jerr.column, jerr.position, jerr.text);
    if (!json_is_array(root))
        rc = err_set(CTXMEM_EINVAL, "locomo: %s: the top level is not an array", p.name);
    if (rc == CTXMEM_OK && (!(set = calloc(1, sizeof(*set))) ||
                            !(set->conv = calloc(json_array_size(root) + 1, sizeof(*set->conv)))))
        rc = err_set(CTXMEM_ENOMEM, "locomo: out of memory");
    if (set)
        set->priv = root;
    for (size_t i = 0; rc == CTXMEM_OK && i < json_array_size(root); i++) {
        p.conv = i, p.sample = NULL;
        set->n_conv = i + 1;
        rc = read_conv(&p, json_array_get(root, i), &set->conv[i]);
    }
    if (rc != CTXMEM_OK) {
        if (set)
            import_locomo_free(set);
        else
            json_decref(root);
        return rc;
    }
    *out = set;
    return CTXMEM_OK;
}

int import_locomo_load(locomo_set **out, const char *path)
{
    char *buf = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    rc = import_read_file(path, &buf, &n);
    if (rc != CTXMEM_OK)
        return err_wrap(rc, "locomo");
    rc = import_locomo_parse(out, buf, n, path);
    free(buf);
    return rc;
}

void import_locomo_free(locomo_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n_conv; i++) {
        locomo_conv *c = &set->conv[i];
        for (size_t k = 0; k < c->n_qa; k++)
            free(c->qa[k].evidence);
        free(c->qa);
        free(c->turns);
    }
    free(set->conv);
    json_decref(set->priv);
    free(set);
}
