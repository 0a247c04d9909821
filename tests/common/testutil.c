#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *mkdtemp(char *templ);

char *tu_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(4096);

    if (!path)
        return NULL;
    snprintf(path, 4096, "%s/ctxmem-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static void rmtree_at(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char child[4096];

    if (!d) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
        rmtree_at(child);
    }
    closedir(d);
    rmdir(path);
}

void tu_rmtree(char *path)
{
    if (!path)
        return;
    rmtree_at(path);
    free(path);
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
            if (len)
                *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

int tu_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

ctxmem_store *tu_store_new(char **dir)
{
    ctxmem_options o = CTXMEM_OPTIONS_INIT;
    ctxmem_store *s = NULL;

    *dir = tu_tempdir();
    o.tokenizer = "o200k_base";
    o.flags = CTXMEM_OPEN_NOSYNC;
    if (ctxmem_store_open(&s, *dir, &o) != CTXMEM_OK)
        fail_msg("tu_store_new: %s", ctxmem_error_last()->message);
    return s;
}

void tu_store_free(ctxmem_store *s, char *dir)
{
    ctxmem_store_close(s);
    tu_rmtree(dir);
}

double tu_scale(void)
{
    const char *v = getenv("CTXMEM_TEST_SCALE");
    double d = v ? atof(v) : 1.0;

    return d > 0 ? d : 1.0;
}
