/*
 * hostobj: tries, as an attacker would, to change host objects that are not the guest's own:
 * the executable behind /proc/self/exe, host device nodes, the embedder's stdio. Run by
 * tests/test_isolation.py, which checks on the host side that nothing changed (modes, sizes,
 * link counts, the stdio descriptions' flags). Every attempt prints its result; the guest's own
 * files inside its root must still be changeable (the "== own" section).
 *
 *   hostobj            attacks on the executable, /dev/null, /dev/zero and stdio
 *   hostobj dev NAME   also attacks NAME, a device node inside the root
 *   hostobj slash      with root "/": host device nodes and special file systems by path
 *
 * Output: a "== section" line before each group, then one "call  result" line per attempt.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "common.h"

static const struct timespec epoch[2] = {{0, 0}, {0, 0}};

/* As T, with a label made like printf (the same attack on several targets). */
#define TF(expr, ...) do {                                                  \
    errno = 0;                                                              \
    long r_ = (long)(expr);                                                 \
    int e_ = errno;                                                         \
    char w_[96];                                                            \
    snprintf(w_, sizeof w_, __VA_ARGS__);                                   \
    errno = e_;                                                             \
    show(w_, r_);                                                           \
  } while (0)

/* Change a host object by path: its mode, its times, a hard link to it in the root (the
 * labels read as the calls would be written). */
static void attack_path(const char *path, mode_t mode, const char *link_name) {
  TF(chmod(path, mode), "chmod(\"%s\", 0%o)", path, mode);
  TF(utimensat(AT_FDCWD, path, epoch, 0), "utimensat(AT_FDCWD, \"%s\", epoch, 0)", path);
  TF(linkat(AT_FDCWD, path, AT_FDCWD, link_name, AT_SYMLINK_FOLLOW),
     "linkat(AT_FDCWD, \"%s\", AT_FDCWD, \"%s\", AT_SYMLINK_FOLLOW)", path, link_name);
}

/* The same through descriptor fd, written `name` in the labels; link_name NULL: no link. */
static void attack_fd(int fd, const char *name, mode_t mode, const char *link_name) {
  TF(fchmod(fd, mode), "fchmod(%s, 0%o)", name, mode);
  TF(futimens(fd, epoch), "futimens(%s, epoch)", name);
  if (link_name)
    TF(linkat(fd, "", AT_FDCWD, link_name, AT_EMPTY_PATH),
       "linkat(%s, \"\", AT_FDCWD, \"%s\", AT_EMPTY_PATH)", name, link_name);
}

static void attack_exe(void) {
  puts("== exe");
  attack_path("/proc/self/exe", 0700, "exe_link");
  int fd = open("/proc/self/exe", O_RDONLY);
  show("open /proc/self/exe", fd);
  attack_fd(fd, "fd", 0700, "exe_link2");
  T(ftruncate(fd, 0));
  T(fchmodat(fd, "", 0700, AT_EMPTY_PATH));
  T(open("exe_link", O_WRONLY | O_APPEND));
  T(open("exe_link2", O_WRONLY | O_APPEND));
  T(open("/proc/self/exe", O_WRONLY));
  close(fd);
}

static void attack_devices(void) {
  puts("== devices");
  attack_path("/dev/null", 06540, "null_link");
  int fd = open("/dev/zero", O_RDONLY);
  show("open /dev/zero", fd);
  attack_fd(fd, "fd", 0600, "zero_link");
  close(fd);
  fd = open("/dev/null", O_WRONLY);
  T(fchmod(fd, 06540));
  T(ftruncate(fd, 0));
  close(fd);
}

static void attack_stdio(void) {
  puts("== stdio");
  for (int s = 0; s < 3; s++) {
    char name[16];
    snprintf(name, sizeof name, "%d", s);
    attack_fd(s, name, 0600, NULL);
  }
  T(ftruncate(1, 0));
  T(fallocate(1, 0, 0, 1 << 20));
  T(chmod("/dev/stdout", 0600));
  T(chmod("/dev/stdin", 0600));
  T(linkat(AT_FDCWD, "/dev/stdout", AT_FDCWD, "out_link", AT_SYMLINK_FOLLOW));
  T(linkat(1, "", AT_FDCWD, "out_link2", AT_EMPTY_PATH));
  T(fcntl(1, F_SETPIPE_SZ, 4096) < 0 ? -1 : 0);
  /* flags: the guest sees its own change, the host's description keeps its flags */
  T(fcntl(1, F_SETFL, O_NONBLOCK | O_APPEND));
  int fl = fcntl(1, F_GETFL);
  printf("%-40s %s\n", "F_GETFL(1) nonblock|append",
         (fl & O_NONBLOCK) && (fl & O_APPEND) ? "yes" : "no");
  int on = 1;
  T(ioctl(2, 0x5421 /* FIONBIO */, &on));
  fflush(stdout);
}

static void attack_dev_in_root(const char *name) {
  printf("== device node %s\n", name);
  T(open(name, O_RDONLY));
  T(open(name, O_WRONLY | O_CREAT, 0644));
  T(chmod(name, 0600));
  T(utimensat(AT_FDCWD, name, epoch, 0));
  T(utimensat(AT_FDCWD, name, epoch, AT_SYMLINK_NOFOLLOW));
  T(truncate(name, 0));
  T(link(name, "dev_link"));
  T(linkat(AT_FDCWD, name, AT_FDCWD, "dev_link2", AT_SYMLINK_FOLLOW));
  T(rename(name, "dev_moved"));
  int fd = open("victim", O_CREAT | O_WRONLY, 0644);
  close(fd);
  T(rename("victim", name)); /* would unlink the node */
  T(unlink(name));
}

static void own_files(void) {
  puts("== own");
  /* the guest's own objects inside its root stay fully changeable */
  int fd = open("mine.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
  show("own: open mine.txt", fd >= 0 ? 0 : -1);
  show("own: write", write(fd, "hello\n", 6));
  T(fchmod(fd, 0600));
  T(ftruncate(fd, 3));
  T(futimens(fd, epoch));
  T(chmod("mine.txt", 0640));
  T(utimensat(AT_FDCWD, "mine.txt", epoch, 0));
  T(truncate("mine.txt", 2));
  T(link("mine.txt", "mine2.txt"));
  T(linkat(fd, "", AT_FDCWD, "mine3.txt", AT_EMPTY_PATH));
  T(rename("mine2.txt", "mine4.txt"));
  T(unlink("mine4.txt"));
  T(unlink("mine3.txt"));
  T(mkdir("mydir", 0755));
  T(chmod("mydir", 0700));
  T(rmdir("mydir"));
  int p[2];
  T(pipe(p));
  T(fcntl(p[1], F_SETPIPE_SZ, 8192) < 0 ? -1 : 0);
  struct stat st;
  fstat(fd, &st);
  printf("own: mode %o size %ld nlink %ld\n", st.st_mode & 07777, (long)st.st_size,
         (long)st.st_nlink);
  close(fd);
}

static void attack_slash(void) {
  puts("== slash");
  /* root "/": everything is "inside", yet devices and kernel interfaces are not the guest's */
  T(open("/dev/full", O_WRONLY));
  T(chmod("/dev/full", 0600));
  T(utimensat(AT_FDCWD, "/dev/full", epoch, AT_SYMLINK_NOFOLLOW));
  T(open("/proc/self/mem", O_RDWR));
  T(open("/proc/self/status", O_RDONLY));
  T(open("/proc/sys/kernel/hostname", O_WRONLY));
  T(open("/sys/kernel/mm/transparent_hugepage/enabled", O_WRONLY));
  T(mkdir("/sys/fs/cgroup/cpu/wb_escape", 0755));
  T(mkdir("/sys/kernel/wb_escape", 0755));
  T(chmod("/proc/self/exe", 0700));
  T(link("/dev/full", "/tmp/wb_full_link"));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "slash") == 0) {
    attack_slash();
    return 0;
  }
  attack_exe();
  attack_devices();
  own_files();
  if (argc > 2 && strcmp(argv[1], "dev") == 0) attack_dev_in_root(argv[2]);
  attack_stdio();
  return 0;
}
