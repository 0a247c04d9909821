/*
 * The smallest useful ctxmem program: keep a conversation in a store and
 * build each model call's window inside a token budget.
 *
 *   cc hello.c $(pkg-config --cflags --libs ctxmem) -o hello && ./hello /tmp/hello-store
 */
#include <ctxmem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, ctxmem_error_last()->message);
    return 1;
}

int main(int argc, char **argv)
{
    const ctxmem_scope scope = {"marta", "ledger", "2025-03"};
    const char *turns[] = {
        "The invoice date must match the letter of credit date, 14 March 2025.",
        "Understood, every invoice for LC-2291 will be dated 14 March 2025.",
        "How long does sea freight to Montreal take?",
        "About twelve to fourteen days from Lisbon.",
        "Please draft the commercial invoice for LC-2291.",
    };
    const char *system = "You are Ledger, an assistant for an export desk.";
    ctxmem_store *store = NULL;
    ctxmem_window *win = NULL;
    ctxmem_budget budget = CTXMEM_BUDGET_INIT;
    char *messages = NULL;

    if (ctxmem_store_open(&store, argc > 1 ? argv[1] : "hello-store", NULL) != CTXMEM_OK)
        return fail("open");
    if (ctxmem_pin_set(store, &scope, "system", CTXMEM_ROLE_SYSTEM, system, strlen(system), 0, 0) !=
        CTXMEM_OK)
        return fail("pin");
    for (size_t i = 0; i < sizeof(turns) / sizeof(turns[0]); i++) {
        ctxmem_segment_in in = {0};
        in.role = i % 2 ? CTXMEM_ROLE_ASSISTANT : CTXMEM_ROLE_USER;
        in.text = turns[i];
        in.text_len = strlen(turns[i]);
        if (ctxmem_store_add(store, &scope, &in, 1, NULL) != CTXMEM_OK)
            return fail("add");
    }

    budget.limit = 8192;          /* the model's context window */
    budget.reserve_output = 1024; /* room for its reply */
    if (ctxmem_window_assemble(&win, store, &scope, NULL, 0, &budget) != CTXMEM_OK)
        return fail("assemble");
    if (ctxmem_window_messages_json(win, &messages) != CTXMEM_OK)
        return fail("render");
    printf("%s\n%zu tokens (%s)\n", messages, ctxmem_window_report_get(win)->tokens,
           ctxmem_window_report_get(win)->tokenizer);

    free(messages);
    ctxmem_window_free(win);
    ctxmem_store_close(store);
    return 0;
}
