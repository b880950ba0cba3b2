/*
 * files: file-system system calls through the C library.
 *
 * Creates everything inside a fresh directory "wb_files_tmp" under the
 * current directory (which must be writable), and removes it at the end.
 * Output is deterministic: directory listings are sorted, the current
 * directory and the clock are only sanity-checked, never printed.
 *
 * Uses: openat, read, write, pread64, pwrite64, lseek, fstat/newfstatat,
 * ftruncate, fsync, getdents64 (via readdir), mkdirat, renameat, unlinkat,
 * getcwd, chdir, dup, pipe2, clock_gettime/time, access (faccessat), umask.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define DIR_NAME "wb_files_tmp"

static int failures;

static void check(int cond, const char *what)
{
    printf("%-44s %s\n", what, cond ? "ok" : "FAILED");
    if (!cond) {
        failures++;
        printf("    errno=%d (%s)\n", errno, strerror(errno));
    }
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        check(0, "opendir");
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n < 64)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    printf("listing of %s (%d entries):", path, n);
    for (int i = 0; i < n; i++) {
        struct stat st;
        char full[512];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        if (stat(full, &st) == 0)
            printf(" %s%s(%lld)", names[i], S_ISDIR(st.st_mode) ? "/" : "", S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
        else
            printf(" %s(?)", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void remove_tree_best_effort(void)
{
    /* Leftovers from an interrupted earlier run. */
    DIR *d = opendir(DIR_NAME);
    if (!d)
        return;
    struct dirent *e;
    char full[512];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(full, sizeof full, DIR_NAME "/%s", e->d_name);
        if (unlink(full) != 0) {
            /* one level of subdirectories */
            DIR *s = opendir(full);
            if (s) {
                struct dirent *f;
                char sub[1024];
                while ((f = readdir(s)) != NULL)
                    if (f->d_name[0] != '.') {
                        snprintf(sub, sizeof sub, "%s/%s", full, f->d_name);
                        unlink(sub);
                    }
                closedir(s);
            }
            rmdir(full);
        }
    }
    closedir(d);
    rmdir(DIR_NAME);
}

int main(void)
{
    char cwd[4096];
    check(getcwd(cwd, sizeof cwd) != NULL && cwd[0] == '/', "getcwd returns an absolute path");
    time_t now = time(NULL);
    printf("time %s\n", now > 0 ? "ok" : "BAD");
    struct timespec ts;
    check(clock_gettime(CLOCK_MONOTONIC, &ts) == 0, "clock_gettime(CLOCK_MONOTONIC)");

    umask(022); /* make the printed mode bits independent of the caller's umask */
    remove_tree_best_effort();
    check(mkdir(DIR_NAME, 0755) == 0, "mkdir " DIR_NAME);
    check(chdir(DIR_NAME) == 0, "chdir " DIR_NAME);
    char cwd2[4096];
    check(getcwd(cwd2, sizeof cwd2) != NULL && strlen(cwd2) == (strcmp(cwd, "/") == 0 ? 1 : strlen(cwd) + 1) + strlen(DIR_NAME) &&
              strcmp(cwd2 + strlen(cwd2) - strlen(DIR_NAME), DIR_NAME) == 0,
          "getcwd after chdir ends with the new dir");

    /* raw fd I/O */
    int fd = open("data.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    check(fd >= 0, "open data.bin O_CREAT|O_RDWR|O_TRUNC");
    unsigned char block[4096];
    for (int i = 0; i < (int)sizeof block; i++)
        block[i] = (unsigned char)(i * 7 + (i >> 8));
    ssize_t total = 0;
    for (int i = 0; i < 10; i++)
        total += write(fd, block, sizeof block);
    check(total == 40960, "write 10 x 4096 bytes");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size == 40960 && S_ISREG(st.st_mode), "fstat size 40960, regular file");
    printf("mode bits %o\n", (unsigned)(st.st_mode & 0777));
    check(lseek(fd, 0, SEEK_CUR) == 40960, "lseek SEEK_CUR == 40960");
    check(lseek(fd, 100, SEEK_SET) == 100, "lseek SEEK_SET 100");
    unsigned char buf[256];
    check(read(fd, buf, 10) == 10 && memcmp(buf, block + 100, 10) == 0, "read 10 bytes at 100");
    check(lseek(fd, -6, SEEK_END) == 40954, "lseek SEEK_END -6");
    check(read(fd, buf, 100) == 6, "short read at end of file");
    check(read(fd, buf, 100) == 0, "read at EOF returns 0");
    check(pwrite(fd, "HELLO", 5, 5000) == 5, "pwrite 5 bytes at 5000");
    check(pread(fd, buf, 9, 4998) == 9 && memcmp(buf + 2, "HELLO", 5) == 0, "pread sees the pwrite");
    check(lseek(fd, 0, SEEK_CUR) == 40960, "pread/pwrite leave the offset alone");
    check(lseek(fd, 50000, SEEK_SET) == 50000 && write(fd, "X", 1) == 1, "write past EOF makes a hole");
    check(fstat(fd, &st) == 0 && st.st_size == 50001, "size 50001 after the hole");
    check(pread(fd, buf, 4, 45000) == 4 && buf[0] == 0 && buf[3] == 0, "hole reads as zeros");
    check(ftruncate(fd, 1000) == 0 && fstat(fd, &st) == 0 && st.st_size == 1000, "ftruncate to 1000");
    check(fsync(fd) == 0, "fsync");
    int fd2 = dup(fd);
    check(fd2 > fd, "dup");
    check(lseek(fd2, 0, SEEK_SET) == 0 && lseek(fd, 0, SEEK_CUR) == 0, "dup shares the file offset");
    close(fd2);
    check(close(fd) == 0, "close");
    check(close(fd) == -1 && errno == EBADF, "double close gives EBADF");

    /* stdio */
    FILE *f = fopen("text.txt", "w");
    check(f != NULL, "fopen text.txt w");
    for (int i = 0; i < 100; i++)
        fprintf(f, "line %03d: %s\n", i, (i % 3) ? "fizz" : "buzz");
    check(fclose(f) == 0, "fclose");
    f = fopen("text.txt", "r");
    char line[128];
    int lines = 0;
    unsigned long sum = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        for (char *p = line; *p; p++)
            sum = sum * 31 + (unsigned char)*p;
    }
    printf("read back %d lines, hash %lu\n", lines, sum);
    check(fseek(f, 10, SEEK_SET) == 0 && ftell(f) == 10, "fseek/ftell");
    check(fgets(line, sizeof line, f) && strcmp(line, "buzz\n") == 0, "fgets after fseek");
    fclose(f);
    f = fopen("text.txt", "a+");
    fputs("appended\n", f);
    fflush(f);
    rewind(f);
    lines = 0;
    while (fgets(line, sizeof line, f))
        lines++;
    check(lines == 101, "append mode adds a line");
    fclose(f);

    /* directories, rename, unlink */
    check(mkdir("sub", 0755) == 0, "mkdir sub");
    check(mkdir("sub", 0755) == -1 && errno == EEXIST, "mkdir existing gives EEXIST");
    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "sub/file%d.dat", 4 - i);
        int t = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (t >= 0) {
            (void)!write(t, name, strlen(name));
            close(t);
        }
    }
    list_dir(".");
    list_dir("sub");
    check(rename("text.txt", "sub/renamed.txt") == 0, "rename into sub");
    check(access("text.txt", F_OK) == -1 && errno == ENOENT, "old name is gone (ENOENT)");
    check(access("sub/renamed.txt", R_OK | W_OK) == 0, "new name is accessible");
    check(rename("sub/file0.dat", "sub/file1.dat") == 0, "rename over an existing file");
    list_dir("sub");
    check(open("missing", O_RDONLY) == -1 && errno == ENOENT, "open missing file gives ENOENT");
    check(rmdir("sub") == -1 && (errno == ENOTEMPTY || errno == EEXIST), "rmdir non-empty fails");
    check(unlink("sub") == -1, "unlink on a directory fails");

    /* pipe */
    int p[2];
    check(pipe(p) == 0, "pipe");
    check(write(p[1], "through the pipe", 16) == 16, "write to pipe");
    memset(buf, 0, sizeof buf);
    check(read(p[0], buf, sizeof buf) == 16 && memcmp(buf, "through the pipe", 16) == 0, "read from pipe");
    close(p[0]);
    close(p[1]);

    /* clean up */
    const char *files[] = {"sub/file1.dat", "sub/file2.dat", "sub/file3.dat", "sub/file4.dat", "sub/renamed.txt",
                           "data.bin"};
    int removed = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        removed += unlink(files[i]) == 0;
    printf("unlinked %d files\n", removed);
    check(rmdir("sub") == 0, "rmdir sub");
    list_dir(".");
    check(chdir("..") == 0 && rmdir(DIR_NAME) == 0, "chdir .. and rmdir " DIR_NAME);
    time_t later = time(NULL);
    printf("clock monotone %s\n", later >= now ? "ok" : "BAD");
    printf("files done: %d failures\n", failures);
    return failures ? 1 : 0;
}
