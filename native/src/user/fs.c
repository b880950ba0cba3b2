/* fs.c — the guest's file-system view: the guest fd table and path resolution confined to the
 * root directory.
 *
 * Confinement: every guest path is made absolute (joined with the guest cwd or a dirfd's own
 * guest path) and resolved by the kernel with openat2(rootfd, path, RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS): "..", absolute symlinks and relative symlinks are all resolved as if
 * rootfd were "/", so nothing outside the root can ever be reached. Operations that must not
 * follow the last component (unlink, mkdir, rename, lstat, readlink, ...) open the parent that
 * way (O_PATH) and act on the last name relative to it with host *at calls, which never follow
 * a final symlink. Operations that follow the last component resolve it fully to an O_PATH fd
 * first and then act on that fd.
 *
 * Directory fds are turned back into guest paths through /proc/self/fd (the kernel's own name
 * for the open directory, minus the root prefix), so a dirfd or the cwd is always canonical.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "user_internal.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* ---- fd table ---- */

static void set_borrowed(wb_fd *e, int hostfd) {
  memset(e, 0, sizeof *e);
  if (hostfd < 0) {
    e->kind = WB_FD_FREE;
    e->host = -1;
    return;
  }
  e->kind = WB_FD_HOST;
  e->host = hostfd;
  e->borrowed = 1;
  e->shared = 1; /* the embedder's description: its flags are emulated, never changed */
  int fl = fcntl(hostfd, F_GETFL);
  e->guest_flags = fl < 0 ? 0 : (int)wb_oflags_to_guest(fl);
  struct stat st;
  if (fstat(hostfd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) e->is_pipe = 1;
}

void wb_fd_init(wb_machine *m) {
  wb_user *u = wb_u(m);
  for (int i = 0; i < WB_MAX_FDS; i++) {
    u->fds[i].kind = WB_FD_FREE;
    u->fds[i].host = -1;
  }
  set_borrowed(&u->fds[0], m->cfg.stdin_fd);
  set_borrowed(&u->fds[1], m->cfg.stdout_fd);
  set_borrowed(&u->fds[2], m->cfg.stderr_fd);
}

void wb_fd_fini(wb_machine *m) {
  for (int i = 0; i < WB_MAX_FDS; i++) wb_fd_close(m, i);
}

wb_fd *wb_fd_get(wb_machine *m, uint64_t gfd) {
  /* The kernel takes fds as unsigned int: only the low 32 bits count. */
  uint32_t fd = (uint32_t)gfd;
  if (fd >= WB_MAX_FDS) return NULL;
  wb_fd *e = &wb_u(m)->fds[fd];
  return e->kind == WB_FD_FREE ? NULL : e;
}

int wb_fd_alloc(wb_machine *m, const wb_fd *e, int minfd) {
  wb_user *u = wb_u(m);
  uint64_t lim = u->rlim[7][0]; /* RLIMIT_NOFILE */
  int max = lim < WB_MAX_FDS ? (int)lim : WB_MAX_FDS;
  if (minfd < 0) minfd = 0;
  for (int i = minfd; i < max; i++) {
    if (u->fds[i].kind == WB_FD_FREE) {
      u->fds[i] = *e;
      return i;
    }
  }
  return -EMFILE;
}

int wb_fd_close(wb_machine *m, int gfd) {
  if (gfd < 0 || gfd >= WB_MAX_FDS) return -EBADF;
  wb_fd *e = &wb_u(m)->fds[gfd];
  if (e->kind == WB_FD_FREE) return -EBADF;
  if (e->host >= 0 && !e->borrowed) close(e->host);
  memset(e, 0, sizeof *e);
  e->kind = WB_FD_FREE;
  e->host = -1;
  return 0;
}

int wb_fd_host(wb_machine *m, uint64_t gfd) {
  wb_fd *e = wb_fd_get(m, gfd);
  if (!e) return -EBADF;
  if (e->kind != WB_FD_HOST) return -EINVAL;
  return e->host;
}

/* ---- open flags: guest values are the asm-generic ones; the host may differ (arm64) ---- */

#define G_O_ACCMODE 03
#define G_O_CREAT 0100
#define G_O_EXCL 0200
#define G_O_NOCTTY 0400
#define G_O_TRUNC 01000
#define G_O_APPEND 02000
#define G_O_NONBLOCK 04000
#define G_O_DSYNC 010000
#define G_O_ASYNC 020000
#define G_O_DIRECT 040000
#define G_O_LARGEFILE 0100000
#define G_O_DIRECTORY 0200000
#define G_O_NOFOLLOW 0400000
#define G_O_NOATIME 01000000
#define G_O_CLOEXEC 02000000
#define G_O_SYNC 04000000 /* __O_SYNC */
#define G_O_PATH 010000000
#define G_O_TMPFILE 020000000 /* __O_TMPFILE */

static const struct { uint64_t g; int h; } oflag_map[] = {
    {G_O_CREAT, O_CREAT},         {G_O_EXCL, O_EXCL},         {G_O_NOCTTY, O_NOCTTY},
    {G_O_TRUNC, O_TRUNC},         {G_O_APPEND, O_APPEND},     {G_O_NONBLOCK, O_NONBLOCK},
    {G_O_DSYNC, O_DSYNC},         {G_O_ASYNC, O_ASYNC},       {G_O_DIRECT, O_DIRECT},
    {G_O_DIRECTORY, O_DIRECTORY}, {G_O_NOFOLLOW, O_NOFOLLOW}, {G_O_NOATIME, O_NOATIME},
    {G_O_CLOEXEC, O_CLOEXEC},     {G_O_PATH, O_PATH},
};

int wb_oflags_to_host(uint64_t g) {
  int h = (int)(g & G_O_ACCMODE);
  for (size_t i = 0; i < sizeof oflag_map / sizeof oflag_map[0]; i++)
    if (g & oflag_map[i].g) h |= oflag_map[i].h;
  if (g & G_O_SYNC) h |= O_SYNC;
  if (g & G_O_TMPFILE) h |= O_TMPFILE & ~O_DIRECTORY; /* O_DIRECTORY comes from the table */
  return h;
}

uint64_t wb_oflags_to_guest(int h) {
  uint64_t g = (uint64_t)(h & O_ACCMODE);
  for (size_t i = 0; i < sizeof oflag_map / sizeof oflag_map[0]; i++)
    if (h & oflag_map[i].h) g |= oflag_map[i].g;
  if ((h & O_SYNC) == O_SYNC) g |= G_O_SYNC;
  if (h & (O_TMPFILE & ~O_DIRECTORY)) g |= G_O_TMPFILE;
  g |= G_O_LARGEFILE; /* 64-bit: the kernel reports O_LARGEFILE on every file */
  return g;
}

/* ---- the isolation rule ---- */

int wb_host_may_change(int hostfd, int in_root, enum wb_change how) {
  if (!in_root) return -EPERM;
  struct stat st;
  if (fstatat(hostfd, "", &st, AT_EMPTY_PATH) != 0) return -errno;
  mode_t t = st.st_mode & S_IFMT;
  if (t == S_IFREG || t == S_IFDIR) return 0;
  if (t == S_IFLNK && how != WB_CHANGE_META) return 0;
  if ((t == S_IFIFO || t == S_IFSOCK) && how == WB_CHANGE_NAME) return 0;
  return -EPERM;
}

int wb_fd_may_change(const wb_fd *e, enum wb_change how) {
  if (e->kind != WB_FD_HOST) return -EPERM;
  return wb_host_may_change(e->host, e->in_root, how);
}

int wb_fs_special(int hostfd) {
  /* Magic numbers from linux/magic.h: file systems whose files are kernel interfaces. */
  static const unsigned long special[] = {
      0x9fa0,     /* proc */         0x62656572, /* sysfs */      0x64626720, /* debugfs */
      0x74726163, /* tracefs */      0x73636673, /* securityfs */ 0x27e0eb,   /* cgroup */
      0x63677270, /* cgroup2 */      0xcafe4a11, /* bpf */        0x62656570, /* configfs */
      0x6165676c, /* pstore */       0xde5e81e4, /* efivarfs */   0xf97cff8c, /* selinuxfs */
      0x42494e4d, /* binfmt_misc */  0x65735543, /* fusectl */
  };
  struct statfs sf;
  if (fstatfs(hostfd, &sf) != 0) return 0;
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
    if ((unsigned long)sf.f_type == special[i]) return -EACCES;
  return 0;
}

/* ---- paths ---- */

int wb_path_guest_of_host(wb_machine *m, const char *hp, char *out, size_t outlen) {
  wb_user *u = wb_u(m);
  if (!u->root_real || hp[0] != '/') return -ENOENT;
  const char *rest;
  if (u->root_len == 1) {
    rest = hp; /* root is "/" */
  } else {
    if (strncmp(hp, u->root_real, u->root_len) != 0) return -ENOENT;
    rest = hp + u->root_len;
    if (*rest != 0 && *rest != '/') return -ENOENT;
  }
  if (*rest == 0) rest = "/";
  if (strlen(rest) + 1 > outlen) return -ENAMETOOLONG;
  strcpy(out, rest);
  return 0;
}

int wb_path_of_fd(wb_machine *m, int hostfd, char *out, size_t outlen) {
  char link[64], hp[PATH_MAX + 1];
  snprintf(link, sizeof link, "/proc/self/fd/%d", hostfd);
  ssize_t n = readlink(link, hp, PATH_MAX);
  if (n <= 0) return -ENOENT;
  hp[n] = 0;
  return wb_path_guest_of_host(m, hp, out, outlen);
}

int wb_path_arg(wb_machine *m, uint64_t gaddr, char *buf, int allow_empty) {
  long n = wb_mem_read_str(&m->mem, gaddr, buf, WB_PATH_MAX);
  if (n < 0) return (int)n;
  if (n == 0 && !allow_empty) return -ENOENT;
  return 0;
}

int wb_path_join(wb_machine *m, int64_t dirfd, const char *path, char *out, size_t outlen) {
  wb_user *u = wb_u(m);
  if (u->rootfd < 0) return -ENOENT;
  size_t pl = strlen(path);
  if (path[0] == '/') {
    if (pl + 1 > outlen) return -ENAMETOOLONG;
    memcpy(out, path, pl + 1);
    return 0;
  }
  char base[WB_PATH_MAX];
  int dfd = (int)dirfd; /* the kernel takes dirfd as an int */
  if (dfd == AT_FDCWD) {
    snprintf(base, sizeof base, "%s", u->cwd);
  } else {
    wb_fd *e = wb_fd_get(m, (uint64_t)(int64_t)dfd);
    if (dfd < 0 || !e) return -EBADF;
    if (e->kind != WB_FD_HOST) return -ENOTDIR;
    struct stat st;
    if (fstat(e->host, &st) != 0) return -EBADF;
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
    int r = wb_path_of_fd(m, e->host, base, sizeof base);
    if (r != 0) return r;
  }
  size_t bl = strlen(base);
  int need_slash = bl == 0 || base[bl - 1] != '/';
  if (bl + (size_t)need_slash + pl + 1 > outlen) return -ENAMETOOLONG;
  memcpy(out, base, bl);
  if (need_slash) out[bl++] = '/';
  memcpy(out + bl, path, pl + 1);
  return 0;
}

int wb_path_open(wb_machine *m, const char *gpath, int host_flags, int mode) {
  return wb_path_open2(m, gpath, host_flags, mode, 0);
}

int wb_path_open2(wb_machine *m, const char *gpath, int host_flags, int mode,
                  uint64_t resolve_extra) {
  wb_user *u = wb_u(m);
  if (u->rootfd < 0) return -ENOENT;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(unsigned)(host_flags | O_CLOEXEC);
  if (host_flags & (O_CREAT | (O_TMPFILE & ~O_DIRECTORY))) how.mode = (uint64_t)(mode & 07777);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve_extra;
  for (int tries = 0; tries < 8; tries++) {
    long fd = syscall(SYS_openat2, u->rootfd, gpath, &how, sizeof how);
    if (fd >= 0) {
      int r = wb_fs_special((int)fd);
      if (r == 0) return (int)fd;
      close((int)fd);
      return r;
    }
    if (errno != EAGAIN && errno != EINTR) return -errno;
  }
  return -EAGAIN;
}

int wb_path_parent(wb_machine *m, const char *gpath, char *name, int *slash, int *special) {
  char p[WB_PATH_MAX];
  size_t l = strlen(gpath);
  if (l + 1 > sizeof p) return -ENAMETOOLONG;
  memcpy(p, gpath, l + 1);
  *slash = 0;
  *special = 0;
  name[0] = 0;
  while (l > 1 && p[l - 1] == '/') {
    p[--l] = 0;
    *slash = 1;
  }
  char *last = strrchr(p, '/');
  const char *comp = last ? last + 1 : p;
  if (l == 0 || (l == 1 && p[0] == '/') || strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
    *special = 1;
    return wb_path_open(m, p[0] ? p : "/", O_PATH | O_DIRECTORY, 0);
  }
  if (strlen(comp) > 255) return -ENAMETOOLONG;
  strcpy(name, comp);
  if (last == p) {
    p[1] = 0; /* parent is "/" */
  } else if (last) {
    *last = 0;
  } else {
    strcpy(p, "."); /* cannot happen: paths are absolute */
  }
  return wb_path_open(m, p, O_PATH | O_DIRECTORY, 0);
}

/* ---- init / fini for the file-system state ---- */

int wb_fs_init(wb_machine *m, char *err, size_t errlen) {
  wb_user *u = wb_u(m);
  u->rootfd = -1;
  snprintf(u->cwd, sizeof u->cwd, "/");
  wb_fd_init(m);
  if (!m->cfg.root) return 0;
  u->root_real = realpath(m->cfg.root, NULL);
  if (!u->root_real) {
    snprintf(err, errlen, "root directory %s: %s", m->cfg.root, strerror(errno));
    return -1;
  }
  u->root_len = strlen(u->root_real);
  u->rootfd = open(u->root_real, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (u->rootfd < 0) {
    snprintf(err, errlen, "root directory %s: %s", m->cfg.root, strerror(errno));
    return -1;
  }
  /* Root confinement depends on openat2 (Linux >= 5.6); refuse to run without it. */
  int t = wb_path_open(m, "/", O_PATH | O_DIRECTORY, 0);
  if (t < 0) {
    snprintf(err, errlen, "cannot confine file access to %s: openat2 failed (%s); Linux >= 5.6 "
             "is required", m->cfg.root, strerror(-t));
    return -1;
  }
  close(t);
  if (m->cfg.cwd && m->cfg.cwd[0]) {
    char g[WB_PATH_MAX];
    if (snprintf(g, sizeof g, "%s%s", m->cfg.cwd[0] == '/' ? "" : "/", m->cfg.cwd) >=
        (int)sizeof g) {
      snprintf(err, errlen, "working directory path too long");
      return -1;
    }
    int fd = wb_path_open(m, g, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) {
      snprintf(err, errlen, "working directory %s inside root %s: %s", g, m->cfg.root,
               strerror(-fd));
      return -1;
    }
    int r = wb_path_of_fd(m, fd, u->cwd, sizeof u->cwd);
    close(fd);
    if (r != 0) snprintf(u->cwd, sizeof u->cwd, "%s", g);
  }
  return 0;
}

void wb_fs_fini(wb_machine *m) {
  wb_user *u = wb_u(m);
  wb_fd_fini(m);
  if (u->rootfd >= 0) close(u->rootfd);
  u->rootfd = -1;
  free(u->root_real);
  u->root_real = NULL;
  free(u->exe_host);
  u->exe_host = NULL;
  free(u->exe_image);
  u->exe_image = NULL;
}
