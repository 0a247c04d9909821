/*
 * Reading an input file whole, for the importers.
 */
#include "import.h"
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int import_read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;
    int rc = CTXMEM_OK;

    *text = NULL, *len = 0;
    if (!f)
        return err_set(errno == ENOENT ? CTXMEM_ENOTFOUND : CTXMEM_EIO,
                       "import: cannot open "
                       "'%s': %s",
                       path, strerror(errno));
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        rc = err_set(CTXMEM_EIO, "import: cannot size '%s'", path);
    else if (!(buf = malloc((size_t)n + 1)))
        rc = err_set(CTXMEM_ENOMEM, "import: no memory for '%s' (%ld bytes)", path, n);
    else if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        rc = err_set(CTXMEM_EIO, "import: cannot read '%s'", path);
    fclose(f);
    if (rc != CTXMEM_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf, *len = (size_t)n;
    return CTXMEM_OK;
}
