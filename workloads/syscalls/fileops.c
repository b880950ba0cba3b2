/*
 * fileops: path and descriptor syscalls beyond plain read/write, with their error codes.
 *
 * Runs in the current directory (must be writable; the test gives it a fresh temp dir as
 * the guest root) and prints one deterministic line per check, so the output can be
 * compared between the engine and qemu-riscv64. Covers: openat with a dirfd, O_EXCL,
 * O_DIRECTORY, O_APPEND, mkdirat/unlinkat/renameat2, symlinkat/readlinkat, linkat,
 * newfstatat (follow and nofollow), statx, faccessat, utimensat, fcntl flags, dup3,
 * pipe2 + poll, getdents64 (sorted), ftruncate/truncate, /dev/null, chdir/getcwd, errno
 * values (ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, EBADF, ELOOP).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include "common.h"

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void listing(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) { printf("opendir %s failed\n", dir); return; }
  char *n[64]; int k = 0;
  struct dirent *e;
  while ((e = readdir(d)) && k < 64) n[k++] = strdup(e->d_name);
  closedir(d);
  qsort(n, k, sizeof n[0], cmp);
  printf("ls %s:", dir);
  for (int i = 0; i < k; i++) { printf(" %s", n[i]); free(n[i]); }
  printf("\n");
}

int main(void) {
  umask(022);
  char buf[256];
  struct stat st;

  T(mkdir("t", 0755));
  T(mkdir("t", 0755));
  int dfd = open("t", O_RDONLY | O_DIRECTORY);
  show("open t O_DIRECTORY", dfd >= 0 ? 0 : -1);
  int fd = openat(dfd, "a.txt", O_CREAT | O_WRONLY | O_EXCL, 0640);
  show("openat(dfd, a.txt, O_EXCL)", fd >= 0 ? 0 : -1);
  T(write(fd, "hello world\n", 12));
  T(close(fd));
  T(openat(dfd, "a.txt", O_CREAT | O_WRONLY | O_EXCL, 0640));
  T(open("t/a.txt/x", O_RDONLY));
  T(open("t/a.txt", O_RDONLY | O_DIRECTORY));
  T(open("t", O_WRONLY));
  T(open("nonexistent/x", O_RDONLY));
  T(fstatat(dfd, "a.txt", &st, 0));
  printf("size %lld mode %o reg %d\n", (long long)st.st_size, st.st_mode & 07777, S_ISREG(st.st_mode));

  fd = open("t/a.txt", O_WRONLY | O_APPEND);
  T(lseek(fd, 0, SEEK_SET));
  T(write(fd, "more\n", 5));
  T(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  T(fcntl(fd, F_SETFL, O_NONBLOCK));
  T(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  T(fcntl(fd, F_GETFD));
  T(fcntl(fd, F_SETFD, FD_CLOEXEC));
  T(fcntl(fd, F_GETFD));
  int fd2 = fcntl(fd, F_DUPFD, 50);
  T(fd2);
  T(fcntl(fd2, F_GETFD));
  T(dup3(fd, 60, O_CLOEXEC));
  T(fcntl(60, F_GETFD));
  T(dup3(fd, fd, 0));
  T(close(60));
  T(close(fd2));
  T(close(fd));
  T(close(fd));
  fd = open("t/a.txt", O_RDONLY);
  T(read(fd, buf, sizeof buf));
  T(pread(fd, buf, 4, 6));
  buf[4] = 0;
  printf("pread: %s\n", buf);
  T(close(fd));

  /* symlinks */
  T(symlink("a.txt", "t/rel"));
  T(symlink("/t/a.txt", "t/abs_in_root"));
  T(symlink("loop2", "t/loop1"));
  T(symlink("loop1", "t/loop2"));
  T(symlink("missing", "t/dangling"));
  T(readlink("t/rel", buf, sizeof buf));
  T(readlink("t/a.txt", buf, sizeof buf));
  T(readlink("t/rel", buf, 3));
  T(stat("t/rel", &st));
  printf("stat via rel: size %lld\n", (long long)st.st_size);
  T(lstat("t/rel", &st));
  printf("lstat rel: islnk %d size %lld\n", S_ISLNK(st.st_mode), (long long)st.st_size);
  T(open("t/loop1", O_RDONLY));
  T(open("t/dangling", O_RDONLY));
  T(open("t/rel", O_RDONLY | O_NOFOLLOW));
  T(access("t/a.txt", R_OK | W_OK));
  T(access("t/nope", F_OK));
  T(faccessat(AT_FDCWD, "t/dangling", F_OK, AT_SYMLINK_NOFOLLOW));

  /* statx */
  struct statx sx;
  T(statx(AT_FDCWD, "t/a.txt", 0, STATX_BASIC_STATS, &sx));
  printf("statx size %llu mode %o\n", (unsigned long long)sx.stx_size, sx.stx_mode & 07777);
  T(statx(dfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
  printf("statx dir %d\n", S_ISDIR(sx.stx_mode));

  /* links, renames */
  T(link("t/a.txt", "t/hard"));
  T(stat("t/a.txt", &st));
  printf("nlink %ld\n", (long)st.st_nlink);
  T(rename("t/hard", "t/hard2"));
  T(syscall(SYS_renameat2, AT_FDCWD, "t/hard2", AT_FDCWD, "t/a.txt", 1 /* NOREPLACE */));
  T(renameat(dfd, "hard2", dfd, "hard3"));
  T(mkdir("t/sub", 0700));
  T(mkdir("t/sub/deeper", 0700));
  T(rmdir("t/sub"));
  T(rmdir("t/a.txt"));
  T(unlink("t/sub"));
  T(rmdir("t/sub/deeper"));
  T(rmdir("t/sub/"));
  T(unlink("t/a.txt/"));
  listing("t");

  /* truncate, utimensat */
  T(truncate("t/hard3", 3));
  T(stat("t/hard3", &st));
  printf("size after truncate %lld\n", (long long)st.st_size);
  struct timespec times[2] = {{1000000000, 0}, {1234567890, 500}};
  T(utimensat(AT_FDCWD, "t/hard3", times, 0));
  T(stat("t/hard3", &st));
  printf("mtime %lld.%09ld atime %lld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
         (long long)st.st_atim.tv_sec);

  /* cwd */
  T(chdir("t/nope"));
  T(chdir("t/hard3"));
  char cwd0[512], cwd1[512];
  getcwd(cwd0, sizeof cwd0);
  T(chdir("t"));
  getcwd(cwd1, sizeof cwd1);
  printf("cwd ends with /t: %d\n", strlen(cwd1) >= 2 && strcmp(cwd1 + strlen(cwd1) - 2, "/t") == 0);
  T(access("hard3", F_OK));
  T(fchdir(dfd));
  T(chdir(".."));
  getcwd(cwd1, sizeof cwd1);
  printf("back: %d\n", strcmp(cwd0, cwd1) == 0);

  /* pipes and poll */
  int p[2];
  T(pipe2(p, O_CLOEXEC));
  struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
  T(poll(pf, 2, 0));
  printf("revents %x %x\n", pf[0].revents, pf[1].revents);
  T(write(p[1], "abc", 3));
  T(poll(pf, 2, 0));
  printf("revents %x %x\n", pf[0].revents, pf[1].revents);
  T(read(p[0], buf, sizeof buf));
  T(fcntl(p[0], F_SETFL, O_NONBLOCK));
  T(read(p[0], buf, sizeof buf));
  T(close(p[1]));
  T(read(p[0], buf, sizeof buf));
  T(close(p[0]));

  /* /dev/null */
  fd = open("/dev/null", O_RDWR);
  show("open /dev/null", fd >= 0 ? 0 : -1);
  T(write(fd, "x", 1));
  T(read(fd, buf, 1));
  T(close(fd));

  /* bad fds and pointers */
  T(read(999, buf, 1));
  T(write(-1, buf, 1));
  void *volatile bad = (void *)8;
  T(read(0, bad, 1));
  T(fstat(12345, &st));

  /* cleanup */
  T(unlink("t/hard3"));
  T(unlink("t/rel"));
  T(unlink("t/abs_in_root"));
  T(unlink("t/loop1"));
  T(unlink("t/loop2"));
  T(unlink("t/dangling"));
  T(unlink("t/a.txt"));
  T(close(dfd));
  T(rmdir("t"));
  listing(".");
  return 0;
}
