/*
 * Space and permissions of the file system: a full disk is reported with
 * CTXMEM_EFULL and loses nothing committed; a read-only file system refuses
 * writes with CTXMEM_EREADONLY and still serves reads. Both need to mount a
 * small tmpfs or a read-only bind mount, so they run as root and skip (with
 * a message) where mounting is not permitted.
 */
#include "testutil.h"
#include "rel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_BYTES 4000

/* Mount a tmpfs of `size` bytes at a new temporary directory, or skip the test. */
static char *mount_tmpfs(const char *size)
{
    char *dir = tu_tempdir();
    char opts[32];

    snprintf(opts, sizeof(opts), "size=%s", size);
    if (geteuid() != 0 || mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
        printf("skipped: cannot mount a tmpfs (%s); run as root to test a full disk\n",
               geteuid() ? "not root" : strerror(errno));
        tu_rmtree(dir);
        skip();
    }
    return dir;
}

static void unmount(char *dir)
{
    assert_int_equal(umount(dir), 0);
    tu_rmtree(dir);
}

static void write_filler(const char *path, size_t bytes)
{
    static char block[4096];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    for (size_t n = 0; n < bytes; n += sizeof(block))
        assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
    close(fd);
}

/* Add SEG_BYTES segments until the add fails; returns the count committed. */
static uint64_t fill(ctxmem_store *s, int *rc)
{
    static char text[SEG_BYTES + 1];
    ctxmem_segment_in in = {0};
    uint64_t n = 0;

    memset(text, 'a', SEG_BYTES);
    in.role = CTXMEM_ROLE_USER, in.text = text, in.text_len = SEG_BYTES;
    while ((*rc = ctxmem_store_add(s, &rel_scope, &in, 1, NULL)) == CTXMEM_OK && n < 100000)
        n++;
    return n;
}

static void test_space_full_disk_is_reported_and_keeps_committed(void **state)
{
    char *mnt = mount_tmpfs("2m");
    char store_dir[4200], filler[4200];
    ctxmem_store *s = NULL;
    ctxmem_store_info info;
    ctxmem_segment_in in = {0};
    uint64_t committed;
    int rc;

    (void)state;
    snprintf(store_dir, sizeof(store_dir), "%s/store", mnt);
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    write_filler(filler, 256 << 10);
    assert_ctxmem(rel_open(&s, store_dir, 0), CTXMEM_OK);
    committed = fill(s, &rc);
    assert_int_equal(rc, CTXMEM_EFULL);
    assert_non_null(strstr(ctxmem_error_last()->message, "space"));
    assert_true(committed > 50);
    ctxmem_store_close(s); /* the vector cache cannot be written either: not an error */

    assert_ctxmem(rel_open(&s, store_dir, 0), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_int_equal(info.segments, committed);

    /* Space comes back: the store goes on. */
    assert_int_equal(unlink(filler), 0);
    in.role = CTXMEM_ROLE_USER, in.text = "after the disk was full", in.text_len = 23;
    assert_ctxmem(ctxmem_store_add(s, &rel_scope, &in, 1, NULL), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_int_equal(info.segments, committed + 1);
    ctxmem_store_close(s);
    unmount(mnt);
}

/* A store on a file system mounted read-only. */
static void test_space_read_only_mount_serves_reads_and_refuses_writes(void **state)
{
    char *dir = tu_tempdir();
    ctxmem_store *s = NULL;
    ctxmem_store_info info;
    ctxmem_segment_in in = {0};

    (void)state;
    in.role = CTXMEM_ROLE_USER, in.text = "written before the remount", in.text_len = 26;
    assert_ctxmem(rel_open(&s, dir, 0), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_add(s, &rel_scope, &in, 1, NULL), CTXMEM_OK);
    ctxmem_store_close(s);
    if (geteuid() != 0 || mount(dir, dir, "none", MS_BIND, NULL) != 0) {
        printf("skipped: cannot bind-mount (%s); run as root to test a read-only store\n",
               geteuid() ? "not root" : strerror(errno));
        tu_rmtree(dir);
        skip();
    }
    assert_int_equal(mount("none", dir, "none", MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);

    assert_ctxmem(rel_open(&s, dir, 0), CTXMEM_EREADONLY);
    assert_null(s);
    assert_ctxmem(rel_open(&s, dir, CTXMEM_OPEN_READONLY), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_stat(s, &info), CTXMEM_OK);
    assert_int_equal(info.segments, 1);
    assert_ctxmem(ctxmem_store_add(s, &rel_scope, &in, 1, NULL), CTXMEM_EREADONLY);
    ctxmem_store_close(s);
    unmount(dir);
}

static void assert_mode(const char *dir, const char *name, unsigned mode)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof(path), "%s%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    if ((st.st_mode & 0777) != mode)
        fail_msg("%s has mode %o, want %o", path, st.st_mode & 0777, mode);
}

/* Every file a store writes is private: the LMDB files and the vector cache. */
static void test_space_store_and_vector_cache_files_are_private(void **state)
{
    char *dir = tu_tempdir(), store_dir[4200];
    ctxmem_store *s = NULL;
    ctxmem_segment_in in = {0};
    ctxmem_hit *hits = NULL;
    size_t n = 0;
    uint32_t scope = 0;
    char name[64];
    mode_t old = umask(0022);

    (void)state;
    snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
    in.role = CTXMEM_ROLE_USER, in.text = "a private thought", in.text_len = 17;
    assert_ctxmem(rel_open(&s, store_dir, 0), CTXMEM_OK);
    assert_ctxmem(ctxmem_store_add(s, &rel_scope, &in, 1, NULL), CTXMEM_OK);
    assert_ctxmem(ctxmem_search(&hits, &n, s, &rel_scope, 1, "private", 7, NULL), CTXMEM_OK);
    ctxmem_hits_free(hits);
    assert_ctxmem(ctxmem_store_scope_id(s, &rel_scope, &scope), CTXMEM_OK);
    ctxmem_store_close(s); /* writes the vector cache */
    umask(old);

    assert_mode(store_dir, "", 0700);
    assert_mode(store_dir, "/data.mdb", 0600);
    assert_mode(store_dir, "/lock.mdb", 0600);
    assert_mode(store_dir, "/vindex", 0700);
    snprintf(name, sizeof(name), "/vindex/%u.faiss", scope);
    assert_mode(store_dir, name, 0600);
    snprintf(name, sizeof(name), "/vindex/%u.state", scope);
    assert_mode(store_dir, name, 0600);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_space_full_disk_is_reported_and_keeps_committed),
        cmocka_unit_test(test_space_read_only_mount_serves_reads_and_refuses_writes),
        cmocka_unit_test(test_space_store_and_vector_cache_files_are_private),
    };
    setenv("OMP_NUM_THREADS", "1", 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
