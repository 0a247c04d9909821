/*
 * How a LoCoMo turn becomes segment text: "Speaker: text", plus
 * " [shares a photo: caption]" when a photo was shared (the caption is the
 * only way the photo's content enters the text).
 */
#include "import.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *import_locomo_turn_text(const locomo_turn *t, size_t *len)
{
    size_t n = strlen(t->speaker) + strlen(t->text) + (t->caption ? strlen(t->caption) : 0) + 32;
    char *s = malloc(n);
    int w;

    if (!s) {
        err_set(CTXMEM_ENOMEM, "locomo: out of memory");
        return NULL;
    }
    if (t->caption)
        w = snprintf(s, n, "%s: %s [shares a photo: %s]", t->speaker, t->text, t->caption);
    else
        w = snprintf(s, n, "%s: %s", t->speaker, t->text);
    *len = w > 0 ? (size_t)w : 0;
    return s;
}
