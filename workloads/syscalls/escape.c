/*
 * escape: tries to reach files outside the guest root. Run by tests/test_usermode.py with a
 * root that contains symlinks pointing out of it (relative, absolute, to "/", ".." chains);
 * the file "secret.txt" lives next to the root directory. Every attempt must fail or stay
 * inside the root, so the word in the secret file must never be printed, and nothing outside
 * the root may be changed. Extra paths to try can be given as arguments.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

static void try_read(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    printf("open %-40s -1 %s\n", path, errname(errno));
    return;
  }
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) {
    printf("read %-40s -1 %s\n", path, errname(errno));
    return;
  }
  buf[n] = 0;
  for (char *p = buf; *p; p++)
    if (*p == '\n') *p = ' ';
  printf("read %-40s %zd bytes: %s\n", path, n, buf);
}

static void try_list(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    printf("list %-40s -1 %s\n", path, errname(errno));
    return;
  }
  struct dirent *e;
  int has_secret = 0, n = 0;
  while ((e = readdir(d))) {
    n++;
    if (strcmp(e->d_name, "secret.txt") == 0) has_secret = 1;
  }
  closedir(d);
  printf("list %-40s %s\n", path, has_secret ? "SEES THE OUTSIDE" : "inside");
}

int main(int argc, char **argv) {
  const char *paths[] = {"../secret.txt",          "/../secret.txt",
                         "../../../../../../secret.txt", "/..//../secret.txt",
                         "link_rel",               "link_abs",
                         "link_root/secret.txt",   "link_dotdot/secret.txt",
                         "dir/../../secret.txt",   "/proc/self/root/../secret.txt",
                         "/proc/self/cwd/../secret.txt", NULL};
  for (int i = 0; paths[i]; i++) try_read(paths[i]);
  for (int i = 1; i < argc; i++) try_read(argv[i]);
  try_list("..");
  try_list("/..");
  try_list("link_root/..");
  try_list("link_dotdot");

  struct stat st;
  printf("stat ../secret.txt %d\n", stat("../secret.txt", &st) == 0 ? 0 : -1);
  printf("lstat link_abs %d\n", lstat("link_abs", &st) == 0 && S_ISLNK(st.st_mode) ? 1 : 0);
  char buf[256];
  printf("readlink /proc/self/exe %s\n", readlink("/proc/self/exe", buf, sizeof buf) > 0 ? "ok" : "fail");

  /* changes must not reach outside */
  printf("unlink ../secret.txt %d\n", unlink("../secret.txt") == 0 ? 0 : -1);
  printf("unlink link_dotdot/secret.txt %d\n", unlink("link_dotdot/secret.txt") == 0 ? 0 : -1);
  printf("rename link_abs-target %d\n", rename("link_root/secret.txt", "stolen.txt") == 0 ? 0 : -1);
  printf("mkdir ../made %d\n", mkdir("../made", 0755) == 0 ? 0 : -1);
  int fd = open("link_dotdot/created.txt", O_CREAT | O_WRONLY, 0644);
  printf("create via link_dotdot %s\n", fd >= 0 ? "created (inside)" : "refused");
  if (fd >= 0) close(fd);
  fd = open("link_abs", O_WRONLY | O_TRUNC);
  printf("truncate via link_abs %s\n", fd >= 0 ? "opened (inside)" : "refused");
  if (fd >= 0) close(fd);
  printf("symlink new_out %d\n", symlink("/../../..", "new_out") == 0 ? 0 : -1);
  try_read("new_out/secret.txt");

  /* walking up with chdir stops at the root */
  for (int i = 0; i < 20; i++) chdir("..");
  char cwd[256];
  printf("cwd after chdir(..) x20: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  try_read("secret.txt");
  printf("chdir link_dotdot %d\n", chdir("/link_dotdot") == 0 ? 0 : -1);
  printf("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  try_read("../secret.txt");
  return 0;
}
