/*
 * Scope isolation, as a property: random tenants, agents and sessions share
 * one store and one vocabulary; 10,000 random searches with random scope
 * patterns never return a segment outside the patterns, judged against the
 * scope each segment was added to (recorded here, not read from the store).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS 12
#define SEGMENTS 900
#define QUERIES 10000

static const char *const users[USERS] = {"u0", "u1", "u2", "u3", "u4", "u5",
                                         "u6", "u7", "u8", "u9", "u1x", "u"};
static const char *const agents[] = {NULL, "a", "b"};
static const char *const sessions[] = {NULL, "s1", "s2"};

struct added {
    int user, agent, session;
};

static unsigned next(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7FFF;
}

static void random_text(unsigned *seed, char *buf, size_t cap)
{
    size_t len = 0;

    for (int w = 0; w < 6; w++)
        len += (size_t)snprintf(buf + len, cap - len, "topic%u ", next(seed) % 40);
}

/* The pattern rule of ctxmem_search, stated independently. */
static int allowed(const ctxmem_scope *p, const struct added *a)
{
    const char *agent = agents[a->agent] ? agents[a->agent] : "";
    const char *session = sessions[a->session] ? sessions[a->session] : "";

    return strcmp(p->user, users[a->user]) == 0 && (!p->agent || !strcmp(p->agent, agent)) &&
           (!p->session || !strcmp(p->session, session));
}

static const char *pick_part(unsigned *seed, const char *const *names)
{
    unsigned r = next(seed) % 4;

    return r == 0 ? NULL : r == 1 ? "" : names[1 + next(seed) % 2];
}

static void test_index_search_never_leaves_the_given_scopes(void **state)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    struct added *added = calloc(SEGMENTS + 1, sizeof(*added));
    char *dir = tu_tempdir(), text[128];
    ctxmem_store *s = NULL;
    unsigned seed = 2024;
    uint64_t first = 0;
    size_t total = 0;

    (void)state;
    o.tokenizer = "approx";
    assert_ctxmem(ctxmem_store_open(&s, dir, &o), CTXMEM_OK);
    for (size_t i = 0; i < SEGMENTS; i++) {
        struct added a = {(int)(next(&seed) % USERS), (int)(next(&seed) % 3),
                          (int)(next(&seed) % 3)};
        ctxmem_scope sc = {users[a.user], agents[a.agent], sessions[a.session]};
        ctxmem_segment_in in = {0};
        uint64_t id;
        random_text(&seed, text, sizeof(text));
        in.role = CTXMEM_ROLE_USER, in.text = text, in.text_len = strlen(text);
        assert_ctxmem(ctxmem_store_add(s, &sc, &in, 1, &id), CTXMEM_OK);
        first = first ? first : id;
        added[id - first] = a;
    }

    for (int q = 0; q < QUERIES; q++) {
        ctxmem_scope pats[2];
        size_t np = 1 + next(&seed) % 2, n = 0;
        ctxmem_hit *h = NULL;
        ctxmem_search_opts so = CTXMEM_SEARCH_OPTS_INIT;
        for (size_t p = 0; p < np; p++) {
            pats[p].user = users[next(&seed) % USERS];
            pats[p].agent = pick_part(&seed, agents);
            pats[p].session = pick_part(&seed, sessions);
        }
        random_text(&seed, text, 3 * 9);
        so.k = 1 + next(&seed) % 30;
        assert_ctxmem(ctxmem_search(&h, &n, s, pats, np, text, strlen(text), &so), CTXMEM_OK);
        for (size_t i = 0; i < n; i++) {
            const struct added *a = &added[h[i].id - first];
            int ok = 0;
            for (size_t p = 0; p < np; p++)
                ok |= allowed(&pats[p], a);
            if (!ok)
                fail_msg("query %d: segment %llu of user %s leaked", q,
                         (unsigned long long)h[i].id, users[a->user]);
        }
        total += n;
        ctxmem_hits_free(h);
    }
    assert_true(total > QUERIES); /* the searches did find things */
    ctxmem_store_close(s);
    free(added);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_search_never_leaves_the_given_scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
